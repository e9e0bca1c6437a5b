"""Running one crawl in this process and summarizing it.

:func:`run_crawl` is what ``uir-news crawl`` and ``uir-news demo`` call. It
builds Scrapy settings from :mod:`crawler.settings` plus the options given,
runs the ``gxyw`` spider to completion, and returns the run summary, which is
also written atomically to ``runs/{run_id}.json`` in the archive.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from archive.research.search import search_indexer
from archive.storage import catalog
from archive.storage.files import atomic_write_text
from archive.storage.layout import ArchiveLayout
from archive.storage.lock import ArchiveLock
from archive.storage.records import dumps
from archive.storage.recovery import rebuild, repair_open_warcs
from crawler.archiver import peak_rss_mb
from crawler.gc_tuning import tune_gc
from crawler.layout_alarm import TRACKED_FIELDS, baseline_rates, layout_alarms
from crawler.spiders.gxyw import GxywSpider

logger = logging.getLogger(__name__)


class ExitCode(enum.IntEnum):
    """Exit codes of ``uir-news crawl``: documented in the README for cron."""

    OK = 0
    PARTIAL = 1  # some pages could not be archived; the rest is safe
    USAGE = 2  # bad command line or input
    LAYOUT_ALARM = 3  # a normally present field vanished: the site was redesigned
    LOCKED = 4  # another run holds the archive's lock
    FAILED = 5  # nothing could be crawled (start page unreachable), or the archiver died


#: Reasons for which nothing is lost: the site asked us not to fetch the page,
#: or it is not an article. Every other reported reason counts as a failure.
NOT_FAILURES = frozenset({"robots_disallowed", "dynamic_url"})


@dataclass
class CrawlOptions:
    start_url: str
    archive_dir: Path
    log_level: str = "WARNING"
    settings: dict[str, Any] = field(default_factory=dict)


def build_settings(options: CrawlOptions) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("UIR_NEWS_ARCHIVE_DIR", str(options.archive_dir), priority="cmdline")
    settings.set("UIR_NEWS_START_URL", options.start_url, priority="cmdline")
    settings.set("LOG_LEVEL", options.log_level, priority="cmdline")
    for key, value in options.settings.items():
        settings.set(key, value, priority="cmdline")
    return settings


def _is_failure(reason: str) -> bool:
    return reason not in NOT_FAILURES


def _recent_summaries(layout: ArchiveLayout, limit: int = 20) -> list[dict[str, Any]]:
    paths = sorted(layout.runs_dir.glob("*.json"))[-limit:]
    summaries = []
    for path in paths:
        try:
            summaries.append(json.loads(path.read_text("utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return summaries


def recover_if_needed(layout: ArchiveLayout, lock: ArchiveLock) -> dict[str, Any] | None:
    """After a killed run: close its WARC and rebuild the catalog from the files."""
    open_files = list(layout.warc_dir.glob("*.warc.gz.open"))
    if lock.stale_holder is None and not open_files:
        return None
    logger.warning(
        "Previous run (pid %s) did not finish; repairing the archive at %s",
        (lock.stale_holder or {}).get("pid", "?"),
        layout.root,
    )
    report = repair_open_warcs(layout.warc_dir)
    counts = rebuild(layout, on_record=search_indexer())
    return {"previous_run": lock.stale_holder, **report.as_dict(), "rebuilt": counts}


def _rebuild_after_archiver_failure(layout: ArchiveLayout) -> None:
    """The archiver stopped mid-run, so its last catalog rows are missing: rebuild now.

    This is what the next run would do after a crash; the rebuilt catalog
    also forgets that the column was walked, so the next run walks it all.
    """
    logger.warning("The archiver failed; rebuilding the catalog of %s", layout.root)
    try:
        rebuild(layout, on_record=search_indexer())
    except (OSError, sqlite3.Error) as exc:
        logger.error("Could not rebuild the catalog (%s); run `uir-news rebuild`", exc)


def run_crawl(options: CrawlOptions) -> dict[str, Any]:
    """Crawl ``options.start_url`` into the archive; return the run summary.

    Raises :class:`archive.lock.LockHeld` when another run holds the archive.
    """
    layout = ArchiveLayout(options.archive_dir)
    layout.create()
    with ArchiveLock(layout.lock_path) as lock:
        recovery = recover_if_needed(layout, lock)
        summary = _crawl_locked(options, layout, recovery)
        if summary.get("archiver_error"):
            _rebuild_after_archiver_failure(layout)
        from archive.replay.cdxj import update_index  # not at start-up: its imports take 0.2 s

        try:
            # Usually done already while the archiver finished (crawler.archiving);
            # this catches WARCs a failed run left unindexed.
            stats = update_index(layout)
            logger.info("CDXJ index: %s", stats.one_line())
        except OSError as exc:
            # The WARCs and the catalog are complete; `uir-news index` redoes this.
            logger.error("Could not update the CDXJ index of %s: %s", layout.root, exc)
        return summary


def _crawl_locked(
    options: CrawlOptions, layout: ArchiveLayout, recovery: dict[str, Any] | None
) -> dict[str, Any]:
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    started = datetime.now(UTC)
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    history = _recent_summaries(layout)

    process = CrawlerProcess(build_settings(options))
    crawler = process.create_crawler(GxywSpider)
    process.crawl(crawler, start_url=options.start_url)
    tune_gc()
    process.start()

    stats: dict[str, Any] = crawler.stats.get_stats() if crawler.stats else {}
    spider = crawler.spider
    problems: list[dict[str, Any]] = list(getattr(spider, "problems", []))
    external: list[dict[str, Any]] = list(getattr(spider, "external_links", []))
    records = int(stats.get("extract/records", 0))
    failures = [p for p in problems if _is_failure(p["reason"])]
    problem_counts: dict[str, int] = {}
    for problem in problems:
        problem_counts[problem["reason"]] = problem_counts.get(problem["reason"], 0) + 1
    field_fill = {
        name: int(stats.get(f"extract/field_present/{name}", 0)) for name in TRACKED_FIELDS
    }
    alarms = layout_alarms(field_fill, records, baseline_rates(history))

    summary: dict[str, Any] = {
        "run_id": run_id,
        "start_url": options.start_url,
        "archive": str(options.archive_dir),
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - wall_start, 3),
        "cpu_s": round(time.process_time() - cpu_start, 3),
        "archiver_cpu_s": stats.get("archive/archiver_cpu_s"),
        "peak_rss_mb": {
            "crawl": peak_rss_mb(),
            "archiver": stats.get("archive/archiver_peak_rss_mb"),
        },
        # Pages the crawl process parsed itself while the archiver was behind.
        "parsed_in_crawl_process": int(stats.get("archive/parsed_in_crawl_process", 0)),
        "finish_reason": stats.get("finish_reason"),
        "walk": "full" if getattr(spider, "full_walk", True) else "incremental",
        "requests": int(stats.get("downloader/request_count", 0)),
        "responses": int(stats.get("downloader/response_count", 0)),
        "response_bytes": int(stats.get("downloader/response_bytes", 0)),
        "listing_pages": int(stats.get("crawl/listing_pages", 0)),
        "articles": {
            "seen": records,
            "new_versions": int(stats.get("archive/records_written", 0)),
            "edited": int(stats.get("archive/records_edited", 0)),
            "unchanged": int(stats.get("archive/records_unchanged", 0))
            + int(stats.get("crawl/unchanged", 0)),
            "rechecked": int(stats.get("crawl/rechecks", 0)),
            "invalid": int(stats.get("archive/records_invalid_record", 0)),
            "too_large": int(stats.get("archive/records_record_too_large", 0)),
        },
        "warc": {
            "files": list(stats.get("archive/warc_files", [])),
            "bytes": int(stats.get("archive/warc_bytes", 0)),
            "records": int(stats.get("archive/warc_records", 0)),
            "revisits": int(stats.get("archive/warc_revisits", 0)),
        },
        "field_fill": field_fill,
        "alarms": alarms,
        "problem_counts": problem_counts,
        "problems": problems,
        "failures": len(failures),
        "external_items": external,
        "recovery": recovery,
        "archiver_error": stats.get("archive/archiver_error"),
        "pid": os.getpid(),
    }
    if summary["archiver_error"] or (records == 0 and summary["listing_pages"] == 0):
        summary["exit_code"] = int(ExitCode.FAILED)
    elif alarms:
        summary["exit_code"] = int(ExitCode.LAYOUT_ALARM)
    elif failures:
        summary["exit_code"] = int(ExitCode.PARTIAL)
    else:
        summary["exit_code"] = int(ExitCode.OK)

    walked_everything = (
        summary["walk"] == "full"
        and summary["finish_reason"] == "finished"
        and not getattr(spider, "listing_failed", False)
    )
    atomic_write_text(layout.runs_dir / f"{run_id}.json", dumps(summary) + "\n")
    conn = catalog.connect(layout.catalog_path)
    try:
        with catalog.transaction(conn):
            if walked_everything:
                catalog.set_meta(conn, "walk_complete", "1")
            catalog.record_run(conn, summary)
    finally:
        conn.close()
    return summary
