"""Shared fixtures: the replica site on loopback and crawls of it.

Crawls run `uir-news` in a subprocess, as cron would: Scrapy's reactor can
run only once per process, and a subprocess also exercises the real CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from replica.server import LoggedRequest, ReplicaServer
from replica.site import ReplicaSite

if TYPE_CHECKING:
    from tests.test_cdxj import Built

REPO = Path(__file__).resolve().parent.parent


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def last_summary(self, archive: Path) -> dict[str, Any]:
        """The newest run summary of ``archive``."""
        latest = sorted((archive / "runs").glob("*.json"))[-1]
        summary: dict[str, Any] = json.loads(latest.read_text("utf-8"))
        return summary


def run_cli(*args: str | os.PathLike[str], timeout: float = 300, check: bool = True) -> CliResult:
    """Run ``uir-news ARGS`` in a subprocess; fail the test on a non-zero exit if ``check``."""
    env = dict(os.environ)
    env.pop("UIR_NEWS_ARCHIVE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"uir-news {' '.join(map(str, args))} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
        )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def crawl(server: ReplicaServer, archive: Path, *extra: str, check: bool = True) -> CliResult:
    return run_cli(
        "crawl", "--start-url", server.start_url, "--archive", archive, *extra, check=check
    )


@pytest.fixture(scope="session")
def replica() -> Iterator[ReplicaServer]:
    """The default replica site, shared and never mutated."""
    with ReplicaServer(ReplicaSite()) as server:
        yield server


@pytest.fixture
def fresh_replica() -> Iterator[ReplicaServer]:
    """A replica of one's own, for tests that publish or edit articles."""
    with ReplicaServer(ReplicaSite()) as server:
        yield server


@dataclass
class Crawled:
    archive: Path
    server: ReplicaServer
    requests: list[LoggedRequest]
    result: CliResult


@pytest.fixture(scope="session")
def crawled(replica: ReplicaServer, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    """An archive holding one full crawl of the shared replica."""
    archive = tmp_path_factory.mktemp("crawled") / "archive"
    replica.reset_log()
    result = crawl(replica, archive)
    return Crawled(archive, replica, replica.requests, result)


@pytest.fixture
def built(tmp_path: Path) -> Built:
    """A synthetic archive with responses, revisits, a 404 and a changed article."""
    from tests.test_cdxj import build_archive

    return build_archive(tmp_path / "archive")


def run_maintenance(*argv: str) -> int:
    """A ``uir-news`` command (index, replay, verify...) in this process; its exit code."""
    from crawler.cli import main

    return main(list(argv))
