"""The damage matrix of issue #11: each damage, what survives, what is reported, the exit code.

Real files, real SQLite, real warcio: an archive of the saved fixture pages
(tests/helpers/real_archive.py) is damaged the way disks, copies and people
damage archives, then the commands a user runs are run on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import resource
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from archive.storage import catalog
from archive.storage.layout import ArchiveLayout
from archive.storage.lock import ArchiveLock
from archive.storage.record_store import DAMAGED_SUFFIX, record_files
from archive.storage.warc import OPEN_SUFFIX, list_warcs
from crawler.exit_codes import ExitCode
from crawler.extensions import index_warcs, recover_if_needed
from tests.helpers.cli import REPO, run_cli, run_in_process
from tests.helpers.readonly import can_mount, read_only
from tests.helpers.real_archive import RealArchive, build_real_archive


@pytest.fixture
def real(tmp_path: Path) -> RealArchive:
    return build_real_archive(tmp_path / "archive")


def _count(layout: ArchiveLayout, sql: str) -> int:
    conn = catalog.connect(layout.catalog_path, readonly=True)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _articles(layout: ArchiveLayout) -> int:
    return _count(layout, "SELECT count(*) FROM articles")


def _captures(layout: ArchiveLayout) -> int:
    return _count(layout, "SELECT count(*) FROM captures")


def _records(layout: ArchiveLayout) -> list[Path]:
    return list(record_files(layout.records_dir))


def _cli(*args: str | Path) -> tuple[int, str, str]:
    result = run_cli(*args, check=False)
    return result.returncode, result.stdout, result.stderr


# -- 2. the WARC is the source of truth: records ---------------------------------------


def _delete(path: Path) -> None:
    path.unlink()


def _not_json(path: Path) -> None:
    path.write_text('{"title": "cut sh', "utf-8")


def _bad_date(path: Path) -> None:
    record = json.loads(path.read_text("utf-8"))
    record["published_at"] = "not a date"
    path.write_text(json.dumps(record, ensure_ascii=False), "utf-8")


def _empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize(
    ("damage", "verify_says"),
    [
        (_delete, "is missing"),
        (_not_json, "is unreadable"),
        (_bad_date, "is invalid"),
        (_empty, "is unreadable"),
    ],
    ids=["deleted", "invalid-json", "published-not-a-date", "empty"],
)
def test_a_damaged_record_is_reported_and_rederived_from_the_warc(
    real: RealArchive, damage: Callable[[Path], None], verify_says: str
) -> None:
    layout = real.layout
    victim = sorted(_records(layout))[3]
    good = victim.read_bytes()
    warcs = real.sha256()
    damage(victim)

    code, out, err = _cli("verify", "-v", "--archive", layout.root)
    assert code == ExitCode.DAMAGED and out.startswith("verify: FAILED")
    assert verify_says in err and victim.name in err

    code, out, err = _cli("rebuild", "--archive", layout.root)
    # The record is back, byte for byte as the crawl wrote it, and catalogued.
    assert json.loads(victim.read_text("utf-8")) == json.loads(good)
    assert _articles(layout) == len(real.urls)
    assert "1 rederived_records" in out
    if damage is _delete:
        assert code == ExitCode.OK  # nothing was unreadable: a missing file is simply made again
    else:
        assert code == ExitCode.DAMAGED and victim.name in err
        assert victim.with_name(victim.name + DAMAGED_SUFFIX).exists()  # kept for a look
    assert real.sha256() == warcs
    assert _cli("verify", "--archive", layout.root)[0] == ExitCode.OK
    assert _cli("rebuild", "--archive", layout.root)[0] == ExitCode.OK


def test_crawl_start_repair_rederives_an_invalid_record(real: RealArchive) -> None:
    """The repair at the start of a crawl (after a killed run) passes the same reparse."""
    layout = real.layout
    victim = sorted(_records(layout))[0]
    _bad_date(victim)
    layout.lock_path.write_text('{"state": "running", "pid": 1}', "utf-8")
    with ArchiveLock(layout.lock_path) as lock:
        recovery = recover_if_needed(layout, lock)
    assert recovery is not None and recovery["rebuilt"]["rederived_records"] == 1
    assert any("invalid" in item for item in recovery["damage"])
    assert _articles(layout) == len(real.urls)
    conn = catalog.connect(layout.catalog_path, readonly=True)
    dates = [row[0] for row in conn.execute("SELECT published_at FROM articles")]
    conn.close()
    assert "not a date" not in dates


def test_no_field_value_stops_a_rebuild_without_reparse(real: RealArchive) -> None:
    """Storage alone (no parser to re-derive with) leaves the bad record out and says so."""
    from archive.storage.recovery import rebuild

    victim = sorted(_records(real.layout))[0]
    record = json.loads(victim.read_text("utf-8"))
    record["fetched_at"] = {"not": "a string"}
    record["news_id"] = "x" * 10_000
    victim.write_text(json.dumps(record), "utf-8")
    report = rebuild(real.layout)
    assert report.damaged and victim.name in report.bad_records[0]
    assert _articles(real.layout) == len(real.urls) - 1


# -- 3. damaged WARC files ---------------------------------------------------------------


def _cut(data: bytes) -> bytes:
    return data[: len(data) * 6 // 10]


def _garbage(data: bytes) -> bytes:
    return data + random.Random(1).randbytes(5000)


def _flipped(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0x5A for b in data[middle : middle + 16]) + data[middle + 16 :]


@pytest.mark.parametrize(
    ("damage", "what", "all_kept"),
    [
        (_cut, "truncated", False),
        (_garbage, "bytes that are no WARC record", True),
        (_flipped, "unreadable gzip data", False),
    ],
    ids=["cut", "garbage-appended", "flipped-bytes"],
)
def test_a_damaged_warc_never_stops_rebuild_index_or_crawl(
    real: RealArchive, damage: Callable[[bytes], bytes], what: str, all_kept: bool
) -> None:
    layout = real.layout
    captures = _captures(layout)
    path = list_warcs(layout.warc_dir)[0]
    path.write_bytes(damage(path.read_bytes()))
    damaged = real.sha256()

    code, _, err = _cli("rebuild", "--archive", layout.root)
    assert code == ExitCode.DAMAGED, err
    assert f"damage: {path.name}@" in err and what in err  # file, offset, what
    assert real.sha256() == damaged  # the file itself is left as it is
    kept = _captures(layout)
    assert 0 < kept <= captures and (kept == captures) is all_kept
    # Every readable record is indexed for replay too.
    lines = (layout.indexes_dir / "index.cdxj").read_text("utf-8").splitlines()
    assert len(lines) == kept

    code, _, err = _cli("verify", "-v", "--archive", layout.root)
    assert code == ExitCode.DAMAGED and path.name in err

    # The index step of a later crawl names the damage instead of dying.
    (layout.indexes_dir / "indexed.json").unlink()
    assert any(path.name in item for item in index_warcs(layout))
    assert real.sha256() == damaged


def test_rebuild_never_replaces_a_closed_warc_with_its_open_namesake(real: RealArchive) -> None:
    layout = real.layout
    closed = list_warcs(layout.warc_dir)[0]
    captures = _captures(layout)
    cut = closed.with_name(closed.name + OPEN_SUFFIX)
    cut.write_bytes(closed.read_bytes()[: closed.stat().st_size // 2])
    before = closed.read_bytes()
    code, _, err = _cli("rebuild", "--archive", layout.root)
    assert code == ExitCode.OK, err
    assert closed.read_bytes() == before and _captures(layout) == captures
    assert (layout.warc_dir / "setaside" / cut.name).exists() and not cut.exists()


def _scramble_catalog(layout: ArchiveLayout) -> None:
    """Random bytes over every page but the first (the header stays, so it opens)."""
    data = bytearray(layout.catalog_path.read_bytes())
    noise = random.Random(2).randbytes(len(data) - 4096)
    data[4096:] = noise
    layout.catalog_path.write_bytes(bytes(data))


def test_a_damaged_catalog_is_reported_by_readers_and_rebuilt_at_crawl_start(
    real: RealArchive,
) -> None:
    layout = real.layout
    _scramble_catalog(layout)
    for command in (["search", "新闻"], ["export"], ["stats"], ["verify"]):
        code, _, err = _cli(*command, "--archive", layout.root)
        assert code == ExitCode.DAMAGED, (command, err)
        assert "damaged" in err or ("damaged" in _ and "Traceback" not in err)
    with ArchiveLock(layout.lock_path) as lock:
        recovery = recover_if_needed(layout, lock)
    assert recovery is not None and "catalog.sqlite: damaged" in recovery["damage"][0]
    assert _articles(layout) == len(real.urls)
    assert catalog.check(layout.catalog_path) is None


def test_a_damaged_index_line_is_reported(real: RealArchive) -> None:
    index = real.layout.indexes_dir / "index.cdxj"
    lines = index.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2][:40] + b"\xff\xfe garbage\n"
    index.write_bytes(b"".join(lines))
    code, _, err = _cli("verify", "-v", "--archive", real.layout.root)
    assert code == ExitCode.DAMAGED and "indexes/index.cdxj line 3 is damaged" in err


def test_verify_tells_a_running_crawls_open_file_from_a_killed_runs(real: RealArchive) -> None:
    layout = real.layout
    closed = list_warcs(layout.warc_dir)[0]
    left = closed.with_name("UIRNEWS-20990101000000000-00000-x.warc.gz" + OPEN_SUFFIX)
    left.write_bytes(closed.read_bytes()[:1000])
    with ArchiveLock(layout.lock_path):  # a crawl holds the lock and writes that file
        assert run_in_process("verify", "--archive", str(layout.root)) == ExitCode.OK
    assert run_in_process("verify", "--archive", str(layout.root)) == ExitCode.DAMAGED


def test_a_garbled_lock_file_is_a_killed_run_not_a_crash(real: RealArchive) -> None:
    real.layout.lock_path.write_bytes(random.Random(3).randbytes(300))
    with ArchiveLock(real.layout.lock_path) as lock:
        assert lock.stale_holder is not None and lock.stale_holder["state"] == "running"
    code, _, err = _cli("rebuild", "--archive", real.layout.root)
    assert code == ExitCode.OK and "Traceback" not in err


# -- 4. outputs cannot hurt the archive or the system -------------------------------------


def _commands(real: RealArchive, target: str) -> list[list[str | Path]]:
    root = real.layout.root
    return [
        ["export", "--format", "csv", "-o", target, "--archive", root],
        ["replay", real.urls[0], "-o", target, "--archive", root],
        ["show", real.urls[0], "--html", target, "--archive", root],
        ["stats", "--plot", target, "--archive", root],
    ]


@pytest.fixture
def targets(real: RealArchive, tmp_path: Path) -> dict[str, str]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    into_archive = tmp_path / "link-into-archive"
    into_archive.symlink_to(real.layout.catalog_path)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere" / "x.csv")
    return {
        "the-warc": str(list_warcs(real.layout.warc_dir)[0]),
        "the-catalog": str(real.layout.catalog_path),
        "new-file-in-archive": str(real.layout.root / "out.csv"),
        "a-device": "/dev/full",
        "a-directory": str(tmp_path),
        "a-fifo": str(fifo),
        "a-symlink-into-the-archive": str(into_archive),
        "a-dangling-symlink": str(dangling),
    }


@pytest.mark.parametrize(
    "which",
    [
        "the-warc",
        "the-catalog",
        "new-file-in-archive",
        "a-device",
        "a-directory",
        "a-fifo",
        "a-symlink-into-the-archive",
        "a-dangling-symlink",
    ],
)
def test_every_output_option_refuses_what_it_must_not_write(
    real: RealArchive, targets: dict[str, str], which: str
) -> None:
    target = targets[which]
    before = real.sha256()
    catalog_bytes = real.layout.catalog_path.read_bytes()
    kind = os.lstat(target).st_mode if os.path.lexists(target) else None
    for command in _commands(real, target):
        code, _, err = _cli(*command)
        assert code == ExitCode.USAGE, (command, err)
        assert err.count("\n") == 1 and "Traceback" not in err
    assert real.sha256() == before and real.layout.catalog_path.read_bytes() == catalog_bytes
    assert (os.lstat(target).st_mode if os.path.lexists(target) else None) == kind
    assert not list(Path(target).parent.glob(".*.part"))


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def test_outputs_honour_the_umask_replace_atomically_and_follow_symlinks(
    real: RealArchive, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with _umask(0o022):
        for n, command in enumerate(_commands(real, str(out / "new"))):
            (out / "new").unlink(missing_ok=True)
            code, _, err = _cli(*command)
            assert code == ExitCode.OK, (n, err)
            assert stat.S_IMODE((out / "new").stat().st_mode) == 0o644
    # An existing file keeps its mode; a symlink stays a symlink, its file is replaced.
    kept = out / "kept.csv"
    kept.write_text("old", "utf-8")
    kept.chmod(0o600)
    link = out / "link.csv"
    link.symlink_to(kept)
    assert _cli("export", "--format", "csv", "-o", link, "--archive", real.layout.root)[0] == 0
    assert link.is_symlink() and "id,url," in kept.read_text("utf-8")[:10]
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    # `-` is standard output.
    code, stdout, _ = _cli("export", "--format", "csv", "-o", "-", "--archive", real.layout.root)
    assert code == 0 and "id,url," in stdout[:10]
    assert not list(out.glob(".*.part"))


def test_sigterm_during_an_output_leaves_no_part_file(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from archive.research.output import atomic_output
        with atomic_output(Path(sys.argv[1])) as out:
            out.write("half")
            print("writing", flush=True)
            time.sleep(60)
        """
    )
    target = tmp_path / "export.csv"
    with subprocess.Popen(
        [sys.executable, "-c", script, str(target)], cwd=REPO, stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
        assert list(tmp_path.glob(".export.csv.*.part"))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM
    assert not list(tmp_path.iterdir())


def test_show_html_keeps_the_article_inside_vsbs_form(real: RealArchive, tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    url = real.urls[0]
    assert _cli("show", url, "--html", out, "--archive", real.layout.root)[0] == 0
    html = out.read_text("utf-8")
    conn = catalog.connect(real.layout.catalog_path, readonly=True)
    record = json.loads(
        conn.execute(
            "SELECT v.record_json FROM articles a JOIN versions v ON v.id = a.current_version_id "
            "WHERE a.url = ?",
            (url,),
        ).fetchone()[0]
    )
    conn.close()
    assert "<script" not in html.lower() and "<form" not in html.lower()
    first_paragraph = record["body_text"].split("\n")[0][:20]
    assert first_paragraph and first_paragraph in html


# -- 5. read-only archives --------------------------------------------------------------


@pytest.mark.skipif(not can_mount(), reason="needs mount(8) as root")
def test_every_reading_command_works_on_a_read_only_archive(
    real: RealArchive, tmp_path: Path
) -> None:
    root = real.layout.root
    # The WAL files of a catalog that was closed cleanly are gone, as in a copy.
    names = sorted(p.name for p in root.iterdir())
    with read_only(root):
        for command in (
            ["search", "学院"],
            ["show", real.urls[0]],
            ["stats"],
            ["export", "--format", "csv", "-o", str(tmp_path / "x.csv")],
            ["verify"],
            ["replay", real.urls[0], "-o", str(tmp_path / "page.html")],
        ):
            code, _, err = _cli(*command, "--archive", root)
            assert code == ExitCode.OK, (command, err)
        code, _, err = _cli("rebuild", "--archive", root)
        assert code == ExitCode.NO_PERMISSION and err.count("\n") == 1
    assert sorted(p.name for p in root.iterdir()) == names


# -- 6. every failure has its exit code and one line ---------------------------------------


def test_a_full_disk_is_exit_7_with_one_line(tmp_path: Path) -> None:
    """A file-size limit makes every write past it fail, as a full disk does."""
    real = build_real_archive(tmp_path / "archive", pages=40)
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (33_000, 33_000))  # the WAL index fits

    out = tmp_path / "big.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "export", "--format", "jsonl", "-o", str(out),
         "--archive", str(real.layout.root)],
        cwd=REPO, capture_output=True, text=True, preexec_fn=small_disk, check=False,
    )  # fmt: skip
    assert proc.returncode == ExitCode.DISK_FULL, proc.stderr
    assert proc.stderr.count("\n") == 1 and "no space left" in proc.stderr
    assert not list(tmp_path.iterdir())  # neither the file nor its .part


def test_an_unexpected_error_is_exit_70_with_its_traceback_in_the_archive(
    real: RealArchive, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def bug(layout: ArchiveLayout) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("crawler.cli.maintenance.verify", bug)
    assert run_in_process("verify", "--archive", str(real.layout.root)) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: RuntimeError: a bug" in err
    logs = list((real.layout.root / "logs").glob("error-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err
    assert "Traceback" in logs[0].read_text("utf-8") and "Traceback" not in err


def test_permission_denied_is_exit_8(
    real: RealArchive, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def denied(layout: ArchiveLayout) -> None:
        raise PermissionError(13, "Permission denied", str(layout.catalog_path))

    monkeypatch.setattr("crawler.cli.maintenance.verify", denied)
    assert run_in_process("verify", "--archive", str(real.layout.root)) == 8
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "permission denied for" in err


def test_sqlite_refusing_a_write_is_not_an_internal_error() -> None:
    from crawler.cli.errors import failure_code

    code, _ = failure_code(sqlite3.OperationalError("attempt to write a readonly database"))
    assert code is ExitCode.NO_PERMISSION
