"""The replica site: determinism, VSB-faithful structure, ground truth, HTTP behaviour."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import date
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from replica.model import LISTING_LAYOUTS, TEMPLATES, Article
from replica.server import ReplicaServer, is_loopback, main, running_replica
from replica.site import SEED_NEWS_ID, ReplicaSite

BASE = "http://replica.test"
SEED_TITLE = (
    "强基固本 砥砺争先 I 国际关系学院成功举办第二届“四强” "
    "党支部建设论坛暨基层党建创新创造创优展示交流"
)


@pytest.fixture(scope="module")
def site() -> ReplicaSite:
    return ReplicaSite()


class _Links(HTMLParser):
    """Collects (href, id of the enclosing li) for every <a href>."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str | None]] = []
        self._li: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "li":
            self._li = a.get("id")
        elif tag == "a" and a.get("href"):
            self.links.append((a["href"] or "", self._li))

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self._li = None


def links(body: bytes) -> list[tuple[str, str | None]]:
    parser = _Links()
    parser.feed(body.decode("utf-8"))
    return parser.links


def get(site: ReplicaSite, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    status, h, body = site.respond("GET", path, headers)
    return status, h, body


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_same_seed_same_bytes() -> None:
    a, b = ReplicaSite(seed=7, n_articles=60), ReplicaSite(seed=7, n_articles=60)
    paths = [p.path for p in a.listing_pages()] + [x.path for x in a.articles] + ["/"]
    for path in paths:
        assert get(a, path) == get(b, path), path
    other = ReplicaSite(seed=8, n_articles=60)
    assert get(other, "/ggyw.htm")[2] != get(a, "/ggyw.htm")[2]


def test_default_size(site: ReplicaSite) -> None:
    assert len(site.articles) >= 200
    assert site.n_pages >= 14
    assert site.n_pages == -(-len(site.entries) // site.page_size)


def test_count_down_numbering(site: ReplicaSite) -> None:
    m = site.n_pages
    assert site.page_path(1) == "/ggyw.htm"
    assert site.page_path(2) == f"/ggyw/{m - 1}.htm"
    assert site.page_path(m) == "/ggyw/1.htm"
    pages = site.listing_pages()
    assert all(len(p.entries) == site.page_size for p in pages[:-1])
    assert 0 < len(pages[-1].entries) <= site.page_size  # the oldest page holds the remainder
    assert get(site, f"/ggyw/{m}.htm")[0] == 404
    assert get(site, "/ggyw/0.htm")[0] == 404


@pytest.mark.parametrize("layout", LISTING_LAYOUTS)
def test_listing_links_resolve_and_reach_every_article_once(layout: str) -> None:
    site = ReplicaSite(listing_layout=layout)  # type: ignore[arg-type]
    seen: list[int] = []
    for page in site.listing_pages():
        url = BASE + page.path
        status, _, body = get(site, page.path)
        assert status == 200
        page_links = links(body)
        if page.number == 1:
            assert ("info/1031/" in body.decode()) and 'href="ggyw/' in body.decode()
        else:
            assert 'href="../info/1031/' in body.decode()
            assert 'href="../ggyw.htm"' in body.decode()
        for href, li in page_links:
            target = urljoin(url, href)
            if not target.startswith(BASE):
                continue  # off-site: WeChat items, the beian footer link
            path = path_of(target)
            if re.fullmatch(r"/info/1031/\d+\.htm", path) and li and li.startswith("line_u"):
                seen.append(int(path.rsplit("/", 1)[1].removesuffix(".htm")))
                assert get(site, path)[0] == 200
            elif path.startswith("/ggyw"):
                assert get(site, path)[0] == 200, (page.path, href)
            elif path.startswith("/content.jsp"):
                assert get(site, path)[0] == 404  # documented: dynamic items are not public
    assert sorted(seen) == sorted(a.news_id for a in site.articles)
    assert len(seen) == len(set(seen))


def test_pagination_markup(site: ReplicaSite) -> None:
    first = get(site, "/ggyw.htm")[2].decode()
    assert "p_prev_d p_fun_d" in first and 'class="p_no_d">1<' in first
    assert f'<span class="p_next p_fun"><a href="ggyw/{site.n_pages - 1}.htm">' in first
    last = get(site, "/ggyw/1.htm")[2].decode()
    assert "p_next_d p_fun_d" in last and 'href="2.htm"' in last
    old = ReplicaSite(n_articles=40, listing_layout="classic")
    body = get(old, "/ggyw.htm")[2].decode()
    assert re.search(r'id="fanye\d+">共\d+条&nbsp;&nbsp;1/\d+', body)
    assert 'class="Next">下页</a>' in body


def test_link_items(site: ReplicaSite) -> None:
    hrefs = [i.href for i in site.link_items]
    assert any(h.startswith("https://mp.weixin.qq.com/s/") for h in hrefs)
    assert any(h.startswith("content.jsp?urltype=news.NewsContentUrl&wbtreeid=1031") for h in hrefs)


def test_seed_article(site: ReplicaSite) -> None:
    seed = site.seed_article
    assert seed.news_id == SEED_NEWS_ID and seed.template == "arc"
    record = site.expected_record(seed, BASE)
    assert record["title"] == SEED_TITLE
    assert record["published_at"] == "2025-07-14"
    assert record["url"] == f"{BASE}/info/1031/{SEED_NEWS_ID}.htm"
    assert record["reviewers"] == {
        "first_proofreader": ["吴茜"],
        "second_proofreader": ["李婧"],
        "final_reviewer": ["陈斌"],
    }
    assert record["credits"] == {} and record["images"] == [] and record["attachments"] == []
    body = record["body_text"]
    assert body.startswith("为纪念中国共产党成立104周年") and body.endswith(
        "为建党104周年增光添彩。"
    )
    assert body.count("\n") == 6 and not re.search(r"[,:;]", body)
    html = get(site, seed.path)[2].decode()
    assert "时间:2025-07-14" in html and "<p>终审：陈斌</p>" in html.replace(
        ' class="vsbcontent_end"', ""
    )
    pages = site.listing_pages()
    on = [p.number for p in pages if seed in p.entries]
    assert on and 1 < on[0] < len(pages)


def test_template_variants(site: ReplicaSite) -> None:
    used = {a.template for a in site.articles}
    assert used == set(TEMPLATES) and len(used) >= 5
    markers = {
        "arc": '<div class="arc-tit">',
        "intro": '<h1 class="intro"></h1>',
        "contit": '<div class="main_contit">',
        "titlestyle": 'class="titlestyle1046"',
        "cndate": "年",
        "bracket": "[日期:",
    }
    for a in site.articles:
        html = get(site, a.path)[2].decode()
        assert markers[a.template] in html
        assert '<div id="div_vote_id"></div>' in html
        assert '<form name="_newscontent_fromname">' in html
        assert "<!--Announced by Visual SiteBuilder 9-->" in html


def test_expected_records_are_consistent(site: ReplicaSite) -> None:
    shows_time = 0
    for a in site.articles:
        r = site.expected_record(a, BASE)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:00\+08:00)?", r["published_at"])
        shows_time += "T" in r["published_at"]
        html = get(site, a.path)[2].decode()
        for img in r["images"]:
            assert path_of(img["url"]) in html
            assert get(site, path_of(img["url"]))[0] == 200
        for att in r["attachments"]:
            status, headers, _ = get(site, path_of(att["url"]))
            assert status == 200 and "attachment" in headers["Content-Disposition"]
        for line in r["body_text"].split("\n"):
            assert line and not re.match(r"(一校|二校|终审)[：:]", line)
    assert shows_time > 0


def test_body_mentions_of_final_review_are_body_text(site: ReplicaSite) -> None:
    mentions = [a for a in site.articles if "终审" in a.body_text]
    assert mentions  # e.g. 经过初审、复审和终审 / 已进入终审阶段
    for a in mentions:
        assert not re.search(r"终审[：:]", a.body_text)


def test_search_terms_hit_a_known_subset(site: ReplicaSite) -> None:
    n = len(site.articles)
    for term in ("金砖", "外交部", "人工智能", "AI", "BRICS", "区块链"):
        hits = site.articles_matching(term)
        assert 0 < len(hits) < n, term


def test_404_is_real(site: ReplicaSite) -> None:
    for path in ("/nope.htm", "/info/1031/1.htm", "/info/9999/20688.htm", "/private/x"):
        status, headers, body = get(site, path)
        assert status == 404 and "<title>404错误提示</title>" in body.decode()
        assert "ETag" not in headers


def test_other_routes(site: ReplicaSite) -> None:
    robots = get(site, "/robots.txt")[2].decode()
    assert "Disallow: /system/resource/" in robots and "Disallow: /private/" in robots
    seed = site.seed_article
    status, headers, body = get(
        site,
        f"/system/resource/code/news/click/dynclicks.jsp?clickid={seed.news_id}"
        "&owner=1712346109&clicktype=wbnews",
    )
    assert (
        status == 200
        and body.decode().isdigit()
        and headers["Content-Type"].startswith("text/plain")
    )
    for path in ("/", "/index.htm"):
        status, _, body = get(site, path)
        assert status == 200 and 'href="ggyw.htm"' in body.decode()
    figs = [a for a in site.articles if a.figures]
    status, headers, body = get(site, figs[0].figures[0].path)
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert body.startswith(b"\xff\xd8") and body.endswith(b"\xff\xd9")
    assert site.respond("POST", "/ggyw.htm")[0] == 405


def test_conditional_requests(site: ReplicaSite) -> None:
    path = site.seed_article.path
    status, headers, body = get(site, path)
    assert status == 200 and headers["Content-Type"] == "text/html"
    assert get(site, path, **{"If-None-Match": headers["ETag"]})[:3:2] == (304, b"")
    assert get(site, path, **{"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert get(site, path, **{"If-None-Match": '"other"'})[0] == 200
    assert get(site, path, **{"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"})[0] == 200
    head = site.respond("HEAD", path)
    assert head.body == b"" and head.headers["Content-Length"] == str(len(body))


def test_publish_shifts_pages_and_keeps_old_pages() -> None:
    site = ReplicaSite(n_articles=50)
    before_pages = site.listing_pages()
    before = {a.news_id: get(site, a.path) for a in site.articles}
    old_first = get(site, "/ggyw.htm")[1]
    new = site.publish(3)
    assert len(new) == 3 and new[0].published >= new[1].published >= new[2].published
    assert new[0].news_id > new[1].news_id > new[2].news_id > max(before)
    after_pages = site.listing_pages()
    assert list(after_pages[0].entries[:3]) == new
    assert after_pages[0].entries[3:] == before_pages[0].entries[:-3]
    assert after_pages[1].entries[:3] == before_pages[0].entries[-3:]
    for news_id, response in before.items():
        assert get(site, site.article(news_id).path) == response
    first = get(site, "/ggyw.htm", **{"If-None-Match": old_first["ETag"]})
    assert first[0] == 200 and first[1]["ETag"] != old_first["ETag"]
    for a in new:
        assert get(site, a.path)[0] == 200


def test_edit_changes_etag_only_for_that_article() -> None:
    site = ReplicaSite(n_articles=30)
    target = site.articles[5]
    other = site.articles[6]
    _, h1, b1 = get(site, target.path)
    listing = get(site, "/ggyw.htm")
    other_before = get(site, other.path)
    old_text = site.expected_record(target, BASE)["body_text"]
    site.edit(target.news_id)
    status, h2, b2 = get(site, target.path, **{"If-None-Match": h1["ETag"]})
    assert status == 200 and h2["ETag"] != h1["ETag"] and b2 != b1
    assert h2["Last-Modified"] != h1["Last-Modified"]
    assert site.expected_record(target, BASE)["body_text"] != old_text
    assert get(site, other.path) == other_before
    assert get(site, "/ggyw.htm") == listing


def test_http_round_trip() -> None:
    with running_replica(n_articles=20) as server:
        assert server.start_url == server.base_url + "/ggyw.htm"
        with urllib.request.urlopen(server.start_url, timeout=5) as response:
            body = response.read()
            etag = response.headers["ETag"]
            assert response.status == 200
        assert body == server.site.respond("GET", "/ggyw.htm").body
        request = urllib.request.Request(server.start_url, headers={"If-None-Match": etag})
        with pytest.raises(urllib.error.HTTPError) as not_modified:
            urllib.request.urlopen(request, timeout=5)
        assert not_modified.value.code == 304
        not_modified.value.close()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(server.url("/missing.htm"), timeout=5)
        assert missing.value.code == 404
        missing.value.close()
        head = urllib.request.Request(server.start_url, method="HEAD")
        with urllib.request.urlopen(head, timeout=5) as response:
            assert response.read() == b"" and int(response.headers["Content-Length"]) == len(body)
        log = server.requests
        assert [(r.method, r.path, r.status) for r in log] == [
            ("GET", "/ggyw.htm", 200),
            ("GET", "/ggyw.htm", 304),
            ("GET", "/missing.htm", 404),
            ("HEAD", "/ggyw.htm", 200),
        ]
        assert log[1].headers.get("If-None-Match") == etag
        server.reset_log()
        assert server.requests == []


def test_server_refuses_non_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    with pytest.raises(ValueError):
        ReplicaServer(ReplicaSite(n_articles=1), host="0.0.0.0")
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_small_site_has_seed_only() -> None:
    site = ReplicaSite(n_articles=1, n_link_items=0)
    assert [a.news_id for a in site.articles] == [SEED_NEWS_ID]
    assert isinstance(site.articles[0], Article) and site.n_pages == 1


def test_command_line_serves_until_ctrl_c() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "replica", "--port", "0", "--articles", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = re.search(r"http://\S+", proc.stdout.readline())
        assert url is not None
        with urllib.request.urlopen(url.group(0), timeout=5) as response:
            assert response.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.mark.parametrize("n_articles", [1500, 20000])
def test_large_sites_keep_ids_positive_and_dates_in_the_past(n_articles: int) -> None:
    # Benchmarks crawl big replicas: a negative id is a 404, and a date after
    # today is (rightly) rejected by the crawler, which then raises the alarm.
    site = ReplicaSite(n_articles=n_articles)
    ids = [a.news_id for a in site.articles]
    assert min(ids) >= 1 and len(set(ids)) == len(ids)
    assert ids == sorted(ids, reverse=True)
    assert site.articles[0].published.date() <= date(2026, 11, 1)
    assert site.articles[-1].published.year >= 1990
    status, _, _ = site.respond("GET", site.articles[-1].path)
    assert status == 200


def test_column_in_a_folder_links_relative_to_it() -> None:
    site = ReplicaSite(n_articles=40, page_size=15, column_path="/xwzx/ggyw.htm")
    assert site.start_path == "/xwzx/ggyw.htm" and site.page_path(2) == "/xwzx/ggyw/2.htm"
    status, _, body = get(site, "/xwzx/ggyw.htm")
    page = body.decode()
    assert status == 200 and 'href="../info/1031/' in page and 'href="ggyw/2.htm"' in page
    status, _, body = get(site, "/xwzx/ggyw/2.htm")
    assert status == 200 and 'href="../../info/1031/' in body.decode()
    assert 'href="../ggyw.htm"' in body.decode()
    assert get(site, "/ggyw.htm")[0] == 404
    assert 'href="xwzx/ggyw.htm"' in get(site, "/")[2].decode()


def test_sibling_columns_have_their_own_articles() -> None:
    site = ReplicaSite(n_articles=20)
    home = get(site, "/")[2].decode()
    for slug, name in (("tzgg", "通知公告"), ("mtgg", "媒体国关")):
        assert f'<h2>{name}</h2><a href="{slug}.htm"' in home
        status, _, body = get(site, f"/{slug}.htm")
        assert status == 200 and f"<h3>{name}</h3>" in body.decode()
    siblings = site.sibling_articles
    # 通知公告 is a paged column, 媒体国关 has n_other_articles, 学术动态 sits in /xwzx/.
    assert len(siblings) == 40 + 3 + 22 and not {a.column_id for a in siblings} & {site.column_id}
    assert len(ReplicaSite(n_articles=20, n_other_articles=5).sibling_articles) == 40 + 5 + 22
    status, _, body = get(site, siblings[0].path)
    assert status == 200 and 'content="通知公告"' in body.decode()


def test_move_column_answers_404_or_redirects_at_the_old_place() -> None:
    site = ReplicaSite(n_articles=40)
    old_article = get(site, site.seed_article.path)[2]
    site.move_column("/xwzx/ggyw.htm")
    assert get(site, "/ggyw.htm")[0] == 404 and get(site, "/ggyw/1.htm")[0] == 404
    assert get(site, "/xwzx/ggyw.htm")[0] == 200
    assert get(site, site.seed_article.path)[2] == old_article
    site.move_column("/index/ggyw.htm", redirect=True)
    status, headers, _ = get(site, "/xwzx/ggyw.htm")
    assert status == 301 and headers["Location"] == "/index/ggyw.htm"
    with pytest.raises(ValueError):
        site.move_column("/tzgg.htm")
