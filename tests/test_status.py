"""`uir-news status`: the archive at a glance, read-only, while a run holds the lock too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive.storage import catalog
from crawler.cli import main
from tests.helpers.lock import lock_held_elsewhere
from tests.helpers.synthetic_archive import Built


def _summary(run_id: str, started: str, exit_code: int, new: int, edited: int) -> dict[str, object]:
    return {
        "run_id": run_id,
        "started_at": started,
        "duration_s": 4.25,
        "exit_code": exit_code,
        "failures": 2 if exit_code == 1 else 0,
        "articles": {"new_versions": new, "edited": edited},
    }


@pytest.fixture
def archive(built: Built) -> Path:
    root = built.layout.root
    runs = built.layout.runs_dir
    runs.mkdir(exist_ok=True)
    for run_id, started, code, new, edited in [
        ("20260101T000000Z-aaaaaa", "2026-01-01T00:00:00+00:00", 0, 4, 0),
        ("20260102T000000Z-bbbbbb", "2026-01-02T00:00:00+00:00", 1, 1, 1),
    ]:
        (runs / f"{run_id}.json").write_text(
            json.dumps(_summary(run_id, started, code, new, edited))
        )
    conn = catalog.connect(built.layout.catalog_path)
    with catalog.transaction(conn):
        catalog.record_failure(conn, "http://x/info/1/1.htm", "timeout", "", "2026-01-02T00:00:00Z")
        for _ in range(5):
            catalog.record_failure(conn, "http://x/info/1/2.htm", "timeout", "", "2026")
        # Neither is tried again by the next run, however few runs tried them:
        # status counted them as "pending (tried again next run)".
        catalog.record_failure(conn, "http://x/info/1/3.htm", "too_large", "", "2026")
        catalog.record_failure(conn, "http://x/info/1/4.htm", "dynamic_not_public", "", "2026")
    conn.close()
    return root


def test_status_reports_runs_retries_size_and_verify(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--archive", str(archive), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["running"] is None
    assert [r["run_id"][:8] for r in status["runs"]] == ["20260102", "20260101"]  # newest first
    assert [r["outcome"] for r in status["runs"]] == ["partial", "ok"]
    assert status["runs"][0]["edited"] == 1
    assert status["articles"] == 4
    assert (status["retry_pending"], status["retry_given_up"]) == (1, 1)
    assert status["not_asked_again"] == 2
    assert status["disk_bytes"]["total"] == sum(
        p.stat().st_size for p in archive.rglob("*") if p.is_file() and p.name != "uir-news.lock"
    )
    assert status["last_verify"] is None

    assert main(["verify", "--archive", str(archive)]) == 0
    capsys.readouterr()
    assert main(["status", "--archive", str(archive)]) == 0
    text = capsys.readouterr().out
    assert "verify   20" in text and "OK" in text
    assert "exit 1    partial" in text
    assert "1 pending (tried again next run), 1 given up, 2 not asked again" in text


def test_status_while_a_run_holds_the_lock_and_on_a_read_only_archive(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with lock_held_elsewhere(archive):
        assert main(["status", "--archive", str(archive)]) == 0
        assert "RUNNING  pid" in capsys.readouterr().out
    # It reads only: not a byte of the archive changes (the catalog is opened read-only).
    before = _snapshot(archive)
    assert main(["status", "--archive", str(archive)]) == 0
    assert "articles 4" in capsys.readouterr().out
    assert _snapshot(archive) == before


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    # catalog.sqlite-shm is SQLite's shared-memory index of the WAL, which every
    # reader of a WAL database maps and touches, read-only ones included.
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and not p.name.endswith("-shm")
    }


def test_status_of_no_archive_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--archive", str(tmp_path / "none")]) == 2
    assert "no archive" in capsys.readouterr().err
