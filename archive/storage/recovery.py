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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive.storage import catalog
from archive.storage.layout import ArchiveLayout
from archive.storage.record_store import record_files
from archive.storage.warc import OPEN_SUFFIX, WARC_SUFFIX, iter_records, list_warcs

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


def _index_captures(conn: sqlite3.Connection, path: Path) -> int:
    count = 0
    for pointer, record, stored in iter_records(path):
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
        count += 1
    return count


def rebuild(
    layout: ArchiveLayout,
    *,
    on_record: Callable[[sqlite3.Connection, int, dict[str, Any]], None] | None = None,
) -> dict[str, int]:
    """Re-create the catalog from the WARCs and JSON records; returns counts.

    The new catalog is built beside the old one and swapped in by rename, so a
    crash during a rebuild leaves the previous catalog in place.
    """
    tmp_path = layout.catalog_path.with_name(layout.catalog_path.name + ".rebuild")
    for stale in (
        tmp_path,
        tmp_path.with_name(tmp_path.name + "-wal"),
        tmp_path.with_name(tmp_path.name + "-shm"),
    ):
        stale.unlink(missing_ok=True)
    conn = catalog.connect(tmp_path)
    counts = {
        "warc_files": 0,
        "captures": 0,
        "versions": 0,
        "articles": 0,
        "runs": 0,
        "unreadable_records": 0,
    }
    try:
        with catalog.transaction(conn):
            for path in list_warcs(layout.warc_dir):
                counts["warc_files"] += 1
                counts["captures"] += _index_captures(conn, path)
            records = []
            for record_path in record_files(layout.records_dir):
                try:
                    record = json.loads(record_path.read_text("utf-8"))
                    fetched_at = str(record["fetched_at"])
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    # Written without fsync, a record can be empty after a power
                    # cut. Left out, its article is simply fetched again.
                    logger.warning("Skipped unreadable record %s: %s", record_path, exc)
                    counts["unreadable_records"] += 1
                    continue
                records.append((fetched_at, record_path, record))
            # Oldest first, so the newest fetch ends up current, as in a crawl.
            records.sort(key=lambda item: item[0])
            for _, record_path, record in records:
                result = catalog.put_record(
                    conn, record, str(record_path.relative_to(layout.records_dir))
                )
                counts["versions"] += int(result.new_version)
                counts["articles"] += int(result.new_article)
                if on_record is not None:
                    on_record(conn, result.article_id, record)
            for summary_path in sorted(layout.runs_dir.glob("*.json")):
                summary = json.loads(summary_path.read_text("utf-8"))
                catalog.record_run(conn, summary)
                counts["runs"] += 1
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
            conn.execute("DELETE FROM failures WHERE url IN (SELECT url FROM articles)")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        layout.catalog_path.with_name(layout.catalog_path.name + suffix).unlink(missing_ok=True)
    os.replace(tmp_path, layout.catalog_path)
    return counts
