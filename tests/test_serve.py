"""Datasette over the catalog: a real server on an ephemeral loopback port."""

from __future__ import annotations

import gc
import json
import re
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
import warnings
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from archive.research.search import ensure_search_schema, index_article
from archive.research.serve import TABLES, metadata, serving
from archive.storage import catalog, events
from tests.helpers.records import make_record, random_records

REPO = Path(__file__).resolve().parent.parent

HOSTILE = make_record(
    8001,
    title="<script>alert(1)</script>党建专题",
    body_text="<b>加粗</b> 党建 内容",
    reviewers={"first_proofreader": ["张三"], "second_proofreader": [], "final_reviewer": []},
    role_labels={"first_proofreader": "初审"},  # the page's own 三审三校 label
)


@pytest.fixture(scope="module")
def catalog_path(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    path = tmp_path_factory.mktemp("serve") / "catalog.sqlite"
    records = [HOSTILE, *random_records(80, seed=9, low=80, high=200)]
    conn = catalog.connect(path)
    ensure_search_schema(conn)
    with catalog.transaction(conn):
        for record in records:
            index_article(conn, catalog.put_record(conn, record).article_id, record)
        # The hostile article taken down, redirecting to a hostile place.
        hostile_id = 1
        events.add_event(
            conn,
            hostile_id,
            "removed",
            "2025-07-20T08:00:00Z",
            "run-1",
            detail={"how": "redirect", "location": "/<script>alert(2)</script>"},
        )
        conn.execute(
            "UPDATE articles SET status = 'removed', status_since = ? WHERE id = ?",
            ("2025-07-20T08:00:00Z", hostile_id),
        )
    conn.close()
    return path, records


@pytest.fixture(scope="module", autouse=True)
def _datasette_leaks_collected() -> None:
    """Datasette 0.65 never closes two throwaway in-memory SQLite connections: one made
    when datasette.filters is imported, one for its cached SQLite version. Python 3.13
    warns when they are collected, in whichever later test that happens; make and
    collect them here, ignoring that warning for them alone."""
    gc.collect()  # anything earlier tests left open is reported, not hidden below
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "unclosed database", ResourceWarning)
        import datasette.filters  # noqa: F401
        from datasette.utils.sqlite import sqlite_version

        sqlite_version()
        gc.collect()


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        body: bytes = response.read()
        return body.decode("utf-8")


def test_search_page_over_http_finds_a_two_character_word(
    catalog_path: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, records = catalog_path
    expected = {r["url"] for r in records if "党建" in r["title"] + "\n" + r["body_text"]}
    assert len(expected) > 0
    with serving(path) as base:
        assert base.startswith("http://127.0.0.1:")
        q = urllib.parse.quote("党建")
        rows = json.loads(fetch(f"{base}/catalog/search.json?q={q}&_shape=array"))
        assert {row["url"] for row in rows} == expected
        assert all("«党建»" in row["snippet"] or "党建" in row["title"] for row in rows)
        page = fetch(f"{base}/catalog/search?q={q}")
        # Datasette escapes values: the article's markup is shown, never run.
        assert "&lt;script&gt;alert(1)&lt;/script&gt;党建专题" in page
        assert "<script>alert(1)</script>" not in page
        # Phrases and operators work through the same functions.
        q2 = urllib.parse.quote('党建 NOT "加粗"')
        rows2 = json.loads(fetch(f"{base}/catalog/search.json?q={q2}&_shape=array"))
        assert {row["url"] for row in rows2} == expected - {HOSTILE["url"]}
        # A malformed or hostile query finds nothing and breaks nothing.
        for bad in ('"', "NOT", "'; DROP TABLE articles; --", ""):
            url = f"{base}/catalog/search.json?q={urllib.parse.quote(bad)}&_shape=array"
            assert json.loads(fetch(url)) == []
        # Not /-/versions.json: Datasette 0.65 leaves a SQLite connection open on each call.
        plugins = json.loads(fetch(f"{base}/-/plugins.json"))
        assert "archive.research.web" in {plugin["name"] for plugin in plugins}


def test_every_catalog_column_is_documented(
    catalog_path: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, _ = catalog_path
    with closing(sqlite3.connect(path)) as conn:
        tables = {
            name: [row[1] for row in conn.execute(f"PRAGMA table_info({name})")]
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not re.match(r"search_fts_|sqlite_", name)
        }
    doc = (REPO / "docs" / "catalog.md").read_text("utf-8")
    assert set(tables) == set(TABLES)
    for table, columns in tables.items():
        assert f"`{table}`" in doc, table
        assert set(columns) == set(TABLES[table]["columns"]), table
        for column in columns:
            assert f"`{column}`" in doc, (table, column)
    assert "search" in metadata()["databases"]["catalog"]["queries"]


def test_search_page_counts_every_match_pages_them_and_explains_errors(
    catalog_path: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, records = catalog_path
    word = "学院"
    expected = [r for r in records if word in r["title"] + "\n" + r["body_text"]]
    assert len(expected) > 20  # more than one page
    with serving(path) as base:
        search_url = f"{base}/-/uir-news/search?"
        page1 = fetch(search_url + urllib.parse.urlencode({"q": word}))
        assert f"<strong>{len(expected)}</strong> results" in page1
        ids = set(re.findall(r'data-article-id="(\d+)"', page1))
        assert len(ids) == 20
        pages = -(-len(expected) // 20)
        for number in range(2, pages + 1):
            more = fetch(search_url + urllib.parse.urlencode({"q": word, "page": number}))
            ids |= set(re.findall(r'data-article-id="(\d+)"', more))
        assert len(ids) == len(expected)  # every match, each once, across the pages
        assert re.search(r'href="/-/uir-news/article/\d+"', page1)
        assert "/-/uir-news/archived/" in page1
        # A date filter narrows the count exactly as Filters does.
        dated = [r for r in expected if str(r.get("published_at") or "")[:4] == "2024"]
        page = fetch(
            search_url + urllib.parse.urlencode({"q": word, "since": "2024", "until": "2024"})
        )
        assert (f"<strong>{len(dated)}</strong> result" in page) if dated else "No articles" in page
        # Errors and an empty query are explained, not shown as "0 results".
        bad = fetch(search_url + urllib.parse.urlencode({"q": '"党建'}))
        assert 'id="error"' in bad and "unbalanced quote" in bad
        bad_date = fetch(search_url + urllib.parse.urlencode({"q": word, "since": "2024-13"}))
        assert "bad filter: not a date" in bad_date
        empty = fetch(search_url + "q=")
        assert 'id="empty"' in empty and "0 results" not in empty
        # The hostile title is escaped on our pages too.
        hostile = fetch(search_url + urllib.parse.urlencode({"q": "党建专题"}))
        assert "&lt;script&gt;" in hostile and "<script>alert" not in hostile
        # Datasette's home page links to the search; titles and rows to the article page.
        assert 'href="/-/uir-news/search"' in fetch(base + "/")
        table = fetch(f"{base}/catalog/articles")
        assert re.search(r'<a href="/-/uir-news/article/\d+">[^<]', table)
        assert 'href="/-/uir-news/article/1"' in fetch(f"{base}/catalog/articles/1")
        article = fetch(f"{base}/-/uir-news/article/1")
        assert 'id="credits"' in article and 'id="versions"' in article
        assert "<dt>一校（初审）</dt><dd>张三</dd>" in article  # the role, as the page named it
        # Its removal, on its page and in the changes view: said in words, escaped.
        assert "<strong>Removed from the site</strong> since 2025-07-20T08:00:00Z" in article
        assert "redirects to /&lt;script&gt;alert(2)&lt;/script&gt;" in article
        changes = fetch(f"{base}/catalog/changes?kind=removed")
        assert re.search(r'<a href="/-/uir-news/article/1">&lt;script&gt;alert\(1\)', changes)
        assert "removed: redirects to /&lt;script&gt;alert(2)" in changes
        assert "<script>alert" not in article + changes
        # The canned query returns every match: no silent cap.
        q = urllib.parse.quote(word)
        rows = json.loads(fetch(f"{base}/catalog/search.json?q={q}&_shape=array"))
        assert len(rows) == len(expected)
        # A URL the archive does not hold is a 404 that says so: nothing is fetched live.
        try:
            fetch(f"{base}/-/uir-news/archived/latest/http://example.org/x.jpg")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
            assert b"Not in the archive" in exc.read()
        else:
            raise AssertionError("an unarchived URL was served")
