"""`uir-news crawl` and `demo` as an operator meets them: cron mail, usage errors, re-runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.cli.main import format_quiet
from crawler.exit_codes import ExitCode
from crawler.failures import Problem
from crawler.summary import RunSummary
from replica.server import ReplicaServer
from tests.helpers.cli import free_port, run_cli

pytestmark = pytest.mark.e2e


def test_quiet_unreachable_start_page_mails_two_lines_and_exits_5(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/ggyw.htm"
    result = run_cli("crawl", "--quiet", "--start-url", url, "--archive", tmp_path, check=False)
    assert result.returncode == ExitCode.FAILED
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("uir-news crawl: FAILED (exit 5), 1 failures; details in ")
    assert lines[1:] == [f"  unreachable: 1 (e.g. {url})"]


def test_start_page_answering_404_is_a_failed_run(replica: ReplicaServer, tmp_path: Path) -> None:
    url = replica.base_url + "/no-such-column.htm"
    result = run_cli("crawl", "--start-url", url, "--archive", tmp_path, check=False)
    assert result.returncode == ExitCode.FAILED, result.stdout
    assert "FAILED (exit 5)" in result.stdout
    assert "Traceback" not in result.stderr and "WARNING" not in result.stderr


def test_unknown_option_shows_the_commands_own_usage() -> None:
    result = run_cli("crawl", "--bogus", check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: uir-news crawl ")
    assert "unrecognized arguments: --bogus" in result.stderr


def test_demo_twice_into_one_archive_finds_nothing_new_the_second_time(tmp_path: Path) -> None:
    port = str(free_port())
    first = run_cli("demo", "--archive", tmp_path, "--port", port)
    assert "230 new versions" in first.stdout
    second = run_cli("demo", "--archive", tmp_path, "--port", port)
    assert "0 new versions" in second.stdout
    assert "articles 230 " in run_cli("status", "--archive", tmp_path).stdout


def test_quiet_summary_is_one_line_per_kind_of_failure() -> None:
    summary = RunSummary(
        run_id="R",
        start_url="http://h/ggyw.htm",
        archive="/srv/a",
        started_at="",
        finished_at="",
        exit_code=ExitCode.PARTIAL,
        failures=3,
        problems=[
            Problem("http://h/1.htm", "timeout"),
            Problem("http://h/2.htm", "http_404"),
            Problem("http://h/3.htm", "timeout"),
            Problem("http://h/4.htm", "robots_disallowed"),  # nothing lost: not mailed
        ],
    )
    assert format_quiet(summary).splitlines() == [
        "uir-news crawl: PARTIAL (exit 1), 3 failures; details in /srv/a/runs/R.json",
        "  timeout: 2 (e.g. http://h/1.htm)",
        "  http_404: 1 (e.g. http://h/2.htm)",
    ]
