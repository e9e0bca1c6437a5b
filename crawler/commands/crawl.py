"""``scrapy crawl``, exiting with the run's exit code, as ``uir-news crawl`` does.

Scrapy's own command exits 0 whenever the crawl started. A crawl of the
archive has more outcomes than that (:class:`crawler.summary.ExitCode`: 1
some pages lost, 3 layout alarm, 4 archive locked, 5 failed), and cron needs
them whichever way the crawl was started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler.extensions import ArchiveRun
from crawler.sites import ConfigError, load_config
from crawler.summary import ExitCode

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give one spider name: scrapy crawl gxyw -a start_url=URL")
        assert self.crawler_process
        if opts.spargs.get("config"):
            # A bad config is a usage error (exit 2, one line), not a traceback.
            try:
                load_config(opts.spargs["config"])
            except ConfigError as exc:
                raise UsageError(f"-a config={exc}", print_help=False) from None
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        run = crawler.get_extension(ArchiveRun)
        if run is None:
            return  # the archive switched off: Scrapy's exit code
        # No exit code: the archive could not be opened (the error is logged).
        self.exitcode = int(ExitCode.FAILED if run.exit_code is None else run.exit_code)
