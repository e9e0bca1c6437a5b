"""The archiver: a second process that parses and stores what the crawl fetched.

Scrapy's process downloads and writes the WARC (it has the bytes, and a WARC
record must be on disk before anything points at it); on a busy crawl the
rest of the work after a page arrives (parsing the article, checking the
record, the JSON file, the catalog rows, the search index) took longer than
Scrapy itself, on the same core. The archiver does that work in its own
process, so a crawl uses two cores. It owns the run's
:class:`archive.session.ArchiveSession`: the one writer of the catalog and
the record store.

The crawl process talks to it over a one-way pipe (``python -m
crawler.archiver`` reads its standard input), in order:

* ``capture``: the catalog row of each WARC response or revisit record;
* ``article``: an article page (:class:`ArticlePage`) to parse and store,
  with the WARC pointer of its response;
* ``unchanged`` and ``failure``: catalog notes from the spider;
* ``parsed``: instead of ``article``, what :func:`parse_page` made of a page
  the crawl process parsed itself because the archiver was behind
  (``Archiver.submit_article``);
* ``close``: finish what is queued, commit, and answer with an
  :class:`ArchiverResult` (counters and problems) on standard output.

A full pipe makes the crawl wait, so a slow disk slows the crawl instead of
filling memory. If the crawl process dies, the archiver dies with it (parent
death signal, and end of its input without ``close``) without finishing
anything, as a single process killed at that moment would: the next run
recovers. The catalog the crawl reads to decide what to fetch is a read-only
connection of its own (:class:`archive.session.ArchiveReader`).
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import fcntl
import logging
import os
import pickle
import resource
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from archive.storage import catalog
from archive.storage.layout import ArchiveLayout
from archive.storage.records import dumps, validation_errors
from archive.storage.session import ArchiveReader, ArchiveSession, PreviousCapture, archive_exchange
from archive.storage.warc import HttpExchange, RotatingWarcWriter, WrittenExchange
from crawler.problems import iso_utc, problem, retry_next_run
from record import ArticleRecord, WarcLocation

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

    from crawler.extract import ListingItem

logger = logging.getLogger(__name__)

# Bigger than the default 64 KiB so the crawl can run a few pages ahead.
_PIPE_BYTES = 1024 * 1024
# Past this many unread bytes (some eight article pages) the crawl process
# parses pages itself (setting UIR_NEWS_ARCHIVER_BACKLOG_BYTES). Measured on
# 2,000 pages: at 1 MiB (only when the pipe is full) it parsed none and the
# crawl took 8.6 s; at 256 KiB it parsed about half, both processes were busy
# and the crawl took 6.4-7.1 s; 64 KiB was slower.
_BACKLOG_BYTES = 256 * 1024
_HEADER = struct.Struct("!Q")
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ArchiverConfig:
    """What the archiver process needs to open the archive, from the Scrapy settings."""

    archive_dir: Path
    warc_prefix: str
    warc_max_size: int
    warcinfo: dict[str, str]
    max_record_bytes: int
    log_level: str

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ArchiverConfig:
        from crawler.config import archive_dir_from_settings

        return cls(
            archive_dir=archive_dir_from_settings(settings),
            warc_prefix=settings.get("UIR_NEWS_WARC_PREFIX", "UIRNEWS"),
            warc_max_size=settings.getint("UIR_NEWS_WARC_MAX_SIZE", 1_000_000_000),
            warcinfo={
                "software": "uir-news (Scrapy, warcio)",
                "http-header-user-agent": settings.get("USER_AGENT", ""),
                "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                "isPartOf": "uir-news 国关要闻",
                "description": "Snapshots of the 国关要闻 column of 国际关系学院",
            },
            max_record_bytes=settings.getint("UIR_NEWS_MAX_RECORD_BYTES", 2 * 1024 * 1024),
            log_level=str(settings.get("LOG_LEVEL", "INFO")),
        )


@dataclass(frozen=True)
class ArticlePage:
    """An article page as fetched: the item the spider yields, parsed by the archiver."""

    url: str
    warc: WarcLocation
    fetched_at: str
    body: bytes = field(repr=False)
    listing: ListingItem | None = None
    page_url: str | None = None
    view_count: int | None = None


@dataclass
class ArchiverResult:
    """The archiver's answer at close: what it counted, and what it could not archive."""

    stats: dict[str, int] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    error: str | None = None


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- framing -------------------------------------------------------------------


def send_message(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def receive_message(stream: IO[bytes]) -> Any:
    """The next message, or raise EOFError at a clean end of the stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("end of messages")
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("message cut short")
    return pickle.loads(data)


# -- the archiver process ---------------------------------------------------------


class ArticleArchiver:
    """The work of the archiver process, one message at a time (the pipe is ``serve``'s).

    It counts what it stores with the same stat names the run summary reads.
    """

    def __init__(self, session: ArchiveSession, max_record_bytes: int) -> None:
        self.session = session
        self.max_record_bytes = max_record_bytes
        self.stats: Counter[str] = Counter()
        self.problems: list[dict[str, Any]] = []

    def parsed(self, outcome: ParsedPage) -> None:
        """Store the page's record, or report why it has none."""
        if outcome.record is None:
            self.report(outcome.url, outcome.reason, outcome.detail)
        else:
            self.store(outcome.url, outcome.record)

    def store(self, url: str, record: ArticleRecord) -> None:
        from crawler.layout_alarm import present_fields

        # A record that does not fit the schema is a wrong research result:
        # it is reported, never stored.
        errors = validation_errors(record)
        if errors:
            self.reject(url, "invalid_record", "; ".join(errors[:3]))
            return
        record_json = dumps(record, indent=None)
        size = len(record_json.encode("utf-8"))
        if size > self.max_record_bytes:
            self.reject(url, "record_too_large", f"{size} bytes > {self.max_record_bytes}")
            return
        _, result = self.session.store_record(record, record_json=record_json)
        outcome = "written" if result.new_version else "unchanged"
        self.stats[f"archive/records_{outcome}"] += 1
        if result.new_version and not result.new_article:
            self.stats["archive/records_edited"] += 1
        self.stats["extract/records"] += 1
        for name in present_fields(record):
            self.stats[f"extract/field_present/{name}"] += 1

    def reject(self, url: str, reason: str, detail: str) -> None:
        self.stats[f"archive/records_{reason}"] += 1
        self.report(url, reason, detail)

    def report(self, url: str, reason: str, detail: str = "") -> None:
        """An article page that did not become a record: noted for the summary and the next run."""
        entry = problem(url, reason, detail)
        self.stats[f"crawl/problems/{reason}"] += 1
        self.problems.append(entry)
        logger.warning("Not archived: %s (%s) %s", url, reason, detail)
        if retry_next_run(entry):
            self.session.record_failure(url, reason, detail, iso_utc())

    def handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "capture":
            self.session.add_capture(message[1])
        elif kind in ("article", "parsed"):
            outcome: ParsedPage = parse_page(message[1]) if kind == "article" else message[1]
            try:
                self.parsed(outcome)
            except (OSError, sqlite3.Error) as exc:
                # The disk or the catalog refused this record: report it and go
                # on; the next run tries the article again.
                self.report(outcome.url, "store_error", str(exc))
        elif kind == "unchanged":
            self.session.mark_unchanged(*message[1:])
        elif kind == "failure":
            self.session.record_failure(*message[1:])
        else:
            raise ValueError(f"unknown archiver message {kind!r}")

    def close(self) -> ArchiverResult:
        self.session.close()
        return ArchiverResult(
            stats=dict(self.stats),
            problems=self.problems,
            cpu_s=round(time.process_time(), 3),
            peak_rss_mb=peak_rss_mb(),
        )


@dataclass(frozen=True)
class ParsedPage:
    """What became of an article page: its record, or why it has none."""

    url: str
    record: ArticleRecord | None
    reason: str = ""
    detail: str = ""


def parse_page(page: ArticlePage) -> ParsedPage:
    """The record of an article page with what the crawl knows, or the reason it has none.

    The same in either process. A page that is not an article gets the
    extractor's reason; a parser exception on one page is reported as
    ``parse_error`` (the traceback goes to the log) instead of stopping the run.
    """
    from crawler.extract import NotAnArticle, merge_listing, parse_article

    try:
        article = parse_article(page.body, page.url)
    except NotAnArticle as exc:
        return ParsedPage(page.url, None, exc.reason)
    except Exception as exc:
        logger.exception("Could not parse %s", page.url)
        return ParsedPage(page.url, None, "parse_error", f"{type(exc).__name__}: {exc}")
    record = ArticleRecord(**article, listing=None, fetched_at=page.fetched_at, warc=page.warc)
    if page.listing is not None and page.page_url is not None:
        record = merge_listing(record, page.listing, page.page_url)
    if page.view_count is not None:
        record["view_count"] = page.view_count
    return ParsedPage(page.url, record)


def open_session(config: ArchiverConfig) -> ArchiveSession:
    from archive.research.search import search_indexer

    # The crawl process writes the WARC; this session indexes it.
    return ArchiveSession(ArchiveLayout(config.archive_dir), indexer=search_indexer())


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this process when the crawl process dies (no-op elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before the prctl
        os._exit(1)


def serve(config: ArchiverConfig, inbox: IO[bytes], outbox: IO[bytes]) -> int:
    """Handle messages from ``inbox`` until ``close``; answer on ``outbox``."""
    archiver = ArticleArchiver(open_session(config), config.max_record_bytes)
    while True:
        try:
            message = receive_message(inbox)
        except EOFError:
            # The crawl process is gone without a close: stop as it stopped,
            # leaving the open WARC and the uncommitted batch to recovery.
            os._exit(1)
        if message[0] == "close":
            send_message(outbox, archiver.close())
            return 0
        try:
            archiver.handle(message)
        except Exception as exc:
            logger.exception("Archiver stopped on %s", message[0])
            send_message(outbox, ArchiverResult(error=f"{type(exc).__name__}: {exc}"))
            return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    _die_with_parent(int(args[0]) if args else os.getppid())
    # Ctrl-C in a terminal (or a stop signal to the whole process group) is
    # for the crawl process, which shuts down cleanly and then sends "close";
    # this process ends by that, by the end of its input, or with its parent.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    inbox, outbox = sys.stdin.buffer, sys.stdout.buffer
    # Anything else printing to stdout would corrupt the answer.
    sys.stdout = sys.stderr
    config: ArchiverConfig = receive_message(inbox)
    logging.basicConfig(
        level=config.log_level,
        format="%(asctime)s [%(name)s] %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    from crawler.gc_tuning import tune_gc

    tune_gc()
    return serve(config, inbox, outbox)


# -- the crawl process's side --------------------------------------------------------


class Archiver(ArchiveReader):
    """The crawl process's side: WARC writer, handle on the archiver process, catalog reader."""

    def __init__(self, config: ArchiverConfig) -> None:
        self.layout = layout = ArchiveLayout(config.archive_dir)
        layout.create()
        self.writer = RotatingWarcWriter(
            layout.warc_dir,
            prefix=config.warc_prefix,
            max_size=config.warc_max_size,
            warcinfo=config.warcinfo,
            # Index lines noted as records are written: the CDXJ update at the
            # end of the run then need not read the WARC back.
            index_notes_dir=layout.index_notes_dir,
        )
        # Connect (creating the schema) before the archiver starts writing.
        super().__init__(catalog.connect(layout.catalog_path))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crawler.archiver", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._inbox: IO[bytes] = self.process.stdin
        self._outbox: IO[bytes] = self.process.stdout
        # A smaller pipe (where this fails, or off Linux) only means less read-ahead.
        set_pipe_size = getattr(fcntl, "F_SETPIPE_SZ", None)
        if set_pipe_size is not None:
            with contextlib.suppress(OSError):
                fcntl.fcntl(self._inbox.fileno(), set_pipe_size, _PIPE_BYTES)
        self.failed: str | None = None
        self.backlog_bytes = _BACKLOG_BYTES
        #: Called once when the archiver turns out to be gone (the crawl stops).
        self.on_failure: Callable[[], None] = lambda: None
        self._send(config)

    def _send(self, message: Any) -> None:
        """Send, or once the archiver is gone, drop: the run is failed already."""
        if self.failed is not None:
            return
        try:
            send_message(self._inbox, message)
        except OSError as exc:
            self.failed = f"archiver process ended ({exc})"
            self.on_failure()

    def write_exchange(
        self, exchange: HttpExchange, *, revisit_of: PreviousCapture | None = None
    ) -> WrittenExchange:
        """Write one fetch to the WARC (a revisit of ``revisit_of`` when given); index it."""
        written, capture = archive_exchange(
            self.writer, exchange, revisit_of=revisit_of, not_modified=exchange.status == 304
        )
        self._send(("capture", capture))
        return written

    def submit_article(self, page: ArticlePage) -> bool:
        """Hand ``page`` to the archiver; True when it was parsed here instead.

        When the archiver is behind (more than ``backlog_bytes`` unread), this
        process parses the page itself (the same pure function) and sends the
        record: the crawl's core has time to spare whenever the archiver is
        the bottleneck, and the two processes share the parsing by need.
        """
        if self.failed is not None or not self._behind():
            self._send(("article", page))
            return False
        self._send(("parsed", parse_page(page)))
        return True

    def _behind(self) -> bool:
        """True when the archiver has more than ``backlog_bytes`` of messages still to read."""
        unread = array.array("i", [0])
        try:
            fcntl.ioctl(self._inbox.fileno(), termios.FIONREAD, unread)
        except OSError:
            return False  # cannot tell: send the page; a full pipe still holds the crawl back
        return unread[0] > self.backlog_bytes

    def mark_unchanged(self, url: str, when: str) -> None:
        self._send(("unchanged", url, when))

    def record_failure(self, url: str, reason: str, detail: str, when: str) -> None:
        self._send(("failure", url, reason, detail, when))

    def close(self, meanwhile: Callable[[], None] | None = None) -> ArchiverResult:
        """Close the WARC; let the archiver finish everything queued; its counters and problems.

        ``meanwhile`` runs here after the WARC is closed, while the archiver
        works through what is still queued and commits.
        """
        result: ArchiverResult
        self._send(("close",))
        with contextlib.suppress(OSError):  # it stopped by itself; its answer says why
            self._inbox.close()
        closed = self.writer.close()
        if closed is not None:
            logger.info("Closed WARC %s", closed)
        if meanwhile is not None:
            meanwhile()
        try:
            result = receive_message(self._outbox)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            result = ArchiverResult(error=self.failed or f"archiver process ended ({exc})")
        finally:
            self._outbox.close()
            self.conn.close()
        code = self.process.wait()
        if code != 0 and result.error is None:
            result.error = f"archiver process exited with status {code}"
        return result


if __name__ == "__main__":
    # Run from the imported module, not __main__, so the classes it pickles
    # back to the crawl process have their real names.
    from crawler.archiver import main as archiver_main

    sys.exit(archiver_main())
