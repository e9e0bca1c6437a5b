"""The WARC writer: records, digests, rotation, `.open` naming, read-back."""

from __future__ import annotations

import gzip
import hashlib
import itertools
from base64 import b32encode
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.storage.warc import (
    OPEN_SUFFIX,
    HttpExchange,
    RecordFactory,
    RotatingWarcWriter,
    WarcPointer,
    iter_records,
    list_warcs,
    read_record,
    resolve_warc_path,
)
from tests.helpers.warc import warcio_check

WHEN = datetime(2025, 7, 14, 8, 30, 0, tzinfo=UTC)


def exchange(n: int, body: bytes | None = None, **extra: object) -> HttpExchange:
    return HttpExchange(
        url=f"http://127.0.0.1:8000/info/1031/{20000 + n}.htm",
        method="GET",
        request_headers=[("User-Agent", "uir-news-test"), ("Accept-Encoding", "gzip")],
        status=200,
        response_headers=[("Content-Type", "text/html"), ("ETag", f'"{n}"')],
        response_body=body if body is not None else f"<html>第{n}篇</html>".encode(),
        fetched_at=WHEN,
        **extra,  # type: ignore[arg-type]
    )


def deterministic_factory() -> RecordFactory:
    counter = itertools.count()
    return RecordFactory(
        make_record_id=lambda: f"<urn:uuid:00000000-0000-0000-0000-{next(counter):012d}>"
    )


def sha1_b32(data: bytes) -> str:
    return "sha1:" + b32encode(hashlib.sha1(data).digest()).decode()


def test_writes_warcinfo_response_and_request_with_correct_digests(tmp_path: Path) -> None:
    writer = RotatingWarcWriter(tmp_path, factory=deterministic_factory())
    written = writer.write_exchange(exchange(1))
    assert writer.current_name is not None
    assert (tmp_path / (writer.current_name + OPEN_SUFFIX)).exists()
    closed = writer.close()
    assert closed is not None and closed.name.endswith(".warc.gz")
    assert not list(tmp_path.glob("*" + OPEN_SUFFIX))

    with closed.open("rb") as fh:
        records = [
            (r.rec_type, r.rec_headers, r.content_stream().read()) for r in ArchiveIterator(fh)
        ]
    assert [r[0] for r in records] == ["warcinfo", "response", "request"]
    _, response_headers, body = records[1]
    assert body == "<html>第1篇</html>".encode()
    assert response_headers.get_header("WARC-Payload-Digest") == sha1_b32(body)
    assert response_headers.get_header("WARC-Date") == "2025-07-14T08:30:00Z"
    _, request_headers, _ = records[2]
    assert request_headers.get_header("WARC-Concurrent-To") == written.record_id
    assert warcio_check(closed).returncode == 0


def test_every_record_is_its_own_gzip_member(tmp_path: Path) -> None:
    writer = RotatingWarcWriter(tmp_path)
    pointers = [writer.write_exchange(exchange(n)).response for n in range(3)]
    path = writer.close()
    assert path is not None
    data = path.read_bytes()
    for pointer in pointers:
        member = data[pointer.offset : pointer.offset + pointer.length]
        assert gzip.decompress(member).startswith(b"WARC/1.1\r\n")


def test_pointer_reads_back_the_response(tmp_path: Path) -> None:
    writer = RotatingWarcWriter(tmp_path)
    pointers = [writer.write_exchange(exchange(n)).response for n in range(5)]
    # Readable while the file is still open (the crawl runs), and after close.
    assert read_record(tmp_path, pointers[2]).body == "<html>第2篇</html>".encode()
    writer.close()
    for n, pointer in enumerate(pointers):
        stored = read_record(tmp_path, pointer)
        assert stored.record_type == "response"
        assert stored.status == 200
        assert stored.url.endswith(f"/{20000 + n}.htm")


def test_gzip_body_is_stored_as_sent(tmp_path: Path) -> None:
    raw = gzip.compress("正文".encode() * 50)
    ex = HttpExchange(
        url="http://127.0.0.1/x.htm",
        method="GET",
        request_headers=[],
        status=200,
        response_headers=[("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")],
        response_body=raw,
        fetched_at=WHEN,
    )
    writer = RotatingWarcWriter(tmp_path)
    pointer = writer.write_exchange(ex).response
    path = writer.close()
    assert path is not None
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "response":
                assert record.raw_stream.read() == raw
                assert (
                    record.http_headers.get_header("X-Archive-Orig-Transfer-Encoding") == "chunked"
                )
    # Reading back through our API decodes the content.
    assert read_record(tmp_path, pointer).body == "正文".encode() * 50
    assert warcio_check(path).returncode == 0


def test_rotates_at_size_limit_and_every_file_starts_with_warcinfo(tmp_path: Path) -> None:
    writer = RotatingWarcWriter(tmp_path, max_size=4_000)
    pointers = [
        writer.write_exchange(exchange(n, body=bytes(range(256)) * 8)).response for n in range(12)
    ]
    writer.close()
    files = list_warcs(tmp_path)
    assert len(files) > 2
    assert {p.file for p in pointers} == {f.name for f in files}
    for path in files:
        kinds = [r.rec_type for _, r, _ in iter_records(path)]
        assert kinds[0] == "warcinfo" and kinds.count("warcinfo") == 1
        assert warcio_check(path).returncode == 0
    for n, pointer in enumerate(pointers):
        assert read_record(tmp_path, pointer).url.endswith(f"/{20000 + n}.htm")


def test_iter_records_pointers_match_writer_pointers(tmp_path: Path) -> None:
    writer = RotatingWarcWriter(tmp_path)
    written = [writer.write_exchange(exchange(n)) for n in range(3)]
    path = writer.close()
    assert path is not None
    listed = [ptr for ptr, record, _ in iter_records(path) if record.rec_type == "response"]
    assert listed == [w.response for w in written]


def test_warcio_check_reports_a_corrupted_file(tmp_path: Path) -> None:
    writer = RotatingWarcWriter(tmp_path)
    writer.write_exchange(exchange(1, body=b"A" * 500))
    path = writer.close()
    assert path is not None
    data = bytearray(gzip.decompress(path.read_bytes()))
    at = data.index(b"A" * 500)
    data[at] = ord("B")  # payload no longer matches its digest
    broken = tmp_path / "broken.warc"
    broken.write_bytes(bytes(data))
    result = warcio_check(broken)
    assert result.returncode != 0
    assert "digest failed" in result.stdout


@pytest.mark.parametrize("name", ["../x.warc.gz", "/etc/passwd", "a/b.warc.gz", "x.txt"])
def test_pointer_names_cannot_escape_the_warc_directory(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        resolve_warc_path(tmp_path, name)
    with pytest.raises(ValueError):
        read_record(tmp_path, WarcPointer(name, 0, 10))
