"""Item pipeline: check each record against the schema and store it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy import Spider
from scrapy.exceptions import DropItem

from archive.records import dumps, validation_errors
from archive.session import ArchiveSession
from crawler.archiving import session_for
from crawler.fields import present_fields

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector


class ArchivePipeline:
    """Validate every record (schema v1) and hand it to the archive session.

    An invalid record is never stored: it is dropped and reported with its
    URL, because a half-filled record is a wrong research result.
    """

    def __init__(
        self,
        session: ArchiveSession,
        stats: StatsCollector,
        crawler: Crawler,
        max_record_bytes: int = 2 * 1024 * 1024,
    ) -> None:
        self.session = session
        self.stats = stats
        self.crawler = crawler
        self.max_record_bytes = max_record_bytes

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        assert crawler.stats is not None
        return cls(
            session_for(crawler),
            crawler.stats,
            crawler,
            crawler.settings.getint("UIR_NEWS_MAX_RECORD_BYTES", 2 * 1024 * 1024),
        )

    def _reject(self, record: dict[str, Any], reason: str, detail: str) -> DropItem:
        self.stats.inc_value(f"archive/records_{reason}")
        report = getattr(self.crawler.spider, "report", None)
        if report is not None:
            report(record.get("url", "?"), reason, detail)
        return DropItem(f"{reason} {record.get('url')}: {detail}")

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        record: dict[str, Any] = dict(item)
        errors = validation_errors(record)
        if errors:
            raise self._reject(record, "invalid_record", "; ".join(errors[:3]))
        record_json = dumps(record, indent=None)
        size = len(record_json.encode("utf-8"))
        if size > self.max_record_bytes:
            raise self._reject(
                record, "record_too_large", f"{size} bytes > {self.max_record_bytes}"
            )
        _, result = self.session.store_record(record, record_json=record_json)
        self.stats.inc_value(
            "archive/records_written" if result.new_version else "archive/records_unchanged"
        )
        if result.new_version and not result.new_article:
            self.stats.inc_value("archive/records_edited")
        self.stats.inc_value("extract/records")
        for name in present_fields(record):
            self.stats.inc_value(f"extract/field_present/{name}")
        return item
