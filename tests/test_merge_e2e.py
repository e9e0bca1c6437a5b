"""`uir-news merge`: shard archives of real crawls into one, nothing counted twice.

Two replica sites on loopback are crawled into two shards, one of which also
crawls the first site again (the same articles archived by two shards); the
merged archive must hold each article once, each version once, and search
and export must see both sites. Merging again after a new crawl copies only
what is new, and a file that differs under one name stops the merge before
anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive.storage import catalog
from archive.storage.layout import ArchiveLayout
from replica.server import ReplicaServer
from replica.site import ReplicaSite
from tests.helpers.cli import crawl, run_cli
from tests.helpers.warc import warcio_check

pytestmark = pytest.mark.e2e


@dataclass
class Shards:
    first_site: ReplicaServer
    second_site: ReplicaServer
    a: Path
    b: Path


@pytest.fixture
def shards(tmp_path: Path) -> Iterator[Shards]:
    first = ReplicaServer(ReplicaSite(seed=1, n_articles=12, n_link_items=1))
    second = ReplicaServer(ReplicaSite(seed=2, n_articles=9, n_link_items=1, column_id=2044))
    with first, second:
        a, b = tmp_path / "shard-a", tmp_path / "shard-b"
        crawl(first, a, "--no-requisites")
        crawl(second, b, "--no-requisites")
        crawl(first, b, "--no-requisites")  # the first site's articles, in both shards
        yield Shards(first, second, a, b)


def _counts(archive: Path) -> tuple[int, int, int]:
    conn = catalog.connect(ArchiveLayout(archive).catalog_path, readonly=True)
    try:
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        urls = conn.execute("SELECT count(DISTINCT url) FROM articles").fetchone()[0]
        versions = conn.execute("SELECT count(*) FROM versions").fetchone()[0]
    finally:
        conn.close()
    return int(articles), int(urls), int(versions)


def _search_total(archive: Path, query: str) -> int:
    found = json.loads(run_cli("search", query, "--archive", archive, "--json").stdout)
    return int(found["total"])


def test_merge_counts_each_article_and_version_once(shards: Shards, tmp_path: Path) -> None:
    out = tmp_path / "merged"
    result = run_cli("merge", shards.a, shards.b, "--archive", out)
    assert "catalog: 21 articles, 21 versions" in result.stdout, result.stdout
    assert _counts(out) == (21, 21, 21)
    conn = catalog.connect(ArchiveLayout(out).catalog_path, readonly=True)
    try:
        sites = {str(site) for (site,) in conn.execute("SELECT DISTINCT site FROM articles")}
    finally:
        conn.close()
    assert sites == {urlsplit(s.home_url).netloc for s in (shards.first_site, shards.second_site)}
    # Every WARC file of both shards is there, readable, under its own name.
    names = {p.name for p in (out / "warc").glob("*.warc.gz")}
    shard_names = {p.name for s in (shards.a, shards.b) for p in (s / "warc").glob("*.warc.gz")}
    # (shard B's second run appended to its first, small, file: one file per shard)
    assert names == shard_names and len(names) == 2
    assert warcio_check(*sorted((out / "warc").glob("*.warc.gz"))).returncode == 0
    # Search and export see both sites, each article once.
    seed_title_word = "四强"
    assert _search_total(out, seed_title_word) == 2  # each site has its seed article once
    exported = tmp_path / "all.jsonl"
    run_cli("export", "--archive", out, "-o", exported)
    urls = [json.loads(line)["url"] for line in exported.read_text("utf-8").splitlines()]
    assert len(urls) == len(set(urls)) == 21
    # A merged archive verifies clean, and replays from its copied WARCs.
    run_cli("verify", "--archive", out)


def test_merge_again_adds_only_what_is_new(shards: Shards, tmp_path: Path) -> None:
    out = tmp_path / "merged"
    run_cli("merge", shards.a, shards.b, "--archive", out)
    again = run_cli("merge", shards.a, shards.b, "--archive", out)
    assert "nothing new; the catalog is unchanged" in again.stdout
    # The first site edits an article and publishes one; shard A's next run appends
    # to its newest small WARC file, which the merge takes as an extension.
    shards.first_site.site.edit(shards.first_site.site.articles[0].news_id)
    shards.first_site.site.publish(1)
    recheck_all = ("--recent-days", "36500", "--recheck-hours", "0")
    crawl(shards.first_site, shards.a, "--no-requisites", *recheck_all)
    third = run_cli("merge", shards.a, shards.b, "--archive", out)
    assert "1 extended" in third.stdout or "1 copied" in third.stdout, third.stdout
    assert _counts(out) == (22, 22, 23)  # one new article, one new version of an old one


def test_merge_refuses_to_overwrite_a_different_file(shards: Shards, tmp_path: Path) -> None:
    out = tmp_path / "merged"
    run_cli("merge", shards.a, "--archive", out)

    def files() -> list[str]:
        return sorted(p.name for p in out.rglob("*") if p.is_file() and p.name != "uir-news.lock")

    victim = sorted((shards.b / "warc").glob("*.warc.gz"))[0]
    clash = out / "warc" / victim.name
    clash.write_bytes(b"not the same bytes")
    before = files()
    result = run_cli("merge", shards.b, "--archive", out, check=False)
    assert result.returncode == 2
    assert "refusing to overwrite" in result.stderr and victim.name in result.stderr
    assert "Traceback" not in result.stderr
    assert clash.read_bytes() == b"not the same bytes"
    assert files() == before


def test_merge_refuses_bad_targets(shards: Shards, tmp_path: Path) -> None:
    same = run_cli("merge", shards.a, "--archive", shards.a, check=False)
    assert same.returncode == 2 and "the merged archive itself" in same.stderr
    stranger = tmp_path / "notes"
    stranger.mkdir()
    (stranger / "todo.txt").write_text("mine", "utf-8")
    refused = run_cli("merge", shards.a, "--archive", stranger, check=False)
    assert refused.returncode == 2 and "holds files but no archive" in refused.stderr
    missing = run_cli("merge", tmp_path / "nowhere", "--archive", tmp_path / "m", check=False)
    assert missing.returncode == 2 and "no archive at" in missing.stderr
