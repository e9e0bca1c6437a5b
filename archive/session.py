"""The archive as one crawl writes to it: WARC writer, record store, catalog.

This is the interface between the crawler and storage. The crawler calls
:meth:`ArchiveSession.write_exchange` / :meth:`write_revisit` for every
response and :meth:`store_record` for every article record; it asks
:meth:`previous_capture` and :meth:`article_state` to decide what to fetch.
The order of writes is what makes a kill harmless: the WARC record is flushed
first, then the JSON record is written atomically, then the catalog row is
committed; anything a kill cuts short is re-derived by recovery.rebuild.
"""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive import catalog
from archive.paths import ArchiveLayout
from archive.store import JsonRecordStore, StoredVersion
from archive.warc import HttpExchange, RotatingWarcWriter, WrittenExchange

Indexer = Callable[[sqlite3.Connection, int, dict[str, Any]], None]


def sha1_digest(data: bytes) -> str:
    """A WARC payload digest: ``sha1:`` + base32 of the SHA-1."""
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


@dataclass(frozen=True)
class PreviousCapture:
    """The last full response for a URL, for conditional requests and revisits."""

    url: str
    fetched_at: str
    record_id: str
    payload_digest: str | None
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class ArticleState:
    url: str
    published_at: str | None
    last_checked: str


class ArchiveSession:
    """Everything one crawl writes, behind a handful of methods."""

    def __init__(
        self,
        layout: ArchiveLayout,
        writer: RotatingWarcWriter,
        *,
        indexer: Indexer | None = None,
        run_id: str | None = None,
    ) -> None:
        layout.create()
        self.layout = layout
        self.writer = writer
        self.store = JsonRecordStore(layout.records_dir)
        self.conn = catalog.connect(layout.catalog_path)
        self.indexer = indexer
        self.run_id = run_id

    # -- what to fetch -------------------------------------------------------

    def article_state(self, url: str) -> ArticleState | None:
        row = self.conn.execute(
            "SELECT url, published_at, last_checked FROM articles WHERE url = ?", (url,)
        ).fetchone()
        if row is None:
            return None
        return ArticleState(str(row["url"]), row["published_at"], str(row["last_checked"]))

    def previous_capture(self, url: str) -> PreviousCapture | None:
        row = catalog.latest_capture(self.conn, url)
        if row is None:
            return None
        return PreviousCapture(
            url=str(row["url"]),
            fetched_at=str(row["fetched_at"]),
            record_id=str(row["record_id"]),
            payload_digest=row["payload_digest"],
            etag=row["etag"],
            last_modified=row["last_modified"],
        )

    def walk_complete(self) -> bool:
        """True once a run has walked the whole column and finished cleanly."""
        return catalog.get_meta(self.conn, "walk_complete") == "1"

    # -- writing -------------------------------------------------------------

    def _add_capture(
        self, exchange: HttpExchange, record_type: str, written: WrittenExchange
    ) -> None:
        headers = {name.lower(): value for name, value in exchange.response_headers}
        with catalog.transaction(self.conn):
            catalog.add_capture(
                self.conn,
                catalog.Capture(
                    url=exchange.url,
                    fetched_at=written.warc_date,
                    status=exchange.status,
                    record_type=record_type,
                    pointer=written.response,
                    payload_digest=written.payload_digest,
                    record_id=written.record_id,
                    etag=headers.get("etag"),
                    last_modified=headers.get("last-modified"),
                ),
            )

    def write_exchange(self, exchange: HttpExchange) -> WrittenExchange:
        """Archive a full response (and its request); index it as a capture."""
        written = self.writer.write_exchange(exchange)
        self._add_capture(exchange, "response", written)
        return written

    def write_revisit(
        self, exchange: HttpExchange, previous: PreviousCapture, *, not_modified: bool
    ) -> WrittenExchange:
        """Archive an unchanged fetch as a revisit pointing at ``previous``.

        A 304 (``not_modified``) or a byte-identical payload costs a revisit
        record with the HTTP headers, not a second copy of the page.
        """
        written = self.writer.write_revisit(
            exchange,
            refers_to_uri=previous.url,
            refers_to_date=previous.fetched_at,
            refers_to_id=previous.record_id,
            payload_digest=previous.payload_digest or sha1_digest(exchange.response_body),
            not_modified=not_modified,
        )
        self._add_capture(exchange, "revisit", written)
        return written

    def store_record(
        self, record: dict[str, Any], *, record_json: str | None = None
    ) -> tuple[StoredVersion, catalog.PutResult]:
        """Write the record's JSON (atomic), then its catalog rows (one transaction).

        ``record_json`` is the record's compact JSON when the caller has it.
        """
        stored = self.store.put(record)
        relative = str(stored.path.relative_to(self.layout.records_dir))
        with catalog.transaction(self.conn):
            result = catalog.put_record(
                self.conn,
                record,
                relative,
                digest=stored.content_hash,
                record_json=record_json,
            )
            catalog.clear_failure(self.conn, str(record["url"]))
            if self.indexer is not None:
                self.indexer(self.conn, result.article_id, record)
        return stored, result

    def record_failure(self, url: str, reason: str, detail: str, when: str) -> None:
        with catalog.transaction(self.conn):
            catalog.record_failure(self.conn, url, reason, detail, when)

    def pending_failures(self, max_attempts: int) -> list[str]:
        return catalog.pending_failures(self.conn, max_attempts)

    def mark_unchanged(self, url: str, when: str) -> None:
        with catalog.transaction(self.conn):
            catalog.mark_checked(self.conn, url, when)

    def close(self) -> Path | None:
        """Close the WARC being written (renaming it) and the catalog."""
        closed = self.writer.close()
        self.conn.close()
        return closed
