"""Downloader middlewares: loopback speed-up and WARC capture."""

from __future__ import annotations

import ipaddress
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy import Request, Spider, signals
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

from archive.paths import ArchiveLayout
from archive.warc import HttpExchange, RotatingWarcWriter
from crawler.config import archive_dir_from_settings

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and any loopback address (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class LoopbackFullSpeedMiddleware:
    """Crawl loopback hosts (the replica) at full speed, remote hosts politely.

    Politeness exists for other people's servers. Requests to a loopback host
    go into a download slot with no delay and high concurrency (the
    ``DOWNLOAD_SLOTS`` entry named by ``UIR_NEWS_LOOPBACK_SLOT``) and are
    excluded from AutoThrottle, so tests, the demo and benchmarks need no flag.
    """

    def __init__(self, slot: str) -> None:
        self.slot = slot

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LoopbackFullSpeedMiddleware:
        return cls(crawler.settings.get("UIR_NEWS_LOOPBACK_SLOT", "uir-news-loopback"))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if is_loopback_host(urlparse_cached(request).hostname):
            request.meta.setdefault("download_slot", self.slot)
            request.meta["autothrottle_dont_adjust_delay"] = True


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    pairs = []
    for name, values in headers.items():
        decoded = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        for value in values:
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            pairs.append((decoded, text))
    return pairs


class WarcCaptureMiddleware:
    """Write every response the server sends, with its request, to the WARC.

    It sits on the downloader side of all stock middlewares, so it sees the
    body before decompression and sees responses that are later retried or
    redirected. The response record's pointer is put in ``request.meta["warc"]``
    (and the fetch time in ``request.meta["fetched_at"]``) for the spider.
    """

    def __init__(self, writer: RotatingWarcWriter, stats: StatsCollector) -> None:
        self.writer = writer
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        settings = crawler.settings
        layout = ArchiveLayout(archive_dir_from_settings(settings))
        layout.create()
        assert crawler.stats is not None
        writer = RotatingWarcWriter(
            layout.warc_dir,
            prefix=settings.get("UIR_NEWS_WARC_PREFIX", "UIRNEWS"),
            max_size=settings.getint("UIR_NEWS_WARC_MAX_SIZE", 1_000_000_000),
            warcinfo={
                "software": "uir-news (Scrapy, warcio)",
                "http-header-user-agent": settings.get("USER_AGENT", ""),
                "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                "isPartOf": "uir-news 国关要闻",
                "description": "Snapshots of the 国关要闻 column of 国际关系学院",
            },
        )
        middleware = cls(writer, crawler.stats)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        fetched_at = datetime.now(UTC)
        exchange = HttpExchange(
            url=response.url,
            method=request.method,
            request_headers=_header_pairs(request.headers),
            request_body=request.body,
            status=response.status,
            response_headers=_header_pairs(response.headers),
            response_body=response.body,
            fetched_at=fetched_at,
            protocol=response.protocol or "HTTP/1.1",
            remote_ip=str(response.ip_address) if response.ip_address else None,
        )
        written = self.writer.write_exchange(exchange)
        request.meta["warc"] = written.response.as_dict()
        request.meta["warc_record_id"] = written.record_id
        request.meta["fetched_at"] = fetched_at.isoformat(timespec="seconds").replace(
            "+00:00", "Z"
        )
        self.stats.inc_value("archive/warc_records", 2)
        self.stats.inc_value("archive/warc_response_bytes", len(response.body))
        return response

    def spider_closed(self, spider: Spider, reason: str) -> None:
        closed = self.writer.close()
        if closed is not None:
            logger.info("Closed WARC %s", closed)
        self.stats.set_value("archive/warc_files", [p.name for p in self.writer.closed_files])
        self.stats.set_value("archive/warc_bytes", self.writer.bytes_written)
