"""`uir-news probe --file`: which rules read a saved page, and what it lacks (no network)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from crawler import settings as crawl_settings
from crawler.extract import parse_article, parse_listing
from crawler.extract.explain import date_form, explain_article, explain_listing, missing_fields
from crawler.probe import looks_like_listing
from tests.helpers.cli import run_in_process

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = json.loads((FIXTURES / "pages" / "index.json").read_text("utf-8"))
LISTINGS = json.loads((FIXTURES / "listings" / "index.json").read_text("utf-8"))


def _page(name: str) -> tuple[bytes, str]:
    return (FIXTURES / "pages" / f"{name}.html").read_bytes(), PAGES[name]


def _listing(name: str) -> tuple[bytes, str]:
    return (FIXTURES / "listings" / f"{name}.html").read_bytes(), LISTINGS[name]


@pytest.mark.parametrize(
    ("name", "item_rule", "form", "pager", "pages"),
    [
        ("new_first", "li[id^='line_u']", "YYYY-MM-DD", "div.pb_sys_common", 11),
        ("old_middle", "li[id^='line_u']", "YYYY/MM/DD", "fanye", 11),
        ("fallback_table", "fallback", "YYYY年M月D日", "generic pager", 10),
    ],
)
def test_listing_rules_name_the_template(
    name: str, item_rule: str, form: str, pager: str, pages: int
) -> None:
    html, url = _listing(name)
    listing = parse_listing(html, url)
    rules = explain_listing(html, url, listing)
    assert item_rule in rules.item_rule
    assert list(rules.date_forms) == [form]
    assert pager in rules.pager_rule
    assert rules.page_count == pages
    assert rules.items == len(listing.items) > 0
    assert looks_like_listing(html, url)


@pytest.mark.parametrize(
    ("date", "raw", "form"),
    [
        ("2025-07-14", "2025-07-14", "YYYY-MM-DD"),
        ("2025-07-14", "[2025-07-14]", "[YYYY-MM-DD]"),
        (None, "[07-14]", "[MM-DD (no year)]"),
        ("2023-10-16", "2023年10月16日", "YYYY年M月D日"),
        ("2025-07-14", None, "day and year-month in separate elements"),
        (None, None, "none"),
    ],
)
def test_date_forms(date: str | None, raw: str | None, form: str) -> None:
    assert date_form(date, raw) == form


@pytest.mark.parametrize(
    ("name", "title", "date", "missing"),
    [
        ("arc_seed", "known VSB heading: arc-tit", "date line on the page", []),
        ("table_pubdate_only", "known VSB heading: titlestyle", "PubDate meta", []),
        ("plain_meta_title", "ArticleTitle meta", "", None),
        ("contit_missing_final", "main_contit", "date line", ["reviewers.final_reviewer"]),
        ("arc_future_date", "arc-tit", "rejected", None),
    ],
)
def test_article_rules_agree_with_the_record(
    name: str, title: str, date: str, missing: list[str] | None
) -> None:
    html, url = _page(name)
    record = parse_article(html, url)
    rules = explain_article(html, record)
    assert title in rules.rules["title"]
    assert date in rules.rules["published_at"]
    assert rules.missing == missing_fields(record)
    if missing is not None:
        assert rules.missing == missing
    assert ("published_at" in rules.missing_required) == (record["published_at"] is None)


def test_reviewers_are_required_only_when_asked() -> None:
    html, url = _page("contit_missing_final")
    record = parse_article(html, url)
    assert explain_article(html, record).missing_required == []
    strict = explain_article(html, record, require_reviewers=True)
    assert strict.missing_required == ["reviewers.final_reviewer"]


def _probe_file(
    capsys: pytest.CaptureFixture[str], path: Path, url: str, *extra: str
) -> tuple[int, str, str]:
    code = run_in_process("probe", "--file", str(path), "--url", url, *extra)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_saved_article_ok_and_missing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _probe_file(capsys, FIXTURES / "pages" / "arc_seed.html", PAGES["arc_seed"])
    assert code == 0 and "ok: every required field is there" in out
    assert "known VSB heading: arc-tit" in out and '"news_id": 21031' in out
    code, out, _ = _probe_file(
        capsys, FIXTURES / "pages" / "arc_future_date.html", PAGES["arc_future_date"], "--json"
    )
    report = json.loads(out)
    assert code == report["exit_code"] == 3 and report["ok"] is False
    assert report["article"]["missing_required"] == ["published_at"]
    assert report["article"]["record"]["published_at"] is None
    code, out, _ = _probe_file(
        capsys,
        FIXTURES / "pages" / "contit_missing_final.html",
        PAGES["contit_missing_final"],
        "--require-reviewers",
    )
    assert code == 3 and "REQUIRED FIELD(S) MISSING: reviewers.final_reviewer" in out


def test_cli_saved_listing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _probe_file(
        capsys, FIXTURES / "listings" / "old_middle.html", LISTINGS["old_middle"], "--json"
    )
    report = json.loads(out)
    assert code == 0 and report["article"] is None
    listing = report["listing"]
    assert listing["page_count"] == 11 and listing["items"] == len(listing["entries"]) == 3
    assert listing["entries"][0]["url"] == "https://www.uir.edu.cn/info/1031/20800.htm"


def test_cli_saved_page_that_is_no_article(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _probe_file(
        capsys, FIXTURES / "pages" / "plain_empty.html", PAGES["plain_empty"]
    )
    assert code == 3 and "NOT AN ARTICLE: no_article_content" in out


def test_cli_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run_in_process("probe") == 2
    assert "needs a listing URL" in capsys.readouterr().err
    assert run_in_process("probe", "--file", str(tmp_path / "none.html")) == 2
    assert "cannot read" in capsys.readouterr().err
    assert run_in_process("probe", "ftp://example.org/x") == 2
    assert "absolute http(s) URL" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["fifo", "device", "directory", "too_big"])
def test_cli_saved_page_that_is_no_regular_file_or_too_big(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    # A FIFO hung `probe --file`, /dev/zero ran it out of memory.
    path = tmp_path / "page.html"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    elif kind == "directory":
        path.mkdir()
    else:
        with path.open("wb") as fh:
            fh.truncate(crawl_settings.DOWNLOAD_MAXSIZE + 1)  # sparse: no disk used
    assert run_in_process("probe", "--file", str(path), "--url", "http://a.example/x.htm") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"uir-news: cannot read {path}: ") and err.count("\n") == 1
    expected = "larger than" if kind == "too_big" else "not a regular file"
    assert expected in err
