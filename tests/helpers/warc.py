"""Shared test helpers for WARC files: `warcio check` and record listing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def warcio_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    """Run the real `warcio check -v` on files; returns the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
