"""Download handlers: Scrapy's HTTP/1.1 handler with a connection pool sized for loopback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class PooledHTTPDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, keeping an idle connection for each parallel request.

    The stock handler keeps ``CONCURRENT_REQUESTS_PER_DOMAIN`` idle
    connections per host; ours is 1 for politeness, so the 16 parallel
    requests of the loopback slot opened and closed a TCP connection almost
    every time. Keeping up to the loopback slot's concurrency changes nothing
    for a polite crawl, which never has more than one connection open.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        slots = crawler.settings.getdict("DOWNLOAD_SLOTS")
        slot = slots.get(crawler.settings.get("UIR_NEWS_LOOPBACK_SLOT"), {})
        self._pool.maxPersistentPerHost = max(
            self._pool.maxPersistentPerHost, int(slot.get("concurrency", 1))
        )
