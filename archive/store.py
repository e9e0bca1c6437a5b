"""Record storage: one JSON file per article version, written atomically.

Layout: ``records/{column_id}/{news_id}/{hash16}.json``. A version's file
name is its content hash, so storing the same content twice is a no-op and
two different versions can never overwrite each other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from archive.fsutil import atomic_write_text, safe_component
from archive.records import content_hash, dumps


@dataclass(frozen=True)
class StoredVersion:
    path: Path
    content_hash: str
    created: bool


class RecordStore(Protocol):
    """What the crawler needs from record storage."""

    def put(self, record: dict[str, Any]) -> StoredVersion: ...

    def iter_current(self) -> Iterator[dict[str, Any]]: ...


def article_key(record: dict[str, Any]) -> tuple[str, str]:
    """Directory names for an article: its VSB ids, else a hash of its URL."""
    column_id, news_id = record.get("column_id"), record.get("news_id")
    if isinstance(column_id, int) and isinstance(news_id, int):
        return str(column_id), str(news_id)
    digest = hashlib.sha256(str(record["url"]).encode("utf-8")).hexdigest()[:20]
    return "_url", digest


class JsonRecordStore:
    """Records as JSON files under ``root``; the newest version is current."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def article_dir(self, record: dict[str, Any]) -> Path:
        column, news = article_key(record)
        return self.root / safe_component(column) / safe_component(news)

    def put(self, record: dict[str, Any]) -> StoredVersion:
        digest = content_hash(record)
        path = self.article_dir(record) / f"{digest[:16]}.json"
        if path.exists():
            return StoredVersion(path, digest, created=False)
        atomic_write_text(path, dumps(record) + "\n")
        return StoredVersion(path, digest, created=True)

    def iter_versions(self) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
        """Each article directory with its versions, oldest fetch first."""
        if not self.root.is_dir():
            return
        for column_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for article_dir in sorted(p for p in column_dir.iterdir() if p.is_dir()):
                versions = [
                    json.loads(p.read_text("utf-8")) for p in sorted(article_dir.glob("*.json"))
                ]
                if versions:
                    versions.sort(key=lambda r: str(r.get("fetched_at", "")))
                    yield article_dir, versions

    def iter_current(self) -> Iterator[dict[str, Any]]:
        for _, versions in self.iter_versions():
            yield versions[-1]
