"""Researcher commands of ``uir-news``: search, show, stats, export, serve.

Thin: each ``cmd_*`` parses its arguments into plain values and calls
:mod:`archive.research` (search, filters, export, stats, serve); ``export
--format wacz`` calls :mod:`archive.replay.wacz`. Bad input raises
:class:`crawler.cli.errors.UsageError`. Heavy libraries (pyarrow, matplotlib,
Datasette) are imported inside the command that needs them, so every other
command starts quickly.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sqlite3
import sys
import unicodedata
from pathlib import Path
from typing import IO, Any

from archive.replay.wacz import WaczExportError
from archive.replay.wacz import export_wacz as build_wacz
from archive.research.changes import DEFAULT_BASE_URL, query_events, write_atom
from archive.research.export import (
    COLUMNS,
    FORMATS,
    ExportError,
    sanitize_html,
    select_columns,
    write_csv,
    write_jsonl,
    write_parquet,
)
from archive.research.filters import (
    REVIEW_ROLES,
    FileCapture,
    FilterError,
    Filters,
    article_captures,
    article_versions,
    check_scope,
    date_bound,
    file_capture,
    iter_articles,
    resolve_article,
    version_changes,
)
from archive.research.output import atomic_output, cleanup_on_sigterm, output_path
from archive.research.search import (
    QUERY_HELP,
    QueryError,
    compile_query,
    count_matches,
    ensure_search_schema,
    reindex_all,
    search,
    search_tables_exist,
    why_no_match,
)
from archive.research.stats import compute_stats, format_stats, plot_stats
from archive.storage import catalog
from archive.storage.layout import ArchiveLayout
from archive.storage.warc import WarcPointer, read_record
from crawler.cli.errors import UsageError
from crawler.cli.options import add_archive_argument, catalogued_archive, existing_archive, warn
from crawler.exit_codes import ExitCode

# -- shared arguments ----------------------------------------------------------


def _filter_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters")
    group.add_argument("--since", help="published on or after (YYYY, YYYY-MM or YYYY-MM-DD)")
    group.add_argument("--until", help="published on or before (YYYY, YYYY-MM or YYYY-MM-DD)")
    group.add_argument("--reviewer", metavar="NAME", help="reviewed by NAME (any role)")
    group.add_argument("--role", choices=REVIEW_ROLES, help="with --reviewer: only this role")
    group.add_argument("--credit", metavar="NAME", help="NAME is credited (author, photos, ...)")
    group.add_argument(
        "--has-attachments", action="store_true", help="only articles with attachments"
    )
    group.add_argument("--site", metavar="HOST", help="only this site (host, or host:port)")
    group.add_argument("--column", metavar="NAME", help="only this column (its name)")


def _filter_flags(args: argparse.Namespace) -> list[tuple[str, object]]:
    """Each filter option (and --query, --columns where the command has them) with its value."""
    names = (
        *("since", "until", "reviewer", "role", "credit", "has_attachments", "site", "column"),
        *("query", "columns"),
    )
    return [(f"--{n.replace('_', '-')}", getattr(args, n, None)) for n in names]


def _filters(args: argparse.Namespace) -> Filters:
    try:
        return Filters(
            since=date_bound(args.since, end=False) if args.since else None,
            until=date_bound(args.until, end=True) if args.until else None,
            reviewer=args.reviewer or None,
            role=args.role,
            credit=args.credit or None,
            has_attachments=bool(args.has_attachments),
            column=args.column or None,
            site=args.site or None,
        )
    except FilterError as exc:
        raise UsageError(str(exc)) from exc


def in_scope(conn: sqlite3.Connection, filters: Filters) -> None:
    """UsageError when ``--site``/``--column`` name what the archive does not hold."""
    try:
        check_scope(conn, filters.site, filters.column)
    except FilterError as exc:
        raise UsageError(str(exc)) from exc


def open_catalog(layout: ArchiveLayout) -> sqlite3.Connection:
    """The catalog with up-to-date search tables (indexes it first if it never was)."""

    conn = catalog.connect(layout.catalog_path)
    try:
        if catalog.is_readonly(conn):
            # Nothing can be written: use the search tables as they are.
            if not search_tables_exist(conn):
                raise UsageError(
                    f"{layout.catalog_path} cannot be written and has no search tables yet; "
                    "run any research command once on a writable copy (it indexes the archive)"
                )
            return conn
        ensure_search_schema(conn)
        indexed = conn.execute("SELECT count(*) FROM search_text").fetchone()[0]
        current = conn.execute(
            "SELECT count(*) FROM articles WHERE current_version_id IS NOT NULL"
        ).fetchone()[0]
        if indexed != current:
            print(f"uir-news: indexing {current} articles for search…", file=sys.stderr)
            reindex_all(conn)
    except BaseException:
        conn.close()
        raise
    return conn


# -- terminal output -------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fit(text: str, width: int) -> str:
    """``text`` cut and padded to ``width`` terminal columns (CJK counts double)."""
    out: list[str] = []
    used = 0
    for char in text:
        w = 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used + w > width - 1 and _width(text) > width:
            out.append("…")
            used += 1
            break
        out.append(char)
        used += w
    return "".join(out) + " " * max(0, width - used)


# -- search ----------------------------------------------------------------------


def cmd_search(args: argparse.Namespace) -> int:

    query = " ".join(args.query)
    if args.limit < 0:
        raise UsageError("--limit must be 0 (no limit) or more")
    filters = _filters(args)
    tty = sys.stdout.isatty() and not args.json
    markers = ("\033[1;33m", "\033[0m") if tty else ("«", "»")
    conn = open_catalog(catalogued_archive(args))
    try:
        in_scope(conn, filters)
        hits = search(conn, query, filters, limit=args.limit or None, markers=markers)
        total = len(hits) if not args.limit or len(hits) < args.limit else None
        if total is None:
            total = count_matches(conn, query, filters)
        hint = _why_nothing(conn, query, filters, args) if not hits else ""
    except QueryError as exc:
        raise UsageError(f"bad query: {exc} (see `uir-news search --help`)") from exc
    finally:
        conn.close()
    if args.json:
        json.dump(
            {
                "query": query,
                # count: results given here; total: every match (see --limit).
                "count": len(hits),
                "total": total,
                "results": [h.as_dict() for h in hits],
            },
            sys.stdout,
            ensure_ascii=False,
            indent=2,
        )
        print()
        return 0
    if not hits:
        print(f"no articles match {query!r}{hint}", file=sys.stderr)
        return 1
    print(f"{'#':>3}  {'date':<10}  {'title':<60}  {'final review':<10}")
    for rank, hit in enumerate(hits, 1):
        date = (hit.published_at or "")[:10]
        final = "、".join(hit.reviewers.get("final_reviewer", []))
        print(f"{rank:>3}  {date:<10}  {_fit(hit.title, 60)}  {_fit(final, 12)}")
        print(f"     {hit.snippet}")
        print(f"     {hit.url}  (id {hit.article_id})")
    more = f" of {total} (the best {len(hits)}; --limit 0 shows all)" if total > len(hits) else ""
    print(f"{len(hits)} result(s){more}")
    return 0


def _why_nothing(
    conn: sqlite3.Connection, query: str, filters: Filters, args: argparse.Namespace
) -> str:
    """What to say after "no articles match": blame the filters, or point to the credits."""
    reason = why_no_match(conn, query, filters)
    if reason is None:
        return ""
    if reason.without_filters:
        given = " ".join(
            flag if value is True else f"{flag} {value}"
            for flag, value in _filter_flags(args)
            if value and flag != "--query"
        )
        return (
            f" with {given}: the query alone finds articles, the filters leave none "
            "(--reviewer and --credit take a whole name)"
        )
    where = ", ".join(f"{role} in {count}" for role, count in sorted(reason.roles.items()))
    flag = "--reviewer" if reason.is_reviewer else "--credit"
    return (
        f"\n{query} is a name in the credits ({where} article(s)), which search does not "
        f"read: try `uir-news search ... {flag} {query}` or `export {flag} {query}`"
    )


# -- show --------------------------------------------------------------------------


def cmd_show(args: argparse.Namespace) -> int:

    layout = catalogued_archive(args)
    if args.html is not None and output_path(args.html, archive=layout.root) is None:
        raise UsageError("--html needs a file name")
    conn = open_catalog(layout)
    try:
        article_id = resolve_article(conn, args.article)
        if article_id is None:
            raise UsageError(f"no article {args.article!r} in the catalog (URL or id)")
        row = conn.execute(
            "SELECT url, first_seen, last_seen, last_checked, current_version_id, status, "
            "status_since FROM articles WHERE id = ?",
            (article_id,),
        ).fetchone()
        versions = article_versions(conn, article_id)
        captures = article_captures(conn, str(row["url"]))
        events = query_events(conn, article_id=article_id, oldest_first=True)
        current = next((v for v in versions if v.version_id == row["current_version_id"]), None)
        if current is None:
            raise UsageError(f"article {article_id} has no current version")
        # Each image and attachment, linked to its capture through the catalog.
        linked = [*(current.record.get("images") or []), *(current.record.get("attachments") or [])]
        files = {
            url: file_capture(conn, layout.warc_dir, url)
            for item in linked
            if (url := str(item.get("url") or ""))
        }
    finally:
        conn.close()
    if args.html:
        try:
            stored = read_record(
                layout.warc_dir,
                WarcPointer(current.warc_file, current.warc_offset, current.warc_length),
            )
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the archived page: {exc}") from exc
        charset = _charset(stored.headers)
        with atomic_output(Path(args.html), binary=True, archive=layout.root) as out:
            out.write(sanitize_html(stored.body, charset))
        print(f"wrote the archived page (scripts removed) to {args.html}", file=sys.stderr)
    if args.json:
        json.dump(
            {
                "id": article_id,
                "record": current.record,
                "first_seen": row["first_seen"],
                "last_seen": row["last_seen"],
                "status": row["status"],
                "status_since": row["status_since"],
                "events": [event.to_json() for event in events],
                "versions": [
                    {"id": v.version_id, "fetched_at": v.fetched_at, "hash": v.content_hash}
                    for v in versions
                ],
                "captures": [dict(c) for c in captures],
                "files": [dataclasses.asdict(f) for f in files.values()],
            },
            sys.stdout,
            ensure_ascii=False,
            indent=2,
        )
        print()
        return 0
    _print_article(sys.stdout, article_id, dict(row), current.record, files)
    out = sys.stdout
    print(f"\nversions ({len(versions)}):", file=out)
    for i, version in enumerate(versions):
        mark = "*" if version.version_id == current.version_id else " "
        print(
            f" {mark} v{i + 1}  {version.fetched_at}  {version.content_hash[:12]}  "
            f"{version.warc_file}@{version.warc_offset}",
            file=out,
        )
        if i:
            fields, diff = version_changes(versions[i - 1].record, version.record)
            print(f"      changed: {', '.join(fields) or '(nothing but fetch details)'}", file=out)
            for line in diff:
                print(f"      {line}", file=out)
    print(f"\nevents ({len(events)}):", file=out)
    for event in events:
        print(f"   {event.seen_at}  {event.kind:<8}  {event.summary()}", file=out)
    print(f"\ncaptures ({len(captures)}):", file=out)
    for capture in captures:
        print(
            f"   {capture['fetched_at']}  {capture['record_type']:<8} "
            f"{capture['status'] or '-':>3}  {capture['warc_file']}@{capture['warc_offset']}",
            file=out,
        )
    return 0


def _archived(capture: FileCapture | None) -> str:
    """Where an image or attachment is in the archive, or "not archived"."""
    if capture is None or capture.fetched_at is None:
        return "not archived"
    return f"archived {capture.fetched_at} ({capture.record_type} {capture.status or '-'})"


def _charset(headers: list[tuple[str, str]]) -> str | None:
    for name, value in headers:
        if name.lower() == "content-type":
            match = re.search(r"charset=([\w-]+)", value, re.I)
            if match:
                return match.group(1)
    return None


def _print_article(
    out: IO[str],
    article_id: int,
    row: dict[str, Any],
    record: dict[str, Any],
    files: dict[str, FileCapture],
) -> None:
    print(f"{record.get('title')}", file=out)
    print(f"  id            {article_id}", file=out)
    for key in (
        "url",
        "site",
        "published_at",
        "published_at_raw",
        "column",
        "column_id",
        "news_id",
        "view_count",
        "prev_url",
        "next_url",
        "fetched_at",
    ):
        print(f"  {key:<13} {record.get(key) if record.get(key) is not None else '-'}", file=out)
    print(f"  {'first_seen':<13} {row['first_seen']}", file=out)
    print(f"  {'last_seen':<13} {row['last_seen']}", file=out)
    since = f" since {row['status_since']}" if row.get("status_since") else ""
    print(f"  {'status':<13} {row.get('status') or 'listed'}{since}", file=out)
    for role, names in (record.get("reviewers") or {}).items():
        print(f"  {role:<19} {'、'.join(names) or '-'}", file=out)
    for role, names in (record.get("credits") or {}).items():
        print(f"  credit {role:<12} {'、'.join(names)}", file=out)
    for image in record.get("images") or []:
        print(f"  image         {image['url']}  {image.get('caption') or ''}".rstrip(), file=out)
        print(f"                {_archived(files.get(image['url']))}", file=out)
    for attachment in record.get("attachments") or []:
        print(f"  attachment    {attachment['name']}  {attachment['url']}", file=out)
        capture = files.get(attachment["url"])
        line = _archived(capture)
        if capture is not None and capture.file_name:
            line += f", file name {capture.file_name}"
        print(f"                {line}", file=out)
    if record.get("listing"):
        print(f"  listing       {json.dumps(record['listing'], ensure_ascii=False)}", file=out)
    if record.get("warnings"):
        print(f"  warnings      {', '.join(record['warnings'])}", file=out)
    warc = record.get("warc") or {}
    print(f"  warc          {warc.get('file')}@{warc.get('offset')}+{warc.get('length')}", file=out)
    print("\n" + str(record.get("body_text") or ""), file=out)


# -- stats -------------------------------------------------------------------------


def cmd_stats(args: argparse.Namespace) -> int:

    filters = _filters(args)
    layout = catalogued_archive(args)
    plot = None
    if args.plot is not None:
        plot = output_path(args.plot, archive=layout.root)
        if plot is None:
            raise UsageError("--plot needs a file name (a PNG is binary)")
    conn = open_catalog(layout)
    try:
        in_scope(conn, filters)
        stats = compute_stats(conn, filters, top=args.top)
    finally:
        conn.close()
    if args.json:
        json.dump(stats.as_dict(), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(format_stats(stats))
    if plot is not None:
        for note in plot_stats(stats, plot):
            print(f"uir-news: warning: {note}", file=sys.stderr)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


# -- export --format wacz: the WARCs packaged for replay tools ------------------


def cmd_export_wacz(args: argparse.Namespace) -> int:
    """``uir-news export --format wacz -o FILE``: needs a file, a WACZ is a zip."""

    output = getattr(args, "output", None)
    if not output or output == "-":
        raise UsageError("--format wacz needs -o FILE.wacz (a WACZ is a zip file)")
    layout = existing_archive(args)
    target = output_path(output, archive=layout.root)
    assert target is not None
    try:
        with cleanup_on_sigterm():
            summary = build_wacz(
                layout,
                target,
                site=getattr(args, "site", None) or None,
                column=getattr(args, "column", None) or None,
            )
    except WaczExportError as exc:
        warn(str(exc))
        return ExitCode.PARTIAL
    print(
        f"wrote {summary.output}: {summary.pages} pages, {summary.warc_files} WARC file(s), "
        f"{summary.bytes:,} bytes",
        file=sys.stderr,
    )
    return ExitCode.OK


# -- export ------------------------------------------------------------------------


#: The format a file name implies, for `export -o FILE` without --format.
_FORMAT_OF_SUFFIX = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".parquet": "parquet",
    ".wacz": "wacz",
    ".atom": "atom",
    ".xml": "atom",
}


def cmd_export_atom(args: argparse.Namespace) -> int:
    """Every event as an Atom 1.0 feed, newest first, linking the archived copies."""
    layout = catalogued_archive(args)
    output = output_path(args.output, archive=layout.root)
    conn = catalog.connect(layout.catalog_path)
    try:
        with atomic_output(output, archive=layout.root) as out:
            count = write_atom(conn, query_events(conn), out, base_url=args.base_url)
    finally:
        conn.close()
    if output is not None:
        print(f"wrote {count} events to {output}", file=sys.stderr)
    return 0


def export_format(requested: str | None, output: str | None) -> str:
    """The export format: as asked, else as the file's extension says, else JSON Lines.

    Raises :class:`UsageError` when ``--format`` and the extension disagree
    (``-o out.csv --format parquet`` would write a file no spreadsheet opens).
    """
    implied = _FORMAT_OF_SUFFIX.get(Path(output).suffix.lower()) if output else None
    if requested is None:
        return implied or "jsonl"
    if implied is not None and implied != requested:
        raise UsageError(
            f"--format {requested} does not match the file name {output!r} "
            f"(a {Path(output or '').suffix} file is {implied}); change one of them"
        )
    return requested


def cmd_export(args: argparse.Namespace) -> int:
    args.format = export_format(args.format, args.output)
    if args.format == "wacz":
        narrowing = {"--site", "--column"}
        given = [flag for flag, value in _filter_flags(args) if value and flag not in narrowing]
        if given:
            raise UsageError(
                f"{', '.join(given)}: a WACZ packages the archive for replay, it can only "
                "be narrowed by --site and --column; drop the filter or export "
                "csv/jsonl/parquet"
            )
        return cmd_export_wacz(args)
    if args.format == "atom":
        given = [flag for flag, value in _filter_flags(args) if value]
        if given or args.columns or args.query:
            raise UsageError(
                "an Atom feed holds every event of the archive (`uir-news changes` filters "
                "them); drop --columns, --query and the filters"
            )
        return cmd_export_atom(args)

    filters = _filters(args)
    try:
        columns = (
            None
            if args.format == "jsonl" and args.columns is None
            else select_columns(args.columns)
        )
    except ExportError as exc:
        raise UsageError(str(exc)) from exc
    layout = catalogued_archive(args)
    output = output_path(args.output, archive=layout.root)
    if output is None and args.format == "parquet" and sys.stdout.isatty():
        raise UsageError("Parquet is binary: give -o FILE")
    conn = open_catalog(layout)
    try:
        in_scope(conn, filters)
        match = None
        if args.query:
            try:
                match = compile_query(args.query)[0]
            except QueryError as exc:
                raise UsageError(f"bad query: {exc}") from exc
        rows = iter_articles(conn, filters, match)
        if args.format == "parquet":
            assert columns is not None
            with atomic_output(output, binary=True, archive=layout.root) as out:
                count = write_parquet(rows, out, columns)
        else:
            with atomic_output(output, archive=layout.root) as out:
                if args.format == "csv":
                    assert columns is not None
                    count = write_csv(rows, out, columns)
                else:
                    count = write_jsonl(rows, out, columns)
    finally:
        conn.close()
    if output is not None:
        print(f"wrote {count} records to {output}", file=sys.stderr)
    return 0


# -- serve ---------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from archive.research.serve import serve  # Datasette and uvicorn: only `serve` needs them

    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be 1-65535, got {args.port}")
    layout = catalogued_archive(args)
    open_catalog(layout).close()  # make sure the search tables exist and are current
    print(
        f"serving {layout.catalog_path} at http://127.0.0.1:{args.port}/ "
        f"(search page: http://127.0.0.1:{args.port}/-/uir-news/search); Ctrl-C stops",
        file=sys.stderr,
    )
    serve(layout.catalog_path, args.port)
    return 0


# -- registration --------------------------------------------------------------------


def add_commands(sub: Any) -> None:
    """Register search, show, stats, export and serve on ``sub`` (argparse subparsers)."""

    search = sub.add_parser(
        "search",
        help="full-text search (Chinese and Latin)",
        description="Search titles and bodies of the current articles.",
        epilog=QUERY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    search.add_argument("query", nargs="+", help="query (see below); words are joined by spaces")
    # `search 学院 -招生`: argparse takes any -word for an option it does not know.
    # Like negative numbers, a - followed by anything but a Latin letter or a
    # second - is a query word here (-招生, -"国际 关系", -(a OR b)); a Latin
    # -word still needs quotes or `--`. The matcher is argparse's own hook for this.
    search._negative_number_matcher = re.compile(r"^-(?![-A-Za-z])")
    add_archive_argument(search)
    _filter_args(search)
    search.add_argument(
        "--limit", type=int, default=20, help="at most N results, 0 for all (default: 20)"
    )
    search.add_argument("--json", action="store_true", help="JSON output for scripts")
    search.set_defaults(func=cmd_search)

    show = sub.add_parser("show", help="one article: fields, versions, captures")
    show.add_argument("article", metavar="URL|ID", help="article URL, catalog id or news id")
    add_archive_argument(show)
    show.add_argument("--html", metavar="FILE", help="write the archived page (scripts removed)")
    show.add_argument("--json", action="store_true", help="JSON output")
    show.set_defaults(func=cmd_show)

    stats = sub.add_parser("stats", help="articles per month/year, reviewers, fill rates")
    add_archive_argument(stats)
    _filter_args(stats)
    stats.add_argument(
        "--top", type=int, default=10, help="reviewers listed per role (default: 10)"
    )
    stats.add_argument("--plot", metavar="FILE.png", help="draw monthly series and top reviewers")
    stats.add_argument("--json", action="store_true", help="JSON output")
    stats.set_defaults(func=cmd_stats)

    export = sub.add_parser(
        "export",
        help="export one current record per article (csv, jsonl, parquet), a WACZ, "
        "or an Atom feed of the events",
        description=f"Columns: {', '.join(COLUMNS)}. Default: all but body_html "
        "(jsonl without --columns: the full records).",
    )
    add_archive_argument(export)
    export.add_argument(
        "--format",
        choices=(*FORMATS, "wacz", "atom"),
        default=None,
        help="default: from the -o file's extension (.csv, .jsonl, .parquet, .wacz; "
        ".atom or .xml: an Atom feed of the events), else jsonl",
    )
    export.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        help="atom: where `uir-news serve` runs, the base of each entry's link to the "
        f"archived copy (default: {DEFAULT_BASE_URL})",
    )
    export.add_argument("-o", "--output", help="output file (default or '-': standard output)")
    export.add_argument("--columns", help="comma-separated columns, e.g. url,title,published_date")
    # No -q: that is --quiet in `crawl`.
    export.add_argument("--query", help="only articles matching this search query")
    _filter_args(export)
    export.set_defaults(func=cmd_export)

    serve = sub.add_parser(
        "serve",
        help="the research pages (search, articles, archived copies) and Datasette on 127.0.0.1",
    )
    add_archive_argument(serve)
    serve.add_argument("--port", type=int, default=8001, help="default: 8001")
    serve.set_defaults(func=cmd_serve)
