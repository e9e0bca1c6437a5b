"""Listing pages: every saved column page against its reviewed expected JSON, plus merge_listing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, cast

import pytest

from crawler.extract import ListingItem, ListingPage, merge_listing, parse_listing
from record import ArticleRecord

LISTINGS = Path(__file__).resolve().parent / "fixtures" / "listings"
INDEX: dict[str, str] = json.loads((LISTINGS / "index.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(INDEX))
def test_listing_fixture(name: str) -> None:
    expected = json.loads((LISTINGS / f"{name}.json").read_text(encoding="utf-8"))
    page = parse_listing((LISTINGS / f"{name}.html").read_bytes(), INDEX[name])
    got = json.loads(json.dumps(dataclasses.asdict(page)))
    assert sorted(got) == sorted(expected)
    for key in expected:
        assert got[key] == expected[key], key


def test_listing_is_frozen() -> None:
    page = parse_listing((LISTINGS / "new_first.html").read_text("utf-8"), INDEX["new_first"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.next_url = None  # type: ignore[misc]
    assert isinstance(page.items[0], ListingItem)


def test_pagination_counts_down() -> None:
    first = parse_listing((LISTINGS / "new_first.html").read_bytes(), INDEX["new_first"])
    assert (first.total_items, first.current_page, first.page_count) == (52, 1, 11)
    assert first.next_url == "https://www.uir.edu.cn/ggyw/10.htm"
    last = parse_listing((LISTINGS / "old_last.html").read_bytes(), INDEX["old_last"])
    assert last.next_url is None


def test_item_kinds() -> None:
    page = parse_listing((LISTINGS / "new_first.html").read_bytes(), INDEX["new_first"])
    assert [i.kind for i in page.items] == ["article", "article", "article", "external", "dynamic"]


def test_empty_listing() -> None:
    assert parse_listing(b"", "https://www.uir.edu.cn/ggyw.htm") == ListingPage()


RECORD: dict[str, Any] = {"published_at": "2025-07-14", "warnings": []}


@pytest.mark.parametrize(
    ("record", "item_date", "published_at", "warnings"),
    [
        (RECORD, "2025-07-14", "2025-07-14", []),
        (RECORD, "2025-07-13", "2025-07-14", ["listing_date_mismatch:2025-07-13!=2025-07-14"]),
        (
            {**RECORD, "published_at": "2025-07-14T09:30:00+08:00"},
            "2025-07-14",
            "2025-07-14T09:30:00+08:00",
            [],
        ),
        (
            {"published_at": None, "warnings": ["date_missing"]},
            "2025-07-14",
            "2025-07-14",
            ["date_from_listing"],
        ),
        (
            {"published_at": None, "warnings": ["date_out_of_range"]},
            "2025-07-14",
            None,
            ["date_out_of_range"],
        ),
        (RECORD, None, "2025-07-14", []),
    ],
)
def test_merge_listing(
    record: dict[str, Any], item_date: str | None, published_at: str | None, warnings: list[str]
) -> None:
    item = ListingItem(
        "https://www.uir.edu.cn/info/1031/1.htm", "标题", item_date, item_date, "article"
    )
    # Only the fields merge_listing reads; the full record is tested end to end.
    merged = merge_listing(cast(ArticleRecord, record), item, "https://www.uir.edu.cn/ggyw.htm")
    assert merged["listing"] == {
        "page_url": "https://www.uir.edu.cn/ggyw.htm",
        "title": "标题",
        "date": item_date,
    }
    assert merged["published_at"] == published_at
    assert merged["warnings"] == warnings
    assert "listing" not in record  # a copy, not the original
