"""The catalog: a SQLite database (WAL mode) that indexes the archive.

The WARC files and the JSON records are the source of truth; the catalog is
derived from them and can always be rebuilt (:func:`rebuild`). Tables:

``articles``
    one row per article: ``url``, ``site`` (host), VSB ``column_id``/``news_id``,
    ``column_name``, ``first_seen``, ``last_seen``, ``last_checked`` (last fetch
    or conditional check), ``current_version_id``, the current ``title`` and
    ``published_at``, and its ``status`` (``listed``, ``unlisted``, ``removed``)
    since ``status_since``, with ``last_listed`` (last seen on a listing page).
``versions``
    one row per distinct content of an article: ``content_hash``, the
    ``record_json``, ``fetched_at``, the WARC pointer of the response it was
    parsed from, and ``record_path`` (the JSON file, relative to records/).
``captures``
    one row per response or revisit record in the WARCs: ``url``,
    ``fetched_at``, ``status``, ``record_type``, WARC pointer,
    ``payload_digest``, ``record_id``, ``etag``, ``last_modified``.
``failures``
    one row per article URL that could not be archived and is still missing:
    ``reason``, ``detail``, ``first_failed``, ``last_failed``, ``attempts``.
    The next run tries these again; a success deletes the row.
``events``
    what happened to an article, one row per event: ``kind`` (``new``,
    ``edited``, ``removed``, ``unlisted``, ``restored``), ``seen_at``, the
    ``run_id``, the versions before and after, and ``detail_json``.
``runs``
    one row per crawl run, with its JSON summary.
``changes`` (a view)
    each event with its article's URL, title, site, column and status.
``meta``
    key/value facts about the archive (``schema_version``, ``walk_complete``).

Every write happens in a transaction, so a kill leaves either the old state
or the new, never half of a row set.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive.storage.records import content_hash, dumps
from archive.storage.warc import WarcPointer
from record import upgrade

#: Version of the catalog's tables; ``meta.schema_version`` holds the version an
#: archive's catalog was made in. An older catalog is migrated when it is opened
#: for writing (:data:`_MIGRATIONS`); a read-only one is refused with
#: :class:`CatalogTooOld`, a newer one with :class:`CatalogTooNew`.
CATALOG_SCHEMA_VERSION = 2

EVENT_KINDS = ("new", "edited", "removed", "unlisted", "restored")
ARTICLE_STATUSES = ("listed", "unlisted", "removed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    column_id INTEGER,
    news_id INTEGER,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    last_checked TEXT NOT NULL,
    current_version_id INTEGER REFERENCES versions(id),
    title TEXT,
    published_at TEXT,
    site TEXT,
    column_name TEXT,
    status TEXT NOT NULL DEFAULT 'listed',
    status_since TEXT,
    last_listed TEXT
);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published_at);
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id),
    content_hash TEXT NOT NULL,
    record_json TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    warc_file TEXT NOT NULL,
    warc_offset INTEGER NOT NULL,
    warc_length INTEGER NOT NULL,
    record_path TEXT,
    UNIQUE (article_id, content_hash)
);
CREATE TABLE IF NOT EXISTS captures (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    status INTEGER,
    record_type TEXT NOT NULL,
    warc_file TEXT NOT NULL,
    warc_offset INTEGER NOT NULL,
    warc_length INTEGER NOT NULL,
    payload_digest TEXT,
    record_id TEXT NOT NULL UNIQUE,
    etag TEXT,
    last_modified TEXT
);
CREATE INDEX IF NOT EXISTS captures_url ON captures(url, fetched_at);
CREATE TABLE IF NOT EXISTS failures (
    url TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    detail TEXT,
    first_failed TEXT NOT NULL,
    last_failed TEXT NOT NULL,
    attempts INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id),
    kind TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    run_id TEXT,
    from_version_id INTEGER REFERENCES versions(id),
    to_version_id INTEGER REFERENCES versions(id),
    detail_json TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    exit_code INTEGER,
    summary_json TEXT
);
"""

#: Indexes on columns a migration adds: created after the migrations ran.
_INDEXES = """
CREATE INDEX IF NOT EXISTS articles_site_column ON articles(site, column_name);
CREATE INDEX IF NOT EXISTS articles_checked ON articles(last_checked);
CREATE INDEX IF NOT EXISTS events_seen ON events(seen_at);
CREATE INDEX IF NOT EXISTS events_article ON events(article_id, seen_at);
CREATE VIEW IF NOT EXISTS changes AS
SELECT e.id AS event_id, e.seen_at, e.kind, e.detail_json, e.article_id, a.url, a.title,
       a.site, a.column_name, a.status, e.run_id, e.from_version_id, e.to_version_id
FROM events e JOIN articles a ON a.id = e.article_id;
"""


class CatalogVersionError(Exception):
    """The catalog was made in a version this code cannot use as it is."""


class CatalogTooOld(CatalogVersionError):
    """An older catalog that cannot be migrated here (opened read-only)."""


class CatalogTooNew(CatalogVersionError):
    """A catalog made by a newer uir-news."""


def _site_of_url(url: str) -> str:
    from record import site_of

    return site_of(url)


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """Version 2: sites, column names, article status and events (issues #12, #14).

    ``site`` comes from each URL, ``column_name`` from the current record;
    every article starts ``listed``.
    """
    have = {str(row[1]) for row in conn.execute("PRAGMA table_info(articles)")}
    for column, kind in (
        ("site", "TEXT"),
        ("column_name", "TEXT"),
        ("status", "TEXT NOT NULL DEFAULT 'listed'"),
        ("status_since", "TEXT"),
        ("last_listed", "TEXT"),
    ):
        if column not in have:
            conn.execute(f"ALTER TABLE articles ADD COLUMN {column} {kind}")
    conn.create_function("uir_site_of", 1, _site_of_url, deterministic=True)
    conn.execute(
        "UPDATE articles SET site = uir_site_of(url), column_name = (SELECT "
        "json_extract(v.record_json, '$.column') FROM versions v WHERE v.id = current_version_id)"
    )


#: Migrations by the version they start from; each brings the tables one version up.
_MIGRATIONS = {1: _migrate_1_to_2}


def catalog_version(conn: sqlite3.Connection) -> int | None:
    """The ``schema_version`` the catalog says it was made in (None: a new, empty catalog)."""
    try:
        value = get_meta(conn, "schema_version")
    except sqlite3.OperationalError:
        return None  # no meta table yet
    return None if value is None else int(value)


def _bring_up_to_date(conn: sqlite3.Connection) -> None:
    """Create a new catalog's tables, or migrate an older one, in one transaction.

    A catalog already at this version is left alone: no write, so a reader
    opening it never waits for a crawl's transaction.
    """
    if catalog_version(conn) == CATALOG_SCHEMA_VERSION:
        return
    with transaction(conn):
        version = catalog_version(conn)
        if version is not None and version > CATALOG_SCHEMA_VERSION:
            raise CatalogTooNew(
                f"the catalog is version {version}, made by a newer uir-news "
                f"(this one reads up to {CATALOG_SCHEMA_VERSION})"
            )
        while version is not None and version < CATALOG_SCHEMA_VERSION:
            _MIGRATIONS[version](conn)
            version += 1
        conn.execute("DROP VIEW IF EXISTS changes")  # no data: made again as defined today
        # One statement at a time: executescript() would commit the transaction.
        for statement in (_SCHEMA + _INDEXES).split(";"):
            if statement.strip():
                conn.execute(statement)
        set_meta(conn, "schema_version", str(CATALOG_SCHEMA_VERSION))


def stored_version(path: Path) -> int | None:
    """The version the catalog at ``path`` was made in, read without checking or changing it."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return catalog_version(conn)
    finally:
        conn.close()


def check_version(conn: sqlite3.Connection) -> None:
    """Refuse a catalog (opened read-only) whose version this code does not read."""
    version = catalog_version(conn)
    if version is None or version == CATALOG_SCHEMA_VERSION:
        return
    if version > CATALOG_SCHEMA_VERSION:
        raise CatalogTooNew(
            f"the catalog is version {version}, made by a newer uir-news "
            f"(this one reads up to {CATALOG_SCHEMA_VERSION})"
        )
    raise CatalogTooOld(
        f"the catalog is version {version} and this uir-news reads version "
        f"{CATALOG_SCHEMA_VERSION}; it is upgraded when opened with write access "
        "(any crawl, or `uir-news upgrade`)"
    )


@dataclass(frozen=True)
class Capture:
    url: str
    fetched_at: str
    status: int | None
    record_type: str
    pointer: WarcPointer
    payload_digest: str | None
    record_id: str
    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def with_validators(cls, response_headers: Iterable[tuple[str, str]], **fields: Any) -> Capture:
        """A capture whose ETag and Last-Modified come from the response's headers.

        The crawl (from the fetch) and a rebuild (from the WARC record) both
        make captures this way, so a re-check sends the same validators.
        """
        headers = {name.lower(): value for name, value in response_headers}
        return cls(etag=headers.get("etag"), last_modified=headers.get("last-modified"), **fields)


@dataclass(frozen=True)
class PutResult:
    article_id: int
    version_id: int
    new_article: bool
    new_version: bool
    #: Kinds of the events the store wrote (see archive.storage.events).
    events: tuple[str, ...] = ()


def writable(path: Path) -> bool:
    """Whether the catalog at ``path`` (and its folder, for the WAL files) can be written."""
    folder = path.parent if path.parent.exists() else path.parent.parent
    if not os.access(folder, os.W_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


def connect(path: Path, *, readonly: bool | None = None) -> sqlite3.Connection:
    """Open (creating if needed) the catalog at ``path`` in WAL mode.

    ``readonly`` (by default: when the archive cannot be written, as on a
    read-only mount or for a user without write permission) opens it with
    ``mode=ro``, creating and changing nothing. A WAL catalog whose folder
    cannot be written is opened ``immutable``: nothing can change it meanwhile.
    """
    if readonly is None:
        readonly = not writable(path)
    if readonly:
        return _connect_readonly(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives a killed process; only power loss can
        # drop the last commits, and rebuild() recovers those from the files.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        _bring_up_to_date(conn)
    except BaseException:
        conn.close()  # a locked or corrupt file: no half-opened connection left behind
        raise
    return conn


class ReadOnlyConnection(sqlite3.Connection):
    """A catalog connection opened with ``mode=ro``: readers skip every write."""


def _connect_readonly(path: Path) -> sqlite3.Connection:
    uri = path.resolve().as_uri()
    last: sqlite3.Error | None = None
    for options in ("mode=ro", "mode=ro&immutable=1"):
        conn = sqlite3.connect(
            f"{uri}?{options}",
            uri=True,
            isolation_level=None,
            timeout=30,
            factory=ReadOnlyConnection,
        )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            check_version(conn)
        except sqlite3.OperationalError as exc:
            # WAL needs its -shm file, which a read-only folder may not have.
            conn.close()
            last = exc
            continue
        except BaseException:
            conn.close()
            raise
        return conn
    assert last is not None
    raise last


def is_readonly(conn: sqlite3.Connection) -> bool:
    """Whether ``conn`` was opened read-only (see :func:`connect`)."""
    return isinstance(conn, ReadOnlyConnection)


def check(path: Path) -> str | None:
    """Why the catalog at ``path`` is damaged (``PRAGMA quick_check``), or None when sound."""
    try:
        conn = _connect_readonly(path)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()
    return None if rows == ["ok"] else "; ".join(rows)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def add_capture(conn: sqlite3.Connection, capture: Capture) -> None:
    """Record one response/revisit record; a second add of the same id is a no-op."""
    conn.execute(
        "INSERT OR IGNORE INTO captures(url, fetched_at, status, record_type, warc_file, "
        "warc_offset, warc_length, payload_digest, record_id, etag, last_modified) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            capture.url,
            capture.fetched_at,
            capture.status,
            capture.record_type,
            capture.pointer.file,
            capture.pointer.offset,
            capture.pointer.length,
            capture.payload_digest,
            capture.record_id,
            capture.etag,
            capture.last_modified,
        ),
    )


def latest_capture(conn: sqlite3.Connection, url: str) -> sqlite3.Row | None:
    """The newest full response (status 200) archived for ``url``."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM captures WHERE url = ? AND record_type = 'response' AND status = 200 "
        "ORDER BY fetched_at DESC, id DESC LIMIT 1",
        (url,),
    ).fetchone()
    return row


def put_record(
    conn: sqlite3.Connection,
    record: Mapping[str, Any],
    record_path: str | None = None,
    *,
    digest: str | None = None,
    record_json: str | None = None,
) -> PutResult:
    """Insert or update the article of ``record``; add a version if its content is new.

    The current version is the one fetched last, so a page that reverts to an
    earlier text makes that earlier version current again. ``digest`` (its
    content hash) and ``record_json`` (its compact JSON) are computed here
    unless the caller already has them.
    """
    digest = digest or content_hash(record)
    fetched_at = str(record["fetched_at"])
    row = conn.execute(
        "SELECT id, first_seen FROM articles WHERE url = ?", (record["url"],)
    ).fetchone()
    new_article = row is None
    if row is None:
        cursor = conn.execute(
            "INSERT INTO articles(url, site, column_id, news_id, first_seen, last_seen, "
            "last_checked) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record["url"],
                record.get("site") or _site_of_url(str(record["url"])),
                record.get("column_id"),
                record.get("news_id"),
                fetched_at,
                fetched_at,
                fetched_at,
            ),
        )
        article_id = int(cursor.lastrowid or 0)
    else:
        article_id = int(row["id"])
    version = conn.execute(
        "SELECT id FROM versions WHERE article_id = ? AND content_hash = ?", (article_id, digest)
    ).fetchone()
    new_version = version is None
    if version is None:
        warc = record["warc"]
        cursor = conn.execute(
            "INSERT INTO versions(article_id, content_hash, record_json, fetched_at, warc_file, "
            "warc_offset, warc_length, record_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article_id,
                digest,
                record_json or dumps(record, indent=None),
                fetched_at,
                warc["file"],
                warc["offset"],
                warc["length"],
                record_path,
            ),
        )
        version_id = int(cursor.lastrowid or 0)
    else:
        version_id = int(version["id"])
    conn.execute(
        "UPDATE articles SET current_version_id = ?, title = ?, published_at = ?, "
        "column_name = coalesce(?, column_name), "
        "last_seen = max(last_seen, ?), last_checked = max(last_checked, ?), "
        "first_seen = min(first_seen, ?) WHERE id = ?",
        (
            version_id,
            record.get("title"),
            record.get("published_at"),
            record.get("column"),
            fetched_at,
            fetched_at,
            fetched_at,
            article_id,
        ),
    )
    return PutResult(article_id, version_id, new_article, new_version)


def mark_checked(conn: sqlite3.Connection, url: str, when: str) -> None:
    """An article was confirmed unchanged (304 or identical payload) at ``when``."""
    conn.execute(
        "UPDATE articles SET last_seen = max(last_seen, ?), last_checked = max(last_checked, ?) "
        "WHERE url = ?",
        (when, when, url),
    )


def iter_current_records(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    """The current record of every article, newest publication first."""
    cursor = conn.execute(
        "SELECT v.record_json FROM articles a JOIN versions v ON v.id = a.current_version_id "
        "ORDER BY a.published_at DESC, a.id DESC"
    )
    for (text,) in cursor:
        record: dict[str, Any] = upgrade(json.loads(text))
        yield record


def record_run(conn: sqlite3.Connection, summary: dict[str, Any]) -> None:
    """Store (or replace) one run's summary."""
    conn.execute(
        "INSERT OR REPLACE INTO runs(run_id, started_at, finished_at, exit_code, summary_json) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            summary["run_id"],
            summary["started_at"],
            summary.get("finished_at"),
            summary.get("exit_code"),
            json.dumps(summary, ensure_ascii=False),
        ),
    )


def record_failure(conn: sqlite3.Connection, url: str, reason: str, detail: str, when: str) -> None:
    """Note that ``url`` could not be archived; counts attempts across runs."""
    conn.execute(
        "INSERT INTO failures(url, reason, detail, first_failed, last_failed, attempts) "
        "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT(url) DO UPDATE SET reason = excluded.reason, "
        "detail = excluded.detail, last_failed = excluded.last_failed, attempts = attempts + 1",
        (url, reason, detail, when, when),
    )


def clear_failure(conn: sqlite3.Connection, url: str) -> None:
    conn.execute("DELETE FROM failures WHERE url = ?", (url,))


def pending_failures(
    conn: sqlite3.Connection, max_attempts: int, skip_reasons: Iterable[str] = ()
) -> list[str]:
    """Article URLs that failed before, are still missing, and may be tried again.

    Failures whose last reason is one of ``skip_reasons`` are not tried again.
    """
    skipped = sorted(skip_reasons)
    marks = ", ".join("?" * len(skipped))
    return [
        str(row[0])
        for row in conn.execute(
            "SELECT url FROM failures WHERE attempts < ? AND url NOT IN (SELECT url FROM articles) "
            f"AND reason NOT IN ({marks}) ORDER BY last_failed",
            (max_attempts, *skipped),
        )
    ]


def failure_of(conn: sqlite3.Connection, url: str) -> tuple[str, int] | None:
    """The last failure reason noted for ``url`` and how many runs failed on it, or None."""
    row = conn.execute("SELECT reason, attempts FROM failures WHERE url = ?", (url,)).fetchone()
    return None if row is None else (str(row[0]), int(row[1]))
