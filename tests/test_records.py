"""The record schema: the fast compiled check and jsonschema agree."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from archive.storage.records import content_hash, is_valid, validation_errors
from record import UnknownRecordVersion, site_of, upgrade

FIXTURE = Path(__file__).parent / "fixtures" / "pages" / "arc_seed.json"


def _record() -> dict[str, Any]:
    record: dict[str, Any] = json.loads(FIXTURE.read_text("utf-8"))
    record.update(
        fetched_at="2026-11-27T08:00:00Z",
        warc={"file": "UIRNEWS-1-00000-h.warc.gz", "offset": 0, "length": 10},
        listing=None,
    )
    return record


BREAKAGES = {
    "empty title": lambda r: r.update(title=""),
    "bad date": lambda r: r.update(published_at="14/07/2025"),
    "bad fetch time": lambda r: r.update(fetched_at="yesterday"),
    "extra field": lambda r: r.update(extra=1),
    "relative url": lambda r: r.update(url="/info/1031/1.htm"),
    "warc path": lambda r: r["warc"].update(file="../x.warc.gz"),
    "reviewer not a list": lambda r: r["reviewers"].update(final_reviewer="陈斌"),
    "unknown credit": lambda r: r["credits"].update(boss=["x"]),
    "schema version": lambda r: r.update(schema_version=3),
    "version 2 without its site": lambda r: r.pop("site"),
    "version 1 with a version 2 field": lambda r: r.update(schema_version=1),
}


def test_a_version_1_record_is_valid_and_upgrades() -> None:
    """Records written before version 2 stay valid on disk and read as version 2."""
    old = {k: v for k, v in _record().items() if k not in {"site", "role_labels", "body_pdf"}}
    old["schema_version"] = 1
    assert is_valid(old) and validation_errors(old) == []
    new = upgrade(old)
    assert new["schema_version"] == 2 and new["role_labels"] == {} and new["body_pdf"] is None
    assert new["site"] == site_of(old["url"]) != ""
    assert is_valid(new)


def test_a_record_of_an_unknown_version_is_refused_on_upgrade() -> None:
    with pytest.raises(UnknownRecordVersion):
        upgrade({**_record(), "schema_version": 3})


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("http://www.uir.edu.cn/info/1031/1.htm", "www.uir.edu.cn"),
        ("https://WWW.UIR.EDU.CN:443/x", "www.uir.edu.cn"),
        ("http://127.0.0.1:8123/ggyw.htm", "127.0.0.1:8123"),
    ],
)
def test_site_is_the_host_with_a_non_default_port(url: str, site: str) -> None:
    assert site_of(url) == site


def test_a_valid_record_passes_both() -> None:
    record = _record()
    assert is_valid(record) and validation_errors(record) == []


@pytest.mark.parametrize("name", sorted(BREAKAGES))
def test_each_breakage_is_caught_by_both(name: str) -> None:
    record = copy.deepcopy(_record())
    BREAKAGES[name](record)
    assert not is_valid(record)
    assert validation_errors(record), name


def test_content_hash_ignores_fetch_details_only() -> None:
    record = _record()
    again = copy.deepcopy(record)
    again.update(fetched_at="2027-01-01T00:00:00Z", warnings=["x"], view_count=5)
    assert content_hash(record) == content_hash(again)
    again["body_text"] += "。"
    assert content_hash(record) != content_hash(again)


def test_store_layout_one_file_per_version_and_older_layout_still_read(tmp_path: Path) -> None:
    from archive.storage.layout import ArchiveLayout
    from archive.storage.record_store import JsonRecordStore, record_files
    from archive.storage.recovery import rebuild

    layout = ArchiveLayout(tmp_path)
    layout.create()
    store = JsonRecordStore(layout.records_dir)
    first = _record()
    stored = store.put(first)
    column, news = str(first["column_id"]), str(first["news_id"])
    assert stored.path == layout.records_dir / column / f"{news}-{stored.content_hash[:16]}.json"
    assert not store.put(first).created  # same content, same file
    edited = {**_record(), "title": first["title"] + "(更正)"}
    assert store.put(edited).created
    # A version kept in the per-article folder of older archives is read too.
    old = {**_record(), "title": first["title"] + "(旧)"}
    old_path = layout.records_dir / column / news / f"{content_hash(old)[:16]}.json"
    old_path.parent.mkdir()
    old_path.write_text(json.dumps(old, ensure_ascii=False), "utf-8")
    assert len(list(record_files(layout.records_dir))) == 3
    counts = rebuild(layout).counts
    assert counts["versions"] == 3 and counts["articles"] == 1
