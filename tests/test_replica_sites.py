"""The replica's second site, its new columns and special items, over real HTTP (issue #12 item 7).

Every page here is fetched from a `ReplicaServer` on loopback and read with
lxml, as a crawler would; the ground truth is checked against the record
schema file itself.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import jsonschema
import lxml.html
import pytest

from replica.columns import ColumnInfo
from replica.model import REVIEW_LABEL_VARIANTS, Article
from replica.server import ReplicaServer, running_replica, running_replicas
from replica.site import ReplicaSite

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "record" / "record.schema.json"
#: Record fields only a crawl can fill; ground truth leaves them out.
CRAWL_ONLY = {
    "published_at_raw", "body_html", "view_count", "listing", "warnings", "fetched_at", "warc",
}  # fmt: skip
CN_DATE = re.compile(r"\d{4}年\d{2}月\d{2}日")


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


def page(url: str) -> lxml.html.HtmlElement:
    status, _, body = fetch(url)
    assert status == 200, url
    return lxml.html.fromstring(body.decode("utf-8"))


def column(site: ReplicaSite, name: str) -> ColumnInfo:
    return next(c for c in site.columns if c.name == name)


@pytest.fixture(scope="module")
def campus() -> Iterator[ReplicaServer]:
    with running_replica(theme="campus", n_articles=60) as server:
        yield server


@pytest.fixture(scope="module")
def uir() -> Iterator[ReplicaServer]:
    with running_replica(n_articles=40) as server:
        yield server


# --- the second site -----------------------------------------------------------------------


def test_campus_main_column_rows_in_a_folder_and_a_pager_without_links(
    campus: ReplicaServer,
) -> None:
    site, base = campus.site, campus.base_url
    main = site.columns[0]
    assert (main.name, main.start_path, main.column_id) == ("学校要闻", "/xwzx/xxyw.htm", 1102)
    assert campus.start_url == base + "/xwzx/xxyw.htm"
    m = main.n_pages
    reached: list[str] = []
    for k in range(1, m + 1):
        # Page k of M is built from M alone, as the pager offers no link to it.
        url = base + ("/xwzx/xxyw.htm" if k == 1 else f"/xwzx/xxyw/{m - k + 1}.htm")
        assert site.page_path(k) == urlsplit(url).path
        doc = page(url)
        rows = doc.xpath("//table//tr[starts-with(@id, 'line_u')]")
        assert rows
        for row in rows:
            cells = row.xpath("./td")
            link = cells[0].xpath(".//a")[0]
            assert link.get("title") and CN_DATE.fullmatch(cells[1].text_content().strip())
            reached.append(urljoin(url, link.get("href")))
        pager = doc.xpath("//table[starts-with(@class, 'headStyle')]")[0]
        assert not pager.xpath(".//a") and not doc.xpath("//*[contains(@class, 'p_next')]")
        text = lxml.html.tostring(pager, encoding="unicode")
        assert re.search(rf"共{len(site.entries)}条\s+{k}/{m}\s", pager.text_content())
        assert f"_simple_list_gotopage_fun({m}," in text and ",2)" in text
        if k > 1:
            assert rows[0].xpath(".//a")[0].get("href").startswith("../../info/1102/")
    assert fetch(base + f"/xwzx/xxyw/{m}.htm")[0] == 404  # page 1 is /xwzx/xxyw.htm
    assert {base + a.path for a in site.articles} <= set(reached)


def test_campus_count_up_column_with_news_data_dates(campus: ReplicaServer) -> None:
    site, base = campus.site, campus.base_url
    notices = column(site, "通知公告")
    assert notices.count_up and notices.n_pages == 3 and notices.column_id == 1103
    assert notices.page_paths == ("/tzgg.htm", "/tzgg/2.htm", "/tzgg/3.htm")
    url: str | None = base + "/tzgg.htm"
    seen: list[str] = []
    while url is not None:
        doc = page(url)
        for li in doc.xpath("//li[starts-with(@id, 'line_u')]"):
            assert CN_DATE.fullmatch(li.xpath("./span[@class='news-data']")[0].text)
            seen.append(urljoin(url, li.xpath("./a")[0].get("href")))
        nxt = doc.xpath("//span[contains(@class, 'p_next')]/a/@href")
        url = urljoin(url, nxt[0]) if nxt else None
    assert len(seen) == len(notices.articles) == 36
    for link, article in zip(seen, notices.articles, strict=True):
        assert link == base + ("/" + article.dynamic_href if article.dynamic else article.path)
    # Page 2 holds items 13-24: the numbers count up.
    second = page(base + "/tzgg/2.htm")
    first_item = second.xpath("//li[starts-with(@id, 'line_u')]/a")[0]
    assert first_item.get("title") == notices.articles[12].title


def test_campus_folder_column_with_dates_in_i(campus: ReplicaServer) -> None:
    site, base = campus.site, campus.base_url
    academic = column(site, "学术动态")
    assert academic.start_path == "/xwzx/xsdt.htm" and not academic.count_up
    doc = page(base + academic.page_paths[1])
    items = doc.xpath("//li[starts-with(@id, 'line_u')]")
    assert items and all(CN_DATE.fullmatch(li.xpath("./i")[0].text) for li in items)
    assert items[0].xpath("./a")[0].get("href").startswith("../../info/1104/")


def test_campus_articles_are_old_table_templates_with_other_review_labels(
    campus: ReplicaServer,
) -> None:
    site, base = campus.site, campus.base_url
    articles = [a for c in site.columns for a in c.articles if a.has_static_page]
    assert {a.template for a in articles} == {"oldtable", "oldcell"}
    labels_seen: set[str] = set()
    for article in articles:
        status, _, body = fetch(base + article.path)
        html = body.decode("utf-8")
        assert status == 200 and "_newscontent_fromname" not in html
        doc = lxml.html.fromstring(html)
        title_cell = doc.xpath("//td[starts-with(@class, 'titlestyle')]")[0]
        assert title_cell.text_content() == article.title
        body_cell = doc.xpath("//td[starts-with(@class, 'contentstyle')]")[0]
        for text in article.paragraphs:
            assert text in body_cell.text_content()
        assert article.published.strftime("%Y年%m月%d日") in html
        assert article.column_name in doc.xpath("//td[@class='dqwz']")[0].text_content()
        labels_seen.update(re.findall(r"(初审|复审|终审|一审|二审|三审|审核|责任编辑)[：:]", html))
    assert {"初审", "复审", "终审", "一审", "二审", "三审", "审核", "责任编辑"} <= labels_seen
    assert "一校" not in labels_seen
    assert "<!--Announced by Visual SiteBuilder 9-->" in fetch(base + articles[0].path)[2].decode()


# --- the 国关要闻 site's other columns --------------------------------------------------------


def test_uir_notices_are_a_paged_column_and_one_column_sits_in_a_folder(uir: ReplicaServer) -> None:
    site, base = uir.site, uir.base_url
    assert [c.name for c in site.columns] == ["国关要闻", "通知公告", "媒体国关", "学术动态"]
    assert site.columns[0].articles == tuple(site.articles)  # the main column is unchanged
    notices = column(site, "通知公告")
    assert notices.column_id == 1032 and notices.n_pages == 3
    assert notices.page_paths == ("/tzgg.htm", "/tzgg/2.htm", "/tzgg/1.htm")  # numbered down
    doc = page(base + "/tzgg/2.htm")
    assert doc.xpath("//td[starts-with(@id, 'fanye')]")
    hrefs = doc.xpath("//li[starts-with(@id, 'line_u')]/a/@href")
    assert hrefs and all(h.startswith(("../info/1032/", "../content.jsp?")) for h in hrefs)
    academic = column(site, "学术动态")
    assert academic.start_path == "/xwzx/xsdt.htm" and academic.column_id == 1034
    first = page(base + "/xwzx/xsdt.htm")
    assert first.xpath("//span[contains(@class, 'p_next')]/a/@href") == ["xsdt/2.htm"]
    later = page(base + "/xwzx/xsdt/2.htm")
    assert later.xpath("//li[starts-with(@id, 'line_u')]//a/@href")[0].startswith(
        "../../info/1034/"
    )
    home = fetch(base + "/")[2].decode()
    assert '<h2>学术动态</h2><a href="xwzx/xsdt.htm"' in home


# --- dynamic URLs, PDF bodies, data: images ----------------------------------------------------


@pytest.mark.parametrize("server_name", ["uir", "campus"])
def test_dynamic_items_are_served_at_content_jsp(
    server_name: str, request: pytest.FixtureRequest
) -> None:
    server: ReplicaServer = request.getfixturevalue(server_name)
    site, base = server.site, server.base_url
    notices = column(site, "通知公告")
    dynamic = [a for a in notices.articles if a.dynamic]
    assert {a.dynamic for a in dynamic} == {"only", "both"}
    listed: set[str] = set()
    for path in notices.page_paths:
        url = base + path
        listed |= {urljoin(url, h) for h in page(url).xpath("//a/@href") if "content.jsp" in h}
    for article in dynamic:
        jsp = f"{base}/{article.dynamic_href}"
        assert jsp in listed
        status, headers, body = fetch(jsp)
        assert status == 200 and headers["Content-Type"] == "text/html"
        assert article.title in body.decode()
        static = fetch(base + article.path)[0]
        assert static == (404 if article.dynamic == "only" else 200), article
        record = site.expected_record(article, base)
        assert record["url"] == base + f"/info/{article.column_id}/{article.news_id}.htm"
    # The dynamic page links its neighbours in the dynamic form, from the site root.
    only = next(a for a in dynamic if a.dynamic == "only")
    doc = lxml.html.fromstring(fetch(f"{base}/{only.dynamic_href}")[2].decode())
    neighbours = [h for h in doc.xpath("//a/@href") if "wbnewsid=" in h]
    assert neighbours and all(
        h.startswith("content.jsp?urltype=news.NewsContentUrl") for h in neighbours
    )
    # ...and a static page links a dynamic-only neighbour the same way.
    newer = notices.articles[notices.articles.index(only) - 1]
    html = fetch(base + newer.path)[2].decode()
    assert f"wbnewsid={only.news_id}" in html
    for bad in (
        "/content.jsp?urltype=news.NewsContentUrl&wbtreeid=1&wbnewsid=1",
        f"/content.jsp?urltype=other&wbtreeid={only.column_id}&wbnewsid={only.news_id}",
        "/content.jsp",
    ):
        assert fetch(base + bad)[0] == 404, bad


def test_main_column_link_items_stay_unpublished(uir: ReplicaServer) -> None:
    site, base = uir.site, uir.base_url
    hidden = [i for i in site.link_items if not i.is_offsite]
    assert hidden
    for item in hidden:
        assert fetch(f"{base}/{item.href}")[0] == 404
    main = site.articles[0]
    assert fetch(f"{base}/{main.dynamic_href}")[0] == 200  # a static article is also dynamic


def _check_pdf(data: bytes) -> None:
    """Structure a strict reader relies on: header, objects where the xref says, trailer."""
    assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF")
    startxref = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    assert data[startxref:].startswith(b"xref")
    table = re.match(rb"xref\s+0 (\d+)\s+((?:\d{10} \d{5} [nf] ?\s+)+)", data[startxref:])
    assert table is not None
    entries = re.findall(rb"(\d{10}) (\d{5}) ([nf])", table.group(2))
    assert len(entries) == int(table.group(1))
    for number, (offset, _, kind) in enumerate(entries):
        if kind == b"n":
            assert data[int(offset) :].startswith(f"{number} 0 obj".encode())
    assert b"/Type /Catalog" in data and b"/Type /Page " in data
    stream = re.search(rb"/Length (\d+) >>\nstream\n", data)
    assert stream is not None
    end = stream.end() + int(stream.group(1))
    assert data[end:].startswith(b"\nendstream")


@pytest.mark.parametrize("server_name", ["uir", "campus"])
def test_pdf_bodied_article(server_name: str, request: pytest.FixtureRequest) -> None:
    server: ReplicaServer = request.getfixturevalue(server_name)
    site, base = server.site, server.base_url
    article = next(a for a in site.sibling_articles if a.pdf_path)
    html = fetch(base + article.path)[2].decode()
    assert f'<script>showVsbpdfIframe("{article.pdf_path}",' in html
    assert re.search(r'<div class="v_news_content">\s*</div>', html)
    status, headers, data = fetch(base + article.pdf_path)  # type: ignore[operator]
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert int(headers["Content-Length"]) == len(data) and "ETag" in headers
    _check_pdf(data)
    record = site.expected_record(article, base)
    assert record["body_pdf"] == base + article.pdf_path  # type: ignore[operator]
    assert record["body_text"] == "" and record["attachments"] == []


@pytest.mark.parametrize("server_name", ["uir", "campus"])
def test_image_embedded_as_a_data_uri(server_name: str, request: pytest.FixtureRequest) -> None:
    server: ReplicaServer = request.getfixturevalue(server_name)
    site, base = server.site, server.base_url
    article = next(a for a in site.sibling_articles if any(f.inline for f in a.figures))
    doc = page(base + article.path)
    sources = [s for s in doc.xpath("//img/@src") if s.startswith("data:")]
    assert len(sources) == 1
    header, payload = sources[0].split(",", 1)
    assert header == "data:image/png;base64"
    png = base64.b64decode(payload, validate=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR"
    images = site.expected_record(article, base)["images"]
    assert {"url": sources[0], "caption": "活动现场（截图）"} in images


# --- ground truth -----------------------------------------------------------------------------


def _ground_truth_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text("utf-8"))
    # Ground truth is the record minus what only a crawl knows; all else as required.
    schema["required"] = [f for f in schema["required"] if f not in CRAWL_ONLY]
    return schema


@pytest.mark.parametrize("server_name", ["uir", "campus"])
def test_every_expected_record_validates_against_the_record_schema(
    server_name: str, request: pytest.FixtureRequest
) -> None:
    server: ReplicaServer = request.getfixturevalue(server_name)
    site, base = server.site, server.base_url
    schema = _ground_truth_schema()
    validator = jsonschema.Draft202012Validator(schema)
    required = set(schema["required"])
    records = site.expected_records(base)
    assert len(records) == sum(len(c.articles) for c in site.columns)
    for article, record in zip((a for c in site.columns for a in c.articles), records, strict=True):
        errors = [e.message for e in validator.iter_errors(record)]
        assert not errors, (article.path, errors)
        assert set(record) == required
        assert record["site"] == f"127.0.0.1:{server.port}"
        assert record["column"] == article.column_name and record["column_id"] == article.column_id
        html = fetch(
            base + (article.path if article.has_static_page else "/" + article.dynamic_href)
        )[2].decode()
        for role, label in record["role_labels"].items():
            assert re.search(rf"{label}[：:/]", html), (article.path, role, label)
            assert record["reviewers"].get(role) or record["credits"].get(role)


def test_role_labels_name_the_printed_variant() -> None:
    site = ReplicaSite(theme="campus", n_articles=60)
    base = "http://127.0.0.1:8001"
    seen = set()
    for article in site.articles + site.sibling_articles:
        labels = site.expected_record(article, base)["role_labels"]
        if article.reviewers.get("final_reviewer"):
            seen.add(labels["final_reviewer"])
            assert article.review_labels in REVIEW_LABEL_VARIANTS[1:]
    assert seen == {"终审", "三审"}
    uir_site = ReplicaSite(n_articles=20)
    seed = uir_site.expected_record(uir_site.seed_article, base)
    assert seed["role_labels"] == {
        "first_proofreader": "一校", "second_proofreader": "二校", "final_reviewer": "终审",
    }  # fmt: skip
    assert seed["site"] == "127.0.0.1:8001" and seed["body_pdf"] is None


def test_the_default_site_is_unchanged_by_the_new_columns() -> None:
    site = ReplicaSite()
    assert site.theme.name == "uir" and site.start_path == "/ggyw.htm"
    assert len(site.articles) == 230 and site.n_pages == 16
    assert all(isinstance(a, Article) and not a.dynamic and not a.pdf_path for a in site.articles)


# --- several sites at once --------------------------------------------------------------------


def test_several_sites_each_on_its_own_port_with_latency() -> None:
    with running_replicas(3, n_articles=12, latency=0.08) as servers:
        assert len({s.port for s in servers}) == 3
        titles = [s.site.articles[0].title for s in servers]
        assert len({s.site.seed for s in servers}) == 3 and len(set(titles)) > 1
        for server in servers:
            started = time.monotonic()
            status = fetch(server.start_url)[0]
            assert status == 200 and time.monotonic() - started >= 0.08
            record = server.site.expected_record(server.site.articles[0], server.base_url)
            assert record["site"] == f"127.0.0.1:{server.port}"
    with running_replicas([{}, {"theme": "campus"}], n_articles=10) as (first, second):
        assert fetch(first.url("/ggyw.htm"))[0] == 200
        assert fetch(second.url("/xwzx/xxyw.htm"))[0] == 200
        assert fetch(second.url("/ggyw.htm"))[0] == 404
    with pytest.raises(urllib.error.URLError):  # stopped when the block ended
        urllib.request.urlopen(first.start_url, timeout=2)
    with pytest.raises(ValueError), running_replicas(0):
        pass


def test_command_line_serves_two_sites() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "replica", "--port", "0", "--articles", "5",
         "--site", "uir", "--site", "campus", "--latency-ms", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        urls = [re.search(r"serving at (http://\S+)", line) for line in lines]
        assert urls[0] is not None and urls[1] is not None
        assert urls[0].group(1).endswith("/ggyw.htm") and "国关要闻" in lines[0]
        assert urls[1].group(1).endswith("/xwzx/xxyw.htm") and "学校要闻" in lines[1]
        assert "通知公告 /tzgg.htm" in lines[1]
        for url in urls:
            assert url is not None and fetch(url.group(1))[0] == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_command_line_rejects_an_unknown_site() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "replica", "--site", "nowhere"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2 and "invalid choice: 'nowhere'" in result.stderr
    with pytest.raises(ValueError, match="theme must be one of uir, campus"):
        ReplicaSite(theme="nowhere")
