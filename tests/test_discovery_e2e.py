"""Finding the column by its name on the replica's home page, over real HTTP (issue #15)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from replica.server import ReplicaServer
from replica.site import ReplicaSite
from tests.helpers.cli import CliResult, run_cli

pytestmark = pytest.mark.e2e


def _crawl(server: ReplicaServer, archive: Path, *extra: str, check: bool = True) -> CliResult:
    return run_cli(
        "crawl", "--start-url", server.home_url, "--column", "国关要闻",
        "--archive", archive, *extra, check=check,
    )  # fmt: skip


def _archived_urls(archive: Path) -> set[str]:
    urls = set()
    for path in (archive / "records").rglob("*.json"):
        urls.add(json.loads(path.read_text("utf-8"))["url"])
    return urls


@pytest.fixture
def folder_site() -> Iterator[ReplicaServer]:
    with ReplicaServer(ReplicaSite(n_articles=40, column_path="/xwzx/ggyw.htm")) as server:
        yield server


def test_discovery_remembering_and_a_move(folder_site: ReplicaServer, tmp_path: Path) -> None:
    server, site, archive = folder_site, folder_site.site, tmp_path / "archive"
    base = server.base_url

    # 1. Found from the home page, at a path that is not /ggyw.htm.
    first = _crawl(server, archive)
    summary = first.last_summary(archive)
    assert summary["exit_code"] == 0
    assert summary["column"]["url"] == base + "/xwzx/ggyw.htm"
    assert "navigation link 国关要闻" in summary["column"]["found_by"]
    assert summary["column"]["moved_from"] is None
    assert "column          国关要闻 at " + base + "/xwzx/ggyw.htm" in first.stdout
    # Every article of the column, nothing of the sibling columns.
    assert _archived_urls(archive) == {base + a.path for a in site.articles}
    paths = {r.path for r in server.requests}
    assert not paths & {a.path for a in site.sibling_articles}
    assert not paths & {"/tzgg.htm", "/mtgg.htm", "/ggyw.htm"}

    # 2. Nothing new: straight to the remembered URL, at most 3 requests, no home page.
    server.reset_log()
    second = _crawl(server, archive)
    asked = [r.path for r in server.requests]
    assert len(asked) <= 3 and "/" not in asked, asked
    summary = second.last_summary(archive)
    assert summary["column"]["found_by"] == "remembered from an earlier run"
    assert summary["exit_code"] == 0 and second.stderr == ""

    # 3. The column moves (old place 404): found again, followed, reported, exit 0.
    site.move_column("/index/ggyw.htm")
    new = site.publish(2)
    server.reset_log()
    third = _crawl(server, archive)
    summary = third.last_summary(archive)
    assert summary["exit_code"] == 0
    assert summary["column"]["url"] == base + "/index/ggyw.htm"
    assert summary["column"]["moved_from"] == base + "/xwzx/ggyw.htm"
    assert "answered 404" in summary["column"]["found_by"]
    assert "warning: column 国关要闻 moved from" in third.stderr
    assert "COLUMN MOVED" in third.stdout
    assert {base + a.path for a in new} <= _archived_urls(archive)
    assert [r.path for r in server.requests][:3] == ["/robots.txt", "/xwzx/ggyw.htm", "/"]

    # 4. ...and the next run goes straight to the new place.
    server.reset_log()
    _crawl(server, archive)
    asked = [r.path for r in server.requests]
    assert len(asked) <= 3 and "/index/ggyw.htm" in asked and "/" not in asked


def test_a_redirect_of_the_remembered_url_is_a_move(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    with ReplicaServer(ReplicaSite(n_articles=20)) as server:
        _crawl(server, archive)
        server.site.move_column("/xwzx/ggyw.htm", redirect=True)
        result = _crawl(server, archive)
        column = result.last_summary(archive)["column"]
        assert column["url"] == server.base_url + "/xwzx/ggyw.htm"
        assert column["moved_from"] == server.base_url + "/ggyw.htm"
        assert "answered 301" in column["found_by"] and result.returncode == 0


def test_no_link_to_the_column_exits_5_naming_the_links(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    with ReplicaServer(ReplicaSite(n_articles=20)) as server:
        result = run_cli(
            "crawl", "--start-url", server.home_url, "--column", "校园风采",
            "--archive", archive, check=False,
        )  # fmt: skip
    assert result.returncode == 5
    message = next(line for line in result.stderr.splitlines() if "not found" in line)
    assert message.startswith("uir-news: column 校园风采 not found:")
    assert "国关要闻" in message and "通知公告" in message  # the links it saw
    assert "/ggyw.htm (a listing of 国关要闻" in message  # the usual path, rejected
    assert not list((archive / "records").rglob("*.json"))
    assert result.last_summary(archive)["column"]["url"] is None
