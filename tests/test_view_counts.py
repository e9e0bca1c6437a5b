"""The optional view-count request (dynclicks.jsp), off by default."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crawler.extract import parse_view_count, view_count_url
from replica.faults import Request, Response, SiteView
from replica.server import ReplicaServer
from replica.site import ReplicaSite
from tests.helpers.cli import crawl


class AllowCounters:
    """Serves a robots.txt that lets crawlers read the view counter."""

    def bind(self, site: SiteView) -> None:
        pass

    def before(self, request: Request) -> Response | None:
        if request.target == "/robots.txt":
            body = b"User-agent: *\nDisallow: /private/\n"
            return Response(200, {"Content-Type": "text/plain"}, body)
        return None

    def after(self, request: Request, response: Response) -> Response:
        return response


def _view_counts(archive: Path) -> dict[str, int | None]:
    conn = sqlite3.connect(archive / "catalog.sqlite")
    try:
        rows = conn.execute(
            "SELECT a.url, json_extract(v.record_json, '$.view_count') FROM articles a "
            "JOIN versions v ON v.id = a.current_version_id"
        ).fetchall()
    finally:
        conn.close()
    return dict(rows)


def test_view_count_url_and_parsing() -> None:
    html = b'<span><script>_showDynClicks("wbnews", 1712346109, 21663)</script></span>'
    url = view_count_url(html, "http://127.0.0.1:8000/info/1031/21663.htm")
    assert url == (
        "http://127.0.0.1:8000/system/resource/code/news/click/dynclicks.jsp"
        "?clickid=21663&owner=1712346109&clicktype=wbnews"
    )
    assert view_count_url(b"<p>no counter</p>", "http://x/") is None
    assert parse_view_count(" 1,234 ") == 1234
    assert parse_view_count("<html>error</html>") is None


@pytest.mark.e2e
def test_view_counts_fetched_only_when_asked(tmp_path: Path) -> None:
    site = ReplicaSite(faults=AllowCounters())
    with ReplicaServer(site) as server:
        plain = tmp_path / "plain"
        crawl(server, plain)
        # Requisites (download.jsp attachments, scripts) are fetched; the counter is not.
        assert not any("dynclicks.jsp" in r.path for r in server.requests)
        assert set(_view_counts(plain).values()) == {None}

        counted = tmp_path / "counted"
        server.reset_log()
        crawl(server, counted, "--view-counts")
    counts = _view_counts(counted)
    with_counter = [
        a for a in site.articles if view_count_url(site.respond("GET", a.path).body, "http://x/")
    ]
    assert with_counter, "the replica should have pages with a counter"
    for article in with_counter:
        assert counts[server.base_url + article.path] == site.view_count(article.news_id)
