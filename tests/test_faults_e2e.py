"""Issue 6: a crawl of the replica's fault mode archives what can be archived,
reports the rest with a reason, leaves a clean archive, and the next run
picks up what failed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from archive.storage.layout import ArchiveLayout
from archive.storage.verify import verify
from replica.faults import ARCHIVED, FaultPlan
from replica.server import ReplicaServer
from replica.site import ReplicaSite
from tests.helpers.cli import crawl

pytestmark = pytest.mark.e2e


def _archived_paths(archive: Path) -> set[str]:
    conn = sqlite3.connect(archive / "catalog.sqlite")
    try:
        return {urlsplit(url).path for (url,) in conn.execute("SELECT url FROM articles")}
    finally:
        conn.close()


def _check_run(
    archive: Path, site: ReplicaSite, plan: FaultPlan, run: int, summary: dict[str, Any]
) -> None:
    expected = plan.expected_outcomes(site, run=run)
    archived = _archived_paths(archive)
    reported: dict[str, set[str]] = {}
    for problem in summary["problems"]:
        reported.setdefault(urlsplit(problem["url"]).path, set()).add(problem["reason"])
    for path, outcome in expected.items():
        real_path = path.removeprefix("/private")
        if outcome == ARCHIVED:
            assert real_path in archived, f"run {run}: {path} should be archived"
        elif outcome.startswith("skipped:"):
            # Lost for good in an earlier run: not asked for, not reported again.
            assert real_path not in archived and path not in reported, path
            assert summary["articles"]["permanent_failures_skipped"] >= 1
        else:
            reason = outcome.split(":", 1)[1]
            assert real_path not in archived or path != real_path, path
            assert reason in reported.get(path, set()), (
                f"run {run}: {path} should be reported as {reason}, got {reported.get(path)}"
            )
    untouched = {a.path for a in site.articles} - {p.removeprefix("/private") for p in expected}
    assert untouched <= archived, "an article without a fault was not archived"
    report = verify(ArchiveLayout(archive))
    assert report.ok, report.one_line()


CONTENT_FAULTS = {"gbk_as_utf8", "utf8_as_gbk", "no_charset", "no_charset_gbk", "malformed"}
FIELDS = ("title", "published_at", "body_text", "reviewers", "credits", "prev_url", "next_url")


def _check_content_faults(archive: Path, site: ReplicaSite, plan: FaultPlan, base: str) -> None:
    """Wrong charsets and broken markup still give every field right."""
    conn = sqlite3.connect(archive / "catalog.sqlite")
    try:
        records = {
            urlsplit(url).path: json.loads(text)
            for url, text in conn.execute(
                "SELECT a.url, v.record_json FROM articles a "
                "JOIN versions v ON v.id = a.current_version_id"
            )
        }
    finally:
        conn.close()
    faults = [f for f in plan.plan(site) if f.kind in CONTENT_FAULTS]
    assert {f.kind for f in faults} == CONTENT_FAULTS
    for fault in faults:
        assert fault.news_id is not None
        expected = site.expected_record(site.article(fault.news_id), base)
        record = records[fault.path]
        wrong = [f for f in FIELDS if record[f] != expected[f]]
        assert not wrong, f"{fault.kind}: fields {wrong} differ"


def test_fault_mode_crawl_and_the_run_after(tmp_path: Path) -> None:
    plan = FaultPlan(seed=1, slow_delay=3.0)
    site = ReplicaSite(n_articles=60, faults=plan)
    archive = tmp_path / "archive"
    with ReplicaServer(site) as server:
        first = crawl(server, archive, "--timeout", "2", check=False)
        assert first.returncode == 1, first.stdout + first.stderr  # partial
        assert "Traceback" not in first.stderr
        summary = first.last_summary(archive)
        assert summary["failures"] > 0
        _check_run(archive, site, plan, 1, summary)
        _check_content_faults(archive, site, plan, server.base_url)
        # The 30 MB page was aborted at the size limit, not stored whole.
        assert summary["response_bytes"] < 25 * 1024 * 1024

        second = crawl(server, archive, "--timeout", "2", check=False)
        summary2 = second.last_summary(archive)
        _check_run(archive, site, plan, 2, summary2)
        outage = [f.path for f in plan.plan(site) if f.kind == "outage"]
        assert outage and all(p in _archived_paths(archive) for p in outage)
    # Nothing off the site's host was ever fetched: every request reached the replica.
    assert all(not r.path.startswith("http") for r in server.requests)
