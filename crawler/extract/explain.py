"""Which extraction rules matched a page: for `uir-news probe`, which an operator reads.

Pure, like the rest of the extractor: it re-asks the same selectors
(:mod:`crawler.extract.selectors`) the parser asks, in the same order, and
reads what the parser decided from the record it returned (its value and its
warnings), so the explanation names the rule that gave each field rather than
guessing it anew.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crawler.extract import selectors as sel
from crawler.extract.dom import decode, parse_html, text_of
from crawler.extract.listing import ARTICLE, ListingPage
from record import REVIEW_ROLES, ParsedArticle

#: Fields every archived article must have; `body` is body_text or an embedded PDF.
REQUIRED_FIELDS = ("title", "published_at", "body")

_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_SLASHED = re.compile(r"^\d{4}[/.]\d{1,2}[/.]\d{1,2}$")
_CHINESE = re.compile(r"^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$")
_BRACKETED = re.compile(r"^[\[【(（]")


@dataclass(frozen=True)
class ListingRules:
    """How a listing page was read: the item rule, the date forms, the pager."""

    item_rule: str
    date_forms: dict[str, int]
    pager_rule: str
    page_count: int | None
    items: int
    articles: int


@dataclass(frozen=True)
class ArticleRules:
    """Which rule gave each field of an article, and which fields are missing."""

    rules: dict[str, str]
    missing: list[str] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)


def date_form(date: str | None, raw: str | None) -> str:
    """The written form of one listing date: `2025-07-14`, `[07-14]`, `2023年10月16日`..."""
    if raw is None:
        return "day and year-month in separate elements" if date else "none"
    bracketed = bool(_BRACKETED.match(raw))
    inner = raw.strip("[]【】()（） ")
    if _CHINESE.match(inner):
        form = "YYYY年M月D日"
    elif _ISO.match(inner):
        form = "YYYY-MM-DD"
    elif _SLASHED.match(inner):
        form = "YYYY/MM/DD"
    elif date is None:
        form = "MM-DD (no year)"
    else:
        form = "other"
    return f"[{form}]" if bracketed else form


def _item_rule(root: Any) -> str:
    if sel.LISTING_ITEMS(root):
        return "VSB list rows: li[id^='line_u']"
    if sel.LISTING_FALLBACK_ROWS(root):
        return "fallback: the largest group of li/tr rows linking to info/ or content.jsp"
    return "none"


def _pager_rule(root: Any) -> str:
    for name, selector in (
        ("VSB pager: div.pb_sys_common / span.p_pages", sel.PAGER_NEW),
        ("older VSB pager: *[id^='fanye'] (共N条 1/M)", sel.PAGER_OLD),
        ("generic pager: 共… with 下页/尾页 links", sel.PAGER_GENERIC),
    ):
        if selector(root):
            return name
    return "none (a single page)"


def explain_listing(html: str | bytes, url: str, listing: ListingPage) -> ListingRules:
    """The rules that read ``listing`` (``parse_listing(html, url)``) off the page."""
    root = parse_html(decode(html))
    forms = Counter(date_form(item.date, item.date_raw) for item in listing.items)
    return ListingRules(
        item_rule="none" if root is None else _item_rule(root),
        date_forms=dict(forms.most_common()),
        pager_rule="none" if root is None else _pager_rule(root),
        page_count=listing.page_count,
        items=len(listing.items),
        articles=sum(item.kind == ARTICLE for item in listing.items),
    )


def _title_rule(root: Any, record: ParsedArticle) -> str:
    warnings = record["warnings"]
    if "title_from_meta" in warnings:
        return "ArticleTitle meta"
    if "title_from_title_tag" in warnings:
        return "<title>, site name removed"
    for group, selectors in (("known VSB", sel.TITLE_SPECIFIC), ("generic", sel.TITLE_GENERIC)):
        for name, selector in selectors:
            if any(text_of(el) == record["title"] for el in selector(root)):
                return f"{group} heading: {name}"
    return "heading"


def _body_rule(root: Any, record: ParsedArticle) -> str:
    if record.get("body_pdf") and not record["body_text"]:
        return "embedded PDF (showVsbpdfIframe)"
    if "body_from_density" in record["warnings"]:
        return "fallback: the block with the most paragraph text"
    for selector in sel.BODY_BLOCK:
        if any(text_of(el) or el.xpath(".//img") for el in selector(root)):
            return f"VSB body: {selector.path}"
    return "body block"


def _date_rule(record: ParsedArticle) -> str:
    warnings = record["warnings"]
    if "date_out_of_range" in warnings:
        return f"rejected: {record['published_at_raw']!r} is out of range"
    if "date_missing" in warnings or not record["published_at"]:
        return "none found"
    if "date_from_listing" in warnings:
        return "the listing's date (the page shows none)"
    if "date_from_meta" in warnings:
        return "PubDate meta"
    return f"date line on the page: {record['published_at_raw']!r}"


def _credit_rule(record: ParsedArticle) -> str:
    labels: Mapping[str, object] = record.get("role_labels") or {}
    reviewers: Mapping[str, object] = record["reviewers"]
    found = [f"{role} ({labels.get(role) or '?'})" for role in REVIEW_ROLES if reviewers[role]]
    others = [role for role, names in record["credits"].items() if names]
    parts = []
    if found:
        parts.append("reviewers " + ", ".join(found))
    if others:
        parts.append("credits " + ", ".join(others))
    return "; ".join(parts) or "none found"


def missing_fields(record: ParsedArticle) -> list[str]:
    """Every field the page did not give, reviewer roles by name."""
    fields: Mapping[str, object] = record
    reviewers: Mapping[str, object] = record["reviewers"]
    missing = [name for name in ("title", "published_at") if not fields[name]]
    if not record["body_text"] and not record.get("body_pdf"):
        missing.append("body")
    missing += [f"reviewers.{role}" for role in REVIEW_ROLES if not reviewers[role]]
    missing += [name for name in ("column", "column_id", "news_id") if fields[name] is None]
    return missing


def explain_article(
    html: str | bytes, record: ParsedArticle, *, require_reviewers: bool = False
) -> ArticleRules:
    """The rules that gave ``record`` (``parse_article(html, url)``) and what it lacks.

    ``require_reviewers`` makes the three review roles required too (they
    are on 国关要闻, not on every column: a 通知公告 names no reviewers).
    """
    root = parse_html(decode(html))
    missing = missing_fields(record)
    required = [*REQUIRED_FIELDS]
    if require_reviewers:
        required += [f"reviewers.{role}" for role in REVIEW_ROLES]
    rules = {
        "title": "none" if root is None else _title_rule(root, record),
        "body": "none" if root is None else _body_rule(root, record),
        "published_at": _date_rule(record),
        "credits": _credit_rule(record),
    }
    return ArticleRules(rules, missing, [name for name in missing if name in required])
