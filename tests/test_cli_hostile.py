"""The command line against hostile input: bad start URLs, closed standard streams."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import REPO, run_in_process
from tests.helpers.synthetic_archive import Built


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "--start-url: not an absolute http(s) URL: 'file:///etc/passwd'"),
        ("ftp://a.example/x.htm", "--start-url: not an absolute http(s) URL: 'ftp://"),
        # These two reached the spider and ended in a traceback and exit 70.
        ("http://127.0.0.1:99999/ggyw.htm", "--start-url: bad port in URL"),
        ("http://[::1/ggyw.htm", "--start-url: not a URL: 'http://[::1/ggyw.htm'"),
    ],
)
def test_a_bad_start_url_is_one_line_and_exit_2(
    url: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_in_process("crawl", "--start-url", url, "--archive", str(tmp_path / "a")) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"uir-news: {message}") and err.count("\n") == 1
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("url", ["http://[::1/", "javascript:alert(1)"])
def test_probe_refuses_a_bad_url_in_one_line(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_in_process("probe", url) == 2
    assert "probe needs an absolute http(s) URL" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--recheck-budget", "-1"), ("--recent-days", "-3"), ("--recheck-hours", "nan")],
)
def test_a_negative_crawl_number_names_its_option(
    option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_in_process("crawl", option, value, "--archive", str(tmp_path)) == 2
    assert (
        capsys.readouterr().err == f"uir-news: {option} must be a number, 0 or more, not {value}\n"
    )


def _with_stdout_closed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        cwd=REPO,
        capture_output=False,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.close(1),  # as `uir-news ... >&-` in a shell
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    "command",
    [["status"], ["search", "党建"], ["export", "--format", "csv", "-o", "-"], ["changes"]],
)
def test_a_closed_stdout_is_no_internal_error(command: list[str], built_root: Path) -> None:
    # search and export failed with exit 70 (sys.stdout is None when fd 1 is closed).
    result = _with_stdout_closed(*command, "--archive", str(built_root))
    assert result.returncode in (0, 1), result.stderr  # search: 1 when nothing matches
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def built_root(built: Built) -> Path:
    return built.layout.root
