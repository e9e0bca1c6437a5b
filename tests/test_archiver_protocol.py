"""The archiver's messages: framing round-trip, and one handler per message type.

The handlers run against a real archive session in a temporary directory
(``serve`` in this process, over in-memory streams), not against mocks.
"""

from __future__ import annotations

import io
import os
import pickle
import sqlite3
from pathlib import Path

import pytest

from archive.storage import catalog
from archive.storage.layout import ArchiveLayout
from archive.storage.warc import WarcPointer
from crawler.archiver.pages import ArticlePage, ParsedPage
from crawler.archiver.protocol import (
    ArchiverResult,
    Article,
    Capture,
    Close,
    Failed,
    Message,
    Open,
    Parsed,
    Unchanged,
    iso_utc,
    receive_message,
    send_message,
)
from crawler.archiver.worker import ArticleArchiver, open_session, serve
from crawler.extract import ListingItem
from crawler.failures import Problem

URL = "http://127.0.0.1:8000/info/1031/1.htm"


def _capture_row() -> catalog.Capture:
    return catalog.Capture.with_validators(
        [("ETag", '"abc"')],
        url=URL,
        fetched_at="2026-01-01T00:00:00Z",
        status=200,
        record_type="response",
        pointer=WarcPointer("UIRNEWS-1.warc.gz", 0, 10),
        payload_digest="sha1:AAAA",
        record_id="<urn:uuid:1>",
    )


MESSAGES: list[Message] = [
    Open(Path("/tmp/archive"), 1024, "INFO"),
    Capture(_capture_row()),
    Article(
        ArticlePage(
            URL,
            {"file": "f.warc.gz", "offset": 0, "length": 1},
            "2026-01-01T00:00:00Z",
            b"<html>\xe4\xb8\xad</html>",
            ListingItem(URL, "标题", "2026-01-01", "2026-01-01", "article"),
            "http://127.0.0.1:8000/ggyw.htm",
            7,
        )
    ),
    Parsed(ParsedPage(URL, None, "not_an_article", "no body")),
    Unchanged(URL, "2026-01-02T00:00:00Z"),
    Failed(URL, "timeout", "took too long", "2026-01-02T00:00:00Z"),
    Close(),
]


def test_every_message_survives_the_framing_in_order() -> None:
    stream = io.BytesIO()
    for message in MESSAGES:
        send_message(stream, message)
    stream.seek(0)
    received = [receive_message(stream) for _ in MESSAGES]
    assert received == MESSAGES
    assert [type(m) for m in received] == [type(m) for m in MESSAGES]
    with pytest.raises(EOFError, match="end of messages"):
        receive_message(stream)


def test_framing_over_a_real_pipe() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "wb") as writer, os.fdopen(read_fd, "rb") as reader:
        send_message(writer, Unchanged(URL, "2026-01-02T00:00:00Z"))
        result = ArchiverResult(stats={"a": 1}, problems=[Problem(URL, "timeout")], cpu_s=0.5)
        send_message(writer, result)
        assert receive_message(reader) == Unchanged(URL, "2026-01-02T00:00:00Z")
        assert receive_message(reader) == result


def test_a_message_cut_short_is_the_end_of_the_stream() -> None:
    stream = io.BytesIO()
    send_message(stream, Failed(URL, "timeout", "", "2026-01-02T00:00:00Z"))
    data = stream.getvalue()
    assert int.from_bytes(data[:8], "big") == len(data) - 8
    with pytest.raises(EOFError, match="cut short"):
        receive_message(io.BytesIO(data[:-1]))
    with pytest.raises(EOFError, match="end of messages"):
        receive_message(io.BytesIO(data[:5]))


def test_messages_are_frozen() -> None:
    message = Unchanged(URL, "2026-01-02T00:00:00Z")
    with pytest.raises(AttributeError):
        message.url = "x"  # type: ignore[misc]


def test_iso_utc_is_the_archive_time_format() -> None:
    stamp = iso_utc()
    assert stamp.endswith("Z") and len(stamp) == len("2026-01-01T00:00:00Z")


@pytest.fixture
def archiver(tmp_path: Path) -> ArticleArchiver:
    opened = Open(tmp_path / "archive", 2 * 1024 * 1024, "INFO")
    return ArticleArchiver(open_session(opened), opened.max_record_bytes)


def _rows(archive: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(archive / "catalog.sqlite")
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def test_serve_hands_each_message_to_its_handler(tmp_path: Path, archiver: ArticleArchiver) -> None:
    inbox, outbox = io.BytesIO(), io.BytesIO()
    messages: list[Message] = [
        Capture(_capture_row()),
        Failed(URL, "timeout", "took too long", "2026-01-02T00:00:00Z"),
        Parsed(ParsedPage("http://127.0.0.1:8000/info/1031/2.htm", None, "not_an_article")),
        Close(),
    ]
    for message in messages:
        send_message(inbox, message)
    inbox.seek(0)
    assert serve(archiver, inbox, outbox) == 0
    outbox.seek(0)
    result = receive_message(outbox)
    assert isinstance(result, ArchiverResult) and result.error is None
    assert result.problems == [Problem("http://127.0.0.1:8000/info/1031/2.htm", "not_an_article")]
    assert result.stats["crawl/problems/not_an_article"] == 1
    archive = tmp_path / "archive"
    assert _rows(archive, "SELECT url, record_type FROM captures") == [(URL, "response")]
    failures = {url: reason for url, reason in _rows(archive, "SELECT url, reason FROM failures")}
    assert failures == {URL: "timeout", "http://127.0.0.1:8000/info/1031/2.htm": "not_an_article"}


def test_an_unknown_message_stops_the_archiver_with_an_error(archiver: ArticleArchiver) -> None:
    with pytest.raises(ValueError, match="unknown archiver message str"):
        archiver.handle("capture")
    inbox, outbox = io.BytesIO(), io.BytesIO()
    inbox.write(len(pickle.dumps("capture")).to_bytes(8, "big") + pickle.dumps("capture"))
    inbox.seek(0)
    assert serve(archiver, inbox, outbox) == 1
    outbox.seek(0)
    answer = receive_message(outbox)
    assert isinstance(answer, ArchiverResult) and "unknown archiver message" in str(answer.error)
    archiver.session.close()


def test_the_archive_layout_is_created_by_the_session(tmp_path: Path) -> None:
    session = open_session(Open(tmp_path / "new", 1024, "INFO"))
    try:
        assert ArchiveLayout(tmp_path / "new").catalog_path.exists()
    finally:
        session.close()
