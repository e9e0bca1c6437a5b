"""The archiver process: reads messages from the crawl, parses and stores, answers at the end.

It owns the run's :class:`archive.storage.session.ArchiveSession`, the one
writer of the record store, the catalog and the search index (the crawl
process writes the WARC). Each message type has one handler
(:class:`ArticleArchiver`, a ``singledispatchmethod``); :func:`serve` is the
loop over the pipe.

The process belongs to the crawl: it dies with it (a parent-death signal, and
the end of its input without a :class:`~crawler.archiver.protocol.Close`)
without finishing anything, as a single process killed at that moment would,
and the next run recovers. It ignores SIGINT and SIGTERM: Ctrl-C is for the
crawl process, which shuts down cleanly and then sends ``Close``.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Iterable
from functools import singledispatchmethod
from typing import IO

from archive.research.search import search_indexer
from archive.storage.layout import ArchiveLayout
from archive.storage.records import dumps, validation_errors
from archive.storage.session import ArchiveSession
from crawler.archiver.pages import ParsedPage, parse_page
from crawler.archiver.protocol import (
    ArchiverResult,
    Article,
    Capture,
    Close,
    Failed,
    Gone,
    Listed,
    Open,
    Parsed,
    Unchanged,
    iso_utc,
    receive_message,
    send_message,
)
from crawler.failures import Problem
from crawler.layout_alarm import present_fields
from crawler.processes import peak_rss_mb, tune_gc
from record import ArticleRecord

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class ArticleArchiver:
    """The work of the archiver process, one message at a time (the pipe is :func:`serve`'s).

    It counts what it stores with the same stat names the run summary reads.
    """

    def __init__(self, session: ArchiveSession, max_record_bytes: int, run_id: str = "") -> None:
        self.session = session
        self.max_record_bytes = max_record_bytes
        self.run_id = run_id
        self.stats: Counter[str] = Counter()
        self.problems: list[Problem] = []

    @singledispatchmethod
    def handle(self, message: object) -> None:
        raise ValueError(f"unknown archiver message {type(message).__name__}")

    @handle.register
    def _(self, message: Capture) -> None:
        self.session.add_capture(message.row)

    @handle.register
    def _(self, message: Article) -> None:
        self.parsed(parse_page(message.page))

    @handle.register
    def _(self, message: Parsed) -> None:
        self.parsed(message.outcome)

    @handle.register
    def _(self, message: Unchanged) -> None:
        kind = self.session.mark_unchanged(
            message.url, message.when, run_id=self.run_id, listed=message.listed
        )
        self.count_events([kind] if kind else [])

    @handle.register
    def _(self, message: Listed) -> None:
        self.count_events(self.session.mark_listed(message.urls, message.when, run_id=self.run_id))

    @handle.register
    def _(self, message: Gone) -> None:
        kind = self.session.mark_gone(
            message.url,
            message.when,
            how=message.how,
            location=message.location,
            run_id=self.run_id,
        )
        self.count_events([kind] if kind else [])

    @handle.register
    def _(self, message: Failed) -> None:
        self.session.record_failure(message.url, message.reason, message.detail, message.when)

    def parsed(self, outcome: ParsedPage) -> None:
        """Store the page's record, or report why it has none."""
        try:
            if outcome.record is None:
                self.report(outcome.url, outcome.reason, outcome.detail)
            else:
                if self.store(outcome.url, outcome.record, listed=outcome.listed):
                    self.count_column(outcome)
        except (OSError, sqlite3.Error) as exc:
            # The disk or the catalog refused this record: report it and go
            # on; the next run tries the article again.
            self.report(outcome.url, "store_error", str(exc))

    def store(self, url: str, record: ArticleRecord, *, listed: bool | None = None) -> bool:
        """Store ``record``; False when it was rejected (invalid, too large) and reported."""
        # A record that does not fit the schema is a wrong research result:
        # it is reported, never stored.
        errors = validation_errors(record)
        if errors:
            self.reject(url, "invalid_record", "; ".join(errors[:3]))
            return False
        record_json = dumps(record, indent=None)
        size = len(record_json.encode("utf-8"))
        if size > self.max_record_bytes:
            self.reject(url, "record_too_large", f"{size} bytes > {self.max_record_bytes}")
            return False
        _, result = self.session.store_record(
            record, record_json=record_json, run_id=self.run_id, listed=listed
        )
        self.count_events(result.events)
        outcome = "written" if result.new_version else "unchanged"
        self.stats[f"archive/records_{outcome}"] += 1
        if result.new_version and not result.new_article:
            self.stats["archive/records_edited"] += 1
        self.stats["extract/records"] += 1
        for name in present_fields(record):
            self.stats[f"extract/field_present/{name}"] += 1
        return True

    def count_column(self, outcome: ParsedPage) -> None:
        """Per-column counts of a stored record (``columns/{key}/...``), for the layout alarm."""
        if outcome.column_key is None or outcome.record is None:
            return
        prefix = f"columns/{outcome.column_key}/"
        self.stats[prefix + "records"] += 1
        for name in present_fields(outcome.record):
            self.stats[f"{prefix}field_present/{name}"] += 1

    def count_events(self, kinds: Iterable[str]) -> None:
        """Count events by kind (``events/{kind}``), as the run summary reads them."""
        for kind in kinds:
            self.stats[f"events/{kind}"] += 1

    def reject(self, url: str, reason: str, detail: str) -> None:
        self.stats[f"archive/records_{reason}"] += 1
        self.report(url, reason, detail)

    def report(self, url: str, reason: str, detail: str = "") -> None:
        """An article page that did not become a record: noted for the summary and the next run."""
        earlier = self.session.failure_of(url)
        entry = Problem(url, reason, detail, attempts=1 + (earlier[1] if earlier else 0))
        self.stats[f"crawl/problems/{reason}"] += 1
        self.problems.append(entry)
        logger.warning("Not archived: %s (%s) %s", url, reason, detail)
        if entry.noted_for_next_runs:
            self.session.record_failure(url, reason, detail, iso_utc())

    def close(self) -> ArchiverResult:
        self.session.close()
        return ArchiverResult(
            stats=dict(self.stats),
            problems=self.problems,
            cpu_s=round(time.process_time(), 3),
            peak_rss_mb=peak_rss_mb(),
        )


def open_session(opened: Open) -> ArchiveSession:
    # The crawl process writes the WARC; this session indexes it.
    return ArchiveSession(ArchiveLayout(opened.archive_dir), indexer=search_indexer())


def serve(archiver: ArticleArchiver, inbox: IO[bytes], outbox: IO[bytes]) -> int:
    """Handle messages from ``inbox`` until :class:`Close`; answer on ``outbox``."""
    while True:
        try:
            message = receive_message(inbox)
        except EOFError:
            # The crawl process is gone without a Close: stop as it stopped,
            # leaving the open WARC and the uncommitted batch to recovery.
            os._exit(1)
        if isinstance(message, Close):
            send_message(outbox, archiver.close())
            return 0
        try:
            archiver.handle(message)
        except Exception as exc:
            logger.exception("Archiver stopped on %s", type(message).__name__)
            send_message(outbox, ArchiverResult(error=f"{type(exc).__name__}: {exc}"))
            return 1


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this process when the crawl process dies (no-op elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before the prctl
        os._exit(1)


def main(argv: list[str] | None = None) -> int:
    """The archiver process: ``python -m crawler.archiver PARENT_PID``.

    Its ``__main__`` has already set SIGINT and SIGTERM to be ignored.
    """
    args = sys.argv[1:] if argv is None else argv
    _die_with_parent(int(args[0]) if args else os.getppid())
    inbox, outbox = sys.stdin.buffer, sys.stdout.buffer
    # Anything else printing to stdout would corrupt the answer.
    sys.stdout = sys.stderr
    opened = receive_message(inbox)
    if not isinstance(opened, Open):
        raise SystemExit(f"archiver: expected Open first, got {type(opened).__name__}")
    logging.basicConfig(
        level=opened.log_level,
        format="%(asctime)s [%(name)s] %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    tune_gc()
    archiver = ArticleArchiver(open_session(opened), opened.max_record_bytes, opened.run_id)
    return serve(archiver, inbox, outbox)
