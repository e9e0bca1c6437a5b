"""A synthetic archive written the way a crawl writes one, for replay, index and verify tests.

:func:`build_archive` writes three crawls (T0, T1, T2) through the production
path (``archive_exchange`` into a WARC writer, captures and records through an
``ArchiveSession``): responses, a 304 revisit, an identical-payload revisit, a
changed article, a 404, WARC rotation; then updates the CDXJ index.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from archive.replay.cdxj import update_index
from archive.storage.layout import ArchiveLayout
from archive.storage.session import ArchiveSession, PreviousCapture, archive_exchange
from archive.storage.warc import (
    NOTES_SUFFIX,
    HttpExchange,
    RotatingWarcWriter,
    WrittenExchange,
    list_warcs,
)
from tests.helpers.records import make_record

BASE = "http://127.0.0.1:8000"
T0 = datetime(2025, 7, 14, 8, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)
T2 = T0 + timedelta(days=2)


def article_url(i: int) -> str:
    return f"{BASE}/info/1031/{10000 + i}.htm"


def page(i: int, version: int = 1) -> bytes:
    return (
        f"<html><head><title>测试新闻 {i}</title></head><body>"
        f"<h1>测试新闻 {i}</h1><p>正文第{i}篇，第{version}版。</p>"
        + "<p>段落</p>" * 40
        + "</body></html>"
    ).encode()


@dataclass
class Built:
    """A synthetic archive and what a reader should find in it."""

    layout: ArchiveLayout
    served: dict[tuple[str, datetime], bytes] = field(default_factory=dict)
    gzip_url: str = article_url(0)
    not_modified_url: str = article_url(0)  # 304 revisit at T1
    identical_url: str = article_url(1)  # identical-payload revisit at T1
    changed_url: str = article_url(2)  # new version at T2
    missing_url: str = f"{BASE}/info/1031/gone.htm"  # a 404 at T0
    articles: int = 0


def exchange(
    url: str,
    when: datetime,
    body: bytes,
    *,
    status: int = 200,
    gzip_body: bool = False,
    etag: str | None = None,
) -> HttpExchange:
    headers = [("Content-Type", "text/html; charset=utf-8")]
    if etag:
        headers.append(("ETag", etag))
    wire = body
    if gzip_body:
        wire = gzip.compress(body, mtime=0)
        headers.append(("Content-Encoding", "gzip"))
    headers.append(("Content-Length", str(len(wire))))
    return HttpExchange(
        url=url,
        method="GET",
        request_headers=[("User-Agent", "uir-news-test"), ("Accept-Encoding", "gzip")],
        status=status,
        response_headers=headers,
        response_body=wire,
        fetched_at=when,
    )


@dataclass
class SyntheticCrawl:
    """One crawl's two writers, as in production: the WARC writer and the catalog session."""

    writer: RotatingWarcWriter
    session: ArchiveSession

    def write_exchange(self, exchange: HttpExchange) -> WrittenExchange:
        written, capture = archive_exchange(self.writer, exchange)
        self.session.add_capture(capture)
        return written

    def write_revisit(
        self, exchange: HttpExchange, previous: PreviousCapture, *, not_modified: bool
    ) -> WrittenExchange:
        written, capture = archive_exchange(
            self.writer, exchange, revisit_of=previous, not_modified=not_modified
        )
        self.session.add_capture(capture)
        return written

    def previous_capture(self, url: str) -> PreviousCapture | None:
        return self.session.previous_capture(url)

    def mark_unchanged(self, url: str, when: str) -> None:
        self.session.mark_unchanged(url, when)

    def store_record(self, record: dict[str, object]) -> None:
        self.session.store_record(record)

    def close(self) -> None:
        self.writer.close()
        self.session.close()


def open_crawl(layout: ArchiveLayout, when: datetime, max_size: int) -> SyntheticCrawl:
    writer = RotatingWarcWriter(
        layout.warc_dir,
        max_size=max_size,
        clock=lambda: when,
        index_notes_dir=layout.index_notes_dir,
    )
    return SyntheticCrawl(writer, ArchiveSession(layout))


def store_article(session: SyntheticCrawl, i: int, when: datetime, written: object, v: int) -> None:
    pointer = written.response.as_dict()  # type: ignore[attr-defined]
    session.store_record(
        make_record(
            i,
            url=article_url(i),
            title=f"测试新闻 {i}",
            body_text=f"正文第{i}篇，第{v}版。",
            fetched_at=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            warc=pointer,
        )
    )


def build_archive(root: Path, *, articles: int = 4, max_size: int = 4000) -> Built:
    """Three crawls (T0, T1, T2) of ``articles`` articles into ``root``, indexed."""
    layout = ArchiveLayout(root)
    built = Built(layout, articles=articles)

    session = open_crawl(layout, T0, max_size)
    for i in range(articles):
        body = page(i)
        written = session.write_exchange(
            exchange(article_url(i), T0, body, gzip_body=(i == 0), etag=f'"v1-{i}"')
        )
        built.served[(article_url(i), T0)] = body
        store_article(session, i, T0, written, 1)
    session.write_exchange(exchange(built.missing_url, T0, b"not found", status=404))
    built.served[(built.missing_url, T0)] = b"not found"
    session.close()

    session = open_crawl(layout, T1, max_size)
    previous = session.previous_capture(built.not_modified_url)
    assert previous is not None
    session.write_revisit(
        exchange(built.not_modified_url, T1, b"", status=304, etag='"v1-0"'),
        previous,
        not_modified=True,
    )
    session.mark_unchanged(built.not_modified_url, T1.isoformat())
    built.served[(built.not_modified_url, T1)] = page(0)
    previous = session.previous_capture(built.identical_url)
    assert previous is not None
    session.write_revisit(
        exchange(built.identical_url, T1, page(1), etag='"v1-1"'), previous, not_modified=False
    )
    built.served[(built.identical_url, T1)] = page(1)
    session.close()

    session = open_crawl(layout, T2, max_size)
    written = session.write_exchange(exchange(built.changed_url, T2, page(2, 2), etag='"v2-2"'))
    built.served[(built.changed_url, T2)] = page(2, 2)
    store_article(session, 2, T2, written, 2)
    session.close()

    # The writer noted every file's index lines; the update uses and drops them,
    # but for the newest file's, which a next run may continue.
    noted = sorted(p.name for p in layout.index_notes_dir.iterdir())
    warcs = list_warcs(layout.warc_dir)
    assert noted == sorted(p.name + NOTES_SUFFIX for p in warcs)
    update_index(layout)
    assert [p.name for p in layout.index_notes_dir.iterdir()] == [warcs[-1].name + NOTES_SUFFIX]
    return built
