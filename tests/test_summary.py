"""The run summary: its JSON keys, reading old summaries back, and the exit-code table."""

from __future__ import annotations

import json
import re

import pytest

from crawler.failures import Problem
from crawler.summary import ColumnFound, ExitCode, RunSummary, exit_code_for
from tests.helpers.cli import REPO

# The keys every run summary has had (runs/*.json, the catalog's runs table).
KEYS = {
    "run_id", "start_url", "archive", "started_at", "finished_at", "duration_s", "cpu_s",
    "archiver_cpu_s", "peak_rss_mb", "parsed_in_crawl_process", "finish_reason", "walk",
    "requests", "responses", "response_bytes", "listing_pages", "articles", "warc",
    "field_fill", "alarms", "problem_counts", "problems", "failures", "external_items",
    "recovery", "archiver_error", "pid", "exit_code", "column", "damage", "requisites",
    "events",
    "columns",
}  # fmt: skip


def _summary() -> RunSummary:
    return RunSummary(
        run_id="20260101T000000Z-abcdef",
        start_url="http://127.0.0.1:8000/ggyw.htm",
        archive="/tmp/archive",
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:00:05+00:00",
        exit_code=ExitCode.PARTIAL,
        problems=[Problem("http://127.0.0.1:8000/info/1.htm", "timeout", "slow")],
        failures=1,
    )


def test_json_has_every_key_and_plain_values() -> None:
    data = _summary().to_json()
    assert set(data) == KEYS
    assert set(data["articles"]) == {
        "seen", "new_versions", "edited", "unchanged", "rechecked", "invalid", "too_large",
        "permanent_failures_skipped",
    }  # fmt: skip
    assert set(data["warc"]) == {"files", "bytes", "records", "revisits"}
    assert set(data["peak_rss_mb"]) == {"crawl", "archiver"}
    assert data["problems"] == [
        {"url": "http://127.0.0.1:8000/info/1.htm", "reason": "timeout", "detail": "slow",
         "article": True, "attempts": 1}
    ]  # fmt: skip
    assert type(data["exit_code"]) is int and data["exit_code"] == 1
    assert json.loads(json.dumps(data)) == data


def test_events_are_counted_by_kind_and_old_summaries_read_as_none() -> None:
    summary = _summary()
    summary.events = {"edited": 2, "removed": 1}
    data = json.loads(json.dumps(summary.to_json()))
    assert data["events"] == {"edited": 2, "removed": 1}
    assert RunSummary.from_json(data).events == {"edited": 2, "removed": 1}
    del data["events"]  # a summary written before events existed
    assert RunSummary.from_json(data).events == {}


def test_json_round_trip() -> None:
    summary = _summary()
    assert RunSummary.from_json(json.loads(json.dumps(summary.to_json()))) == summary
    summary.column = ColumnFound("国关要闻", "http://h/xwzx/ggyw.htm", "navigation", "http://h/a")
    assert RunSummary.from_json(json.loads(json.dumps(summary.to_json()))) == summary


def test_a_column_not_found_fails_the_run_and_a_move_does_not() -> None:
    def code(**column: bool) -> ExitCode:
        return exit_code_for(
            archiver_error=None, records=3, listing_pages=2, alarms=[], failures=0, **column
        )

    assert code() == ExitCode.OK
    assert code(column_missing=True) == ExitCode.FAILED


def test_an_old_summary_with_fewer_keys_still_reads() -> None:
    old = {
        "run_id": "20250101T000000Z-000000",
        "start_url": "https://www.uir.edu.cn/ggyw.htm",
        "started_at": "2025-01-01T00:00:00+00:00",
        "exit_code": 0,
        "articles": {"seen": 3, "new_versions": 3},
        "problems": [{"url": "u", "reason": "http_404", "detail": ""}],
    }
    summary = RunSummary.from_json(old)
    assert summary.exit_code is ExitCode.OK
    assert summary.articles.seen == 3 and summary.articles.edited == 0
    assert summary.problems == [Problem("u", "http_404")]


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        ({}, ExitCode.OK),
        ({"failures": 2}, ExitCode.PARTIAL),
        ({"alarms": ["field 'title'..."], "failures": 2}, ExitCode.LAYOUT_ALARM),
        ({"archiver_error": "archiver process ended", "alarms": ["x"]}, ExitCode.FAILED),
        ({"records": 0, "listing_pages": 0}, ExitCode.FAILED),
        ({"records": 0, "listing_pages": 1}, ExitCode.OK),
        ({"damage": True, "failures": 2}, ExitCode.DAMAGED),
        ({"damage": True, "alarms": ["x"]}, ExitCode.LAYOUT_ALARM),
        ({"disk_full": True, "archiver_error": "x"}, ExitCode.DISK_FULL),
    ],
)
def test_exit_code_table(outcome: dict[str, object], code: ExitCode) -> None:
    arguments: dict[str, object] = {
        "archiver_error": None,
        "records": 10,
        "listing_pages": 2,
        "alarms": [],
        "failures": 0,
        **outcome,
    }
    assert exit_code_for(**arguments) is code  # type: ignore[arg-type]


def test_exit_codes_are_the_documented_numbers() -> None:
    """The README's exit-code table lists exactly the codes the program uses."""
    readme = (REPO / "README.md").read_text("utf-8")
    table = readme[readme.index("| code | meaning |") :].split("\n\n", 1)[0]
    documented = [int(m) for m in re.findall(r"^\| (\d+) \|", table, re.M)]
    assert documented == [int(c) for c in ExitCode]
    assert documented[:6] == [0, 1, 2, 3, 4, 5]
