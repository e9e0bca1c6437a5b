"""``uir-news status``: the archive at a glance, for the operator who runs it from cron.

One screen: whether a run holds the archive now, the last runs with their exit
codes, what is waiting to be retried or was given up, how much is archived,
how big it is on disk, and the last ``verify``. ``--json`` gives the same as
one object. Everything is read, nothing written: the catalog is opened
read-only, and the run summaries are read from ``runs/*.json``, which are the
truth the catalog's ``runs`` table is rebuilt from.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from archive.research.changes import event_counts
from archive.storage import catalog
from archive.storage.layout import ArchiveLayout
from archive.storage.lock import held_by
from crawler import settings as crawl_settings
from crawler.cli.errors import UsageError
from crawler.cli.options import add_archive_argument, existing_archive, read_only_catalog
from crawler.exit_codes import ExitCode

#: Catalog meta key under which `uir-news verify` notes its last result.
LAST_VERIFY_KEY = "last_verify"


@dataclass
class RunLine:
    run_id: str
    started_at: str | None
    duration_s: float | None
    exit_code: int | None
    outcome: str
    new_versions: int
    edited: int
    failures: int
    #: Events the run saw, by kind (empty for runs before events existed).
    events: dict[str, int] = field(default_factory=dict)


@dataclass
class Status:
    archive: str
    running: dict[str, Any] | None
    runs: list[RunLine] = field(default_factory=list)
    articles: int | None = None
    versions: int | None = None
    retry_pending: int | None = None
    retry_given_up: int | None = None
    #: Missing articles the next runs do not ask for (too large, a redirect
    #: loop, listed but not public...): only ``crawl --full`` tries them again.
    not_asked_again: int | None = None
    disk_bytes: dict[str, int] = field(default_factory=dict)
    last_verify: dict[str, Any] | None = None
    catalog_error: str | None = None
    #: Events in the archive by kind, and articles by status (listed, unlisted, removed).
    events: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)


def _outcome(code: int | None) -> str:
    if code is None:
        return "unknown"
    try:
        return ExitCode(code).name.lower()
    except ValueError:
        return f"exit {code}"


def _recent_runs(layout: ArchiveLayout, count: int) -> list[RunLine]:
    lines = []
    for path in sorted(layout.runs_dir.glob("*.json"))[-count:][::-1]:
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            lines.append(RunLine(path.stem, None, None, None, "unreadable summary", 0, 0, 0))
            continue
        articles = data.get("articles") or {}
        code = data.get("exit_code")
        lines.append(
            RunLine(
                run_id=str(data.get("run_id", path.stem)),
                started_at=data.get("started_at"),
                duration_s=data.get("duration_s"),
                exit_code=code,
                outcome=_outcome(code),
                new_versions=int(articles.get("new_versions", 0)),
                edited=int(articles.get("edited", 0)),
                failures=int(data.get("failures", 0)),
                events={str(k): int(v) for k, v in (data.get("events") or {}).items()},
            )
        )
    return lines


def _disk_bytes(layout: ArchiveLayout) -> dict[str, int]:
    parts = {
        "warc": layout.warc_dir,
        "records": layout.records_dir,
        "indexes": layout.indexes_dir,
        "runs": layout.runs_dir,
    }
    sizes = {name: _tree_size(folder) for name, folder in parts.items()}
    sizes["catalog"] = sum(
        _size(p) for p in layout.root.glob(layout.catalog_path.name + "*") if p.is_file()
    )
    sizes["total"] = sum(sizes.values())
    return sizes


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _tree_size(folder: Path) -> int:
    return sum(_size(p) for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def _read_catalog(layout: ArchiveLayout, status: Status) -> None:
    """Counts from the catalog, opened read-only; a catalog that cannot be read is noted."""
    try:
        conn = read_only_catalog(layout)
    except UsageError:
        status.catalog_error = "no catalog yet"
        return
    except sqlite3.Error as exc:
        status.catalog_error = str(exc)
        return
    # Here, not at the top: crawler.failures imports Scrapy, slow for every command.
    from crawler.failures import NOT_RETRIED, PERMANENT

    skipped = sorted(PERMANENT | NOT_RETRIED)
    marks = ", ".join("?" * len(skipped))
    try:
        max_attempts = crawl_settings.UIR_NEWS_RETRY_FAILED_RUNS
        status.articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        status.versions = conn.execute("SELECT count(*) FROM versions").fetchone()[0]
        # As the crawl decides (GxywSpider.start): a permanent reason is never
        # retried, however few runs tried it.
        missing = f"url NOT IN (SELECT url FROM articles) AND reason NOT IN ({marks})"
        status.retry_pending = conn.execute(
            f"SELECT count(*) FROM failures WHERE attempts < ? AND {missing}",
            (max_attempts, *skipped),
        ).fetchone()[0]
        status.retry_given_up = conn.execute(
            f"SELECT count(*) FROM failures WHERE attempts >= ? AND {missing}",
            (max_attempts, *skipped),
        ).fetchone()[0]
        status.not_asked_again = conn.execute(
            "SELECT count(*) FROM failures WHERE url NOT IN (SELECT url FROM articles) "
            f"AND reason IN ({marks})",
            skipped,
        ).fetchone()[0]
        status.events = event_counts(conn)
        status.statuses = {kind: 0 for kind in catalog.ARTICLE_STATUSES}
        for name, count in conn.execute("SELECT status, count(*) FROM articles GROUP BY status"):
            status.statuses[str(name)] = int(count)
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (LAST_VERIFY_KEY,)).fetchone()
        if row is not None:
            with contextlib.suppress(ValueError):
                status.last_verify = json.loads(row[0])
    except sqlite3.Error as exc:
        status.catalog_error = f"{exc} (try `uir-news rebuild`)"
    finally:
        conn.close()


def collect_status(layout: ArchiveLayout, runs: int = 5) -> Status:
    status = Status(archive=str(layout.root), running=held_by(layout.lock_path))
    status.runs = _recent_runs(layout, runs)
    _read_catalog(layout, status)
    status.disk_bytes = _disk_bytes(layout)
    return status


def _mb(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def format_status(status: Status) -> str:
    lines = [f"archive  {status.archive}"]
    if status.running is not None:
        since = status.running.get("started_at", "?")
        lines.append(f"RUNNING  pid {status.running.get('pid', '?')} since {since}")
    else:
        lines.append("running  no run holds the archive")
    if status.catalog_error:
        lines.append(f"catalog  CANNOT READ: {status.catalog_error}")
    else:
        lines.append(
            f"articles {status.articles} ({status.versions} versions; "
            + ", ".join(f"{n} {name}" for name, n in status.statuses.items())
            + ")"
        )
        lines.append(
            "events   "
            + ", ".join(f"{n} {kind}" for kind, n in status.events.items())
            + " (`uir-news changes`)"
        )
        lines.append(
            f"retries  {status.retry_pending} pending (tried again next run), "
            f"{status.retry_given_up} given up, {status.not_asked_again} not asked again "
            "(too large, redirect loop, not public...; `crawl --full` tries them)"
        )
    sizes = status.disk_bytes
    lines.append(
        f"on disk  {_mb(sizes.get('total', 0))} (WARC {_mb(sizes.get('warc', 0))}, "
        f"records {_mb(sizes.get('records', 0))}, catalog {_mb(sizes.get('catalog', 0))})"
    )
    verify = status.last_verify
    if verify is None:
        lines.append("verify   never run (`uir-news verify`)")
    else:
        lines.append(f"verify   {verify.get('at', '?')}: {verify.get('summary', '?')}")
    lines.append("last runs (newest first):")
    if not status.runs:
        lines.append("  none yet")
    for run in status.runs:
        duration = f"{run.duration_s:.1f}s" if run.duration_s is not None else "?"
        lines.append(
            f"  {run.started_at or '?':<25} {duration:>8}  exit {run.exit_code!s:<4} "
            f"{run.outcome:<13} {run.new_versions} new versions ({run.edited} edits), "
            f"{run.failures} failures"
            + "".join(f", {n} {kind}" for kind, n in run.events.items() if kind != "new" and n)
        )
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    status = collect_status(existing_archive(args), runs=args.runs)
    if args.json:
        json.dump(asdict(status), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(format_status(status))
    return ExitCode.OK


def add_commands(subparsers: Any) -> None:
    status = subparsers.add_parser(
        "status",
        help="the archive at a glance: last runs, retries, size, last verify",
        description="Reads only: safe while a crawl runs, and on a read-only archive.",
    )
    add_archive_argument(status)
    status.add_argument("--runs", type=int, default=5, help="last runs shown (default: 5)")
    status.add_argument("--json", action="store_true", help="one JSON object instead of text")
    status.set_defaults(func=cmd_status)
