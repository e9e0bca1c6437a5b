"""A one-line progress display for crawls run in a terminal."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from scrapy import Spider, signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector


class Progress:
    """Rewrites one status line on stderr every ``interval`` seconds.

    On only with ``UIR_NEWS_PROGRESS`` (the CLI sets it when stderr is a
    terminal and ``--quiet`` is off), so cron output stays empty.
    """

    def __init__(self, stats: StatsCollector, interval: float, out: TextIO) -> None:
        self.stats = stats
        self.interval = interval
        self.out = out
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        if not crawler.settings.getbool("UIR_NEWS_PROGRESS"):
            raise NotConfigured
        assert crawler.stats is not None
        extension = cls(crawler.stats, 0.5, sys.stderr)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def line(self) -> str:
        stats = self.stats.get_stats()
        problems = sum(v for k, v in stats.items() if k.startswith("crawl/problems/"))
        return (
            f"requests {stats.get('downloader/request_count', 0)}  "
            f"listing pages {stats.get('crawl/listing_pages', 0)}  "
            f"articles {stats.get('crawl/article_pages', 0)}  "
            f"problems {problems}"
        )

    def show(self) -> None:
        self.out.write("\r\x1b[K" + self.line())
        self.out.flush()

    def spider_opened(self, spider: Spider) -> None:
        self.loop = task.LoopingCall(self.show)
        self.loop.start(self.interval)

    def spider_closed(self, spider: Spider) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.show()
        self.out.write("\n")
        self.out.flush()
