"""The archive lock: one run at a time, stale locks taken over."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archive.storage.lock import ArchiveLock, LockHeld

HOLD_LOCK = """
import sys, time
from pathlib import Path
from archive.storage.lock import ArchiveLock
lock = ArchiveLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_second_holder_is_refused_while_first_lives(tmp_path: Path) -> None:
    path = tmp_path / "uir-news.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld) as caught:
            ArchiveLock(path).acquire()
        assert caught.value.holder["pid"] == holder.pid
        assert str(holder.pid) in str(caught.value)
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    # The kernel released the dead holder's lock: we take it over and learn
    # that its run never finished.
    with ArchiveLock(path) as lock:
        assert lock.stale_holder is not None
        assert lock.stale_holder["pid"] == holder.pid
    assert json.loads(path.read_text())["state"] == "released"


def test_clean_release_leaves_no_stale_holder(tmp_path: Path) -> None:
    path = tmp_path / "uir-news.lock"
    with ArchiveLock(path) as first:
        assert first.stale_holder is None
    with ArchiveLock(path) as second:
        assert second.stale_holder is None


def test_garbage_lock_file_counts_as_stale(tmp_path: Path) -> None:
    path = tmp_path / "uir-news.lock"
    path.write_text("{not json")
    with ArchiveLock(path) as lock:
        assert lock.stale_holder is not None
