"""Running ``uir-news`` as its users do: in a subprocess (as cron would), or in this process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replica.server import LoggedRequest, ReplicaServer

REPO = Path(__file__).resolve().parents[2]


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


@dataclass
class Crawled:
    archive: Path
    server: ReplicaServer
    requests: list[LoggedRequest]
    result: CliResult


def run_in_process(*argv: str) -> int:
    """A ``uir-news`` command (index, replay, verify...) in this process; its exit code."""
    from crawler.cli import main

    return main(list(argv))


def scrapy_crawl(
    server: ReplicaServer, archive: Path, *extra: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl gxyw -a start_url=... -a archive=...`` run from the project directory."""
    env = dict(os.environ)
    env.pop("UIR_NEWS_ARCHIVE", None)
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "gxyw",
            "-a",
            f"start_url={server.start_url}",
            "-a",
            f"archive={archive}",
            "-s",
            "LOG_LEVEL=WARNING",
            *extra,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A loopback port nothing listens on just now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
