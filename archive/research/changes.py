"""The events of the archive, for researchers: queries, readable diffs, JSON and an Atom feed.

``uir-news changes`` lists them (:func:`query_events`, newest first), with a
unified diff for each edit (:func:`edit_diff`: title, body, credits one per
line); ``export --format atom`` writes them as an Atom 1.0 feed
(:func:`write_atom`), one entry per event, each linking the archived copy as
``uir-news serve`` shows it (``/-/uir-news/archived/{timestamp}/{url}``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from xml.etree import ElementTree

from archive.storage.events import version_record
from record import CREDIT_ROLES, REVIEW_ROLES, ROLE_LABELS, upgrade

#: The kinds of event, as the catalog stores them (archive.storage.catalog.EVENT_KINDS).
KINDS = ("new", "edited", "removed", "unlisted", "restored")

#: Where ``uir-news serve`` listens by default: the base of the feed's links.
DEFAULT_BASE_URL = "http://127.0.0.1:8001"

ATOM_NS = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class Event:
    """One event, with what a reader needs of its article."""

    id: int
    kind: str
    seen_at: str
    run_id: str | None
    article_id: int
    url: str
    title: str | None
    site: str | None
    column: str | None
    from_version_id: int | None
    to_version_id: int | None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> list[str]:
        """The fields an edit changed (empty for other kinds)."""
        return [str(name) for name in self.detail.get("changed", [])]

    def summary(self) -> str:
        """One line: what happened (an edit's fields, how a removal was seen)."""
        return event_summary(self.kind, self.detail)

    def to_json(self, diff: list[str] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "url": self.url,
            "title": self.title,
            "seen_at": self.seen_at,
            "article_id": self.article_id,
            "event_id": self.id,
            "run_id": self.run_id,
            "site": self.site,
            "column": self.column,
            "from_version_id": self.from_version_id,
            "to_version_id": self.to_version_id,
            "changed": self.changed,
            "detail": self.detail,
        }
        if diff is not None:
            data["diff"] = diff
        return data


def event_summary(kind: str, detail: dict[str, Any]) -> str:
    """One line: what an event of ``kind`` with ``detail`` (its detail_json) says happened."""
    if kind == "edited":
        return f"edited: {', '.join(str(name) for name in detail.get('changed', []))}"
    if kind == "removed":
        how = str(detail.get("how", ""))
        words = {"http_404": "answers 404", "http_410": "answers 410 Gone"}
        said = words.get(how, f"redirects to {detail.get('location', '?')}")
        return f"removed: {said}"
    if kind == "restored":
        return f"restored after {detail.get('from', 'removed')}"
    if kind == "unlisted":
        return "unlisted: gone from the listing, still served"
    return "new"


def query_events(
    conn: sqlite3.Connection,
    *,
    since: str | None = None,
    until: str | None = None,
    kinds: Sequence[str] = (),
    article_id: int | None = None,
    site: str | None = None,
    column: str | None = None,
    limit: int | None = None,
    oldest_first: bool = False,
) -> list[Event]:
    """Events, newest first (``oldest_first``: in order), filtered as asked.

    ``since``/``until`` bound ``seen_at`` (UTC ISO 8601 text; a bare date
    ``until`` includes that whole day); ``site`` and ``column`` are the
    article's (``articles.site``, ``articles.column_name``).
    """
    where: list[str] = []
    params: list[Any] = []
    if since:
        where.append("e.seen_at >= ?")
        params.append(since)
    if until:
        where.append("e.seen_at <= ?")
        params.append(until + "T23:59:59Z" if len(until) == 10 else until)
    if kinds:
        where.append(f"e.kind IN ({', '.join('?' * len(kinds))})")
        params.extend(kinds)
    if article_id is not None:
        where.append("e.article_id = ?")
        params.append(article_id)
    if site is not None:
        where.append("a.site = ?")
        params.append(site)
    if column is not None:
        where.append("a.column_name = ?")
        params.append(column)
    order = "ASC" if oldest_first else "DESC"
    sql = (
        "SELECT e.id, e.kind, e.seen_at, e.run_id, e.article_id, a.url, "
        "coalesce(json_extract(v.record_json, '$.title'), a.title) AS title, a.site, "
        "a.column_name, e.from_version_id, e.to_version_id, e.detail_json "
        "FROM events e JOIN articles a ON a.id = e.article_id "
        "LEFT JOIN versions v ON v.id = coalesce(e.to_version_id, e.from_version_id)"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY e.seen_at {order}, e.id {order}"
    )
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return [
        Event(
            id=int(row[0]),
            kind=str(row[1]),
            seen_at=str(row[2]),
            run_id=row[3],
            article_id=int(row[4]),
            url=str(row[5]),
            title=row[6],
            site=row[7],
            column=row[8],
            from_version_id=row[9],
            to_version_id=row[10],
            detail=json.loads(row[11]) if row[11] else {},
        )
        for row in conn.execute(sql, params)
    ]


def event_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many events of each kind the archive holds (every kind, 0 when none)."""
    counts = dict.fromkeys(KINDS, 0)
    for kind, count in conn.execute("SELECT kind, count(*) FROM events GROUP BY kind"):
        counts[str(kind)] = int(count)
    return counts


def _record(conn: sqlite3.Connection, version_id: int | None) -> dict[str, Any]:
    """A version's record, read as today's format (empty when there is none)."""
    record = version_record(conn, version_id)
    return upgrade(record) if record else {}


def _credit_lines(record: dict[str, Any]) -> list[str]:
    """Credits as a reader sees them: one ``label：name`` line per name."""
    lines = []
    reviewers = record.get("reviewers") or {}
    credits = record.get("credits") or {}
    labels = record.get("role_labels") or {}
    for role in (*REVIEW_ROLES, *CREDIT_ROLES):
        names = reviewers.get(role) if role in REVIEW_ROLES else credits.get(role)
        for name in names or []:
            lines.append(f"{labels.get(role) or ROLE_LABELS[role]}：{name}")
    return lines


def edit_diff(conn: sqlite3.Connection, event: Event) -> list[str]:
    """A unified diff of an edit: title, body (a paragraph per line), credits (a name per line)."""
    if event.kind != "edited":
        return []
    return records_diff(
        _record(conn, event.from_version_id), _record(conn, event.to_version_id), event.changed
    )


def records_diff(old: dict[str, Any], new: dict[str, Any], changed: Sequence[str]) -> list[str]:
    """A unified diff of two versions' records: title, date, body, credits, and the images
    and attachments when they are among the ``changed`` fields."""
    lines: list[str] = []
    for name, before, after in (
        ("title", [str(old.get("title") or "")], [str(new.get("title") or "")]),
        (
            "published_at",
            [str(old.get("published_at") or "")],
            [str(new.get("published_at") or "")],
        ),
        (
            "body",
            str(old.get("body_text") or "").splitlines(),
            str(new.get("body_text") or "").splitlines(),
        ),
        ("credits", _credit_lines(old), _credit_lines(new)),
    ):
        lines.extend(
            difflib.unified_diff(
                before, after, fromfile=f"{name} (before)", tofile=f"{name} (after)", lineterm=""
            )
        )
    for name in ("images", "attachments"):
        if name in changed:
            before = [json.dumps(i, ensure_ascii=False) for i in old.get(name) or []]
            after = [json.dumps(i, ensure_ascii=False) for i in new.get(name) or []]
            lines.extend(
                difflib.unified_diff(
                    before,
                    after,
                    fromfile=f"{name} (before)",
                    tofile=f"{name} (after)",
                    lineterm="",
                )
            )
    return lines


# -- Atom ------------------------------------------------------------------------------


def entry_id(event: Event) -> str:
    """A stable id for an event's feed entry: the same after a catalog rebuild."""
    key = f"{event.url}\n{event.kind}\n{event.seen_at}"
    return "urn:uir-news:event:" + hashlib.sha1(key.encode("utf-8")).hexdigest()


def archived_link(base_url: str, event: Event, when: str) -> str:
    """The ``serve`` page of the archived copy of the event's article nearest to ``when``."""
    # Not at start-up: the web pages module imports the replay machinery.
    from archive.research.web.pages import archived_href

    return base_url.rstrip("/") + archived_href(when, event.url)


def _version_time(conn: sqlite3.Connection, version_id: int | None) -> str | None:
    if version_id is None:
        return None
    row = conn.execute("SELECT fetched_at FROM versions WHERE id = ?", (version_id,)).fetchone()
    return None if row is None else str(row[0])


def write_atom(
    conn: sqlite3.Connection,
    events: Iterable[Event],
    out: IO[str],
    *,
    base_url: str = DEFAULT_BASE_URL,
    title: str = "uir-news: changes in the archive",
    feed_id: str = "urn:uir-news:changes",
) -> int:
    """Write an Atom 1.0 feed of ``events`` (newest first) to ``out``; returns the entry count.

    Each entry links the archived copy: for a removal, the last version
    before it (the page no longer answers); otherwise the copy seen then.
    """
    ElementTree.register_namespace("", ATOM_NS)

    def sub(parent: ElementTree.Element, tag: str, text: str | None = None, **attrs: str) -> Any:
        element = ElementTree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    events = list(events)
    feed = ElementTree.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", feed_id)
    sub(feed, "title", title)
    sub(feed, "updated", events[0].seen_at if events else "1970-01-01T00:00:00Z")
    author = sub(feed, "author")
    sub(author, "name", "uir-news")
    sub(feed, "generator", "uir-news")
    for event in events:
        entry = sub(feed, "entry")
        sub(entry, "id", entry_id(event))
        sub(entry, "title", f"[{event.kind}] {event.title or event.url}")
        sub(entry, "updated", event.seen_at)
        when = event.seen_at
        if event.kind in ("removed", "unlisted"):
            when = _version_time(conn, event.from_version_id) or event.seen_at
        sub(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=archived_link(base_url, event, when),
        )
        sub(entry, "link", rel="related", href=event.url)
        sub(entry, "category", term=event.kind)
        text = [event.summary(), f"URL: {event.url}", f"run: {event.run_id or '-'}"]
        diff = edit_diff(conn, event)
        if diff:
            text += ["", *diff]
        sub(entry, "content", "\n".join(text), type="text")
    ElementTree.indent(feed)
    out.write('<?xml version="1.0" encoding="utf-8"?>\n')
    out.write(ElementTree.tostring(feed, encoding="unicode"))
    out.write("\n")
    return len(events)
