"""Page requisites end to end (#11 item 1): real crawls of the replica, then show, pywb, WACZ.

The expected files come from the replica's own model (figures, their
``orisrc`` originals, attachments) and its template, not from the extractor.
"""

from __future__ import annotations

import gzip
import json
import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive.replay.wacz import export_wacz
from archive.storage.layout import ArchiveLayout
from archive.storage.warc import iter_records, list_warcs
from replica import render
from replica.model import Article
from replica.server import ReplicaServer
from tests.helpers.cli import Crawled, crawl, run_cli
from tests.helpers.pywb import get, wayback

pytestmark = pytest.mark.e2e

#: What every article page of the replica's template loads that robots.txt allows.
TEMPLATE = (
    "/style/style.css",
    "/_sitegray/_sitegray_d.css",
    "/content.vsb.css",
    "/_sitegray/_sitegray.js",
)
#: Named by style.css.
TEMPLATE_IMAGES = ("/images/banner.png",)


def _files(article: Article) -> list[str]:
    """Paths of the images (and originals) and attachments the article's page names."""
    paths = []
    for fig in article.figures:
        paths.append(fig.path)
        if original := render.original_path(fig.path):
            paths.append(original)
    paths.extend(
        "/system/_content/download.jsp?urltype=news.DownloadAttachUrl"
        f"&owner={render.OWNER}&wbfileid={a.file_id}"
        for a in article.attachments
    )
    return paths


def _warc_records(archive: Path) -> Counter[tuple[str, str, str]]:
    """(record type, URL path and query, status) of every response and revisit record."""
    seen: Counter[tuple[str, str, str]] = Counter()
    for path in list_warcs(archive / "warc"):
        for _, record, _ in iter_records(path):
            if record.rec_type in ("response", "revisit"):
                parts = urlsplit(record.rec_headers.get_header("WARC-Target-URI"))
                target = parts.path + (f"?{parts.query}" if parts.query else "")
                seen[record.rec_type, target, record.http_headers.get_statuscode()] += 1
    return seen


def test_every_file_of_every_article_is_in_the_warc_once(crawled: Crawled) -> None:
    site = crawled.server.site
    expected = {p for a in site.articles for p in _files(a)} | {*TEMPLATE, *TEMPLATE_IMAGES}
    assert any(render.original_path(f.path) for a in site.articles for f in a.figures)
    assert any(a.attachments for a in site.articles)
    records = _warc_records(crawled.archive)
    for path in expected:
        assert records["response", path, "200"] == 1, path
    asked = Counter(r.path for r in crawled.requests)
    assert all(asked[path] == 1 for path in expected)
    # robots.txt forbids /_vsl/ (vurl) and /system/resource/ (scripts): asked for, not fetched.
    assert not [p for p in asked if p.startswith(("/_vsl/", "/system/resource/"))]
    summary = crawled.result.last_summary(crawled.archive)
    assert summary["exit_code"] == 0 and summary["failures"] == 0
    requisites = summary["requisites"]
    assert requisites["fetched"] == len(expected)
    assert requisites["robots_disallowed"] > 0 and requisites["failed"] == 0


def test_show_links_each_file_to_its_capture_and_names_the_attachment(crawled: Crawled) -> None:
    article = next(a for a in crawled.server.site.articles if a.attachments and a.figures)
    url = crawled.server.base_url + article.path
    shown = run_cli("show", "--archive", crawled.archive, url).stdout
    for attachment in article.attachments:
        assert f"file name {attachment.name}" in shown
    assert "not archived" not in shown
    assert shown.count("(response 200)") == len(article.figures) + len(article.attachments)
    data = json.loads(run_cli("show", "--archive", crawled.archive, url, "--json").stdout)
    names = {f["file_name"] for f in data["files"]} - {None}
    assert names == {a.name for a in article.attachments}


def test_pywb_replays_an_article_with_its_images(
    crawled: Crawled, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = crawled.server
    article = next(a for a in server.site.articles if len(a.figures) >= 2)
    root = tmp_path_factory.mktemp("pywb-requisites")
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    with wayback(root, ArchiveLayout(crawled.archive)) as collection:
        # mp_: the page itself, rewritten (without it pywb answers with its frame).
        status, body = get(f"{collection}/{stamp}mp_/{server.base_url}{article.path}")
        assert status == 200
        text = body.decode("utf-8")
        for fig in article.figures:
            # pywb rewrites the image to its archived copy, and serves it from the WARC.
            assert f"/{stamp}im_/{server.base_url}{fig.path}" in text
            status, image = get(f"{collection}/{stamp}im_/{server.base_url}{fig.path}")
            assert (status, image) == (200, render.tiny_jpeg(fig.path))
        status, css = get(f"{collection}/{stamp}cs_/{server.base_url}/style/style.css")
        assert status == 200 and b"banner.png" in css


def test_the_wacz_holds_every_file(crawled: Crawled, tmp_path: Path) -> None:
    output = tmp_path / "out.wacz"
    export_wacz(ArchiveLayout(crawled.archive), output)
    with zipfile.ZipFile(output) as wacz:
        index = gzip.decompress(wacz.read("indexes/index.cdx.gz")).decode("utf-8")
    site = crawled.server.site
    for path in [*(p for a in site.articles for p in _files(a)), *TEMPLATE, *TEMPLATE_IMAGES]:
        # CDXJ keys are SURT-ed; the original URL is in the JSON part.
        assert f'"url": "{crawled.server.base_url}{path}"' in index, path


def test_an_edited_article_asks_for_its_files_again_conditionally(
    fresh_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    site = fresh_replica.site
    crawl(fresh_replica, archive)
    today = datetime.now(UTC).date()
    edited = next(a for a in site.articles if a.figures and a.attachments)
    days = (today - edited.published.date()).days
    site.edit(edited.news_id)
    fresh_replica.reset_log()
    result = crawl(fresh_replica, archive, "--recent-days", str(days), "--recheck-hours", "0")
    summary = result.last_summary(archive)
    assert summary["articles"]["edited"] == 1 and summary["exit_code"] == 0
    files = {*_files(edited), *TEMPLATE}
    asked = [r for r in fresh_replica.requests if not r.path.startswith(("/info/", "/ggyw"))]
    asked = [r for r in asked if r.path != "/robots.txt"]
    # Only the edited article's files (and the template), each once, each conditionally.
    assert sorted(r.path for r in asked) == sorted(files)
    assert all("If-None-Match" in r.headers and r.status == 304 for r in asked)
    assert summary["requisites"]["unchanged"] == len(files)
    revisits = _warc_records(archive)
    for path in files:
        assert revisits["revisit", path, "304"] == 1, path


def test_a_missing_image_is_a_problem_that_loses_no_article(
    fresh_replica: ReplicaServer, tmp_path: Path
) -> None:
    site = fresh_replica.site
    article = next(a for a in site.articles if a.figures)
    gone = article.figures[0].path
    del site._images[gone]  # the upload was deleted from the server
    archive = tmp_path / "archive"
    result = crawl(fresh_replica, archive)
    summary = result.last_summary(archive)
    assert summary["exit_code"] == 0 and summary["failures"] == 0
    # (The replica's listing also names a content.jsp item that is not public.)
    counts = {k: v for k, v in summary["problem_counts"].items() if k != "dynamic_not_public"}
    assert counts == {"requisite_http_404": 1}
    missing = [p for p in summary["problems"] if p["reason"] == "requisite_http_404"]
    assert missing[0]["url"] == fresh_replica.base_url + gone
    assert "requisites" in result.stdout or "requisites" in result.stderr
