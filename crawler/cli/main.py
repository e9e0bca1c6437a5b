"""The ``uir-news`` command: a thin layer that maps subcommands onto functions.

Ordinary mistakes (a missing file, a bad URL, an unknown format) end with a
one-line message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from archive.research.output import OutputRefused
from archive.storage.layout import ArchiveLayout, archive_dir, default_archive_dir
from crawler import settings as crawl_settings
from crawler.cli.errors import UsageError, failure_code, log_traceback
from crawler.cli.maintenance import add_commands as add_maintenance_commands
from crawler.cli.options import add_archive_argument
from crawler.cli.research import add_commands as add_research_commands
from crawler.exit_codes import ExitCode

if TYPE_CHECKING:
    from crawler.summary import RunSummary


def _check_start_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UsageError(f"--start-url must be an absolute http(s) URL, got {url!r}")
    return url


# -- crawl -------------------------------------------------------------------


def cmd_crawl(args: argparse.Namespace) -> int:
    # Not at start-up: Scrapy's imports would slow every other command.
    from archive.storage.lock import LockHeld
    from crawler.run import CrawlOptions, run_crawl

    for name in ("recent_days", "recheck_hours", "overlap"):
        if getattr(args, name) is not None and getattr(args, name) < 0:
            raise UsageError("--recent-days, --recheck-hours and --overlap must not be negative")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    given = {
        "UIR_NEWS_FULL_WALK": args.full,
        "UIR_NEWS_RECENT_DAYS": args.recent_days,
        "UIR_NEWS_RECHECK_HOURS": args.recheck_hours,
        "UIR_NEWS_OVERLAP_PAGES": args.overlap,
        "UIR_NEWS_FETCH_VIEW_COUNT": args.view_counts,
        "DOWNLOAD_TIMEOUT": args.timeout,
        "UIR_NEWS_PROGRESS": (sys.stderr.isatty() and not args.quiet and not args.verbose) or None,
    }
    options = CrawlOptions(
        start_url=None if args.start_url is None else _check_start_url(args.start_url),
        archive_dir=archive_dir(args.archive),
        log_level="INFO" if args.verbose else "WARNING",
        # Only what was given: every default is crawler.settings'.
        settings={key: value for key, value in given.items() if value is not None},
    )
    try:
        summary = run_crawl(options)
    except LockHeld as exc:
        print(f"uir-news: {exc}; not starting a second run", file=sys.stderr)
        return int(ExitCode.LOCKED)
    if not args.quiet or summary.exit_code != ExitCode.OK:
        print(format_summary(summary), file=sys.stderr if args.quiet else sys.stdout)
    return int(summary.exit_code)


def format_summary(summary: RunSummary) -> str:
    articles = summary.articles
    warc = summary.warc
    lines = [
        f"run {summary.run_id}: {summary.finish_reason} in {summary.duration_s:.1f}s",
        f"  start URL       {summary.start_url}",
        f"  archive         {summary.archive}",
        f"  requests        {summary.requests} ({summary.response_bytes:,} bytes)",
        f"  listing pages   {summary.listing_pages}",
        f"  articles        {articles.seen} seen, {articles.new_versions} new versions, "
        f"{articles.unchanged} unchanged, {articles.invalid} invalid",
        f"  WARC            {len(warc.files)} file(s), {warc.bytes:,} bytes, "
        f"{warc.records} records",
        f"  errors          {summary.failures}",
    ]
    if summary.archiver_error:
        lines.append(f"  ARCHIVER FAILED {summary.archiver_error}")
    for alarm in summary.alarms:
        lines.append(f"  LAYOUT ALARM    {alarm}")
    for damage in summary.damage[:20]:
        lines.append(f"  DAMAGE          {damage}")
    for problem in summary.problems[:20]:
        lines.append(f"    {problem.reason}: {problem.url} {problem.detail}".rstrip())
    if len(summary.problems) > 20:
        lines.append(f"    ... {len(summary.problems) - 20} more in runs/{summary.run_id}.json")
    return "\n".join(lines)


# -- parse -------------------------------------------------------------------


def cmd_parse(args: argparse.Namespace) -> int:
    from crawler.extract import NotAnArticle, parse_article

    path = Path(args.file)
    try:
        html = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    url = args.url or path.resolve().as_uri()
    if args.url:
        _check_start_url(args.url)
    try:
        record = parse_article(html, url)
    except NotAnArticle as exc:
        print(f"uir-news: {path} is not an article page ({exc.reason})", file=sys.stderr)
        return 1
    print(json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True))
    return 0


# -- replica and demo --------------------------------------------------------


def cmd_replica(args: argparse.Namespace, rest: list[str]) -> int:
    from replica.server import main as replica_main

    return replica_main(rest)


def cmd_demo(args: argparse.Namespace) -> int:
    # Not at start-up: Scrapy's imports would slow every other command.
    from archive.storage import catalog
    from crawler.run import CrawlOptions, run_crawl
    from replica.server import ReplicaServer
    from replica.site import ReplicaSite

    if args.archive:
        demo_dir = archive_dir(args.archive)
    else:
        # A fresh archive each time, beside (never inside) the default one.
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        demo_dir = default_archive_dir().parent / f"demo-{stamp}-{os.getpid()}"
    site = ReplicaSite()
    with ReplicaServer(site) as server:
        print(f"replica site serving {server.start_url}")
        summary = run_crawl(CrawlOptions(start_url=server.start_url, archive_dir=demo_dir))
    print(format_summary(summary))
    conn = catalog.connect(ArchiveLayout(demo_dir).catalog_path)
    try:
        # Show the seed article: the one real article of the column.
        seed = next((r for r in catalog.iter_current_records(conn) if "四强" in r["title"]), None)
    finally:
        conn.close()
    if seed is not None:
        shown = dict(seed)
        shown["body_html"] = shown["body_html"][:200] + "…"
        shown["body_text"] = shown["body_text"][:300] + "…"
        print("\none parsed article:")
        print(json.dumps(shown, ensure_ascii=False, indent=2, sort_keys=True))
    return int(summary.exit_code)


# -- entry point -------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="uir-news",
        description="Archive the 国关要闻 column of 国际关系学院 as JSON records and WARC files.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    crawl = sub.add_parser("crawl", help="crawl the column into the archive")
    # Options default to None: only those given reach the settings, and the
    # defaults shown are crawler.settings' own.
    crawl.add_argument(
        "--start-url",
        help=f"first listing page (default {crawl_settings.UIR_NEWS_START_URL})",
    )
    add_archive_argument(crawl)
    crawl.add_argument(
        "--full",
        action="store_true",
        default=None,
        help="walk every listing page, not just the new ones",
    )
    crawl.add_argument(
        "--recent-days",
        type=int,
        help="re-check articles published within this many days for edits "
        f"(default {crawl_settings.UIR_NEWS_RECENT_DAYS})",
    )
    crawl.add_argument(
        "--recheck-hours",
        type=float,
        help="re-check a recent article at most this often "
        f"(default {crawl_settings.UIR_NEWS_RECHECK_HOURS:g})",
    )
    crawl.add_argument(
        "--overlap",
        type=int,
        help="listing pages to read past the first already-archived article "
        f"(default {crawl_settings.UIR_NEWS_OVERLAP_PAGES})",
    )
    crawl.add_argument(
        "--timeout",
        type=float,
        help="seconds before a request is given up and retried "
        f"(default {crawl_settings.DOWNLOAD_TIMEOUT})",
    )
    crawl.add_argument(
        "--view-counts",
        action="store_true",
        default=None,
        help="also fetch each article's view count from dynclicks.jsp (one request more each)",
    )
    crawl.add_argument("-q", "--quiet", action="store_true", help="print only when wrong")
    crawl.add_argument("-v", "--verbose", action="store_true", help="log every request")
    crawl.set_defaults(func=cmd_crawl)

    parse = sub.add_parser("parse", help="print the record of one saved article page")
    parse.add_argument("file", help="saved HTML page")
    parse.add_argument("--url", help="the page's URL (resolves relative links)")
    parse.set_defaults(func=cmd_parse)

    add_maintenance_commands(sub)
    add_research_commands(sub)

    demo = sub.add_parser("demo", help="crawl the built-in replica site and show the result")
    add_archive_argument(demo)
    demo.set_defaults(func=cmd_demo)

    sub.add_parser(
        "replica", help="serve the replica site (see `uir-news replica --help`)", add_help=False
    ).set_defaults(func=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["replica"]:
        # The replica has its own argument parser; hand it the rest verbatim.
        return cmd_replica(argparse.Namespace(), argv[1:])
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except (UsageError, OutputRefused) as exc:
        print(f"uir-news: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    except KeyboardInterrupt:
        print("uir-news: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`uir-news search ... | head`): nothing is wrong
        # with the archive. Point stdout at /dev/null so the interpreter's final
        # flush does not fail again, and exit as a process killed by SIGPIPE would.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.BROKEN_PIPE
    except Exception as exc:  # every failure ends in one line and its own exit code
        code, message = failure_code(exc)
        if code is ExitCode.INTERNAL_ERROR:
            message += f"; the traceback is in {log_traceback(exc, getattr(args, 'archive', None))}"
        print(f"uir-news: {message}", file=sys.stderr)
        return int(code)
    return result


if __name__ == "__main__":
    sys.exit(main())
