"""Articles archived from content.jsp, read again: verify, rebuild and merge (found by people)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from replica.server import running_replica
from tests.helpers.cli import run_cli

pytestmark = pytest.mark.e2e


def test_content_jsp_articles_verify_and_rebuild_without_false_events(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    with running_replica(n_articles=20) as server:
        # 通知公告 has items only served at content.jsp (their /info/ page answers 404).
        notices = server.base_url + "/tzgg.htm"
        run_cli("crawl", "--start-url", notices, "--archive", archive, "--no-requisites")
    with sqlite3.connect(archive / "catalog.sqlite") as conn:
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
