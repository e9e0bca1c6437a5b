"""Export writers: CSV (for Excel), JSON Lines and Parquet.

Each writer takes an iterator of :class:`archive.query.ArticleRow` and a list
of column names, streams (a batch of rows in memory at a time) and writes to
a file object from :func:`archive.export.atomic_output`, so a failed export
leaves no half file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import IO, Any

from archive.research.filters import CREDIT_ROLES, REVIEW_ROLES, ArticleRow
from archive.storage.records import dumps

FORMATS = ("csv", "jsonl", "parquet")

#: Joins a list of names in a CSV cell, as Chinese text lists them.
NAME_JOINER = "、"

CST = timezone(timedelta(hours=8))


class ExportError(ValueError):
    """An export that cannot be made as asked (unknown column or format)."""


@dataclass(frozen=True)
class Column:
    """One export column: how to read it from a row and its Parquet type name."""

    name: str
    kind: str  # int | str | date | timestamp | utc_timestamp | names | images | attachments | bool
    get: Callable[[ArticleRow], Any]
    description: str


def _field(key: str) -> Callable[[ArticleRow], Any]:
    return lambda row: row.record.get(key)


def _published_date(row: ArticleRow) -> date | None:
    value = row.record.get("published_at")
    return date.fromisoformat(value[:10]) if isinstance(value, str) else None


def _published_time(row: ArticleRow) -> datetime | None:
    value = row.record.get("published_at")
    if isinstance(value, str) and "T" in value:
        return datetime.fromisoformat(value)
    return None


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _reviewers(role: str) -> Callable[[ArticleRow], list[str]]:
    return lambda row: list((row.record.get("reviewers") or {}).get(role) or [])


def _credits(role: str) -> Callable[[ArticleRow], list[str]]:
    return lambda row: list((row.record.get("credits") or {}).get(role) or [])


_COLUMNS: list[Column] = [
    Column("id", "int", lambda row: row.article_id, "catalog article id"),
    Column("url", "str", _field("url"), "article URL"),
    Column("title", "str", _field("title"), "title"),
    Column("published_date", "date", _published_date, "publication date"),
    Column(
        "published_at",
        "timestamp",
        _published_time,
        "publication time (+08:00) when the page gives one, else empty",
    ),
    Column("published_at_raw", "str", _field("published_at_raw"), "date as printed"),
    *(Column(role, "names", _reviewers(role), f"reviewers: {role}") for role in REVIEW_ROLES),
    *(Column(role, "names", _credits(role), f"credits: {role}") for role in CREDIT_ROLES),
    Column("body_text", "str", _field("body_text"), "article text, paragraphs on lines"),
    Column("body_html", "str", _field("body_html"), "cleaned body markup"),
    Column("images", "images", _field("images"), "images: url, caption"),
    Column("attachments", "attachments", _field("attachments"), "attachments: url, name"),
    Column(
        "has_attachments",
        "bool",
        lambda row: bool(row.record.get("attachments")),
        "whether the article has attachments",
    ),
    # Which site: a multi-site archive's columns share names (通知公告 on each).
    Column("site", "str", _field("site"), "site: host, with its port when not the default"),
    Column("column", "str", _field("column"), "column name"),
    Column("column_id", "int", _field("column_id"), "VSB column id"),
    Column("news_id", "int", _field("news_id"), "VSB news id"),
    Column("prev_url", "str", _field("prev_url"), "previous article"),
    Column("next_url", "str", _field("next_url"), "next article"),
    Column("view_count", "int", _field("view_count"), "view count when fetched"),
    Column("warnings", "names", _field("warnings"), "extraction warnings"),
    Column("fetched_at", "utc_timestamp", lambda r: _utc(r.record.get("fetched_at")), "UTC"),
    Column("first_seen", "utc_timestamp", lambda r: _utc(r.first_seen), "first archived"),
    Column("last_seen", "utc_timestamp", lambda r: _utc(r.last_seen), "last seen"),
    Column("status", "str", lambda r: r.status, "listed, unlisted or removed"),
    Column("status_since", "utc_timestamp", lambda r: _utc(r.status_since), "UTC, when it took it"),
]

COLUMNS: dict[str, Column] = {column.name: column for column in _COLUMNS}
DEFAULT_COLUMNS = tuple(name for name in COLUMNS if name != "body_html")


def select_columns(spec: str | None) -> list[Column]:
    """Columns named in a comma-separated ``spec``; all but body_html when None."""
    if spec is None:
        return [COLUMNS[name] for name in DEFAULT_COLUMNS]
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names:
        raise ExportError("--columns is empty")
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise ExportError(
            f"unknown column(s) {', '.join(unknown)}; choose from {', '.join(COLUMNS)}"
        )
    if len(set(names)) != len(names):
        raise ExportError("--columns names a column twice")
    return [COLUMNS[name] for name in names]


# -- JSON Lines ----------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_jsonl(rows: Iterable[ArticleRow], out: IO[str], columns: Sequence[Column] | None) -> int:
    """One JSON object per line; with ``columns`` None, the full current record as stored."""
    count = 0
    for row in rows:
        if columns is None:
            out.write(dumps(row.record, indent=None))
        else:
            obj = {column.name: _json_value(column.get(row)) for column in columns}
            out.write(json.dumps(obj, ensure_ascii=False))
        out.write("\n")
        count += 1
    return count


# -- CSV -------------------------------------------------------------------------


#: Joins the URLs of a CSV cell: one per line inside the cell, as a spreadsheet shows them.
URL_JOINER = "\n"


def _csv_value(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind == "names":
        return NAME_JOINER.join(value)
    if column.kind == "bool":
        # Spreadsheets read these as booleans.
        return "TRUE" if value else "FALSE"
    return str(_json_value(value))


def _csv_cells(column: Column) -> list[tuple[str, Callable[[ArticleRow], str]]]:
    """The CSV columns one export column becomes: plain cells a spreadsheet can sort and count.

    A list of images or attachments is not one JSON cell but a count, the
    URLs (one per line in the cell) and, for attachments, their names.
    """
    if column.kind in ("images", "attachments"):
        singular = column.name[:-1]  # images -> image, attachments -> attachment

        def items(row: ArticleRow) -> list[dict[str, Any]]:
            return list(column.get(row) or [])

        cells: list[tuple[str, Callable[[ArticleRow], str]]] = [
            (f"{singular}_count", lambda row: str(len(items(row)))),
            (f"{singular}_urls", lambda row: URL_JOINER.join(i["url"] for i in items(row))),
        ]
        if column.kind == "attachments":
            cells.append(
                ("attachment_names", lambda row: NAME_JOINER.join(i["name"] for i in items(row)))
            )
        return cells
    return [(column.name, lambda row: _csv_value(column, column.get(row)))]


def csv_header(columns: Sequence[Column]) -> list[str]:
    """The header row a CSV export of ``columns`` has."""
    return [name for column in columns for name, _ in _csv_cells(column)]


def write_csv(rows: Iterable[ArticleRow], out: IO[str], columns: Sequence[Column]) -> int:
    """UTF-8 with a byte-order mark (so Excel reads it as UTF-8), RFC 4180 quoting.

    ``out`` must be opened with ``newline=""`` (atomic_output does so).
    """
    cells = [cell for column in columns for cell in _csv_cells(column)]
    out.write("\ufeff")
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([name for name, _ in cells])
    count = 0
    for row in rows:
        writer.writerow([get(row) for _, get in cells])
        count += 1
    return count


# -- Parquet ---------------------------------------------------------------------


def arrow_schema(columns: Sequence[Column]) -> Any:
    import pyarrow as pa

    types = {
        "int": pa.int64(),
        "str": pa.string(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("ms", tz="+08:00"),
        "utc_timestamp": pa.timestamp("ms", tz="UTC"),
        "names": pa.list_(pa.string()),
        "images": pa.list_(pa.struct([("url", pa.string()), ("caption", pa.string())])),
        "attachments": pa.list_(pa.struct([("url", pa.string()), ("name", pa.string())])),
    }
    return pa.schema(
        [pa.field(c.name, types[c.kind], metadata={"description": c.description}) for c in columns]
    )


def _batches(rows: Iterable[ArticleRow], size: int) -> Iterator[list[ArticleRow]]:
    batch: list[ArticleRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_parquet(
    rows: Iterable[ArticleRow],
    out: IO[bytes],
    columns: Sequence[Column],
    *,
    row_group_size: int = 5000,
) -> int:
    """Typed Parquet (zstd), one row group per ``row_group_size`` rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(columns)
    count = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for batch in _batches(rows, row_group_size):
            arrays = {column.name: [column.get(row) for row in batch] for column in columns}
            writer.write_table(pa.Table.from_pydict(arrays, schema=schema))
            count += len(batch)
        if count == 0:
            writer.write_table(schema.empty_table())
    return count


# -- archived pages ------------------------------------------------------------

#: Only inline styles and images may load; nothing runs, nothing is fetched else.
CSP = "default-src 'none'; img-src * data:; style-src 'unsafe-inline'"

_DROP_ELEMENTS = (
    "script",
    "noscript",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "base",
    "input",
    "button",
    "select",
    "textarea",
)

#: Unwrapped, their content kept: VSB wraps the whole article in
#: ``<form name="_newscontent_fromname">``, so dropping forms dropped the article.
_UNWRAP_ELEMENTS = ("form",)


def sanitize_html(body: bytes, encoding: str | None = None) -> bytes:
    """An archived page made safe to open: no script can run, a strict CSP on top.

    Removes script-capable elements, ``on*`` attributes, ``javascript:`` URLs and
    meta refreshes, then adds a Content-Security-Policy meta as the first
    element of ``<head>`` (a second line of defence). Output is UTF-8.
    ``encoding`` is the page's charset when known; else UTF-8 if the bytes
    decode as such, else lxml's guess.
    """
    import lxml.html

    if encoding is None:
        try:
            body.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = None
    try:
        parser = lxml.html.HTMLParser(encoding=encoding) if encoding else None
    except LookupError:
        parser = None
    doc = lxml.html.document_fromstring(body or b"<html></html>", parser=parser)
    for element in list(doc.iter(*_DROP_ELEMENTS)):
        element.drop_tree()
    for element in list(doc.iter(*_UNWRAP_ELEMENTS)):
        element.drop_tag()
    for element in list(doc.iter("meta")):
        equiv = (element.get("http-equiv") or "").lower()
        if equiv in {"refresh", "content-type", "content-security-policy", "set-cookie"} or (
            element.get("charset") is not None
        ):
            element.drop_tree()
    for element in doc.iter():
        if not isinstance(element.tag, str):
            continue
        for name in list(element.attrib):
            compact = "".join(element.attrib[name].split()).lower()
            if (
                name.lower().startswith("on")
                or name.lower() in {"srcdoc", "formaction"}
                or compact.startswith(("javascript:", "vbscript:", "data:text/html"))
            ):
                del element.attrib[name]
    head = doc.find("head")
    if head is None:
        head = lxml.html.Element("head")
        doc.insert(0, head)
    csp = lxml.html.Element("meta")
    csp.set("http-equiv", "Content-Security-Policy")
    csp.set("content", CSP)
    charset = lxml.html.Element("meta")
    charset.set("charset", "utf-8")
    head.insert(0, csp)
    head.insert(0, charset)
    out: bytes = lxml.html.tostring(doc, encoding="utf-8", doctype="<!DOCTYPE html>")
    return out
