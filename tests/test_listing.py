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


# --- the VSB family: rows, pagers, derived page URLs, the column -------------------------------
def _listing(name: str) -> ListingPage:
    return parse_listing((LISTINGS / f"{name}.html").read_bytes(), INDEX[name])


def test_table_rows_with_line_u_ids_and_a_head_style_pager() -> None:
    page = _listing("vsb_tr_headstyle")
    assert [i.date for i in page.items] == [
        "2023-10-16", "2023-10-13", "2023-10-12", "2023-10-11", "2023-10-09"
    ]  # fmt: skip
    assert page.items[1].title == "学校举行新时代“枫桥经验”理论与实践研讨会暨法治文化节开幕式"
    # a folder column: page 1 links ../info/... and xxyw/13.htm
    assert page.items[0].url == "https://news.hbsf.edu.cn/info/1012/3471.htm"
    assert page.next_url == "https://news.hbsf.edu.cn/xwzx/xxyw/13.htm"
    assert (page.total_items, page.current_page, page.page_count) == (205, 1, 14)
    assert page.page_numbering == "down" and not page.page_urls_derived
    assert (page.column_name, page.column_id) == ("学校要闻", 1012)  # one item is from 1013


def test_a_dynamic_item_keeps_its_kind_and_gains_its_canonical_url() -> None:
    dynamic = _listing("vsb_tr_headstyle").items[2]
    assert dynamic.kind == "dynamic"
    assert dynamic.url.endswith(
        "content.jsp?wbnewsid=3470&WBTREEID=1012&urltype=news.NewsContentUrl"
    )
    assert dynamic.canonical_url == "https://news.hbsf.edu.cn/info/1012/3470.htm"
    static = _listing("new_first").items[0]
    assert static.canonical_url == static.url


def test_pages_are_derived_from_the_count_when_the_pager_links_none() -> None:
    page = _listing("vsb_tr_short_pager")  # page 8 of 14 at /xwzx/xxyw/7.htm: 共205条 8/14 only
    folder = "https://news.hbsf.edu.cn/xwzx/xxyw"
    assert page.page_urls_derived and page.page_numbering == "down"
    assert page.next_url == f"{folder}/6.htm"  # page 9 = 14 - 9 + 1
    assert page.page_urls == [f"{folder}.htm"] + [
        f"{folder}/{n}.htm" for n in range(13, 0, -1) if n != 7
    ]


def test_counting_up_is_read_from_the_links() -> None:
    page = _listing("vsb_li_count_up")  # page 3 of 5, links 2.htm / 4.htm / 5.htm
    assert page.page_numbering == "up" and page.next_url == "http://www.jnsf.edu.cn/sy/zhxw/4.htm"
    assert [(i.date, i.date_raw) for i in page.items] == [
        ("2023-10-16", "2023年10月16日"),  # span.news-data
        (None, "10-12"),  # [10-12] in an <i>: no year, none guessed
        ("2023-09-08", "2023-09-08"),  # p.time inside the link
        ("2023-09-06", "2023-09-06"),  # <i> after the link
    ]
    assert page.items[1].title == "我院教师在全省高校青年教师教学竞赛中获一等奖"


def test_a_truncated_pager_counting_up_is_completed_from_the_goto_script() -> None:
    page = _listing(
        "vsb_goto_only_up"
    )  # 首页 1 ... 尾页(tzgg/6.htm); _simple_list_gotopage_fun(6,…)
    folder = "http://www.jnsf.edu.cn/index/tzgg"
    assert (page.current_page, page.page_count, page.page_numbering) == (1, 6, "up")
    assert page.next_url == f"{folder}/2.htm"
    assert sorted(page.page_urls) == sorted(f"{folder}/{n}.htm" for n in range(2, 7))
    assert (page.column_name, page.column_id) == ("通知公告", 2032)


PAGER_ONLY = """<html><head><title>新闻-某大学</title></head><body>
<form action="../search.jsp?wbtreeid=1101" method="post"></form><ul>{items}</ul>{pager}
<script>_simple_list_gotopage_fun(4,'GOPAGE9',2)</script></body></html>"""


@pytest.mark.parametrize(
    ("url", "next_url", "numbering"),
    [
        # no pager element at all: page 1 by its URL, later pages counting down
        ("http://h.cn/a/xw.htm", "http://h.cn/a/xw/3.htm", None),
        # a later page: its own URL names the column's folder; position from its number
        ("http://h.cn/a/xw/3.htm", "http://h.cn/a/xw/2.htm", None),
    ],
)
def test_page_count_from_a_script_alone(url: str, next_url: str, numbering: str | None) -> None:
    page = parse_listing(PAGER_ONLY.format(items="", pager=""), url)
    assert (page.page_count, page.next_url, page.page_numbering) == (4, next_url, numbering)
    assert page.page_urls_derived and len(page.page_urls) == 3
    assert page.column_id == 1101  # no items: the page's wbtreeid


def test_the_last_page_derives_nothing() -> None:
    page = _listing("old_last")
    assert page.next_url is None and not page.page_urls_derived


def test_no_count_no_derived_pages() -> None:
    html = PAGER_ONLY.format(items="", pager="").replace("_simple_list_gotopage_fun", "go")
    page = parse_listing(html, "http://h.cn/a/xw.htm")
    assert page.page_count is None and page.page_urls == [] and page.next_url is None
