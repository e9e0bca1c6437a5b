"""``uir-news changes``: what happened to the archived articles, newest first.

Thin: arguments become the plain values of
:func:`archive.research.changes.query_events`; the text form adds a unified
diff under each edit, ``--json`` gives a list of objects for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from archive.research.changes import KINDS, Event, edit_diff, query_events
from archive.research.filters import FilterError, check_scope, date_bound
from archive.storage import catalog
from crawler.cli.errors import UsageError
from crawler.cli.options import add_archive_argument, catalogued_archive


def time_bound(text: str, *, end: bool) -> str:
    """``YYYY[-MM[-DD]]`` (a whole period) or an ISO 8601 time, as a bound on ``seen_at``."""
    if "T" in text:
        try:
            when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(
                f"not a time: {text!r} (use 2025-07-14 or 2025-07-14T08:00:00Z)"
            ) from None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    try:
        return date_bound(text, end=end)
    except FilterError as exc:
        raise UsageError(str(exc)) from exc


def format_event(event: Event, diff: list[str]) -> list[str]:
    """An event for a person: one line, then the diff of an edit, indented."""
    lines = [
        f"{event.seen_at}  {event.kind:<8}  {event.title or '(no title)'}",
        f"    {event.url}  (article {event.article_id}; {event.summary()})",
    ]
    lines.extend(f"    {line}" for line in diff)
    return lines


def cmd_changes(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise UsageError("--limit must not be negative")
    since = time_bound(args.since, end=False) if args.since else None
    until = time_bound(args.until, end=True) if args.until else None
    if since and until and since > until:
        raise UsageError(f"--since {args.since} is after --until {args.until}")
    layout = catalogued_archive(args)
    conn = catalog.connect(layout.catalog_path)
    try:
        try:
            check_scope(conn, args.site, args.column)
        except FilterError as exc:
            raise UsageError(str(exc)) from exc
        events = query_events(
            conn,
            since=since,
            until=until,
            kinds=args.kind or (),
            site=args.site.lower() if args.site else None,
            column=args.column,
            limit=args.limit or None,
        )
        diffs = [edit_diff(conn, event) for event in events]
    finally:
        conn.close()
    if args.json:
        data: list[dict[str, Any]] = [e.to_json(d) for e, d in zip(events, diffs, strict=True)]
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    if not events:
        narrowed = since or until or args.kind or args.site or args.column
        print("no events" + (" match" if narrowed else " yet"), file=sys.stderr)
        return 0
    for event, diff in zip(events, diffs, strict=True):
        print("\n".join(format_event(event, diff)))
    return 0


def add_commands(sub: Any) -> None:
    """Register ``changes`` on ``sub`` (argparse subparsers)."""
    changes = sub.add_parser(
        "changes",
        help="edits, take-downs and returns of archived articles, newest first",
        description="Events: new, edited (with a diff), removed (404, 410 or redirected "
        "away), unlisted (gone from the listing, still served), restored.",
    )
    add_archive_argument(changes)
    changes.add_argument(
        "--since", help="events seen on or after YYYY[-MM[-DD]] or an ISO time (default: all)"
    )
    changes.add_argument(
        "--until", help="events seen on or before YYYY[-MM[-DD]] or an ISO time (default: all)"
    )
    changes.add_argument(
        "--kind",
        action="append",
        choices=KINDS,
        help="only events of this kind; repeat for several (default: every kind)",
    )
    changes.add_argument(
        "--limit", type=int, default=50, help="at most N events, 0 for all (default: 50)"
    )
    changes.add_argument("--site", metavar="HOST", help="only this site (host, or host:port)")
    changes.add_argument("--column", metavar="NAME", help="only this column (its name)")
    changes.add_argument("--json", action="store_true", help="a JSON list of events")
    changes.set_defaults(func=cmd_changes)
