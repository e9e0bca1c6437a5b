"""A small archive of real article pages (the saved fixtures), written the way a crawl writes.

Each fixture page is written to the WARC as its server's response, parsed
into its record by the crawler's own ``reparse_response`` (the one the
rebuild uses), stored through an ``ArchiveSession`` with the search indexer,
and the CDXJ index is brought up to date: what ``rebuild`` must re-derive
from the WARC is exactly what a crawl made.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from archive.replay.cdxj import update_index
from archive.research.search import search_indexer
from archive.storage.layout import ArchiveLayout
from archive.storage.session import ArchiveSession, archive_exchange
from archive.storage.warc import HttpExchange, RotatingWarcWriter
from crawler.archiver.pages import reparse_response

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
T0 = datetime(2025, 7, 14, 8, 0, 0, tzinfo=UTC)


@dataclass
class RealArchive:
    layout: ArchiveLayout
    urls: list[str]

    def sha256(self) -> dict[str, str]:
        """Digest of every WARC file, to show a command left them untouched."""
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(self.layout.warc_dir.glob("*.warc.gz*"))
        }


def build_real_archive(root: Path, *, pages: int = 12, max_size: int = 60_000) -> RealArchive:
    """``pages`` fixture articles fetched an hour apart, in WARCs of about ``max_size`` bytes."""
    layout = ArchiveLayout(root)
    index = json.loads((PAGES / "index.json").read_text("utf-8"))
    names = [name for name in sorted(index) if (PAGES / f"{name}.html").exists()]
    writer = RotatingWarcWriter(
        layout.warc_dir, max_size=max_size, index_notes_dir=layout.index_notes_dir
    )
    session = ArchiveSession(layout, indexer=search_indexer())
    urls = []
    for n, name in enumerate(names):
        url = str(index[name])
        when = T0 + timedelta(hours=n)
        body = (PAGES / f"{name}.html").read_bytes()
        written, capture = archive_exchange(
            writer,
            HttpExchange(
                url=url,
                method="GET",
                request_headers=[("User-Agent", "uir-news-test")],
                status=200,
                response_headers=[("Content-Type", "text/html; charset=utf-8")],
                response_body=body,
                fetched_at=when,
            ),
        )
        session.add_capture(capture)
        record = reparse_response(url, body, written.warc_date, written.response)
        if record is None:
            continue
        session.store_record(record)
        urls.append(url)
        if len(urls) == pages:
            break
    writer.close()
    session.close()
    update_index(layout)
    return RealArchive(layout, urls)
