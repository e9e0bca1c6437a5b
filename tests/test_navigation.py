"""The column finder (crawler.extract.navigation) on saved VSB home pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.extract.navigation import (
    BLOCK_TITLE,
    MORE_LINK,
    NAVIGATION,
    check_listing,
    column_key,
    find_column_links,
    link_texts,
    listing_names,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
HOMES = FIXTURES / "home"
INDEX: dict[str, str] = json.loads((HOMES / "index.json").read_text("utf-8"))
LISTINGS: dict[str, str] = json.loads((FIXTURES / "listings" / "index.json").read_text("utf-8"))

# (fixture, column) -> [(url, reasons)], reviewed by hand.
EXPECTED: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {
    ("nav_submenu", "国关要闻"): [
        ("https://www.example.edu.cn/xwzx/ggyw.htm", (NAVIGATION, MORE_LINK)),
    ],
    ("nav_submenu", "通知公告"): [
        ("https://www.example.edu.cn/xwzx/tzgg.htm", (NAVIGATION, MORE_LINK)),
    ],
    ("menu_folder_fullwidth", "国关要闻"): [
        ("https://www.uir.edu.cn/index/ggyw.htm", (NAVIGATION, MORE_LINK, BLOCK_TITLE)),
    ],
    ("block_more_only", "国关要闻"): [("https://news.example.cn/xwzx/ggyw.htm", (MORE_LINK,))],
    ("block_more_only", "学术动态"): [("https://news.example.cn/xwzx/xsdt.htm", (MORE_LINK,))],
    ("no_column", "国关要闻"): [],
}


def _home(name: str) -> bytes:
    return (HOMES / f"{name}.html").read_bytes()


@pytest.mark.parametrize(("name", "column"), sorted(EXPECTED))
def test_find_column_links(name: str, column: str) -> None:
    links = find_column_links(_home(name), INDEX[name], column)
    assert [(link.url, link.reasons) for link in links] == EXPECTED[name, column]


def test_every_home_fixture_is_checked() -> None:
    assert {name for name, _ in EXPECTED} == set(INDEX)


def test_names_compare_without_whitespace_width_or_arrows() -> None:
    assert column_key("国关　要闻") == column_key("国关要闻 >>") == column_key("国关要闻")
    assert column_key("ＮＥＷＳ") == column_key("news")
    assert column_key("国关要闻研讨会") != column_key("国关要闻")


def test_news_items_that_mention_the_name_are_not_the_column() -> None:
    # nav_submenu lists an item titled 国关要闻研讨会召开; no_column one that ends 国关要闻转载.
    for name in ("nav_submenu", "no_column"):
        urls = [link.url for link in find_column_links(_home(name), INDEX[name], "国关要闻")]
        assert not any("/info/" in url for url in urls)


def test_why_names_each_reason() -> None:
    (link,) = find_column_links(_home("nav_submenu"), INDEX["nav_submenu"], "国关要闻")
    assert (
        link.why("国关要闻") == "navigation link 国关要闻, 更多 link of the block titled 国关要闻"
    )


def test_link_texts_lists_navigation_first_and_skips_script_links() -> None:
    texts = link_texts(_home("no_column"), INDEX["no_column"])
    assert texts[:4] == ["首页", "学校概况", "学校要闻", "通知公告"]
    assert "更多栏目" not in texts  # href="javascript:;"


def test_listing_check_on_saved_listings() -> None:
    for name in ("new_first", "old_first", "fallback_table"):
        html = (FIXTURES / "listings" / f"{name}.html").read_bytes()
        check = check_listing(html, LISTINGS[name], "国关要闻")
        assert check.items > 0 and check.has_pager and check.ok, name


LISTING_PAGE = """<html><head><title>{title}-国际关系学院</title></head><body>
<div class="ny-left"><h2>新闻中心</h2></div>
<div class="ny-tit"><h3>{heading}</h3>
<div class="bread">当前位置：<a href="../index.htm">首页</a> &gt;&gt;
<a href="x.htm">{crumb}</a></div></div>
<ul><li id="line_u8_0"><a href="../info/1032/7.htm" title="通知">通知</a>
<span>2025-07-01</span></li></ul>
<div class="pb_sys_common"><span class="p_t">共1条</span> <span class="p_t">1/1</span></div>
</body></html>"""


def test_listing_of_another_column_is_rejected() -> None:
    page = LISTING_PAGE.format(title="通知公告", heading="通知公告", crumb="通知公告")
    check = check_listing(page, "http://127.0.0.1/xwzx/tzgg.htm", "国关要闻")
    assert check.items == 1 and not check.ok
    assert "通知公告" in check.names and check.rejection().startswith("a listing of")
    assert listing_names(page, "http://127.0.0.1/xwzx/tzgg.htm")[0] == "通知公告"


def test_listing_of_the_column_in_full_width_is_accepted() -> None:
    page = LISTING_PAGE.format(title="国关要闻", heading="国关　要闻", crumb="国关要闻")
    assert check_listing(page, "http://127.0.0.1/xwzx/ggyw.htm", "国关要闻").ok


def test_a_home_page_is_not_a_listing() -> None:
    # A news block has items but no pager.
    check = check_listing(_home("no_column"), INDEX["no_column"], "学校要闻")
    assert not check.ok and check.rejection() == "no pager"
    check = check_listing(
        _home("menu_folder_fullwidth"), INDEX["menu_folder_fullwidth"], "国关要闻"
    )
    assert not check.ok
