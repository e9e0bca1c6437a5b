"""Shared pieces of the crawl benchmarks: a replica in its own process, measured child runs.

Everything stays on loopback. A measured run is a child process reaped with
`os.wait4`, which gives that child's own CPU time and peak RSS (no psutil).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    """One child run: wall seconds, CPU seconds (user+sys), peak RSS in MB, exit status."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(argv: list[str], *, timeout: float, cwd: Path = ROOT) -> Measured:
    """Run `argv`, wait for it with wait4; kill it (and fail) after `timeout` seconds."""
    out_path = Path(f"/tmp/bench-{os.getpid()}-{time.monotonic_ns()}")
    with open(f"{out_path}.out", "w+b") as out, open(f"{out_path}.err", "w+b") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err, start_new_session=True)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise TimeoutError(f"{argv[:3]} ran past {timeout} s")
            time.sleep(0.01)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    for suffix in (".out", ".err"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    return Measured(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,
        returncode=proc.returncode,
        stdout=stdout,
        stderr=stderr,
    )


class Replica:
    """`python -m replica` in its own process (so it does not share the crawler's GIL)."""

    def __init__(self, articles: int, page_size: int = 15, latency_ms: float = 0.0) -> None:
        self.articles = articles
        self.page_size = page_size
        self.latency_ms = latency_ms
        self.proc: subprocess.Popen[str] | None = None
        self.start_url = ""
        self.startup_s = 0.0

    def __enter__(self) -> Replica:
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "replica",
                "--port",
                "0",
                "--articles",
                str(self.articles),
                "--page-size",
                str(self.page_size),
                "--latency-ms",
                str(self.latency_ms),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"http://\S+", line)
        if match is None:
            self.__exit__()
            raise RuntimeError(f"replica did not start: {line!r}")
        self.start_url = match.group(0)
        self.startup_s = time.perf_counter() - start
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def base_url(self) -> str:
        return self.start_url.rsplit("/", 1)[0]

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def cpu_s(self) -> float:
        """CPU seconds the replica process has used so far (from /proc)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_mb(self) -> float:
        """Peak RSS of the replica process so far, in MB."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def crawl_argv(start_url: str, archive: Path, *extra: str) -> list[str]:
    """Our full pipeline: `uir-news crawl --full --quiet` into ``archive`` (plus ``extra``)."""
    return [
        PYTHON,
        "-m",
        "crawler.cli",
        "crawl",
        "--full",
        "--quiet",
        "--start-url",
        start_url,
        "--archive",
        str(archive),
        *extra,
    ]


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
