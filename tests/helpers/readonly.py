"""A read-only archive, as a user meets one: a read-only mount, or no write permission."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def read_only(root: Path) -> Iterator[None]:
    """``root`` read-only: a read-only bind mount as root, else no write permission."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", str(root), str(root)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(root)], check=True)
            yield
        finally:
            subprocess.run(["umount", str(root)], check=True)
        return
    modes = {p: p.stat().st_mode for p in [root, *root.rglob("*")]}
    for path in modes:
        path.chmod(stat.S_IMODE(modes[path]) & ~0o222)
    try:
        yield
    finally:
        for path, mode in modes.items():
            path.chmod(stat.S_IMODE(mode))


def can_mount() -> bool:
    if os.geteuid() != 0:
        return True
    return subprocess.run(["mount", "--version"], capture_output=True, check=False).returncode == 0
