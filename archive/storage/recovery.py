"""Recovering from a killed run: repair WARCs, rebuild the catalog.

A run killed at any moment leaves at most one ``*.warc.gz.open`` file whose
last gzip member may be cut short (every member is one whole WARC record, and
each record is flushed before anything refers to it). :func:`repair_open_warcs`
truncates such a file after its last complete member and closes it under its
final name; a file with no complete record at all is moved to ``warc/setaside/``
with a log line. :func:`rebuild` re-derives the catalog from the WARC files and
the JSON records, which are the source of truth.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive.storage import catalog, events
from archive.storage.layout import ArchiveLayout
from archive.storage.record_store import JsonRecordStore, record_files
from archive.storage.records import validation_errors
from archive.storage.warc import (
    OPEN_SUFFIX,
    WARC_SUFFIX,
    Damage,
    WarcPointer,
    list_warcs,
    read_record,
    scan_records,
)

logger = logging.getLogger(__name__)

_READ_BLOCK = 1 << 16


@dataclass
class RepairReport:
    repaired: list[str] = field(default_factory=list)
    truncated_bytes: int = 0
    set_aside: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "repaired": self.repaired,
            "truncated_bytes": self.truncated_bytes,
            "set_aside": self.set_aside,
        }


def complete_members_end(path: Path) -> tuple[int, int]:
    """(end offset of the last complete gzip member, number of complete members).

    Streams the file, so a 1 GB WARC costs a 64 KiB buffer, not 1 GB of memory.
    """
    good_end = 0
    members = 0
    position = 0  # file offset of the start of ``pending``
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with open(path, "rb") as fh:
        pending = b""
        while True:
            if not pending:
                pending = fh.read(_READ_BLOCK)
                if not pending:
                    break
            try:
                decompressor.decompress(pending)
            except zlib.error:
                break
            if decompressor.eof:
                unused = decompressor.unused_data
                consumed = len(pending) - len(unused)
                good_end = position + consumed
                members += 1
                position += consumed
                pending = unused
                decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                position += len(pending)
                pending = b""
    return good_end, members


def repair_open_warcs(warc_dir: Path) -> RepairReport:
    """Close every ``.open`` WARC left by a killed run; see the module docstring."""
    report = RepairReport()
    if not warc_dir.is_dir():
        return report
    for path in sorted(warc_dir.glob("*" + WARC_SUFFIX + OPEN_SUFFIX)):
        end, members = complete_members_end(path)
        size = path.stat().st_size
        final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
        if final.exists():
            # A closed file of that name (a restored backup, say) is complete:
            # the cut copy must never replace it.
            setaside = warc_dir / "setaside"
            setaside.mkdir(exist_ok=True)
            os.replace(path, setaside / path.name)
            report.set_aside.append(path.name)
            logger.warning("Set aside %s: %s exists and is kept as it is", path, final.name)
            continue
        # A file with only its warcinfo record holds nothing worth keeping.
        if members <= 1:
            setaside = warc_dir / "setaside"
            setaside.mkdir(exist_ok=True)
            os.replace(path, setaside / path.name)
            report.set_aside.append(path.name)
            logger.warning("Set aside %s: no complete record after warcinfo (%d bytes)", path, size)
            continue
        if end < size:
            with open(path, "r+b") as fh:
                fh.truncate(end)
                fh.flush()
                os.fsync(fh.fileno())
            report.truncated_bytes += size - end
        os.replace(path, final)
        report.repaired.append(final.name)
        logger.warning(
            "Repaired interrupted WARC %s: kept %d records, cut %d trailing bytes",
            final,
            members,
            size - end,
        )
    return report


#: Re-parses one archived response into its record: (url, body, fetched_at, pointer)
#: -> the record, or None when the page is no article. The crawler passes its
#: parser in, so storage never imports it (see docs/architecture.md).
Reparse = Callable[[str, bytes, str, WarcPointer], Mapping[str, Any] | None]


@dataclass
class RebuildReport:
    """What :func:`rebuild` found: counts, the WARC damage, and the records it could not use."""

    counts: dict[str, int] = field(default_factory=dict)
    damage: list[Damage] = field(default_factory=list)
    #: Record files left out (unreadable, invalid, or refused by the catalog), with why.
    bad_records: list[str] = field(default_factory=list)
    #: Record files written again from their WARC response.
    rederived: list[str] = field(default_factory=list)

    @property
    def damaged(self) -> bool:
        return bool(self.damage or self.bad_records)

    def problems(self) -> list[str]:
        return [str(d) for d in self.damage] + self.bad_records

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts,
            "damage": [str(d) for d in self.damage],
            "bad_records": self.bad_records,
            "rederived": self.rederived,
        }


def _load_record(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The record in ``path`` if it is readable and valid, else (None, why)."""
    try:
        record = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"unreadable ({type(exc).__name__}: {exc})"
    if not isinstance(record, dict):
        return None, "not a JSON object"
    errors = validation_errors(record)
    if errors:
        return None, f"invalid ({errors[0]})"
    return record, ""


def _put(
    conn: sqlite3.Connection,
    record: dict[str, Any],
    relative: str,
    on_record: Callable[[sqlite3.Connection, int, dict[str, Any]], None] | None,
) -> catalog.PutResult:
    """One record's catalog rows, all or nothing (a savepoint inside the rebuild)."""
    conn.execute("SAVEPOINT put_record")
    try:
        result = catalog.put_record(conn, record, relative)
        if on_record is not None:
            on_record(conn, result.article_id, record)
    except BaseException:
        conn.execute("ROLLBACK TO put_record")
        conn.execute("RELEASE put_record")
        raise
    conn.execute("RELEASE put_record")
    return result


def rebuild(
    layout: ArchiveLayout,
    *,
    on_record: Callable[[sqlite3.Connection, int, dict[str, Any]], None] | None = None,
    reparse: Reparse | None = None,
) -> RebuildReport:
    """Re-create the catalog from the WARCs and JSON records; returns what it found.

    Every readable WARC record is indexed, however damaged its file (the
    damage is reported, the file is only read). A JSON record that is
    missing, unreadable or fails the schema is re-derived from the WARC
    response it came from when ``reparse`` is given (the WARC is the source
    of truth), and is left out and reported otherwise. The new catalog is
    built beside the old one and swapped in by rename, so a crash during a
    rebuild leaves the previous catalog in place.
    """
    tmp_path = layout.catalog_path.with_name(layout.catalog_path.name + ".rebuild")
    for stale in (
        tmp_path,
        tmp_path.with_name(tmp_path.name + "-wal"),
        tmp_path.with_name(tmp_path.name + "-shm"),
    ):
        stale.unlink(missing_ok=True)
    kept = _kept_events(layout.catalog_path)
    conn = catalog.connect(tmp_path)
    report = RebuildReport()
    counts = report.counts
    counts.update(
        warc_files=0, captures=0, versions=0, articles=0, runs=0, unreadable_records=0,
        rederived_records=0,
    )  # fmt: skip
    store = JsonRecordStore(layout.records_dir)
    try:
        with catalog.transaction(conn):
            responses: list[tuple[str, str, WarcPointer]] = []
            for path in list_warcs(layout.warc_dir):
                counts["warc_files"] += 1
                for pointer, record, stored in scan_records(path, report.damage):
                    if record.rec_type not in {"response", "revisit"}:
                        continue
                    catalog.add_capture(
                        conn,
                        catalog.Capture.with_validators(
                            stored.headers,
                            url=stored.url,
                            fetched_at=stored.warc_date,
                            status=stored.status,
                            record_type=record.rec_type,
                            pointer=pointer,
                            payload_digest=stored.payload_digest,
                            record_id=record.rec_headers.get_header("WARC-Record-ID") or "",
                        ),
                    )
                    counts["captures"] += 1
                    if record.rec_type == "response" and stored.status == 200:
                        responses.append((stored.url, stored.warc_date, pointer))
            records: list[tuple[str, Path, dict[str, Any]]] = []
            covered: set[tuple[str, int]] = set()
            for record_path in record_files(layout.records_dir):
                record, why = _load_record(record_path)
                if record is None:
                    # Written without fsync, a record can be empty after a power
                    # cut; edited by hand, invalid. Re-derived below if we can.
                    logger.warning("Record %s is %s", record_path, why)
                    counts["unreadable_records"] += 1
                    report.bad_records.append(
                        f"record {record_path.relative_to(layout.records_dir)} is {why}"
                    )
                    continue
                warc = record["warc"]
                covered.add((str(warc["file"]), int(warc["offset"])))
                records.append((str(record["fetched_at"]), record_path, record))
            if reparse is not None:
                for url, fetched_at, pointer in responses:
                    if (pointer.file, pointer.offset) in covered:
                        continue
                    found = _rederive(layout, store, reparse, url, fetched_at, pointer, report)
                    if found is not None:
                        records.append((fetched_at, found[0], found[1]))
            counts["rederived_records"] = len(report.rederived)
            # Oldest first, so the newest fetch ends up current, as in a crawl.
            records.sort(key=lambda item: item[0])
            for _, record_path, record in records:
                relative = str(record_path.relative_to(layout.records_dir))
                try:
                    result = _put(conn, record, relative, on_record)
                except Exception as exc:  # no field value may stop a rebuild
                    logger.warning("Record %s left out: %s", record_path, exc)
                    report.bad_records.append(
                        f"record {relative} could not be catalogued ({type(exc).__name__}: {exc})"
                    )
                    continue
                counts["versions"] += int(result.new_version)
                counts["articles"] += int(result.new_article)
            for summary_path in sorted(layout.runs_dir.glob("*.json")):
                _add_run(conn, summary_path, counts)
            conn.execute("DELETE FROM failures WHERE url IN (SELECT url FROM articles)")
            # Events: carried over from the old catalog (they hold what only a
            # run saw, such as the listing), else re-derived from the files.
            if kept is not None:
                counts["events"] = events.carry_over(conn, *kept)
            else:
                counts["events"] = events.rederive(conn)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        layout.catalog_path.with_name(layout.catalog_path.name + suffix).unlink(missing_ok=True)
    os.replace(tmp_path, layout.catalog_path)
    for item in report.damage:
        logger.warning("Damaged WARC %s (left as it is; every readable record kept)", item)
    return report


def _kept_events(
    path: Path,
) -> tuple[list[events.KeptEvent], list[events.KeptStatus]] | None:
    """The events and statuses of the catalog being replaced, or None when it cannot be read."""
    if not path.is_file() or catalog.check(path) is not None:
        return None
    try:
        conn = catalog.connect(path, readonly=True)
    except (sqlite3.Error, catalog.CatalogVersionError):
        return None
    try:
        if catalog.catalog_version(conn) != catalog.CATALOG_SCHEMA_VERSION:
            return None  # no events table before version 2
        return events.read_kept(conn)
    except sqlite3.Error as exc:
        logger.warning("Could not read the events of %s (%s); re-deriving them", path, exc)
        return None
    finally:
        conn.close()


def _rederive(
    layout: ArchiveLayout,
    store: JsonRecordStore,
    reparse: Reparse,
    url: str,
    fetched_at: str,
    pointer: WarcPointer,
    report: RebuildReport,
) -> tuple[Path, dict[str, Any]] | None:
    """The record of one archived response no valid JSON record points at, stored anew."""
    try:
        body = read_record(layout.warc_dir, pointer).body
        record = reparse(url, body, fetched_at, pointer)
    except Exception as exc:  # a page that cannot be re-parsed stays a WARC capture
        logger.warning("Could not re-parse %s at %s@%d: %s", url, pointer.file, pointer.offset, exc)
        return None
    if record is None or validation_errors(record):
        return None
    stored = store.put(record)
    if stored.created:
        report.rederived.append(str(stored.path.relative_to(layout.records_dir)))
    return stored.path, dict(record)


def _add_run(conn: sqlite3.Connection, summary_path: Path, counts: dict[str, int]) -> None:
    """One run summary into the ``runs`` table and the failures it reported (bad ones skipped)."""
    try:
        summary = json.loads(summary_path.read_text("utf-8"))
        conn.execute("SAVEPOINT run_summary")
        try:
            catalog.record_run(conn, summary)
            # Failures are re-derived from the run summaries that reported them.
            for problem in summary.get("problems", []):
                if problem.get("article"):
                    catalog.record_failure(
                        conn,
                        problem["url"],
                        problem["reason"],
                        problem.get("detail", ""),
                        summary.get("finished_at") or summary["started_at"],
                    )
        except BaseException:
            conn.execute("ROLLBACK TO run_summary")
            conn.execute("RELEASE run_summary")
            raise
        conn.execute("RELEASE run_summary")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, sqlite3.Error) as exc:
        logger.warning("Skipped run summary %s: %s", summary_path, exc)
        return
    counts["runs"] += 1
