"""The record's shape as Python types, held against ``record.schema.json`` by the tests.

The JSON Schema is the contract of the files on disk; these types let mypy
check the code that builds and reads records. A field added to one must be
added to the other (``tests/test_record_model.py`` fails otherwise), and a
change that old records would not satisfy needs a new :data:`SCHEMA_VERSION`
and an upgrade path (CHANGELOG.md, "On-disk formats").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Literal, TypedDict
from urllib.parse import urlsplit

#: Version of the record format written today; records carry it as ``schema_version``.
#: Version 1 records (no ``site``, ``role_labels``, ``body_pdf``) stay on disk as
#: written and are read through :func:`upgrade`.
SCHEMA_VERSION: Literal[2] = 2

#: Every version a stored record may carry, each with its schema file.
SCHEMA_FILES = {1: "record.schema.v1.json", 2: "record.schema.json"}

#: The three review roles of ``reviewers`` (一校, 二校, 终审), in page order.
REVIEW_ROLES = ("first_proofreader", "second_proofreader", "final_reviewer")

#: The roles ``credits`` may hold, in schema order.
CREDIT_ROLES = (
    "author",
    "writer",
    "photographer",
    "editor",
    "responsible_editor",
    "auditor",
    "source",
    "contributing_unit",
)


#: The label a reader knows each role by, as VSB pages print it (the first of
#: the schema's labels where a role has several, e.g. 作者 for 文 / 作者).
ROLE_LABELS = {
    "first_proofreader": "一校",
    "second_proofreader": "二校",
    "final_reviewer": "终审",
    "author": "作者",
    "writer": "撰稿",
    "photographer": "摄影",
    "editor": "编辑",
    "responsible_editor": "责任编辑",
    "auditor": "审核",
    "source": "来源",
    "contributing_unit": "供稿单位",
}


class Reviewers(TypedDict):
    """一校 / 二校 / 终审: names in page order; empty when the page names nobody."""

    first_proofreader: list[str]
    second_proofreader: list[str]
    final_reviewer: list[str]


class Credits(TypedDict, total=False):
    """Other credits by role; a role is present only when the page names it."""

    author: list[str]
    writer: list[str]
    photographer: list[str]
    editor: list[str]
    responsible_editor: list[str]
    auditor: list[str]
    source: list[str]
    contributing_unit: list[str]


class RoleLabels(TypedDict, total=False):
    """The label the page printed for each role it names (初审, 文, 责任编辑...)."""

    first_proofreader: str
    second_proofreader: str
    final_reviewer: str
    author: str
    writer: str
    photographer: str
    editor: str
    responsible_editor: str
    auditor: str
    source: str
    contributing_unit: str


class Image(TypedDict):
    url: str
    caption: str | None


class Attachment(TypedDict):
    url: str
    name: str


class ListingEntry(TypedDict):
    """What the listing page said of the article, when it was reached from one."""

    page_url: str
    title: str | None
    date: str | None


class WarcLocation(TypedDict):
    """Where the response record of the fetch lies: file name in ``warc/``, offset, length."""

    file: str
    offset: int
    length: int


class ParsedArticle(TypedDict):
    """What an article page alone tells: the extractor's output."""

    schema_version: Literal[2]
    url: str
    site: str
    title: str
    published_at: str | None
    published_at_raw: str | None
    body_text: str
    body_html: str
    reviewers: Reviewers
    credits: Credits
    role_labels: RoleLabels
    images: list[Image]
    attachments: list[Attachment]
    body_pdf: str | None
    column: str | None
    column_id: int | None
    news_id: int | None
    prev_url: str | None
    next_url: str | None
    view_count: int | None
    warnings: list[str]


class ArticleRecord(ParsedArticle):
    """A stored record: the page's article plus what the crawl knew of the fetch."""

    listing: ListingEntry | None
    fetched_at: str
    warc: WarcLocation


class UnknownRecordVersion(ValueError):
    """A record of a schema version this code does not know (written by a newer uir-news)."""


def site_of(url: str) -> str:
    """The site of ``url``: its host, lower-cased, with the port when one is given."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        port = None
    return host if port is None or port == default else f"{host}:{port}"


def upgrade(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` in today's format (a copy), whatever version it was stored in.

    Stored records are never rewritten (a file's name ends in its content
    hash), so readers upgrade on reading. Version 1 lacks ``site`` (taken from
    the URL), ``role_labels`` (not recorded then: empty) and ``body_pdf``
    (version 1 pages were never read as PDF-bodied: null).
    """
    version = record.get("schema_version")
    if version == SCHEMA_VERSION:
        return dict(record)
    if version == 1:
        upgraded = dict(record)
        upgraded["schema_version"] = SCHEMA_VERSION
        upgraded["site"] = site_of(str(record.get("url", "")))
        upgraded["role_labels"] = {}
        upgraded["body_pdf"] = None
        return upgraded
    raise UnknownRecordVersion(f"record schema_version {version!r} is not one this uir-news reads")


@cache
def json_schema(version: int = SCHEMA_VERSION) -> dict[str, Any]:
    """The JSON Schema of a stored record of ``version`` (``record/record.schema*.json``)."""
    try:
        name = SCHEMA_FILES[version]
    except KeyError:
        raise UnknownRecordVersion(f"no schema for record version {version!r}") from None
    text = resources.files("record").joinpath(name).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
