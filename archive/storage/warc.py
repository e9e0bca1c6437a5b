"""WARC snapshots: building records, writing rotating files, reading them back.

Building a record is kept apart from writing it (as in warcio itself): the
:class:`RecordFactory` turns one HTTP exchange into warcio records, with the
clock and record ids injectable so tests can compare bytes; the
:class:`RotatingWarcWriter` appends records to ``*.warc.gz.open`` files, one
gzip member per record, and renames each file to ``*.warc.gz`` when it is
closed. A pointer (file, offset, length) to every response record is returned
so records can point at exactly what the server sent.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date, iso_date_to_timestamp
from warcio.warcwriter import WARCWriter

WARC_SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"
#: Suffix of the index notes kept beside a WARC as it is written (see ``index_notes_dir``).
NOTES_SUFFIX = ".cdxj-notes"

Headers = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class WarcPointer:
    """Where one record sits: a closed WARC file's name, byte offset and length."""

    file: str
    offset: int
    length: int

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "offset": self.offset, "length": self.length}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WarcPointer:
        return cls(str(data["file"]), int(data["offset"]), int(data["length"]))


@dataclass(frozen=True)
class HttpExchange:
    """One request and the response the server sent for it, bytes as on the wire.

    ``response_body`` is the entity body before any content decoding (a gzip
    body stays gzip), so the WARC holds what the server sent.
    """

    url: str
    method: str
    request_headers: Headers
    status: int
    response_headers: Headers
    response_body: bytes
    fetched_at: datetime
    request_body: bytes = b""
    protocol: str = "HTTP/1.1"
    reason: str | None = None
    remote_ip: str | None = None


@dataclass(frozen=True)
class WrittenExchange:
    """Pointers to the response and request records of one exchange."""

    response: WarcPointer
    request: WarcPointer
    record_id: str
    payload_digest: str
    warc_date: str


def _status_reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


# Hop-by-hop framing the HTTP client already undid: the body we hold is not
# chunked any more, so keeping the header would make readers dechunk it again.
# Renamed the way pywb and warcprox do, so nothing the server said is lost.
_FRAMING_HEADERS = {"transfer-encoding"}


def _archived_response_headers(headers: Headers) -> list[tuple[str, str]]:
    result = []
    for name, value in headers:
        if name.lower() in _FRAMING_HEADERS:
            name = "X-Archive-Orig-" + name
        result.append((name, value))
    return result


@dataclass
class RecordFactory:
    """Builds warcio records for HTTP exchanges; clock and ids are injectable."""

    warc_version: str = "1.1"
    make_record_id: Callable[[], str] | None = None
    _builder: RecordBuilder = field(init=False)

    def __post_init__(self) -> None:
        self._builder = RecordBuilder(warc_version=self.warc_version)

    def _warc_headers(self, when: datetime, extra: Mapping[str, str]) -> dict[str, str]:
        headers = {"WARC-Date": warc_date(when)}
        if self.make_record_id is not None:
            headers["WARC-Record-ID"] = self.make_record_id()
        headers.update(extra)
        return headers

    def warcinfo(self, filename: str, info: Mapping[str, str]) -> Any:
        return self._builder.create_warcinfo_record(filename, dict(info))

    @staticmethod
    def _http_response_headers(exchange: HttpExchange) -> StatusAndHeaders:
        reason = exchange.reason or _status_reason(exchange.status)
        return StatusAndHeaders(
            f"{exchange.status} {reason}",
            _archived_response_headers(exchange.response_headers),
            protocol=exchange.protocol,
        )

    def response(self, exchange: HttpExchange) -> Any:
        http_headers = self._http_response_headers(exchange)
        extra = {}
        if exchange.remote_ip:
            extra["WARC-IP-Address"] = exchange.remote_ip
        return self._builder.create_warc_record(
            exchange.url,
            "response",
            payload=io.BytesIO(exchange.response_body),
            length=len(exchange.response_body),
            http_headers=http_headers,
            warc_headers_dict=self._warc_headers(exchange.fetched_at, extra),
        )

    def revisit(
        self,
        exchange: HttpExchange,
        *,
        refers_to_uri: str,
        refers_to_date: str,
        refers_to_id: str,
        payload_digest: str,
        not_modified: bool,
    ) -> Any:
        """A revisit record for an unchanged fetch: HTTP headers kept, payload not.

        ``not_modified`` (the server answered 304) selects the
        server-not-modified profile, otherwise identical-payload-digest.
        """
        http_headers = self._http_response_headers(exchange)
        record = self._builder.create_revisit_record(
            exchange.url,
            payload_digest,
            refers_to_uri,
            refers_to_date,
            http_headers=http_headers,
            warc_headers_dict=self._warc_headers(exchange.fetched_at, {}),
        )
        record.rec_headers.add_header("WARC-Refers-To", refers_to_id)
        profile = REVISIT_NOT_MODIFIED if not_modified else REVISIT_IDENTICAL
        record.rec_headers.replace_header("WARC-Profile", profile)
        return record

    def request(self, exchange: HttpExchange, concurrent_to: str) -> Any:
        parts = urlsplit(exchange.url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        headers = list(exchange.request_headers)
        if not any(name.lower() == "host" for name, _ in headers):
            headers.insert(0, ("Host", parts.netloc))
        http_headers = StatusAndHeaders(
            f"{exchange.method} {target} {exchange.protocol}",
            headers,
            is_http_request=True,
        )
        return self._builder.create_warc_record(
            exchange.url,
            "request",
            payload=io.BytesIO(exchange.request_body),
            length=len(exchange.request_body),
            http_headers=http_headers,
            warc_headers_dict=self._warc_headers(
                exchange.fetched_at, {"WARC-Concurrent-To": concurrent_to}
            ),
        )


REVISIT_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
REVISIT_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"


def warc_date(when: datetime) -> str:
    """The WARC-Date of a fetch at ``when`` (UTC, microseconds when non-zero)."""
    return str(datetime_to_iso_date(_naive_utc(when), use_micros=True))


def _naive_utc(when: datetime) -> datetime:
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.replace(tzinfo=None)


def _safe_host() -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:63] or "host"


def warc_file_name(prefix: str, stamp: str, serial: int, pid: int, host: str) -> str:
    """``{prefix}-{timestamp}-{serial}-{pid}-{host}.warc.gz``, unique per host and process.

    The process id keeps two crawls started in the same millisecond on one
    machine (scrapyd runs several jobs at once) from choosing one name, so
    shards of one crawl can be merged into one directory; Heritrix and
    Brozzler name their files the same way. Older archives' names, without
    the pid, are read as before: nothing parses a name.
    """
    return f"{prefix}-{stamp}-{serial:05d}-{pid}-{host}{WARC_SUFFIX}"


class RotatingWarcWriter:
    """Appends records to gzip WARC files that rotate at ``max_size`` bytes.

    Files are written as ``NAME.warc.gz.open`` and renamed to ``NAME.warc.gz``
    when closed (on rotation or :meth:`close`). Each record is flushed before
    its pointer is returned, so a pointer never refers to bytes still buffered
    in this process. A warcinfo record starts every file, and every run's part
    of a file.

    With ``continue_below``, a run goes on writing the newest closed file when
    it is smaller than that, instead of starting one: a cron job that finds
    nothing new then adds a few kilobytes to one file rather than leaving a
    tiny file every few hours. Only a file exactly as its writer closed it is
    continued (its index notes record its size), records are only ever
    appended, so every earlier pointer stays valid, and a kill while appending
    is repaired like any ``.open`` file: cut after its last whole record.
    """

    def __init__(
        self,
        directory: Path,
        *,
        prefix: str = "UIRNEWS",
        max_size: int = 1_000_000_000,
        warcinfo: Mapping[str, str] | None = None,
        factory: RecordFactory | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        index_notes_dir: Path | None = None,
        continue_below: int = 0,
    ) -> None:
        if max_size <= 0:
            raise ValueError("max_size must be positive")
        self.directory = directory
        self.prefix = re.sub(r"[^A-Za-z0-9_-]", "-", prefix) or "WARC"
        self.max_size = max_size
        self.info = dict(warcinfo or {})
        self.factory = factory or RecordFactory()
        self.clock = clock
        self.closed_files: list[Path] = []
        self.bytes_written = 0
        self._serial = 0
        self._fh: IO[bytes] | None = None
        self._name: str | None = None
        self._writer: WARCWriter | None = None
        self._records_in_file = 0
        self.index_notes_dir = index_notes_dir
        # Only the first file of a run may be a continued one.
        self.continue_below = continue_below if index_notes_dir is not None else 0
        self._notes: IO[str] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        if index_notes_dir is not None:
            index_notes_dir.mkdir(parents=True, exist_ok=True)

    @property
    def current_name(self) -> str | None:
        """Final name of the file being written, or None when none is open."""
        return self._name

    def _continue_last(self) -> bool:
        """Reopen the newest closed file for appending, if it is small and intact."""
        below, self.continue_below = self.continue_below, 0
        assert self.index_notes_dir is not None
        last = next(
            (p for p in reversed(list_warcs(self.directory)) if p.name.startswith(self.prefix)),
            None,
        )
        if last is None or last.stat().st_size >= below:
            return False
        notes = self.index_notes_dir / (last.name + NOTES_SUFFIX)
        size_line = notes_describe(last, notes)
        if size_line is None:
            return False  # no notes, or the file changed since it was closed: start anew
        # Notes first: a kill between the two renames leaves a closed WARC and
        # unfinished notes, which the index update drops (it reads the file).
        open_notes = notes.with_name(notes.name + OPEN_SUFFIX)
        os.replace(notes, open_notes)
        with open(open_notes, "r+b") as fh:
            fh.truncate(size_line[0])  # the "# size" line goes; it is written again at close
        open_path = self.directory / (last.name + OPEN_SUFFIX)
        os.replace(last, open_path)
        self._fh = open(open_path, "ab")  # noqa: SIM115 - kept open across calls
        self._name = last.name
        self._notes = open(open_notes, "a", encoding="ascii", newline="\n")  # noqa: SIM115
        self._writer = WARCWriter(self._fh, gzip=True, warc_version=self.factory.warc_version)
        self._records_in_file = 0
        return True

    def _open(self) -> None:
        if self.continue_below and self._continue_last():
            self._append(self.factory.warcinfo(self._name or "", self._info()))
            return
        stamp = self.clock().strftime("%Y%m%d%H%M%S%f")[:17]
        while True:
            name = warc_file_name(self.prefix, stamp, self._serial, os.getpid(), _safe_host())
            self._serial += 1
            try:
                fh = open(self.directory / (name + OPEN_SUFFIX), "xb")  # noqa: SIM115 - kept open across calls
            except FileExistsError:
                continue
            break
        self._fh, self._name = fh, name
        if self.index_notes_dir is not None:
            notes = self.index_notes_dir / (name + NOTES_SUFFIX + OPEN_SUFFIX)
            self._notes = open(notes, "w", encoding="ascii", newline="\n")  # noqa: SIM115 - kept open across calls
        self._writer = WARCWriter(fh, gzip=True, warc_version=self.factory.warc_version)
        self._records_in_file = 0
        self._append(self.factory.warcinfo(name, self._info()))

    def _info(self) -> dict[str, str]:
        info = {"software": "uir-news", "format": "WARC File Format 1.1"}
        info.update(self.info)
        return info

    def _append(self, record: Any) -> WarcPointer:
        assert self._fh is not None and self._writer is not None and self._name
        offset = self._fh.tell()
        self._writer.write_record(record)
        self._fh.flush()
        end = self._fh.tell()
        self.bytes_written += end - offset
        self._records_in_file += 1
        return WarcPointer(self._name, offset, end - offset)

    def _ensure_room(self) -> None:
        if self._fh is not None and self._fh.tell() >= self.max_size:
            self.close()
        if self._fh is None:
            self._open()

    def write_exchange(self, exchange: HttpExchange) -> WrittenExchange:
        """Write the response record, then its request record, to the same file."""
        self._ensure_room()
        response = self.factory.response(exchange)
        digest = response.rec_headers.get_header("WARC-Payload-Digest")
        return self._append_with_request(response, exchange, digest)

    def write_revisit(
        self,
        exchange: HttpExchange,
        *,
        refers_to_uri: str,
        refers_to_date: str,
        refers_to_id: str,
        payload_digest: str,
        not_modified: bool,
    ) -> WrittenExchange:
        """Write a revisit record (see :meth:`RecordFactory.revisit`) and its request."""
        self._ensure_room()
        revisit = self.factory.revisit(
            exchange,
            refers_to_uri=refers_to_uri,
            refers_to_date=refers_to_date,
            refers_to_id=refers_to_id,
            payload_digest=payload_digest,
            not_modified=not_modified,
        )
        return self._append_with_request(revisit, exchange, payload_digest)

    def _append_with_request(
        self, record: Any, exchange: HttpExchange, payload_digest: str
    ) -> WrittenExchange:
        """Append ``record`` and then the request that fetched it, tied by WARC-Concurrent-To."""
        record_id = record.rec_headers.get_header("WARC-Record-ID")
        record_ptr = self._append(record)
        request_ptr = self._append(self.factory.request(exchange, record_id))
        date = record.rec_headers.get_header("WARC-Date")
        if self._notes is not None:
            self._notes.write(index_note(record, exchange, record_ptr) + "\n")
        return WrittenExchange(record_ptr, request_ptr, record_id, payload_digest, date)

    def close(self) -> Path | None:
        """Close the current file and give it its final name; None if none was open."""
        if self._fh is None or self._name is None:
            return None
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        final = self.directory / self._name
        os.replace(self.directory / (self._name + OPEN_SUFFIX), final)
        if self._notes is not None and self.index_notes_dir is not None:
            # The notes describe the closed file, whose size they record; a
            # file cut by recovery never gets notes (its .open notes are dropped).
            self._notes.write(f"# size {final.stat().st_size}\n")
            self._notes.close()
            self._notes = None
            notes = self.index_notes_dir / (self._name + NOTES_SUFFIX)
            os.replace(notes.with_name(notes.name + OPEN_SUFFIX), notes)
        self.closed_files.append(final)
        self._fh = self._writer = None
        self._name = None
        return final


_MIME_END = re.compile(r"[;\s]")


def index_note(record: Any, exchange: HttpExchange, pointer: WarcPointer) -> str:
    """The CDXJ line of a response or revisit record, less its SURT key.

    The same fields, values and order as the cdxj-indexer library writes for
    such a record (``tests/test_cdxj.py`` checks that the two agree), so the
    index can be built from these notes without reading the WARC back.
    """
    return _note(record, exchange.status, exchange.response_headers, pointer)


def read_back_note(record: Any, stored: StoredResponse, pointer: WarcPointer) -> str:
    """:func:`index_note` of a record read back from a WARC (for a file the library cannot read)."""
    return _note(record, stored.status, stored.headers, pointer)


def _note(record: Any, status: int | None, headers: Headers, pointer: WarcPointer) -> str:
    fields: dict[str, str] = {"url": record.rec_headers.get_header("WARC-Target-URI")}
    if record.rec_type == "revisit":
        fields["mime"] = "warc/revisit"
    else:
        content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
        if content_type is not None:
            fields["mime"] = _MIME_END.split(content_type, 1)[0].strip()
    if status is not None:
        fields["status"] = str(status)
    fields["digest"] = record.rec_headers.get_header("WARC-Payload-Digest")
    fields["length"] = str(pointer.length)
    fields["offset"] = str(pointer.offset)
    fields["filename"] = pointer.file
    timestamp = iso_date_to_timestamp(record.rec_headers.get_header("WARC-Date"))
    return f"{timestamp} {json.dumps(fields)}"


_WARC_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,200}\.warc\.gz")


def resolve_warc_path(directory: Path, name: str) -> Path:
    """Path of a WARC named in a pointer: the closed file, or its ``.open`` form."""
    # Pointers come from JSON files and the catalog, which a person may edit:
    # accept only names of the form this writer gives its files.
    if not _WARC_NAME.fullmatch(name):
        raise ValueError(f"not a WARC file name: {name!r}")
    path = directory / name
    if not path.exists() and (directory / (name + OPEN_SUFFIX)).exists():
        return directory / (name + OPEN_SUFFIX)
    return path


@dataclass(frozen=True)
class StoredResponse:
    """A response record read back from a WARC."""

    url: str
    record_type: str
    warc_date: str
    status: int | None
    headers: list[tuple[str, str]]
    body: bytes
    payload_digest: str | None


def read_record(directory: Path, pointer: WarcPointer) -> StoredResponse:
    """Read the record a pointer refers to; the body is returned content-decoded."""
    path = resolve_warc_path(directory, pointer.file)
    with open(path, "rb") as fh:
        fh.seek(pointer.offset)
        chunk = io.BytesIO(fh.read(pointer.length))
    for record in ArchiveIterator(chunk):
        return _stored(record)
    raise ValueError(f"no WARC record at {pointer.file}:{pointer.offset}")


def _stored(record: Any) -> StoredResponse:
    http = record.http_headers
    status = None
    if http is not None and record.rec_type in {"response", "revisit"}:
        code = http.get_statuscode()
        status = int(code) if code and code.isdigit() else None
    return StoredResponse(
        url=record.rec_headers.get_header("WARC-Target-URI") or "",
        record_type=record.rec_type,
        warc_date=record.rec_headers.get_header("WARC-Date") or "",
        status=status,
        headers=list(http.headers) if http is not None else [],
        body=record.content_stream().read(),
        payload_digest=record.rec_headers.get_header("WARC-Payload-Digest"),
    )


def iter_records(path: Path) -> Iterator[tuple[WarcPointer, Any, StoredResponse]]:
    """Yield (pointer, warcio record, decoded content) for every record of a file.

    The record's stream is already consumed: use the StoredResponse for content.
    """
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh)
        for record in iterator:
            # Reading the content first lets the iterator measure the member.
            stored = _stored(record)
            pointer = WarcPointer(
                path.name.removesuffix(OPEN_SUFFIX),
                iterator.get_record_offset(),
                iterator.get_record_length(),
            )
            yield pointer, record, stored


def notes_describe(warc: Path, notes: Path) -> tuple[int, int] | None:
    """(offset of the ``# size`` line, size) when ``notes`` still describe ``warc``, else None.

    The writer closes the notes after the file, recording its size: a file of
    another size, or written to after its notes were closed (damage, a copy
    over it), is described by them no more.
    """
    size_line = closed_notes_size_line(notes)
    try:
        stat, noted = warc.stat(), notes.stat()
    except OSError:
        return None
    if size_line is None or size_line[1] != stat.st_size or stat.st_mtime_ns > noted.st_mtime_ns:
        return None
    return size_line


def closed_notes_size_line(notes: Path) -> tuple[int, int] | None:
    """(offset of its ``# size N`` line, N) for the closed index notes of a WARC, or None."""
    try:
        with open(notes, "rb") as fh:
            end = fh.seek(0, os.SEEK_END)
            start = max(0, end - 64)
            fh.seek(start)
            tail = fh.read()
    except OSError:
        return None
    body = tail.rstrip(b"\n")
    cut = body.rfind(b"\n") + 1
    last = body[cut:]
    if not last.startswith(b"# size "):
        return None
    try:
        return start + cut, int(last.removeprefix(b"# size "))
    except ValueError:
        return None


def list_warcs(directory: Path) -> list[Path]:
    """Closed WARC files of an archive, sorted by name (hence by time)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.name.endswith(WARC_SUFFIX))


# -- reading damaged files -------------------------------------------------------

_GZIP_MAGIC = b"\x1f\x8b\x08"


@dataclass(frozen=True)
class Damage:
    """A place where a WARC file cannot be read: file, byte offset, what is wrong there."""

    file: str
    offset: int
    what: str

    def __str__(self) -> str:
        return f"{self.file}@{self.offset}: {self.what}"


def _next_magic(fh: IO[bytes], start: int) -> int | None:
    """Offset of the next gzip member header at or after ``start``, or None."""
    fh.seek(start)
    position, tail = start, b""
    while block := fh.read(1 << 16):
        data = tail + block
        found = data.find(_GZIP_MAGIC)
        if found >= 0:
            return position - len(tail) + found
        tail = data[-(len(_GZIP_MAGIC) - 1) :]
        position += len(block)
    return None


def _members(path: Path, damage: list[Damage]) -> Iterator[tuple[int, bytes]]:
    """(offset, compressed bytes) of every whole gzip member of ``path``, in order.

    A member that does not decompress (flipped bytes, garbage) is noted in
    ``damage`` and skipped to the next gzip header, so every record after the
    damage is still read; a member cut short by the end of the file ends it.
    """
    name = path.name.removesuffix(OPEN_SUFFIX)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        start = 0
        while start < size:
            fh.seek(start)
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            member = bytearray()
            problem = None
            while True:
                block = fh.read(1 << 16)
                if not block:
                    problem = f"last gzip member is truncated ({size - start} bytes)"
                    break
                try:
                    decompressor.decompress(block)
                except zlib.error as exc:
                    problem = f"unreadable gzip data ({exc})"
                    break
                if decompressor.eof:
                    used = len(block) - len(decompressor.unused_data)
                    member += block[:used]
                    break
                member += block
            if problem is None:
                yield start, bytes(member)
                start += len(member)
                continue
            resume = _next_magic(fh, start + 1)
            skipped = (resume if resume is not None else size) - start
            if resume is None and not problem.startswith("last"):
                problem = f"{skipped} bytes that are no WARC record ({problem})"
            damage.append(Damage(name, start, problem))
            if resume is None:
                return
            start = resume


def scan_records(
    path: Path, damage: list[Damage]
) -> Iterator[tuple[WarcPointer, Any, StoredResponse]]:
    """As :func:`iter_records`, but a damaged file is read past its damage, never raising.

    Each gzip member is read on its own (one member per record, as this
    writer writes them); what cannot be read is appended to ``damage`` with
    its offset, and reading goes on at the next member. The file is only read.
    """
    name = path.name.removesuffix(OPEN_SUFFIX)
    try:
        for offset, member in _members(path, damage):
            try:
                records = []
                for record in ArchiveIterator(io.BytesIO(member)):
                    records.append((record, _stored(record)))
            except Exception as exc:  # a whole gzip member that is no WARC record
                damage.append(Damage(name, offset, f"not a WARC record ({type(exc).__name__})"))
                continue
            for record, stored in records:
                yield WarcPointer(name, offset, len(member)), record, stored
    except OSError as exc:
        damage.append(Damage(name, 0, f"cannot read the file ({exc.strerror or exc})"))
