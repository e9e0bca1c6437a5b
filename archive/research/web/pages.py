"""What the research pages show, computed from a catalog connection and the archive.

Plain functions over ``sqlite3`` and the archive directory, so they are tested
without a server; :mod:`archive.research.web` turns them into Datasette routes.
The search page uses the CLI's engine (:func:`archive.research.search.search`)
and filters, with the exact count of matches and paging instead of a cap.
"""

from __future__ import annotations

import re
import sqlite3
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from archive.replay.playback import NotArchived, ReplayResult, RevisitUnresolved, replay
from archive.research.changes import query_events, records_diff
from archive.research.filters import (
    CREDIT_ROLES,
    REVIEW_ROLES,
    FilterError,
    Filters,
    Select,
    article_captures,
    article_versions,
    date_bound,
    resolve_article,
    version_changes,
)
from archive.research.search import Hit, QueryError, count_matches, search, why_no_match
from archive.storage.layout import ArchiveLayout
from record import ROLE_LABELS, upgrade

#: URL prefix of every page of ours; Datasette's own pages stay where they are.
PREFIX = "/-/uir-news"
PAGE_SIZE = 20
#: Snippet markers no article contains (private use), turned into <mark> after escaping.
_MARK = ("\ue000", "\ue001")


# -- links -------------------------------------------------------------------------


def timestamp14(when: str) -> str:
    """``2025-07-14T08:00:00Z`` → ``20250714080000`` (the digits of a UTC time)."""
    return re.sub(r"\D", "", when)[:14]


def archived_href(when: str, url: str) -> str:
    """Our URL of the archived copy of ``url`` nearest to ``when`` (the latest if "").

    The target URL goes in the path as it was fetched (its query string stays a
    query string, so :func:`archived_target` can put it back); a fragment is dropped.
    """
    url = urllib.parse.urldefrag(url)[0]
    quoted = urllib.parse.quote(url, safe=":/?&=%@!$'()*+,;~-._")
    return f"{PREFIX}/archived/{timestamp14(when) or 'latest'}/{quoted}"


def archived_target(path_url: str, query_string: str) -> str:
    """The archived URL a request for ``.../archived/{ts}/{path_url}?{query_string}`` names."""
    return path_url + ("?" + query_string if query_string else "")


def article_href(article_id: int) -> str:
    return f"{PREFIX}/article/{article_id}"


def marked(snippet: str) -> Markup:
    """``snippet`` escaped, with the search markers as ``<mark>``."""
    return Markup(str(escape(snippet)).replace(_MARK[0], "<mark>").replace(_MARK[1], "</mark>"))


# -- the search page ------------------------------------------------------------------


@dataclass
class SearchForm:
    """The search page's fields, as typed (strings), and what they mean."""

    q: str = ""
    since: str = ""
    until: str = ""
    column: str = ""
    site: str = ""
    reviewer: str = ""
    role: str = ""
    credit: str = ""
    attachments: bool = False
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> SearchForm:
        """From a query-string mapping (Datasette's ``request.args``); junk pages are 1."""

        def get(name: str) -> str:
            return str(args.get(name) or "").strip()

        page = get("page")
        return cls(
            q=get("q"),
            since=get("since"),
            until=get("until"),
            column=get("column"),
            site=get("site"),
            reviewer=get("reviewer"),
            role=get("role"),
            credit=get("credit"),
            attachments=bool(get("attachments")),
            page=int(page) if page.isdigit() and int(page) > 0 else 1,
        )

    def filters(self) -> Filters:
        """The filters asked for; FilterError says what is wrong with them."""
        return Filters(
            since=date_bound(self.since, end=False) if self.since else None,
            until=date_bound(self.until, end=True) if self.until else None,
            reviewer=self.reviewer or None,
            role=(self.role or None) if self.reviewer else None,
            credit=self.credit or None,
            has_attachments=self.attachments,
            column=self.column or None,
            site=self.site or None,
        )

    def has_filters(self) -> bool:
        return any(
            (self.since, self.until, self.column, self.site, self.reviewer, self.credit)
        ) or (self.attachments)

    def query_string(self, **changes: Any) -> str:
        values = {
            "q": self.q,
            "since": self.since,
            "until": self.until,
            "column": self.column,
            "site": self.site,
            "reviewer": self.reviewer,
            "role": self.role if self.reviewer else "",
            "credit": self.credit,
            "attachments": "1" if self.attachments else "",
            "page": str(self.page) if self.page > 1 else "",
        }
        values.update({k: str(v) for k, v in changes.items()})
        if values["page"] == "1":
            values["page"] = ""
        return urllib.parse.urlencode({k: v for k, v in values.items() if v})


@dataclass
class Result:
    """One hit as the page lists it."""

    article_id: int
    title: str
    date: str
    url: str
    snippet: Markup
    final_reviewers: list[str]
    article_href: str
    archived_href: str
    column: str = ""
    site: str = ""


@dataclass
class SearchPage:
    form: SearchForm
    total: int = 0
    results: list[Result] = field(default_factory=list)
    #: What went wrong with the query or the filters, as the CLI would say it.
    error: str | None = None
    #: Why nothing matched, when something can be said.
    hint: str | None = None
    hint_href: str | None = None
    #: True when no query was given (filters alone list articles, newest first).
    browsing: bool = False
    columns: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    articles_in_archive: int = 0

    @property
    def scope(self) -> str:
        """Where the articles are from: "of the 国关要闻 column", "in 3 columns on 2 sites"."""
        if len(self.columns) == 1 and len(self.sites) <= 1:
            return f"of the {self.columns[0]} column"
        where = f" on {len(self.sites)} sites" if len(self.sites) > 1 else ""
        return f"in {len(self.columns)} columns{where}"

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def first(self) -> int:
        return (self.form.page - 1) * PAGE_SIZE + 1

    @property
    def last(self) -> int:
        return self.first + len(self.results) - 1

    def page_href(self, page: int) -> str:
        return f"{PREFIX}/search?{self.form.query_string(page=page)}"


#: Articles without a current version (none today) are neither counted nor listed.
_CURRENT = ("a.current_version_id IS NOT NULL",)


def search_page(conn: sqlite3.Connection, form: SearchForm) -> SearchPage:
    """The search page for ``form``: the true total, one page of hits, errors explained."""
    page = SearchPage(form)
    page.columns = [
        str(r[0])
        for r in conn.execute(
            "SELECT DISTINCT column_name FROM article_facts "
            "WHERE column_name IS NOT NULL ORDER BY 1"
        )
    ]
    page.sites = [
        str(r[0])
        for r in conn.execute(
            "SELECT DISTINCT site FROM articles WHERE site IS NOT NULL ORDER BY 1"
        )
    ]
    page.articles_in_archive = int(conn.execute("SELECT count(*) FROM search_text").fetchone()[0])
    try:
        filters = form.filters()
    except FilterError as exc:
        page.error = f"bad filter: {exc}"
        return page
    offset = (form.page - 1) * PAGE_SIZE
    if not form.q:
        if not form.has_filters():
            return page
        page.browsing = True
        page.total = count_matches(conn, None, filters)
        sql, params = Select(columns=("a.id",), filters=filters, where=_CURRENT).build()
        ids = [
            int(r[0]) for r in conn.execute(f"{sql} LIMIT ? OFFSET ?", [*params, PAGE_SIZE, offset])
        ]
        page.results = [_browse_result(conn, article_id) for article_id in ids]
        _add_places(conn, page.results)
        return page
    try:
        page.total = count_matches(conn, form.q, filters)
        # rank_pool=None: the full BM25 ranking, so that pages follow one order.
        hits = search(
            conn, form.q, filters, limit=offset + PAGE_SIZE, markers=_MARK, rank_pool=None
        )[offset:]
    except QueryError as exc:
        page.error = f"bad query: {exc}"
        return page
    page.results = [_result(conn, hit) for hit in hits]
    _add_places(conn, page.results)
    if page.total == 0:
        _explain_nothing(conn, page, filters)
    return page


def _add_places(conn: sqlite3.Connection, results: list[Result]) -> None:
    """Each result's column and site, which the page shows when the archive has several."""
    for result in results:
        row = conn.execute(
            "SELECT column_name, site FROM articles WHERE id = ?", (result.article_id,)
        ).fetchone()
        if row is not None:
            result.column, result.site = str(row[0] or ""), str(row[1] or "")


def _latest_fetch(conn: sqlite3.Connection, article_id: int) -> str:
    row = conn.execute(
        "SELECT v.fetched_at FROM articles a JOIN versions v ON v.id = a.current_version_id "
        "WHERE a.id = ?",
        (article_id,),
    ).fetchone()
    return str(row[0]) if row else ""


def _result(conn: sqlite3.Connection, hit: Hit) -> Result:
    return Result(
        article_id=hit.article_id,
        title=hit.title,
        date=(hit.published_at or "")[:10],
        url=hit.url,
        snippet=marked(hit.snippet),
        final_reviewers=hit.reviewers.get("final_reviewer", []),
        article_href=article_href(hit.article_id),
        archived_href=archived_href(_latest_fetch(conn, hit.article_id), hit.url),
    )


def _browse_result(conn: sqlite3.Connection, article_id: int) -> Result:
    import json

    row = conn.execute(
        "SELECT a.url, v.fetched_at, v.record_json FROM articles a "
        "JOIN versions v ON v.id = a.current_version_id WHERE a.id = ?",
        (article_id,),
    ).fetchone()
    record = upgrade(json.loads(row[2]))
    body = str(record.get("body_text") or "")
    return Result(
        article_id=article_id,
        title=str(record.get("title") or ""),
        date=str(record.get("published_at") or "")[:10],
        url=str(row[0]),
        snippet=marked(body[:80] + ("…" if len(body) > 80 else "")),
        final_reviewers=list((record.get("reviewers") or {}).get("final_reviewer") or []),
        article_href=article_href(article_id),
        archived_href=archived_href(str(row[1]), str(row[0])),
    )


def _explain_nothing(conn: sqlite3.Connection, page: SearchPage, filters: Filters) -> None:
    """As ``uir-news search`` does: blame the filters, or point to the credits."""
    reason = why_no_match(conn, page.form.q, filters)
    if reason is None:
        return
    if reason.without_filters:
        page.hint = (
            f"The query alone finds {reason.without_filters} article(s); the filters leave none "
            "(reviewer and credit take a whole name)."
        )
        page.hint_href = f"{PREFIX}/search?{urllib.parse.urlencode({'q': page.form.q})}"
        return
    where = ", ".join(
        f"{ROLE_LABELS.get(role, role)} in {count}" for role, count in sorted(reason.roles.items())
    )
    page.hint = (
        f"{reason.name} is a name in the credits ({where} article(s)), which search does not "
        f"read: list the articles {'reviewed' if reason.is_reviewer else 'credited'} "
        f"by {reason.name}."
    )
    key = "reviewer" if reason.is_reviewer else "credit"
    page.hint_href = f"{PREFIX}/search?{urllib.parse.urlencode({key: reason.name})}"


# -- the article page ----------------------------------------------------------------


@dataclass
class Person:
    label: str
    role: str
    names: list[str]


@dataclass
class Linked:
    """An image or attachment: its archived copy when the archive holds one."""

    url: str
    label: str
    archived_href: str | None


@dataclass
class VersionView:
    """One version of an article; ``diff`` is how it differs from the one before."""

    number: int
    version_id: int
    fetched_at: str
    content_hash: str
    current: bool
    archived_href: str
    changed: list[str]
    diff: list[str]


@dataclass
class EventView:
    """One line of an article's history: what the crawl saw happen, and when."""

    seen_at: str
    kind: str
    #: What the summary says after the kind ("answers 404", "title, body_text"); may be "".
    detail: str
    #: The version the event made current (new, edited, restored); None for the others.
    version_number: int | None


@dataclass
class ArticlePage:
    article_id: int
    record: dict[str, Any]
    url: str
    first_seen: str
    last_seen: str
    site: str
    column: str
    #: listed, unlisted (gone from the listing, still served) or removed, since when (UTC).
    status: str
    status_since: str | None
    events: list[EventView]
    archived_href: str
    people: list[Person]
    paragraphs: list[str]
    images: list[Linked]
    attachments: list[Linked]
    versions: list[VersionView]
    captures: list[dict[str, Any]]

    @property
    def status_event(self) -> EventView | None:
        """The event that gave the article its status (its removal, say); None if listed."""
        if self.status == "listed":
            return None
        return next((e for e in reversed(self.events) if e.kind == self.status), None)


def _archived_capture(conn: sqlite3.Connection, url: str) -> str | None:
    """fetched_at of the newest replayable capture of ``url``; None when it is not archived."""
    row = conn.execute(
        "SELECT fetched_at FROM captures WHERE url = ? "
        "AND (record_type = 'revisit' OR status BETWEEN 200 AND 299) "
        "ORDER BY fetched_at DESC, id DESC LIMIT 1",
        (url,),
    ).fetchone()
    return None if row is None else str(row[0])


def _linked(conn: sqlite3.Connection, url: str, label: str) -> Linked:
    when = _archived_capture(conn, url)
    return Linked(url, label, None if when is None else archived_href(when, url))


def article_page(conn: sqlite3.Connection, ref: str) -> ArticlePage | None:
    """Everything about one article (id, URL or news id); None when the catalog has no such."""
    article_id = resolve_article(conn, ref)
    if article_id is None:
        return None
    row = conn.execute(
        "SELECT url, first_seen, last_seen, current_version_id, site, column_name, status, "
        "status_since FROM articles WHERE id = ?",
        (article_id,),
    ).fetchone()
    versions = article_versions(conn, article_id)
    current = next((v for v in versions if v.version_id == row[3]), None)
    if current is None:
        return None
    record = current.record
    url = str(row[0])
    people = []
    printed = record.get("role_labels") or {}
    for kind, roles in (("reviewers", REVIEW_ROLES), ("credits", CREDIT_ROLES)):
        given = record.get(kind) or {}
        for role in (*roles, *sorted(set(given) - set(roles))):
            if given.get(role):
                label = ROLE_LABELS.get(role, role)
                if printed.get(role) and printed[role] != label:
                    label = f"{label}（{printed[role]}）"  # as the page printed it: 一校（初审）
                people.append(Person(label, role, list(given[role])))
    views = []
    for i, version in enumerate(versions):
        changed: list[str] = []
        diff: list[str] = []
        if i:
            changed, _ = version_changes(versions[i - 1].record, version.record)
            diff = records_diff(versions[i - 1].record, version.record, changed)
        views.append(
            VersionView(
                number=i + 1,
                version_id=version.version_id,
                fetched_at=version.fetched_at,
                content_hash=version.content_hash,
                current=version.version_id == current.version_id,
                archived_href=archived_href(version.fetched_at, url),
                changed=changed,
                diff=diff,
            )
        )
    numbers = {version.version_id: number for number, version in enumerate(versions, 1)}
    events = [
        EventView(
            seen_at=event.seen_at,
            kind=event.kind,
            detail=event.summary().removeprefix(event.kind).lstrip(": "),
            version_number=numbers.get(event.to_version_id or -1),
        )
        for event in query_events(conn, article_id=article_id, oldest_first=True)
    ]
    captures = [dict(c) for c in article_captures(conn, url)]
    for capture in captures:
        capture["archived_href"] = archived_href(str(capture["fetched_at"]), url)
    body = str(record.get("body_text") or "")
    return ArticlePage(
        article_id=article_id,
        record=record,
        url=url,
        first_seen=str(row[1]),
        last_seen=str(row[2]),
        site=str(row[4] or ""),
        column=str(row[5] or record.get("column") or ""),
        status=str(row[6] or "listed"),
        status_since=None if row[7] is None else str(row[7]),
        events=events,
        archived_href=archived_href(current.fetched_at, url),
        people=people,
        paragraphs=[p for p in body.split("\n") if p.strip()],
        images=[
            _linked(conn, str(image["url"]), str(image.get("caption") or ""))
            for image in record.get("images") or []
        ],
        attachments=[
            _linked(conn, str(a["url"]), str(a.get("name") or a["url"]))
            for a in record.get("attachments") or []
        ],
        versions=views,
        captures=captures,
    )


# -- the archived copy -------------------------------------------------------------------

#: Nothing loads from elsewhere: the archived copy is the archive's bytes alone.
ARCHIVED_CSP = "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"


@dataclass(frozen=True)
class ArchivedResponse:
    status: int
    content_type: str
    body: bytes
    archived_at: str = ""


def _content_type(result: ReplayResult) -> str:
    return result.header("Content-Type") or "application/octet-stream"


def archived_copy(layout: ArchiveLayout, url: str, timestamp: str) -> ArchivedResponse:
    """The archived response of ``url`` nearest to ``timestamp``, as our route serves it.

    HTML is made safe (no scripts, :func:`archive.research.export.sanitize_html`),
    its same-site links and images point at their archived copies, and a banner
    says what this is. Other types are served as archived. A URL the archive does
    not hold is a 404 with an explanation: nothing is ever fetched from the live site.
    """
    from archive.replay.playback import parse_when

    try:
        result = replay(layout, url, parse_when(timestamp) if timestamp else None)
    except (NotArchived, RevisitUnresolved, ValueError) as exc:
        text = (
            f"<!DOCTYPE html><meta charset='utf-8'><title>Not in the archive</title>"
            f"<p>Not in the archive: {escape(url)}</p><p>{escape(str(exc))}</p>"
            f"<p>uir-news serves archived copies only and never fetches the live site.</p>"
        )
        return ArchivedResponse(404, "text/html; charset=utf-8", text.encode("utf-8"))
    content_type = _content_type(result)
    if "html" not in content_type.lower():
        return ArchivedResponse(result.status or 200, content_type, result.body, result.warc_date)
    body = _rewrite_html(result, url)
    return ArchivedResponse(
        result.status or 200, "text/html; charset=utf-8", body, result.warc_date
    )


def _rewrite_html(result: ReplayResult, url: str) -> bytes:
    import lxml.html

    from archive.research.export import sanitize_html

    match = re.search(r"charset=([\w-]+)", _content_type(result), re.I)
    safe = sanitize_html(result.body, match.group(1) if match else None)
    doc = lxml.html.document_fromstring(safe)
    site = urllib.parse.urlsplit(url).netloc
    when = timestamp14(result.warc_date)

    def relink(link: str) -> str:
        absolute = urllib.parse.urljoin(url, link.strip())
        parts = urllib.parse.urlsplit(absolute)
        if parts.scheme not in ("http", "https") or parts.netloc != site:
            return link
        href = archived_href(when, absolute)
        return href + ("#" + parts.fragment if parts.fragment else "")

    doc.rewrite_links(relink, resolve_base_href=True)
    banner = lxml.html.fragment_fromstring(
        '<div id="uir-news-banner" style="font:14px/1.5 sans-serif;background:#fffbe6;'
        'border-bottom:1px solid #e0c060;padding:6px 12px;color:#333">'
        "<strong>Archived copy</strong> of <code></code>, captured <time></time> (UTC), "
        "served from the uir-news archive; links to this site lead to archived copies.</div>"
    )
    banner.find("code").text = url
    banner.find("time").text = result.warc_date
    body = doc.find("body")
    if body is None:
        body = lxml.html.Element("body")
        doc.append(body)
    body.insert(0, banner)
    out: bytes = lxml.html.tostring(doc, encoding="utf-8", doctype="<!DOCTYPE html>")
    return out
