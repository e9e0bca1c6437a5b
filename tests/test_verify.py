"""`verify`: digests of every record, every pointer the archive holds, one line out."""

from __future__ import annotations

import json
import sqlite3
import zlib
from pathlib import Path

import pytest

from archive.storage.record_store import record_files
from archive.storage.verify import verify
from archive.storage.warc import OPEN_SUFFIX, iter_records, list_warcs
from tests.helpers.cli import run_in_process
from tests.helpers.synthetic_archive import Built


def _recompressed_with_flipped_payload(path: Path, offset: int, length: int) -> None:
    """Flip one payload byte inside one gzip member and recompress that member."""
    data = path.read_bytes()
    member = zlib.decompress(data[offset : offset + length], 16 + zlib.MAX_WBITS)
    at = member.index(b"<h1>") + 5  # inside the HTTP payload, past every header
    flipped = member[:at] + bytes([member[at] ^ 0x01]) + member[at + 1 :]
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    again = packer.compress(flipped) + packer.flush()
    path.write_bytes(data[:offset] + again + data[offset + length :])


def test_clean_archive_is_ok(built: Built) -> None:
    report = verify(built.layout)
    assert report.ok, report.problems
    files = len(list_warcs(built.layout.warc_dir))
    records = sum(1 for p in list_warcs(built.layout.warc_dir) for _ in iter_records(p))
    assert report.warc_files == files and report.records == records
    assert report.captures == 8 and report.versions == 5 and report.json_records == 5
    assert report.one_line() == (
        f"verify: OK {files} WARC files, {records} records, 8 captures, 5 versions, "
        "5 JSON records checked"
    )


def test_flipped_payload_byte_is_reported(built: Built) -> None:
    path, pointer = next(
        (path, pointer)
        for path in list_warcs(built.layout.warc_dir)
        for pointer, record, stored in iter_records(path)
        if record.rec_type == "response" and stored.url == built.identical_url
    )
    _recompressed_with_flipped_payload(path, pointer.offset, pointer.length)
    report = verify(built.layout)
    assert not report.ok
    digest_problems = [p for p in report.problems if "digest failed" in p]
    assert digest_problems and digest_problems[0].startswith(f"{path.name}@{pointer.offset}")
    assert report.one_line().startswith("verify: FAILED ")
    assert "(first: " in report.one_line()


def test_catalog_pointer_to_a_wrong_offset_is_reported(built: Built) -> None:
    conn = sqlite3.connect(built.layout.catalog_path)
    with conn:
        conn.execute("UPDATE captures SET warc_offset = warc_offset + 1 WHERE id = 1")
    conn.close()
    report = verify(built.layout)
    assert len(report.problems) == 1
    assert "capture 1" in report.problems[0] and "no record starts" in report.problems[0]


def test_catalog_pointer_to_another_record_is_reported(built: Built) -> None:
    conn = sqlite3.connect(built.layout.catalog_path)
    with conn:
        other = conn.execute(
            "SELECT warc_file, warc_offset, warc_length FROM captures WHERE id = 2"
        )
        file, offset, length = other.fetchone()
        conn.execute(
            "UPDATE captures SET warc_file = ?, warc_offset = ?, warc_length = ? WHERE id = 1",
            (file, offset, length),
        )
    conn.close()
    problems = verify(built.layout).problems
    assert any("capture 1" in p and ", not <urn:uuid:" in p for p in problems), problems


def test_json_record_pointer_is_checked(built: Built) -> None:
    record_path = next(record_files(built.layout.records_dir))
    record = json.loads(record_path.read_text("utf-8"))
    record["warc"]["length"] += 3
    record_path.write_text(json.dumps(record), "utf-8")
    problems = verify(built.layout).problems
    assert (
        len(problems) == 1 and problems[0].startswith("record ") and "pointer says" in problems[0]
    )


def test_missing_warc_and_open_file_are_reported(built: Built) -> None:
    first = list_warcs(built.layout.warc_dir)[0]
    first.rename(first.with_name(first.name + OPEN_SUFFIX))
    problems = verify(built.layout).problems
    assert any("left open by a killed run" in p for p in problems)
    assert any("points into missing WARC" in p for p in problems)


def test_truncated_warc_is_reported_not_raised(built: Built) -> None:
    path = list_warcs(built.layout.warc_dir)[-1]
    path.write_bytes(path.read_bytes()[:-40])
    report = verify(built.layout)
    assert not report.ok
    assert any(path.name in p for p in report.problems)


def test_cli_exit_codes(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_in_process("verify", "--archive", str(built.layout.root)) == 0
    out = capsys.readouterr().out
    assert out.startswith("verify: OK ") and out.count("\n") == 1
    conn = sqlite3.connect(built.layout.catalog_path)
    with conn:
        conn.execute("UPDATE versions SET warc_offset = 0")
    conn.close()
    assert run_in_process("verify", "-v", "--archive", str(built.layout.root)) == 6
    captured = capsys.readouterr()
    assert captured.out.startswith("verify: FAILED 5 problems (first: version ")
    assert captured.err.count("\n") == 5


def test_rebuild_repairs_rebuilds_and_reindexes(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = built.layout
    last = list_warcs(layout.warc_dir)[-1]
    last.rename(last.with_name(last.name + OPEN_SUFFIX))  # as a killed run leaves it
    layout.catalog_path.unlink()
    assert run_in_process("rebuild", "--archive", str(layout.root)) == 0
    assert "rebuilt catalog:" in capsys.readouterr().out
    assert verify(layout).ok


def test_rebuild_refuses_while_a_run_holds_the_lock(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    from archive.storage.lock import ArchiveLock

    with ArchiveLock(built.layout.lock_path):
        assert run_in_process("rebuild", "--archive", str(built.layout.root)) == 4
    assert "not rebuilding" in capsys.readouterr().err


def test_index_command(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_in_process("index", "--archive", str(built.layout.root)) == 0
    assert capsys.readouterr().out.startswith("index: 0 new WARC file(s), +0 lines, 8 lines")
    assert run_in_process("index", "--rebuild", "--archive", str(built.layout.root)) == 0
    assert "(rebuilt)" in capsys.readouterr().out
