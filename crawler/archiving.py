"""One :class:`archive.session.ArchiveSession` per crawler, shared by components.

The WARC middleware, the spider and the pipeline all talk to the same
session (one WARC writer, one catalog connection). It is created on first use
from the crawler's settings and closed when the spider closes, after the last
item has gone through the pipeline.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING, Any

from scrapy import Spider, signals

from archive.paths import ArchiveLayout
from archive.search import ensure_search_schema, index_article
from archive.session import ArchiveSession, Indexer
from archive.warc import RotatingWarcWriter
from crawler.config import archive_dir_from_settings

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

_ATTRIBUTE = "_uir_news_archive_session"


class SearchIndexer:
    """Keeps the search index in step with every stored record.

    The search tables are checked (and created) once per connection, not
    once per record: the check is two queries on the crawl's hot path.
    """

    def __init__(self) -> None:
        self._ready: list[sqlite3.Connection] = []

    def __call__(self, conn: sqlite3.Connection, article_id: int, record: dict[str, Any]) -> None:
        if not any(ready is conn for ready in self._ready):
            ensure_search_schema(conn)
            self._ready.append(conn)
        index_article(conn, article_id, record)


def search_indexer() -> Indexer:
    return SearchIndexer()


def session_for(crawler: Crawler) -> ArchiveSession:
    """The crawler's archive session, created on first call."""
    session: ArchiveSession | None = getattr(crawler, _ATTRIBUTE, None)
    if session is not None:
        return session
    settings = crawler.settings
    layout = ArchiveLayout(archive_dir_from_settings(settings))
    layout.create()
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
    session = ArchiveSession(layout, writer, indexer=search_indexer())
    setattr(crawler, _ATTRIBUTE, session)

    def close(spider: Spider, reason: str) -> None:
        closed = session.close()
        if closed is not None:
            logger.info("Closed WARC %s", closed)
        assert crawler.stats is not None
        crawler.stats.set_value("archive/warc_files", [p.name for p in writer.closed_files])
        crawler.stats.set_value("archive/warc_bytes", writer.bytes_written)

    crawler.signals.connect(close, signal=signals.spider_closed, weak=False)
    return session
