"""Articles archived from content.jsp, read again: verify, rebuild and merge (found by people)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from archive.storage import catalog
from replica.server import running_replica
from tests.helpers.cli import run_cli

pytestmark = pytest.mark.e2e


def test_content_jsp_articles_verify_and_rebuild_without_false_events(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    with running_replica(n_articles=20) as server:
        # 通知公告 has items only served at content.jsp (their /info/ page answers 404).
        notices = server.base_url + "/tzgg.htm"
        run_cli("crawl", "--start-url", notices, "--archive", archive, "--no-requisites")
    with closing(sqlite3.connect(archive / "catalog.sqlite")) as conn:
        from_jsp = conn.execute(
            "SELECT count(*) FROM versions v JOIN captures c ON c.warc_file = v.warc_file "
            "AND c.warc_offset = v.warc_offset WHERE c.url LIKE '%content.jsp%'"
        ).fetchone()[0]
    assert from_jsp > 0  # else this test tests nothing
    # verify said "version N (/info/T/N.htm): ... is a capture of .../content.jsp?..."
    # for each of them, and exited 6 on a healthy archive.
    verified = run_cli("verify", "--archive", archive, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # A catalog made again from the files (rebuild without a readable catalog,
    # or merge) re-derived a "removed" event from each one's /info/ 404.
    for path in archive.glob("catalog.sqlite*"):
        path.unlink()
    run_cli("rebuild", "--archive", archive)
    merged = tmp_path / "merged"
    run_cli("merge", archive, "--archive", merged)
    for root in (archive, merged):
        events = json.loads(run_cli("changes", "--archive", root, "--json", "--limit", "0").stdout)
        assert {event["kind"] for event in events} == {"new"}, root
        assert "0 removed" in run_cli("status", "--archive", root).stdout


def test_a_failed_content_jsp_article_is_retried_at_content_jsp(tmp_path: Path) -> None:
    """A content.jsp-only article that failed last run (a timeout) is retried alone at its
    /info/ URL, which answers 404: the retry asks content.jsp too, and archives it."""
    archive = tmp_path / "archive"
    with running_replica(n_articles=20) as server:
        notices = next(c for c in server.site.columns if c.name == "通知公告")
        unpublished = [
            server.base_url + f"/info/{notices.column_id}/{a.news_id}.htm"
            for a in notices.articles
            if server.site.respond("GET", f"/info/{notices.column_id}/{a.news_id}.htm")[0] == 404
        ]
        assert unpublished  # else this test tests nothing
        url = unpublished[0]
        # The failure an earlier run left, as the catalog notes it.
        conn = catalog.connect(archive / "catalog.sqlite")
        try:
            with catalog.transaction(conn):
                catalog.record_failure(conn, url, "timeout", "no answer", "2025-07-20T08:00:00Z")
        finally:
            conn.close()
        (archive / "warc").mkdir()
        # A crawl of another column: only the retry asks for it.
        result = run_cli("crawl", "--start-url", server.start_url, "--archive", archive)
        summary = result.last_summary(archive)
        asked = [r.path for r in server.requests if str(notices_id(url)) in r.path]
    assert summary["exit_code"] == 0, summary["problems"]
    with closing(sqlite3.connect(archive / "catalog.sqlite")) as conn:
        row = conn.execute("SELECT column_name FROM articles WHERE url = ?", (url,)).fetchone()
    assert row is not None and row[0] == "通知公告"
    assert any("content.jsp" in path for path in asked), asked


def notices_id(url: str) -> int:
    """The news id of an /info/T/N.htm URL."""
    return int(url.rsplit("/", 1)[1].removesuffix(".htm"))
