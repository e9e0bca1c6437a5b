"""A real scrapyd (1.6) on loopback runs two shard jobs from the deployed egg.

The egg is built as ``make egg`` builds it, deployed through addversion.json,
two jobs (two replica sites: two hosts, one archive each) are scheduled
through schedule.json and waited for through listjobs.json; then both archives
are checked, merged, and searched across. Scrapyd runs from a temporary
directory of its own (eggs, logs, job database), bound to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from replica.server import ReplicaServer
from replica.site import ReplicaSite
from tests.helpers.cli import REPO, free_port, run_cli

pytestmark = pytest.mark.e2e

PROJECT = "uir-news"


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def _post(url: str, fields: dict[str, str], egg: Path | None = None) -> dict[str, Any]:
    """A multipart/form-data POST, as scrapyd-deploy sends one."""
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    if egg is not None:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="egg"; filename="{egg.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + egg.read_bytes()
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


@pytest.fixture
def scrapyd(tmp_path: Path) -> Iterator[str]:
    home = tmp_path / "scrapyd"
    home.mkdir()
    port = free_port()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        "bind_address = 127.0.0.1\n"
        f"http_port = {port}\n"
        f"eggs_dir = {home / 'eggs'}\n"
        f"logs_dir = {home / 'logs'}\n"
        f"dbs_dir = {home / 'dbs'}\n"
        "items_dir =\n"
        "max_proc = 2\n"
        "poll_interval = 0.2\n",
        "utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCRAPY", "UIR_NEWS"))}
    log = open(home / "scrapyd.out", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "scrapyd", "--pidfile="],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(f"{url}/daemonstatus.json")["status"] == "ok":
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "scrapyd did not start: " + (home / "scrapyd.out").read_text(errors="replace")
                )
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_two_shard_jobs_on_scrapyd_then_merged(scrapyd: str, tmp_path: Path) -> None:
    started = time.monotonic()
    egg = Path(
        subprocess.run(
            [sys.executable, str(REPO / "deploy" / "build_egg.py"), "--output", str(tmp_path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    added = _post(f"{scrapyd}/addversion.json", {"project": PROJECT, "version": "1"}, egg)
    assert added["status"] == "ok" and added["spiders"] == 1, added
    assert _get(f"{scrapyd}/listspiders.json?project={PROJECT}")["spiders"] == ["gxyw"]

    first = ReplicaServer(ReplicaSite(seed=11, n_articles=12, n_link_items=1))
    second = ReplicaServer(ReplicaSite(seed=12, n_articles=8, n_link_items=1, column_id=2044))
    with first, second:
        jobs: dict[str, Path] = {}
        for name, site in (("a", first), ("b", second)):
            archive = tmp_path / f"shard-{name}"
            scheduled = _post(
                f"{scrapyd}/schedule.json",
                {
                    "project": PROJECT,
                    "spider": "gxyw",
                    "start_url": site.start_url,
                    "archive": str(archive),
                    "setting": "UIR_NEWS_REQUISITES=False",
                },
            )
            assert scheduled["status"] == "ok", scheduled
            jobs[scheduled["jobid"]] = archive
        deadline = time.monotonic() + 90
        while True:
            listed = _get(f"{scrapyd}/listjobs.json?project={PROJECT}")
            finished = {job["id"] for job in listed["finished"]}
            if set(jobs) <= finished:
                break
            assert time.monotonic() < deadline, listed
            time.sleep(0.3)
        logs = {
            job: tmp_path / "scrapyd" / "logs" / PROJECT / "gxyw" / f"{job}.log" for job in jobs
        }
    new_versions = []
    for job, archive in jobs.items():
        runs = sorted((archive / "runs").glob("*.json"))
        assert len(runs) == 1, logs[job].read_text(errors="replace")[-3000:]
        summary = json.loads(runs[0].read_text("utf-8"))
        assert summary["exit_code"] == 0, summary
        new_versions.append(summary["articles"]["new_versions"])
        # One archive per job, its WARC file named by this job's process.
        (warc,) = (archive / "warc").glob("*.warc.gz")
        assert not list((archive / "warc").glob("*.open"))
        assert f"-{summary['pid']}-" in warc.name
    assert new_versions == [12, 8]

    out = tmp_path / "merged"
    merged = run_cli("merge", *jobs.values(), "--archive", out)
    assert "catalog: 20 articles, 20 versions" in merged.stdout, merged.stdout
    found = json.loads(run_cli("search", "四强", "--archive", out, "--json").stdout)
    assert found["total"] == 2  # the seed article of each site, once each
    assert {urllib.parse.urlsplit(hit["url"]).netloc for hit in found["results"]} == {
        urllib.parse.urlsplit(first.base_url).netloc,
        urllib.parse.urlsplit(second.base_url).netloc,
    }
    assert time.monotonic() - started < 60
