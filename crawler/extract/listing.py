"""`parse_listing` (a column page → items and pagination) and `merge_listing`."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawler.extract import selectors as sel
from crawler.extract.dates import FULL_DATE
from crawler.extract.dom import Element, absolute, base_url, decode, parse_html, tag_of, text_of
from crawler.extract.text import normalize
from record import ArticleRecord

ARTICLE = "article"
EXTERNAL = "external"
DYNAMIC = "dynamic"

_BRACKETED = re.compile(r"^[\[【(（]\s*(?P<inner>.*?)\s*[\]】)）]$")
_MONTH_DAY = re.compile(r"^(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?$")
_YEAR_MONTH = re.compile(r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*月?$")
_DAY = re.compile(r"^\d{1,2}$")
_ANY_DATE = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?|\[\s*\d{1,2}-\d{1,2}\s*\]"
)
_TOTAL = re.compile(r"共\s*(\d+)\s*条")
_PAGES = re.compile(r"(?<![\d/])(\d+)\s*/\s*(\d+)(?![\d/])")
_SAME_SITE = ({"uir.edu.cn", "uir.cn"},)
#: Elements inside a listing link that hold the (possibly truncated) title text.
_TITLE_PARTS = ("p", "em", "h2", "h3", "h4", "strong", "b")


@dataclass(frozen=True, slots=True)
class ListingItem:
    """One entry of a column page. `kind`: article (static /info/ page on this site), dynamic
    (content.jsp), external (link-type item: another host, or anything else not an article)."""

    url: str
    title: str | None
    date: str | None
    date_raw: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class ListingPage:
    items: list[ListingItem] = field(default_factory=list)
    next_url: str | None = None
    page_urls: list[str] = field(default_factory=list)
    total_items: int | None = None
    current_page: int | None = None
    total_pages: int | None = None


def parse_listing(html: str | bytes, url: str) -> ListingPage:
    """Items and pagination of a VSB column page; links resolved against `url` (or `<base>`)."""
    root = parse_html(decode(html))
    if root is None:
        return ListingPage()
    base = base_url(root, url)
    items = [item for row in _rows(root) if (item := _item(row, base, url)) is not None]
    pager = _pager(root)
    if pager is None:
        return ListingPage(items=items)
    text = text_of(pager)
    total = _TOTAL.search(text)
    pages = _PAGES.search(text)
    current = int(pages.group(1)) if pages else _current_from_numbers(pager)
    return ListingPage(
        items=items,
        next_url=_next_url(pager, base),
        page_urls=_page_urls(pager, base),
        total_items=int(total.group(1)) if total else None,
        current_page=current,
        total_pages=int(pages.group(2)) if pages else None,
    )


def merge_listing(record: ArticleRecord, item: ListingItem, page_url: str) -> ArticleRecord:
    """Copy of `record` with `listing` set; warns when listing and page disagree on the date.

    When the page has no date (and did not reject one), the listing date is used instead.
    """
    merged = copy.deepcopy(record)
    merged["listing"] = {"page_url": page_url, "title": item.title, "date": item.date}
    warnings = merged["warnings"]
    page_date = merged["published_at"]
    if item.date is None:
        return merged
    if page_date:
        if page_date[:10] != item.date:
            warnings.append(f"listing_date_mismatch:{item.date}!={page_date[:10]}")
    elif "date_out_of_range" not in warnings:
        merged["published_at"] = item.date
        warnings.append("date_from_listing")
        if "date_missing" in warnings:
            warnings.remove("date_missing")
    return merged


# --- items --------------------------------------------------------------------------------------
def _rows(root: Element) -> list[Element]:
    rows: list[Element] = sel.LISTING_ITEMS(root)
    if rows:
        return rows
    groups: dict[Element, list[Element]] = {}  # keyed by the parent proxy, kept alive as a key
    for row in sel.LISTING_FALLBACK_ROWS(root):
        links = row.xpath(".//a[contains(@href, 'info/') or contains(@href, 'content.jsp')]")
        if len(links) <= 2 and not row.xpath(".//li | .//tr"):
            groups.setdefault(row.getparent(), []).append(row)
    return max(groups.values(), key=len) if groups else []


def _item(row: Element, base: str, page_url: str) -> ListingItem | None:
    link = next((a for a in row.xpath(".//a[@href]") if absolute(base, a.get("href"))), None)
    if link is None:
        return None
    url = absolute(base, link.get("href"))
    if url is None:
        return None
    date, date_raw, date_el = _date(row)
    return ListingItem(url, _title(link, date_el), date, date_raw, _kind(url, page_url))


def _kind(url: str, page_url: str) -> str:
    parts = urlsplit(url)
    if parts.path.lower().endswith("content.jsp"):
        return DYNAMIC
    if (
        _same_site(parts.hostname or "", urlsplit(page_url).hostname or "")
        and "/info/" in parts.path
    ):
        return ARTICLE
    return EXTERNAL


def _same_site(a: str, b: str) -> bool:
    a, b = a.lower().removeprefix("www."), b.lower().removeprefix("www.")
    return a == b or any(a in group and b in group for group in _SAME_SITE)


def _title(link: Element, date_el: Element | None) -> str | None:
    """The `title` attribute (full title) over the visible, possibly truncated, text."""
    attr = normalize(link.get("title") or "")
    if attr:
        return attr
    for tag in _TITLE_PARTS:
        for part in link.iter(tag):
            if part is not date_el and (text := text_of(part)) and not _date_text(text):
                return text
    pieces = []
    for node in link.iter():
        if node is date_el or any(a is date_el for a in node.iterancestors()):
            continue
        pieces.append(node.text or "")
        if node is not link and not any(a is date_el for a in node.iterancestors()):
            pieces.append(node.tail or "")
    text = normalize(_ANY_DATE.sub("", "".join(pieces)))
    return text or None


def _date_text(text: str) -> tuple[str | None, str | None] | None:
    """(date, raw) when `text` is just a date (brackets allowed); date is None without a year."""
    text = normalize(text)
    bracketed = _BRACKETED.match(text)
    inner = bracketed.group("inner") if bracketed else text
    full = FULL_DATE.match(inner)
    if full:
        y, m, d = int(full.group("y")), int(full.group("m")), int(full.group("d"))
        if 1 <= m <= 12 and 1 <= d <= 31:
            return f"{y:04d}-{m:02d}-{d:02d}", normalize(full.group("date"))
        return None
    if _MONTH_DAY.match(inner):
        return None, inner
    return None


def _date(row: Element) -> tuple[str | None, str | None, Element | None]:
    """The item's date from the first element whose whole text is a date; else the row text."""
    year_month: tuple[int, int] | None = None
    day: int | None = None
    for el in row.iter():
        if not isinstance(el.tag, str) or (tag_of(el) == "a" and len(el)):
            continue
        text = normalize((el.text or "") if len(el) else "".join(el.itertext()))
        if not text:
            continue
        found = _date_text(text)
        if found is not None:
            return found[0], found[1], el
        if match := _YEAR_MONTH.match(text):
            year_month = int(match.group("y")), int(match.group("m"))
        elif _DAY.match(text):
            day = int(text)
    if year_month and day:  # <span class="day">14</span><span>2025-07</span>
        return f"{year_month[0]:04d}-{year_month[1]:02d}-{day:02d}", None, None
    for text in row.xpath(".//text()[not(ancestor::a)]"):
        match = _ANY_DATE.search(text)
        if match and (found := _date_text(match.group(0))) is not None:
            return found[0], found[1], None
    return None, None, None


# --- pagination ---------------------------------------------------------------------------------
def _pager(root: Element) -> Element | None:
    for selector in (sel.PAGER_NEW, sel.PAGER_OLD, sel.PAGER_GENERIC):
        found = selector(root)
        if found:
            # the innermost match: a generic match may be a whole layout cell
            return _with_links(min(found, key=lambda el: len(text_of(el))))
    return None


def _with_links(pager: Element, max_levels: int = 3, max_text: int = 300) -> Element:
    """The pager, widened to the nearest ancestor holding its links.

    The older VSB pager puts ``共N条 1/M`` in ``td#fanye…`` and the 下页 links
    in the next cell of the same row; climb until a page link is inside, but
    never to something as large as a layout block.
    """
    node = pager
    for _ in range(max_levels):
        if node.xpath(".//a[@href]"):
            return node
        parent = node.getparent()
        if parent is None or len(text_of(parent)) > max_text:
            break
        node = parent
    return node if node.xpath(".//a[@href]") else pager


def _next_url(pager: Element, base: str) -> str | None:
    for link in sel.PAGER_NEXT(pager):
        if url := absolute(base, link.get("href")):
            return url
    return None


def _page_urls(pager: Element, base: str) -> list[str]:
    urls: list[str] = []
    for link in pager.xpath(".//a[@href]"):
        url = absolute(base, link.get("href"))
        if url and url not in urls:
            urls.append(url)
    return urls


def _current_from_numbers(pager: Element) -> int | None:
    for el in sel.PAGER_CURRENT(pager):
        text = text_of(el)
        if text.isdigit():
            return int(text)
    return None
