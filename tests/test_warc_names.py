"""WARC file names are unique per host and process, so shard archives merge without clashes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from archive.storage.warc import HttpExchange, RotatingWarcWriter, list_warcs, resolve_warc_path

WHEN = datetime(2025, 7, 14, 8, 30, 0, tzinfo=UTC)

#: Writes one file with a fixed clock into argv[1], as a second crawl process would.
_CHILD = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from archive.storage.warc import HttpExchange, RotatingWarcWriter
when = datetime(2025, 7, 14, 8, 30, 0, tzinfo=UTC)
writer = RotatingWarcWriter(Path(sys.argv[1]), clock=lambda: when)
writer.write_exchange(HttpExchange(
    url="http://127.0.0.1/info/1/1.htm", method="GET", request_headers=[], status=200,
    response_headers=[], response_body=b"x", fetched_at=when))
writer.close()
"""


def _write_one(directory: Path) -> Path:
    writer = RotatingWarcWriter(directory, clock=lambda: WHEN)
    writer.write_exchange(
        HttpExchange(
            url="http://127.0.0.1/info/1/1.htm",
            method="GET",
            request_headers=[],
            status=200,
            response_headers=[],
            response_body=b"x",
            fetched_at=WHEN,
        )
    )
    closed = writer.close()
    assert closed is not None
    return closed


def test_name_carries_the_process_id(tmp_path: Path) -> None:
    name = _write_one(tmp_path).name
    assert name.startswith("UIRNEWS-20250714083000000-00000-") and name.endswith(".warc.gz")
    assert f"-{os.getpid()}-" in name


def test_two_processes_at_the_same_instant_choose_different_names(tmp_path: Path) -> None:
    mine = _write_one(tmp_path / "a")
    subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "b")], check=True)
    (theirs,) = list_warcs(tmp_path / "b")
    assert mine.name != theirs.name  # same host, same millisecond, same serial: the pid differs


def test_names_without_a_pid_are_still_read(tmp_path: Path) -> None:
    old = tmp_path / "UIRNEWS-20250714083000000-00000-host.warc.gz"
    _write_one(tmp_path).rename(old)
    assert list_warcs(tmp_path) == [old]
    assert resolve_warc_path(tmp_path, old.name) == old
