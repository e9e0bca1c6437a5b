"""Issue 5 acceptance on the replica's archive: search, filters and exports, end to end."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from replica.site import ReplicaSite
from tests.helpers.cli import REPO, Crawled, run_cli

pytestmark = pytest.mark.e2e


def _search(crawled: Crawled, *args: str) -> set[str]:
    result = run_cli(
        "search", *args, "--archive", crawled.archive, "--json", "--limit", "0", check=False
    )
    assert result.returncode in (0, 1), result.stderr  # 1: nothing found
    return {hit["url"] for hit in json.loads(result.stdout)["results"]}


def _expected(crawled: Crawled, term: str) -> set[str]:
    site: ReplicaSite = crawled.server.site
    return {crawled.server.base_url + a.path for a in site.articles_matching(term)}


@pytest.mark.parametrize("term", ["党建", "校长", "国际关系", "BRICS", "人才培养", "终审"])
def test_word_search_returns_exactly_the_articles_containing_it(
    crawled: Crawled, term: str
) -> None:
    expected = _expected(crawled, term)
    assert _search(crawled, term) == expected


def test_phrase_and_boolean_queries_match_a_direct_scan(crawled: Crawled) -> None:
    site = crawled.server.site
    base = crawled.server.base_url
    both = {
        base + a.path
        for a in site.articles
        if all(t in a.title + a.body_text for t in ("党建", "学院"))
    }
    assert _search(crawled, "党建 学院") == both
    either = _expected(crawled, "党建") | _expected(crawled, "校长")
    assert _search(crawled, "党建 OR 校长") == either
    phrase = "主题党日活动"
    assert _search(crawled, f'"{phrase}"') == _expected(crawled, phrase)


def test_reviewer_filter_matches_a_direct_scan(crawled: Crawled) -> None:
    site = crawled.server.site
    base = crawled.server.base_url
    name = "陈斌"
    any_role = {
        base + a.path for a in site.articles if any(name in names for names in a.reviewers.values())
    }
    final = {base + a.path for a in site.articles if name in a.reviewers.get("final_reviewer", ())}
    assert any_role and final
    assert _exported_urls(crawled, "--reviewer", name) == any_role
    role = _exported_urls(crawled, "--reviewer", name, "--role", "final_reviewer")
    assert role == final
    # A filter combined with a search: the intersection.
    assert _search(crawled, "学院", "--reviewer", name) == any_role & _expected(crawled, "学院")


def _exported_urls(crawled: Crawled, *filters: str) -> set[str]:
    result = run_cli("export", "--archive", crawled.archive, "--format", "jsonl", *filters)
    return {json.loads(line)["url"] for line in result.stdout.splitlines()}


def test_csv_export_reads_back_intact(crawled: Crawled, tmp_path: Path) -> None:
    out = tmp_path / "articles.csv"
    run_cli("export", "--archive", crawled.archive, "--format", "csv", "-o", out)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    site = crawled.server.site
    assert len(rows) == len(site.articles)
    by_url = {row["url"]: row for row in rows}
    seed = site.seed_article
    row = by_url[crawled.server.base_url + seed.path]
    assert row["title"].startswith("强基固本")
    assert row["body_text"] == seed.body_text  # newlines and commas intact
    assert "、".join(seed.reviewers["first_proofreader"]) in row.values()


def test_unquoted_minus_term_negates_on_the_command_line(crawled: Crawled) -> None:
    with_not = _search(crawled, "学院", "NOT", "招生")
    assert with_not, "the replica should have 学院 articles without 招生"
    assert _search(crawled, "学院", "-招生") == with_not
    assert _search(crawled, "学院 -招生") == with_not
    assert _search(crawled, "学院") - with_not == _search(crawled, "学院", "招生")


@pytest.mark.parametrize(
    ("command", "statuses"),
    [
        (["search", "学院", "--limit", "0"], {141}),
        (["export", "--format", "jsonl", "-o", "-"], {141}),
        (["export", "--format", "csv"], {141}),
        # Short enough to fit the pipe's buffer: it may finish before the reader leaves.
        (["stats"], {0, 141}),
    ],
)
def test_a_reader_that_stops_early_is_not_an_error(
    crawled: Crawled, command: list[str], statuses: set[int]
) -> None:
    """`uir-news ... | head -1`: no traceback, the SIGPIPE exit status, the archive untouched."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", *command, "--archive", str(crawled.archive)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # one line, then the reader goes away
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) in statuses, stderr
    assert "Traceback" not in stderr
    assert "BrokenPipeError" not in stderr


def test_no_match_says_whether_the_filters_or_the_credits_are_why(crawled: Crawled) -> None:
    site: ReplicaSite = crawled.server.site
    names = {n for a in site.articles for ns in a.reviewers.values() for n in ns}
    name = next(n for n in sorted(names) if not site.articles_matching(n))
    by_name = run_cli("search", name, "--archive", crawled.archive, check=False)
    assert by_name.returncode == 1
    assert f"{name} is a name in the credits" in by_name.stderr
    assert f"--reviewer {name}" in by_name.stderr
    filtered = run_cli(
        "search", "学院", "--reviewer", name[:1], "--archive", crawled.archive, check=False
    )
    assert filtered.returncode == 1
    assert f"with --reviewer {name[:1]}: the query alone finds articles" in filtered.stderr


def test_json_gives_the_count_shown_and_the_true_total(crawled: Crawled) -> None:
    everything = _search(crawled, "学院")
    result = run_cli("search", "学院", "--archive", crawled.archive, "--json", "--limit", "5")
    data = json.loads(result.stdout)
    assert data["count"] == len(data["results"]) == 5
    assert data["total"] == len(everything) > 5
