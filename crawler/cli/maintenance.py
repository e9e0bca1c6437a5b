"""The ``replay``, ``verify``, ``rebuild`` and ``index`` commands, and WACZ export.

Thin on purpose: each command parses nothing but its arguments and calls one
function of archive/. :func:`add_commands` registers them on the main
parser; every command takes the argparse Namespace and returns an exit code.
Bad input raises :class:`crawler.cli.errors.UsageError`.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from archive.research.filters import resolve_article
from archive.research.output import atomic_output, output_path
from archive.research.search import search_indexer
from archive.storage import catalog
from archive.storage.layout import ArchiveLayout
from archive.storage.lock import ArchiveLock, LockHeld
from archive.storage.recovery import rebuild, repair_open_warcs
from archive.storage.verify import verify
from crawler.archiver.protocol import iso_utc
from crawler.cli.errors import UsageError
from crawler.cli.options import (
    add_archive_argument,
    existing_archive,
    read_only_catalog,
    warn,
)
from crawler.cli.status import LAST_VERIFY_KEY
from crawler.exit_codes import ExitCode

_SHOWN_PROBLEMS = 50


# -- replay ---------------------------------------------------------------------


def cmd_replay(args: argparse.Namespace) -> int:
    # cdxj-indexer and warcio's replay pieces take 0.3 s to import: only these commands pay it.
    from archive.replay.cdxj import index_is_current, update_index
    from archive.replay.playback import NotArchived, RevisitUnresolved, parse_when, replay

    try:
        at = parse_when(args.at) if args.at else None
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    layout = existing_archive(args)
    output = output_path(args.output, archive=layout.root)
    if not index_is_current(layout):
        # A crawl killed before its index update leaves WARCs unindexed;
        # catching up is cheap, and replay must not miss what is archived.
        try:
            update_index(layout)
        except OSError as exc:
            warn(f"index is out of date and could not be updated ({exc}); using it as is")
    url = args.url if "://" in args.url else _article_url(layout, args.url)
    try:
        result = replay(layout, url, at)
    except (NotArchived, RevisitUnresolved) as exc:
        warn(str(exc))
        return ExitCode.PARTIAL
    if output is not None:
        with atomic_output(output, binary=True, archive=layout.root) as out:
            out.write(result.body)
    else:
        sys.stdout.buffer.write(result.body)
        sys.stdout.buffer.flush()
    origin = "" if result.record_type == "response" else f", {result.record_type} resolved"
    print(
        f"replayed {result.url} as captured {result.warc_date} "
        f"(status {result.status}, {len(result.body)} bytes{origin})",
        file=sys.stderr,
    )
    return ExitCode.OK


def _article_url(layout: ArchiveLayout, ref: str) -> str:
    """The URL of the article ``ref`` names (catalog id or VSB news id), as `show` takes it."""
    conn = read_only_catalog(layout)
    try:
        article_id = resolve_article(conn, ref)
        row = (
            None
            if article_id is None
            else conn.execute("SELECT url FROM articles WHERE id = ?", (article_id,)).fetchone()
        )
    finally:
        conn.close()
    if row is None:
        raise UsageError(f"{ref!r} is neither a URL nor an article id or news id in the catalog")
    return str(row[0])


# -- verify ---------------------------------------------------------------------


def cmd_verify(args: argparse.Namespace) -> int:

    layout = existing_archive(args)
    report = verify(layout)
    print(report.one_line())
    _note_verify(layout, report.one_line(), ok=report.ok)
    if args.verbose:
        for problem in report.problems[:_SHOWN_PROBLEMS]:
            print(f"  {problem}", file=sys.stderr)
        if len(report.problems) > _SHOWN_PROBLEMS:
            print(f"  ... {len(report.problems) - _SHOWN_PROBLEMS} more", file=sys.stderr)
    return ExitCode.OK if report.ok else ExitCode.DAMAGED


def _note_verify(layout: ArchiveLayout, summary: str, *, ok: bool) -> None:
    """Keep the result in the catalog for `uir-news status` (skipped where it cannot be written)."""
    note = json.dumps({"at": iso_utc(), "ok": ok, "summary": summary}, ensure_ascii=False)
    try:
        conn = catalog.connect(layout.catalog_path)
    except (OSError, sqlite3.Error):
        return
    try:
        with catalog.transaction(conn):
            catalog.set_meta(conn, LAST_VERIFY_KEY, note)
    except sqlite3.Error:
        pass  # a read-only or damaged catalog: verify's own report said what matters
    finally:
        conn.close()


# -- rebuild --------------------------------------------------------------------


def cmd_rebuild(args: argparse.Namespace) -> int:
    from archive.replay.cdxj import update_index  # 0.3 s of imports, see cmd_replay
    from crawler.archiver.pages import reparse_response  # the parser: only rebuild needs it

    layout = existing_archive(args)
    try:
        with ArchiveLock(layout.lock_path):
            # Holding the lock means no live run owns an .open file: it is
            # left over from a killed one, and must be closed or its
            # captures would be missing from the rebuilt catalog.
            repaired = repair_open_warcs(layout.warc_dir)
            report = rebuild(layout, on_record=search_indexer(), reparse=reparse_response)
            stats = update_index(layout, rebuild=True)
    except LockHeld as exc:
        warn(f"{exc}; not rebuilding while it runs")
        return ExitCode.LOCKED
    parts = ", ".join(f"{value} {name}" for name, value in report.counts.items())
    fixed = len(repaired.repaired) + len(repaired.set_aside)
    print(
        f"rebuilt catalog: {parts}; index {stats.lines_total} lines"
        + (f"; repaired {fixed} interrupted WARC file(s)" if fixed else "")
    )
    problems = report.problems()
    for problem in problems[:_SHOWN_PROBLEMS]:
        warn(f"damage: {problem}")
    if len(problems) > _SHOWN_PROBLEMS:
        warn(f"... {len(problems) - _SHOWN_PROBLEMS} more")
    if problems:
        warn(
            f"{len(problems)} problem(s): every readable record was kept and indexed; "
            "damaged WARC files were left as they are"
        )
        return ExitCode.DAMAGED
    return ExitCode.OK


# -- upgrade --------------------------------------------------------------------


def cmd_upgrade(args: argparse.Namespace) -> int:
    # `uir-news upgrade ARCHIVE`, as exit code 9's advice and the README put it.
    if args.archive_dir is not None:
        if args.archive is not None and Path(args.archive) != Path(args.archive_dir):
            raise UsageError(
                f"two archives named: {args.archive_dir} and --archive {args.archive}; give one"
            )
        args.archive = Path(args.archive_dir)
    layout = existing_archive(args)
    if not layout.catalog_path.exists():
        raise UsageError(f"{layout.root} has no catalog; `uir-news rebuild` makes one")
    try:
        with ArchiveLock(layout.lock_path):
            before = catalog.stored_version(layout.catalog_path)
            conn = catalog.connect(layout.catalog_path, readonly=False)
            conn.close()
    except LockHeld as exc:
        warn(f"{exc}; not upgrading while it runs")
        return ExitCode.LOCKED
    now = catalog.CATALOG_SCHEMA_VERSION
    if before == now:
        print(f"the catalog is already version {now}; nothing to do")
    else:
        print(f"upgraded the catalog from version {before} to {now}")
    return ExitCode.OK


# -- index ----------------------------------------------------------------------


def cmd_index(args: argparse.Namespace) -> int:
    from archive.replay.cdxj import update_index  # 0.3 s of imports, see cmd_replay

    stats = update_index(existing_archive(args), rebuild=args.rebuild)
    print(stats.one_line())
    return ExitCode.OK


# -- registration ------------------------------------------------------------------


def add_commands(subparsers: Any) -> None:
    """Register replay, verify, rebuild and index on ``parser.add_subparsers()``."""
    replay = subparsers.add_parser("replay", help="write an archived page as it was served")
    replay.add_argument(
        "url", help="the page's URL, or an article's catalog id or news id (as `show` takes)"
    )
    replay.add_argument(
        "--at", help="capture nearest this time: 2025-07-14, 20250714[hhmmss] or ISO 8601 (UTC)"
    )
    replay.add_argument("-o", "--output", help="write the body here (default: standard output)")
    add_archive_argument(replay)
    replay.set_defaults(func=cmd_replay)

    verify = subparsers.add_parser("verify", help="re-read every WARC and check every pointer")
    verify.add_argument("-v", "--verbose", action="store_true", help="list the problems found")
    add_archive_argument(verify)
    verify.set_defaults(func=cmd_verify)

    rebuild = subparsers.add_parser(
        "rebuild", help="repair interrupted WARCs, rebuild the catalog and the CDXJ index"
    )
    add_archive_argument(rebuild)
    rebuild.set_defaults(func=cmd_rebuild)

    upgrade = subparsers.add_parser(
        "upgrade", help="bring an archive made by an older uir-news to today's catalog format"
    )
    upgrade.add_argument(
        "archive_dir",
        nargs="?",
        type=Path,
        metavar="ARCHIVE",
        help="the archive directory (or --archive)",
    )
    add_archive_argument(upgrade)
    upgrade.set_defaults(func=cmd_upgrade)

    index = subparsers.add_parser("index", help="bring the CDXJ index up to date")
    index.add_argument("--rebuild", action="store_true", help="re-index every WARC file")
    add_archive_argument(index)
    index.set_defaults(func=cmd_index)
