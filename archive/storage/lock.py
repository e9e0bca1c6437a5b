"""One run at a time: an exclusive lock file in the archive directory.

The lock is an ``fcntl.flock`` on ``uir-news.lock``: the kernel releases it
when the holding process dies, however it dies, so a lock can never be left
held by a dead run. The file also records who holds it (pid, host, start
time) and whether that run ended cleanly; a lock file still marked
``running`` when we acquire it means the previous run was killed, which is
how the caller knows to repair the archive before crawling.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any


class LockHeld(Exception):
    """Another live process holds the archive's lock."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        self.path = path
        self.holder = holder
        who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
        since = holder.get("started_at", "?")
        super().__init__(f"another uir-news run ({who}, since {since}) holds {path}")


@dataclass
class ArchiveLock:
    """Context manager holding the archive lock; ``stale_holder`` is set after a crash."""

    path: Path
    stale_holder: dict[str, Any] | None = None
    _fh: IO[bytes] | None = None

    def _read_holder(self) -> dict[str, Any]:
        assert self._fh is not None
        self._fh.seek(0)
        return _parse_holder(self._fh.read(1 << 16))

    def _write_holder(self, state: str) -> None:
        assert self._fh is not None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "state": state,
        }
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(json.dumps(info).encode("utf-8"))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def acquire(self) -> ArchiveLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+b")  # noqa: SIM115 - held for the run
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh = fh
            holder = self._read_holder()
            fh.close()
            self._fh = None
            raise LockHeld(self.path, holder) from None
        self._fh = fh
        previous = self._read_holder()
        if previous.get("state") == "running":
            # We got the lock, so that process is gone: it died mid-run.
            self.stale_holder = previous
        self._write_holder("running")
        return self

    def release(self) -> None:
        if self._fh is None:
            return
        self._write_holder("released")
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
        self._fh.close()
        self._fh = None

    def __enter__(self) -> ArchiveLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _parse_holder(raw: bytes) -> dict[str, Any]:
    """What a lock file says of its holder (pid, host, start, state).

    A garbled file (random bytes, a half write) reads as a run that did not
    finish: the archive is checked and repaired, never refused.
    """
    text = raw.decode("utf-8", errors="replace")
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        data = {"state": "running", "unreadable": text[:200]}
    return data if isinstance(data, dict) else {}


def held_by(path: Path) -> dict[str, Any] | None:
    """The holder of the lock at ``path`` while a live process holds it, else None.

    The lock is only looked at, never taken; a read-only archive, or no lock
    file at all, is not held.
    """
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError:
        return None
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _parse_holder(fh.read(1 << 16))
    except OSError:
        return None
    finally:
        fh.close()  # closing drops a shared lock we got
    return None


def is_held(path: Path) -> bool:
    """Whether a live process holds the lock at ``path`` (see :func:`held_by`)."""
    return held_by(path) is not None
