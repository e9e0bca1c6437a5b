"""The archive as one crawl writes to it: the WARC exchange, the record store, the catalog.

This is the interface between the crawler and storage, in two parts as the
crawl runs in two processes. The crawl process writes each fetch with
:func:`archive_exchange` (WARC records, flushed, plus the catalog capture
that describes them) and asks an :class:`ArchiveReader` what to fetch
(:meth:`~ArchiveReader.article_state`, :meth:`~ArchiveReader.previous_capture`).
The archiver process holds the one :class:`ArchiveSession`, the only writer
of the catalog and the record store: :meth:`~ArchiveSession.add_capture` for
every capture, :meth:`~ArchiveSession.store_record` for every article record.
The order of writes is what makes a kill harmless: the WARC record is flushed
first, then the JSON record is written atomically, then the catalog row is
committed; anything a kill cuts short is re-derived by recovery.rebuild.

Catalog writes are batched: one transaction holds up to ``commit_every``
writes or ``commit_seconds`` of them (a commit per write was a tenth of a
crawl's time). A kill loses at most that batch of catalog rows, which the
WARCs and JSON files already hold; the next run rebuilds them.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from archive.storage import catalog, events
from archive.storage.layout import ArchiveLayout
from archive.storage.record_store import JsonRecordStore, StoredVersion
from archive.storage.warc import HttpExchange, RotatingWarcWriter, WrittenExchange

Indexer = Callable[[sqlite3.Connection, int, Mapping[str, Any]], None]


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
    #: listed, unlisted or removed (see archive.storage.events).
    status: str = "listed"


def archive_exchange(
    writer: RotatingWarcWriter,
    exchange: HttpExchange,
    *,
    revisit_of: PreviousCapture | None = None,
    not_modified: bool = False,
) -> tuple[WrittenExchange, catalog.Capture]:
    """Write one fetch to the WARC, and describe it as a catalog capture.

    A full response record, or with ``revisit_of`` a revisit record pointing
    at that earlier capture (``not_modified`` for a 304 answer).
    """
    if revisit_of is None:
        written = writer.write_exchange(exchange)
        record_type = "response"
    else:
        written = writer.write_revisit(
            exchange,
            refers_to_uri=revisit_of.url,
            refers_to_date=revisit_of.fetched_at,
            refers_to_id=revisit_of.record_id,
            payload_digest=revisit_of.payload_digest or sha1_digest(exchange.response_body),
            not_modified=not_modified,
        )
        record_type = "revisit"
    capture = catalog.Capture.with_validators(
        exchange.response_headers,
        url=exchange.url,
        fetched_at=written.warc_date,
        status=exchange.status,
        record_type=record_type,
        pointer=written.response,
        payload_digest=written.payload_digest,
        record_id=written.record_id,
    )
    return written, capture


class ArchiveReader:
    """What the crawl asks the catalog to decide what to fetch (reads only).

    The crawl process reads through its own connection while the archiver
    process writes (WAL mode: readers never block the writer); it sees what
    the archiver has committed, which is what earlier runs wrote.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def article_state(self, url: str) -> ArticleState | None:
        row = self.conn.execute(
            "SELECT url, published_at, last_checked, status FROM articles WHERE url = ?", (url,)
        ).fetchone()
        if row is None:
            return None
        return ArticleState(
            str(row["url"]), row["published_at"], str(row["last_checked"]), str(row["status"])
        )

    def least_recently_checked(self, checked_before: str) -> Iterator[str]:
        """Article URLs last checked before ``checked_before``, the longest unchecked first."""
        for (url,) in self.conn.execute(
            "SELECT url FROM articles WHERE last_checked < ? ORDER BY last_checked, id",
            (checked_before,),
        ):
            yield str(url)

    def listed_articles(self) -> Iterator[tuple[str, int | None]]:
        """(URL, VSB column id) of every article whose status is ``listed``."""
        for url, column_id in self.conn.execute(
            "SELECT url, column_id FROM articles WHERE status = 'listed' ORDER BY id"
        ):
            yield str(url), None if column_id is None else int(column_id)

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

    def walk_complete(self, column_key: str | None = None) -> bool:
        """True once a run has walked the whole column (``column_key``) and finished cleanly.

        Columns are remembered one by one (``walk_complete {column_key}``); an
        archive written before that has one ``walk_complete`` for its one
        column, which stands for any column until some column has its own key.
        """
        if column_key is not None:
            if catalog.get_meta(self.conn, f"walk_complete {column_key}") == "1":
                return True
            per_column = self.conn.execute(
                "SELECT 1 FROM meta WHERE substr(key, 1, 14) = 'walk_complete ' LIMIT 1"
            ).fetchone()
            if per_column is not None:
                return False
        return catalog.get_meta(self.conn, "walk_complete") == "1"

    def pending_failures(self, max_attempts: int, skip_reasons: Iterable[str] = ()) -> list[str]:
        return catalog.pending_failures(self.conn, max_attempts, skip_reasons)

    def failure_of(self, url: str) -> tuple[str, int] | None:
        """The last reason ``url`` failed for, and in how many runs (None: never failed)."""
        return catalog.failure_of(self.conn, url)


class ArchiveSession(ArchiveReader):
    """Everything one crawl writes besides the WARC, behind a handful of methods."""

    def __init__(
        self,
        layout: ArchiveLayout,
        *,
        indexer: Indexer | None = None,
        commit_every: int = 500,
        commit_seconds: float = 2.0,
    ) -> None:
        layout.create()
        self.layout = layout
        self.store = JsonRecordStore(layout.records_dir)
        super().__init__(catalog.connect(layout.catalog_path))
        self.indexer = indexer
        self.commit_every = commit_every
        self.commit_seconds = commit_seconds
        self._batch_writes = 0
        self._batch_started: float | None = None

    # -- catalog batches -----------------------------------------------------

    @contextmanager
    def _catalog_write(self) -> Iterator[sqlite3.Connection]:
        """One all-or-nothing catalog write, inside the current batch transaction."""
        if self._batch_started is None:
            self.conn.execute("BEGIN IMMEDIATE")
            self._batch_started = time.monotonic()
        self.conn.execute("SAVEPOINT catalog_write")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK TO catalog_write")
            self.conn.execute("RELEASE catalog_write")
            raise
        self.conn.execute("RELEASE catalog_write")
        self._batch_writes += 1
        if (
            self._batch_writes >= self.commit_every
            or time.monotonic() - self._batch_started >= self.commit_seconds
        ):
            self.commit()

    def commit(self) -> None:
        """Commit the catalog writes batched so far (a no-op when there are none)."""
        if self._batch_started is not None:
            self.conn.execute("COMMIT")
            self._batch_started = None
            self._batch_writes = 0

    # -- writing -------------------------------------------------------------

    def add_capture(self, capture: catalog.Capture) -> None:
        """Index one WARC response or revisit record as a capture."""
        with self._catalog_write():
            catalog.add_capture(self.conn, capture)

    def store_record(
        self,
        record: Mapping[str, Any],
        *,
        record_json: str | None = None,
        run_id: str | None = None,
        listed: bool | None = None,
    ) -> tuple[StoredVersion, catalog.PutResult]:
        """Write the record's JSON (atomic), then its catalog rows (one transaction).

        ``record_json`` is the record's compact JSON when the caller has it.
        The article's events (:mod:`archive.storage.events`) are written in
        the same transaction as its version; their kinds are in the result's
        ``events``. ``listed``: whether the run saw the article on a
        listing page (True), walked the whole listing without it (False), or
        cannot tell (None).
        """
        stored = self.store.put(record)
        relative = str(stored.path.relative_to(self.layout.records_dir))
        with self._catalog_write():
            before = events.article_before(self.conn, str(record["url"]))
            result = catalog.put_record(
                self.conn,
                record,
                relative,
                digest=stored.content_hash,
                record_json=record_json,
            )
            kinds = events.after_store(
                self.conn, before, result, record, run_id=run_id, listed=listed
            )
            result = dataclasses.replace(result, events=tuple(kinds))
            catalog.clear_failure(self.conn, str(record["url"]))
            if self.indexer is not None:
                self.indexer(self.conn, result.article_id, record)
        return stored, result

    def record_failure(self, url: str, reason: str, detail: str, when: str) -> None:
        with self._catalog_write():
            catalog.record_failure(self.conn, url, reason, detail, when)

    def mark_unchanged(
        self, url: str, when: str, *, run_id: str | None = None, listed: bool | None = None
    ) -> str | None:
        """An archived article answered unchanged; the kind of event that made, if any."""
        with self._catalog_write():
            return events.note_answered(self.conn, url, when, run_id=run_id, listed=listed)

    def mark_listed(
        self, urls: Iterable[str], when: str, *, run_id: str | None = None
    ) -> list[str]:
        """Archived articles seen on a listing page at ``when``; the kinds of events made."""
        with self._catalog_write():
            kinds = [events.note_listed(self.conn, url, when, run_id=run_id) for url in urls]
        return [kind for kind in kinds if kind]

    def mark_gone(
        self,
        url: str,
        when: str,
        *,
        how: str,
        location: str | None = None,
        run_id: str | None = None,
    ) -> str | None:
        """An archived article answered 404/410 or redirected away: ``removed``, or None."""
        with self._catalog_write():
            return events.note_gone(self.conn, url, when, run_id=run_id, how=how, location=location)

    def close(self) -> None:
        """Commit what is batched and close the catalog."""
        self.commit()
        self.conn.close()
