"""Failure reasons for representative exceptions, and the rules that hang on a reason."""

# Twisted's exception and Failure constructors carry no type hints.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import zlib

import pytest
from scrapy import Request
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionDone, ConnectionLost, TimeoutError
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed

from crawler.failures import NOT_FAILURES, NOT_RETRIED, Problem, failure_reason


def _wrapped(outer: Exception, inner: BaseException) -> Exception:
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (HttpError(Response("http://h/x", status=503), "bad"), "http_503"),
        (IgnoreRequest("Forbidden by robots.txt"), "robots_disallowed"),
        (IgnoreRequest("redirect loop: a -> b"), "redirect_loop"),
        (IgnoreRequest("Gave up: max redirections reached"), "redirect_loop"),
        (IgnoreRequest("offsite redirect: a -> b"), "offsite_redirect"),
        (IgnoreRequest("bigger than DOWNLOAD_MAXSIZE"), "too_large"),
        (IgnoreRequest("something else"), "ignored"),
        (DownloadCancelledError("Cancelling download"), "too_large"),
        (DownloadTimeoutError("took too long"), "timeout"),
        (_wrapped(DownloadFailedError("x"), TimeoutError()), "timeout"),
        (DownloadConnectionRefusedError("refused"), "unreachable"),
        (CannotResolveHostError("no such host"), "unreachable"),
        (_wrapped(DownloadFailedError("x"), zlib.error("bad data")), "bad_gzip"),
        (ResponseFailed([Failure(ConnectionLost("reset"))]), "connection_reset"),
        (ResponseFailed([Failure(ConnectionDone())]), "truncated"),
        (ResponseDataLossError("cut"), "truncated"),
        (DownloadFailedError("broken"), "connection_reset"),
        (ValueError("anything"), "fetch_failed"),
    ],
)
def test_failure_reason(exc: Exception, reason: str) -> None:
    failure = Failure(exc)
    failure.request = Request("http://h/x")  # type: ignore[attr-defined]  # as Scrapy sets it
    assert failure_reason(failure) == reason


def test_lost_pages_are_failures_and_retried() -> None:
    lost = Problem("http://h/info/1.htm", "timeout", "took too long")
    assert lost.is_failure and lost.noted_for_next_runs


def test_robots_refusals_are_neither_failures_nor_retried_when_not_articles() -> None:
    refused = Problem("http://h/info/1.htm", "robots_disallowed", article=False)
    assert not refused.is_failure and not refused.noted_for_next_runs
    assert "robots_disallowed" in NOT_FAILURES


def test_dynamic_pages_are_never_retried() -> None:
    dynamic = Problem("http://h/content.jsp?id=1", "dynamic_url")
    assert not dynamic.is_failure and not dynamic.noted_for_next_runs
    assert NOT_RETRIED <= NOT_FAILURES


def test_listing_pages_are_failures_but_not_noted_for_retry() -> None:
    listing = Problem("http://h/ggyw/3.htm", "listing_http_500", article=False)
    assert listing.is_failure and not listing.noted_for_next_runs


def test_problem_json_round_trip_and_old_entries() -> None:
    entry = Problem("http://h/x", "http_404", "gone", article=True)
    assert entry.to_json() == {
        "url": "http://h/x",
        "reason": "http_404",
        "detail": "gone",
        "article": True,
        "attempts": 1,
    }
    assert Problem.from_json(entry.to_json()) == entry
    # Summaries written before "article" existed still read (as articles).
    assert Problem.from_json({"url": "u", "reason": "timeout", "detail": None}) == Problem(
        "u", "timeout", "", True
    )
