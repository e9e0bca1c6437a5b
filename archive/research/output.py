"""Where the commands write their outputs (exports, replayed pages, plots), safely.

:func:`output_path` is the one check every ``-o``-like option goes through:
``-`` (or nothing) means standard output; a path inside the archive is
refused, and so are directories, devices, FIFOs and sockets; a symlink is
followed to the regular file it names (outside the archive), which is then
replaced and the link kept, never turned into a file; a dangling symlink is
refused. :func:`atomic_output` writes to a temporary file beside the target
and renames it into place only when the block completes: a failure, a
Ctrl-C or a SIGTERM leaves the old file (or none) and no temporary file. A
new file gets the mode the umask gives (0644 under 022); a replaced file
keeps its mode.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import IO, Any


class OutputRefused(ValueError):
    """An output path that would harm the archive or the system; reported in one line, exit 2."""


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def output_path(value: str | os.PathLike[str] | None, *, archive: Path | None) -> Path | None:
    """The file to write for an output option, or None for standard output (``-`` or none).

    Raises :class:`OutputRefused` for a path inside ``archive`` (even through a
    symlink), a directory, a device, a FIFO, a socket or a dangling symlink.
    """
    if value is None or str(value) in {"", "-"}:
        return None
    path = Path(value).expanduser()
    if str(value).endswith(os.sep) or path.is_dir():
        raise OutputRefused(f"{value} is a directory: give a file name")
    target = path.resolve()
    if path.is_symlink() and not target.exists():
        raise OutputRefused(f"{value} is a symlink to {target}, which does not exist")
    if archive is not None:
        root = archive.expanduser().resolve()
        if target == root or target.is_relative_to(root):
            raise OutputRefused(
                f"{value} is inside the archive {root}: an export must never overwrite it"
            )
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        if not target.parent.is_dir():
            raise OutputRefused(f"{target.parent} is not a directory") from None
        return target
    kind = _kind(mode)
    if kind is not None:
        raise OutputRefused(f"{value} is {kind}: give a regular file name, or - for stdout")
    return target


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class _Terminated(BaseException):
    """SIGTERM arrived while an output was being written."""


@contextlib.contextmanager
def cleanup_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into an exception for the block, so its cleanup runs; then die of it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        os.kill(os.getpid(), signal.SIGTERM)  # the default action, now the file is gone
        raise SystemExit(128 + signal.SIGTERM) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def atomic_output(
    path: Path | None, *, binary: bool = False, archive: Path | None = None
) -> Iterator[IO[Any]]:
    """A file to write an output to; ``None`` means standard output.

    ``path`` goes through :func:`output_path` (with ``archive``, the archive to
    protect). The file appears at the target only if the block completes.
    """
    if path is None:
        yield sys.stdout.buffer if binary else sys.stdout
        return
    target = output_path(path, archive=archive)
    assert target is not None
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    with cleanup_on_sigterm():
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        try:
            os.fchmod(fd, mode)
            file_mode = "wb" if binary else "w"
            encoding = None if binary else "utf-8"
            newline = None if binary else ""
            with os.fdopen(fd, file_mode, encoding=encoding, newline=newline) as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
