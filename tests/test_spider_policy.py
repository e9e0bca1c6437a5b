"""The spider's crawl policy: its arguments, and how far an incremental walk goes."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy import Request
from scrapy.crawler import CrawlerRunner
from scrapy.http import HtmlResponse
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler import settings as defaults
from crawler.spiders.gxyw import GxywSpider
from tests.helpers.crawl_settings import project_settings

START = "http://127.0.0.1:8000/ggyw.htm"


def _spider(**settings: Any) -> GxywSpider:
    crawler = get_crawler(GxywSpider, project_settings(**{"UIR_NEWS_START_URL": START, **settings}))
    return GxywSpider.from_crawler(crawler)


def _listing(url: str, meta: dict[str, Any] | None = None) -> HtmlResponse:
    request = Request(url, meta=meta or {})
    return HtmlResponse(url, body=b"<html></html>", encoding="utf-8", request=request)


def _follow(
    spider: GxywSpider,
    response: HtmlResponse,
    *,
    new: int,
    known: int,
    next_url: str | None = "http://127.0.0.1:8000/ggyw/2.htm",
    page_urls: list[str] | None = None,
) -> list[Request]:
    walk = spider.walks[0]
    return list(spider._follow_pagination(response, walk, next_url, page_urls or [], new, known))


def test_policy_comes_from_the_settings_module() -> None:
    spider = _spider()
    assert spider.start_url == START
    assert spider.allowed_domains == ["127.0.0.1"]
    assert spider.overlap_pages == defaults.UIR_NEWS_OVERLAP_PAGES
    assert spider.recent_days == defaults.UIR_NEWS_RECENT_DAYS
    assert spider.recheck_after.total_seconds() == defaults.UIR_NEWS_RECHECK_HOURS * 3600
    assert spider.retry_failed_runs == defaults.UIR_NEWS_RETRY_FAILED_RUNS
    assert spider.full_walk_asked is defaults.UIR_NEWS_FULL_WALK


def test_spider_arguments_become_settings_of_the_whole_crawl(tmp_path: Any) -> None:
    settings = Settings()
    settings.setmodule(defaults)
    crawler = CrawlerRunner(settings).create_crawler(GxywSpider)
    spider = GxywSpider.from_crawler(crawler, start_url=START, archive=str(tmp_path))
    assert spider.start_url == START
    assert crawler.settings["UIR_NEWS_START_URL"] == START
    assert crawler.settings["UIR_NEWS_ARCHIVE_DIR"] == str(tmp_path)


@pytest.mark.parametrize("url", ["ggyw.htm", "ftp://host/ggyw.htm", "http:///ggyw.htm"])
def test_start_url_must_be_absolute_http(url: str) -> None:
    with pytest.raises(ValueError, match="start URL"):
        _spider(UIR_NEWS_START_URL=url)


def test_full_walk_follows_every_listing_page_on_the_host() -> None:
    spider = _spider()
    spider.walks[0].full_walk = True
    pages = ["http://127.0.0.1:8000/ggyw/3.htm", "https://elsewhere.example/ggyw/4.htm"]
    requests = _follow(spider, _listing(START), new=0, known=5, page_urls=pages)
    assert [r.url for r in requests] == ["http://127.0.0.1:8000/ggyw/2.htm", pages[0]]


def test_incremental_walk_goes_on_while_articles_are_new() -> None:
    spider = _spider()
    spider.walks[0].full_walk = False
    (request,) = _follow(spider, _listing(START), new=3, known=0)
    assert request.meta["overlap_left"] is None


def test_incremental_walk_stops_overlap_pages_after_the_first_known_article() -> None:
    spider = _spider(UIR_NEWS_OVERLAP_PAGES=2)
    spider.walks[0].full_walk = False
    # The first page holding a known article: two more pages may follow.
    (first,) = _follow(spider, _listing(START), new=4, known=1)
    assert first.meta["overlap_left"] == 1
    (second,) = _follow(spider, _listing(first.url, first.meta), new=0, known=10)
    assert second.meta["overlap_left"] == 0
    assert _follow(spider, _listing(second.url, second.meta), new=0, known=10) == []


def test_incremental_walk_restarts_the_count_when_new_articles_reappear() -> None:
    spider = _spider(UIR_NEWS_OVERLAP_PAGES=1)
    spider.walks[0].full_walk = False
    (request,) = _follow(spider, _listing(START, {"overlap_left": 0}), new=1, known=1)
    assert request.meta["overlap_left"] == 0  # reset to the overlap, then this page counted


def test_incremental_walk_with_zero_overlap_stops_at_the_first_known_page() -> None:
    spider = _spider(UIR_NEWS_OVERLAP_PAGES=0)
    spider.walks[0].full_walk = False
    assert _follow(spider, _listing(START), new=2, known=1) == []


def test_incremental_walk_ends_at_the_last_page_or_off_the_host() -> None:
    spider = _spider()
    spider.walks[0].full_walk = False
    assert _follow(spider, _listing(START), new=5, known=0, next_url=None) == []
    offsite = "https://elsewhere.example/ggyw/2.htm"
    assert _follow(spider, _listing(START), new=5, known=0, next_url=offsite) == []


def test_many_start_urls_are_many_columns_on_their_hosts() -> None:
    spider = _spider(
        UIR_NEWS_START_URL=None,
        UIR_NEWS_START_URLS=[START, "http://127.0.0.1:8000/tzgg.htm", "http://other.example/a.htm"],
    )
    assert [walk.start_url for walk in spider.walks] == [
        START,
        "http://127.0.0.1:8000/tzgg.htm",
        "http://other.example/a.htm",
    ]
    assert spider.allowed_domains == ["127.0.0.1", "other.example"]


def test_an_item_of_another_column_is_followed_only_when_that_column_is_walked() -> None:
    spider = _spider(UIR_NEWS_START_URL=None, UIR_NEWS_START_URLS=[START, START + "?b"])
    ggyw, tzgg = spider.walks
    ggyw.settle("国关要闻", 1031)
    tzgg.settle("通知公告", 1032)
    spider.walks_by_id[(tzgg.site, 1032)] = tzgg
    assert spider._owner_of(ggyw, "http://127.0.0.1:8000/info/1031/1.htm") is ggyw
    assert spider._owner_of(ggyw, "http://127.0.0.1:8000/info/1032/2.htm") is tzgg
    assert spider._owner_of(ggyw, "http://127.0.0.1:8000/info/1099/3.htm") is None
    # Not a VSB article path: the column's own (nothing says otherwise).
    assert spider._owner_of(ggyw, "http://127.0.0.1:8000/news/4.htm") is ggyw
