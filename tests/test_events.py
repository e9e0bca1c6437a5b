"""archive.storage.events: what counts as an edit, status transitions, events kept by a rebuild."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from archive.storage import catalog, events
from archive.storage.layout import ArchiveLayout
from archive.storage.recovery import rebuild
from archive.storage.session import ArchiveSession
from archive.storage.warc import WarcPointer
from tests.helpers.records import make_record


def _events(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return [
        (str(kind), str(url))
        for kind, url in conn.execute(
            "SELECT e.kind, a.url FROM events e JOIN articles a ON a.id = e.article_id "
            "ORDER BY e.id"
        )
    ]


def test_whitespace_and_fetch_details_are_not_edits() -> None:
    old = make_record(1)
    spaced: dict[str, Any] = {**old, "body_text": "  " + old["body_text"].replace("。", "。 \n ")}
    spaced["title"] = old["title"] + "  "
    spaced.update(fetched_at="2030-01-01T00:00:00Z", view_count=99, next_url=None)
    assert events.changed_fields(old, spaced) == []
    changed = {**old, "title": "更正", "body_text": old["body_text"] + "补充。"}
    changed["credits"] = {"editor": ["新编辑"]}
    changed["images"] = [{"url": "https://www.uir.edu.cn/x.jpg", "caption": None}]
    assert events.changed_fields(old, changed) == ["title", "body", "credits", "images"]
    assert events.changed_fields(old, {**old, "published_at": "2020-01-01"}) == ["date"]


def _session(tmp_path: Path) -> ArchiveSession:
    return ArchiveSession(ArchiveLayout(tmp_path / "archive"), commit_every=1)


def test_statuses_follow_the_events(tmp_path: Path) -> None:
    session = _session(tmp_path)
    record = make_record(1, fetched_at="2030-01-01T00:00:00Z")
    url = str(record["url"])
    _, first = session.store_record(record, run_id="r1", listed=True)
    assert first.events == ("new",)
    assert session.mark_gone(url, "2030-01-02T00:00:00Z", how="http_410", run_id="r2") == "removed"
    assert session.mark_gone(url, "2030-01-03T00:00:00Z", how="http_410") is None  # once
    assert session.mark_unchanged(url, "2030-01-04T00:00:00Z", listed=False) == "restored"
    row = session.conn.execute("SELECT status, status_since FROM articles").fetchone()
    assert tuple(row) == ("unlisted", "2030-01-04T00:00:00Z")
    assert session.mark_listed([url], "2030-01-05T00:00:00Z") == ["restored"]
    assert session.mark_listed([url], "2030-01-06T00:00:00Z") == []
    assert session.mark_unchanged(url, "2030-01-07T00:00:00Z", listed=False) == "unlisted"
    edited = make_record(1, fetched_at="2030-01-08T00:00:00Z", title="更正后的标题")
    _, result = session.store_record(edited, run_id="r3", listed=True)
    assert result.events == ("edited", "restored")
    assert [kind for kind, _ in _events(session.conn)] == [
        "new", "removed", "restored", "restored", "unlisted", "edited", "restored",
    ]  # fmt: skip
    session.close()


def test_rebuild_carries_events_over_or_rederives_them(tmp_path: Path) -> None:
    session = _session(tmp_path)
    layout = session.layout
    record = make_record(1, fetched_at="2030-01-01T00:00:00Z")
    session.store_record(record, run_id="r1", listed=True)
    session.store_record(
        make_record(1, fetched_at="2030-01-02T00:00:00Z", title="新标题"), run_id="r2"
    )
    session.mark_unchanged(str(record["url"]), "2030-01-03T00:00:00Z", listed=False)
    kept = _events(session.conn)
    session.close()
    assert [kind for kind, _ in kept] == ["new", "edited", "unlisted"]
    report = rebuild(layout)
    assert report.counts["events"] == 3
    conn = catalog.connect(layout.catalog_path)
    assert _events(conn) == kept
    assert conn.execute("SELECT status FROM articles").fetchone()[0] == "unlisted"
    conn.close()
    # Without a readable catalog, new and edited are re-derived from the versions.
    for path in layout.root.glob("catalog.sqlite*"):
        path.unlink()
    rebuild(layout)
    conn = catalog.connect(layout.catalog_path)
    assert _events(conn) == kept[:2]
    conn.close()


def _capture(conn: sqlite3.Connection, url: str, when: str, status: int, offset: int) -> None:
    pointer = WarcPointer("w.warc.gz", offset, 10)
    catalog.add_capture(
        conn, catalog.Capture(url, when, status, "response", pointer, None, f"<urn:{offset}>")
    )


def test_rederived_events_ignore_the_404_of_a_page_served_at_content_jsp(tmp_path: Path) -> None:
    # A VSB article not published statically: each fetch asks /info/T/N.htm
    # (404), then content.jsp (200), a fraction of a second later. merge and
    # rebuild made a "removed" event of that 404 for every such article.
    conn = catalog.connect(tmp_path / "catalog.sqlite")
    dynamic = make_record(1, fetched_at="2030-01-01T00:00:00Z")
    dynamic["warc"] = {"file": "w.warc.gz", "offset": 100, "length": 10}
    twin = "https://www.uir.edu.cn/content.jsp?urltype=news.NewsContentUrl&wbtreeid=1031&wbnewsid=1"
    static = make_record(2, fetched_at="2030-01-01T00:00:01Z")
    static["warc"] = {"file": "w.warc.gz", "offset": 300, "length": 10}
    with catalog.transaction(conn):
        catalog.put_record(conn, dynamic)
        catalog.put_record(conn, static)
        _capture(conn, str(dynamic["url"]), "2030-01-01T00:00:00.100000Z", 404, 0)
        _capture(conn, twin, "2030-01-01T00:00:00.200000Z", 200, 100)
        _capture(conn, str(static["url"]), "2030-01-01T00:00:01.100000Z", 200, 300)
        # A day later: the same pair again (a re-check), and the static article is gone.
        _capture(conn, str(dynamic["url"]), "2030-01-02T00:00:00.100000Z", 404, 400)
        _capture(conn, twin, "2030-01-02T00:00:00.200000Z", 200, 500)
        _capture(conn, str(static["url"]), "2030-01-02T00:00:01.100000Z", 404, 600)
        # Then the content.jsp article is taken down, and comes back.
        _capture(conn, twin, "2030-01-03T00:00:00.200000Z", 404, 700)
        _capture(conn, twin, "2030-01-04T00:00:00.200000Z", 200, 800)
        assert events.rederive(conn) == 5
    assert _events(conn) == [
        ("new", dynamic["url"]),
        ("removed", dynamic["url"]),  # day 3, from content.jsp's own 404
        ("restored", dynamic["url"]),
        ("new", static["url"]),
        ("removed", static["url"]),
    ]
    since = conn.execute("SELECT status_since FROM articles ORDER BY id").fetchall()
    assert [row[0] for row in since] == ["2030-01-04T00:00:00Z", "2030-01-02T00:00:01Z"]
    conn.close()
