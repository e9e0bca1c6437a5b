"""``uir-news merge SHARD... --archive OUT``: shard archives into one, for searching and export.

Thin: :func:`archive.storage.merge.merge_shards` copies the files (refusing to
overwrite anything that differs), then the merged archive's catalog, search
index and CDXJ index are rebuilt from what it holds, so an article archived by
two shards is one article there, and a version fetched by both is one version.
Run again after the shards' next crawls, it copies only what is new.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from archive.storage.layout import ArchiveLayout
from archive.storage.lock import ArchiveLock, LockHeld
from archive.storage.merge import MergeConflict, merge_shards
from crawler.cli.errors import UsageError
from crawler.cli.options import warn
from crawler.exit_codes import ExitCode


def _shards(paths: list[Path], out: Path) -> list[ArchiveLayout]:
    shards: list[ArchiveLayout] = []
    seen: set[Path] = set()
    for path in paths:
        layout = ArchiveLayout(path.expanduser())
        if not layout.warc_dir.is_dir():
            raise UsageError(f"no archive at {path} (a shard is a crawl's --archive directory)")
        resolved = path.expanduser().resolve()
        if resolved == out.resolve():
            raise UsageError(f"{path} is the merged archive itself; name it once, as --archive")
        if resolved in seen:
            continue
        seen.add(resolved)
        shards.append(layout)
    return shards


def _check_out(out: Path) -> ArchiveLayout:
    layout = ArchiveLayout(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--archive {out} is not a directory")
    if out.is_dir() and any(out.iterdir()) and not layout.warc_dir.is_dir():
        raise UsageError(f"--archive {out} holds files but no archive; refusing to write there")
    return layout


def cmd_merge(args: argparse.Namespace) -> int:
    # The rebuild needs the search indexer and the CDXJ indexer (0.3 s of imports).
    from archive.replay.cdxj import update_index
    from archive.research.search import search_indexer
    from archive.storage.recovery import rebuild

    out: Path = args.archive.expanduser()
    shards = _shards(args.shards, out)
    layout = _check_out(out)
    layout.root.mkdir(parents=True, exist_ok=True)
    try:
        with ArchiveLock(layout.lock_path):
            try:
                report = merge_shards(shards, layout)
            except MergeConflict as exc:
                for conflict in exc.conflicts[:20]:
                    warn(f"conflict: {conflict}")
                raise UsageError(f"{exc}; nothing was copied") from exc
            rebuilt = report.changed or not layout.catalog_path.exists()
            if rebuilt:
                result = rebuild(layout, on_record=search_indexer())
                update_index(layout, rebuild=True)
    except LockHeld as exc:
        warn(f"{exc}; not merging while it runs")
        return ExitCode.LOCKED
    print(
        f"merged {len(shards)} shard(s) into {layout.root}: "
        f"WARC files {len(report.warc_copied)} copied, {len(report.warc_extended)} extended, "
        f"{report.warc_present} already there; records {report.records_copied} copied, "
        f"{report.records_present} already there; {report.runs_copied} run summaries"
    )
    if report.records_waiting:
        warn(
            f"{len(report.records_waiting)} record(s) wait for their WARC file to close "
            "(a crawl is running in the shard); merge again later"
        )
    for path in report.unreadable_records[:20]:
        warn(f"unreadable record left out: {path} (`uir-news rebuild` in its shard repairs it)")
    if not rebuilt:
        print("nothing new; the catalog is unchanged")
        return ExitCode.OK
    counts = result.counts
    print(
        f"catalog: {counts['articles']} articles, {counts['versions']} versions, "
        f"{counts['captures']} captures from {counts['warc_files']} WARC files"
    )
    problems = result.problems()
    for problem in problems[:20]:
        warn(f"damage: {problem}")
    return ExitCode.DAMAGED if problems else ExitCode.OK


def add_commands(subparsers: Any) -> None:
    """Register ``merge`` on ``parser.add_subparsers()``."""
    merge = subparsers.add_parser(
        "merge",
        help="copy shard archives into one archive and rebuild its catalog",
        description="Copies every shard's closed WARC files, records and run summaries into "
        "the archive --archive names (made if missing), never overwriting a file that "
        "differs, then rebuilds its catalog: an article archived by several shards is one "
        "article, a version fetched by several is one version. Run it again after the shards' "
        "next crawls to add what is new.",
    )
    merge.add_argument("shards", nargs="+", type=Path, metavar="SHARD", help="a shard's archive")
    merge.add_argument(
        "--archive",
        type=Path,
        required=True,
        help="the merged archive (required: never the default archive by accident)",
    )
    merge.set_defaults(func=cmd_merge)
