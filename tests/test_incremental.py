"""Issue 4: incremental runs, edits and revisits, one run at a time, kills."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archive.storage.layout import ArchiveLayout
from archive.storage.verify import verify
from archive.storage.warc import WarcPointer, iter_records, list_warcs, read_record
from replica.server import ReplicaServer
from tests.helpers.cli import REPO, crawl, run_cli
from tests.helpers.lock import lock_held_elsewhere
from tests.helpers.warc import warcio_check

pytestmark = pytest.mark.e2e


def _catalog(archive: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(archive / "catalog.sqlite")
    conn.row_factory = sqlite3.Row
    return conn


def _article_requests(server: ReplicaServer) -> list[str]:
    return [r.path for r in server.requests if r.path.startswith("/info/")]


def assert_archive_complete(archive: Path, server: ReplicaServer) -> None:
    """Every article of the site exactly once, WARCs valid, catalog agrees."""
    site = server.site
    expected = {server.base_url + a.path for a in site.articles}
    warc_dir = archive / "warc"
    assert not list(warc_dir.glob("*.open")), "an interrupted WARC was left open"
    for path in list_warcs(warc_dir):
        check = warcio_check(path)
        assert check.returncode == 0, check.stdout
    conn = _catalog(archive)
    try:
        urls = [r["url"] for r in conn.execute("SELECT url FROM articles")]
        assert len(urls) == len(set(urls))
        assert set(urls) == expected
        rows = conn.execute(
            "SELECT a.url, v.warc_file, v.warc_offset, v.warc_length FROM articles a "
            "JOIN versions v ON v.id = a.current_version_id"
        ).fetchall()
        assert len(rows) == len(expected)
        for row in rows:
            stored = read_record(
                warc_dir, WarcPointer(row["warc_file"], row["warc_offset"], row["warc_length"])
            )
            assert stored.url == row["url"] and stored.record_type == "response"
        captured = conn.execute(
            "SELECT count(*) FROM captures WHERE record_type = 'response'"
        ).fetchone()[0]
    finally:
        conn.close()
    in_warcs = sum(
        1
        for path in list_warcs(warc_dir)
        for _, record, _ in iter_records(path)
        if record.rec_type == "response"
    )
    assert captured == in_warcs, "catalog and WARCs disagree on captures"
    report = verify(ArchiveLayout(archive))
    assert report.ok, report.one_line()


def test_nothing_new_costs_at_most_three_requests(
    fresh_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    crawl(fresh_replica, archive)
    fresh_replica.reset_log()
    # With the default --recheck-budget: every article was checked moments ago,
    # within --recheck-hours, so none is due (3 + the budget when they are:
    # tests/test_changes_e2e.py).
    result = crawl(fresh_replica, archive)
    assert len(fresh_replica.requests) <= 3
    summary = result.last_summary(archive)
    assert summary["requests"] <= 3 and summary["walk"] == "incremental"
    assert summary["articles"]["new_versions"] == 0
    assert_archive_complete(archive, fresh_replica)


def test_new_articles_cost_about_one_request_each(
    fresh_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    crawl(fresh_replica, archive)
    new = fresh_replica.site.publish(7)
    fresh_replica.reset_log()
    # Article pages only: what their requisites cost is tests/test_requisites_e2e.py's.
    result = crawl(fresh_replica, archive, "--no-requisites")
    summary = result.last_summary(archive)
    assert summary["articles"]["new_versions"] == 7
    fetched = _article_requests(fresh_replica)
    assert sorted(fetched) == sorted(a.path for a in new)
    assert len(fresh_replica.requests) <= 7 + 3
    assert_archive_complete(archive, fresh_replica)


def test_edits_become_versions_and_unchanged_pages_revisits(
    fresh_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    site = fresh_replica.site
    crawl(fresh_replica, archive)
    # A "recent" window reaching back to the sixth newest article's day.
    today = datetime.now(UTC).date()
    days = (today - site.articles[5].published.date()).days
    newest = [a for a in site.articles if (today - a.published.date()).days <= days]
    assert len(newest) >= 6
    edited = [newest[1], newest[4]]
    for article in edited:
        site.edit(article.news_id)
    fresh_replica.reset_log()
    # Article pages only: an edited article's requisites are tests/test_requisites_e2e.py's.
    result = crawl(
        fresh_replica,
        archive,
        "--recent-days",
        str(days),
        "--recheck-hours",
        "0",
        "--no-requisites",
        # Only the recent-days re-check here; the budget's own: tests/test_changes_e2e.py.
        "--recheck-budget",
        "0",
    )
    summary = result.last_summary(archive)
    assert summary["articles"]["edited"] == 2
    assert summary["warc"]["revisits"] == len(newest) - 2
    conditional = [
        r for r in fresh_replica.requests if any(k.lower() == "if-none-match" for k in r.headers)
    ]
    assert {r.path for r in conditional} == {a.path for a in newest}
    statuses = sorted(r.status for r in conditional)
    assert statuses == [200, 200] + [304] * (len(newest) - 2)

    conn = _catalog(archive)
    try:
        for article in edited:
            url = fresh_replica.base_url + article.path
            versions = conn.execute(
                "SELECT v.record_json FROM versions v JOIN articles a ON a.id = v.article_id "
                "WHERE a.url = ? ORDER BY v.fetched_at",
                (url,),
            ).fetchall()
            assert len(versions) == 2, "history must keep the old version"
            old, new = (json.loads(v[0]) for v in versions)
            assert old["body_text"] != new["body_text"]
            assert new["body_text"] == article.body_text
        revisits = conn.execute("SELECT url FROM captures WHERE record_type = 'revisit'").fetchall()
        assert len(revisits) == len(newest) - 2
    finally:
        conn.close()
    for path in list_warcs(archive / "warc"):
        for _, record, _ in iter_records(path):
            if record.rec_type == "revisit":
                headers = record.rec_headers
                assert headers.get_header("WARC-Refers-To-Target-URI")
                assert headers.get_header("WARC-Refers-To-Date")
                assert headers.get_header("WARC-Refers-To")
                assert headers.get_header("WARC-Profile").endswith("server-not-modified")
    assert_archive_complete(archive, fresh_replica)


def _start_crawl(
    server: ReplicaServer, archive: Path, *, new_session: bool = False
) -> subprocess.Popen[str]:
    """A crawl in the background; ``new_session``: its own process group (SIGINT not ignored)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "crawl",
            "--start-url",
            server.start_url,
            "--archive",
            str(archive),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=new_session,
    )


def _wait_for_requests(server: ReplicaServer, proc: subprocess.Popen[str], count: int) -> None:
    """Until the replica has served ``count`` requests (or the crawl ended)."""
    deadline = time.monotonic() + 60
    while len(server.requests) < count and proc.poll() is None:
        assert time.monotonic() < deadline, "crawl made no progress"
        time.sleep(0.002)


def test_second_run_exits_at_once_while_first_holds_the_lock(
    fresh_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    with lock_held_elsewhere(archive):
        started = time.monotonic()
        second = crawl(fresh_replica, archive, check=False)
        assert second.returncode == 4
        assert "holds" in second.stderr and "Traceback" not in second.stderr
        assert time.monotonic() - started < 30
        assert not fresh_replica.requests, "a locked-out run must not crawl"
    # The holder died without releasing: the next run takes over and repairs.
    crawl(fresh_replica, archive)
    assert_archive_complete(archive, fresh_replica)


def _children(pid: int) -> list[int]:
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except OSError:  # the process is gone
        return []


def _archiver_of(proc: subprocess.Popen[str]) -> int:
    """Pid of the crawl's archiver process (`python -m crawler.archiver`)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for child in _children(proc.pid):
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue  # a short-lived child, gone between the listing and the read
            if b"crawler.archiver" in cmdline:
                return child
        time.sleep(0.01)
    proc.kill()
    proc.communicate()
    raise AssertionError("the crawl started no archiver process")


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.01)
    return False


def test_crawl_stops_with_exit_5_when_the_archiver_dies(
    fresh_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    proc = _start_crawl(fresh_replica, archive)
    archiver = _archiver_of(proc)
    _wait_for_requests(fresh_replica, proc, 40)
    os.kill(archiver, signal.SIGKILL)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 5, stderr[-2000:]
    assert "Traceback" not in stderr
    assert len(fresh_replica.requests) < 200, "the crawl went on without its archiver"
    summaries = sorted((archive / "runs").glob("*.json"))
    summary = json.loads(summaries[-1].read_text("utf-8"))
    assert summary["exit_code"] == 5
    assert "archiver" in summary["archiver_error"]
    # The next run repairs what the dead archiver left and completes the archive.
    crawl(fresh_replica, archive)
    assert_archive_complete(archive, fresh_replica)


def test_ctrl_c_stops_the_crawl_cleanly(fresh_replica: ReplicaServer, tmp_path: Path) -> None:
    """SIGINT to the whole process group, as Ctrl-C in a terminal sends it."""
    archive = tmp_path / "archive"
    proc = _start_crawl(fresh_replica, archive, new_session=True)
    archiver = _archiver_of(proc)
    _wait_for_requests(fresh_replica, proc, 60)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert "Traceback" not in stderr and "archiver failed" not in stderr
    assert _gone(archiver)
    summary = json.loads(sorted((archive / "runs").glob("*.json"))[-1].read_text("utf-8"))
    assert summary["finish_reason"] == "shutdown"
    assert summary["archiver_error"] is None
    assert proc.returncode == summary["exit_code"] in (0, 1)
    assert summary["articles"]["new_versions"] > 0
    # What the interrupted run did not fetch, the next one does.
    crawl(fresh_replica, archive)
    assert_archive_complete(archive, fresh_replica)


KILL_POINTS = [1, 2, 4, 9, 17, 40, 80, 130, 190, 235]


def test_sigkill_at_ten_points_then_rerun(fresh_replica: ReplicaServer, tmp_path: Path) -> None:
    """SIGKILL a first full crawl after N requests were served, for ten N; re-run."""
    killed = 0
    for point in KILL_POINTS:
        archive = tmp_path / f"archive-{point}"
        fresh_replica.reset_log()
        proc = _start_crawl(fresh_replica, archive)
        archiver = _archiver_of(proc)
        _wait_for_requests(fresh_replica, proc, point)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # The archiver dies with the crawl: nothing writes after the kill.
        assert _gone(archiver), "the archiver outlived the killed crawl"
        assert proc.stderr is not None
        proc.stderr.close()
        killed += proc.returncode == -signal.SIGKILL
        # The re-run repairs whatever the kill left and completes the archive.
        crawl(fresh_replica, archive)
        assert_archive_complete(archive, fresh_replica)
    assert killed >= 9, f"only {killed} of the runs were really killed mid-crawl"


def test_failed_articles_also_listed_again_are_fetched_once_and_not_reported(
    fresh_replica: ReplicaServer, tmp_path: Path
) -> None:
    """Earlier failures are retried at start; the listing names the same articles.

    Scrapy reads start requests lazily, so either may ask first: the article is
    fetched once, archived, and never reported as dropped (a duplicate request
    that Scrapy filters out used to leave it "pending").
    """
    from archive.storage import catalog

    archive = tmp_path / "archive"
    layout = ArchiveLayout(archive)
    layout.create()
    first_page = [fresh_replica.base_url + a.path for a in fresh_replica.site.articles[:20]]
    conn = catalog.connect(layout.catalog_path)
    with catalog.transaction(conn):
        for url in first_page:
            catalog.record_failure(conn, url, "timeout", "", "2026-01-01T00:00:00Z")
    conn.close()
    result = crawl(fresh_replica, archive)
    summary = result.last_summary(archive)
    assert summary["exit_code"] == 0
    assert not [p for p in summary["problems"] if p["reason"] == "dropped"]
    fetched = [r.path for r in fresh_replica.requests if r.path.startswith("/info/")]
    assert len(fetched) == len(set(fetched))
    assert_archive_complete(archive, fresh_replica)


def test_cron_runs_that_find_little_add_to_one_warc_file(
    fresh_replica: ReplicaServer, tmp_path: Path
) -> None:
    """An idle year must not leave thousands of tiny WARC files: runs continue the last one."""
    archive = tmp_path / "archive"
    crawl(fresh_replica, archive)
    (first,) = list_warcs(archive / "warc")
    size = first.stat().st_size
    for _ in range(3):
        crawl(fresh_replica, archive)  # nothing new: robots.txt and two listing pages
        assert list_warcs(archive / "warc") == [first]
        assert first.stat().st_size > size
        size = first.stat().st_size
    new = fresh_replica.site.publish(2)
    crawl(fresh_replica, archive)
    assert list_warcs(archive / "warc") == [first]
    # Every capture of every run is in the index and replays; nothing else changed.
    layout = ArchiveLayout(archive)
    assert verify(layout).ok
    index = (archive / "indexes" / "index.cdxj").read_text("utf-8").splitlines()
    conn = sqlite3.connect(archive / "catalog.sqlite")
    (captures,) = conn.execute("SELECT count(*) FROM captures").fetchone()
    conn.close()
    assert len(index) == captures
    for article in new:
        replayed = run_cli("replay", fresh_replica.base_url + article.path, "--archive", archive)
        assert replayed.returncode == 0
    assert_archive_complete(archive, fresh_replica)


def test_a_run_killed_while_appending_keeps_what_earlier_runs_wrote(
    fresh_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    crawl(fresh_replica, archive)
    (first,) = list_warcs(archive / "warc")
    before = first.read_bytes()
    fresh_replica.site.publish(40)
    fresh_replica.reset_log()
    proc = _start_crawl(fresh_replica, archive)
    _wait_for_requests(fresh_replica, proc, 20)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.stderr is not None
    proc.stderr.close()
    crawl(fresh_replica, archive)  # repairs: cuts the appended part after its last whole record
    assert first.read_bytes().startswith(before)  # the earlier runs' records, byte for byte
    assert verify(ArchiveLayout(archive)).ok
    assert_archive_complete(archive, fresh_replica)
