"""Scrapy extensions: the archive session of a run (:class:`ArchiveRun`) and a progress line.

:class:`ArchiveRun` keeps every promise a crawl makes about the archive,
whether it runs as ``uir-news crawl`` or ``scrapy crawl gxyw``: one run at a
time (the lock), repair after a killed run, the archiver process, the log of
pages not archived, the CDXJ index, and the run summary. The other components
reach it with ``crawler.get_extension(ArchiveRun)``.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from scrapy import Spider, signals
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.settings import BaseSettings
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from archive.research.search import search_indexer
from archive.storage import catalog
from archive.storage.files import atomic_write_text
from archive.storage.layout import ArchiveLayout, default_archive_dir
from archive.storage.lock import ArchiveLock, LockHeld
from archive.storage.records import dumps
from archive.storage.recovery import rebuild, repair_open_warcs
from crawler.archiver.client import ArchiverClient, ArchiverConfig
from crawler.archiver.pages import reparse_response
from crawler.archiver.protocol import ArchiverResult, iso_utc
from crawler.failures import Problem
from crawler.layout_alarm import TRACKED_FIELDS, baseline_rates, column_baseline, layout_alarms
from crawler.processes import peak_rss_mb, tune_gc
from crawler.summary import (
    ArticleCounts,
    ColumnFound,
    ColumnReport,
    ExitCode,
    PeakRss,
    RequisiteCounts,
    RunSummary,
    WarcCounts,
    exit_code_for,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from crawler.columns import ColumnWalk

logger = logging.getLogger(__name__)


def archive_dir_from_settings(settings: BaseSettings) -> Path:
    """``UIR_NEWS_ARCHIVE_DIR`` if set, else the default archive directory."""
    configured = settings.get("UIR_NEWS_ARCHIVE_DIR")
    return Path(configured).expanduser() if configured else default_archive_dir()


def archiver_config(settings: BaseSettings) -> ArchiverConfig:
    """What the archiver needs, from the crawl's settings."""
    return ArchiverConfig(
        archive_dir=archive_dir_from_settings(settings),
        warc_prefix=settings["UIR_NEWS_WARC_PREFIX"],
        warc_max_size=settings.getint("UIR_NEWS_WARC_MAX_SIZE"),
        warc_continue_below=settings.getint("UIR_NEWS_WARC_CONTINUE_BELOW"),
        warcinfo={
            "software": "uir-news (Scrapy, warcio)",
            "http-header-user-agent": settings.get("USER_AGENT", ""),
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "isPartOf": "uir-news 国关要闻",
            "description": "Snapshots of the 国关要闻 column of 国际关系学院",
        },
        max_record_bytes=settings.getint("UIR_NEWS_MAX_RECORD_BYTES"),
        backlog_bytes=settings.getint("UIR_NEWS_ARCHIVER_BACKLOG_BYTES"),
        log_level=str(settings.get("LOG_LEVEL", "INFO")),
    )


def column_meta_key(site: str, name: str) -> str:
    """The catalog ``meta`` key under which the column's listing URL is remembered."""
    return f"column_url {site} {name}"


def walk_meta_key(column_key: str) -> str:
    """The catalog ``meta`` key saying a column (``ColumnWalk.key``) was walked whole."""
    return f"walk_complete {column_key}"


def recover_if_needed(layout: ArchiveLayout, lock: ArchiveLock) -> dict[str, Any] | None:
    """After a killed run, or with a damaged catalog: close WARCs, rebuild the catalog.

    Returns what was repaired (the summary's ``recovery``, whose ``damage``
    lists what could not be read), or None when the archive needed nothing.
    """
    open_files = list(layout.warc_dir.glob("*.warc.gz.open"))
    damaged = catalog.check(layout.catalog_path) if layout.catalog_path.exists() else None
    if lock.stale_holder is None and not open_files and damaged is None:
        return None
    if damaged is not None:
        logger.error("The catalog %s is damaged (%s); rebuilding it", layout.catalog_path, damaged)
    else:
        logger.warning(
            "Previous run (pid %s) did not finish; repairing the archive at %s",
            (lock.stale_holder or {}).get("pid", "?"),
            layout.root,
        )
    report = repair_open_warcs(layout.warc_dir)
    rebuilt = rebuild(layout, on_record=search_indexer(), reparse=reparse_response)
    damage = rebuilt.problems()
    if damaged is not None:
        damage.insert(0, f"{layout.catalog_path.name}: damaged ({damaged}); rebuilt from the files")
    return {
        "previous_run": lock.stale_holder,
        **report.as_dict(),
        "rebuilt": rebuilt.counts,
        "damage": damage,
    }


def rebuild_after_archiver_failure(layout: ArchiveLayout) -> None:
    """The archiver stopped mid-run, so its last catalog rows are missing: rebuild now.

    This is what the next run would do after a crash; the rebuilt catalog
    also forgets that the column was walked, so the next run walks it all.
    """
    logger.warning("The archiver failed; rebuilding the catalog of %s", layout.root)
    try:
        rebuild(layout, on_record=search_indexer(), reparse=reparse_response)
    except (OSError, sqlite3.Error) as exc:
        logger.error("Could not rebuild the catalog (%s); run `uir-news rebuild`", exc)


def index_warcs(layout: ArchiveLayout) -> list[str]:
    """Update the CDXJ index with every closed WARC; returns the damage met (failures logged)."""
    # Not at start-up: the CDXJ module's imports take 0.2 s.
    from archive.replay.cdxj import update_index

    try:
        stats = update_index(layout)
        logger.info("CDXJ index: %s", stats.one_line())
    except Exception as exc:  # the crawl's data is safe; `uir-news index` redoes this
        logger.error("Could not update the CDXJ index of %s: %s", layout.root, exc)
        return [f"indexes/index.cdxj: could not be updated ({type(exc).__name__}: {exc})"]
    for item in stats.damage:
        logger.error("Damaged WARC %s (left as it is; its readable records are indexed)", item)
    return [str(item) for item in stats.damage]


def recent_summaries(layout: ArchiveLayout, limit: int = 20) -> list[dict[str, Any]]:
    """The last ``limit`` run summaries as stored (unreadable ones skipped)."""
    summaries = []
    for path in sorted(layout.runs_dir.glob("*.json"))[-limit:]:
        try:
            summaries.append(json.loads(path.read_text("utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    return summaries


def _disk_full(error: str | None) -> bool:
    """Whether the archiver's error was a full disk (its message is all that crossed the pipe)."""
    return error is not None and ("No space left" in error or "Disk quota" in error)


class ArchiveRun:
    """The archive session of one crawl, from ``spider_opened`` to ``spider_closed``.

    On open it takes the archive's lock (held by another run: the spider is
    closed at once with reason ``archive_locked``, nothing is written and
    :attr:`exit_code` is 4), repairs what a killed run left, and starts the
    archiver process (:attr:`client`). During the run the spider reports the
    pages it could not archive (:meth:`report`). On close it lets the
    archiver finish, indexes the WARCs (CDXJ) once, writes
    ``runs/{run_id}.json`` and the catalog's run row, rebuilds the catalog if
    the archiver died, and releases the lock.
    """

    def __init__(
        self,
        config: ArchiverConfig,
        start_url: str,
        stats: StatsCollector,
        stop_crawl: Callable[[str], None],
    ) -> None:
        self.config = config
        self.layout = ArchiveLayout(config.archive_dir)
        self.start_url = start_url
        self.stats = stats
        self.stop_crawl = stop_crawl
        self.lock = ArchiveLock(self.layout.lock_path)
        self._client: ArchiverClient | None = None
        #: Set when another run held the lock: this run did nothing.
        self.lock_held: LockHeld | None = None
        #: The summary written at close (None before, or when locked out).
        self.summary: RunSummary | None = None
        self.problems: list[Problem] = []
        #: Listing items not followed (off-site links, content.jsp pages).
        self.external_items: list[dict[str, Any]] = []
        #: Set by the spider: whether it walks every listing page this run.
        self.full_walk = True
        #: Set by the spider when a listing page could not be read.
        self.listing_failed = False
        #: Set by the spider: the columns of the run (found by name or not,
        #: their name, id, walk and listing pages), for the summary.
        self.walks: list[ColumnWalk] = []
        #: Catalog ``meta`` values to write at close (a column's URL found by name).
        self._remembered: dict[str, str] = {}
        self._recovery: dict[str, Any] | None = None
        #: Damage met this run (at the repair and at the index step), named.
        self._damage: list[str] = []
        self._history: list[dict[str, Any]] = []
        self._run_id = ""
        self._started = datetime.now(UTC)
        self._cpu_start = self._wall_start = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveRun:
        assert crawler.stats is not None

        def stop_crawl(reason: str) -> None:
            if crawler.engine is not None and crawler.engine.spider is not None:
                deferred_from_coro(crawler.engine.close_spider_async(reason=reason))

        run = cls(
            archiver_config(crawler.settings),
            # With no listing URL the run starts at the first home page.
            crawler.settings["UIR_NEWS_START_URL"]
            or crawler.settings.getlist("UIR_NEWS_HOME_URLS")[0],
            crawler.stats,
            stop_crawl,
        )
        crawler.signals.connect(run.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(run.spider_closed, signal=signals.spider_closed)
        return run

    @property
    def client(self) -> ArchiverClient:
        """The archiver of this run (only between a successful open and close)."""
        if self._client is None:
            raise RuntimeError("the archive run is not open")
        return self._client

    @property
    def exit_code(self) -> ExitCode | None:
        """The run's exit code: 4 when locked out, the summary's once closed, else None."""
        if self.lock_held is not None:
            return ExitCode.LOCKED
        return self.summary.exit_code if self.summary is not None else None

    # -- open ------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        try:
            self.lock.acquire()
        except LockHeld as exc:
            self.lock_held = exc
            logger.error("%s; not starting a second run", exc)
            raise CloseSpider("archive_locked") from None
        try:
            self.layout.create()
            self._recovery = recover_if_needed(self.layout, self.lock)
            if self._recovery is not None:
                self._damage.extend(self._recovery["damage"])
            self._history = recent_summaries(self.layout)
            self._run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
            self._client = ArchiverClient.start(self.config, self._run_id)
        except Exception:
            logger.exception("Could not open the archive at %s", self.layout.root)
            self.lock.release()
            raise CloseSpider("archive_failed") from None
        self._client.on_failure = self._archiver_gone
        self._started = datetime.now(UTC)
        self._cpu_start, self._wall_start = time.process_time(), time.perf_counter()
        tune_gc()

    def _archiver_gone(self) -> None:
        # Nothing fetched from now on could be archived: stop, and let the
        # run summary say so (exit code 5); the end of the run rebuilds.
        logger.error("The archiver process is gone; stopping the crawl")
        self.stop_crawl("archiver_failed")

    # -- during the run -----------------------------------------------------------

    def remembered(self, key: str) -> str | None:
        """A value an earlier run remembered in the catalog's ``meta`` table (read-only)."""
        return catalog.get_meta(self.client.reader.conn, key)

    def remember(self, key: str, value: str) -> None:
        """Keep ``value`` in the catalog's ``meta`` table for the next runs (written at close)."""
        self._remembered[key] = value

    @property
    def column(self) -> ColumnFound | None:
        """The first column the run looked for by name (the summary's ``column``), if any."""
        return next((walk.found for walk in self.walks if walk.found is not None), None)

    def report(self, url: str, reason: str, detail: str = "", *, article: bool = True) -> None:
        """Note a page that did not become an article, with its reason.

        Article pages are also noted in the catalog, so the next run tries
        them again even when they are far down the listing.
        """
        earlier = self.client.reader.failure_of(url) if article else None
        entry = Problem(url, reason, detail, article, attempts=1 + (earlier[1] if earlier else 0))
        self.stats.inc_value(f"crawl/problems/{reason}")
        self.problems.append(entry)
        # Robots refusals and pages the site does not show lose nothing: not a warning.
        loses_nothing = not entry.is_failure and not entry.is_requisite
        log = logger.info if loses_nothing else logger.warning
        log("Not archived: %s (%s) %s", url, reason, detail)
        if entry.noted_for_next_runs:
            self.client.record_failure(url, reason, detail, iso_utc())

    # -- close --------------------------------------------------------------------

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._client is None:
            return  # locked out, or the open failed: nothing of ours to close
        client, self._client = self._client, None
        try:
            # The WARCs are indexed while the archiver finishes its queue.
            result = client.close(meanwhile=lambda: self._damage.extend(index_warcs(self.layout)))
            self._add_stats(client, result)
            self.problems.extend(result.problems)
            self.summary = summary = self._summarize(reason)
            try:
                self._write_summary(summary, walked=self._walked_columns(reason))
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                # The run's data is on disk; only its summary is not.
                logger.error("Could not write the run summary: %s", exc)
                summary.exit_code = ExitCode.DISK_FULL
            if summary.archiver_error:
                rebuild_after_archiver_failure(self.layout)
        finally:
            self.lock.release()

    def _add_stats(self, client: ArchiverClient, result: ArchiverResult) -> None:
        for name, count in result.stats.items():
            self.stats.inc_value(name, count)
        self.stats.set_value("archive/warc_files", [p.name for p in client.writer.closed_files])
        self.stats.set_value("archive/warc_bytes", client.writer.bytes_written)
        self.stats.set_value("archive/archiver_cpu_s", result.cpu_s)
        self.stats.set_value("archive/archiver_peak_rss_mb", result.peak_rss_mb)
        if result.error is not None:
            self.stats.set_value("archive/archiver_error", result.error)
            logger.error("The archiver failed: %s", result.error)

    def _walked_columns(self, reason: str) -> list[str]:
        """Keys of the columns this run walked whole (every listing page, none failed)."""
        if reason != "finished":
            return []
        return [
            walk.key
            for walk in self.walks
            if walk.settled and walk.full_walk and not walk.listing_failed
        ]

    def _summarize(self, reason: str) -> RunSummary:
        stats = self.stats.get_stats()

        def count(name: str) -> int:
            return int(stats.get(name, 0))

        records = count("extract/records")
        failures = sum(1 for p in self.problems if p.is_failure)
        problem_counts: dict[str, int] = {}
        for entry in self.problems:
            problem_counts[entry.reason] = problem_counts.get(entry.reason, 0) + 1
        field_fill = {name: count(f"extract/field_present/{name}") for name in TRACKED_FIELDS}
        columns = self._column_reports(stats)
        if len(columns) > 1:
            # Each column against its own history: one redesigned column
            # among many must not drown in the others' fill rates.
            alarms = [alarm for column in columns for alarm in column.alarms]
        else:
            alarms = layout_alarms(field_fill, records, baseline_rates(self._history))
        archiver_error = stats.get("archive/archiver_error")
        listing_pages = count("crawl/listing_pages")
        return RunSummary(
            run_id=self._run_id,
            start_url=self.start_url,
            archive=str(self.config.archive_dir),
            started_at=self._started.isoformat(timespec="seconds"),
            finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
            exit_code=exit_code_for(
                archiver_error=archiver_error,
                records=records,
                listing_pages=listing_pages,
                alarms=alarms,
                failures=failures,
                column_missing=any(w.found is not None and w.found.url is None for w in self.walks),
                damage=bool(self._damage),
                disk_full=_disk_full(archiver_error),
            ),
            duration_s=round(time.perf_counter() - self._wall_start, 3),
            cpu_s=round(time.process_time() - self._cpu_start, 3),
            archiver_cpu_s=stats.get("archive/archiver_cpu_s"),
            peak_rss_mb=PeakRss(peak_rss_mb(), stats.get("archive/archiver_peak_rss_mb")),
            parsed_in_crawl_process=count("archive/parsed_in_crawl_process"),
            finish_reason=reason,
            walk="full" if self.full_walk else "incremental",
            requests=count("downloader/request_count"),
            responses=count("downloader/response_count"),
            response_bytes=count("downloader/response_bytes"),
            listing_pages=listing_pages,
            articles=ArticleCounts(
                seen=records,
                new_versions=count("archive/records_written"),
                edited=count("archive/records_edited"),
                unchanged=count("archive/records_unchanged") + count("crawl/unchanged"),
                rechecked=count("crawl/rechecks"),
                invalid=count("archive/records_invalid_record"),
                too_large=count("archive/records_record_too_large"),
                permanent_failures_skipped=count("crawl/permanent_failures_skipped"),
            ),
            warc=WarcCounts(
                files=list(stats.get("archive/warc_files", [])),
                bytes=count("archive/warc_bytes"),
                records=count("archive/warc_records"),
                revisits=count("archive/warc_revisits"),
            ),
            requisites=RequisiteCounts(
                requested=count("requisites/requested"),
                fetched=count("requisites/fetched"),
                unchanged=count("requisites/unchanged"),
                failed=count("requisites/failed"),
                bytes=count("requisites/bytes"),
                robots_disallowed=count("requisites/robots_disallowed"),
                offsite_skipped=count("requisites/offsite_skipped"),
            ),
            field_fill=field_fill,
            alarms=alarms,
            problem_counts=problem_counts,
            problems=list(self.problems),
            failures=failures,
            external_items=list(self.external_items),
            recovery=self._recovery,
            archiver_error=archiver_error,
            pid=os.getpid(),
            column=self.column,
            damage=list(self._damage),
            events={
                name.removeprefix("events/"): int(value)
                for name, value in sorted(stats.items())
                if name.startswith("events/") and value
            },
            columns=columns,
        )

    def _column_reports(self, stats: dict[str, Any]) -> list[ColumnReport]:
        """Each column's walk, records and field fill, with its layout alarms."""
        reports = []
        for walk in self.walks:
            prefix = f"columns/{walk.key}/"
            records = int(stats.get(prefix + "records", 0))
            fill = {
                name: int(stats.get(f"{prefix}field_present/{name}", 0)) for name in TRACKED_FIELDS
            }
            history = [
                column
                for summary in self._history
                for column in summary.get("columns", [])
                if column.get("key") == walk.key
            ]
            alarms = [
                f"{walk.name or walk.key} ({walk.site}): {alarm}"
                for alarm in layout_alarms(fill, records, column_baseline(history))
            ]
            reports.append(
                ColumnReport(
                    key=walk.key,
                    site=walk.site,
                    name=walk.name,
                    id=walk.id,
                    start_url=walk.start_url,
                    walk="full" if walk.full_walk else "incremental",
                    listing_pages=walk.listing_pages,
                    records=records,
                    field_fill=fill,
                    alarms=alarms,
                )
            )
        return reports

    def _write_summary(self, summary: RunSummary, *, walked: list[str]) -> None:
        data = summary.to_json()
        atomic_write_text(self.layout.runs_dir / f"{summary.run_id}.json", dumps(data) + "\n")
        conn = catalog.connect(self.layout.catalog_path)
        try:
            with catalog.transaction(conn):
                for key in walked:
                    catalog.set_meta(conn, walk_meta_key(key), "1")
                if walked and len(walked) == len(self.walks):
                    # Kept for readers of older versions (one column, one key).
                    catalog.set_meta(conn, "walk_complete", "1")
                for key, value in self._remembered.items():
                    catalog.set_meta(conn, key, value)
                catalog.record_run(conn, data)
        finally:
            conn.close()


class Progress:
    """Rewrites one status line on stderr every ``interval`` seconds.

    On only with ``UIR_NEWS_PROGRESS`` (the CLI sets it when stderr is a
    terminal and ``--quiet`` is off), so cron output stays empty.
    """

    def __init__(self, stats: StatsCollector, interval: float, out: TextIO) -> None:
        self.stats = stats
        self.interval = interval
        self.out = out
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        if not crawler.settings.getbool("UIR_NEWS_PROGRESS"):
            raise NotConfigured
        assert crawler.stats is not None
        extension = cls(crawler.stats, 0.5, sys.stderr)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def line(self) -> str:
        stats = self.stats.get_stats()
        problems = sum(v for k, v in stats.items() if k.startswith("crawl/problems/"))
        return (
            f"requests {stats.get('downloader/request_count', 0)}  "
            f"listing pages {stats.get('crawl/listing_pages', 0)}  "
            f"articles {stats.get('crawl/article_pages', 0)}  "
            f"problems {problems}"
        )

    def show(self) -> None:
        self.out.write("\r\x1b[K" + self.line())
        self.out.flush()

    def spider_opened(self, spider: Spider) -> None:
        self.loop = task.LoopingCall(self.show)
        self.loop.start(self.interval)

    def spider_closed(self, spider: Spider) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.show()
        self.out.write("\n")
        self.out.flush()
