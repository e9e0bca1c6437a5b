"""The research pages of ``uir-news serve``: a Datasette plugin (hooks, routes, templates).

Registered in-process by :func:`archive.research.serve.register_plugin`; being a
package, Datasette finds its ``templates/`` the way it finds any plugin's.

* ``/-/uir-news/search``: the search form (query, date range, column, reviewer,
  credit), the true number of matches and paged results, errors explained;
* ``/-/uir-news/article/{id}``: title, date, column, site, credits, body, images
  and attachments from the archive, its status (removed since when, and how), its
  history of events, versions with their differences, captures;
* ``/-/uir-news/archived/{timestamp}/{url}``: the archived response nearest to
  ``timestamp`` (or ``latest``), HTML made safe and relinked to the archive.

Datasette's own pages, SQL, facets and JSON API stay as they are; cells of the
``articles``, ``versions`` and ``captures`` tables and of the ``changes`` view link
to these pages (``detail_json`` of events reads as words).
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Any

from datasette import hookimpl
from markupsafe import Markup, escape

from archive.research.changes import event_summary
from archive.research.web.pages import (
    ARCHIVED_CSP,
    PREFIX,
    ArticlePage,
    SearchForm,
    SearchPage,
    archived_copy,
    archived_href,
    archived_target,
    article_href,
    article_page,
    search_page,
)
from archive.storage.layout import ArchiveLayout

#: The plugin's configuration key in Datasette's metadata ("plugins").
CONFIG_KEY = "uir-news"


@hookimpl  # type: ignore[untyped-decorator]  # datasette ships no type hints
def prepare_connection(conn: sqlite3.Connection) -> None:
    from archive.research.serve import add_sql_functions

    add_sql_functions(conn)


def _layout(datasette: Any) -> ArchiveLayout:
    config = datasette.plugin_config(CONFIG_KEY) or {}
    if config.get("archive"):
        return ArchiveLayout(Path(config["archive"]))
    return ArchiveLayout(Path(datasette.get_database().path).parent)


async def _search_view(datasette: Any, request: Any) -> Any:
    form = SearchForm.from_args(request.args)
    page: SearchPage = await datasette.get_database().execute_fn(
        lambda conn: search_page(conn, form)
    )
    from datasette.utils.asgi import Response

    html = await datasette.render_template(
        "uir_search.html",
        {
            "page": page,
            "form": form,
            "prefix": PREFIX,
            "roles": _ROLE_CHOICES,
            "database": datasette.get_database().name,
        },
        request=request,
    )
    return Response.html(html)


_ROLE_CHOICES = (
    ("", "any role"),
    ("first_proofreader", "一校"),
    ("second_proofreader", "二校"),
    ("final_reviewer", "终审"),
)


async def _article_view(datasette: Any, request: Any) -> Any:
    from datasette.utils.asgi import Response

    ref = request.url_vars["ref"]
    article: ArticlePage | None = await datasette.get_database().execute_fn(
        lambda conn: article_page(conn, ref)
    )
    if article is None:
        html = await datasette.render_template(
            "uir_article.html", {"article": None, "ref": ref, "prefix": PREFIX}, request=request
        )
        return Response.html(html, status=404)
    html = await datasette.render_template(
        "uir_article.html",
        {
            "article": article,
            "record": article.record,
            "prefix": PREFIX,
            "database": datasette.get_database().name,
        },
        request=request,
    )
    return Response.html(html)


async def _archived_view(datasette: Any, request: Any) -> Any:
    import asyncio

    from datasette.utils.asgi import Response

    url = archived_target(request.url_vars["url"], request.query_string)
    timestamp = request.url_vars["timestamp"]
    layout = _layout(datasette)
    archived = await asyncio.get_running_loop().run_in_executor(
        None, archived_copy, layout, url, "" if timestamp == "latest" else timestamp
    )
    return Response(
        archived.body,
        status=archived.status,
        headers={
            "Content-Security-Policy": ARCHIVED_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
        content_type=archived.content_type,
    )


@hookimpl  # type: ignore[untyped-decorator]  # datasette ships no type hints
def register_routes() -> list[tuple[str, Any]]:
    return [
        (rf"^{PREFIX}/?$", _search_view),
        (rf"^{PREFIX}/search$", _search_view),
        (rf"^{PREFIX}/article/(?P<ref>\d+)$", _article_view),
        (
            rf"^{PREFIX}/archived/(?P<timestamp>\d{{1,14}}|latest)/(?P<url>https?:.+)$",
            _archived_view,
        ),
    ]


@hookimpl  # type: ignore[untyped-decorator]  # datasette ships no type hints
def menu_links() -> list[dict[str, str]]:
    return [{"href": f"{PREFIX}/search", "label": "Search the archive"}]


def _link(href: str, text: str) -> str:
    return f'<a href="{escape(href)}">{escape(text)}</a>'


@hookimpl  # type: ignore[untyped-decorator]  # datasette ships no type hints
def render_cell(row: Any, value: Any, column: str, table: str | None) -> Markup | None:
    """Links from Datasette's tables to the article page and the archived copy."""
    if table == "articles" and column == "title" and isinstance(value, str):
        # The id column is Datasette's link to the row; the title opens the article page.
        try:
            article_id = int(row["id"])
        except (IndexError, KeyError, TypeError, ValueError):
            return None
        return Markup(_link(article_href(article_id), value))
    if table == "articles" and column == "url" and isinstance(value, str):
        return Markup(
            f"{_link(archived_href('', value), 'archived copy')} · "
            f"<span title='the live site'>{escape(value)}</span>"
        )
    if table == "captures" and column == "url" and isinstance(value, str):
        try:
            when = str(row["fetched_at"])
        except (IndexError, KeyError):
            return None
        return Markup(_link(archived_href(when, value), value))
    if table in ("changes", "events"):
        return _event_cell(row, value, column, table)
    if table == "versions" and column == "record_json" and isinstance(value, str):
        try:
            record = json.loads(value)
            article_id = int(row["article_id"])
        except (ValueError, IndexError, KeyError, TypeError):
            return None
        return Markup(
            f"<details><summary>{escape(str(record.get('title') or ''))} "
            f"({escape(str(record.get('published_at') or ''))}) · "
            f"{_link(article_href(article_id) + '#versions', 'read on the article page')}"
            f"</summary><pre style='white-space:pre-wrap'>{escape(value)}</pre></details>"
        )
    return None


def _event_cell(row: Any, value: Any, column: str, table: str) -> Markup | None:
    """The changes view (and the events table) read as a list of what happened:
    titles open the article page, URLs its archived copy (the live URL is shown,
    not linked), and ``detail_json`` says in words what the event was."""
    try:
        if column == "detail_json":
            detail = json.loads(value) if isinstance(value, str) and value else {}
            words = event_summary(str(row["kind"]), detail if isinstance(detail, dict) else {})
            return Markup(f'<span title="{escape(value or "")}">{escape(words)}</span>')
        if table == "changes" and column == "title":
            return Markup(_link(article_href(int(row["article_id"])), str(value or row["url"])))
        if table == "changes" and column == "url" and isinstance(value, str):
            # The site has its own column: the path names the page, the tooltip the URL.
            path = urllib.parse.urlsplit(value).path or value
            return Markup(
                f"{_link(archived_href(str(row['seen_at']), value), 'archived copy')}<br>"
                f"<small class='live' title='{escape(value)} (the live site)'>"
                f"{escape(path)}</small>"
            )
    except (IndexError, KeyError, TypeError, ValueError):
        return None
    return None
