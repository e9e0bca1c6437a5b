"""Exports: CSV for Excel, JSON Lines, typed Parquet; streamed and atomic."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from archive.research.export import COLUMNS, csv_header, select_columns, write_parquet
from archive.research.filters import ArticleRow, Filters, iter_articles
from archive.research.output import atomic_output
from archive.research.search import ensure_search_schema, index_article
from archive.storage import catalog
from crawler.cli import main
from tests.helpers.cli import REPO
from tests.helpers.records import make_record, random_records

TRICKY = make_record(
    7001,
    title='标题, 带逗号 "引号" 和换行',
    body_text='第一段，含英文逗号, 和 "双引号"\n第二段\r\n第三段：党建',
    published_at="2024-03-05T09:30:00+08:00",
    reviewers={
        "first_proofreader": ["王伟", "李娜"],
        "second_proofreader": [],
        "final_reviewer": ["张强"],
    },
    credits={"author": ["赵敏"], "photographer": ["陈静", "刘洋"]},
    images=[{"url": "https://www.uir.edu.cn/a.jpg", "caption": "合影, 第一排"}],
    attachments=[{"url": "https://www.uir.edu.cn/f.pdf", "name": "附件1.pdf"}],
    view_count=12,
)


def make_archive(root: Path, records: list[dict[str, Any]]) -> Path:
    conn = catalog.connect(root / "catalog.sqlite")
    ensure_search_schema(conn)
    with catalog.transaction(conn):
        for record in records:
            index_article(conn, catalog.put_record(conn, record).article_id, record)
    conn.close()
    return root


@pytest.fixture(scope="module")
def archive_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    records = [TRICKY, *random_records(60, seed=2, low=100, high=300)]
    return make_archive(tmp_path_factory.mktemp("export"), records)


def export(archive_dir: Path, out: Path, *args: str) -> None:
    assert main(["export", "--archive", str(archive_dir), "-o", str(out), *args]) == 0


def test_csv_reads_back_with_excel_bom_and_intact_cells(archive_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    export(archive_dir, out, "--format", "csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 61
    row = next(r for r in rows if r["url"] == TRICKY["url"])
    assert row["title"] == TRICKY["title"]
    assert row["body_text"] == TRICKY["body_text"]
    assert row["first_proofreader"] == "王伟、李娜"
    assert row["photographer"] == "陈静、刘洋"
    assert row["published_date"] == "2024-03-05"
    assert row["published_at"] == "2024-03-05T09:30:00+08:00"
    # Lists become plain cells a spreadsheet can count and sort: no JSON inside a cell.
    assert row["image_count"] == "1"
    assert row["image_urls"] == "https://www.uir.edu.cn/a.jpg"
    assert row["attachment_count"] == "1"
    assert row["attachment_urls"] == "https://www.uir.edu.cn/f.pdf"
    assert row["attachment_names"] == "附件1.pdf"
    assert row["has_attachments"] == "TRUE"
    assert "images" not in row and "attachments" not in row
    assert "body_html" not in row
    plain = next(r for r in rows if not r["attachment_count"] or r["attachment_count"] == "0")
    assert plain["has_attachments"] == "FALSE" and plain["attachment_urls"] == ""


def test_csv_columns_and_filters(archive_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.csv"
    export(
        archive_dir,
        out,
        "--format",
        "csv",
        "--columns",
        "url,title",
        "--reviewer",
        "张强",
        "--role",
        "final_reviewer",
    )
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["url", "title"]
    assert [TRICKY["url"], TRICKY["title"]] in rows[1:]
    out2 = tmp_path / "c.csv"
    export(archive_dir, out2, "--format", "csv", "--columns", "url", "--query", "第三段：党建")
    with out2.open(encoding="utf-8-sig", newline="") as fh:
        assert list(csv.reader(fh)) == [["url"], [TRICKY["url"]]]


def test_jsonl_default_is_the_full_current_record(archive_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.jsonl"
    export(archive_dir, out, "--format", "jsonl")
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert len(records) == 61
    assert next(r for r in records if r["url"] == TRICKY["url"]) == TRICKY
    out2 = tmp_path / "b.jsonl"
    export(archive_dir, out2, "--columns", "id,published_date,attachments", "--has-attachments")
    rows = [json.loads(line) for line in out2.read_text("utf-8").splitlines()]
    assert rows and all(r["attachments"] for r in rows)
    assert set(rows[0]) == {"id", "published_date", "attachments"}


def test_parquet_types_in_pandas_and_duckdb(archive_dir: Path, tmp_path: Path) -> None:
    import duckdb
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "a.parquet"
    export(archive_dir, out, "--format", "parquet")
    schema = pq.read_schema(out)
    assert str(schema.field("published_date").type) == "date32[day]"
    assert str(schema.field("published_at").type) == "timestamp[ms, tz=+08:00]"
    names = schema.field("first_proofreader").type
    assert pa.types.is_list(names) and pa.types.is_string(names.value_type)
    images = schema.field("images").type
    assert pa.types.is_list(images) and pa.types.is_struct(images.value_type)
    assert [f.name for f in images.value_type] == ["url", "caption"]
    attachments = schema.field("attachments").type
    assert [f.name for f in attachments.value_type] == ["url", "name"]
    assert pa.types.is_int64(schema.field("news_id").type)
    assert pa.types.is_boolean(schema.field("has_attachments").type)

    frame = pd.read_parquet(out)
    assert len(frame) == 61
    row = frame[frame["url"] == TRICKY["url"]].iloc[0]
    assert row["title"] == TRICKY["title"]
    assert row["published_date"] == date(2024, 3, 5)
    assert row["published_at"].hour == 9
    assert list(row["first_proofreader"]) == ["王伟", "李娜"]

    con = duckdb.connect()
    counted = con.execute("SELECT count(*) FROM read_parquet(?)", [str(out)]).fetchone()
    assert counted is not None
    (count,) = counted
    assert count == 61
    types = dict(
        con.execute(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))",
            [str(out)],
        ).fetchall()
    )
    assert types["published_date"] == "DATE"
    assert types["published_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["final_reviewer"] == "VARCHAR[]"
    assert types["images"].startswith("STRUCT(")
    found = con.execute(
        "SELECT attachments[1].name FROM read_parquet(?) WHERE url = ?", [str(out), TRICKY["url"]]
    ).fetchone()
    assert found is not None
    (name,) = found
    assert name == "附件1.pdf"


@pytest.mark.parametrize("name", ["multi.csv", "multi.parquet"])
def test_every_row_says_its_site_column_and_status(
    archive_dir: Path, tmp_path: Path, name: str
) -> None:
    # A many-site archive has a 通知公告 on each site: without `site` the rows
    # of two sites could not be told apart (the column was missing).
    out = tmp_path / name
    export(archive_dir, out)
    if name.endswith(".csv"):
        with out.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
    else:
        import pandas as pd

        rows = pd.read_parquet(out).to_dict("records")
    row = next(r for r in rows if r["url"] == TRICKY["url"])
    assert (row["site"], row["column"], row["status"]) == ("www.uir.edu.cn", "国关要闻", "listed")


def test_parquet_row_groups_stream(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    rows = (
        ArticleRow(i, "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z", r)
        for i, r in enumerate(random_records(25, low=20, high=40))
    )
    out = tmp_path / "g.parquet"
    with atomic_output(out, binary=True) as fh:
        assert write_parquet(rows, fh, select_columns("id,title"), row_group_size=10) == 25
    assert pq.ParquetFile(out).metadata.num_row_groups == 3


def test_failed_export_leaves_no_file(archive_dir: Path, tmp_path: Path) -> None:
    def failing() -> Iterator[ArticleRow]:
        with closing(catalog.connect(archive_dir / "catalog.sqlite")) as conn:
            for n, row in enumerate(iter_articles(conn, Filters())):
                if n == 30:
                    raise RuntimeError("disk on fire")
                yield row

    out = tmp_path / "x.parquet"
    with pytest.raises(RuntimeError), atomic_output(out, binary=True) as fh:
        write_parquet(failing(), fh, select_columns(None), row_group_size=10)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ["--columns", "url,nope"],
        ["--since", "2024-99"],
        ["--role", "final_reviewer"],
        ["--query", '"党建'],
        ["--format", "csv", "--columns", ","],
    ],
)
def test_bad_export_arguments_exit_2(archive_dir: Path, tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "bad.csv"
    assert main(["export", "--archive", str(archive_dir), "-o", str(out), *args]) == 2
    assert not out.exists()


def test_export_to_stdout(archive_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--archive", str(archive_dir), "--format", "jsonl", "-o", "-"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 61


def test_no_catalog_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["export", "--archive", str(tmp_path / "none")]) == 2


@pytest.mark.parametrize(
    ("name", "starts_with"),
    [("out.csv", "\ufeffid,url,"), ("out.parquet", "PAR1"), ("out.jsonl", '{"attachments"')],
)
def test_format_follows_the_file_extension(
    archive_dir: Path, tmp_path: Path, name: str, starts_with: str
) -> None:
    out = tmp_path / name
    export(archive_dir, out)
    head = out.read_bytes()[: len(starts_with.encode("utf-8"))]
    assert head.decode("utf-8") == starts_with


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("out.csv", ["--format", "parquet"]),
        ("out.parquet", ["--format", "jsonl"]),
        ("out.wacz", ["--since", "2026-03"]),
        ("out.wacz", ["--format", "wacz", "--reviewer", "王伟"]),
    ],
)
def test_a_format_the_file_name_or_filters_contradict_is_refused(
    archive_dir: Path,
    tmp_path: Path,
    name: str,
    args: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / name
    assert main(["export", "--archive", str(archive_dir), "-o", str(out), *args]) == 2
    assert not out.exists()
    assert capsys.readouterr().err.startswith("uir-news: ")


def test_readme_says_what_every_csv_column_holds() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    table = readme[readme.index("| CSV column | holds |") :].split("\n\n", 1)[0]
    documented = set(re.findall(r"`([a-z_]+)`", table.split("| holds |", 1)[1]))
    assert set(csv_header(list(COLUMNS.values()))) <= documented
