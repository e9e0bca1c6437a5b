"""An article page as fetched, and the record assembled from it (in either process).

:class:`ArticlePage` is the item the spider yields: Scrapy's pipeline hands
it to the archiver and its feed exports write it (without the body, see
``FEED_EXPORT_FIELDS`` in :mod:`crawler.settings`). :func:`parse_page` is the
one place a page becomes a record, run by the archiver process, or by the
crawl process when the archiver is behind.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from archive.storage.warc import WarcPointer
from crawler.archiver.protocol import iso_utc
from crawler.extract import ListingItem, NotAnArticle, merge_listing, parse_article
from record import ArticleRecord, WarcLocation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ColumnLabel:
    """The column an article page was reached from, as its record should name it.

    ``name`` and ``id`` were read from the column's listing (or configured):
    a configured one (``name_wins``/``id_wins``) replaces what the article
    page says; a read one only fills in what the article page lacks. ``key``
    is the column's key in the run's counts (``crawler.columns.ColumnWalk.key``).
    """

    key: str
    name: str | None
    id: int | None
    name_wins: bool = False
    id_wins: bool = False

    def apply(self, record: ArticleRecord) -> None:
        """Set ``record``'s ``column`` and ``column_id`` from this label, in place."""
        if self.name is not None and (self.name_wins or not record["column"]):
            record["column"] = self.name
        if self.id is not None and (self.id_wins or record["column_id"] is None):
            record["column_id"] = self.id


@dataclass(frozen=True)
class ArticlePage:
    """An article page as fetched: where its response is in the WARC, when, and its bytes.

    ``listing`` and ``page_url`` are the listing entry that linked to it and
    that listing page (None for a page retried from an earlier run);
    ``column`` the column it was listed in (None: not known).
    """

    url: str
    warc: WarcLocation
    fetched_at: str
    body: bytes = field(repr=False)
    listing: ListingItem | None = None
    page_url: str | None = None
    view_count: int | None = None
    #: Whether the run saw it on a listing page (True), walked the whole
    #: listing without it (False), or cannot tell (None: a re-check, a retry).
    listed: bool | None = None
    column: ColumnLabel | None = None


@dataclass(frozen=True)
class ParsedPage:
    """What became of an article page: its record, or why it has none."""

    url: str
    record: ArticleRecord | None
    reason: str = ""
    detail: str = ""
    listed: bool | None = None
    #: The key of the column it was listed in, for the run's per-column counts.
    column_key: str | None = None


def parse_page(page: ArticlePage) -> ParsedPage:
    """The record of an article page with what the crawl knows, or the reason it has none.

    The same in either process. A page that is not an article gets the
    extractor's reason; a parser exception on one page is reported as
    ``parse_error`` (the traceback goes to the log) instead of stopping the run.
    """
    try:
        article = parse_article(page.body, page.url)
    except NotAnArticle as exc:
        return ParsedPage(page.url, None, exc.reason, listed=page.listed)
    except Exception as exc:
        logger.exception("Could not parse %s", page.url)
        return ParsedPage(
            page.url, None, "parse_error", f"{type(exc).__name__}: {exc}", listed=page.listed
        )
    record = ArticleRecord(**article, listing=None, fetched_at=page.fetched_at, warc=page.warc)
    if page.listing is not None and page.page_url is not None:
        record = merge_listing(record, page.listing, page.page_url)
    if page.view_count is not None:
        record["view_count"] = page.view_count
    if page.column is not None:
        page.column.apply(record)
    return ParsedPage(
        page.url,
        record,
        listed=page.listed,
        column_key=page.column.key if page.column else None,
    )


_ARTICLE_PATH = re.compile(r"/info/\d+/\d+\.htm$")


def reparse_response(
    url: str, body: bytes, fetched_at: str, warc: WarcPointer
) -> ArticleRecord | None:
    """The record of an archived article response, as a crawl would have made it; else None.

    What ``rebuild`` (and the repair at the start of a crawl) calls for a WARC
    response no valid JSON record points at, so the WARC stays the source of
    truth. Only article URLs are parsed; the listing entry is not known here.
    """
    if not _ARTICLE_PATH.search(urlsplit(url).path):
        return None
    try:
        when = iso_utc(datetime.fromisoformat(fetched_at.replace("Z", "+00:00")))
    except ValueError:
        when = fetched_at
    location = WarcLocation(file=warc.file, offset=warc.offset, length=warc.length)
    return parse_page(ArticlePage(url, location, when, body)).record
