"""Pages that did not become records, noted alike by the spider and the archiver."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crawler.extract.article import DYNAMIC_URL

#: Reasons not tried again on later runs: content.jsp items are dynamic
#: pages, never archived as articles.
_NOT_RETRIED = frozenset({DYNAMIC_URL})


def iso_utc(when: datetime | None = None) -> str:
    """``when`` (default: now) as the archive writes times: UTC, to the second, ``Z``."""
    return (when or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")


def problem(url: str, reason: str, detail: str = "", *, article: bool = True) -> dict[str, Any]:
    """The run summary's entry for a page that was not archived."""
    return {"url": url, "reason": reason, "detail": detail, "article": article}


def retry_next_run(entry: dict[str, Any]) -> bool:
    """Whether the catalog should note the page, so the next runs try it again."""
    return bool(entry["article"]) and entry["reason"] not in _NOT_RETRIED
