"""What the crawl process and the archiver process say to each other, and how.

The crawl process writes messages to the archiver's standard input, in order:
:class:`Open` first, then any number of :class:`Capture`, :class:`Article`,
:class:`Parsed`, :class:`Unchanged`, :class:`Listed`, :class:`Gone` and
:class:`Failed`, and :class:`Close` last, which the archiver answers with one
:class:`ArchiverResult` on its standard output. Each message is a frozen
dataclass, one class per kind.

Framing: an 8-byte big-endian length, then that many bytes of pickle. Pickles
name classes by module, so everything sent is defined in an importable module
(never ``__main__``) that both processes import.
"""

from __future__ import annotations

import pickle
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from archive.storage.catalog import Capture as CaptureRow
    from crawler.archiver.pages import ArticlePage, ParsedPage
    from crawler.failures import Problem

_HEADER = struct.Struct("!Q")


def iso_utc(when: datetime | None = None) -> str:
    """``when`` (default: now) as the archive writes times: UTC, to the second, ``Z``."""
    return (when or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Open:
    """First message: the archive to open, and how the archiver should behave."""

    archive_dir: Path
    max_record_bytes: int
    log_level: str
    #: The run's id, written with each event the archiver records.
    run_id: str = ""


@dataclass(frozen=True)
class Capture:
    """Index one WARC response or revisit record (already on disk) as a capture."""

    row: CaptureRow


@dataclass(frozen=True)
class Article:
    """Parse this article page and store its record."""

    page: ArticlePage


@dataclass(frozen=True)
class Parsed:
    """Store what the crawl process made of a page it parsed itself (the archiver was behind)."""

    outcome: ParsedPage


@dataclass(frozen=True)
class Unchanged:
    """A re-checked article came back unchanged (a revisit) at ``when``.

    ``listed``: whether this run saw it on a listing page (True), walked the
    whole listing without it (False), or cannot tell (None).
    """

    url: str
    when: str
    listed: bool | None = None


@dataclass(frozen=True)
class Listed:
    """Archived articles seen on a listing page at ``when`` (an unlisted one is restored)."""

    urls: tuple[str, ...]
    when: str


@dataclass(frozen=True)
class Gone:
    """An archived article answered 404 or 410, or redirected away: it was taken down.

    ``how`` is ``http_404``, ``http_410`` or ``redirect`` (to ``location``).
    Not a failure: the archiver notes a ``removed`` event, nothing is retried.
    """

    url: str
    when: str
    how: str
    location: str | None = None


@dataclass(frozen=True)
class Failed:
    """An article page could not be archived: note it so the next runs try it again."""

    url: str
    reason: str
    detail: str
    when: str


@dataclass(frozen=True)
class Close:
    """Finish what is queued, commit, answer with an :class:`ArchiverResult`, and exit."""


Message = Open | Capture | Article | Parsed | Unchanged | Listed | Gone | Failed | Close


@dataclass
class ArchiverResult:
    """The archiver's answer to :class:`Close`: its counters, what it could not archive."""

    stats: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    error: str | None = None


def send_message(stream: IO[bytes], message: Message | ArchiverResult) -> None:
    """Write one framed message and flush it (blocks while the pipe is full)."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def receive_message(stream: IO[bytes]) -> object:
    """The next message, or raise EOFError at the end of the stream or a message cut short."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("end of messages")
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("message cut short")
    message: object = pickle.loads(data)
    return message
