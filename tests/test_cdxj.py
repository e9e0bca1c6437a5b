"""The sorted CDXJ index: built by cdxj-indexer, merged incrementally, binary-searched."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from cdxj_indexer.main import write_cdx_index

from archive.replay import cdxj
from archive.replay.cdxj import CdxjEntry, index_path, lookup, update_index, url_key
from archive.storage.layout import ArchiveLayout
from archive.storage.warc import (
    OPEN_SUFFIX,
    RotatingWarcWriter,
    list_warcs,
)
from tests.helpers.synthetic_archive import (
    BASE,
    T0,
    T1,
    T2,
    Built,
    article_url,
    exchange,
    open_crawl,
    page,
)


def index_lines(layout: ArchiveLayout) -> list[bytes]:
    return index_path(layout).read_bytes().splitlines(keepends=True)


def library_index(warc_dir: Path) -> list[bytes]:
    """What the cdxj-indexer library itself makes of the WARCs, sorted."""
    out = io.StringIO()
    files = [str(p) for p in list_warcs(warc_dir)]
    write_cdx_index(out, files, {"sort": True, "records": "response,revisit,resource"})
    return out.getvalue().encode("utf-8").splitlines(keepends=True)


def test_index_is_the_library_output_sorted_in_byte_order(built: Built) -> None:
    lines = index_lines(built.layout)
    assert lines == sorted(lines)
    assert lines == library_index(built.layout.warc_dir)
    entries = [CdxjEntry.parse(line) for line in lines]
    # 4 responses + 404 at T0, two revisits at T1, one response at T2
    assert len(entries) == 8
    assert sum(e.is_revisit for e in entries) == 2
    assert {e.pointer.file for e in entries} == {p.name for p in list_warcs(built.layout.warc_dir)}


def test_notes_that_do_not_fit_the_file_are_not_trusted(tmp_path: Path) -> None:
    layout = ArchiveLayout(tmp_path)
    layout.create()
    session = open_crawl(layout, T0, 100_000)
    for i in range(3):
        session.write_exchange(exchange(article_url(i), T0, page(i)))
    session.close()
    (notes,) = layout.index_notes_dir.iterdir()
    # A note with a wrong offset, for a file of another size (as if the file
    # had been cut by recovery after the notes were closed).
    text = notes.read_text("ascii").replace('"offset": "', '"offset": "9')
    notes.write_text(text.replace("# size ", "# size 1"), "ascii")
    update_index(layout)
    assert index_lines(layout) == library_index(layout.warc_dir)


def test_update_indexes_only_new_files_and_matches_a_full_rebuild(built: Built) -> None:
    layout = built.layout
    before = len(list_warcs(layout.warc_dir))
    noop = update_index(layout)
    assert noop.files_indexed == 0 and noop.lines_added == 0 and noop.lines_total == 8

    session = open_crawl(layout, T2 + timedelta(days=1), 100_000)
    session.write_exchange(exchange(article_url(7), T2 + timedelta(days=1), page(7)))
    session.close()
    stats = update_index(layout)
    assert stats.files_indexed == 1 and stats.lines_added == 1 and stats.lines_total == 9
    assert len(list_warcs(layout.warc_dir)) == before + 1
    incremental = index_lines(layout)

    rebuilt = update_index(layout, rebuild=True)
    assert rebuilt.rebuilt and rebuilt.files_indexed == before + 1
    assert index_lines(layout) == incremental == library_index(layout.warc_dir)


def test_open_files_are_left_out_until_closed(built: Built) -> None:
    layout = built.layout
    writer = RotatingWarcWriter(layout.warc_dir, clock=lambda: T2)
    writer.write_exchange(exchange(article_url(8), T2, page(8)))
    assert list(layout.warc_dir.glob("*" + OPEN_SUFFIX))
    assert update_index(layout).files_indexed == 0
    assert lookup(layout, article_url(8)) == []
    writer.close()
    assert update_index(layout).files_indexed == 1
    assert len(lookup(layout, article_url(8))) == 1


def test_kill_between_index_and_manifest_does_not_duplicate(built: Built) -> None:
    layout = built.layout
    manifest = cdxj.manifest_path(layout)
    old_manifest = manifest.read_bytes()
    session = open_crawl(layout, T2 + timedelta(days=1), 100_000)
    session.write_exchange(exchange(article_url(9), T2 + timedelta(days=1), page(9)))
    session.close()
    update_index(layout)
    after = index_lines(layout)
    manifest.write_bytes(old_manifest)  # as if killed before the manifest was renamed
    stats = update_index(layout)
    assert stats.files_indexed == 1
    assert index_lines(layout) == after


def test_failed_update_leaves_the_old_index(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = built.layout
    before = index_path(layout).read_bytes()
    session = open_crawl(layout, T2 + timedelta(days=1), 100_000)
    session.write_exchange(exchange(article_url(9), T2 + timedelta(days=1), page(9)))
    session.close()

    def killed(*args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cdxj, "_merge", killed)
    with pytest.raises(KeyboardInterrupt):
        update_index(layout)
    assert index_path(layout).read_bytes() == before
    leftovers = [p.name for p in cdxj.index_dir(layout).iterdir() if p.name.startswith(".")]
    assert leftovers == [".update.lock"]
    monkeypatch.undo()
    assert update_index(layout).files_indexed == 1


def test_changed_or_vanished_file_is_reindexed(built: Built) -> None:
    layout = built.layout
    first = list_warcs(layout.warc_dir)[0]
    gone = [line for line in index_lines(layout) if first.name.encode() in line]
    assert gone
    first.rename(layout.root / first.name)  # moved away
    stats = update_index(layout)
    assert stats.files_dropped == 1 and stats.lines_dropped == len(gone)
    assert all(first.name.encode() not in line for line in index_lines(layout))
    (layout.root / first.name).rename(first)
    stats = update_index(layout)
    assert stats.files_indexed == 1
    assert index_lines(layout) == library_index(layout.warc_dir)


def test_missing_manifest_or_index_rebuilds(built: Built) -> None:
    layout = built.layout
    full = index_lines(layout)
    cdxj.manifest_path(layout).unlink()
    assert update_index(layout).rebuilt
    assert index_lines(layout) == full
    index_path(layout).unlink()
    assert update_index(layout).rebuilt
    assert index_lines(layout) == full


def test_lookup_finds_exactly_the_urls_captures(built: Built) -> None:
    layout = built.layout
    assert [e.timestamp for e in lookup(layout, built.not_modified_url)] == [
        "20250714080000",
        "20250715080000",
    ]
    assert [e.mime for e in lookup(layout, built.not_modified_url)] == ["text/html", "warc/revisit"]
    assert lookup(layout, f"{BASE}/info/1031/nothing.htm") == []
    assert lookup(layout, "http://example.org/") == []
    # SURT canonicalisation: scheme and case do not matter
    assert len(lookup(layout, built.changed_url.replace("http://", "https://").upper())) == 2


def test_binary_search_agrees_with_a_scan_on_a_big_index(tmp_path: Path) -> None:
    # Keys that are prefixes of one another (/1.htm, /1.htm?x, /10.htm) and
    # many per key, so the search must land on the first line of a run.
    index = tmp_path / "index.cdxj"
    urls = [f"http://h/{n}.htm" for n in range(300)] + [f"http://h/{n}.htm?x=1" for n in range(30)]
    lines = []
    for url in urls:
        for k in range(1 + len(url) % 4):
            data = json.dumps({"url": url, "filename": "f.warc.gz", "offset": str(k)})
            lines.append(f"{url_key(url)} 2025071{k}000000 {data}\n".encode())
    lines.sort()
    index.write_bytes(b"".join(lines))
    for url in [*urls, "http://h/", "http://h/99999.htm", "http://a/", "http://z/"]:
        key = url_key(url)
        expected = [line for line in lines if line.split(b" ", 1)[0] == key.encode()]
        found = list(cdxj.iter_key(index, key))
        assert [CdxjEntry.parse(line) for line in expected] == found, url


def test_entry_fields(built: Built) -> None:
    entry = lookup(built.layout, built.identical_url)[-1]
    assert entry.is_revisit and entry.status == 200
    assert entry.when == T1
    assert entry.digest and entry.digest.startswith("sha1:")
    first = lookup(built.layout, built.identical_url)[0]
    assert entry.digest == first.digest


def test_notes_are_sorted_in_bounded_runs_and_merged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Runs of two lines: a large WARC's notes are never all in memory at once.
    monkeypatch.setattr(cdxj, "_NOTES_RUN", 2)
    layout = ArchiveLayout(tmp_path)
    layout.create()
    session = open_crawl(layout, T0, 100_000)
    for i in (5, 3, 9, 1, 7):
        session.write_exchange(exchange(article_url(i), T0, page(i)))
    session.close()
    stats = update_index(layout)
    assert stats.lines_added == 5
    assert index_lines(layout) == library_index(layout.warc_dir)
