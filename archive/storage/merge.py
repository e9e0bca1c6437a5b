"""Merging shard archives into one: the files, never overwriting; the catalog is rebuilt after.

An operator who spreads sites over several scrapyd nodes gets one archive per
job (a *shard*). Researchers search one archive, so :func:`merge_shards`
copies every shard's closed WARC files, JSON records and run summaries into
one archive; the caller then rebuilds its catalog
(:func:`archive.storage.recovery.rebuild`), where an article is keyed by its
URL and a version by its content hash: the same article archived by two
shards is one article, and the same text fetched twice is one version.

Nothing is overwritten. File names make copies safe to repeat: WARC names
carry the writing host and process, record names end in the content hash, run
summaries are named by a random run id. A file already in the merged archive
under the same name is left alone when it holds the same bytes (or the same
version, for a record); a WARC file a shard has since appended to (a later
run continues a small file) replaces its shorter copy, because WARC files are
only ever appended to. Any other difference is a conflict, and the merge
stops before it writes anything.

A shard may be crawling while it is merged: only closed WARC files are
copied, and only records whose WARC file is copied; the next merge takes the
rest.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from archive.storage.layout import ArchiveLayout
from archive.storage.record_store import record_files
from archive.storage.records import content_hash
from archive.storage.warc import list_warcs

_CHUNK = 1 << 20


class MergeConflict(Exception):
    """Two different files would take one name in the merged archive; nothing was written."""

    def __init__(self, conflicts: list[str]) -> None:
        self.conflicts = conflicts
        shown = "; ".join(conflicts[:3]) + (
            f"; ... {len(conflicts) - 3} more" if len(conflicts) > 3 else ""
        )
        super().__init__(f"refusing to overwrite {len(conflicts)} file(s): {shown}")


@dataclass
class MergeReport:
    """What a merge copied, found already there, and left for a later merge."""

    warc_copied: list[str] = field(default_factory=list)
    warc_extended: list[str] = field(default_factory=list)
    warc_present: int = 0
    records_copied: int = 0
    records_present: int = 0
    runs_copied: int = 0
    #: Records whose WARC file is still being written in their shard (or is missing there).
    records_waiting: list[str] = field(default_factory=list)
    unreadable_records: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.warc_copied or self.warc_extended or self.records_copied or self.runs_copied
        )


@dataclass(frozen=True)
class _Copy:
    source: Path
    target: Path


def _same_prefix(shorter: Path, longer: Path) -> bool:
    """Whether ``longer`` starts with every byte of ``shorter``."""
    remaining = shorter.stat().st_size
    with open(shorter, "rb") as a, open(longer, "rb") as b:
        while remaining > 0:
            chunk = a.read(min(_CHUNK, remaining))
            if not chunk or b.read(len(chunk)) != chunk:
                return False
            remaining -= len(chunk)
    return True


def _newer_warc(current: Path, candidate: Path) -> Path | None:
    """The longer of two copies of one WARC file, or None when neither extends the other."""
    small, large = sorted((current, candidate), key=lambda p: p.stat().st_size)
    return large if _same_prefix(small, large) else None


def _read_record(path: Path) -> dict[str, object] | None:
    try:
        record = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _warc_plan(
    shards: Sequence[ArchiveLayout], out: ArchiveLayout, conflicts: list[str]
) -> tuple[dict[str, Path], MergeReport]:
    """Which shard file each WARC name of the merged archive comes from."""
    chosen: dict[str, Path] = {}
    for shard in shards:
        for path in list_warcs(shard.warc_dir):
            earlier = chosen.get(path.name)
            if earlier is None:
                chosen[path.name] = path
            elif (newer := _newer_warc(earlier, path)) is not None:
                chosen[path.name] = newer
            else:
                conflicts.append(f"warc/{path.name} differs between {earlier} and {path}")
    report = MergeReport()
    copies: dict[str, Path] = {}
    for name, source in chosen.items():
        target = out.warc_dir / name
        if not target.exists():
            copies[name] = source
            report.warc_copied.append(name)
        elif target.stat().st_size == source.stat().st_size and _same_prefix(source, target):
            report.warc_present += 1
        elif _newer_warc(target, source) is source:
            copies[name] = source
            report.warc_extended.append(name)
        elif _newer_warc(target, source) is target:
            report.warc_present += 1  # this shard's copy is older than the one merged already
        else:
            conflicts.append(f"warc/{name} in {source.parent.parent} differs from {target}")
    return copies, report


def _records_plan(
    shards: Sequence[ArchiveLayout],
    out: ArchiveLayout,
    merged_warcs: set[str],
    report: MergeReport,
    conflicts: list[str],
) -> list[_Copy]:
    copies: dict[Path, _Copy] = {}
    hashes: dict[Path, str] = {}
    for shard in shards:
        for path in record_files(shard.records_dir):
            relative = path.relative_to(shard.records_dir)
            record = _read_record(path)
            if record is None:
                report.unreadable_records.append(str(path))
                continue
            warc = record.get("warc")
            warc_file = warc.get("file") if isinstance(warc, dict) else None
            if warc_file not in merged_warcs:
                report.records_waiting.append(str(path))
                continue
            digest = content_hash(record)
            target = out.records_dir / relative
            if target in hashes or target.exists():
                known = hashes.get(target)
                if known is None:
                    existing = _read_record(target)
                    known = content_hash(existing) if existing is not None else ""
                    hashes[target] = known
                if known == digest:
                    report.records_present += 1  # the same version: one is enough
                else:
                    conflicts.append(f"records/{relative} in {shard.root} differs from {target}")
                continue
            hashes[target] = digest
            copies[target] = _Copy(path, target)
    report.records_copied = len(copies)
    return list(copies.values())


def _runs_plan(
    shards: Sequence[ArchiveLayout], out: ArchiveLayout, conflicts: list[str]
) -> list[_Copy]:
    copies: dict[Path, _Copy] = {}
    for shard in shards:
        for path in sorted(shard.runs_dir.glob("*.json")):
            target = out.runs_dir / path.name
            earlier = copies[target].source if target in copies else target
            if not earlier.exists():
                copies[target] = _Copy(path, target)
            elif earlier.read_bytes() != path.read_bytes():
                conflicts.append(f"runs/{path.name} in {shard.root} differs from {earlier}")
    return list(copies.values())


def _copy(source: Path, target: Path) -> None:
    """Copy through a temporary file and one rename: a killed merge leaves no half file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, _CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def merge_shards(shards: Sequence[ArchiveLayout], out: ArchiveLayout) -> MergeReport:
    """Copy what ``shards`` hold that ``out`` lacks; raise :class:`MergeConflict` first if any.

    The caller holds ``out``'s lock and rebuilds its catalog afterwards when
    the report says something changed.
    """
    conflicts: list[str] = []
    warc_copies, report = _warc_plan(shards, out, conflicts)
    merged_warcs = {p.name for p in list_warcs(out.warc_dir)} if out.warc_dir.is_dir() else set()
    merged_warcs |= set(warc_copies)
    record_copies = _records_plan(shards, out, merged_warcs, report, conflicts)
    run_copies = _runs_plan(shards, out, conflicts)
    if conflicts:
        raise MergeConflict(conflicts)
    report.runs_copied = len(run_copies)
    out.create()
    # WARC files first: a record is never in the merged archive before its capture.
    for name, source in sorted(warc_copies.items()):
        _copy(source, out.warc_dir / name)
    for copy in (*record_copies, *run_copies):
        _copy(copy.source, copy.target)
    return report
