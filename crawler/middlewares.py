"""Downloader middlewares: loopback speed-up, retries with backoff, redirect guard, WARC capture.

Each is built in ``from_crawler``, which alone reads the settings; the WARC
capture writes through the run's :class:`crawler.extensions.ArchiveRun`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urljoin, urlsplit

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached

from archive.storage.session import PreviousCapture, sha1_digest
from archive.storage.warc import HttpExchange
from crawler.archiver.protocol import iso_utc
from crawler.extensions import ArchiveRun
from record import site_of

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
    """One download slot per site (host[:port]); loopback hosts (the replica) at full speed.

    Scrapy keys download slots by host name, so two sites on one host but
    different ports (several replica sites on 127.0.0.1) would share one
    slot and one pace. Every request goes into its site's own slot instead,
    so each site gets its own concurrency, delay and AutoThrottle, and many
    sites are crawled side by side. A site with its own politeness
    (``DOWNLOAD_SLOTS`` has an entry for it: ``crawl --config``) keeps it,
    even on loopback; ``autothrottle = false`` (``UIR_NEWS_FIXED_DELAY_SITES``)
    keeps its delay fixed.

    Politeness exists for other people's servers. Requests to any other
    loopback host go into one slot with no delay and high concurrency (the
    ``DOWNLOAD_SLOTS`` entry named by ``UIR_NEWS_LOOPBACK_SLOT``) and are
    excluded from AutoThrottle, so tests, the demo and benchmarks need no flag.
    """

    def __init__(
        self, slot: str, configured: Iterable[str] = (), fixed_delay: Iterable[str] = ()
    ) -> None:
        self.slot = slot
        self.configured = frozenset(configured) - {slot}
        self.fixed_delay = frozenset(fixed_delay)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LoopbackFullSpeedMiddleware:
        settings = crawler.settings
        return cls(
            settings["UIR_NEWS_LOOPBACK_SLOT"],
            settings.getdict("DOWNLOAD_SLOTS"),
            settings.getlist("UIR_NEWS_FIXED_DELAY_SITES"),
        )

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        site = site_of(request.url)
        if site in self.fixed_delay:
            request.meta["autothrottle_dont_adjust_delay"] = True
        if site in self.configured:
            request.meta.setdefault("download_slot", site)
        elif is_loopback_host(urlparse_cached(request).hostname):
            request.meta.setdefault("download_slot", self.slot)
            request.meta["autothrottle_dont_adjust_delay"] = True
        else:
            request.meta.setdefault("download_slot", site)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, with a wait before each: ``Retry-After`` or exponential.

    A 503 or 429 that names a ``Retry-After`` (seconds or an HTTP date) is
    retried after that long, capped at ``UIR_NEWS_RETRY_MAX_DELAY``; other
    retries wait ``UIR_NEWS_RETRY_BACKOFF`` x 2^(attempt-1). Loopback hosts (the
    replica) get a hundredth of the exponential wait: politeness is for other
    people's servers, but a ``Retry-After`` is honoured everywhere.
    """

    def __init__(self, settings: BaseSettings, *, backoff: float, max_delay: float) -> None:
        # The stock middleware reads its own settings (RETRY_TIMES...).
        super().__init__(settings)
        self.backoff = backoff
        self.max_delay = max_delay

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        middleware = cls(
            settings,
            backoff=settings.getfloat("UIR_NEWS_RETRY_BACKOFF"),
            max_delay=settings.getfloat("UIR_NEWS_RETRY_MAX_DELAY"),
        )
        middleware.crawler = crawler
        return middleware

    def delay_for(self, retry: Request, response: Response | None) -> float:
        attempt = int(retry.meta.get("retry_times", 1))
        if response is not None and (header := response.headers.get("Retry-After")):
            seconds = retry_after_seconds(header.decode("latin-1"))
            if seconds is not None:
                return min(seconds, self.max_delay)
        delay: float = self.backoff * 2.0 ** max(attempt - 1, 0)
        if is_loopback_host(urlparse_cached(retry).hostname):
            delay /= 100
        return min(delay, self.max_delay)

    # Async overrides: Scrapy awaits coroutine middleware methods.
    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        result = super().process_response(request, response)
        if isinstance(result, Request):
            await sleep(self.delay_for(result, response))
        return result

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Request | Response | None:
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await sleep(self.delay_for(result, None))
        return result


def retry_after_seconds(value: str) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date)."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


class RedirectGuardMiddleware:
    """Stop redirects that loop or leave the site's host, and say which.

    Scrapy would follow a loop until the duplicate filter silently drops the
    repeat, and drop an off-site target without telling the spider; raising
    here gives the request's errback a named reason instead.
    """

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        location = response.headers.get("Location")
        if response.status in (301, 302, 303, 307, 308) and location:
            target = urljoin(request.url, location.decode("latin-1"))
            chain = {*request.meta.get("redirect_urls", []), request.url}
            if target in chain:
                raise IgnoreRequest(f"redirect loop: {request.url} -> {target}")
            if urlsplit(target).hostname != urlparse_cached(request).hostname:
                raise IgnoreRequest(f"offsite redirect: {request.url} -> {target}")
        return response


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    pairs = []
    for name, values in headers.items():
        decoded = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        for value in values:
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            pairs.append((decoded, text))
    return pairs


class WarcCaptureMiddleware:
    """Send every response the server sends, with its request, to the WARC.

    It sits on the downloader side of all stock middlewares, so it sees the
    body before decompression and sees responses that are later retried or
    redirected. The response record's pointer is put in
    ``request.meta["warc"]`` (and the fetch time in
    ``request.meta["fetched_at"]``) for the article parsed from it; the
    archiver process indexes the capture.

    A re-check of a known page (``request.meta["previous_capture"]`` set by the
    spider) that comes back 304, or 200 with a byte-identical payload, is
    stored as a revisit record and flagged ``request.meta["unchanged"]``.
    """

    def __init__(self, run: ArchiveRun, stats: StatsCollector) -> None:
        self.run = run
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        assert crawler.stats is not None
        run = crawler.get_extension(ArchiveRun)
        if run is None:
            raise NotConfigured("WarcCaptureMiddleware needs the ArchiveRun extension")
        return cls(run, crawler.stats)

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
        written = self.run.client.write_exchange(
            exchange, revisit_of=previous if unchanged else None
        )
        if unchanged:
            self.stats.inc_value("archive/warc_revisits")
        else:
            self.stats.inc_value("archive/warc_response_bytes", len(response.body))
        request.meta["unchanged"] = unchanged
        request.meta["warc"] = written.response.as_dict()
        request.meta["fetched_at"] = iso_utc(fetched_at)
        self.stats.inc_value("archive/warc_records", 2)
        return response
