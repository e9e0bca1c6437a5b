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

from archive.research.output import OutputRefused
from archive.storage.layout import ArchiveLayout, archive_dir, default_archive_dir
from crawler import settings as crawl_settings
from crawler.cli.changes import add_commands as add_changes_commands
from crawler.cli.errors import UsageError, failure_code, log_traceback
from crawler.cli.maintenance import add_commands as add_maintenance_commands
from crawler.cli.merge import add_commands as add_merge_commands
from crawler.cli.options import add_archive_argument
from crawler.cli.probe import add_commands as add_probe_commands
from crawler.cli.research import add_commands as add_research_commands
from crawler.cli.status import add_commands as add_status_commands
from crawler.exit_codes import ExitCode

if TYPE_CHECKING:
    from crawler.failures import Problem
    from crawler.summary import RunSummary


#: The demo's replica port: fixed, so a second demo into the same archive sees
#: the same URLs (a random port made every article new again).
DEMO_PORT = 8642


def _check_start_url(url: str) -> str:
    from crawler.sites import ConfigError, check_url

    try:
        # The spider's own check: a bad port or IPv6 address found there was a traceback.
        return check_url(url, "--start-url")
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _check_config(path: str) -> str:
    """The config file's absolute path, once it reads as a valid crawl plan; else UsageError."""
    from crawler.sites import ConfigError, load_config

    try:
        load_config(path)
    except ConfigError as exc:
        raise UsageError(f"--config {exc}") from None
    return str(Path(path).expanduser().resolve())


# -- crawl -------------------------------------------------------------------


def cmd_crawl(args: argparse.Namespace) -> int:
    # Not at start-up: Scrapy's imports would slow every other command.
    from archive.storage.lock import LockHeld
    from crawler.run import CrawlOptions, run_crawl

    for name in ("recent_days", "recheck_hours", "overlap", "recheck_budget"):
        value = getattr(args, name)
        if value is not None and (value < 0 or value != value):  # value != value: nan
            flag = "--" + name.replace("_", "-")
            raise UsageError(f"{flag} must be a number, 0 or more, not {value}")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    given = {
        "UIR_NEWS_FULL_WALK": args.full,
        "UIR_NEWS_RECENT_DAYS": args.recent_days,
        "UIR_NEWS_RECHECK_HOURS": args.recheck_hours,
        "UIR_NEWS_RECHECK_BUDGET": args.recheck_budget,
        "UIR_NEWS_OVERLAP_PAGES": args.overlap,
        "UIR_NEWS_FETCH_VIEW_COUNT": args.view_counts,
        "UIR_NEWS_REQUISITES": args.requisites,
        "UIR_NEWS_REQUISITES_OFFSITE": args.requisites_offsite,
        "DOWNLOAD_TIMEOUT": args.timeout,
        "UIR_NEWS_PROGRESS": (sys.stderr.isatty() and not args.quiet and not args.verbose) or None,
    }
    if args.column is not None and not args.column.strip():
        raise UsageError("--column needs the column's visible name, e.g. --column 国关要闻")
    start_urls = [_check_start_url(url) for url in args.start_url or []]
    if len(start_urls) > 1:
        if args.column is not None:
            raise UsageError("--column finds one column from one home page: give one --start-url")
        given["UIR_NEWS_START_URLS"] = start_urls
    if args.config is not None:
        given["UIR_NEWS_CONFIG"] = _check_config(args.config)
    options = CrawlOptions(
        start_url=start_urls[0] if len(start_urls) == 1 else None,
        column=args.column,
        archive_dir=archive_dir(args.archive),
        # Our summary says what went wrong, once: Scrapy's own log (and our
        # per-page warnings) only with -v; --quiet keeps cron mail to the summary.
        log_level="INFO" if args.verbose else "CRITICAL" if args.quiet else "ERROR",
        # Only what was given: every default is crawler.settings'.
        settings={key: value for key, value in given.items() if value is not None},
    )
    try:
        summary = run_crawl(options)
    except LockHeld as exc:
        print(f"uir-news: {exc}; not starting a second run", file=sys.stderr)
        return int(ExitCode.LOCKED)
    if not args.quiet:
        print(format_summary(summary))
    elif summary.exit_code != ExitCode.OK:
        print(format_quiet(summary), file=sys.stderr)
    column_warning(summary)
    return int(summary.exit_code)


def _outcome(summary: RunSummary) -> str:
    return f"{ExitCode(summary.exit_code).name} (exit {int(summary.exit_code)})"


def column_warning(summary: RunSummary) -> None:
    """On stderr: the column moved (a warning), or was not found (why, and the links seen).

    Also under --quiet: a move is rare and worth one mail, though the run exits 0.
    """
    column = summary.column
    if column is None:
        return
    if column.url is None:
        print(f"uir-news: column {column.name} not found: {column.found_by}", file=sys.stderr)
    elif column.moved_from and column.moved_from != column.url:
        print(
            f"uir-news: warning: column {column.name} moved from {column.moved_from} "
            f"to {column.url} (followed; {column.found_by})",
            file=sys.stderr,
        )


def format_summary(summary: RunSummary) -> str:
    """The run summary for a person: the same names as in ``runs/{run_id}.json``."""
    articles = summary.articles
    warc = summary.warc
    failures = [p for p in summary.problems if p.is_failure]
    lines = [
        f"run {summary.run_id}: {_outcome(summary)} in {summary.duration_s:.1f}s "
        f"({summary.walk} walk, {summary.finish_reason})",
        f"  start URL       {summary.start_url}",
        *_column_lines(summary),
        f"  archive         {summary.archive}",
        f"  requests        {summary.requests} ({summary.response_bytes:,} bytes)",
        f"  listing pages   {summary.listing_pages}",
        f"  articles        {articles.seen} seen: {articles.new_versions} new versions "
        f"({articles.edited} of them edits), {articles.unchanged} unchanged, "
        f"{articles.invalid} invalid",
        f"  events          {format_event_counts(summary.events)}",
        f"  requisites      {summary.requisites.requested} requested: "
        f"{summary.requisites.fetched} fetched ({summary.requisites.bytes:,} bytes), "
        f"{summary.requisites.unchanged} unchanged, {summary.requisites.failed} failed, "
        f"{summary.requisites.robots_disallowed} refused by robots.txt",
        f"  WARC            {len(warc.files)} file(s), {warc.bytes:,} bytes, "
        f"{warc.records} records",
        f"  failures        {summary.failures}"
        + (
            f" (of {len(summary.problems)} problems; the others lose nothing)"
            if len(summary.problems) != summary.failures
            else ""
        ),
    ]
    if summary.archiver_error:
        lines.append(f"  ARCHIVER FAILED {summary.archiver_error}")
    for alarm in summary.alarms:
        lines.append(f"  LAYOUT ALARM    {alarm}")
    for damage in summary.damage[:20]:
        lines.append(f"  DAMAGE          {damage}")
    shown = failures[:20]
    for problem in shown:
        lines.append(
            f"    {problem.reason}: {problem.url} {problem.detail}{_tried(problem)}".rstrip()
        )
    if articles.permanent_failures_skipped:
        lines.append(
            f"  not asked again {articles.permanent_failures_skipped} article(s) lost for good "
            "in an earlier run (too large, redirect loop...); `crawl --full` tries them again"
        )
    if len(failures) > len(shown):
        lines.append(f"    ... {len(failures) - len(shown)} more in runs/{summary.run_id}.json")
    return "\n".join(lines)


def format_event_counts(counts: dict[str, int]) -> str:
    """``2 new, 1 edited, 0 removed...``: every kind, in a fixed order (`uir-news changes`)."""
    from archive.storage.catalog import EVENT_KINDS

    return ", ".join(f"{counts.get(kind, 0)} {kind}" for kind in EVENT_KINDS)


def _tried(problem: Problem) -> str:
    """How often the page has failed, and what happens next, when it is not the first time."""
    if problem.permanent:
        return (
            ", not asked again" if problem.attempts == 1 else f", failed {problem.attempts} times"
        )
    if problem.attempts > 1:
        return f", attempt {problem.attempts}"
    return ""


def format_quiet(summary: RunSummary) -> str:
    """For cron mail: the outcome, then one line per kind of failure, with one example."""
    runs = f"{summary.archive}/runs/{summary.run_id}.json"
    lines = [f"uir-news crawl: {_outcome(summary)}, {summary.failures} failures; details in {runs}"]
    if summary.archiver_error:
        lines.append(f"  archiver failed: {summary.archiver_error}")
    lines.extend(f"  layout alarm: {alarm}" for alarm in summary.alarms)
    by_reason: dict[str, list[Problem]] = {}
    for problem in summary.problems:
        if problem.is_failure:
            by_reason.setdefault(problem.reason, []).append(problem)
    for reason, problems in sorted(by_reason.items(), key=lambda item: -len(item[1])):
        first = problems[0]
        lines.append(f"  {reason}: {len(problems)} (e.g. {first.url}{_tried(first)})")
    return "\n".join(lines)


def _column_lines(summary: RunSummary) -> list[str]:
    if len(summary.columns) > 1:
        # Many columns: one line each; a column found by name says so in its start URL.
        return [
            f"  column          {c.name or '?'} ({c.site}, id {c.id}): {c.records} articles, "
            f"{c.listing_pages} listing pages, {c.walk} walk"
            for c in summary.columns
        ]
    column = summary.column
    if column is None:
        return []
    if column.url is None:
        return [f"  column          {column.name}: NOT FOUND"]
    lines = [
        f"  column          {column.name} at {column.url}",
        f"    found by      {column.found_by}",
    ]
    if column.moved_from and column.moved_from != column.url:
        lines.append(f"  COLUMN MOVED    from {column.moved_from}")
    return lines


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

    return replica_main(rest, prog="uir-news replica")


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
    if not 0 <= args.port < 65536:
        raise UsageError(f"--port must be 0-65535 (0: any free port), got {args.port}")
    # The column sits in a folder, not at the usual /ggyw.htm: the crawl finds
    # it from the home page by its name, as `uir-news crawl` does on the live site.
    site = ReplicaSite(column_path="/xwzx/ggyw.htm")
    server = ReplicaServer(site, port=args.port)
    try:
        server.start()
    except OSError as exc:
        raise UsageError(
            f"cannot serve the replica on 127.0.0.1:{args.port} ({exc.strerror or exc}); "
            "pick another --port"
        ) from exc
    with server:
        print(f"replica site serving {server.home_url} (国关要闻 at {server.start_url})")
        summary = run_crawl(
            CrawlOptions(start_url=server.home_url, column="国关要闻", archive_dir=demo_dir)
        )
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
        action="append",
        metavar="URL",
        help="page 1 of a column's listing, on any site; give it again for more columns; "
        "with --column, a home page to find the column on "
        f"(default: find {crawl_settings.UIR_NEWS_COLUMN_NAME} from "
        f"{' then '.join(crawl_settings.UIR_NEWS_HOME_URLS)})",
    )
    crawl.add_argument(
        "--config",
        metavar="FILE",
        help="a TOML file of sites, their columns and each site's politeness "
        "(see examples/sites.toml; default: none)",
    )
    crawl.add_argument(
        "--column",
        metavar="NAME",
        help="find the column by its visible name on the home page (--start-url), "
        "remember where, and follow it when it moves "
        f"(default {crawl_settings.UIR_NEWS_COLUMN_NAME} on the default home pages)",
    )
    add_archive_argument(crawl)
    crawl.add_argument(
        "--full",
        action="store_true",
        default=None,
        help="walk every listing page, not just the new ones, re-check every archived "
        "article, and tell the ones no longer listed (unlisted or removed)",
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
        "--recheck-budget",
        type=int,
        metavar="N",
        help="also re-check N older articles per run, those checked longest ago first; "
        "every article is seen again within ceil(articles / N) runs "
        f"(default {crawl_settings.UIR_NEWS_RECHECK_BUDGET}, 0: off)",
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
    crawl.add_argument(
        "--no-requisites",
        dest="requisites",
        action="store_false",
        default=None,
        help="archive article pages only, not the images, attachments, style sheets and "
        "scripts they need (fetched by default, each once per run)",
    )
    crawl.add_argument(
        "--requisites-offsite",
        action="store_true",
        default=None,
        help="also fetch requisites on other hosts (embedded images, CDN scripts; "
        "default: the site's own hosts only)",
    )
    crawl.add_argument("-q", "--quiet", action="store_true", help="print only when wrong")
    crawl.add_argument("-v", "--verbose", action="store_true", help="log every request")
    crawl.set_defaults(func=cmd_crawl)

    parse = sub.add_parser("parse", help="print the record of one saved article page")
    parse.add_argument("file", help="saved HTML page")
    parse.add_argument("--url", help="the page's URL (resolves relative links)")
    parse.set_defaults(func=cmd_parse)

    add_maintenance_commands(sub)
    add_status_commands(sub)
    add_research_commands(sub)
    add_changes_commands(sub)
    add_merge_commands(sub)
    add_probe_commands(sub)

    demo = sub.add_parser(
        "demo",
        help="crawl the built-in replica site and show the result",
        description="Serves the replica site on 127.0.0.1:PORT, crawls it into an archive "
        "and prints the run summary and one parsed article.",
    )
    demo.add_argument(
        "--archive",
        type=Path,
        default=None,
        help="archive directory (default: a new demo-STAMP folder beside the default archive, "
        f"in {default_archive_dir().parent}); a second demo into the same archive finds "
        "nothing new",
    )
    demo.add_argument(
        "--port",
        type=int,
        default=DEMO_PORT,
        help=f"port of the replica site (default: {DEMO_PORT}; the archive keeps its URLs, "
        "so use the same port for the same archive)",
    )
    demo.set_defaults(func=cmd_demo)

    sub.add_parser(
        "replica", help="serve the replica site (see `uir-news replica --help`)", add_help=False
    ).set_defaults(func=None)
    for command_parser in sub.choices.values():
        command_parser.set_defaults(command_parser=command_parser)
    return parser


def _reopen_closed_std_streams() -> None:
    """Point a closed standard stream (`uir-news search ... >&-`) at /dev/null.

    Python then has no ``sys.stdout`` (every command that asked ``isatty()``
    or wrote a file to ``-`` failed with an internal error), and the next
    file opened takes the free number 1: a WARC or record file written by
    the crawl would be the archiver child's standard output. What is written
    to a closed stream is lost, as Python's own ``print`` does.
    """
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            setattr(sys, name, open(fd, mode, encoding="utf-8", closefd=False))  # noqa: SIM115


def main(argv: Sequence[str] | None = None) -> int:
    _reopen_closed_std_streams()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["replica"]:
        # The replica has its own argument parser; hand it the rest verbatim.
        return cmd_replica(argparse.Namespace(), argv[1:])
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        # As the subcommand's own error, so the usage shown is the command's.
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
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
