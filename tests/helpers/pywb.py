"""pywb's `wayback`, run as its own process on an archive's WARC folder and CDXJ index.

Its gevent monkey-patching and import-time warnings stay out of the test
process, and the tests exercise the real config keys rather than pywb internals.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from archive.replay.cdxj import index_path
from archive.storage.layout import ArchiveLayout
from tests.helpers.cli import free_port

WAYBACK = Path(sys.executable).with_name("wayback")
COLLECTION = "uir"
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 20.0


def get(url: str) -> tuple[int, bytes]:
    """Status and body of a GET (an HTTP error status is an answer, not an exception)."""
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _tail(path: Path) -> str:
    return path.read_text("utf-8", errors="replace")[-2000:]


@contextmanager
def wayback(root: Path, layout: ArchiveLayout) -> Iterator[str]:
    """Serve ``layout`` with pywb (config in ``root``); yields the collection's base URL."""
    # pywb is a dev dependency: its absence is a broken install, not a skip.
    assert WAYBACK.exists(), f"pywb's wayback is missing at {WAYBACK} (pip install -e '.[dev]')"
    # A collection that points at our files: no copy, no `wb-manager add`.
    (root / "config.yaml").write_text(
        "collections:\n"
        f"  {COLLECTION}:\n"
        f"    index: {index_path(layout)}\n"
        f"    archive_paths: {layout.warc_dir}/\n",
        "utf-8",
    )
    port = free_port()
    log = open(root / "wayback.log", "wb")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(
        [str(WAYBACK), "-p", str(port), "-b", "127.0.0.1", "-d", str(root)],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"wayback exited {proc.returncode}: {_tail(root / 'wayback.log')}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"wayback did not start: {_tail(root / 'wayback.log')}")
                time.sleep(0.2)
        yield f"{base}/{COLLECTION}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
