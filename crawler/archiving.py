"""One :class:`crawler.archiver.Archiver` per crawler, shared by components.

The WARC middleware, the spider and the pipeline all talk to the same
archiver process (one WARC writer, one catalog writer). It is started on
first use from the crawler's settings and closed when the spider closes,
after the last item has gone through the pipeline.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import Spider, signals
from scrapy.utils.defer import deferred_from_coro

from crawler.archiver import Archiver, ArchiverConfig

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

_ATTRIBUTE = "_uir_news_archiver"


def archiver_for(crawler: Crawler) -> Archiver:
    """The crawler's archiver (started on first call), closed when the spider closes.

    At close, the archiver's counters are added to the crawler's stats and
    its problems to the spider's, so the run summary sees one crawl.
    """
    archiver: Archiver | None = getattr(crawler, _ATTRIBUTE, None)
    if archiver is not None:
        return archiver
    archiver = Archiver(ArchiverConfig.from_settings(crawler.settings))
    archiver.backlog_bytes = crawler.settings.getint(
        "UIR_NEWS_ARCHIVER_BACKLOG_BYTES", archiver.backlog_bytes
    )
    setattr(crawler, _ATTRIBUTE, archiver)

    def stop_crawl() -> None:
        # Nothing fetched from now on could be archived: stop, and let the
        # run summary say so (exit code 5); the next run recovers.
        logger.error("The archiver process is gone; stopping the crawl")
        if crawler.engine is not None and crawler.engine.spider is not None:
            deferred_from_coro(crawler.engine.close_spider_async(reason="archiver_failed"))

    archiver.on_failure = stop_crawl

    def index_warcs() -> None:
        from archive.replay.cdxj import update_index

        try:
            stats = update_index(archiver.layout)
            logger.info("CDXJ index: %s", stats.one_line())
        except OSError as exc:
            # The WARCs are complete; the run (or `uir-news index`) tries again.
            logger.error("Could not update the CDXJ index: %s", exc)

    def close(spider: Spider, reason: str) -> None:
        # The WARC is indexed while the archiver finishes its queue.
        result = archiver.close(meanwhile=index_warcs)
        stats = crawler.stats
        assert stats is not None
        for name, count in result.stats.items():
            stats.inc_value(name, count)
        stats.set_value("archive/warc_files", [p.name for p in archiver.writer.closed_files])
        stats.set_value("archive/warc_bytes", archiver.writer.bytes_written)
        stats.set_value("archive/archiver_cpu_s", result.cpu_s)
        stats.set_value("archive/archiver_peak_rss_mb", result.peak_rss_mb)
        problems = getattr(spider, "problems", None)
        if isinstance(problems, list):
            problems.extend(result.problems)
        if result.error is not None:
            stats.set_value("archive/archiver_error", result.error)
            logger.error("The archiver failed: %s", result.error)

    crawler.signals.connect(close, signal=signals.spider_closed, weak=False)
    return archiver
