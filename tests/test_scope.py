"""`--site` and `--column` that name nothing archived: said so, exit 2, not an empty result."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive.research.search import ensure_search_schema, index_article
from archive.storage import catalog
from crawler.cli import main
from tests.helpers.records import make_record

CAMPUS = "http://campus.example"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two sites: 国关要闻 (the records' default) and a campus site's 学校要闻."""
    records = [make_record(i, title=f"学院新闻 {i}") for i in range(1, 4)]
    for i in range(4, 6):
        record = make_record(i, title=f"学院新闻 {i}")
        record.update(
            url=f"{CAMPUS}/info/1102/{i}.htm",
            site="campus.example",
            column="学校要闻",
            column_id=1102,
        )
        records.append(record)
    root = tmp_path_factory.mktemp("scope")
    conn = catalog.connect(root / "catalog.sqlite")
    ensure_search_schema(conn)
    with catalog.transaction(conn):
        for record in records:
            index_article(conn, catalog.put_record(conn, record).article_id, record)
    conn.close()
    return root


COMMANDS = [
    ["search", "学院"],
    ["stats"],
    ["export", "--format", "jsonl", "-o", "-"],
    ["changes"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(
    ("scope", "message"),
    [
        (
            ["--column", "国关要文"],
            "--column 国关要文: no article of the archive is in it "
            "(its columns: 国关要闻, 学校要闻)",
        ),
        (
            ["--site", "www.uir.edu"],
            "--site www.uir.edu: no article of the archive is on it (its sites: ",
        ),
        (
            ["--site", "campus.example", "--column", "国关要闻"],
            "--column 国关要闻: no article of the archive on campus.example is in it "
            "(its columns: 学校要闻)",
        ),
    ],
)
def test_a_site_or_column_the_archive_does_not_hold_is_named(
    archive: Path,
    command: list[str],
    scope: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Before: "no articles match" (search, exit 1), an empty export or stats (exit 0).
    assert main([*command, "--archive", str(archive), *scope]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"uir-news: {message}")
    assert captured.err.count("\n") == 1


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_site_and_column_the_archive_holds_still_select(
    archive: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    scope = ["--site", "CAMPUS.example", "--column", "学校要闻"]  # a host in any case
    assert main([*command, "--archive", str(archive), *scope]) == 0
    out = capsys.readouterr().out
    if command[0] == "stats":
        assert "articles: 2" in out
    elif command[0] != "changes":
        assert out.count("campus.example/info/1102/") == 2


def test_show_says_the_site(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", f"{CAMPUS}/info/1102/4.htm", "--archive", str(archive)]) == 0
    assert "\n  site          campus.example\n" in capsys.readouterr().out
