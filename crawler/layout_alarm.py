"""Which fields of a record are filled: the basis of the layout-change alarm."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from record import REVIEW_ROLES

#: Fields whose fill rate each crawl reports, in report order.
TRACKED_FIELDS = (
    "title",
    "published_at",
    "body_text",
    *REVIEW_ROLES,
    "credits",
    "images",
    "attachments",
    "column",
    "news_id",
    "prev_url",
    "next_url",
)


def present_fields(record: Mapping[str, Any]) -> list[str]:
    """The tracked fields that ``record`` fills with something non-empty."""
    reviewers = record.get("reviewers") or {}
    # A date the page lacked but the listing supplied does not count: the
    # alarm is about what the article page itself still yields.
    date_from_listing = "date_from_listing" in (record.get("warnings") or [])
    present = []
    for name in TRACKED_FIELDS:
        value = reviewers.get(name) if name in REVIEW_ROLES else record.get(name)
        if name == "published_at" and date_from_listing:
            continue
        if value not in (None, "", [], {}):
            present.append(name)
    return present


#: Fill rates assumed before an archive has history: every article page has
#: a title, a date and a body, whatever the template.
DEFAULT_NORMAL_RATES = {"title": 1.0, "published_at": 1.0, "body_text": 1.0}

#: A field counts as "normally present" at or above this historical rate...
NORMAL_RATE = 0.9
#: ...and raises the alarm when this run fills it at most this share of that.
ALARM_RATIO = 0.5
#: Fewer new records than this say nothing about a redesign.
ALARM_MIN_RECORDS = 5


def baseline_rates(history: list[dict[str, Any]], min_records: int = 20) -> dict[str, float]:
    """Fill rates over earlier runs' summaries, or the defaults without enough history."""
    records = sum(int(s.get("articles", {}).get("seen", 0)) for s in history)
    if records < min_records:
        return dict(DEFAULT_NORMAL_RATES)
    rates = {}
    for name in TRACKED_FIELDS:
        filled = sum(int(s.get("field_fill", {}).get(name, 0)) for s in history)
        rates[name] = filled / records
    return rates


def column_baseline(history: list[dict[str, Any]]) -> dict[str, float]:
    """Fill rates of one column over its earlier runs (their summaries' ``columns`` entries)."""
    return baseline_rates(
        [
            {"articles": {"seen": c.get("records", 0)}, "field_fill": c.get("field_fill", {})}
            for c in history
        ]
    )


def layout_alarms(fill: dict[str, int], records: int, baseline: dict[str, float]) -> list[str]:
    """Messages for fields normally present that this run mostly lacks.

    This is how a redesign of the site shows: the parser still runs, but a
    field it used to find (the reviewers, the date) goes missing on many pages.
    """
    if records < ALARM_MIN_RECORDS:
        return []
    alarms = []
    for name, normal in baseline.items():
        if normal < NORMAL_RATE:
            continue
        rate = fill.get(name, 0) / records
        if rate <= normal * ALARM_RATIO:
            alarms.append(
                f"field {name!r} found on {fill.get(name, 0)}/{records} new pages "
                f"({rate:.0%}), normally {normal:.0%}: the page layout may have changed"
            )
    return alarms
