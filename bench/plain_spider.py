"""Baseline for bench_crawl: a plain Scrapy spider that fetches what ours fetches and keeps nothing.

It walks the same listing pages and follows the same article links (same
host, `/info/` pages), with the same loopback politeness as our crawler
(robots.txt obeyed, 16 concurrent requests, no delay, no AutoThrottle, same
reactor, same retry and size settings). It prints Scrapy's stats as JSON on
stdout.

Usage: python bench/plain_spider.py START_URL
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response

LISTING = re.compile(r"/(?P<slug>[a-z][a-z0-9_]*)(?:/[0-9]+)?\.htm$")
ARTICLE = re.compile(r"/info/[0-9]+/[0-9]+\.htm$")


class PlainSpider(scrapy.Spider):
    name = "plain"

    def __init__(self, start_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = [start_url]
        parts = urlsplit(start_url)
        self.allowed_domains = [parts.hostname or ""]
        match = LISTING.search(parts.path)
        self.slug = match.group("slug") if match else ""

    def parse(self, response: Response) -> Iterator[scrapy.Request]:
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            parts = urlsplit(url)
            if parts.hostname != urlsplit(response.url).hostname or parts.query:
                continue
            if ARTICLE.search(parts.path):
                yield scrapy.Request(url, callback=self.ignore)
            else:
                match = LISTING.search(parts.path)
                if match and match.group("slug") == self.slug:
                    yield scrapy.Request(url, callback=self.parse)

    def ignore(self, response: Response) -> None:
        return None


SETTINGS = {
    "ROBOTSTXT_OBEY": True,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "DOWNLOAD_DELAY": 0.0,
    "AUTOTHROTTLE_ENABLED": False,
    "RETRY_TIMES": 3,
    "DOWNLOAD_TIMEOUT": 30,
    "DOWNLOAD_MAXSIZE": 20 * 1024 * 1024,
    "COOKIES_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    "LOG_LEVEL": "WARNING",
    "USER_AGENT": "uir-news-bench-plain/0.1",
}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    process = CrawlerProcess(SETTINGS)
    crawler = process.create_crawler(PlainSpider)
    process.crawl(crawler, start_url=argv[0])
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    print(json.dumps({k: v for k, v in stats.items() if isinstance(v, int | float)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
