"""`uir-news probe URL` against the replica over loopback HTTP, as an operator runs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler import settings as crawl_settings
from replica.faults import NoFaults, Request, Response
from replica.server import ReplicaServer
from replica.site import ReplicaSite
from tests.helpers.cli import free_port, run_cli

pytestmark = pytest.mark.e2e

FUTURE_DATED = (Path(__file__).parent / "fixtures" / "pages" / "arc_future_date.html").read_bytes()


class _Robots(NoFaults):
    """robots.txt shuts crawlers out of the articles (/info/), not the listing."""

    def before(self, request: Request) -> Response | None:
        if request.target == "/robots.txt":
            body = b"User-agent: *\nDisallow: /info/\n"
            return Response(
                200, {"Content-Type": "text/plain", "Content-Length": str(len(body))}, body
            )
        return None


class _DatelessNewest(NoFaults):
    """The newest article is served as a page whose only date is in the future."""

    newest: str = ""

    def after(self, request: Request, response: Response) -> Response:
        if request.target == self.newest:
            headers = dict(response.headers, **{"Content-Length": str(len(FUTURE_DATED))})
            return Response(200, headers, FUTURE_DATED)
        return response


@pytest.fixture(scope="module")
def site() -> Iterator[ReplicaServer]:
    with ReplicaServer(ReplicaSite(n_articles=40)) as server:
        yield server


def test_probe_a_listing_and_its_newest_article(site: ReplicaServer) -> None:
    site.reset_log()
    result = run_cli("probe", site.start_url, "--json")
    report = json.loads(result.stdout)
    newest = site.site.articles[0]
    assert report["ok"] is True and report["exit_code"] == 0
    listing = report["listing"]
    assert listing["item_rule"] == "VSB list rows: li[id^='line_u']"
    assert listing["page_count"] == site.site.n_pages
    assert listing["entries"][0]["title"] == newest.title
    article = report["article"]
    assert article["url"].endswith(f"/info/1031/{newest.news_id}.htm")
    expected = site.site.expected_record(newest, site.base_url)
    for name in ("title", "published_at", "body_text", "reviewers", "news_id"):
        assert article["record"][name] == expected[name], name
    assert article["missing_required"] == []
    # Three requests, one at a time, each with the crawl's user agent; robots.txt first.
    paths = [r.path for r in site.requests]
    assert paths == ["/robots.txt", site.site.start_path, f"/info/1031/{newest.news_id}.htm"]
    agents = {r.headers.get("User-Agent", "").encode("latin-1").decode() for r in site.requests}
    assert agents == {crawl_settings.USER_AGENT}


def test_probe_prints_rules_items_and_record(site: ReplicaServer) -> None:
    out = run_cli("probe", site.start_url).stdout
    assert f"{site.site.n_pages} page(s)" in out
    assert "heading: " in out.split("title ", 1)[1].splitlines()[0]
    assert site.site.articles[1].title in out  # among the first items shown
    assert out.rstrip().endswith("ok: every required field is there")


def test_missing_required_field_exits_3() -> None:
    faults = _DatelessNewest()
    with ReplicaServer(ReplicaSite(n_articles=20, faults=faults)) as server:
        faults.newest = f"/info/1031/{server.site.articles[0].news_id}.htm"
        result = run_cli("probe", server.start_url, check=False)
    assert result.returncode == 3, result.stderr
    assert "REQUIRED FIELD(S) MISSING: published_at" in result.stdout
    assert "published_at  rejected" in result.stdout


def test_robots_disallowed_article_exits_5() -> None:
    with ReplicaServer(ReplicaSite(n_articles=20, faults=_Robots())) as server:
        result = run_cli("probe", server.start_url, check=False)
        asked = [r.path for r in server.requests]
    assert result.returncode == 5
    assert "robots.txt of" in result.stderr and "disallows" in result.stderr
    assert not any(path.startswith("/info/") for path in asked)  # never asked for it


def test_not_a_listing_or_unreachable_exits_5(site: ReplicaServer) -> None:
    article = f"{site.base_url}/info/1031/{site.site.articles[0].news_id}.htm"
    result = run_cli("probe", article, check=False)
    assert result.returncode == 5 and "not a VSB column listing" in result.stderr
    assert "it is an article page" in result.stderr
    missing = run_cli("probe", f"{site.base_url}/no-such-column.htm", check=False)
    assert missing.returncode == 5 and "answered HTTP 404" in missing.stderr
    closed = run_cli("probe", f"http://127.0.0.1:{free_port()}/ggyw.htm", check=False)
    assert closed.returncode == 5 and "cannot reach" in closed.stderr
    for failed in (result, missing, closed):
        assert "Traceback" not in failed.stderr
