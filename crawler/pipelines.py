"""Item pipeline: hand each article page to the archiver process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import Spider
from scrapy.exceptions import NotConfigured

from crawler.archiver.pages import ArticlePage
from crawler.extensions import ArchiveRun

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector


class ArchivePipeline:
    """Send every :class:`ArticlePage` to the archiver, which parses, checks and stores it.

    The archiver validates each record against schema v1 and never stores an
    invalid one: a half-filled record is a wrong research result. What it
    could not archive comes back, with its reason, when the spider closes.
    """

    def __init__(self, run: ArchiveRun, stats: StatsCollector) -> None:
        self.run = run
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        assert crawler.stats is not None
        run = crawler.get_extension(ArchiveRun)
        if run is None:
            raise NotConfigured("ArchivePipeline needs the ArchiveRun extension")
        return cls(run, crawler.stats)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if isinstance(item, ArticlePage):
            if self.run.client.submit_article(item):
                self.stats.inc_value("archive/parsed_in_crawl_process")
            self.stats.inc_value("crawl/article_pages")
        return item
