"""Where an archive lives and how its directory is laid out."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ARCHIVE_ENV = "UIR_NEWS_ARCHIVE"


def default_archive_dir() -> Path:
    """``$UIR_NEWS_ARCHIVE`` if set, else the user's data directory.

    Never ``./archive``: that name is the Python package in the source tree.
    """
    configured = os.environ.get(ARCHIVE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("uir-news")) / "archive"


def archive_dir(value: str | os.PathLike[str] | None) -> Path:
    """The archive directory an ``--archive`` value names; the default when None."""
    return Path(value).expanduser() if value else default_archive_dir()


@dataclass(frozen=True)
class ArchiveLayout:
    """The fixed layout of an archive directory."""

    root: Path

    @property
    def warc_dir(self) -> Path:
        return self.root / "warc"

    @property
    def records_dir(self) -> Path:
        return self.root / "records"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def indexes_dir(self) -> Path:
        return self.root / "indexes"

    @property
    def index_notes_dir(self) -> Path:
        """CDXJ lines the WARC writer notes as it writes, until the index takes them in."""
        return self.indexes_dir / "notes"

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.sqlite"

    @property
    def lock_path(self) -> Path:
        return self.root / "uir-news.lock"

    def create(self) -> None:
        for folder in (self.warc_dir, self.records_dir, self.runs_dir):
            folder.mkdir(parents=True, exist_ok=True)
