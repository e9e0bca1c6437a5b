"""Which fields of a record are filled: the basis of the layout-change alarm."""

from __future__ import annotations

from typing import Any

#: Fields whose fill rate each crawl reports, in report order.
TRACKED_FIELDS = (
    "title",
    "published_at",
    "body_text",
    "first_proofreader",
    "second_proofreader",
    "final_reviewer",
    "credits",
    "images",
    "attachments",
    "column",
    "news_id",
    "prev_url",
    "next_url",
)

_REVIEWER_FIELDS = ("first_proofreader", "second_proofreader", "final_reviewer")


def present_fields(record: dict[str, Any]) -> list[str]:
    """The tracked fields that ``record`` fills with something non-empty."""
    reviewers = record.get("reviewers") or {}
    present = []
    for name in TRACKED_FIELDS:
        value = reviewers.get(name) if name in _REVIEWER_FIELDS else record.get(name)
        if value not in (None, "", [], {}):
            present.append(name)
    return present
