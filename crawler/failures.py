"""Why a page was not archived: the reasons, the problem entry, and which are retried.

Every page the crawl could not turn into a record is reported once, as a
:class:`Problem` with a short stable reason (``timeout``, ``http_404``,
``not_an_article``...). Two rules hang on the reason: whether it counts as a
failure of the run (exit code 1), and whether the next runs try the page
again (noted in the catalog's ``failures`` table).
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import asdict, dataclass
from typing import Any

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

from crawler.extract.article import DYNAMIC_URL

#: A content.jsp listing item whose page answers 404/410 at content.jsp and at
#: its /info/T/N.htm URL: the site lists it but does not show it to the public.
DYNAMIC_NOT_PUBLIC = "dynamic_not_public"

#: Reasons for which nothing is lost: the site asked us not to fetch the page,
#: or it is not an article, or not public. Every other reason counts as a
#: failure of the run. (``dynamic_url`` is kept for older run summaries.)
NOT_FAILURES = frozenset({"robots_disallowed", DYNAMIC_URL, DYNAMIC_NOT_PUBLIC})

#: Reasons not tried again on later runs: content.jsp items are dynamic
#: pages, never archived as articles.
NOT_RETRIED = frozenset({DYNAMIC_URL})

#: Failures the same request will meet again, whatever the day: they are
#: reported once, remembered in the catalog, and not tried again by the next
#: runs, not even when the listing still names the article; `crawl --full`
#: tries them once more.
PERMANENT = frozenset({"too_large", "offsite_redirect", "redirect_loop", DYNAMIC_NOT_PUBLIC})

#: Prefix of the reasons of a page requisite (image, attachment, style sheet,
#: script) that could not be archived: ``requisite_http_404``,
#: ``requisite_too_large``... The article itself is archived, so the run is
#: not partial; the next run asks again only if the article is fetched again.
REQUISITE_PREFIX = "requisite_"


@dataclass(frozen=True)
class Problem:
    """A page that was not archived, as the run summary lists it.

    ``article`` is False for pages that are not articles (listing pages,
    robots.txt refusals): those are never noted for the next run.
    """

    url: str
    reason: str
    detail: str = ""
    article: bool = True
    #: How many runs have tried this page and failed, this one included.
    attempts: int = 1

    @property
    def is_failure(self) -> bool:
        """Whether this page was lost (the run then exits 1); a missing requisite is not."""
        return self.reason not in NOT_FAILURES and not self.is_requisite

    @property
    def is_requisite(self) -> bool:
        """Whether this is a requisite of an archived page (non-fatal, never retried alone)."""
        return self.reason.startswith(REQUISITE_PREFIX)

    @property
    def noted_for_next_runs(self) -> bool:
        """Whether the catalog notes the page: the next runs retry it, or skip a permanent one."""
        return self.article and self.reason not in NOT_RETRIED

    @property
    def permanent(self) -> bool:
        return self.reason in PERMANENT

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Problem:
        """An entry of a run summary; ``article`` defaults to True when absent."""
        return cls(
            str(data["url"]),
            str(data["reason"]),
            str(data.get("detail") or ""),
            bool(data.get("article", True)),
            int(data.get("attempts", 1)),
        )


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
