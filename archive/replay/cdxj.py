"""A sorted CDXJ index of every closed WARC, kept current incrementally.

The lines are made by the cdxj-indexer library (the same SURT keys and JSON
fields as pywb's own indexer), so pywb can serve the archive straight from
``indexes/index.cdxj``. The file stays sorted in byte order, which is what
lets both pywb and :func:`lookup` binary-search it instead of scanning.

:func:`update_index` indexes only the WARC files it has not seen (their names
and sizes are kept in ``indexes/indexed.json``) and streams a merge of their
sorted lines with the old index into a new file that is renamed into place:
memory stays flat however large the archive grows, and a kill at any moment
leaves the previous index whole. Identical adjacent lines are dropped while
merging, so re-indexing a file (say, after a kill between the index rename
and the manifest write) never duplicates entries.
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import io
import json
import os
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import IO, Any

with warnings.catch_warnings():
    # py3amf, imported by cdxj-indexer, imports pkg_resources, which setuptools
    # >= 80.9 warns about on every run (a UserWarning users cannot act on).
    warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
    from cdxj_indexer.main import CDXJIndexer

from archive.storage.files import atomic_write_text
from archive.storage.layout import ArchiveLayout
from archive.storage.recovery import complete_members_end
from archive.storage.warc import (
    NOTES_SUFFIX,
    OPEN_SUFFIX,
    Damage,
    WarcPointer,
    list_warcs,
    notes_describe,
    read_back_note,
    scan_records,
)

INDEX_NAME = "index.cdxj"
MANIFEST_NAME = "indexed.json"
MANIFEST_VERSION = 1

# Named explicitly rather than left to the library's default list: importing
# wacz appends "warcinfo" to CDXJIndexer.DEFAULT_RECORDS process-wide, and the
# index must not depend on what else was imported first.
_RECORDS = "response,revisit,resource"

# Bound on what the library's sorter keeps in memory before spilling to temp
# files; its default is 32 MiB, which is more than a cron job needs.
_SORT_BUFFER = 8 * 1024 * 1024
# The same bound for index lines taken from the writer's notes (lines of
# about 300 bytes: some 6 MB of lines sorted in memory at a time).
_NOTES_RUN = 20_000


def index_dir(layout: ArchiveLayout) -> Path:
    return layout.indexes_dir


def index_path(layout: ArchiveLayout) -> Path:
    """``ARCHIVE/indexes/index.cdxj``: what pywb's ``index`` setting should name."""
    return index_dir(layout) / INDEX_NAME


def manifest_path(layout: ArchiveLayout) -> Path:
    return index_dir(layout) / MANIFEST_NAME


@dataclass(frozen=True)
class IndexStats:
    """What one :func:`update_index` did."""

    files_total: int
    files_indexed: int
    files_dropped: int
    lines_dropped: int
    lines_added: int
    lines_total: int
    seconds: float
    rebuilt: bool = False
    #: Damaged WARC files met: indexed up to and past their damage, which is named here.
    damage: list[Damage] = field(default_factory=list)

    def one_line(self) -> str:
        return (
            f"index: {self.files_indexed} new WARC file(s), +{self.lines_added} lines, "
            f"{self.lines_total} lines over {self.files_total} file(s) in {self.seconds:.2f}s"
            + (" (rebuilt)" if self.rebuilt else "")
        )


@dataclass(frozen=True)
class CdxjEntry:
    """One index line: a response, revisit, resource or metadata record."""

    urlkey: str
    timestamp: str
    fields: dict[str, Any] = field(repr=False)

    @property
    def url(self) -> str:
        return str(self.fields.get("url", ""))

    @property
    def mime(self) -> str:
        return str(self.fields.get("mime", ""))

    @property
    def status(self) -> int | None:
        value = str(self.fields.get("status", ""))
        return int(value) if value.isdigit() else None

    @property
    def digest(self) -> str | None:
        value = self.fields.get("digest")
        return None if value is None else str(value)

    @property
    def is_revisit(self) -> bool:
        return self.mime == "warc/revisit"

    @property
    def pointer(self) -> WarcPointer:
        return WarcPointer(
            str(self.fields["filename"]), int(self.fields["offset"]), int(self.fields["length"])
        )

    @property
    def when(self) -> datetime:
        """The capture time (the record's WARC-Date, to the second, UTC)."""
        return datetime.strptime(self.timestamp[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)

    @classmethod
    def parse(cls, line: bytes | str) -> CdxjEntry:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        urlkey, timestamp, data = text.rstrip("\n").split(" ", 2)
        return cls(urlkey, timestamp, json.loads(data))


# -- keys ---------------------------------------------------------------------


@cache
def _key_indexer() -> CDXJIndexer:
    # The index keys were made by CDXJIndexer.get_url_key; asking the same
    # object for lookup keys means they can never disagree (SURT options,
    # fallback for URLs SURT rejects).
    return CDXJIndexer(io.StringIO(), [])


def url_key(url: str) -> str:
    """The SURT key under which captures of ``url`` are indexed."""
    return str(_key_indexer().get_url_key(url))


# -- building -----------------------------------------------------------------


def _read_manifest(layout: ArchiveLayout) -> tuple[dict[str, int], int] | None:
    """(indexed file name -> size, index lines), or None when there is no usable manifest."""
    try:
        data = json.loads(manifest_path(layout).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return None
    files = data.get("files")
    if not isinstance(files, dict):
        return None
    return {str(name): int(size) for name, size in files.items()}, int(data.get("lines", -1))


def _write_manifest(layout: ArchiveLayout, files: dict[str, int], lines: int) -> None:
    data = {"version": MANIFEST_VERSION, "lines": lines, "files": dict(sorted(files.items()))}
    atomic_write_text(manifest_path(layout), json.dumps(data, indent=1) + "\n")


@contextmanager
def _update_lock(layout: ArchiveLayout) -> Iterator[None]:
    # Two updates at once (an `index` command beside a crawl finishing) would
    # each rename a complete index, but the later one might lack files only
    # the earlier saw; serialising them is cheap, and the kernel drops the
    # lock if the holder dies.
    path = index_dir(layout) / ".update.lock"
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _index_files_sorted(paths: list[Path], out: IO[str], damage: list[Damage]) -> None:
    """CDXJ lines of ``paths``, sorted, via the library (which spills to disk when big).

    A file the library cannot read to its end (cut, garbage appended, flipped
    bytes) is read past its damage by :func:`scan_records` instead, so every
    readable record is indexed; the damage is added to ``damage``.
    """
    if not paths:
        return
    with contextlib.ExitStack() as stack:
        sources: list[Iterable[str]] = []
        for path in paths:
            part = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n"))
            try:
                # warcio reads a member cut short without complaint: check the
                # gzip members first (only files without writer notes pay this).
                if complete_members_end(path)[0] != path.stat().st_size:
                    raise ValueError("damaged")
                CDXJIndexer(
                    part,
                    [str(path)],
                    sort=True,
                    max_sort_buff_size=_SORT_BUFFER,
                    records=_RECORDS,
                ).process_all()
            except Exception:  # a damaged file: read past the damage instead
                found: list[Damage] = []
                part.seek(0)
                part.truncate()
                lines = []
                for pointer, record, stored in scan_records(path, found):
                    if record.rec_type in {"response", "revisit", "resource"}:
                        note = read_back_note(record, stored, pointer)
                        timestamp, fields = note.split(" ", 1)
                        lines.append(f"{url_key(stored.url)} {timestamp} {fields}\n")
                part.writelines(sorted(lines))
                damage.extend(found)
            part.seek(0)
            sources.append(part)
        out.writelines(heapq.merge(*sources))


def _notes_fit(warc: Path, notes: Path) -> bool:
    """Whether the writer's notes were closed for ``warc`` as it is now (same size)."""
    return notes_describe(warc, notes) is not None


def _sorted_runs(notes: Path, stack: contextlib.ExitStack) -> list[IO[str]]:
    """The notes as keyed CDXJ lines, in sorted runs of at most ``_NOTES_RUN`` lines.

    Each run is sorted in memory and kept in a temporary file, so memory stays
    bounded however large the WARC; the caller merges the runs.
    """
    runs: list[IO[str]] = []
    batch: list[str] = []

    def spill() -> None:
        batch.sort()
        run = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n"))  # noqa: SIM115 - the ExitStack closes it
        run.writelines(batch)
        run.seek(0)
        runs.append(run)
        batch.clear()

    with open(notes, encoding="ascii") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            timestamp, fields = line.rstrip("\n").split(" ", 1)
            batch.append(f"{url_key(json.loads(fields)['url'])} {timestamp} {fields}\n")
            if len(batch) >= _NOTES_RUN:
                spill()
    if batch:
        spill()
    return runs


def _index_new_files(
    layout: ArchiveLayout,
    paths: list[Path],
    out: IO[str],
    damage: list[Damage],
    *,
    use_notes: bool = True,
) -> None:
    """Sorted CDXJ lines of ``paths``: from the writer's notes where they fit, else read.

    Without ``use_notes`` (a rebuild) every file is read: notes match a file's
    size, not its bytes, and a rebuild must see damage in the files themselves.
    """
    with contextlib.ExitStack() as stack:
        sources: list[Iterable[str]] = []
        unnoted = []
        for path in paths:
            notes = layout.index_notes_dir / (path.name + NOTES_SUFFIX)
            if use_notes and _notes_fit(path, notes):
                sources.extend(_sorted_runs(notes, stack))
            else:
                unnoted.append(path)
        if unnoted:
            read = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n"))
            _index_files_sorted(unnoted, read, damage)
            read.seek(0)
            sources.append(read)
        out.writelines(heapq.merge(*sources))


def _drop_used_notes(layout: ArchiveLayout, indexed: dict[str, int]) -> None:
    """Remove notes of files now in the index, and notes a killed run left unfinished.

    The newest file's notes stay: the next run may continue that file
    (``RotatingWarcWriter(continue_below=...)``), and its notes then index it
    whole without reading it back.
    """
    directory = layout.index_notes_dir
    if not directory.is_dir():
        return
    newest = max(indexed, default=None)
    for notes in directory.iterdir():
        name = notes.name
        if name.endswith(NOTES_SUFFIX) and name.removesuffix(NOTES_SUFFIX) in indexed:
            if name.removesuffix(NOTES_SUFFIX) != newest:
                notes.unlink(missing_ok=True)
        elif name.endswith(NOTES_SUFFIX + OPEN_SUFFIX):
            warc = name.removesuffix(NOTES_SUFFIX + OPEN_SUFFIX)
            if not (layout.warc_dir / (warc + OPEN_SUFFIX)).exists():
                notes.unlink(missing_ok=True)


def _without_files(
    lines: Iterable[bytes], files: frozenset[str], dropped: list[int]
) -> Iterator[bytes]:
    """``lines`` minus those pointing into ``files``; counts what it drops."""
    for line in lines:
        if files and CdxjEntry.parse(line).fields.get("filename") in files:
            dropped[0] += 1
            continue
        yield line


def _merge(sources: Iterable[Iterable[bytes]], out: IO[bytes]) -> int:
    """Write the byte-ordered merge of sorted ``sources`` to ``out``; returns lines written."""
    written = 0
    previous = None
    for line in heapq.merge(*sources):
        if line == previous or not line.strip():
            continue
        previous = line
        out.write(line)
        written += 1
    return written


def update_index(layout: ArchiveLayout, *, rebuild: bool = False) -> IndexStats:
    """Index the closed WARCs not yet in ``indexes/index.cdxj`` and merge them in.

    Files already indexed whose size changed, or that disappeared, have their
    lines dropped (and are re-indexed if still present). With no index or no
    manifest, or with ``rebuild``, the index is rebuilt from every WARC. The
    new index replaces the old one by rename; ``.open`` files are never indexed.
    """
    started = time.perf_counter()
    directory = index_dir(layout)
    directory.mkdir(parents=True, exist_ok=True)
    with _update_lock(layout):
        target = index_path(layout)
        known = None if rebuild else _read_manifest(layout)
        manifest: dict[str, int] = {}
        lines_before, rebuilt = 0, True
        if known is not None and target.exists():
            (manifest, lines_before), rebuilt = known, False
        current = {p.name: p.stat().st_size for p in list_warcs(layout.warc_dir)}
        stale = frozenset(name for name, size in manifest.items() if current.get(name) != size)
        new = [layout.warc_dir / name for name in current if manifest.get(name) != current[name]]
        if not new and not stale and not rebuilt:
            total = lines_before if lines_before >= 0 else _count_lines(target)
            return IndexStats(len(current), 0, 0, 0, 0, total, time.perf_counter() - started)

        damage: list[Damage] = []
        fd, new_part = tempfile.mkstemp(prefix=".new.", suffix=".cdxj", dir=directory)
        fd2, merged = tempfile.mkstemp(prefix=f".{INDEX_NAME}.", suffix=".tmp", dir=directory)
        os.close(fd2)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as part:
                _index_new_files(layout, sorted(new), part, damage, use_notes=not rebuild)
            dropped = [0]
            with contextlib.ExitStack() as files:
                sources: list[Iterable[bytes]] = [files.enter_context(open(new_part, "rb"))]
                if not rebuilt:
                    old = files.enter_context(open(target, "rb"))
                    sources.append(_without_files(old, stale, dropped))
                out = files.enter_context(open(merged, "wb"))
                total = _merge(sources, out)
                out.flush()
                os.fsync(out.fileno())
            added = _count_lines(Path(new_part))
            os.replace(merged, target)
            # Written after the index: a kill in between only means these
            # files are indexed again next time, and the merge drops the
            # duplicate lines.
            _write_manifest(layout, current, total)
            _drop_used_notes(layout, current)
        finally:
            Path(new_part).unlink(missing_ok=True)
            Path(merged).unlink(missing_ok=True)
        return IndexStats(
            files_total=len(current),
            files_indexed=len(new),
            files_dropped=len(stale),
            lines_dropped=dropped[0],
            lines_added=added,
            lines_total=total,
            seconds=time.perf_counter() - started,
            rebuilt=rebuilt,
            damage=damage,
        )


def _count_lines(path: Path) -> int:
    count = 0
    with open(path, "rb") as fh:
        for _ in fh:
            count += 1
    return count


def index_is_current(layout: ArchiveLayout) -> bool:
    """True when every closed WARC is in the index, at the size it was indexed."""
    known = _read_manifest(layout)
    if known is None or not index_path(layout).exists():
        return False
    current = {p.name: p.stat().st_size for p in list_warcs(layout.warc_dir)}
    return known[0] == current


# -- reading ------------------------------------------------------------------


def _line_start(fh: IO[bytes], position: int) -> int:
    """The first line start at or after ``position``."""
    if position == 0:
        return 0
    fh.seek(position - 1)
    fh.readline()
    return fh.tell()


def _first_at_or_after(fh: IO[bytes], size: int, key: bytes) -> int:
    """Offset of the first line >= ``key`` (byte order) in a sorted file; ``size`` if none."""
    # "the line starting at or after p is >= key" is monotone in p, so bisect
    # on byte positions; each probe reads one line.
    low, high = 0, size
    while low < high:
        mid = (low + high) // 2
        start = _line_start(fh, mid)
        line = fh.readline() if start < size else b""
        if not line or line >= key:
            high = mid
        else:
            low = mid + 1
    return _line_start(fh, low)


def iter_key(path: Path, urlkey: str) -> Iterator[CdxjEntry]:
    """Entries whose key is exactly ``urlkey``, oldest first, by binary search."""
    prefix = urlkey.encode("utf-8") + b" "
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed in the finally below
    except FileNotFoundError:
        return
    try:
        size = os.fstat(fh.fileno()).st_size
        fh.seek(_first_at_or_after(fh, size, prefix))
        for line in fh:
            if not line.startswith(prefix):
                break
            yield CdxjEntry.parse(line)
    finally:
        fh.close()


def lookup(layout: ArchiveLayout, url: str) -> list[CdxjEntry]:
    """Every indexed capture of ``url`` (same SURT key), oldest first; [] if none."""
    return list(iter_key(index_path(layout), url_key(url)))
