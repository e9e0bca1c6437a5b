"""Issue #12's check: a VSB site in another template, archived whole from its start URLs alone.

The "campus" replica site differs from 国关要闻 in every way the VSB family
does: `tr` rows and `li` rows with dates in `span.news-data` or `i`, pagers
with no links at all (the page count only in 共N条 k/M and the goto script),
pages numbered up, columns in folders, table templates without the article
form, 初审/复审/终审 and 一审/二审/三审 labels, content.jsp-only articles, a
PDF-bodied article and a data: image. The crawler is given only the start
URLs; every record must match the replica's independent ground truth.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from replica.server import ReplicaServer, running_replica
from tests.helpers.cli import run_cli

pytestmark = pytest.mark.e2e

FIELDS = (
    "url", "site", "title", "published_at", "body_text", "reviewers", "credits", "role_labels",
    "images", "attachments", "body_pdf", "column", "column_id", "news_id", "prev_url", "next_url",
)  # fmt: skip


@pytest.fixture(scope="module")
def campus() -> Iterator[ReplicaServer]:
    with running_replica(theme="campus", n_articles=60) as server:
        yield server


def _current_records(archive: Path) -> dict[str, dict[str, Any]]:
    with closing(sqlite3.connect(archive / "catalog.sqlite")) as conn:
        rows = conn.execute(
            "SELECT a.url, v.record_json FROM articles a "
            "JOIN versions v ON v.id = a.current_version_id"
        ).fetchall()
    return {str(url): json.loads(text) for url, text in rows}


def test_a_site_in_another_template_is_archived_completely_from_its_start_urls(
    campus: ReplicaServer, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    site = campus.site
    starts = [campus.url(path) for path in site.start_paths]
    args = [arg for url in starts for arg in ("--start-url", url)]
    result = run_cli("crawl", *args, "--archive", archive)
    summary = result.last_summary(archive)
    assert summary["exit_code"] == 0, summary["problems"]

    expected = {record["url"]: record for record in site.expected_records(campus.base_url)}
    got = _current_records(archive)
    # Every article of every column, each once (content.jsp items under their /info/ URL).
    assert set(got) == set(expected)
    wrong = [
        (url, field, got[url][field], want[field])
        for url, want in expected.items()
        for field in FIELDS
        if got[url][field] != want[field]
    ]
    assert not wrong, f"{len(wrong)} wrong fields, e.g. {wrong[:3]}"

    # Dynamic-only articles were fetched at content.jsp; the PDF body is in the WARC.
    with closing(sqlite3.connect(archive / "catalog.sqlite")) as conn:
        captured = {
            str(url): int(status)
            for url, status in conn.execute("SELECT url, status FROM captures")
        }
    assert any("content.jsp" in url and status == 200 for url, status in captured.items())
    pdfs = {r["body_pdf"] for r in expected.values() if r["body_pdf"]}
    assert pdfs and all(captured.get(pdf) == 200 for pdf in pdfs)

    # Pages counting up and pagers without links were all walked: a second run finds nothing.
    campus.reset_log()
    again = run_cli("crawl", *args, "--archive", archive).last_summary(archive)
    assert again["articles"]["new_versions"] == 0

    # Search and export by column.
    for column in site.columns:
        exported = run_cli(
            "export", "--archive", archive, "--column", column.name, "--columns", "url"
        )
        assert len(exported.stdout.splitlines()) == len(column.articles), column.name


def test_issue_14_check_on_a_site_in_another_template(tmp_path: Path) -> None:
    """Issue #14's check on the campus site: two edits, two take-downs, then their return."""
    archive = tmp_path / "archive"
    with running_replica(theme="campus", n_articles=40) as server:
        site = server.site
        start = server.url(site.start_paths[0])  # 学校要闻, in a folder, pager without links

        def crawl_full() -> dict[str, Any]:
            result = run_cli("crawl", "--start-url", start, "--archive", archive, "--full")
            return result.last_summary(archive)

        def changes(*extra: str) -> list[dict[str, Any]]:
            out = run_cli("changes", "--archive", archive, "--json", "--limit", "0", *extra)
            loaded: list[dict[str, Any]] = json.loads(out.stdout)
            return loaded

        first = crawl_full()
        assert first["exit_code"] == 0 and first["events"] == {"new": len(site.articles)}
        older = site.articles[10:]
        edited, removed = [older[0], older[9]], [older[4], older[17]]
        for article in edited:
            site.edit(article.news_id)
        for article in removed:
            site.take_down(article.news_id)
        since = changes()[0]["seen_at"]
        second = crawl_full()
        assert second["exit_code"] == 0, second["problems"]  # a take-down is not a failure
        seen = sorted(
            (e["kind"], e["url"]) for e in changes("--since", since) if e["kind"] != "new"
        )
        assert seen == sorted(
            [("edited", server.base_url + a.path) for a in edited]
            + [("removed", server.base_url + a.path) for a in removed]
        )
        for article in removed:
            site.restore(article.news_id)
        assert crawl_full()["events"] == {"restored": 2}
        # Filtered by column: all of them are 学校要闻's, none another column's.
        assert len(changes("--column", "学校要闻", "--kind", "restored")) == 2
        other = run_cli("changes", "--archive", archive, "--column", "通知公告", check=False)
        assert (other.returncode, other.stdout) == (2, "")
        assert "its columns: 学校要闻)" in other.stderr  # not crawled here: said so
        exported = run_cli("export", "--archive", archive, "--columns", "url,status")
        assert len(exported.stdout.splitlines()) == len(site.articles)
