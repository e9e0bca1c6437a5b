"""Archives made by an older uir-news: the catalog is migrated, never silently broken."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from archive.storage import catalog
from crawler.cli import main
from tests.helpers.cli import run_cli
from tests.helpers.lock import lock_held_elsewhere
from tests.helpers.readonly import can_mount, read_only

V1_SQL = Path(__file__).parent / "fixtures" / "formats" / "catalog-v1.sql"


def _v1_archive(root: Path) -> Path:
    (root / "warc").mkdir(parents=True)
    with closing(sqlite3.connect(root / "catalog.sqlite")) as conn:
        conn.executescript(V1_SQL.read_text("utf-8"))
    return root


@pytest.fixture
def v1_archive(tmp_path: Path) -> Path:
    return _v1_archive(tmp_path / "old")


@pytest.fixture
def readonly_v1_archive(tmp_path: Path) -> Iterator[Path]:
    root = _v1_archive(tmp_path / "old-ro")
    with read_only(root):
        yield root


def test_opening_a_version_1_catalog_for_writing_migrates_it(v1_archive: Path) -> None:
    conn = catalog.connect(v1_archive / "catalog.sqlite")
    try:
        assert catalog.catalog_version(conn) == catalog.CATALOG_SCHEMA_VERSION == 2
        row = conn.execute("SELECT site, column_name, status, title FROM articles").fetchone()
        assert tuple(row) == ("www.uir.edu.cn", "国关要闻", "listed", "旧记录")
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] >= 0
    finally:
        conn.close()
    # A second open finds it current and changes nothing.
    again = catalog.connect(v1_archive / "catalog.sqlite")
    again.close()


def test_a_catalog_from_a_newer_uir_news_is_refused(v1_archive: Path) -> None:
    with closing(sqlite3.connect(v1_archive / "catalog.sqlite")) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        conn.commit()
    with pytest.raises(catalog.CatalogTooNew):
        catalog.connect(v1_archive / "catalog.sqlite")
    with pytest.raises(catalog.CatalogTooNew):
        catalog.connect(v1_archive / "catalog.sqlite", readonly=True)
    result = run_cli("stats", "--archive", v1_archive, check=False)
    assert result.returncode == 9, result
    assert "newer uir-news" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not can_mount(), reason="needs mount(8) as root")
def test_a_read_only_version_1_archive_says_how_to_upgrade(readonly_v1_archive: Path) -> None:
    result = run_cli("search", "旧记录", "--archive", readonly_v1_archive, check=False)
    assert result.returncode == 9, result
    assert "uir-news upgrade" in result.stderr and "Traceback" not in result.stderr


def test_the_upgrade_command_migrates_and_then_has_nothing_to_do(v1_archive: Path) -> None:
    first = run_cli("upgrade", "--archive", v1_archive)
    assert "from version 1 to 2" in first.stdout
    second = run_cli("upgrade", "--archive", v1_archive)
    assert "already version 2" in second.stdout
    shown = run_cli("show", "1", "--archive", v1_archive, "--json")
    record = json.loads(shown.stdout)["record"]
    # A version 1 record reads as version 2: site from its URL, no labels recorded then.
    assert record["schema_version"] == 2
    assert record["site"] == "www.uir.edu.cn"
    assert record["role_labels"] == {}


def test_upgrade_takes_the_archive_as_the_readme_says(
    v1_archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Exit code 9's advice is `uir-news upgrade ARCHIVE`, which was an unknown argument.
    assert main(["upgrade", str(v1_archive)]) == 0
    assert "from version 1 to 2" in capsys.readouterr().out
    assert main(["upgrade", str(v1_archive), "--archive", str(v1_archive)]) == 0
    assert "already version 2" in capsys.readouterr().out
    assert main(["upgrade", str(v1_archive), "--archive", str(tmp_path / "other")]) == 2
    assert "two archives named" in capsys.readouterr().err
    assert main(["upgrade", str(tmp_path / "none")]) == 2
    assert "no archive at" in capsys.readouterr().err
    with lock_held_elsewhere(v1_archive):
        assert main(["upgrade", str(v1_archive)]) == 4
    assert "not upgrading while it runs" in capsys.readouterr().err
