"""`scrapy crawl gxyw` from the project directory is the same crawl as `uir-news crawl`.

Both run for real in subprocesses against the replica over loopback: same
records, WARC captures, catalog and run summary; the same exit codes
(a held lock: 4, nothing written); and Scrapy's feed exports write valid JSON
Lines, one line per article page.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from archive.storage.warc import iter_records, list_warcs
from replica.server import ReplicaServer
from tests.helpers.cli import crawl, scrapy_crawl
from tests.helpers.lock import lock_held_elsewhere

pytestmark = pytest.mark.e2e


def _catalog_facts(archive: Path) -> dict[str, object]:
    conn = sqlite3.connect(archive / "catalog.sqlite")
    try:
        return {
            "articles": {r[0] for r in conn.execute("SELECT url FROM articles")},
            "content_hashes": {r[0] for r in conn.execute("SELECT content_hash FROM versions")},
            "captures": sorted(
                (r[0], r[1]) for r in conn.execute("SELECT url, record_type FROM captures")
            ),
            "walk_complete": conn.execute(
                "SELECT value FROM meta WHERE key = 'walk_complete'"
            ).fetchone(),
            "runs": [r[0] for r in conn.execute("SELECT exit_code FROM runs")],
        }
    finally:
        conn.close()


def _warc_responses(archive: Path) -> list[str]:
    return sorted(
        record.rec_headers.get_header("WARC-Target-URI")
        for path in list_warcs(archive / "warc")
        for _, record, _ in iter_records(path)
        if record.rec_type == "response"
    )


def _summary(archive: Path) -> dict[str, object]:
    (path,) = sorted((archive / "runs").glob("*.json"))
    data: dict[str, object] = json.loads(path.read_text("utf-8"))
    return data


def test_scrapy_crawl_gives_the_same_archive_as_uir_news_crawl(
    fresh_replica: ReplicaServer, tmp_path: Path
) -> None:
    by_cli = tmp_path / "by-cli"
    by_scrapy = tmp_path / "by-scrapy"
    feed = tmp_path / "pages.jsonl"
    cli = crawl(fresh_replica, by_cli)
    proc = scrapy_crawl(fresh_replica, by_scrapy, "-O", str(feed))
    assert proc.returncode == cli.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr

    expected = {fresh_replica.base_url + a.path for a in fresh_replica.site.articles}
    cli_facts, scrapy_facts = _catalog_facts(by_cli), _catalog_facts(by_scrapy)
    assert scrapy_facts["articles"] == expected
    assert scrapy_facts == cli_facts
    assert _warc_responses(by_scrapy) == _warc_responses(by_cli)
    assert not list((by_scrapy / "warc").glob("*.open"))
    assert (by_scrapy / "indexes" / "index.cdxj").stat().st_size > 0

    cli_summary, scrapy_summary = _summary(by_cli), _summary(by_scrapy)
    assert scrapy_summary.keys() == cli_summary.keys()
    for key in ("exit_code", "walk", "listing_pages", "articles", "failures", "problem_counts"):
        assert scrapy_summary[key] == cli_summary[key], key
    assert scrapy_summary["start_url"] == fresh_replica.start_url

    # The lock was released: a second run takes it and finds nothing new.
    again = scrapy_crawl(fresh_replica, by_scrapy)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(list((by_scrapy / "runs").glob("*.json"))) == 2

    # The feed: one JSON object per article page, pointing into the WARC.
    lines = feed.read_text("utf-8").splitlines()
    items = [json.loads(line) for line in lines]
    assert len(items) == len(expected)
    assert {item["url"] for item in items} == expected
    for item in items:
        assert set(item) == {"url", "fetched_at", "warc", "page_url", "listing", "view_count"}
        assert (by_scrapy / "warc" / item["warc"]["file"]).exists()
        assert item["warc"]["offset"] >= 0 and item["warc"]["length"] > 0
        assert item["fetched_at"].endswith("Z")
        assert item["listing"]["url"] == item["url"]


def test_scrapy_crawl_exits_with_the_run_exit_code(tmp_path: Path) -> None:
    """A start page that cannot be reached is exit 5 (FAILED) for both ways of crawling."""
    from replica.site import ReplicaSite

    with ReplicaServer(ReplicaSite()) as server:
        pass  # a port nobody listens on any more
    cli = crawl(server, tmp_path / "by-cli", "--timeout", "5", check=False)
    proc = scrapy_crawl(server, tmp_path / "by-scrapy", "-s", "DOWNLOAD_TIMEOUT=5")
    assert cli.returncode == 5
    assert proc.returncode == 5, proc.stderr[-3000:]
    assert _summary(tmp_path / "by-scrapy")["exit_code"] == 5


def test_scrapy_crawl_leaves_a_locked_archive_alone(
    fresh_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    with lock_held_elsewhere(archive):
        proc = scrapy_crawl(fresh_replica, archive, "-O", str(tmp_path / "pages.jsonl"))
        assert proc.returncode == 4, proc.stderr[-3000:]
        assert "holds" in proc.stderr
        assert [p.name for p in archive.iterdir()] == ["uir-news.lock"], "wrote into the archive"
        assert not fresh_replica.requests, "a locked-out run must not crawl"
