"""The 国关要闻 spider: crawl policy only.

It walks the column's listing pages from the first, follows every article
link once (Scrapy's duplicate filter), never leaves the start URL's host, and
hands each article page to the pure extractor in :mod:`crawler.extract`.
Pages that are not articles are reported with a reason, never stored as
records.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.extract import (
    ListingItem,
    NotAnArticle,
    classify_response,
    merge_listing,
    parse_article,
    parse_listing,
)


class GxywSpider(scrapy.Spider):
    name = "gxyw"

    def __init__(self, start_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_url = start_url
        self.problems: list[dict[str, Any]] = []
        self.external_links: list[dict[str, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> GxywSpider:
        spider: GxywSpider = super().from_crawler(crawler, *args, **kwargs)
        if not spider.start_url:
            spider.start_url = crawler.settings.get("UIR_NEWS_START_URL")
        parts = urlsplit(spider.start_url or "")
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"start URL must be an absolute http(s) URL: {spider.start_url!r}")
        # OffsiteMiddleware keeps the crawl on the start URL's host.
        spider.allowed_domains = [parts.hostname]
        return spider

    async def start(self) -> AsyncIterator[Any]:
        assert self.start_url
        yield scrapy.Request(
            self.start_url, callback=self.parse_listing_page, errback=self.on_error
        )

    # -- listing pages --------------------------------------------------------

    def parse_listing_page(self, response: Response) -> Iterator[Any]:
        self.crawler.stats.inc_value("crawl/listing_pages")
        if response.status != 200:
            yield from self.report(response.url, f"listing_http_{response.status}")
            return
        page = parse_listing(response.body, response.url)
        if not page.items:
            yield from self.report(response.url, "listing_without_items")
        host = urlsplit(response.url).hostname
        for item in page.items:
            if item.kind == "article" and urlsplit(item.url).hostname == host:
                yield response.follow(
                    item.url,
                    callback=self.parse_article_page,
                    errback=self.on_error,
                    cb_kwargs={"listing": item, "page_url": response.url},
                )
            elif item.kind == "external" or urlsplit(item.url).hostname != host:
                self.crawler.stats.inc_value("crawl/external_items")
                self.external_links.append(
                    {"url": item.url, "title": item.title, "date": item.date, "page": response.url}
                )
            else:
                # content.jsp items: not yet published statically; the static
                # page appears in a later crawl.
                self.crawler.stats.inc_value("crawl/dynamic_items")
                self.external_links.append(
                    {"url": item.url, "title": item.title, "date": item.date, "page": response.url}
                )
        for url in [page.next_url, *page.page_urls]:
            if url and urlsplit(url).hostname == host:
                yield response.follow(url, callback=self.parse_listing_page, errback=self.on_error)

    # -- article pages -------------------------------------------------------

    def parse_article_page(
        self, response: Response, listing: ListingItem | None = None, page_url: str | None = None
    ) -> Iterator[Any]:
        reason = classify_response(response.status, response.body, response.url)
        if reason is None and response.status != 200:
            reason = f"http_{response.status}"
        if reason is not None:
            yield from self.report(response.url, reason)
            return
        try:
            record = parse_article(response.body, response.url)
        except NotAnArticle as exc:
            yield from self.report(response.url, exc.reason)
            return
        if listing is not None and page_url is not None:
            record = merge_listing(record, listing, page_url)
        else:
            record["listing"] = None
        record["fetched_at"] = response.meta["fetched_at"]
        record["warc"] = response.meta["warc"]
        yield record

    # -- failures ------------------------------------------------------------

    def on_error(self, failure: Failure) -> Iterator[Any]:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        yield from self.report(url, "fetch_failed", failure.getErrorMessage())

    def report(self, url: str, reason: str, detail: str = "") -> Iterator[Any]:
        """Record a page that did not become an article, with its reason."""
        self.crawler.stats.inc_value(f"crawl/problems/{reason}")
        self.problems.append({"url": url, "reason": reason, "detail": detail})
        self.logger.warning("Not archived as an article: %s (%s) %s", url, reason, detail)
        return iter(())
