"""An archive lock held by another process, as a concurrent run would hold it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.cli import REPO

_HOLD = (
    "import sys, time; from pathlib import Path;"
    "from archive.storage.lock import ArchiveLock;"
    "lock = ArchiveLock(Path(sys.argv[1])).acquire();"
    "print('held', flush=True); time.sleep(60)"
)


@contextmanager
def lock_held_elsewhere(archive: Path) -> Iterator[subprocess.Popen[str]]:
    """``archive``'s lock, held by a child process until the block ends (killed, not released)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(archive / "uir-news.lock")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
