"""Replay: the archived response for a URL at a time, found through the CDXJ index.

A capture is chosen the way pywb chooses one (nearest in time, the latest
when no time is given) and a revisit is resolved to the response whose
payload it stands for, so a page re-checked with a 304 replays with the body
and headers the server actually sent when the page last changed.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp

from archive.replay.cdxj import CdxjEntry, lookup
from archive.storage.layout import ArchiveLayout
from archive.storage.warc import WarcPointer, resolve_warc_path


class NotArchived(LookupError):
    """No capture of the URL is in the index."""


class RevisitUnresolved(LookupError):
    """A revisit whose original response cannot be found in the archive."""


@dataclass(frozen=True)
class ReplayResult:
    """One archived response as it was served.

    ``body`` is content-decoded (gzip/br and chunking undone), as a browser
    sees it through pywb; ``raw_body`` is the entity body exactly as stored,
    which is what ``headers`` (Content-Encoding, Content-Length) describe.
    For a revisit, ``pointer`` is the revisit record and ``payload_pointer``
    the response the body came from; for a response they are equal.
    """

    url: str
    status: int | None
    headers: list[tuple[str, str]]
    body: bytes
    raw_body: bytes
    warc_date: str
    record_type: str
    pointer: WarcPointer
    payload_pointer: WarcPointer
    record_id: str

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


# -- dates ----------------------------------------------------------------------

_DIGITS = re.compile(r"\d{4,14}")


def parse_when(text: str) -> datetime:
    """A time given as ``2025-07-14``, ``20250714[hhmmss]`` or ISO 8601; UTC if no zone.

    Missing parts are the start of the period (``20250714`` is 00:00 UTC), as
    in pywb's URLs. Raises ValueError on anything else.
    """
    value = text.strip()
    try:
        if _DIGITS.fullmatch(value) and len(value) % 2 == 0:
            padded = value + "0101000000"[len(value) - 4 :] if len(value) < 14 else value
            parsed = datetime.strptime(padded, "%Y%m%d%H%M%S")
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"not a date: {text!r} (use 2025-07-14, 20250714 or an ISO 8601 time)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# -- choosing a capture -----------------------------------------------------------


def choose(entries: list[CdxjEntry], at: datetime | None) -> list[CdxjEntry]:
    """Captures in the order to try: nearest to ``at`` first (latest first if None).

    Among captures equally near, the later wins, as in pywb. Only responses
    and revisits are replayable.
    """
    candidates = [e for e in entries if e.fields.get("mime") != "application/warc-fields"]
    candidates = [e for e in candidates if "status" in e.fields or e.is_revisit]
    latest_first = sorted(candidates, key=lambda e: (e.timestamp, e.pointer.file, e.pointer.offset))
    latest_first.reverse()
    if at is None:
        return latest_first
    target = at.astimezone(UTC)
    return sorted(latest_first, key=lambda e: abs((e.when - target).total_seconds()))


def _exact_first(entries: list[CdxjEntry], url: str) -> list[CdxjEntry]:
    # A SURT key also matches http/https and www. variants; prefer the URL
    # exactly as asked when the archive holds it.
    exact = [e for e in entries if e.url == url]
    return exact or entries


# -- reading records ----------------------------------------------------------------


def _load(warc_dir: Path, pointer: WarcPointer) -> tuple[Any, bytes, bytes]:
    """(record with its headers parsed, raw payload, content-decoded payload)."""
    path = resolve_warc_path(warc_dir, pointer.file)
    with open(path, "rb") as fh:
        fh.seek(pointer.offset)
        chunk = fh.read(pointer.length)
    first = next(iter(ArchiveIterator(io.BytesIO(chunk))), None)
    if first is None:
        raise ValueError(f"no WARC record at {pointer.file}:{pointer.offset}")
    raw = first.raw_stream.read()
    # The content stream consumes the same bytes, so parse the member again.
    second = next(iter(ArchiveIterator(io.BytesIO(chunk))))
    decoded = second.content_stream().read()
    return first, raw, decoded


def _original_for(
    layout: ArchiveLayout, revisit: Any, entry: CdxjEntry
) -> tuple[WarcPointer, Any, bytes, bytes]:
    headers = revisit.rec_headers
    refers_uri = headers.get_header("WARC-Refers-To-Target-URI") or entry.url
    refers_date = headers.get_header("WARC-Refers-To-Date")
    refers_id = headers.get_header("WARC-Refers-To")
    digest = headers.get_header("WARC-Payload-Digest") or entry.digest
    refers_ts = iso_date_to_timestamp(refers_date) if refers_date else None

    originals = [e for e in lookup(layout, refers_uri) if not e.is_revisit and e.status]
    if digest:
        originals = [e for e in originals if e.digest == digest]
    # The referred-to date first, then the nearest earlier capture with that
    # payload (identical-payload revisits written by other tools may lack it).
    originals.sort(
        key=lambda e: (
            e.timestamp != refers_ts,
            e.timestamp > entry.timestamp,
            abs((e.when - entry.when).total_seconds()),
        )
    )
    for candidate in originals:
        record, raw, decoded = _load(layout.warc_dir, candidate.pointer)
        if refers_id and record.rec_headers.get_header("WARC-Record-ID") != refers_id:
            continue
        return candidate.pointer, record, raw, decoded
    raise RevisitUnresolved(
        f"original of revisit {entry.url} at {entry.timestamp} "
        f"({refers_id or digest or 'no reference'}) is not in the archive"
    )


def _status(record: Any) -> int | None:
    code = record.http_headers.get_statuscode() if record.http_headers else None
    return int(code) if code and code.isdigit() else None


def replay(layout: ArchiveLayout, url: str, at: datetime | None = None) -> ReplayResult:
    """The capture of ``url`` nearest to ``at`` (the latest if None), as served.

    A revisit is resolved to its original response: a 304 (server-not-modified)
    revisit replays the original's status, headers and body, since that is what
    the page was; any other revisit keeps its own status and headers with the
    original's body. Raises NotArchived when the index holds no capture of
    ``url``, RevisitUnresolved when a revisit's original is missing.
    """
    entries = _exact_first(lookup(layout, url), url)
    ordered = choose(entries, at)
    if not ordered:
        raise NotArchived(f"{url} is not in the archive at {layout.root}")
    entry = ordered[0]
    record, raw, decoded = _load(layout.warc_dir, entry.pointer)
    payload_pointer = entry.pointer
    headers_record = record
    if record.rec_type == "revisit":
        payload_pointer, original, raw, decoded = _original_for(layout, record, entry)
        if _status(record) == 304 or not record.http_headers:
            headers_record = original
    http = headers_record.http_headers
    return ReplayResult(
        url=record.rec_headers.get_header("WARC-Target-URI") or entry.url,
        status=_status(headers_record),
        headers=list(http.headers) if http is not None else [],
        body=decoded,
        raw_body=raw,
        warc_date=record.rec_headers.get_header("WARC-Date") or "",
        record_type=record.rec_type,
        pointer=entry.pointer,
        payload_pointer=payload_pointer,
        record_id=record.rec_headers.get_header("WARC-Record-ID") or "",
    )
