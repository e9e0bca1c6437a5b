"""Options and checks that several commands share: the archive they work on."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from archive.storage import catalog
from archive.storage.layout import ARCHIVE_ENV, ArchiveLayout, archive_dir, default_archive_dir
from crawler.cli.errors import UsageError


def add_archive_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--archive DIR`` option every command that touches an archive takes."""
    parser.add_argument(
        "--archive",
        type=Path,
        default=None,
        help=f"archive directory (default: ${ARCHIVE_ENV} or {default_archive_dir()})",
    )


def existing_archive(args: argparse.Namespace) -> ArchiveLayout:
    """The archive ``--archive`` names, which must hold WARC files already."""
    layout = ArchiveLayout(archive_dir(getattr(args, "archive", None)))
    if not layout.warc_dir.is_dir():
        raise UsageError(f"no archive at {layout.root} (run `uir-news crawl` first)")
    return layout


def catalogued_archive(args: argparse.Namespace) -> ArchiveLayout:
    """The archive ``--archive`` names, which must have a catalog to query."""
    layout = ArchiveLayout(archive_dir(getattr(args, "archive", None)))
    if not layout.catalog_path.is_file():
        raise UsageError(f"no catalog at {layout.catalog_path} (run `uir-news crawl` first)")
    return layout


def warn(message: str) -> None:
    """A one-line message on stderr, prefixed like every message of the command."""
    print(f"uir-news: {message}", file=sys.stderr)


def read_only_catalog(layout: ArchiveLayout) -> sqlite3.Connection:
    """The catalog opened for reading only: nothing is created or changed, even by mistake."""
    if not layout.catalog_path.is_file():
        raise UsageError(f"no catalog at {layout.catalog_path} (run `uir-news crawl` first)")
    return catalog.connect(layout.catalog_path, readonly=True)
