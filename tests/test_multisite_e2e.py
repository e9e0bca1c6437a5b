"""Many columns and many sites in one crawl, over real HTTP (issue #12 items 1, 3, 5)."""

from __future__ import annotations

import itertools
import json
import sqlite3
import subprocess
import sys
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from replica.server import LoggedRequest, ReplicaServer
from replica.site import ReplicaSite
from tests.helpers.cli import REPO, run_cli

pytestmark = pytest.mark.e2e


def _records(archive: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text("utf-8")) for p in (archive / "records").rglob("*.json")]


def _meta(archive: Path) -> dict[str, str]:
    conn = sqlite3.connect(archive / "catalog.sqlite")
    try:
        return {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM meta")}
    finally:
        conn.close()


@pytest.fixture
def site_a() -> Iterator[ReplicaServer]:
    with ReplicaServer(ReplicaSite(n_articles=20)) as server:
        yield server


@pytest.fixture
def site_b() -> Iterator[ReplicaServer]:
    # Another site in another list markup, its column in a folder, with other ids.
    site = ReplicaSite(
        seed=7, n_articles=12, listing_layout="table", column_id=2041, column_path="/xwzx/xxyw.htm"
    )
    with ReplicaServer(site) as server:
        yield server


def test_two_columns_of_one_site_from_two_start_urls(site_a: ReplicaServer, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    tzgg = site_a.url("/tzgg.htm")
    first = run_cli(
        "crawl", "--start-url", site_a.start_url, "--start-url", tzgg, "--archive", archive
    )
    summary = first.last_summary(archive)
    assert summary["exit_code"] == 0
    site = f"127.0.0.1:{site_a.port}"
    by_column = Counter((r["site"], r["column"], r["column_id"]) for r in _records(archive))
    notices = _column_size(site_a, "通知公告")  # its articles, dynamic-only ones included
    assert by_column[(site, "国关要闻", 1031)] == len(site_a.site.articles)
    assert by_column[(site, "通知公告", 1032)] == notices
    assert set(by_column) == {(site, "国关要闻", 1031), (site, "通知公告", 1032)}
    # Each column walked whole, remembered by its own key.
    columns = {c["key"]: c for c in summary["columns"]}
    assert set(columns) == {f"{site} 1031", f"{site} 1032"}
    assert all(c["walk"] == "full" for c in columns.values())
    assert columns[f"{site} 1032"]["records"] == notices
    meta = _meta(archive)
    assert meta[f"walk_complete {site} 1031"] == meta[f"walk_complete {site} 1032"] == "1"

    # A second run is incremental in both columns and finds nothing new.
    site_a.reset_log()
    second = run_cli(
        "crawl", "--start-url", site_a.start_url, "--start-url", tzgg, "--archive", archive
    ).last_summary(archive)
    assert second["walk"] == "incremental" and second["articles"]["new_versions"] == 0
    assert {c["walk"] for c in second["columns"]} == {"incremental"}
    pages = [r.path for r in site_a.requests if r.path.endswith(".htm")]
    assert "/tzgg.htm" in pages and "/ggyw.htm" in pages
    assert not any("/info/" in p for p in pages)

    # Search and export filter by column and by site.
    found = json.loads(
        run_cli("search", "的", "--archive", archive, "--column", "通知公告", "--json").stdout
    )
    assert 0 < found["total"] <= notices  # a PDF-bodied notice has no text to find
    assert {hit["url"].split("/info/")[1].split("/")[0] for hit in found["results"]} == {"1032"}
    exported = run_cli("export", "--archive", archive, "--column", "国关要闻", "--columns", "url")
    assert len(exported.stdout.splitlines()) == len(site_a.site.articles)
    elsewhere = run_cli("export", "--archive", archive, "--site", "other.example", check=False)
    assert (elsewhere.returncode, elsewhere.stdout) == (2, "")
    assert "--site other.example: no article of the archive is on it" in elsewhere.stderr
    stats = json.loads(run_cli("stats", "--archive", archive, "--json").stdout)
    assert {(c["column"], c["articles"]) for c in stats["per_column"]} == {
        ("国关要闻", len(site_a.site.articles)),
        ("通知公告", notices),
    }
    wacz = tmp_path / "notices.wacz"
    run_cli("export", "--archive", archive, "--column", "通知公告", "-o", wacz)
    with zipfile.ZipFile(wacz) as package:
        lines = package.read("pages/pages.jsonl").decode("utf-8").splitlines()
    assert len(lines) == 1 + notices  # the header, then one page per article


def _column_size(server: ReplicaServer, name: str) -> int:
    """How many articles the replica's column ``name`` lists (its ground truth)."""
    return next(len(c.articles) for c in server.site.columns if c.name == name)


def test_many_sites_from_one_config(
    site_a: ReplicaServer, site_b: ReplicaServer, tmp_path: Path
) -> None:
    archive, config = tmp_path / "archive", tmp_path / "sites.toml"
    config.write_text(
        f"""
[[sites]]
url = "{site_a.base_url}/"
  [[sites.columns]]
  url = "ggyw.htm"
  name = "要闻"
  [[sites.columns]]
  name = "媒体国关"

[[sites]]
url = "{site_b.base_url}/"
concurrency = 1
delay = 0.0
autothrottle = false
  [[sites.columns]]
  url = "xwzx/xxyw.htm"
  id = 77
""",
        "utf-8",
    )
    result = run_cli("crawl", "--config", config, "--archive", archive)
    summary = result.last_summary(archive)
    assert summary["exit_code"] == 0, summary["problems"]
    a, b = f"127.0.0.1:{site_a.port}", f"127.0.0.1:{site_b.port}"
    by_column = Counter((r["site"], r["column"], r["column_id"]) for r in _records(archive))
    # The config's name and id win; what it does not name is read from the pages.
    assert by_column == {
        (a, "要闻", 1031): len(site_a.site.articles),
        (a, "媒体国关", 1033): _column_size(site_a, "媒体国关"),
        (b, "国关要闻", 77): len(site_b.site.articles),
    }
    assert {c["key"] for c in summary["columns"]} == {f"{a} 1031", f"{a} 1033", f"{b} 77"}
    # The column found by name is remembered for the next run, as with --column.
    assert any(k.startswith("column_url ") and "媒体国关" in k for k in _meta(archive))
    found = json.loads(run_cli("search", "的", "--archive", archive, "--site", b, "--json").stdout)
    assert found["total"] == len(site_b.site.articles)


def test_a_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "sites.toml"
    config.write_text('[[sites]]\nurl = "http://127.0.0.1:1/"\n[[sites.columns]]\nid = 4\n')
    result = run_cli("crawl", "--config", config, "--archive", tmp_path / "a", check=False)
    assert result.returncode == 2
    assert "sites[0].columns[0]: a column needs a url" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "a").exists()
    # The same through Scrapy's own command.
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "gxyw", "-a", f"config={config}"],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "a column needs a url" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_each_site_is_asked_one_request_at_a_time_and_sites_side_by_side(tmp_path: Path) -> None:
    """Per-site politeness on one host: each port its own slot, one request at a time."""
    arrivals: list[tuple[float, int]] = []

    class Timed(ReplicaServer):
        def log(self, entry: LoggedRequest) -> None:
            # When it came in, not when it was logged (after its page was made,
            # which a loaded machine can slow by more than the latency).
            arrivals.append((entry.received_at, self.port))
            super().log(entry)

    latency = 0.1
    sites = [Timed(ReplicaSite(seed=100 + i, n_articles=8), latency=latency) for i in range(2)]
    with sites[0], sites[1]:
        config = tmp_path / "sites.toml"
        config.write_text(
            "".join(
                f'[[sites]]\nurl = "{s.base_url}/"\nconcurrency = 1\ndelay = 0\n'
                'autothrottle = false\n[[sites.columns]]\nurl = "ggyw.htm"\n'
                for s in sites
            ),
            "utf-8",
        )
        run_cli("crawl", "--config", config, "--archive", tmp_path / "a", "--no-requisites")
    arrivals.sort()
    for server in sites:
        times = [t for t, port in arrivals if port == server.port]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        # One at a time: the next request comes after the last answer (latency).
        assert min(gaps) >= latency * 0.9, gaps
    # Side by side: the two sites' requests interleave.
    ports = [port for _, port in arrivals]
    changes = sum(1 for a, b in itertools.pairwise(ports) if a != b)
    assert changes > 4
