"""Downloader middlewares: loopback speed-up and WARC capture."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

from archive.session import ArchiveSession, PreviousCapture, sha1_digest
from archive.warc import HttpExchange
from crawler.archiving import session_for

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector


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

    A re-check of a known page (``request.meta["previous_capture"]`` set by the
    spider) that comes back 304, or 200 with a byte-identical payload, is
    stored as a revisit record and flagged ``request.meta["unchanged"]``.
    """

    def __init__(self, session: ArchiveSession, stats: StatsCollector) -> None:
        self.session = session
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        assert crawler.stats is not None
        return cls(session_for(crawler), crawler.stats)

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
        previous: PreviousCapture | None = request.meta.get("previous_capture")
        unchanged = previous is not None and (
            response.status == 304
            or (response.status == 200 and sha1_digest(response.body) == previous.payload_digest)
        )
        if previous is not None and unchanged:
            written = self.session.write_revisit(
                exchange, previous, not_modified=response.status == 304
            )
            self.stats.inc_value("archive/warc_revisits")
        else:
            written = self.session.write_exchange(exchange)
            self.stats.inc_value("archive/warc_response_bytes", len(response.body))
        request.meta["unchanged"] = unchanged
        request.meta["warc"] = written.response.as_dict()
        request.meta["warc_record_id"] = written.record_id
        request.meta["fetched_at"] = fetched_at.isoformat(timespec="seconds").replace("+00:00", "Z")
        self.stats.inc_value("archive/warc_records", 2)
        return response
