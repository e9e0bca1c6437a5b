"""Item pipeline: hand each article page to the archiver process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import Spider

from crawler.archiver import Archiver, ArticlePage
from crawler.archiving import archiver_for

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector


class ArchivePipeline:
    """Send every :class:`ArticlePage` to the archiver, which parses, checks and stores it.

    The archiver validates each record against schema v1 and never stores an
    invalid one: a half-filled record is a wrong research result. What it
    could not archive comes back, with its reason, when the spider closes.
    """

    def __init__(self, archiver: Archiver, stats: StatsCollector) -> None:
        self.archiver = archiver
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        assert crawler.stats is not None
        return cls(archiver_for(crawler), crawler.stats)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if isinstance(item, ArticlePage):
            if self.archiver.submit_article(item):
                self.stats.inc_value("archive/parsed_in_crawl_process")
            self.stats.inc_value("crawl/article_pages")
        return item
