"""Repairing WARCs cut short by a kill, and rebuilding the catalog from files."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archive.storage import catalog
from archive.storage.layout import ArchiveLayout
from archive.storage.recovery import complete_members_end, rebuild, repair_open_warcs
from archive.storage.warc import OPEN_SUFFIX, HttpExchange, RotatingWarcWriter, iter_records
from tests.helpers.records import make_record
from tests.helpers.warc import warcio_check


def _exchange(n: int) -> HttpExchange:
    return HttpExchange(
        url=f"http://127.0.0.1/info/1031/{n}.htm",
        method="GET",
        request_headers=[],
        status=200,
        response_headers=[("Content-Type", "text/html"), ("ETag", f'"e{n}"')],
        response_body=("<p>正文</p>" * 200 + str(n)).encode(),
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _open_warc_with(tmp_path: Path, n: int) -> Path:
    """A WARC left open, as by a killed run, holding ``n`` exchanges."""
    scratch = tmp_path / "scratch"
    writer = RotatingWarcWriter(scratch)
    for i in range(max(n, 1)):
        writer.write_exchange(_exchange(i))
    closed = writer.close()
    assert closed is not None
    data = closed.read_bytes()
    if n == 0:  # only the warcinfo record made it to disk
        pointers = [pointer for pointer, _, _ in iter_records(closed)]
        data = data[: pointers[0].length]
    left_open = tmp_path / (closed.name + OPEN_SUFFIX)
    left_open.write_bytes(data)
    shutil.rmtree(scratch)
    return left_open


def test_truncated_tail_is_cut_and_file_closed(tmp_path: Path) -> None:
    path = _open_warc_with(tmp_path, 3)
    whole_end, members = complete_members_end(path)
    assert members == 7  # warcinfo + 3 x (response, request)
    data = path.read_bytes()
    path.write_bytes(data[: whole_end - 25])  # the kill cut the last member
    report = repair_open_warcs(tmp_path)
    final = tmp_path / path.name.removesuffix(OPEN_SUFFIX)
    assert report.repaired == [final.name] and report.truncated_bytes > 0
    assert not path.exists() and final.exists()
    assert warcio_check(final).returncode == 0
    kinds = [record.rec_type for _, record, _ in iter_records(final)]
    assert kinds == ["warcinfo", "response", "request", "response", "request", "response"]


def test_intact_open_file_is_closed_unchanged(tmp_path: Path) -> None:
    path = _open_warc_with(tmp_path, 2)
    before = path.read_bytes()
    report = repair_open_warcs(tmp_path)
    assert report.truncated_bytes == 0
    assert (tmp_path / report.repaired[0]).read_bytes() == before


def test_file_without_records_is_set_aside(tmp_path: Path) -> None:
    path = _open_warc_with(tmp_path, 0)
    report = repair_open_warcs(tmp_path)
    assert report.set_aside == [path.name]
    assert (tmp_path / "setaside" / path.name).exists()
    assert not list(tmp_path.glob("*.warc.gz"))


def test_rebuild_recreates_captures_and_keeps_old_catalog_on_failure(tmp_path: Path) -> None:
    layout = ArchiveLayout(tmp_path)
    layout.create()
    writer = RotatingWarcWriter(layout.warc_dir)
    for i in range(4):
        writer.write_exchange(_exchange(i))
    writer.close()
    counts = rebuild(layout).counts
    assert counts["captures"] == 4 and counts["warc_files"] == 1
    conn = catalog.connect(layout.catalog_path)
    rows = conn.execute("SELECT url, etag, status FROM captures ORDER BY url").fetchall()
    conn.close()
    assert [r["etag"] for r in rows] == ['"e0"', '"e1"', '"e2"', '"e3"']
    assert {r["status"] for r in rows} == {200}

    # A record file that cannot be read (an empty file after a power cut) is
    # skipped and counted; its article will be fetched again.
    bad = layout.records_dir / "1031" / "9" / "bad.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("", encoding="utf-8")
    counts = rebuild(layout).counts
    assert counts["unreadable_records"] == 1 and counts["captures"] == 4


def test_rebuild_failure_keeps_the_old_catalog(tmp_path: Path) -> None:
    layout = ArchiveLayout(tmp_path)
    layout.create()
    writer = RotatingWarcWriter(layout.warc_dir)
    writer.write_exchange(_exchange(1))
    writer.close()
    rebuild(layout)
    saved = layout.catalog_path.read_bytes()
    # A run summary that is not JSON is skipped, not fatal.
    (layout.runs_dir / "broken.json").write_text("{", encoding="utf-8")
    assert rebuild(layout).counts["runs"] == 0
    saved = layout.catalog_path.read_bytes()
    # A rebuild stopped half way (Ctrl-C here) leaves the catalog it started from.
    (layout.records_dir / "1031").mkdir(parents=True)
    (layout.records_dir / "1031" / "1-x.json").write_text(
        json.dumps(make_record(1, warc={"file": "x.warc.gz", "offset": 0, "length": 1})), "utf-8"
    )

    def interrupted(conn: object, article_id: int, record: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rebuild(layout, on_record=interrupted)
    assert layout.catalog_path.read_bytes() == saved
    conn = catalog.connect(layout.catalog_path)
    assert conn.execute("SELECT count(*) FROM captures").fetchone()[0] == 1
    conn.close()
