"""``uir-news serve``: Datasette over the catalog, with research pages and Chinese search.

The plugin :mod:`archive.research.web`, registered in-process, adds the
research pages (``/-/uir-news/search``, the article page, the archived copy)
and three SQL functions over :mod:`archive.research.search`, which the canned
query ``search`` (``/catalog/search?q=党建``, for SQL and the JSON API) uses:

``uir_match(q)``
    the FTS5 MATCH expression for ``q`` (bigram phrases, sanitized and quoted);
``uir_verify(q, title, body)``
    1 when the normalized ``search_text`` row really satisfies ``q``;
``uir_snippet(q, text)``
    a short excerpt of ``text`` with the matches in «guillemets».

Datasette escapes all values in HTML, which we keep: an article's markup is
shown as text, never run.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from archive.research import search
from archive.research.filters import MatchClause

PLUGIN_NAME = "uir-news-search"

SEARCH_SQL = f"""\
WITH hits AS (
  SELECT search_fts.rowid AS id, {search.RANK_SQL} AS score
  FROM search_fts JOIN search_text t ON t.article_id = search_fts.rowid
  WHERE search_fts MATCH uir_match(:q) AND uir_verify(:q, t.title, t.body)
  ORDER BY score
)
SELECT a.id, a.published_at, a.title,
       uir_snippet(:q, json_extract(v.record_json, '$.body_text')) AS snippet,
       a.url
FROM hits JOIN articles a ON a.id = hits.id
JOIN versions v ON v.id = a.current_version_id
ORDER BY hits.score, a.published_at DESC"""


#: The ``changes`` view of the catalog: every event with its article, faceted by kind,
#: column and site in Datasette (``/catalog/changes``).
CHANGES_VIEW: dict[str, Any] = {
    "description_html": "Every event with its article, newest first: each title opens its "
    "article page (history, versions and their differences). <code>uir-news changes</code> "
    "lists them with diffs, <code>uir-news export --format atom</code> makes a feed of them.",
    "columns": {
        "event_id": "events.id",
        "seen_at": "UTC time the crawl saw it",
        "kind": "new, edited, removed, unlisted or restored",
        "detail_json": "JSON: changed fields of an edit, or how a removal was seen",
        "article_id": "articles.id",
        "url": "the article's URL",
        "title": "its current title",
        "site": "its site",
        "column_name": "its column",
        "status": "its status now: listed, unlisted or removed",
        "run_id": "the run that saw the event",
        "from_version_id": "versions.id before the event",
        "to_version_id": "versions.id after it",
    },
}

#: Every table of the catalog and its columns, as docs/catalog.md describes them.
TABLES: dict[str, dict[str, Any]] = {
    "meta": {
        "description": "Key/value facts about the archive.",
        "columns": {
            "key": "schema_version, walk_complete (and `walk_complete {site} {column id}` per "
            "column), `column_url {site} {name}`, search_index_version, ...",
            "value": "the value, as text",
        },
    },
    "articles": {
        "description": "One row per article URL.",
        "columns": {
            "id": "catalog id of the article",
            "url": "absolute URL as fetched (unique)",
            "column_id": "VSB column id from /info/{column_id}/{news_id}.htm",
            "news_id": "VSB news id",
            "first_seen": "UTC time the article was first archived",
            "last_seen": "UTC time it was last seen on the site",
            "last_checked": "UTC time of the last fetch or conditional check",
            "current_version_id": "versions.id of the current content",
            "title": "current title",
            "published_at": "YYYY-MM-DD, or ISO 8601 with +08:00 when a time is known",
            "site": "the site: host of the URL, with its port when not the default",
            "column_name": "the column's name, as its pages or the configuration name it",
            "status": "listed, unlisted (gone from the listing, still served) or removed",
            "status_since": "UTC time the article entered its status (null: listed since first seen)",  # noqa: E501
            "last_listed": "UTC time the article was last seen on a listing page",
        },
    },
    "events": {
        "description": "What happened to an article: one row per event, newest last.",
        "columns": {
            "id": "event id",
            "article_id": "articles.id",
            "kind": "new, edited, removed, unlisted or restored",
            "seen_at": "UTC time the crawl saw it",
            "run_id": "runs.run_id of that crawl (null when derived by a rebuild)",
            "from_version_id": "versions.id before the event (null for new)",
            "to_version_id": "versions.id after it (null for removed and unlisted)",
            "detail_json": "JSON: changed fields of an edit, or how a removal was seen",
        },
    },
    "versions": {
        "description": "One row per distinct content of an article.",
        "columns": {
            "id": "version id",
            "article_id": "articles.id",
            "content_hash": "sha256 of the content fields of the record",
            "record_json": "the full normalized record (record.schema.json)",
            "fetched_at": "UTC time of the fetch this version was parsed from",
            "warc_file": "WARC file (in warc/) holding the response",
            "warc_offset": "byte offset of the response record",
            "warc_length": "byte length of the response record",
            "record_path": "JSON file of the record, relative to records/",
        },
    },
    "captures": {
        "description": "One row per response or revisit record in the WARC files.",
        "columns": {
            "id": "capture id",
            "url": "target URL",
            "fetched_at": "UTC time of the fetch",
            "status": "HTTP status",
            "record_type": "response or revisit",
            "warc_file": "WARC file name",
            "warc_offset": "byte offset",
            "warc_length": "byte length",
            "payload_digest": "WARC-Payload-Digest",
            "record_id": "WARC-Record-ID (unique)",
            "etag": "ETag response header",
            "last_modified": "Last-Modified response header",
        },
    },
    "failures": {
        "description": "One row per article URL that could not be archived and is still "
        "missing; the next run retries it, a success deletes the row.",
        "columns": {
            "url": "article URL",
            "reason": "machine-readable reason of the last failure",
            "detail": "human-readable detail",
            "first_failed": "UTC time of the first failure",
            "last_failed": "UTC time of the last failure",
            "attempts": "number of failed attempts",
        },
    },
    "runs": {
        "description": "One row per crawl run.",
        "columns": {
            "run_id": "run id",
            "started_at": "UTC start",
            "finished_at": "UTC end",
            "exit_code": "exit code of the run",
            "summary_json": "the run summary as JSON",
        },
    },
    "search_text": {
        "description": "Normalized title and body of each article's current version "
        "(NFKC, case-folded, whitespace collapsed): what search matches against.",
        "columns": {
            "article_id": "articles.id",
            "title": "normalized title",
            "body": "normalized body text",
        },
    },
    "search_fts": {
        "description": "FTS5 index (contentless, ascii tokenizer) over pre-tokenized text: "
        "CJK bigrams and whole Latin words. Query it through the search query.",
        "columns": {
            "title": "title tokens",
            "body": "body tokens",
            "chars": "the distinct CJK characters of title and body",
            "latin": "suffixes of the Latin words of title and body",
        },
    },
    "article_people": {
        "description": "Reviewers and credited people of each article's current version.",
        "columns": {
            "article_id": "articles.id",
            "kind": "reviewer or credit",
            "role": "first_proofreader, second_proofreader, final_reviewer, "
            "or a credit key (author, photographer, editor, source, ...)",
            "position": "order within the role, from 0",
            "name": "the name as printed",
        },
    },
    "article_facts": {
        "description": "Facts of each article's current version, for filters and stats.",
        "columns": {
            "article_id": "articles.id",
            "published_date": "YYYY-MM-DD or null",
            "published_time": "ISO 8601 with +08:00 when the page gives a time, else null",
            "year": "publication year",
            "month": "publication month, YYYY-MM",
            "has_attachments": "1 when the article has attachments",
            "image_count": "number of images",
            "attachment_count": "number of attachments",
            "body_chars": "length of body_text in characters",
            "column_name": "column name",
        },
    },
}


@lru_cache(maxsize=256)
def _compiled(query: str) -> tuple[MatchClause, search.Node, bool]:
    match, node = search.compile_query(query)
    return match, node, match.verify_sql is None


#: Matches no article: the chars column never holds the separator token.
NO_MATCH = 'chars : "¦"'


def uir_match(query: str | None) -> str:
    """The FTS5 expression of ``query``; a malformed or empty query matches nothing.

    (Raising inside a SQLite function would only surface as "user-defined
    function raised exception"; an empty result is the clearer answer.)
    """
    if not query or not query.strip():
        return NO_MATCH
    try:
        return str(_compiled(query)[0].fts)
    except search.QueryError:
        return NO_MATCH


def uir_verify(query: str | None, title: str | None, body: str | None) -> int:
    if not query:
        return 0
    try:
        _, node, exact = _compiled(query)
    except search.QueryError:
        return 0
    return 1 if exact or search.matches(node, title or "", body or "") else 0


def uir_snippet(query: str | None, text: str | None) -> str:
    if not query or not text:
        return ""
    try:
        _, node, _ = _compiled(query)
    except search.QueryError:
        return ""
    return search.make_snippet(text, [t.text for t in search.positive_terms(node)])


def add_sql_functions(conn: sqlite3.Connection) -> None:
    """uir_match, uir_verify and uir_snippet on ``conn`` (Datasette's prepare_connection)."""
    conn.create_function("uir_match", 1, uir_match, deterministic=True)
    conn.create_function("uir_verify", 3, uir_verify, deterministic=True)
    conn.create_function("uir_snippet", 2, uir_snippet, deterministic=True)


def register_plugin() -> None:
    """Register :mod:`archive.research.web` as an in-process Datasette plugin (once).

    A package, not a module made on the fly: Datasette finds a plugin's
    ``templates/`` next to its ``__init__``.
    """
    from datasette.plugins import pm

    from archive.research import web

    if pm.get_plugin(PLUGIN_NAME) is None:
        pm.register(web, name=PLUGIN_NAME)


#: Facets each table page shows by default (Datasette ``facets`` metadata).
FACETS: dict[str, tuple[str, ...]] = {
    "articles": ("site", "column_name"),
    "article_facts": ("column_name",),
}

#: The search page, linked from Datasette's home page, menu and canned query.
SEARCH_PAGE = "/-/uir-news/search"


def metadata(db_name: str = "catalog", archive: Path | None = None) -> dict[str, Any]:
    """Datasette metadata: descriptions, the ``search`` query, the plugin's archive."""
    return {
        "title": "uir-news catalog",
        "description_html": "The archived 国关要闻 column of 国际关系学院. "
        f'<a href="{SEARCH_PAGE}"><strong>Search the archive</strong></a>: Chinese '
        "full-text search with date, column and reviewer filters, each hit linked to "
        "its article and to the archived copy. Below, the catalog's tables for SQL, "
        "facets and the JSON API.",
        "plugins": {"uir-news": {"archive": str(archive)}} if archive is not None else {},
        "databases": {
            db_name: {
                "tables": {
                    **{
                        name: {
                            "description": info["description"],
                            "columns": info["columns"],
                            # Many sites and columns in one archive: count by each at a glance.
                            **({"facets": list(FACETS[name])} if name in FACETS else {}),
                        }
                        for name, info in TABLES.items()
                    },
                    "events": {
                        "description": TABLES["events"]["description"],
                        "columns": TABLES["events"]["columns"],
                        "facets": ["kind"],
                        "sort_desc": "seen_at",
                    },
                    "changes": {
                        "title": "Changes: edits, take-downs and returns",
                        "description_html": CHANGES_VIEW["description_html"],
                        "columns": CHANGES_VIEW["columns"],
                        "facets": ["kind", "column_name", "site"],
                        "sort_desc": "seen_at",
                    },
                },
                "queries": {
                    "search": {
                        "title": "Search articles (SQL and JSON)",
                        "description_html": "Every match, best first, for SQL and the JSON "
                        "API (add <code>.json</code>). A malformed query returns no rows "
                        f'here; <a href="{SEARCH_PAGE}">the search page</a> explains it, '
                        "pages through the results and filters by date and reviewer.",
                        "sql": SEARCH_SQL,
                        "hide_sql": True,
                    }
                },
            }
        },
    }


def _json1_works(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT json('{}')")
    except sqlite3.OperationalError:
        return False
    return True


def _has_json1() -> bool:
    """Whether SQLite has JSON1, asked on a connection that is closed again."""
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        return _json1_works(conn)


def _stop_json1_probe_leak() -> None:
    """Datasette 0.65 asks for JSON1 on every table page with a new, never closed
    connection (``datasette.utils.detect_json1``): a long-running `serve` then
    leaks one per page view. Its facets and filters get an answer that is asked
    once and closes its connection; nothing else of Datasette changes.
    """
    from datasette import facets, filters

    answer = functools.cache(_has_json1)

    def detect_json1(conn: sqlite3.Connection | None = None) -> bool:
        return answer() if conn is None else _json1_works(conn)

    facets.detect_json1 = detect_json1
    filters.detect_json1 = detect_json1


def make_datasette(catalog_path: Path) -> Any:
    """Datasette over ``catalog_path``; the archive is the directory that holds it."""
    from datasette.app import Datasette

    register_plugin()
    _stop_json1_probe_leak()
    return Datasette(
        files=[str(catalog_path)],
        metadata=metadata(catalog_path.stem, catalog_path.parent),
        settings={"sql_time_limit_ms": 5000},
    )


def make_server(datasette: Any, port: int = 8001) -> Any:
    """A uvicorn server for ``datasette`` on 127.0.0.1 (loopback only)."""
    import uvicorn

    config = uvicorn.Config(
        datasette.app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    return uvicorn.Server(config)


def serve(catalog_path: Path, port: int = 8001) -> None:
    """Serve until interrupted."""
    make_server(make_datasette(catalog_path), port).run()


@contextmanager
def serving(catalog_path: Path) -> Iterator[str]:
    """Serve in a background thread on an ephemeral loopback port; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    datasette = make_datasette(catalog_path)
    server = make_server(datasette, port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("datasette did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        # Datasette keeps its file connections open for the life of the process.
        for database in datasette.databases.values():
            database.close()
