"""Issue 14: edits, take-downs and returns seen over HTTP, as events (`uir-news changes`)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from replica.server import ReplicaServer
from replica.site import ReplicaSite
from tests.helpers.cli import crawl, run_cli

pytestmark = pytest.mark.e2e

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def small_replica() -> Iterator[ReplicaServer]:
    """A replica of one's own, small enough for several full walks per test."""
    with ReplicaServer(ReplicaSite(n_articles=40)) as server:
        yield server


def _crawl(server: ReplicaServer, archive: Path, *extra: str) -> dict[str, Any]:
    result = crawl(server, archive, "--no-requisites", *extra)
    return result.last_summary(archive)


def _changes(archive: Path, *extra: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads(
        run_cli("changes", "--archive", archive, "--json", "--limit", "0", *extra).stdout
    )
    return events


def _not_new(archive: Path) -> list[tuple[str, str]]:
    return sorted((e["kind"], e["url"]) for e in _changes(archive) if e["kind"] != "new")


def _url(server: ReplicaServer, news_id: int) -> str:
    return server.base_url + server.site.article(news_id).path


def _status(archive: Path, url: str) -> tuple[str, str | None]:
    # closing(): a connection's own `with` commits but does not close it.
    with closing(sqlite3.connect(archive / "catalog.sqlite")) as conn:
        row = conn.execute("SELECT status, status_since FROM articles WHERE url = ?", (url,))
        status, since = row.fetchone()
    return str(status), since


def test_first_crawl_makes_one_new_event_per_article(
    small_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    summary = _crawl(small_replica, archive)
    events = _changes(archive)
    assert summary["events"] == {"new": 40}
    assert {e["kind"] for e in events} == {"new"}
    assert {e["url"] for e in events} == {
        small_replica.base_url + a.path for a in small_replica.site.articles
    }
    first = events[0]
    assert first["run_id"] == summary["run_id"] and first["to_version_id"] and first["title"]


def test_an_edit_is_an_event_with_its_fields_and_a_diff(
    small_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    site = small_replica.site
    _crawl(small_replica, archive)
    body_edit, title_edit = site.articles[20].news_id, site.articles[25].news_id
    site.edit(body_edit)
    site.edit(title_edit, title="更正：我院举行学术年会")
    summary = _crawl(small_replica, archive, "--full")
    assert summary["events"] == {"edited": 2} and summary["exit_code"] == 0
    edits = {e["url"]: e for e in _changes(archive, "--kind", "edited")}
    assert set(edits) == {_url(small_replica, body_edit), _url(small_replica, title_edit)}
    body = edits[_url(small_replica, body_edit)]
    assert body["changed"] == ["body"] and body["run_id"] == summary["run_id"]
    assert body["from_version_id"] != body["to_version_id"]
    assert any(line.startswith("+") and "学院" in line for line in body["diff"])
    title = edits[_url(small_replica, title_edit)]
    assert title["changed"] == ["title"] and title["title"] == "更正：我院举行学术年会"
    assert "+更正：我院举行学术年会" in title["diff"]
    text = run_cli("changes", "--archive", archive, "--kind", "edited").stdout
    assert "--- title (before)" in text and "+++ body (after)" in text


def test_an_edit_only_in_whitespace_is_no_event(
    small_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    site = small_replica.site
    _crawl(small_replica, archive)
    article = site.articles[12]
    site.edit(article.news_id, whitespace_only=True)
    small_replica.reset_log()
    summary = _crawl(small_replica, archive, "--full")
    # The page was fetched in full again (new bytes), and still no event.
    assert article.path in [r.path for r in small_replica.requests]
    assert summary["warc"]["revisits"] == 39
    assert summary["events"] == {}
    assert _not_new(archive) == []


@pytest.mark.parametrize(("how", "expected"), [(404, "http_404"), (410, "http_410")])
def test_a_take_down_is_removed_not_a_failure(
    small_replica: ReplicaServer, tmp_path: Path, how: int, expected: str
) -> None:
    archive = tmp_path / "archive"
    site = small_replica.site
    _crawl(small_replica, archive)
    gone = site.articles[30]
    site.take_down(gone.news_id, how)
    summary = _crawl(small_replica, archive, "--full")
    assert summary["exit_code"] == 0 and summary["failures"] == 0, summary["problems"]
    assert summary["events"] == {"removed": 1}
    [event] = _changes(archive, "--kind", "removed")
    assert event["url"] == _url(small_replica, gone.news_id)
    assert event["detail"]["how"] == expected and event["title"] == gone.title
    status, since = _status(archive, event["url"])
    assert status == "removed" and since == event["seen_at"]
    # Not retried as a failure: the next run does not ask for it again.
    small_replica.reset_log()
    again = _crawl(small_replica, archive)
    assert gone.path not in [r.path for r in small_replica.requests]
    assert again["events"] == {} and again["exit_code"] == 0


def test_a_redirect_away_after_the_listing_drops_it_is_removed(
    small_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    site = small_replica.site
    _crawl(small_replica, archive)
    gone = site.articles[8]
    site.take_down(gone.news_id, "redirect")
    summary = _crawl(small_replica, archive, "--full")
    assert summary["exit_code"] == 0 and summary["events"] == {"removed": 1}
    [event] = _changes(archive, "--kind", "removed")
    assert event["detail"]["how"] == "redirect"
    assert event["detail"]["location"] == small_replica.start_url


def test_unlisted_then_restored_when_listed_again(
    small_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    site = small_replica.site
    _crawl(small_replica, archive)
    hidden = site.articles[17]
    site.unlist(hidden.news_id)
    summary = _crawl(small_replica, archive, "--full")
    assert summary["events"] == {"unlisted": 1} and summary["exit_code"] == 0
    assert _not_new(archive) == [("unlisted", _url(small_replica, hidden.news_id))]
    assert _status(archive, _url(small_replica, hidden.news_id))[0] == "unlisted"
    site.restore(hidden.news_id)
    summary = _crawl(small_replica, archive, "--full")
    assert summary["events"] == {"restored": 1}
    [event] = _changes(archive, "--kind", "restored")
    assert event["detail"] == {"from": "unlisted", "now": "listed"}
    assert _status(archive, event["url"])[0] == "listed"


def test_a_flapping_article_is_removed_restored_removed(
    small_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    site = small_replica.site
    _crawl(small_replica, archive)
    flapping = site.articles[22]
    url = _url(small_replica, flapping.news_id)
    for step in ("down", "up", "down"):
        if step == "down":
            site.take_down(flapping.news_id, 404)
        else:
            site.restore(flapping.news_id)
        summary = _crawl(small_replica, archive, "--full")
        assert summary["exit_code"] == 0
    kinds = [e["kind"] for e in _changes(archive) if e["url"] == url]
    assert kinds == ["removed", "restored", "removed", "new"]  # newest first
    assert _status(archive, url)[0] == "removed"
    shown = json.loads(run_cli("show", url, "--archive", archive, "--json").stdout)
    assert shown["status"] == "removed"
    assert [e["kind"] for e in shown["events"]] == ["new", "removed", "restored", "removed"]


def test_the_issue_check_two_edited_two_removed_then_restored(
    small_replica: ReplicaServer, tmp_path: Path
) -> None:
    """After a first crawl the site edits two older articles and takes two others down."""
    archive = tmp_path / "archive"
    site = small_replica.site
    _crawl(small_replica, archive)
    older = site.articles[15:]
    edited, removed = [older[0], older[7]], [older[3], older[11]]
    for article in edited:
        site.edit(article.news_id)
    for article in removed:
        site.take_down(article.news_id)
    start = _changes(archive)[0]["seen_at"]
    _crawl(small_replica, archive, "--full")
    events = [e for e in _changes(archive, "--since", start) if e["kind"] != "new"]
    assert sorted((e["kind"], e["url"]) for e in events) == sorted(
        [("edited", _url(small_replica, a.news_id)) for a in edited]
        + [("removed", _url(small_replica, a.news_id)) for a in removed]
    )
    assert all({"kind", "url", "title", "seen_at"} <= set(e) for e in events)
    for article in removed:
        site.restore(article.news_id)
    summary = _crawl(small_replica, archive, "--full")
    assert summary["events"] == {"restored": 2}
    restored = _changes(archive, "--kind", "restored")
    assert sorted(e["url"] for e in restored) == sorted(
        _url(small_replica, a.news_id) for a in removed
    )
    # Take them down again: the export still holds every article, the removed ones too.
    for article in removed:
        site.take_down(article.news_id, 410)
    _crawl(small_replica, archive, "--full")
    exported = run_cli("export", "--archive", archive, "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert len(rows) == 40
    by_url = {row["url"]: row for row in rows}
    for article in removed:
        row = by_url[_url(small_replica, article.news_id)]
        assert row["status"] == "removed" and row["status_since"]
    assert sum(row["status"] == "listed" for row in rows) == 38
    text = run_cli("status", "--archive", archive).stdout
    assert "2 removed" in text and "events" in text
    # The events survive a rebuild of the catalog (carried over from the old one).
    before = _changes(archive)
    run_cli("rebuild", "--archive", archive)
    after = _changes(archive)
    keys = ("kind", "url", "seen_at", "run_id", "changed", "detail")
    assert [[e[k] for k in keys] for e in after] == [[e[k] for k in keys] for e in before]


def test_atom_feed_has_an_entry_per_event_linking_the_archived_copy(
    small_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    site = small_replica.site
    _crawl(small_replica, archive)
    site.edit(site.articles[5].news_id)
    site.take_down(site.articles[6].news_id)
    _crawl(small_replica, archive, "--full")
    feed_path = tmp_path / "changes.xml"
    run_cli("export", "--archive", archive, "-o", feed_path)
    feed = ElementTree.parse(feed_path).getroot()
    assert feed.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{tag}") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == len(_changes(archive)) == 42
    ids = set()
    for entry in entries:
        for tag in ("id", "title", "updated"):
            assert (entry.findtext(f"{ATOM}{tag}") or "").strip(), tag
        ids.add(entry.findtext(f"{ATOM}id"))
        link = entry.find(f"{ATOM}link[@rel='alternate']")
        assert link is not None
        assert link.get("href", "").startswith("http://127.0.0.1:8001/-/uir-news/archived/")
    assert len(ids) == len(entries)
    newest = [entry.find(f"{ATOM}category") for entry in entries[:2]]
    assert {c.get("term") for c in newest if c is not None} == {"edited", "removed"}
    # .atom works too, and a filter is refused with a one-line message.
    run_cli("export", "--archive", archive, "-o", tmp_path / "changes.atom")
    refused = run_cli(
        "export", "--archive", archive, "-o", tmp_path / "x.xml", "--since", "2024", check=False
    )
    assert refused.returncode == 2 and "Traceback" not in refused.stderr


def test_budget_rechecks_cost_three_requests_plus_the_budget(
    small_replica: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    _crawl(small_replica, archive)
    small_replica.reset_log()
    summary = _crawl(small_replica, archive, "--recheck-budget", "6", "--recheck-hours", "0")
    articles = [r.path for r in small_replica.requests if r.path.startswith("/info/")]
    assert len(small_replica.requests) == 3 + 6 and len(articles) == 6
    assert summary["walk"] == "incremental" and summary["events"] == {}
    # The next run takes the next six: those checked longest ago first.
    small_replica.reset_log()
    _crawl(small_replica, archive, "--recheck-budget", "6", "--recheck-hours", "0")
    following = [r.path for r in small_replica.requests if r.path.startswith("/info/")]
    assert len(following) == 6 and not set(following) & set(articles)
