"""Search: every query checked against a plain Python scan of the same records."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive.research.filters import FilterError, Filters, date_bound
from archive.research.search import (
    QueryError,
    count_matches,
    ensure_search_schema,
    index_article,
    make_snippet,
    normalize,
    normalize_with_map,
    reindex_all,
    search,
)
from archive.storage import catalog
from tests.helpers.records import make_record, random_records

SPECIAL = [
    # A bigram phrase must not run across punctuation or a paragraph break.
    make_record(9001, title="边界测试一", body_text="我们研究国际。际关联的问题"),
    make_record(9002, title="边界测试二", body_text="第一段讲国际\n关系第二段"),
    make_record(
        9003, title="Mixed 拉丁", body_text="The International Conference on G20峰会 and UIR."
    ),
    make_record(9004, title="全角ＵＩＲ测试", body_text="全角字母ＵＩＲ与“四强”党支部，7.9讲话"),
    make_record(
        9005,
        title="单字测试",
        body_text="鑫",
        reviewers={
            "first_proofreader": ["甲乙"],
            "second_proofreader": [],
            "final_reviewer": ["丙丁"],
        },
    ),
]


def build_catalog(path: Path, records: list[dict[str, Any]]) -> sqlite3.Connection:
    conn = catalog.connect(path)
    ensure_search_schema(conn)
    with catalog.transaction(conn):
        for record in records:
            result = catalog.put_record(conn, record)
            index_article(conn, result.article_id, record)
    return conn


@pytest.fixture(scope="module")
def corpus(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[sqlite3.Connection, list[dict[str, Any]]]]:
    records = list(random_records(400, seed=11, low=150, high=400)) + SPECIAL
    conn = build_catalog(tmp_path_factory.mktemp("search") / "catalog.sqlite", records)
    yield conn, records
    conn.close()


def scan(records: list[dict[str, Any]], needle: str) -> set[str]:
    return {r["url"] for r in records if needle in r["title"] or needle in r["body_text"]}


def urls(conn: sqlite3.Connection, query: str, **filters: Any) -> set[str]:
    return {hit.url for hit in search(conn, query, Filters(**filters), limit=None)}


@pytest.mark.parametrize(
    "word",
    ["党建", "校长", "国际", "论坛", "际关", "国际关系", "学术研讨会", "国际关系学院", "党", "鑫"],
)
def test_cjk_word_finds_exactly_the_articles_containing_it(corpus: Any, word: str) -> None:
    conn, records = corpus
    expected = scan(records, word)
    assert expected, word
    assert urls(conn, word) == expected


def test_bigram_phrase_does_not_cross_punctuation_or_paragraphs(corpus: Any) -> None:
    conn, records = corpus
    got = urls(conn, "国际关")
    assert got == scan(records, "国际关")
    assert make_record(9001)["url"] not in got
    assert make_record(9002)["url"] not in urls(conn, "国际关系")


def test_quoted_phrase_with_space_and_punctuation(corpus: Any) -> None:
    conn, records = corpus
    for phrase in ("党建，", "国际关系学院和", "“四强”党支部", "7.9"):
        assert urls(conn, f'"{phrase}"') == scan(records, phrase), phrase


def test_latin_terms_are_case_insensitive_substrings(corpus: Any) -> None:
    conn, records = corpus

    def latin_scan(needle: str) -> set[str]:
        n = needle.casefold()
        return {
            r["url"]
            for r in records
            if n in normalize(r["title"]) or n in normalize(r["body_text"])
        }

    for query in ("uir", "UIR", "nation", "Model UN", "g20峰会", "COVID-19", "peking"):
        term = query.strip('"')
        assert urls(conn, f'"{term}"') == latin_scan(term), query
    assert make_record(9004)["url"] in urls(conn, "uir")  # full-width ＵＩＲ
    assert make_record(9003)["url"] in urls(conn, "nation")  # inside International


def test_boolean_operators(corpus: Any) -> None:
    conn, records = corpus
    a, b = scan(records, "党建"), scan(records, "校长")
    assert urls(conn, "党建 校长") == a & b
    assert urls(conn, "党建 AND 校长") == a & b
    assert urls(conn, "党建 OR 校长") == a | b
    assert urls(conn, "党建 NOT 校长") == a - b
    c = scan(records, "论坛")
    assert urls(conn, "(党建 OR 校长) 论坛") == (a | b) & c
    assert urls(conn, "论坛 NOT (党建 OR 校长)") == c - (a | b)
    # An inexact term (punctuation) under NOT is decided by the exact check.
    assert urls(conn, '论坛 NOT "党建，"') == c - scan(records, "党建，")


def test_leading_minus_is_not(corpus: Any) -> None:
    conn, records = corpus
    a, b, c = scan(records, "党建"), scan(records, "校长"), scan(records, "论坛")
    assert urls(conn, "党建 -校长") == a - b
    assert urls(conn, "论坛 -(党建 OR 校长)") == c - (a | b)
    assert urls(conn, '论坛 -"党建，"') == c - scan(records, "党建，")
    # A hyphen inside a word is part of it, not a negation.
    assert urls(conn, "党建-校长") == scan(records, "党建-校长")


def test_reviewer_role_credit_date_and_attachment_filters(corpus: Any) -> None:
    conn, records = corpus
    name = records[0]["reviewers"]["final_reviewer"][0]
    by_any = {
        r["url"]
        for r in records
        if "论坛" in r["title"] + "\n" + r["body_text"]
        and any(name in r["reviewers"][role] for role in r["reviewers"])
    }
    assert by_any
    assert urls(conn, "论坛", reviewer=name) == by_any
    final = {
        r["url"]
        for r in records
        if "论坛" in r["title"] + "\n" + r["body_text"] and name in r["reviewers"]["final_reviewer"]
    }
    assert urls(conn, "论坛", reviewer=name, role="final_reviewer") == final
    author = next(r["credits"]["author"][0] for r in records if "author" in r["credits"])
    assert urls(conn, "国际", credit=author) == {
        r["url"]
        for r in records
        if author in r["credits"].get("author", []) + r["credits"].get("photographer", [])
        and "国际" in r["title"] + "\n" + r["body_text"]
    }
    since, until = date_bound("2010", end=False), date_bound("2012-06", end=True)
    assert urls(conn, "论坛", since=since, until=until, has_attachments=True) == {
        r["url"]
        for r in records
        if "论坛" in r["title"] + "\n" + r["body_text"]
        and r["published_at"]
        and since <= r["published_at"][:10] <= until
        and r["attachments"]
    }


def test_ranking_limit_and_snippet(corpus: Any) -> None:
    conn, _ = corpus
    hits = search(conn, "国际关系学院", limit=5)
    assert len(hits) == 5
    assert all("«国际关系学院»" in hit.snippet for hit in hits)
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"党建',
        "NOT",
        "NOT 党建",
        "-党建",
        "党建 -",
        "党建 OR",
        "AND 党建",
        "()",
        "(党建",
        "党建)",
        "*",
        "，",
        "",
        "   ",
    ],
)
def test_malformed_queries_raise_query_error(corpus: Any, query: str) -> None:
    conn, _ = corpus
    with pytest.raises(QueryError):
        search(conn, query)


@pytest.mark.parametrize(
    "query",
    [
        "'; DROP TABLE articles; --",
        "党建*",
        'x" OR 1=1 --',
        "NEAR(党建 校长)",
        "title:党建",
        "{title}:党建",
        "^党建",
        "a AND b OR c",
        "党建 and 校长",
    ],
)
def test_hostile_queries_are_just_text(corpus: Any, query: str) -> None:
    conn, records = corpus
    with contextlib.suppress(QueryError):
        search(conn, query, limit=None)
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == len(records)


def test_reindex_and_update_keep_the_index_exact(tmp_path: Path) -> None:
    records = list(random_records(30, seed=3, low=100, high=200))
    with contextlib.closing(build_catalog(tmp_path / "c.sqlite", records)) as conn:
        before = urls(conn, "党建")
        # A new version of an article replaces its rows.
        changed = dict(
            records[0], body_text="全新内容：独一无二的词语", fetched_at="2025-08-01T00:00:00Z"
        )
        with catalog.transaction(conn):
            result = catalog.put_record(conn, changed)
            index_article(conn, result.article_id, changed)
        assert urls(conn, "独一无二") == {changed["url"]}
        records[0] = changed
        assert urls(conn, "党建") == scan(records, "党建")
        assert reindex_all(conn) == 30
        assert urls(conn, "独一无二") == {changed["url"]}
        assert urls(conn, "党建") == scan(records, "党建")
        assert before - {changed["url"]} <= urls(conn, "党建")
        conn.execute("UPDATE meta SET value = 'old' WHERE key = 'search_index_version'")
        ensure_search_schema(conn)  # rebuilds
        assert urls(conn, "党建") == scan(records, "党建")


def test_normalize_with_map_agrees_with_normalize() -> None:
    for text in (
        "  ＵＩＲ  國際\n\n关系 ß İstanbul e\u0301 ｶﾞ ",
        "  ＵＩＲ  國際\n\n关系　全角空格 ",
        "",
        " ",
        "单",
        "a\tb",
    ):
        _source, norm, where = normalize_with_map(text)
        assert norm == normalize(text)
        assert len(where) == len(norm)


def test_snippet_marks_matches_in_original_text() -> None:
    text = "开头" + "填充" * 50 + "国际关系学院ＵＩＲ" + "结尾" * 50
    snippet = make_snippet(text, [normalize("国际关系"), "uir"], width=40)
    assert "«国际关系»学院«ＵＩＲ»" in snippet
    assert snippet.startswith("…") and snippet.endswith("…")
    assert make_snippet("无关", ["党建"]) == ""


def test_filter_errors() -> None:
    with pytest.raises(FilterError):
        Filters(role="editor", reviewer="x")
    with pytest.raises(FilterError):
        Filters(role="final_reviewer")
    with pytest.raises(FilterError):
        date_bound("2024-13", end=False)
    assert date_bound("2024-02", end=True) == "2024-02-29"


def test_rank_pool_bounds_ranking_not_results(corpus: Any) -> None:
    conn, records = corpus
    expected = scan(records, "国际")
    assert len(expected) > 10
    pooled = search(conn, "国际", limit=5, rank_pool=10)
    assert len(pooled) == 5 and {h.url for h in pooled} <= expected
    # Below the pool size the ranking is the exact BM25 order.
    exact = search(conn, "国际", limit=5, rank_pool=None)
    assert [h.url for h in search(conn, "国际", limit=5, rank_pool=10_000)] == [
        h.url for h in exact
    ]


def test_every_plan_returns_exactly_the_matches(corpus: Any) -> None:
    """Filter-first, pooled and full plans differ in ranking only, never in results."""
    conn, records = corpus
    name = records[1]["reviewers"]["first_proofreader"][0]
    expected = {
        r["url"]
        for r in records
        if "论坛" in r["title"] + "\n" + r["body_text"]
        and any(name in names for names in r["reviewers"].values())
    }
    assert expected
    for limit in (None, 1000):  # 1000: the filter-first plan (few filtered articles)
        assert {h.url for h in search(conn, "论坛", Filters(reviewer=name), limit=limit)} == (
            expected
        )
    everything = scan(records, "国际")
    pooled = search(conn, "国际", limit=8, rank_pool=10)  # broad: title hits first
    assert len(pooled) == 8 and {h.url for h in pooled} <= everything
    titled = [h for h in pooled if "国际" in h.title]
    assert pooled[: len(titled)] == titled
    # A limit above the pool never loses results.
    assert {h.url for h in search(conn, "国际", limit=5000, rank_pool=10)} == everything


def test_count_matches_is_the_whole_result_set(corpus: Any) -> None:
    conn, records = corpus
    for query in ["党建", "党建 OR 校长", "论坛 -党建", '"党建，"']:
        assert count_matches(conn, query) == len(search(conn, query, limit=None))
    name = records[0]["reviewers"]["final_reviewer"][0]
    filters = Filters(reviewer=name)
    assert count_matches(conn, "党建", filters) == len(search(conn, "党建", filters, limit=None))
    with pytest.raises(QueryError):
        count_matches(conn, '"党建')
