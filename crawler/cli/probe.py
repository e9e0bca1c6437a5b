"""``uir-news probe URL`` (or ``--file PAGE.html``): check a column before adding it to cron.

Prints which rules read the listing (item rule, date forms, pager, page
count), its first items, and for the newest article which rule gave the title,
the date, the body and the credits, with every missing field named. Exit 0
when the required fields are there, 3 (LAYOUT_ALARM: the rules miss a field)
when one is missing, 5 when the page cannot be had or is not a listing.
"""

from __future__ import annotations

import argparse
import json
import stat
from dataclasses import asdict
from pathlib import Path
from typing import Any

from crawler.cli.errors import UsageError
from crawler.cli.options import warn
from crawler.exit_codes import ExitCode

#: Listing items shown (all of them with --json).
_SHOWN_ITEMS = 5


def _check_url(url: str) -> str:
    from crawler.sites import ConfigError, check_url

    try:
        # As the crawl checks a start URL: a bad IPv6 address was an internal error.
        check_url(url, "probe")
    except ConfigError:
        raise UsageError(f"probe needs an absolute http(s) URL, got {url!r}") from None
    return url


def _exit_code(report: Any) -> ExitCode:
    return ExitCode.LAYOUT_ALARM if report.missing_required else ExitCode.OK


def _as_json(report: Any) -> dict[str, Any]:
    listing: dict[str, Any] | None = None
    if report.listing is not None:
        listing = {
            "url": report.listing_url,
            **asdict(report.listing_rules),
            "total_items": report.listing.total_items,
            "entries": [asdict(item) for item in report.listing.items],
        }
    article: dict[str, Any] | None = None
    if report.article is not None:
        rules = report.article.rules
        article = {
            "url": report.article.url,
            "not_an_article": report.article.not_an_article,
            "rules": rules.rules if rules else {},
            "missing": rules.missing if rules else [],
            "missing_required": report.missing_required,
            "record": report.article.record,
        }
    code = _exit_code(report)
    return {
        "listing": listing,
        "article": article,
        "requests": report.requests,
        "ok": code is ExitCode.OK,
        "exit_code": int(code),
    }


def _short(record: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in record.items() if k != "warc"}
    for name, limit in (("body_html", 200), ("body_text", 300)):
        if isinstance(shown.get(name), str) and len(shown[name]) > limit:
            shown[name] = shown[name][:limit] + "…"
    return shown


def _as_text(report: Any) -> str:
    lines: list[str] = []
    if report.listing is not None:
        rules = report.listing_rules
        forms = ", ".join(f"{form} ×{n}" for form, n in rules.date_forms.items()) or "none"
        pages = "pages unknown" if rules.page_count is None else f"{rules.page_count} page(s)"
        lines += [
            f"listing   {report.listing_url}",
            f"  items   {rules.items} ({rules.articles} articles) by {rules.item_rule}",
            f"  dates   {forms}",
            f"  pager   {rules.pager_rule}; {pages}"
            + (f", {report.listing.total_items} items" if report.listing.total_items else ""),
        ]
        for item in report.listing.items[:_SHOWN_ITEMS]:
            lines.append(f"    {item.date or item.date_raw or '-':<10}  {item.title}  {item.url}")
        if len(report.listing.items) > _SHOWN_ITEMS:
            lines.append(f"    ... {len(report.listing.items) - _SHOWN_ITEMS} more")
        if report.article is None:
            lines.append("  (no article on this page: nothing more to check)")
    article = report.article
    if article is not None:
        lines.append(f"article   {article.url}")
        if article.rules is None:
            lines.append(f"  NOT AN ARTICLE: {article.not_an_article}")
        else:
            for name, rule in article.rules.rules.items():
                lines.append(f"  {name:<13} {rule}")
            lines.append(f"  missing       {', '.join(article.rules.missing) or 'nothing'}")
            lines.append("record:")
            text = json.dumps(_short(dict(article.record)), ensure_ascii=False, indent=2)
            lines += ["  " + line for line in text.splitlines()]
    missing = report.missing_required
    lines.append(
        f"REQUIRED FIELD(S) MISSING: {', '.join(missing)} (exit {int(ExitCode.LAYOUT_ALARM)})"
        if missing
        else "ok: every required field is there"
    )
    return "\n".join(lines)


def _read_saved_page(path: Path) -> bytes:
    """A saved page's bytes; UsageError for a FIFO, a device, a directory, or too big a file.

    A FIFO would wait for a writer forever and /dev/zero be read until memory
    runs out: only a regular file, at most the crawl's own size limit.
    """
    from crawler import settings as crawl_settings

    limit = crawl_settings.DOWNLOAD_MAXSIZE
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise UsageError(
                f"cannot read {path}: not a regular file (a saved HTML page is needed)"
            )
        with path.open("rb") as fh:
            html = fh.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(html) > limit:
        raise UsageError(f"cannot read {path}: larger than {limit:,} bytes, the crawl's limit")
    return html


def cmd_probe(args: argparse.Namespace) -> int:
    # The extractor and lxml load only for this command.
    from crawler.probe import PoliteFetcher, ProbeFailed, probe_saved_page, probe_url

    if args.file is not None:
        if args.url is not None:
            raise UsageError("give a URL or --file, not both (--page-url names a saved page's URL)")
        path = Path(args.file)
        html = _read_saved_page(path)
        page_url = _check_url(args.page_url) if args.page_url else path.resolve().as_uri()
        report = probe_saved_page(html, page_url, require_reviewers=args.require_reviewers)
    else:
        if args.url is None:
            raise UsageError("probe needs a listing URL, or --file PAGE.html")
        if args.page_url is not None:
            raise UsageError("--page-url goes with --file")
        if args.timeout is not None and args.timeout <= 0:
            raise UsageError("--timeout must be positive")
        fetcher = PoliteFetcher() if args.timeout is None else PoliteFetcher(timeout=args.timeout)
        try:
            report = probe_url(
                _check_url(args.url), fetcher, require_reviewers=args.require_reviewers
            )
        except ProbeFailed as exc:
            warn(str(exc))
            return ExitCode.FAILED
    print(
        json.dumps(_as_json(report), ensure_ascii=False, indent=2)
        if args.json
        else _as_text(report)
    )
    return _exit_code(report)


def add_commands(subparsers: Any) -> None:
    """Register ``probe`` on ``parser.add_subparsers()``."""
    from crawler import settings as crawl_settings  # defaults only: no Scrapy imported

    probe = subparsers.add_parser(
        "probe",
        help="check a column: one listing page and its newest article, the rules that matched",
        description="Fetches one listing page and its newest article (robots.txt obeyed, the "
        "crawl's user agent, one request at a time) and prints which rules matched, the "
        "listing items, the page count and the parsed record with every missing field. "
        "Required: title, published_at and a body (text or an embedded PDF); with "
        "--require-reviewers also the three review roles. Exit 0 when all are there, "
        "3 when one is missing, 5 when the page cannot be had or is not a listing.",
    )
    probe.add_argument("url", nargs="?", help="a column's listing page (page 1)")
    probe.add_argument(
        "--file", metavar="PAGE.html", help="a saved page instead (listing or article)"
    )
    probe.add_argument(
        "--page-url",
        "--url",
        dest="page_url",
        metavar="URL",
        help="with --file: the saved page's URL (resolves its links; default: the file's URI)",
    )
    probe.add_argument(
        "--require-reviewers",
        action="store_true",
        help="also require 一校, 二校 and 终审 (present on 国关要闻, not on every column)",
    )
    probe.add_argument(
        "--timeout",
        type=float,
        help=f"seconds per request (default {crawl_settings.DOWNLOAD_TIMEOUT})",
    )
    probe.add_argument("--json", action="store_true", help="the same as one JSON object")
    probe.set_defaults(func=cmd_probe)
