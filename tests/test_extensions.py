"""The ArchiveRun extension, built by Scrapy (``get_crawler``) and run against a real archive.

Its open and close are driven by hand here, as the signals would; the
archiver process it starts is the real one.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.exceptions import CloseSpider
from scrapy.utils.test import get_crawler

from archive.storage.lock import ArchiveLock, LockHeld
from crawler.extensions import ArchiveRun
from crawler.summary import ExitCode
from tests.helpers.crawl_settings import project_settings

START = "http://127.0.0.1:8000/ggyw.htm"


def _run(archive: Path) -> tuple[ArchiveRun, Spider]:
    crawler = get_crawler(
        settings_dict=project_settings(UIR_NEWS_ARCHIVE_DIR=str(archive), UIR_NEWS_START_URL=START)
    )
    run = crawler.get_extension(ArchiveRun)
    assert run is not None
    return run, Spider("gxyw")


def test_a_held_lock_closes_the_spider_and_writes_nothing(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    run, spider = _run(archive)
    with ArchiveLock(archive / "uir-news.lock"):
        with pytest.raises(CloseSpider) as closed:
            run.spider_opened(spider)
        run.spider_closed(spider, "archive_locked")
    assert closed.value.reason == "archive_locked"
    assert run.exit_code is ExitCode.LOCKED and run.summary is None
    assert [p.name for p in archive.iterdir()] == ["uir-news.lock"]


def test_a_run_writes_its_summary_and_notes_problems(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    run, spider = _run(archive)
    run.spider_opened(spider)
    assert run.client.process.poll() is None, "the archiver process is running"
    with pytest.raises(LockHeld):
        ArchiveLock(archive / "uir-news.lock").acquire()  # held by the run
    run.report("http://127.0.0.1:8000/info/1.htm", "timeout", "slow")
    run.report("http://127.0.0.1:8000/ggyw/3.htm", "listing_http_500", article=False)
    run.external_items.append({"url": "https://mp.weixin.qq.com/s/x", "kind": "external"})
    run.spider_closed(spider, "finished")

    summary = run.summary
    assert summary is not None and run.exit_code is summary.exit_code
    # Nothing archived and no listing page read: the run failed.
    assert summary.exit_code is ExitCode.FAILED
    assert summary.failures == 2 and summary.problem_counts == {"timeout": 1, "listing_http_500": 1}
    assert summary.start_url == START and summary.finish_reason == "finished"
    (path,) = (archive / "runs").glob("*.json")
    stored = json.loads(path.read_text("utf-8"))
    assert stored == summary.to_json()
    # The timeout is noted for the next run; the listing page is not.
    with ArchiveLock(archive / "uir-news.lock") as lock:  # released at close
        assert lock.stale_holder is None
    conn = sqlite3.connect(archive / "catalog.sqlite")
    try:
        failures = [r[0] for r in conn.execute("SELECT url FROM failures")]
        runs = [r[0] for r in conn.execute("SELECT run_id FROM runs")]
    finally:
        conn.close()
    assert failures == ["http://127.0.0.1:8000/info/1.htm"]
    assert runs == [summary.run_id]


def test_a_page_that_loses_nothing_is_not_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A robots refusal or a page the site does not show: noted (INFO), not a WARNING."""
    run, spider = _run(tmp_path / "archive")
    run.spider_opened(spider)
    try:
        with caplog.at_level(logging.INFO, logger="crawler.extensions"):
            run.report("http://127.0.0.1:8000/info/2.htm", "dynamic_not_public", "404 twice")
            run.report("http://127.0.0.1:8000/info/3.htm", "robots_disallowed")
            run.report("http://127.0.0.1:8000/info/4.htm", "timeout", "slow")
    finally:
        run.spider_closed(spider, "finished")
    levels = {
        record.getMessage().split()[2]: record.levelno
        for record in caplog.records
        if record.getMessage().startswith("Not archived")
    }
    assert levels == {
        "http://127.0.0.1:8000/info/2.htm": logging.INFO,
        "http://127.0.0.1:8000/info/3.htm": logging.INFO,
        "http://127.0.0.1:8000/info/4.htm": logging.WARNING,
    }
