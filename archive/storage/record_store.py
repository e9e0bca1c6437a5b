"""Record storage: one JSON file per article version, written atomically.

Layout: ``records/{column_id}/{news_id}-{hash16}.json``. A version's file
name ends in its content hash, so storing the same content twice is a no-op
and two different versions can never overwrite each other. (Archives from
before 2026-11-28 have a folder per article, ``{news_id}/{hash16}.json``;
:func:`record_files` reads both. One folder per column means one new inode
per version instead of a folder, an inode and a directory block per article:
the folder was half of the time spent storing a record.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from archive.storage.files import atomic_write_text, safe_component
from archive.storage.records import content_hash, dumps, is_valid


@dataclass(frozen=True)
class StoredVersion:
    path: Path
    content_hash: str
    created: bool


class RecordStore(Protocol):
    """What the crawler needs from record storage."""

    def put(self, record: Mapping[str, Any]) -> StoredVersion: ...


def article_key(record: Mapping[str, Any]) -> tuple[str, str]:
    """Directory names for an article: its VSB ids, else a hash of its URL."""
    column_id, news_id = record.get("column_id"), record.get("news_id")
    if isinstance(column_id, int) and isinstance(news_id, int):
        return str(column_id), str(news_id)
    digest = hashlib.sha256(str(record["url"]).encode("utf-8")).hexdigest()[:20]
    return "_url", digest


def record_files(root: Path) -> Iterator[Path]:
    """Every record file under ``root``, in both layouts, in name order."""
    yield from sorted(root.glob("*/*.json"))
    yield from sorted(root.glob("*/*/*.json"))  # the per-article folders of older archives


#: Suffix a damaged record file is renamed with when a good copy replaces it.
DAMAGED_SUFFIX = ".damaged"


def _holds(path: Path, digest: str) -> bool:
    """Whether the record file at ``path`` reads back as a record of that content hash."""
    try:
        record = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and content_hash(record) == digest and is_valid(record)


class JsonRecordStore:
    """Records as JSON files under ``root``, one per version; the catalog knows the current."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Column directories known to exist (no mkdir per record).
        self._made_dirs: set[Path] = set()

    def version_path(self, record: Mapping[str, Any], digest: str) -> Path:
        column, news = article_key(record)
        return self.root / safe_component(column) / f"{safe_component(news)}-{digest[:16]}.json"

    def put(self, record: Mapping[str, Any]) -> StoredVersion:
        digest = content_hash(record)
        path = self.version_path(record, digest)
        if path.exists():
            if _holds(path, digest):
                return StoredVersion(path, digest, created=False)
            # Damaged (empty after a power cut, cut, edited): kept aside for a
            # look, and written again from the record we have now.
            path.replace(path.with_name(path.name + DAMAGED_SUFFIX))
        if path.parent not in self._made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(path.parent)
        atomic_write_text(path, dumps(record) + "\n", durable=False, make_parent=False)
        return StoredVersion(path, digest, created=True)
