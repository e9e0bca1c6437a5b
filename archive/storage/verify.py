"""Verify an archive end to end: WARC digests, catalog pointers, JSON records.

Every closed WARC is re-read with warcio's digest checking (block and
payload digests of every record), and every pointer the archive holds (the
catalog's ``captures`` and ``versions`` rows and the ``warc`` field of every
JSON record) must lead to a record with the right id, payload digest, target
URI and length. Files are read one at a time and only that file's record
table is kept, so memory follows the largest file, not the archive.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from warcio.archiveiterator import ArchiveIterator

from archive.storage import catalog
from archive.storage.layout import ArchiveLayout
from archive.storage.lock import is_held
from archive.storage.record_store import record_files
from archive.storage.records import validation_errors
from archive.storage.warc import OPEN_SUFFIX, WARC_SUFFIX, list_warcs

_READ_BLOCK = 1 << 16


@dataclass(frozen=True)
class _Found:
    """What sits at one offset of a WARC file."""

    length: int
    record_type: str
    record_id: str
    target_uri: str
    payload_digest: str | None


@dataclass
class VerifyReport:
    warc_files: int = 0
    records: int = 0
    captures: int = 0
    versions: int = 0
    json_records: int = 0
    index_lines: int = 0
    problems: list[str] = field(default_factory=list)
    #: Record files the catalog's versions name (relative to records/) -> which version.
    catalogued_records: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def one_line(self) -> str:
        if self.ok:
            return (
                f"verify: OK {self.warc_files} WARC files, {self.records} records, "
                f"{self.captures} captures, {self.versions} versions, "
                f"{self.json_records} JSON records checked"
            )
        return f"verify: FAILED {len(self.problems)} problems (first: {self.problems[0]})"


def _scan_file(path: Path, report: VerifyReport) -> dict[int, _Found]:
    """Re-read one WARC checking every digest; offset -> record found there."""
    found: dict[int, _Found] = {}
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh, check_digests=True)
        try:
            for record in iterator:
                stream = record.raw_stream
                while stream.read(_READ_BLOCK):
                    pass
                offset = iterator.get_record_offset()
                headers = record.rec_headers
                record_id = headers.get_header("WARC-Record-ID") or ""
                for problem in record.digest_checker.problems:
                    report.problems.append(f"{path.name}@{offset} {record_id}: {problem}")
                if not record_id:
                    report.problems.append(f"{path.name}@{offset}: record without WARC-Record-ID")
                found[offset] = _Found(
                    length=iterator.get_record_length(),
                    record_type=record.rec_type,
                    record_id=record_id,
                    target_uri=headers.get_header("WARC-Target-URI") or "",
                    payload_digest=headers.get_header("WARC-Payload-Digest"),
                )
                report.records += 1
        except Exception as exc:  # any unreadable byte is a finding, not a crash
            report.problems.append(
                f"{path.name}: unreadable after offset {iterator.offset}: "
                f"{type(exc).__name__}: {exc}"
            )
            return found
    if found:
        last = max(found)
        problem = _last_member_problem(path, last)
        if problem:
            report.problems.append(f"{path.name}@{last}: {problem}")
    return found


def _last_member_problem(path: Path, offset: int) -> str | None:
    """Why the gzip member at ``offset`` is not a whole last member, or None."""
    # warcio reads a gzip member cut short (a kill, a partial copy) without
    # complaint, so the end of the file is checked on its own.
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with open(path, "rb") as fh:
        fh.seek(offset)
        try:
            while block := fh.read(_READ_BLOCK):
                decompressor.decompress(block)
                if decompressor.eof:
                    break
        except zlib.error as exc:
            return f"last gzip member is corrupt ({exc})"
        trailing = len(decompressor.unused_data) + len(fh.read())
    if not decompressor.eof:
        return "last gzip member is truncated"
    if trailing:
        return f"{trailing} bytes of garbage after the last record"
    return None


@dataclass(frozen=True)
class _Expected:
    """A pointer someone holds, and what it should lead to."""

    source: str
    offset: int
    length: int
    record_id: str | None = None
    payload_digest: str | None = None
    target_uri: str | None = None
    record_types: frozenset[str] = frozenset({"response", "revisit"})


def _same_page(captured: str, expected: str) -> bool:
    """Whether a capture of ``captured`` is the page ``expected`` names.

    An article VSB has not published statically is archived from
    ``content.jsp?...wbtreeid=T&wbnewsid=N`` and recorded under its
    ``/info/T/N.htm`` (crawler.extract.urls.canonical_article_url, which this
    layer may not import): the one is the other.
    """
    if captured == expected:
        return True
    parts = urlsplit(captured)
    if not parts.path.lower().endswith("content.jsp"):
        return False
    params = {key.lower(): value.strip() for key, value in parse_qsl(parts.query)}
    tree, news = params.get("wbtreeid", ""), params.get("wbnewsid", "")
    if not (tree.isdigit() and news.isdigit()):
        return False
    static = urlunsplit((parts.scheme, parts.netloc, f"/info/{int(tree)}/{int(news)}.htm", "", ""))
    return static == expected


def _check(expected: _Expected, found: dict[int, _Found] | None, file: str) -> str | None:
    where = f"{file}@{expected.offset}"
    if found is None:
        return f"{expected.source} points into missing WARC {file}"
    record = found.get(expected.offset)
    if record is None:
        return f"{expected.source} points to {where}, where no record starts"
    if record.length != expected.length:
        return (
            f"{expected.source}: {where} is {record.length} bytes, pointer says {expected.length}"
        )
    if record.record_type not in expected.record_types:
        return f"{expected.source}: {where} is a {record.record_type} record"
    if expected.record_id is not None and record.record_id != expected.record_id:
        return f"{expected.source}: {where} is {record.record_id}, not {expected.record_id}"
    if (
        expected.payload_digest is not None
        and record.payload_digest is not None
        and record.payload_digest != expected.payload_digest
    ):
        return f"{expected.source}: {where} has payload digest {record.payload_digest}"
    if expected.target_uri is not None and not _same_page(record.target_uri, expected.target_uri):
        return f"{expected.source}: {where} is a capture of {record.target_uri}"
    return None


def _catalog_pointers(conn: sqlite3.Connection, report: VerifyReport) -> dict[str, list[_Expected]]:
    by_file: dict[str, list[_Expected]] = defaultdict(list)
    for row in conn.execute("SELECT * FROM captures"):
        report.captures += 1
        by_file[row["warc_file"]].append(
            _Expected(
                source=f"capture {row['id']} ({row['url']})",
                offset=int(row["warc_offset"]),
                length=int(row["warc_length"]),
                record_id=row["record_id"],
                payload_digest=row["payload_digest"],
                target_uri=row["url"],
                record_types=frozenset({row["record_type"]}),
            )
        )
    for row in conn.execute(
        "SELECT v.id, v.warc_file, v.warc_offset, v.warc_length, v.record_path, a.url, "
        "c.record_id, "
        "c.payload_digest FROM versions v JOIN articles a ON a.id = v.article_id "
        "LEFT JOIN captures c ON c.warc_file = v.warc_file AND c.warc_offset = v.warc_offset"
    ):
        report.versions += 1
        if row["record_path"]:
            report.catalogued_records[str(row["record_path"])] = (
                f"version {row['id']} ({row['url']})"
            )
        by_file[row["warc_file"]].append(
            _Expected(
                source=f"version {row['id']} ({row['url']})",
                offset=int(row["warc_offset"]),
                length=int(row["warc_length"]),
                record_id=row["record_id"],
                payload_digest=row["payload_digest"],
                target_uri=row["url"],
            )
        )
    return by_file


def _record_pointers(records_dir: Path, report: VerifyReport) -> dict[str, list[_Expected]]:
    by_file: dict[str, list[_Expected]] = defaultdict(list)
    if not records_dir.is_dir():
        return by_file
    for path in record_files(records_dir):
        report.json_records += 1
        name = str(path.relative_to(records_dir))
        try:
            record: dict[str, Any] = json.loads(path.read_text("utf-8"))
            errors = validation_errors(record)
            if errors:
                report.problems.append(
                    f"record {name} is invalid: {errors[0]} (`uir-news rebuild` re-derives it)"
                )
            warc = record["warc"]
            expected = _Expected(
                source=f"record {name}",
                offset=int(warc["offset"]),
                length=int(warc["length"]),
                target_uri=str(record["url"]),
            )
            file = str(warc["file"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            report.problems.append(f"record {name} is unreadable: {type(exc).__name__}: {exc}")
            continue
        by_file[file].append(expected)
    return by_file


def _records_against_catalog(records_dir: Path, report: VerifyReport) -> None:
    """Record files the catalog names that are missing, and files it does not name."""
    on_disk = (
        {str(p.relative_to(records_dir)) for p in record_files(records_dir)}
        if records_dir.is_dir()
        else set()
    )
    for relative, version in sorted(report.catalogued_records.items()):
        if relative not in on_disk:
            report.problems.append(
                f"record {relative} of {version} is missing (`uir-news rebuild` re-derives it)"
            )
    for relative in sorted(on_disk - set(report.catalogued_records)):
        report.problems.append(f"record {relative} is not in the catalog (extra)")


def _index_lines(
    layout: ArchiveLayout, found: dict[str, dict[int, _Found]], report: VerifyReport
) -> None:
    """Every line of the CDXJ index must parse and point at a record that is there."""
    path = layout.indexes_dir / "index.cdxj"
    if not path.exists():
        return
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            report.index_lines += 1
            where = f"indexes/index.cdxj line {number}"
            try:
                _key, _timestamp, text = raw.decode("utf-8").rstrip("\n").split(" ", 2)
                fields = json.loads(text)
                file, offset = str(fields["filename"]), int(fields["offset"])
                length = int(fields["length"])
            except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
                report.problems.append(f"{where} is damaged ({type(exc).__name__})")
                continue
            records = found.get(file)
            if records is None:
                report.problems.append(f"{where} points into missing WARC {file}")
            elif offset not in records or records[offset].length != length:
                report.problems.append(f"{where} points to {file}@{offset}, where no record starts")


def verify(layout: ArchiveLayout) -> VerifyReport:
    """Check the whole archive; problems are collected, never raised. Nothing is written."""
    report = VerifyReport()
    warc_dir = layout.warc_dir
    if warc_dir.is_dir():
        running = is_held(layout.lock_path)
        for left in sorted(warc_dir.glob("*" + WARC_SUFFIX + OPEN_SUFFIX)):
            if running:
                continue  # being written by the crawl that holds the lock
            report.problems.append(
                f"{left.name} was left open by a killed run (`uir-news rebuild` repairs it)"
            )
    expected: dict[str, list[_Expected]] = defaultdict(list)
    if layout.catalog_path.exists():
        damaged = catalog.check(layout.catalog_path)
        if damaged is not None:
            report.problems.append(
                f"{layout.catalog_path.name} is damaged ({damaged}); `uir-news rebuild` "
                "makes it again"
            )
        else:
            conn = catalog.connect(layout.catalog_path, readonly=True)
            try:
                for file, pointers in _catalog_pointers(conn, report).items():
                    expected[file].extend(pointers)
            finally:
                conn.close()
            _records_against_catalog(layout.records_dir, report)
    else:
        report.problems.append(f"no catalog at {layout.catalog_path}")
    for file, pointers in _record_pointers(layout.records_dir, report).items():
        expected[file].extend(pointers)

    scanned: dict[str, dict[int, _Found]] = {}
    for path in list_warcs(warc_dir):
        report.warc_files += 1
        found = scanned[path.name] = _scan_file(path, report)
        for pointer in expected.pop(path.name, []):
            problem = _check(pointer, found, path.name)
            if problem:
                report.problems.append(problem)
    for file, pointers in sorted(expected.items()):
        for pointer in pointers:
            report.problems.append(_check(pointer, None, file) or "")
    _index_lines(layout, scanned, report)
    return report
