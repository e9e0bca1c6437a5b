"""Naming why a request failed, so every lost page is reported with a reason."""

from __future__ import annotations

import gzip
import zlib

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionDone, ConnectionLost, TimeoutError
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

# A reset (non-clean close) is told apart from a body cut short by a clean
# close (ConnectionDone), which twisted reports as data loss.
_RESET = (ConnectionLost, ConnectionResetError)
_BROKEN = (ResponseFailed, ResponseNeverReceived, DownloadFailedError)


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps: __cause__ chains and twisted's ``reasons`` lists."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 20:
        current = todo.pop()
        seen.append(current)
        if current.__cause__ is not None:
            todo.append(current.__cause__)
        for reason in getattr(current, "reasons", None) or []:
            value = reason.value if isinstance(reason, Failure) else reason
            if isinstance(value, BaseException):
                todo.append(value)
    return seen


def failure_reason(failure: Failure) -> str:
    """A short, stable name for what went wrong (``fetch_failed`` when unknown)."""
    exc = failure.value
    message = str(exc)
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if isinstance(exc, IgnoreRequest):
        if "robots.txt" in message:
            return "robots_disallowed"
        if "max redirections" in message or "redirect loop" in message:
            return "redirect_loop"
        if "offsite" in message:
            return "offsite_redirect"
        if "DOWNLOAD_MAXSIZE" in message:
            return "too_large"
        return "ignored"
    if isinstance(exc, DownloadCancelledError) or "max size" in message:
        return "too_large"
    causes = _causes(exc) if isinstance(exc, BaseException) else []
    if any(isinstance(c, (DownloadTimeoutError, TimeoutError)) for c in causes):
        return "timeout"
    if any(isinstance(c, (DownloadConnectionRefusedError, CannotResolveHostError)) for c in causes):
        return "unreachable"
    if any(isinstance(c, (zlib.error, gzip.BadGzipFile, EOFError)) for c in causes):
        return "bad_gzip"
    if any(isinstance(c, _RESET) for c in causes):
        return "connection_reset"
    if any(isinstance(c, (ResponseDataLossError, ConnectionDone)) for c in causes):
        return "truncated"
    if any(isinstance(c, _BROKEN) for c in causes):
        return "connection_reset"
    return "fetch_failed"
