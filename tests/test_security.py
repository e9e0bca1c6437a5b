"""Nothing derived from a URL or a page writes outside the archive directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive.storage.files import atomic_write_text, safe_component
from archive.storage.record_store import JsonRecordStore, article_key
from archive.storage.warc import (
    WarcPointer,
    iter_records,
    list_warcs,
    read_record,
    resolve_warc_path,
)
from replica.faults import Request, Response, SiteView
from replica.server import ReplicaServer
from replica.site import ReplicaSite
from tests.helpers.cli import crawl, run_cli

HOSTILE = [
    "../../etc/passwd",
    "/etc/passwd",
    "..",
    ".",
    "a/../../b",
    "nul\x00byte",
    "x" * 5000,
    "C:\\Windows\\system32",
    "~root",
    ".hidden",
    "名字/../../逃逸",
    "",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_safe_component_is_one_harmless_name(value: str) -> None:
    name = safe_component(value)
    assert name and "/" not in name and "\\" not in name and "\x00" not in name
    assert name not in {".", ".."} and not name.startswith(".")
    assert len(name) <= 80


@pytest.mark.parametrize("value", HOSTILE)
def test_record_paths_stay_inside_the_store(tmp_path: Path, value: str) -> None:
    root = tmp_path / "records"
    store = JsonRecordStore(root)
    # Ids that are not integers (a tampered or strange page) fall back to a hash.
    record = {"url": "http://127.0.0.1/" + value, "column_id": value, "news_id": value}
    stored = store.put(record)
    assert stored.path.resolve().is_relative_to(root.resolve())
    assert article_key(record)[0] == "_url"
    assert list(tmp_path.rglob("*.json")) == [stored.path]


@pytest.mark.parametrize("value", HOSTILE)
def test_warc_pointers_cannot_name_files_outside_the_warc_folder(
    tmp_path: Path, value: str
) -> None:
    name = value + ".warc.gz"
    with pytest.raises(ValueError):
        read_record(tmp_path, WarcPointer(name, 0, 1))
    # The names the writer gives are accepted.
    ok = "UIRNEWS-20250714080000000-00000-host.warc.gz"
    assert resolve_warc_path(tmp_path, ok).parent == tmp_path


def test_atomic_write_never_leaves_a_half_file(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    atomic_write_text(target, "old")

    class Boom(str):
        def encode(self, *args: object, **kwargs: object) -> bytes:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write_text(target, Boom("new"))
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


class SetsCookies:
    """A replica that hands out a session cookie with every answer."""

    def bind(self, site: SiteView) -> None:
        pass

    def before(self, request: Request) -> Response | None:
        return None

    def after(self, request: Request, response: Response) -> Response:
        headers = dict(response.headers)
        headers["Set-Cookie"] = f"JSESSIONID={SECRET}; Path=/"
        return Response(response.status, headers, response.body)


SECRET = "s3cr3t-session-token"


@pytest.mark.e2e
def test_no_cookie_is_sent_back_or_exported(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    with ReplicaServer(ReplicaSite(n_articles=20, faults=SetsCookies())) as server:
        crawl(server, archive)
        sent = [
            value
            for r in server.requests
            for name, value in r.headers.items()
            if name.lower() in {"cookie", "authorization"}
        ]
    assert sent == []
    for fmt in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"export.{fmt}"
        run_cli("export", "--archive", archive, "--format", fmt, "-o", out)
        assert SECRET.encode() not in out.read_bytes(), fmt
    # WARC request records carry no Cookie header either.
    for path in list_warcs(archive / "warc"):
        for _, record, _ in iter_records(path):
            if record.rec_type == "request":
                assert record.http_headers.get_header("Cookie") is None
