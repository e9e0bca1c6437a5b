"""Selecting articles from the catalog: filters shared by search, export and stats.

Every statement here is assembled from fixed SQL fragments; user input only
ever travels as a bound parameter.
"""

from __future__ import annotations

import calendar
import difflib
import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from archive.storage.records import VOLATILE_FIELDS
from archive.storage.warc import WarcPointer, read_record
from record import CREDIT_ROLES, REVIEW_ROLES, upgrade

__all__ = ["CREDIT_ROLES", "REVIEW_ROLES"]  # re-exported for the research modules


class FilterError(ValueError):
    """A filter value that cannot be understood (bad date, unknown role)."""


_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def date_bound(text: str, *, end: bool) -> str:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as an inclusive ``YYYY-MM-DD`` bound.

    A year or month stands for its first day as a start and its last day as an
    end, so ``--since 2024 --until 2024`` is the whole of 2024.
    """
    match = _DATE.match(text.strip())
    if match is None:
        raise FilterError(f"not a date: {text!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else (12 if end else 1)
    if not 1 <= month <= 12:
        raise FilterError(f"not a date: {text!r} (month {month})")
    last = calendar.monthrange(year, month)[1]
    day = int(match.group(3)) if match.group(3) else (last if end else 1)
    if not 1 <= day <= last:
        raise FilterError(f"not a date: {text!r} (day {day})")
    return f"{year:04d}-{month:02d}-{day:02d}"


@dataclass(frozen=True)
class Filters:
    """What to keep; an empty Filters keeps every article.

    ``since``/``until`` are inclusive ``YYYY-MM-DD`` bounds on the publication
    date (articles without a date are left out when either is set);
    ``reviewer`` is an exact name in any review role, or only in ``role``;
    ``credit`` is an exact name under any credit key; ``column`` is the
    column's name as the page prints it (``article_facts.column_name``) or as
    the crawl's configuration named it; ``site`` is the site (``host[:port]``,
    the record's ``site``).
    """

    since: str | None = None
    until: str | None = None
    reviewer: str | None = None
    role: str | None = None
    credit: str | None = None
    has_attachments: bool = False
    column: str | None = None
    site: str | None = None

    def __post_init__(self) -> None:
        if self.role is not None and self.role not in REVIEW_ROLES:
            raise FilterError(f"unknown role {self.role!r} (choose from {', '.join(REVIEW_ROLES)})")
        if self.role is not None and self.reviewer is None:
            raise FilterError("--role needs --reviewer NAME")
        if self.since and self.until and self.since > self.until:
            raise FilterError(f"--since {self.since} is after --until {self.until}")


def check_scope(conn: sqlite3.Connection, site: str | None, column: str | None) -> None:
    """FilterError when no archived article is on ``site``, in ``column``, or in both.

    A misspelt ``--site`` or ``--column`` would otherwise read as "nothing
    matches" (an empty export, exit 0): the message names what the archive holds.
    """
    if site is not None:
        sites = [str(row[0]) for row in conn.execute("SELECT DISTINCT site FROM articles")]
        if site.lower() not in sites:
            raise FilterError(
                f"--site {site}: no article of the archive is on it (its sites: {_listed(sites)})"
            )
    if column is not None:
        where, params = ("WHERE site = ?", [site.lower()]) if site is not None else ("", [])
        names = [
            str(row[0])
            for row in conn.execute(f"SELECT DISTINCT column_name FROM articles {where}", params)
            if row[0] is not None
        ]
        if column not in names:
            on = f" on {site}" if site is not None else ""
            raise FilterError(
                f"--column {column}: no article of the archive{on} is in it "
                f"(its columns: {_listed(names)})"
            )


def _listed(names: list[str], most: int = 12) -> str:
    names = sorted(set(names))
    if not names:
        return "none yet"
    more = f", ... {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


@dataclass(frozen=True)
class MatchClause:
    """A compiled full-text condition (see :mod:`archive.research.search`).

    ``fts`` is an FTS5 MATCH expression for the ``search_fts`` table (bound as a
    parameter), ``verify_sql`` an optional exact predicate over the
    ``search_text`` row aliased ``t``, with its ``verify_params``.
    """

    fts: str
    verify_sql: str | None = None
    verify_params: tuple[Any, ...] = ()
    rank_sql: str = "bm25(search_fts)"


@dataclass
class Select:
    """A SELECT over ``articles a`` with the joins the filters and match need."""

    columns: Sequence[str]
    filters: Filters = field(default_factory=Filters)
    joins: Sequence[str] = ()
    match: MatchClause | None = None
    #: Extra conditions (fixed SQL with ``?``) and their parameters.
    where: Sequence[str] = ()
    where_params: Sequence[Any] = ()
    order_by: str = "a.published_at DESC, a.id DESC"
    limit: int | None = None

    def build(self) -> tuple[str, list[Any]]:
        params: list[Any] = []
        joins: list[str] = list(self.joins)
        where: list[str] = []
        source = "articles a"
        if self.match is not None:
            # CROSS JOIN pins the FTS scan as the outer loop: otherwise the
            # planner may run the MATCH once per candidate row (seconds, not ms).
            source = "search_fts CROSS JOIN articles a ON a.id = search_fts.rowid"
            where.append("search_fts MATCH ?")
            params.append(self.match.fts)
            if self.match.verify_sql is not None:
                joins.append("JOIN search_text t ON t.article_id = a.id")
                where.append(self.match.verify_sql)
                params.extend(self.match.verify_params)
        joins.append("LEFT JOIN article_facts f ON f.article_id = a.id")
        where.extend(self.where)
        params.extend(self.where_params)
        f = self.filters
        if f.since is not None:
            where.append("f.published_date >= ?")
            params.append(f.since)
        if f.until is not None:
            where.append("f.published_date <= ?")
            params.append(f.until)
        if f.reviewer is not None:
            roles = (f.role,) if f.role else REVIEW_ROLES
            # An uncorrelated IN list is built once from the name index, then
            # probed per candidate; a correlated EXISTS re-read it per row.
            where.append(
                "a.id IN (SELECT p.article_id FROM article_people p "
                f"WHERE p.name = ? AND p.role IN ({', '.join('?' * len(roles))}))"
            )
            params.append(f.reviewer)
            params.extend(roles)
        if f.credit is not None:
            where.append(
                "a.id IN (SELECT p.article_id FROM article_people p "
                "WHERE p.name = ? AND p.kind = 'credit')"
            )
            params.append(f.credit)
        if f.has_attachments:
            where.append("f.has_attachments = 1")
        if f.column is not None:
            where.append("f.column_name = ?")
            params.append(f.column)
        if f.site is not None:
            where.append("a.site = ?")
            params.append(f.site.lower())
        sql = f"SELECT {', '.join(self.columns)} FROM {source} {' '.join(joins)}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {self.order_by}"
        if self.limit is not None:
            sql += " LIMIT ?"
            params.append(int(self.limit))
        return sql, params


@dataclass(frozen=True)
class ArticleRow:
    """One article's current record with the catalog's own facts about it."""

    article_id: int
    first_seen: str
    last_seen: str
    record: dict[str, Any]
    #: listed, unlisted or removed (see `uir-news changes`), and since when (UTC).
    status: str = "listed"
    status_since: str | None = None


def iter_articles(
    conn: sqlite3.Connection,
    filters: Filters | None = None,
    match: MatchClause | None = None,
    *,
    batch_size: int = 500,
) -> Iterator[ArticleRow]:
    """Current records that pass ``filters`` (and ``match``), newest first.

    Streams from a cursor in batches, so memory does not grow with the archive.
    """
    select = Select(
        columns=(
            "a.id",
            "a.first_seen",
            "a.last_seen",
            "v.record_json",
            "a.status",
            "a.status_since",
        ),
        filters=filters or Filters(),
        match=match,
        joins=("JOIN versions v ON v.id = a.current_version_id",),
    )
    sql, params = select.build()
    cursor = conn.execute(sql, params)
    while True:
        rows = cursor.fetchmany(batch_size)
        if not rows:
            return
        for article_id, first_seen, last_seen, text, status, status_since in rows:
            yield ArticleRow(
                int(article_id),
                str(first_seen),
                str(last_seen),
                upgrade(json.loads(text)),
                str(status or "listed"),
                status_since,
            )


def resolve_article(conn: sqlite3.Connection, ref: str) -> int | None:
    """The id of the article named by ``ref``: a catalog id, a URL or a VSB news id."""
    ref = ref.strip()
    row = conn.execute("SELECT id FROM articles WHERE url = ?", (ref,)).fetchone()
    if row is None and ref.isdigit():
        row = conn.execute("SELECT id FROM articles WHERE id = ?", (int(ref),)).fetchone()
        if row is None:
            row = conn.execute(
                "SELECT id FROM articles WHERE news_id = ? ORDER BY id LIMIT 1", (int(ref),)
            ).fetchone()
    return None if row is None else int(row[0])


@dataclass(frozen=True)
class Version:
    version_id: int
    fetched_at: str
    content_hash: str
    warc_file: str
    warc_offset: int
    warc_length: int
    record: dict[str, Any]


def article_versions(conn: sqlite3.Connection, article_id: int) -> list[Version]:
    """Every version of an article, oldest first."""
    return [
        Version(
            int(r[0]),
            str(r[1]),
            str(r[2]),
            str(r[3]),
            int(r[4]),
            int(r[5]),
            upgrade(json.loads(r[6])),
        )
        for r in conn.execute(
            "SELECT id, fetched_at, content_hash, warc_file, warc_offset, warc_length, "
            "record_json FROM versions WHERE article_id = ? ORDER BY fetched_at, id",
            (article_id,),
        )
    ]


def article_captures(conn: sqlite3.Connection, url: str) -> list[sqlite3.Row]:
    """Every response/revisit archived for ``url``, oldest first."""
    return list(
        conn.execute(
            "SELECT fetched_at, status, record_type, warc_file, warc_offset, warc_length, "
            "payload_digest FROM captures WHERE url = ? ORDER BY fetched_at, id",
            (url,),
        )
    )


def version_changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(fields whose value differs, unified diff lines of body_text), volatile fields ignored."""
    fields = sorted(
        key
        for key in set(old) | set(new)
        if key not in VOLATILE_FIELDS and old.get(key) != new.get(key)
    )
    diff = list(
        difflib.unified_diff(
            str(old.get("body_text") or "").splitlines(),
            str(new.get("body_text") or "").splitlines(),
            fromfile="body_text (before)",
            tofile="body_text (after)",
            lineterm="",
        )
    )
    return fields, diff


@dataclass(frozen=True)
class FileCapture:
    """An image or attachment of an article, linked to its newest capture (None: not archived).

    ``file_name`` is the name the server gave the file (``Content-Disposition``
    of its newest full response), None when it gave none or it is not archived.
    """

    url: str
    fetched_at: str | None = None
    status: int | None = None
    record_type: str | None = None
    file_name: str | None = None


def file_capture(conn: sqlite3.Connection, warc_dir: Path, url: str) -> FileCapture:
    """The newest capture of ``url`` (a response or a revisit), read from the catalog.

    The captures table is the link between a record's image or attachment and
    the WARC; the file name is read from the WARC record's headers, so neither
    the record nor the catalog needs a field for it. An unreadable record only
    loses the name.
    """
    newest = conn.execute(
        "SELECT fetched_at, status, record_type FROM captures WHERE url = ? "
        "ORDER BY fetched_at DESC, id DESC LIMIT 1",
        (url,),
    ).fetchone()
    if newest is None:
        return FileCapture(url)
    full = conn.execute(
        "SELECT warc_file, warc_offset, warc_length FROM captures WHERE url = ? "
        "AND record_type = 'response' AND status = 200 ORDER BY fetched_at DESC, id DESC LIMIT 1",
        (url,),
    ).fetchone()
    name = None
    if full is not None:
        pointer = WarcPointer(str(full[0]), int(full[1]), int(full[2]))
        try:
            stored = read_record(warc_dir, pointer)
        except (OSError, ValueError):
            stored = None
        if stored is not None:
            name = next(
                (
                    disposition_file_name(value)
                    for key, value in stored.headers
                    if key.lower() == "content-disposition"
                ),
                None,
            )
    status = newest[1]
    return FileCapture(
        url, str(newest[0]), None if status is None else int(status), str(newest[2]), name
    )


_FILENAME_STAR = re.compile(r"""filename\*\s*=\s*([\w-]*)'[^']*'([^;\s]+)""", re.I)
_FILENAME = re.compile(r"""filename\s*=\s*(?:"([^"]*)"|([^;]+))""", re.I)


def disposition_file_name(value: str) -> str | None:
    """The file name of a ``Content-Disposition`` header value; None when it names none.

    ``filename*=UTF-8''%E9%99%84...`` (RFC 6266) wins over ``filename=``. A
    plain ``filename=`` in raw UTF-8 or GBK bytes (as Chinese servers send it;
    the header was read as Latin-1) is decoded as such.
    """
    if match := _FILENAME_STAR.search(value):
        charset = match.group(1) or "utf-8"
        try:
            return unquote(match.group(2), encoding=charset, errors="strict") or None
        except (LookupError, UnicodeDecodeError):
            pass
    if match := _FILENAME.search(value):
        name = (match.group(1) if match.group(1) is not None else match.group(2) or "").strip()
        try:
            raw = name.encode("latin-1")
        except UnicodeEncodeError:
            return name or None
        for encoding in ("utf-8", "gb18030"):
            try:
                return unquote(raw.decode(encoding)) or None
            except UnicodeDecodeError:
                continue
        return name or None
    return None
