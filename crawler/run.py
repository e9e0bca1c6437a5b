"""Running one crawl in this process: what ``uir-news crawl`` and ``uir-news demo`` call.

:func:`run_crawl` builds Scrapy settings from :mod:`crawler.settings` plus the
options given, runs the ``gxyw`` spider with the same arguments ``scrapy crawl
gxyw -a start_url=URL -a archive=DIR`` gives it, and returns the run summary
that :class:`crawler.extensions.ArchiveRun` wrote to ``runs/{run_id}.json``.
Everything a run promises (lock, recovery, archiver, summary) is that
extension's, so both ways of starting a crawl give the same archive.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.extensions import ArchiveRun
from crawler.spiders.gxyw import GxywSpider
from crawler.summary import RunSummary

#: Scrapy loggers whose errors the run summary already reports, page by page.
_SUMMARIZED_LOGGERS = (
    "scrapy.downloadermiddlewares.retry",
    "scrapy.downloadermiddlewares.robotstxt",
)


@dataclass
class CrawlOptions:
    """A crawl to run: ``start_url`` None means the settings' ``UIR_NEWS_START_URL``.

    With ``column``, ``start_url`` is a home page the column is found on by name.
    """

    start_url: str | None
    archive_dir: Path
    column: str | None = None
    log_level: str = "WARNING"
    #: Scrapy settings to set on top of :mod:`crawler.settings` (only those given).
    settings: dict[str, Any] = field(default_factory=dict)


def build_settings(options: CrawlOptions) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("LOG_LEVEL", options.log_level, priority="cmdline")
    for key, value in options.settings.items():
        settings.set(key, value, priority="cmdline")
    return settings


def run_crawl(options: CrawlOptions) -> RunSummary:
    """Crawl into ``options.archive_dir``; return the run summary.

    Raises :class:`archive.storage.lock.LockHeld` when another run holds the
    archive (nothing is then fetched or written).
    """
    process = CrawlerProcess(build_settings(options))
    if logging.getLevelName(options.log_level) > logging.INFO:
        # Every page these middlewares give up on is in the run summary with
        # its reason; their tracebacks (robots.txt unreachable, retries spent)
        # would tell it a second time, at length, in every cron mail.
        for name in _SUMMARIZED_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL)
    crawler = process.create_crawler(GxywSpider)
    arguments = {"archive": str(options.archive_dir)}
    if options.start_url is not None:
        arguments["start_url"] = options.start_url
    if options.column is not None:
        arguments["column"] = options.column
    process.crawl(crawler, **arguments)
    process.start()
    run = crawler.get_extension(ArchiveRun)
    if run is None:
        raise RuntimeError("the ArchiveRun extension is switched off")
    if run.lock_held is not None:
        raise run.lock_held
    if run.summary is None:
        raise RuntimeError(f"the crawl of {options.archive_dir} ended without a run summary")
    return run.summary
