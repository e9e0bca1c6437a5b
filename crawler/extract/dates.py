"""Publication dates: find the date line, parse it (regex first, dateparser else), bound it.

Dates on these pages are Beijing time (UTC+8, no DST since 1991) and always year-month-day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from typing import Any

from crawler.extract.text import normalize

BEIJING = timezone(timedelta(hours=8))
#: Founding of the PRC: nothing in this archive predates it.
EARLIEST = date(1949, 10, 1)

_DATE = (
    r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)(?:\s*日)?"
    r"(?:(?:\s*T\s*|\s+|(?<=日))(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{2})(?:\s*[:：分]\s*(?P<S>\d{2})(?:\s*秒)?|\s*分)?)?"
)
_LABEL = (
    r"(?:发布时间|发布日期|发表时间|发表日期|更新时间|更新日期|创建时间|上传时间|发文日期|成文日期"
    r"|时间|日期|发布于|发布)"
)
LABELED_DATE = re.compile(rf"{_LABEL}\s*[:：]?\s*(?P<date>{_DATE})")
BARE_DATE = re.compile(rf"(?<!\d)(?P<date>{_DATE})")
FULL_DATE = re.compile(rf"^\s*(?P<date>{_DATE})\s*$")
#: A label and colon followed by something that is not a Y-M-D date: handed to dateparser.
_LABEL_VALUE = re.compile(rf"{_LABEL}\s*[:：]\s*")
#: Where the value after a label ends: at the next `label：` on the same line.
_NEXT_LABEL = re.compile(r"\s*[^\s:：\d]+\s*[:：]")
_HAS_TIME = re.compile(r"\d{1,2}\s*[:：时]\s*\d{2}")
#: Lines longer than this are running text, not a date line.
MAX_DATE_LINE = 120


@dataclass(frozen=True, slots=True)
class FoundDate:
    """A parsed date: `value` is a date, or a Beijing-time datetime when the page shows a time."""

    raw: str
    value: date | datetime

    @property
    def iso(self) -> str:
        """`YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SS+08:00` when a time was shown."""
        if isinstance(self.value, datetime):
            return self.value.strftime("%Y-%m-%dT%H:%M:%S+08:00")
        return self.value.isoformat()

    @property
    def day(self) -> date:
        return self.value.date() if isinstance(self.value, datetime) else self.value

    def in_range(self, fetched_at: datetime | None) -> bool:
        """False when the date is before 1949-10-01 or after `fetched_at` (default: now)."""
        now = fetched_at or datetime.now(UTC)
        if now.tzinfo is None:  # the pipeline's clock is UTC
            now = now.replace(tzinfo=UTC)
        if self.day < EARLIEST:
            return False
        if isinstance(self.value, datetime):
            return self.value <= now
        return self.value <= now.astimezone(BEIJING).date()


def _from_match(match: re.Match[str]) -> FoundDate | None:
    raw = normalize(match.group("date"))
    y, m, d = int(match.group("y")), int(match.group("m")), int(match.group("d"))
    try:
        if match.group("H") is None:
            return FoundDate(raw, date(y, m, d))
        hour, minute, second = (
            int(match.group("H")),
            int(match.group("M")),
            int(match.group("S") or 0),
        )
        return FoundDate(raw, datetime(y, m, d, hour, minute, second, tzinfo=BEIJING))
    except ValueError:  # 2025-02-30, 25:00 …
        return None


@cache
def _dateparser() -> Any:
    """One DateDataParser for the process: building it (and its language data) is the slow part."""
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=["zh", "en"],
        settings={
            "TIMEZONE": "Asia/Shanghai",
            "RETURN_AS_TIMEZONE_AWARE": False,
            "DATE_ORDER": "YMD",
            "PREFER_DAY_OF_MONTH": "first",
            "REQUIRE_PARTS": ["day", "month", "year"],
        },
    )


def parse_date(text: str) -> FoundDate | None:
    """Parse one date string: regex fast path for Y-M-D forms, dateparser for everything else."""
    raw = normalize(text)
    if not raw:
        return None
    match = BARE_DATE.search(raw)
    if match:
        return _from_match(match)
    parsed = _dateparser().get_date_data(raw).date_obj
    if not isinstance(parsed, datetime):
        return None
    if _HAS_TIME.search(raw):
        return FoundDate(raw, parsed.replace(tzinfo=BEIJING, microsecond=0))
    return FoundDate(raw, parsed.date())


def find_date(
    lines: Iterable[str], *, skip: str | None = None, labeled_only: bool = False
) -> FoundDate | None:
    """The publication date in a page's header lines: a labelled date wins over a bare one.

    `skip` is a line to ignore (the title, which may itself contain a date).
    """
    bare: FoundDate | None = None
    candidates = [line for line in lines if line != skip and len(line) <= MAX_DATE_LINE]
    for line in candidates:
        match = LABELED_DATE.search(line)
        if match:
            found = _from_match(match)
            if found:
                return found
        label = _LABEL_VALUE.search(line)
        if label:
            rest = line[label.end() :]
            end = _NEXT_LABEL.search(rest)
            found = parse_date(rest[: end.start()] if end else rest)
            if found:
                return found
        if bare is None and not labeled_only:
            match = BARE_DATE.search(line)
            if match:
                bare = _from_match(match)
    return bare


def date_line(lines: Iterable[str], found: FoundDate) -> str | None:
    """The line the date was printed on (credits such as 作者/来源 often share it)."""
    for line in lines:
        if found.raw in normalize(line):
            return line
    return None
