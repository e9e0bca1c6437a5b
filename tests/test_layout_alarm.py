"""The layout-change alarm: a redesign that loses a field makes the run say so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.layout_alarm import baseline_rates, layout_alarms, present_fields
from replica.faults import Request, Response, SiteView
from replica.server import ReplicaServer
from replica.site import ReplicaSite
from tests.helpers.cli import crawl

_DATE = re.compile(rb"\d{4}(?:-|\xe5\xb9\xb4)\d{2}(?:-|\xe6\x9c\x88)\d{2}(?:\xe6\x97\xa5)?")


class Redesign:
    """A replica 'fault' that, once switched on, drops every date from article pages."""

    def __init__(self) -> None:
        self.on = False

    def bind(self, site: SiteView) -> None:
        pass

    def before(self, request: Request) -> Response | None:
        return None

    def after(self, request: Request, response: Response) -> Response:
        if not self.on or not request.target.startswith("/info/") or response.status != 200:
            return response
        body = _DATE.sub(b"", response.body)
        headers = dict(response.headers)
        headers["Content-Length"] = str(len(body))
        headers["ETag"] = '"redesigned"'
        return Response(response.status, headers, body)


@pytest.mark.e2e
def test_redesign_that_loses_the_date_raises_the_alarm(tmp_path: Path) -> None:
    redesign = Redesign()
    site = ReplicaSite(faults=redesign)
    archive = tmp_path / "archive"
    with ReplicaServer(site) as server:
        first = crawl(server, archive)
        assert first.last_summary(archive)["alarms"] == []
        site.publish(8)
        redesign.on = True
        second = crawl(server, archive, check=False)
    assert second.returncode == 3, second.stdout + second.stderr
    summary = second.last_summary(archive)
    assert summary["exit_code"] == 3
    assert any("published_at" in alarm for alarm in summary["alarms"])
    assert "LAYOUT ALARM" in second.stdout
    assert summary["field_fill"]["published_at"] == 0
    assert summary["articles"]["new_versions"] == 8  # the records are still kept


def test_alarm_needs_a_normally_present_field_and_enough_records() -> None:
    history = [{"articles": {"seen": 100}, "field_fill": {"title": 100, "final_reviewer": 60}}]
    rates = baseline_rates(history)
    assert rates["title"] == 1.0 and rates["final_reviewer"] == 0.6
    # final_reviewer is not normally present (60%): no alarm when it vanishes.
    assert layout_alarms({"title": 10, "final_reviewer": 0}, 10, rates) == []
    assert layout_alarms({"title": 2, "final_reviewer": 6}, 10, rates) != []
    # Four records say nothing about a redesign.
    assert layout_alarms({"title": 0}, 4, rates) == []
    # Without history the defaults hold: every page has a title, date and body.
    assert baseline_rates([])["published_at"] == 1.0


def test_present_fields_ignores_a_date_taken_from_the_listing() -> None:
    record = {
        "title": "t",
        "published_at": "2025-01-01",
        "body_text": "b",
        "reviewers": {"final_reviewer": ["陈斌"]},
        "warnings": ["date_from_listing"],
    }
    assert present_fields(record) == ["title", "body_text", "final_reviewer"]
