"""Replay through the index: nearest capture, revisits resolved, the CLI's exits."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive.replay.cdxj import index_path, lookup
from archive.replay.playback import NotArchived, RevisitUnresolved, parse_when, replay
from tests.helpers.cli import run_in_process
from tests.helpers.synthetic_archive import T0, T1, T2, Built, page


def test_latest_capture_is_the_default(built: Built) -> None:
    result = replay(built.layout, built.changed_url)
    assert result.body == page(2, 2)
    assert result.warc_date.startswith("2025-07-16T08:00:00")
    assert result.status == 200 and result.record_type == "response"
    assert (
        result.pointer
        == result.payload_pointer
        == lookup(built.layout, built.changed_url)[-1].pointer
    )


def test_nearest_capture_to_at(built: Built) -> None:
    url = built.changed_url
    assert replay(built.layout, url, T0).body == page(2, 1)
    assert replay(built.layout, url, T0 + timedelta(hours=23)).body == page(2, 1)
    assert replay(built.layout, url, T0 + timedelta(hours=25)).body == page(2, 2)
    assert replay(built.layout, url, T0 - timedelta(days=300)).body == page(2, 1)
    assert replay(built.layout, url, T2 + timedelta(days=300)).body == page(2, 2)


def test_body_is_decoded_and_raw_bytes_kept(built: Built) -> None:
    result = replay(built.layout, built.gzip_url, T0)
    assert result.body == page(0)
    assert result.header("Content-Encoding") == "gzip"
    assert gzip.decompress(result.raw_body) == page(0)


def test_304_revisit_replays_the_original_response(built: Built) -> None:
    result = replay(built.layout, built.not_modified_url, T1)
    assert result.record_type == "revisit"
    assert result.warc_date.startswith("2025-07-15T08:00:00")
    assert result.status == 200  # what the page was, not the 304 of the check
    assert result.header("Content-Encoding") == "gzip"
    assert result.body == page(0)
    assert result.payload_pointer != result.pointer
    assert result.payload_pointer == lookup(built.layout, built.not_modified_url)[0].pointer


def test_identical_payload_revisit_gets_the_original_body(built: Built) -> None:
    result = replay(built.layout, built.identical_url)
    assert result.record_type == "revisit" and result.status == 200
    assert result.body == page(1)
    assert result.header("ETag") == '"v1-1"'


def test_error_pages_replay_as_served(built: Built) -> None:
    result = replay(built.layout, built.missing_url)
    assert result.status == 404 and result.body == b"not found"


def test_unknown_url(built: Built) -> None:
    with pytest.raises(NotArchived):
        replay(built.layout, "http://127.0.0.1:8000/info/1031/none.htm")


def test_revisit_without_its_original(built: Built) -> None:
    # Drop the original's index line: the revisit can no longer be resolved.
    keep = [
        line
        for line in index_path(built.layout).read_bytes().splitlines(keepends=True)
        if not (b"/10001.htm" in line and b"20250714080000" in line)
    ]
    index_path(built.layout).write_bytes(b"".join(keep))
    with pytest.raises(RevisitUnresolved):
        replay(built.layout, built.identical_url)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-07-14", datetime(2025, 7, 14, tzinfo=UTC)),
        ("20250714", datetime(2025, 7, 14, tzinfo=UTC)),
        ("202507", datetime(2025, 7, 1, tzinfo=UTC)),
        ("20250714083000", datetime(2025, 7, 14, 8, 30, tzinfo=UTC)),
        ("2025-07-14T08:30:00Z", datetime(2025, 7, 14, 8, 30, tzinfo=UTC)),
        ("2025-07-14T16:30:00+08:00", datetime(2025, 7, 14, 8, 30, tzinfo=UTC)),
        ("2025-07-14 08:30", datetime(2025, 7, 14, 8, 30, tzinfo=UTC)),
    ],
)
def test_parse_when(text: str, expected: datetime) -> None:
    assert parse_when(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01", "2025071", "20251340", ""])
def test_parse_when_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a date"):
        parse_when(text)


def test_cli_writes_the_body_to_a_file(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    code = run_in_process(
        "replay", built.changed_url, "--at", "2025-07-14", "-o", str(out),
        "--archive", str(built.layout.root),
    )  # fmt: skip
    assert code == 0
    assert out.read_bytes() == page(2, 1)


def test_cli_writes_to_stdout(built: Built, capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    assert run_in_process("replay", built.identical_url, "--archive", str(built.layout.root)) == 0
    captured = capfdbinary.readouterr()
    assert captured.out == page(1)
    assert b"revisit resolved" in captured.err


def test_cli_unknown_url_exits_1(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_in_process("replay", "http://example.org/x", "--archive", str(built.layout.root))
    assert code == 1
    assert "not in the archive" in capsys.readouterr().err


def test_cli_bad_date_is_a_usage_error(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_in_process(
        "replay", built.changed_url, "--at", "soon", "--archive", str(built.layout.root)
    )
    assert code == 2
    assert "not a date" in capsys.readouterr().err


def test_cli_no_archive_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_in_process("replay", "http://x/", "--archive", str(tmp_path / "none"))
    assert code == 2
    assert "no archive" in capsys.readouterr().err


def test_cli_catches_up_a_stale_index(built: Built, tmp_path: Path) -> None:
    # A crawl killed before its index update: replay still finds its pages.
    index_path(built.layout).unlink()
    out = tmp_path / "page.html"
    assert (
        run_in_process(
            "replay", built.changed_url, "-o", str(out), "--archive", str(built.layout.root)
        )
        == 0
    )
    assert out.read_bytes() == page(2, 2)
