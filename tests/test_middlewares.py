"""The downloader middlewares, built by Scrapy from the project settings (``from_crawler``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler import settings as defaults
from crawler.extensions import ArchiveRun
from crawler.middlewares import (
    BackoffRetryMiddleware,
    LoopbackFullSpeedMiddleware,
    RedirectGuardMiddleware,
    WarcCaptureMiddleware,
    is_loopback_host,
    retry_after_seconds,
)
from tests.helpers.crawl_settings import project_settings


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("localhost", True),
        ("[::1]", True),
        ("www.uir.edu.cn", False),
        ("10.0.0.1", False),
        (None, False),
        ("", False),
    ],
)
def test_is_loopback_host(host: str | None, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_loopback_requests_go_to_the_fast_slot() -> None:
    crawler = get_crawler(settings_dict=project_settings(UIR_NEWS_LOOPBACK_SLOT="fast"))
    middleware = LoopbackFullSpeedMiddleware.from_crawler(crawler)
    local = Request("http://127.0.0.1:8000/ggyw.htm")
    remote = Request("https://www.uir.edu.cn/ggyw.htm")
    middleware.process_request(local)
    middleware.process_request(remote)
    assert local.meta["download_slot"] == "fast"
    assert local.meta["autothrottle_dont_adjust_delay"] is True
    # A remote site has its own slot, named as Scrapy would name it (the host).
    assert remote.meta["download_slot"] == "www.uir.edu.cn"
    assert "autothrottle_dont_adjust_delay" not in remote.meta


def test_each_site_has_its_own_slot_even_on_one_host() -> None:
    """Scrapy keys slots by host name: two ports of one host would share one pace."""
    crawler = get_crawler(settings_dict=project_settings())
    middleware = LoopbackFullSpeedMiddleware.from_crawler(crawler)
    a = Request("http://news.example:8001/ggyw.htm")
    b = Request("http://news.example:8002/tzgg.htm")
    for request in (a, b):
        middleware.process_request(request)
    assert (a.meta["download_slot"], b.meta["download_slot"]) == (
        "news.example:8001",
        "news.example:8002",
    )


def test_a_site_with_its_own_politeness_keeps_it_even_on_loopback() -> None:
    slots = {"127.0.0.1:8001": {"concurrency": 1, "delay": 0.5}}
    crawler = get_crawler(
        settings_dict=project_settings(
            DOWNLOAD_SLOTS=slots, UIR_NEWS_FIXED_DELAY_SITES=["127.0.0.1:8001"]
        )
    )
    middleware = LoopbackFullSpeedMiddleware.from_crawler(crawler)
    polite = Request("http://127.0.0.1:8001/ggyw.htm")
    other = Request("http://127.0.0.1:8002/ggyw.htm")
    middleware.process_request(polite)
    middleware.process_request(other)
    assert polite.meta["download_slot"] == "127.0.0.1:8001"
    assert polite.meta["autothrottle_dont_adjust_delay"] is True  # autothrottle = false
    assert other.meta["download_slot"] == crawler.settings["UIR_NEWS_LOOPBACK_SLOT"]


def _retry_middleware(**settings: object) -> BackoffRetryMiddleware:
    crawler = get_crawler(settings_dict=project_settings(**settings))
    return BackoffRetryMiddleware.from_crawler(crawler)


def test_backoff_settings_come_from_the_settings_module() -> None:
    middleware = _retry_middleware()
    assert middleware.backoff == defaults.UIR_NEWS_RETRY_BACKOFF
    assert middleware.max_delay == defaults.UIR_NEWS_RETRY_MAX_DELAY
    assert middleware.max_retry_times == defaults.RETRY_TIMES


def _retry(url: str, attempt: int) -> Request:
    return Request(url, meta={"retry_times": attempt})


def _answer(url: str, status: int, retry_after: str | None = None) -> Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Response(url, status=status, headers=headers)


def test_exponential_backoff_doubles_and_is_capped() -> None:
    middleware = _retry_middleware(UIR_NEWS_RETRY_BACKOFF=2.0, UIR_NEWS_RETRY_MAX_DELAY=10.0)
    url = "https://www.uir.edu.cn/info/1031/1.htm"
    delays = [middleware.delay_for(_retry(url, n), None) for n in (1, 2, 3, 4)]
    assert delays == [2.0, 4.0, 8.0, 10.0]


def test_loopback_backoff_is_a_hundredth() -> None:
    middleware = _retry_middleware(UIR_NEWS_RETRY_BACKOFF=2.0)
    assert middleware.delay_for(_retry("http://127.0.0.1/x", 2), None) == pytest.approx(0.04)


def test_retry_after_in_seconds_is_honoured_even_on_loopback() -> None:
    middleware = _retry_middleware(UIR_NEWS_RETRY_MAX_DELAY=60.0)
    url = "http://127.0.0.1/x"
    assert middleware.delay_for(_retry(url, 1), _answer(url, 503, "7")) == 7.0


def test_retry_after_is_capped() -> None:
    middleware = _retry_middleware(UIR_NEWS_RETRY_MAX_DELAY=5.0)
    url = "https://www.uir.edu.cn/x"
    assert middleware.delay_for(_retry(url, 1), _answer(url, 429, "3600")) == 5.0


def test_retry_after_as_an_http_date() -> None:
    middleware = _retry_middleware(UIR_NEWS_RETRY_MAX_DELAY=60.0)
    url = "https://www.uir.edu.cn/x"
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    delay = middleware.delay_for(_retry(url, 1), _answer(url, 503, when))
    assert 25.0 <= delay <= 30.0


def test_garbage_retry_after_falls_back_to_backoff() -> None:
    middleware = _retry_middleware(UIR_NEWS_RETRY_BACKOFF=1.5)
    url = "https://www.uir.edu.cn/x"
    assert middleware.delay_for(_retry(url, 1), _answer(url, 503, "soon, maybe")) == 1.5


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("120", 120.0), (" 0 ", 0.0), ("-5", None), ("1.5", None), ("tomorrow", None), ("", None)],
)
def test_retry_after_seconds(value: str, seconds: float | None) -> None:
    assert retry_after_seconds(value) == seconds


def test_retry_after_date_in_the_past_is_zero() -> None:
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def _redirect(request: Request, status: int, location: str) -> Response:
    return Response(request.url, status=status, headers={"Location": location})


def test_redirect_loop_is_stopped_with_a_reason() -> None:
    guard = RedirectGuardMiddleware()
    request = Request("http://127.0.0.1/b", meta={"redirect_urls": ["http://127.0.0.1/a"]})
    with pytest.raises(IgnoreRequest, match="redirect loop"):
        guard.process_response(request, _redirect(request, 302, "/a"))


def test_offsite_redirect_is_stopped_with_a_reason() -> None:
    guard = RedirectGuardMiddleware()
    request = Request("http://127.0.0.1/a")
    with pytest.raises(IgnoreRequest, match="offsite redirect"):
        guard.process_response(request, _redirect(request, 301, "https://mp.weixin.qq.com/s/x"))


def test_redirect_on_the_same_host_passes() -> None:
    guard = RedirectGuardMiddleware()
    request = Request("http://127.0.0.1/a")
    response = _redirect(request, 302, "/b")
    assert guard.process_response(request, response) is response
    ok = Response("http://127.0.0.1/a", status=200, headers={"Location": "/a"})
    assert guard.process_response(request, ok) is ok


def test_warc_capture_writes_through_the_runs_archive_run() -> None:
    crawler = get_crawler(settings_dict=project_settings())
    middleware = WarcCaptureMiddleware.from_crawler(crawler)
    assert middleware.run is crawler.get_extension(ArchiveRun)


def test_warc_capture_is_off_without_the_archive_run() -> None:
    settings = project_settings()
    settings["EXTENSIONS"] = {**settings["EXTENSIONS"], "crawler.extensions.ArchiveRun": None}
    crawler = get_crawler(settings_dict=settings)
    assert crawler.get_extension(ArchiveRun) is None
    with pytest.raises(NotConfigured):
        WarcCaptureMiddleware.from_crawler(crawler)
