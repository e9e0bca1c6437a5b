"""What happened to an article: the ``events`` table and the article's ``status``.

One row per event (``kind`` in :data:`catalog.EVENT_KINDS`):

``new``
    the first version of an article was stored;
``edited``
    a later version differs from the one before in what a reader sees
    (:func:`changed_fields`: title, date, body, credits, images, attachments).
    A change only in whitespace, or only in fetch details (volatile fields,
    the sibling links), makes a version but no event;
``removed``
    an archived article answered 404 or 410, or a completed full walk no
    longer listed it and it redirected away (``detail.how``: ``http_404``,
    ``http_410``, ``redirect``);
``unlisted``
    a completed full walk no longer listed it, but it is still served;
``restored``
    it answered again after ``removed``, or came back on the listing after
    ``unlisted`` (``detail.from`` says which).

The status (``articles.status``, ``status_since``) follows the events. These
functions run inside the caller's transaction, the one that stores the
version, so an event and its version are committed together or not at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from archive.storage import catalog

#: What an edit is told by, in the order a reader cares about.
CHANGE_FIELDS = ("title", "date", "body", "credits", "images", "attachments")

_REDIRECT_STATUSES = (301, 302, 303, 307, 308)

#: How a removal was seen.
REMOVED_HOW = ("http_404", "http_410", "redirect")


def _text(value: Any) -> str:
    """Text without its whitespace: a change only in spacing is no edit."""
    return "".join(str(value or "").split())


def _names(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _names(item) for key, item in value.items() if item}
    if isinstance(value, list):
        return [_names(item) for item in value]
    return _text(value) if isinstance(value, str) else value


def _view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a record an edit is about, whitespace-normalized."""
    return {
        "title": _text(record.get("title")),
        "date": record.get("published_at"),
        "body": _text(record.get("body_text")) + "\n" + _text(record.get("body_pdf")),
        "credits": _names(
            {"reviewers": record.get("reviewers") or {}, "credits": record.get("credits") or {}}
        ),
        "images": _names([[i.get("url"), i.get("caption")] for i in record.get("images") or []]),
        "attachments": _names(
            [[a.get("url"), a.get("name")] for a in record.get("attachments") or []]
        ),
    }


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Which of :data:`CHANGE_FIELDS` differ between two records (empty: not an edit)."""
    before, after = _view(old), _view(new)
    return [name for name in CHANGE_FIELDS if before[name] != after[name]]


@dataclass(frozen=True)
class ArticleBefore:
    """An article's row as it was before a store: to tell what the store changed."""

    article_id: int
    status: str
    current_version_id: int | None


def article_before(conn: sqlite3.Connection, url: str) -> ArticleBefore | None:
    row = conn.execute(
        "SELECT id, status, current_version_id FROM articles WHERE url = ?", (url,)
    ).fetchone()
    if row is None:
        return None
    version = row[2]
    return ArticleBefore(int(row[0]), str(row[1]), None if version is None else int(version))


def add_event(
    conn: sqlite3.Connection,
    article_id: int,
    kind: str,
    seen_at: str,
    run_id: str | None,
    *,
    from_version_id: int | None = None,
    to_version_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Insert one event row; returns its id."""
    if kind not in catalog.EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    cursor = conn.execute(
        "INSERT INTO events(article_id, kind, seen_at, run_id, from_version_id, to_version_id, "
        "detail_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            article_id,
            kind,
            seen_at,
            run_id or None,
            from_version_id,
            to_version_id,
            None if detail is None else json.dumps(detail, ensure_ascii=False, sort_keys=True),
        ),
    )
    return int(cursor.lastrowid or 0)


def _set_status(conn: sqlite3.Connection, article_id: int, status: str, since: str) -> None:
    conn.execute(
        "UPDATE articles SET status = ?, status_since = ? WHERE id = ?", (status, since, article_id)
    )


def version_record(conn: sqlite3.Connection, version_id: int | None) -> dict[str, Any]:
    """The record of version ``version_id`` as stored; empty when there is none."""
    if version_id is None:
        return {}
    row = conn.execute("SELECT record_json FROM versions WHERE id = ?", (version_id,)).fetchone()
    return {} if row is None else dict(json.loads(row[0]))


def after_store(
    conn: sqlite3.Connection,
    before: ArticleBefore | None,
    result: catalog.PutResult,
    record: Mapping[str, Any],
    *,
    run_id: str | None,
    listed: bool | None,
) -> list[str]:
    """The events of one stored record (``new``, ``edited``, and presence); their kinds.

    ``before`` is the article's row before :func:`catalog.put_record`;
    ``listed`` whether the run saw the article on a listing page (True), saw
    the whole listing without it (False), or cannot tell (None).
    """
    when = str(record["fetched_at"])
    kinds: list[str] = []
    if before is None:
        add_event(conn, result.article_id, "new", when, run_id, to_version_id=result.version_id)
        kinds.append("new")
        if listed is not None:
            conn.execute(
                "UPDATE articles SET last_listed = ? WHERE id = ? AND ?",
                (when, result.article_id, listed),
            )
        if listed is False:
            _set_status(conn, result.article_id, "unlisted", when)
        return kinds
    if result.new_version and before.current_version_id is not None:
        changed = changed_fields(version_record(conn, before.current_version_id), record)
        if changed:
            add_event(
                conn,
                result.article_id,
                "edited",
                when,
                run_id,
                from_version_id=before.current_version_id,
                to_version_id=result.version_id,
                detail={"changed": changed},
            )
            kinds.append("edited")
    kind = note_presence(
        conn, result.article_id, before.status, listed, when, run_id, result.version_id
    )
    if kind is not None:
        kinds.append(kind)
    return kinds


def note_presence(
    conn: sqlite3.Connection,
    article_id: int,
    status: str,
    listed: bool | None,
    when: str,
    run_id: str | None,
    version_id: int | None,
) -> str | None:
    """The article answered (200 or 304) at ``when``: restored, unlisted, or no event."""
    if listed:
        conn.execute("UPDATE articles SET last_listed = ? WHERE id = ?", (when, article_id))
    if status == "removed" or (status == "unlisted" and listed):
        now = "unlisted" if listed is False else "listed"
        add_event(
            conn,
            article_id,
            "restored",
            when,
            run_id,
            to_version_id=version_id,
            detail={"from": status, "now": now},
        )
        _set_status(conn, article_id, now, when)
        return "restored"
    if status == "listed" and listed is False:
        add_event(conn, article_id, "unlisted", when, run_id, from_version_id=version_id)
        _set_status(conn, article_id, "unlisted", when)
        return "unlisted"
    return None


def note_answered(
    conn: sqlite3.Connection, url: str, when: str, *, run_id: str | None, listed: bool | None
) -> str | None:
    """An archived article answered unchanged (a revisit): its presence events, if any."""
    catalog.mark_checked(conn, url, when)
    before = article_before(conn, url)
    if before is None:
        return None
    return note_presence(
        conn, before.article_id, before.status, listed, when, run_id, before.current_version_id
    )


def note_listed(conn: sqlite3.Connection, url: str, when: str, *, run_id: str | None) -> str | None:
    """An archived article was seen on a listing page: ``restored`` after ``unlisted``, or None.

    A ``removed`` article is restored only when its page answers again.
    """
    before = article_before(conn, url)
    if before is None:
        return None
    if before.status == "removed":
        conn.execute("UPDATE articles SET last_listed = ? WHERE id = ?", (when, before.article_id))
        return None
    return note_presence(
        conn, before.article_id, before.status, True, when, run_id, before.current_version_id
    )


def note_gone(
    conn: sqlite3.Connection,
    url: str,
    when: str,
    *,
    run_id: str | None,
    how: str,
    location: str | None = None,
) -> str | None:
    """An archived article answered 404/410 or redirected away: ``removed`` (once), or None.

    The record and its versions stay; only the status changes. An article not
    in the catalog has nothing to remove (None).
    """
    if how not in REMOVED_HOW:
        raise ValueError(f"unknown way of removal {how!r}")
    before = article_before(conn, url)
    if before is None:
        return None
    conn.execute(
        "UPDATE articles SET last_checked = max(last_checked, ?) WHERE id = ?",
        (when, before.article_id),
    )
    if before.status == "removed":
        return None
    detail: dict[str, Any] = {"how": how, "from": before.status}
    if location:
        detail["location"] = location
    add_event(
        conn,
        before.article_id,
        "removed",
        when,
        run_id,
        from_version_id=before.current_version_id,
        detail=detail,
    )
    _set_status(conn, before.article_id, "removed", when)
    return "removed"


# -- rebuild ----------------------------------------------------------------------------


@dataclass(frozen=True)
class KeptEvent:
    """An event of an old catalog, named by what survives a rebuild (URL, content hashes)."""

    url: str
    kind: str
    seen_at: str
    run_id: str | None
    from_hash: str | None
    to_hash: str | None
    detail_json: str | None


@dataclass(frozen=True)
class KeptStatus:
    url: str
    status: str
    status_since: str | None
    last_listed: str | None


def read_kept(conn: sqlite3.Connection) -> tuple[list[KeptEvent], list[KeptStatus]]:
    """Every event and article status of a catalog, to be carried over by a rebuild."""
    events = [
        KeptEvent(*row)
        for row in conn.execute(
            "SELECT a.url, e.kind, e.seen_at, e.run_id, vf.content_hash, vt.content_hash, "
            "e.detail_json FROM events e JOIN articles a ON a.id = e.article_id "
            "LEFT JOIN versions vf ON vf.id = e.from_version_id "
            "LEFT JOIN versions vt ON vt.id = e.to_version_id ORDER BY e.id"
        )
    ]
    statuses = [
        KeptStatus(*row)
        for row in conn.execute("SELECT url, status, status_since, last_listed FROM articles")
    ]
    return events, statuses


def carry_over(
    conn: sqlite3.Connection, events: Iterable[KeptEvent], statuses: Iterable[KeptStatus]
) -> int:
    """Write kept events and statuses into a rebuilt catalog; returns the events written.

    Articles and versions are found again by URL and content hash; an event
    of an article the files no longer hold is dropped.
    """
    ids = {str(url): int(i) for i, url in conn.execute("SELECT id, url FROM articles")}
    versions = {
        (int(article), str(digest)): int(i)
        for i, article, digest in conn.execute("SELECT id, article_id, content_hash FROM versions")
    }
    written = 0
    for event in events:
        article_id = ids.get(event.url)
        if article_id is None:
            continue
        add_event(
            conn,
            article_id,
            event.kind,
            event.seen_at,
            event.run_id,
            from_version_id=versions.get((article_id, event.from_hash or "")),
            to_version_id=versions.get((article_id, event.to_hash or "")),
            detail=None if event.detail_json is None else json.loads(event.detail_json),
        )
        written += 1
    for status in statuses:
        if status.url in ids:
            conn.execute(
                "UPDATE articles SET status = ?, status_since = ?, last_listed = ? WHERE id = ?",
                (status.status, status.status_since, status.last_listed, ids[status.url]),
            )
    return written


def rederive(conn: sqlite3.Connection) -> int:
    """Events re-derived from a rebuilt catalog's versions and captures; returns how many.

    ``new`` and ``edited`` come from the versions, oldest first; ``removed``
    and ``restored`` from the captures of article URLs (404, 410 and
    redirects; a 200 or revisit after them). ``unlisted`` is known only from
    the listing of a run, which the files do not keep: it is not re-derived.
    Used when the old catalog could not be read; the run ids are not known.

    A URL's 404 tells a removal only once that URL has served a version: a
    VSB article not published statically is archived from ``content.jsp``
    after its ``/info/T/N.htm`` answered 404, and that 404, seen on every
    fetch, is no take-down (``merge`` and ``rebuild`` made one of each).
    """
    written = 0
    articles = conn.execute("SELECT id, url FROM articles ORDER BY id").fetchall()
    for article_id, url in articles:
        previous: tuple[int, dict[str, Any]] | None = None
        timeline: list[tuple[str, int, str, Any]] = []
        # The URL each version was fetched at: the article's, or its content.jsp twin.
        version_urls: set[str] = set()
        for version_id, fetched_at, text, served_at in conn.execute(
            "SELECT v.id, v.fetched_at, v.record_json, "
            "(SELECT c.url FROM captures c WHERE c.warc_file = v.warc_file "
            "AND c.warc_offset = v.warc_offset) FROM versions v WHERE v.article_id = ? "
            "ORDER BY v.fetched_at, v.id",
            (article_id,),
        ):
            served_at = str(served_at or url)
            version_urls.add(served_at)
            timeline.append(
                (str(fetched_at), 0, "version", (int(version_id), json.loads(text), served_at))
            )
        marks = ", ".join("?" * len(version_urls | {url}))
        for fetched_at, status, captured in conn.execute(
            f"SELECT fetched_at, status, url FROM captures WHERE url IN ({marks}) "
            "ORDER BY fetched_at, id",
            sorted(version_urls | {url}),
        ):
            # Captures are timed to the microsecond, records to the second.
            timeline.append((str(fetched_at)[:19] + "Z", 1, "capture", (status, str(captured))))
        timeline.sort(key=lambda item: (item[0], item[1]))
        removed = False
        served: set[str] = set()
        for when, _, what, value in timeline:
            if what == "version":
                version_id, record, served_at = value
                served.add(served_at)
                if previous is None:
                    add_event(conn, article_id, "new", when, None, to_version_id=version_id)
                    written += 1
                else:
                    changed = changed_fields(previous[1], record)
                    if changed:
                        add_event(
                            conn,
                            article_id,
                            "edited",
                            when,
                            None,
                            from_version_id=previous[0],
                            to_version_id=version_id,
                            detail={"changed": changed},
                        )
                        written += 1
                previous = (version_id, record)
                continue
            status, captured = value
            if previous is None or captured not in served:
                continue
            gone = status in (404, 410, *_REDIRECT_STATUSES)
            if gone and not removed:
                how = f"http_{status}" if status in (404, 410) else "redirect"
                add_event(
                    conn,
                    article_id,
                    "removed",
                    when,
                    None,
                    from_version_id=previous[0],
                    detail={"how": how, "from": "listed"},
                )
                _set_status(conn, article_id, "removed", when)
                removed, written = True, written + 1
            elif removed and status in (200, 304):
                add_event(
                    conn,
                    article_id,
                    "restored",
                    when,
                    None,
                    to_version_id=previous[0],
                    detail={"from": "removed", "now": "listed"},
                )
                _set_status(conn, article_id, "listed", when)
                removed, written = False, written + 1
    return written
