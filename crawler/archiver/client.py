"""The crawl process's side of the archiver: WARC writer, catalog reader, pipe to the archiver.

:class:`ArchiverClient` holds three things by composition: the
:class:`~archive.storage.warc.RotatingWarcWriter` (this process has the
bytes, and a WARC record is on disk before anything points at it), a
read-only :class:`~archive.storage.session.ArchiveReader` of the catalog
(its own connection; WAL mode, so it never blocks the archiver's writes),
and the pipe to the archiver process, to which it sends typed messages
(:mod:`crawler.archiver.protocol`).

A full pipe makes the crawl wait, so a slow disk slows the crawl instead of
filling memory. When the archiver has more than ``backlog_bytes`` unread,
this process parses article pages itself (:func:`submit_article`).
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import logging
import os
import pickle
import subprocess
import sys
import termios
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from archive.storage import catalog
from archive.storage.layout import ArchiveLayout
from archive.storage.session import ArchiveReader, PreviousCapture, archive_exchange
from archive.storage.warc import HttpExchange, RotatingWarcWriter, WrittenExchange
from crawler.archiver.pages import ArticlePage, parse_page
from crawler.archiver.protocol import (
    ArchiverResult,
    Article,
    Capture,
    Close,
    Failed,
    Gone,
    Listed,
    Message,
    Open,
    Parsed,
    Unchanged,
    receive_message,
    send_message,
)

logger = logging.getLogger(__name__)

# Bigger than the default 64 KiB so the crawl can run a few pages ahead.
_PIPE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ArchiverConfig:
    """Everything needed to start the archiver for one archive (built from the settings)."""

    archive_dir: Path
    warc_prefix: str
    warc_max_size: int
    warc_continue_below: int
    warcinfo: dict[str, str]
    max_record_bytes: int
    #: Parse in the crawl process past this many unread bytes (-1: always).
    backlog_bytes: int
    log_level: str


def _child_env() -> dict[str, str]:
    """The environment of the archiver: this code's own location first on its path.

    Under scrapyd the crawl runs from a deployed egg that ``sys.path`` names
    but ``PYTHONPATH`` does not; the archiver must parse with the same code.
    """
    env = dict(os.environ)
    home = str(Path(__file__).resolve().parents[2])  # .../crawler/archiver/client.py
    env["PYTHONPATH"] = os.pathsep.join(p for p in (home, env.get("PYTHONPATH")) if p)
    return env


class ArchiverClient:
    """The crawl process's handle on the archive during a run (see the module docstring).

    Build it with :meth:`start`; the constructor only takes the parts, so a
    test can hand it a pipe of its own.
    """

    def __init__(
        self,
        writer: RotatingWarcWriter,
        reader: ArchiveReader,
        process: subprocess.Popen[bytes],
        *,
        backlog_bytes: int,
    ) -> None:
        self.writer = writer
        self.reader = reader
        self.process = process
        assert process.stdin is not None and process.stdout is not None
        self._inbox: IO[bytes] = process.stdin
        self._outbox: IO[bytes] = process.stdout
        self.backlog_bytes = backlog_bytes
        #: Why the archiver is gone, once it is (messages are then dropped).
        self.failed: str | None = None
        #: Called once when the archiver turns out to be gone (the crawl stops).
        self.on_failure: Callable[[], None] = lambda: None

    @classmethod
    def start(cls, config: ArchiverConfig, run_id: str = "") -> ArchiverClient:
        """Open the WARC writer and the catalog, then start ``python -m crawler.archiver``."""
        layout = ArchiveLayout(config.archive_dir)
        layout.create()
        writer = RotatingWarcWriter(
            layout.warc_dir,
            prefix=config.warc_prefix,
            max_size=config.warc_max_size,
            continue_below=config.warc_continue_below,
            warcinfo=config.warcinfo,
            # Index lines noted as records are written: the CDXJ update at the
            # end of the run then need not read the WARC back.
            index_notes_dir=layout.index_notes_dir,
        )
        # Connect (creating the schema) before the archiver starts writing.
        reader = ArchiveReader(catalog.connect(layout.catalog_path))
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler.archiver", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_child_env(),
        )
        assert process.stdin is not None
        # A smaller pipe (where this fails, or off Linux) only means less read-ahead.
        set_pipe_size = getattr(fcntl, "F_SETPIPE_SZ", None)
        if set_pipe_size is not None:
            with contextlib.suppress(OSError):
                fcntl.fcntl(process.stdin.fileno(), set_pipe_size, _PIPE_BYTES)
        client = cls(writer, reader, process, backlog_bytes=config.backlog_bytes)
        client.send(Open(config.archive_dir, config.max_record_bytes, config.log_level, run_id))
        return client

    def send(self, message: Message) -> None:
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
        self.send(Capture(capture))
        return written

    def submit_article(self, page: ArticlePage) -> bool:
        """Hand ``page`` to the archiver; True when it was parsed here instead.

        When the archiver is behind (more than ``backlog_bytes`` unread), this
        process parses the page itself (the same pure function) and sends the
        record: the crawl's core has time to spare whenever the archiver is
        the bottleneck, and the two processes share the parsing by need.
        """
        if self.failed is not None or not self.behind():
            self.send(Article(page))
            return False
        self.send(Parsed(parse_page(page)))
        return True

    def behind(self) -> bool:
        """True when the archiver has more than ``backlog_bytes`` of messages still to read."""
        unread = array.array("i", [0])
        try:
            fcntl.ioctl(self._inbox.fileno(), termios.FIONREAD, unread)
        except OSError:
            return False  # cannot tell: send the page; a full pipe still holds the crawl back
        return unread[0] > self.backlog_bytes

    def mark_unchanged(self, url: str, when: str, listed: bool | None = None) -> None:
        self.send(Unchanged(url, when, listed))

    def mark_listed(self, urls: list[str], when: str) -> None:
        """Archived articles seen on a listing page (one message per page)."""
        if urls:
            self.send(Listed(tuple(urls), when))

    def mark_gone(self, url: str, when: str, how: str, location: str | None = None) -> None:
        """An archived article was taken down (404, 410, redirect away): a ``removed`` event."""
        self.send(Gone(url, when, how, location))

    def record_failure(self, url: str, reason: str, detail: str, when: str) -> None:
        self.send(Failed(url, reason, detail, when))

    def close(self, meanwhile: Callable[[], None] | None = None) -> ArchiverResult:
        """Close the WARC; let the archiver finish everything queued; its counters and problems.

        ``meanwhile`` runs here after the WARC is closed, while the archiver
        works through what is still queued and commits.
        """
        self.send(Close())
        with contextlib.suppress(OSError):  # it stopped by itself; its answer says why
            self._inbox.close()
        closed = self.writer.close()
        if closed is not None:
            logger.info("Closed WARC %s", closed)
        if meanwhile is not None:
            meanwhile()
        result: ArchiverResult
        try:
            answer = receive_message(self._outbox)
            if not isinstance(answer, ArchiverResult):
                raise EOFError(f"unexpected answer {type(answer).__name__}")
            result = answer
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            result = ArchiverResult(error=self.failed or f"archiver process ended ({exc})")
        finally:
            self._outbox.close()
            self.reader.conn.close()
        code = self.process.wait()
        if code != 0 and result.error is None:
            result.error = f"archiver process exited with status {code}"
        return result
