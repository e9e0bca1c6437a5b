"""Stats, plots and `show`: counts checked against the records themselves."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from archive.research.export import CSP, sanitize_html
from archive.research.filters import Filters
from archive.research.search import ensure_search_schema, index_article
from archive.research.stats import (
    CJK_FONTS,
    FONT_PACKAGE,
    compute_stats,
    find_cjk_font,
    format_stats,
    plot_stats,
)
from archive.storage import catalog
from archive.storage.layout import ArchiveLayout
from archive.storage.warc import HttpExchange, RotatingWarcWriter
from crawler.cli import main
from tests.helpers.cli import REPO
from tests.helpers.records import make_record, random_records

EVIL = (
    b"<html><head><meta http-equiv='refresh' content='0;url=https://evil'>"
    b"<script>alert(1)</script></head><body onload='alert(2)'>"
    b"<div class='v_news_content'><p>\xe5\x85\x9a\xe5\xbb\xba</p><script>steal()</script>"
    b"<img src='https://www.uir.edu.cn/a.jpg' onerror='alert(3)'>"
    b"<a href='javascript:alert(4)'>x</a><iframe src='https://evil'></iframe></div></body></html>"
)


def build(root: Path, records: list[dict[str, Any]]) -> None:
    conn = catalog.connect(ArchiveLayout(root).catalog_path)
    ensure_search_schema(conn)
    with catalog.transaction(conn):
        for record in records:
            index_article(conn, catalog.put_record(conn, record).article_id, record)
    conn.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("stats")
    records = list(random_records(120, seed=4, low=50, high=100))
    records.append(make_record(999, published_at=None, published_at_raw=None))
    build(root, records)
    return root, records


def test_counts_match_the_records(corpus: tuple[Path, list[dict[str, Any]]]) -> None:
    root, records = corpus
    conn = catalog.connect(ArchiveLayout(root).catalog_path)
    stats = compute_stats(conn, top=5)
    assert stats.total == len(records)
    years = Counter(r["published_at"][:4] if r["published_at"] else "unknown" for r in records)
    assert dict(stats.per_year) == dict(years)
    months = Counter(r["published_at"][:7] if r["published_at"] else "unknown" for r in records)
    assert dict(stats.per_month) == dict(months)
    finals = Counter(n for r in records for n in r["reviewers"]["final_reviewer"])
    top_final = [(name, n) for role, name, n in stats.reviewers if role == "final_reviewer"]
    assert top_final[0][1] == max(finals.values())
    fill = dict(stats.fill)
    assert fill["attachments"] == sum(bool(r["attachments"]) for r in records)
    assert fill["published_at"] == len(records) - 1
    assert fill["credits.author"] == sum("author" in r["credits"] for r in records)
    assert fill["reviewers.second_proofreader"] == sum(
        bool(r["reviewers"]["second_proofreader"]) for r in records
    )
    text = format_stats(stats)
    assert "field fill rates:" in text and "credits.author" in text
    # Filters apply to the stats too.
    recent = compute_stats(conn, Filters(since="2020-01-01"))
    assert recent.total == sum(
        1 for r in records if r["published_at"] and r["published_at"][:10] >= "2020-01-01"
    )
    conn.close()


def test_plot_writes_a_png_without_warnings(
    corpus: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    root, _ = corpus
    conn = catalog.connect(ArchiveLayout(root).catalog_path)
    out = tmp_path / "plot.png"
    notes = plot_stats(compute_stats(conn), out)  # filterwarnings=error: no glyph warnings
    conn.close()
    assert out.read_bytes().startswith(b"\x89PNG")
    assert len(notes) <= 1


def test_stats_cli_json(corpus: tuple[Path, list[dict[str, Any]]], capsys: Any) -> None:
    root, records = corpus
    assert main(["stats", "--archive", str(root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == len(records)
    assert 0 <= data["fill_rates"]["images"]["rate"] <= 1


def write_warc(directory: Path, url: str, html: bytes) -> dict[str, Any]:
    writer = RotatingWarcWriter(directory)
    pointer = writer.write_exchange(
        HttpExchange(
            url=url,
            method="GET",
            request_headers=[("User-Agent", "uir-news-test")],
            status=200,
            response_headers=[("Content-Type", "text/html; charset=utf-8")],
            response_body=html,
            fetched_at=datetime(2025, 7, 20, tzinfo=UTC),
        )
    ).response
    writer.close()
    return pointer.as_dict()


def test_show_versions_diff_and_safe_html(tmp_path: Path, capsys: Any) -> None:
    root = tmp_path / "archive"
    url = "https://www.uir.edu.cn/info/1031/1.htm"
    warc = write_warc(ArchiveLayout(root).warc_dir, url, EVIL)
    v1 = make_record(1, url=url, body_text="第一段\n第二段", warc=warc)
    v2 = make_record(
        1,
        url=url,
        title="新标题",
        body_text="第一段\n第二段改了",
        warc=warc,
        fetched_at="2025-08-01T00:00:00Z",
    )
    build(root, [v1, v2])
    html_out = tmp_path / "page.html"
    assert main(["show", "--archive", str(root), url, "--html", str(html_out)]) == 0
    out = capsys.readouterr().out
    assert "新标题" in out and "versions (2):" in out
    assert "changed: body_html, body_text, title" in out
    assert "+第二段改了" in out and "-第二段" in out
    page = html_out.read_text("utf-8")
    assert CSP in page and "党建" in page
    for bad in ("<script", "alert", "onload", "onerror", "javascript:", "iframe", "refresh"):
        assert bad not in page, bad
    assert main(["show", "--archive", str(root), "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["record"]["title"] == "新标题"
    assert main(["show", "--archive", str(root), "https://nowhere.example/"]) == 2


def test_sanitize_keeps_content_and_adds_csp_first() -> None:
    page = sanitize_html(b"<p onclick='x()'>\xe6\x96\x87</p>").decode("utf-8")
    assert page.index("Content-Security-Policy") < page.index("文")
    assert "onclick" not in page


def test_search_cli(corpus: tuple[Path, list[dict[str, Any]]], capsys: Any) -> None:
    root, records = corpus
    assert main(["search", "--archive", str(root), "--json", "--limit", "0", "党建"]) == 0
    data = json.loads(capsys.readouterr().out)
    expected = {r["url"] for r in records if "党建" in r["title"] + "\n" + r["body_text"]}
    assert {hit["url"] for hit in data["results"]} == expected
    assert main(["search", "--archive", str(root), "论坛", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "«论坛»" in out and "3 result(s)" in out
    for bad in (['"'], ["NOT"], ["'; DROP TABLE articles; --"], ["*"]):
        code = main(["search", "--archive", str(root), *bad])
        assert code in (1, 2)
        err = capsys.readouterr().err
        assert "Traceback" not in err
    assert main(["search", "--archive", str(root), "x", "--role", "final_reviewer"]) == 2


def test_a_font_installed_after_matplotlibs_cache_was_built_is_used_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make fonts` then `stats --plot`: no boxes, though matplotlib's font cache is older."""
    from matplotlib import font_manager

    system = set(font_manager.findSystemFonts())
    cjk_files = [f for f in font_manager.fontManager.ttflist if f.name in CJK_FONTS]
    if not cjk_files and not any("wqy" in p or "noto" in p.lower() for p in system):
        if os.environ.get("UIR_NEWS_NO_CJK_FONT") == "1":
            pytest.skip("UIR_NEWS_NO_CJK_FONT=1: this machine has no CJK font on purpose")
        pytest.fail(f"no CJK font on this machine: run `make fonts` ({FONT_PACKAGE})")
    # The cache as it was before the font was installed: no CJK family in it.
    cjk_paths = {f.fname for f in font_manager.fontManager.ttflist if f.name in CJK_FONTS}
    stale = [f for f in font_manager.fontManager.ttflist if f.fname not in cjk_paths]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)
    assert find_cjk_font() in CJK_FONTS


def test_make_fonts_installs_the_package_the_warning_names() -> None:
    makefile = (REPO / "Makefile").read_text("utf-8")
    fonts_target = makefile[makefile.index("\nfonts:") :].split("\n\n", 1)[0]
    assert f"install -y {FONT_PACKAGE}" in fonts_target
