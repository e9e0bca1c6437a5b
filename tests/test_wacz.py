"""WACZ export: py-wacz packages it, the real `wacz validate` accepts it."""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from archive.replay.wacz import WaczExportError, export_wacz
from archive.storage.layout import ArchiveLayout
from archive.storage.warc import list_warcs
from crawler.cli.errors import UsageError
from crawler.cli.research import cmd_export_wacz
from tests.helpers.synthetic_archive import Built, build_archive


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Built, Path]:
    root = tmp_path_factory.mktemp("wacz")
    built = build_archive(root / "archive")
    output = root / "out" / "uir-news.wacz"
    summary = export_wacz(built.layout, output)
    assert summary.pages == built.articles and summary.output == output
    return built, output


def wacz_validate(path: Path) -> subprocess.CompletedProcess[str]:
    """The real py-wacz validator, in its own process (its imports are noisy)."""
    return subprocess.run(
        [sys.executable, "-m", "wacz", "validate", "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_wacz_validate_accepts_it(exported: tuple[Built, Path]) -> None:
    proc = wacz_validate(exported[1])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation succeeded" in proc.stdout


def test_pages_are_the_current_articles(exported: tuple[Built, Path]) -> None:
    built, output = exported
    with zipfile.ZipFile(output) as wacz:
        lines = wacz.read("pages/pages.jsonl").decode("utf-8").splitlines()
    header, *pages = (json.loads(line) for line in lines)
    assert header["format"] == "json-pages-1.0"
    by_url = {p["url"]: p for p in pages}
    assert len(pages) == built.articles == len(by_url)
    assert by_url[built.changed_url]["ts"].startswith("2025-07-16T08:00:00")  # the new version
    assert by_url[built.identical_url]["ts"].startswith("2025-07-14T08:00:00")
    assert by_url[built.identical_url]["title"] == "测试新闻 1"


def test_datapackage_hashes_every_file(exported: tuple[Built, Path]) -> None:
    built, output = exported
    with zipfile.ZipFile(output) as wacz:
        package = json.loads(wacz.read("datapackage.json"))
        resources = {r["path"]: r for r in package["resources"]}
        for path, resource in resources.items():
            algo, value = resource["hash"].split(":", 1)
            assert algo == "sha256"
            assert hashlib.sha256(wacz.read(path)).hexdigest() == value
        names = set(wacz.namelist())
    warcs = {f"archive/{p.name}" for p in list_warcs(built.layout.warc_dir)}
    assert warcs <= set(resources)
    assert {"pages/pages.jsonl", "indexes/index.cdx.gz", "indexes/index.idx"} <= set(resources)
    assert "datapackage-digest.json" in names


def test_export_is_atomic_and_failures_are_reported(tmp_path: Path) -> None:
    empty = ArchiveLayout(tmp_path / "empty")
    empty.create()
    output = tmp_path / "x.wacz"
    output.write_bytes(b"previous export")
    with pytest.raises(WaczExportError, match="no closed WARC"):
        export_wacz(empty, output)
    assert output.read_bytes() == b"previous export"
    assert {p.name for p in tmp_path.iterdir()} == {"empty", "x.wacz"}  # no temp files left


def test_page_without_a_capture_fails_and_keeps_the_old_file(tmp_path: Path) -> None:
    built = build_archive(tmp_path / "archive")
    # The catalog says the current version was captured at a time no record has.
    conn = sqlite3.connect(built.layout.catalog_path)
    with conn:
        conn.execute("UPDATE captures SET fetched_at = '2001-01-01T00:00:00Z'")
    conn.close()
    output = tmp_path / "x.wacz"
    with pytest.raises(WaczExportError, match="match no capture"):
        export_wacz(built.layout, output)
    assert not output.exists()
    assert {p.name for p in tmp_path.iterdir()} == {"archive"}


def test_command(exported: tuple[Built, Path], tmp_path: Path) -> None:
    built, _ = exported
    output = tmp_path / "cmd.wacz"
    args = argparse.Namespace(archive=built.layout.root, output=str(output), format="wacz")
    assert cmd_export_wacz(args) == 0
    assert zipfile.is_zipfile(output)
    with pytest.raises(UsageError, match="needs -o"):
        cmd_export_wacz(argparse.Namespace(archive=built.layout.root, output=None))
