"""`parse_listing` (a column page → items, pagination, the column) and `merge_listing`."""

from __future__ import annotations

import copy
import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from crawler.extract import selectors as sel
from crawler.extract.article import column_of
from crawler.extract.dates import FULL_DATE
from crawler.extract.dom import Element, absolute, base_url, decode, parse_html, tag_of, text_of
from crawler.extract.text import normalize
from crawler.extract.urls import canonical_article_url
from record import ArticleRecord

ARTICLE = "article"
EXTERNAL = "external"
DYNAMIC = "dynamic"
#: Page numbering of a column's later pages (`ListingPage.page_numbering`).
COUNT_DOWN = "down"  # page k of M is {slug}/{M-k+1}.htm: most VSB sites
COUNT_UP = "up"  # page k is {slug}/{k}.htm

_BRACKETED = re.compile(r"^[\[【(（]\s*(?P<inner>.*?)\s*[\]】)）]$")
_MONTH_DAY = re.compile(r"^(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?$")
_YEAR_MONTH = re.compile(r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*月?$")
_DAY = re.compile(r"^\d{1,2}$")
_ANY_DATE = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?|\[\s*\d{1,2}-\d{1,2}\s*\]"
)
_TOTAL = re.compile(r"共\s*(\d+)\s*条")
_PAGES = re.compile(r"(?<![\d/])(\d+)\s*/\s*(\d+)(?![\d/])")
_INFO_ID = re.compile(r"/info/(\d+)/\d+\.htm")
_WBTREEID = re.compile(r"wbtreeid\D{0,20}?(\d+)", re.I)
#: A later page of a column: ``{folder}/{slug}/{n}.htm``; page 1 is ``{folder}/{slug}.htm``.
_NUMBERED_PAGE = re.compile(r"^(?P<slug>.*[^/])/(?P<n>\d+)\.(?P<ext>html?)$")
_FIRST_PAGE = re.compile(r"^(?P<slug>.*[^/])\.(?P<ext>html?)$")
_SAME_SITE = ({"uir.edu.cn", "uir.cn"},)
#: Elements inside a listing link that hold the (possibly truncated) title text.
_TITLE_PARTS = ("p", "em", "h2", "h3", "h4", "strong", "b")
#: List headings on column pages: the column's own name above its items.
_HEADING_MARKS = ("tit", "lm", "column", "list")
_TITLE_SEPARATORS = re.compile(r"\s*[-_|–—｜]\s*")


@dataclass(frozen=True, slots=True)
class ListingItem:
    """One entry of a column page. `kind`: article (static /info/ page on this site), dynamic
    (content.jsp), external (link-type item: another host, or anything else not an article).

    `canonical_url` is the URL the article is recorded under: the static ``/info/T/N.htm``
    form of a content.jsp link, else `url` itself (filled in when not given).
    """

    url: str
    title: str | None
    date: str | None
    date_raw: str | None
    kind: str
    canonical_url: str = ""
    #: The content.jsp URL of a dynamic item the crawler asks for at `canonical_url`
    #: first (empty otherwise): where to go when the static page is not published.
    dynamic_url: str = ""

    def __post_init__(self) -> None:
        if not self.canonical_url:
            object.__setattr__(self, "canonical_url", canonical_article_url(self.url))


@dataclass(frozen=True, slots=True)
class ListingPage:
    """What a column page shows: its items, how to reach the other pages, and its column.

    `next_url` is the next page (the pager's link, else derived from the page
    count); `page_urls` the other pages the pager links, plus every page derived
    from the count when the pager links no next page (`page_urls_derived`).
    `page_count` is M of ``共N条 k/M`` or of ``_simple_list_gotopage_fun(M, …)``;
    `page_numbering` is ``"down"`` or ``"up"`` when the page's links show it (None:
    not shown; derived URLs then count down, as most VSB sites do). `column_name`
    is the name the page gives itself (breadcrumb or ColumnName meta, list heading,
    ``<title>``); `column_id` the most common ``/info/{id}/`` of its items, else a
    ``wbtreeid`` on the page.
    """

    items: list[ListingItem] = field(default_factory=list)
    next_url: str | None = None
    page_urls: list[str] = field(default_factory=list)
    total_items: int | None = None
    current_page: int | None = None
    page_count: int | None = None
    page_numbering: str | None = None
    page_urls_derived: bool = False
    column_name: str | None = None
    column_id: int | None = None


def parse_listing(html: str | bytes, url: str) -> ListingPage:
    """Items, pagination and column of a VSB column page; links resolved against `url` (or
    `<base>`). An empty document gives an empty page."""
    text = decode(html)
    root = parse_html(text)
    if root is None:
        return ListingPage()
    base = base_url(root, url)
    items = [item for row in _rows(root) if (item := _item(row, base, url)) is not None]
    names = page_names(root, url)
    column_name = names[0] if names else None
    column_id = _column_id(items, text)
    pager = _pager(root)
    pager_text = text_of(pager) if pager is not None else ""
    total = _TOTAL.search(pager_text)
    pages = _PAGES.search(pager_text)
    current = int(pages.group(1)) if pages else _current_from_numbers(pager)
    count = int(pages.group(2)) if pages else _goto_page_count(text)
    next_url = _next_url(pager, base) if pager is not None else None
    # A page link is never one of the page's own items (a pager cell beside the list).
    item_urls = {item.url for item in items}
    page_urls = [
        u for u in (_page_urls(pager, base) if pager is not None else []) if u not in item_urls
    ]
    walk = _PageWalk(_page_url_of(url), current, count)
    links = _pager_links(pager, base, current, count) if pager is not None else []
    first = walk.first_url(links)
    numbering = walk.numbering(links, first)
    derived = False
    position = walk.position(first, numbering) if first is not None else None
    if next_url is None and count is not None and first is not None and position != count:
        # The pager links no next page, yet there are more: build them from the count.
        urls = [walk.url_of(k, first, numbering) for k in range(1, count + 1)]
        if position is not None and position < count:
            next_url = urls[position]  # page position + 1
        extra = [u for u in urls if u is not None and u != walk.own_url and u not in page_urls]
        page_urls = page_urls + extra
        derived = bool(extra) or next_url is not None
    return ListingPage(
        items=items,
        next_url=next_url,
        page_urls=page_urls,
        total_items=int(total.group(1)) if total else None,
        current_page=current,
        page_count=count,
        page_numbering=numbering,
        page_urls_derived=derived,
        column_name=column_name,
        column_id=column_id,
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


# --- the column ---------------------------------------------------------------------------------
def page_names(root: Element, url: str) -> list[str]:
    """Names a column page gives itself, each once: breadcrumb or ColumnName, list heading,
    the head of ``<title>``."""
    names: list[str] = []
    if crumb := column_of(root, url):
        names.append(crumb)
    for heading in root.iter("h1", "h2", "h3", "h4"):
        parent = heading.getparent()
        if parent is None or not _marked(parent, _HEADING_MARKS) or heading.xpath(".//a"):
            continue
        if (text := normalize(text_of(heading))) and len(text) <= 20:
            names.append(text)
    for title in root.iter("title"):
        head = _TITLE_SEPARATORS.split(normalize("".join(title.itertext())))[0]
        if head:
            names.append(head)
        break
    unique: list[str] = []
    for name in names:
        if name not in unique:
            unique.append(name)
    return unique


def _marked(el: Element, marks: tuple[str, ...]) -> bool:
    value = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    return any(mark in value for mark in marks)


def _column_id(items: list[ListingItem], html: str) -> int | None:
    """The most common ``/info/{id}/`` of the items (first seen wins a tie), else a wbtreeid."""
    ids = Counter(
        int(match.group(1))
        for item in items
        if item.kind != EXTERNAL and (match := _INFO_ID.search(item.canonical_url))
    )
    if ids:
        return ids.most_common(1)[0][0]
    match = _WBTREEID.search(html)
    return int(match.group(1)) if match else None


# --- pagination ---------------------------------------------------------------------------------
def _pager(root: Element) -> Element | None:
    for selector in (sel.PAGER_NEW, sel.PAGER_OLD, sel.PAGER_HEAD_STYLE, sel.PAGER_GENERIC):
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
        if parent.xpath(".//*[starts-with(@id, 'line_u')]"):
            break  # the list itself: its links are articles, not pages (a short last page)
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


def _current_from_numbers(pager: Element | None) -> int | None:
    if pager is None:
        return None
    for el in sel.PAGER_CURRENT(pager):
        text = text_of(el)
        if text.isdigit():
            return int(text)
    return None


def _goto_page_count(html: str) -> int | None:
    match = sel.GOTO_PAGE_CALL.search(html)
    return int(match.group("pages")) if match else None


def _page_url_of(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


_LINK_CLASSES = (("p_first", "first"), ("p_prev", "prev"), ("p_next", "next"), ("p_last", "last"))


def _pager_links(
    pager: Element, base: str, current: int | None, count: int | None
) -> list[tuple[int, str]]:
    """(page number, URL) of the pager's links whose page number is known."""
    out: list[tuple[int, str]] = []
    for link in pager.xpath(".//a[@href]"):
        url = absolute(base, link.get("href"))
        if url is None:
            continue
        label = normalize(text_of(link))
        parent = link.getparent()
        classes = f"{link.get('class') or ''} {parent.get('class') if parent is not None else ''}"
        role = next((r for c, r in _LINK_CLASSES if c in (classes or "").split()), None)
        page: int | None = None
        if label.isdigit():
            page = int(label)
        elif role == "first" or label in sel.PAGER_FIRST_LABELS:
            page = 1
        elif role == "last" or label in sel.PAGER_LAST_LABELS:
            page = count
        elif current is not None and (role == "prev" or label in sel.PAGER_PREV_LABELS):
            page = current - 1
        elif current is not None and (role == "next" or label in sel.PAGER_NEXT_LABELS):
            page = current + 1
        if page is not None and page >= 1:
            out.append((page, _page_url_of(url)))
    return out


@dataclass(frozen=True, slots=True)
class _PageWalk:
    """The URLs of a column's pages, from one page's URL, its position and the page count."""

    own_url: str
    current: int | None
    count: int | None

    def first_url(self, links: list[tuple[int, str]]) -> str | None:
        """Page 1: the pager's link to it, else this page's URL (page 1, or ``{slug}/n.htm``)."""
        for page, url in links:
            if page == 1 and _FIRST_PAGE.match(urlsplit(url).path):
                return url
        parts = urlsplit(self.own_url)
        numbered = _NUMBERED_PAGE.match(parts.path)
        if numbered and self.current != 1:
            path = f"{numbered.group('slug')}.{numbered.group('ext')}"
            return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        return self.own_url if _FIRST_PAGE.match(parts.path) else None

    @staticmethod
    def number_in(url: str, first: str) -> int | None:
        """n of ``{slug}/{n}.htm`` when `url` is a later page of the column starting at `first`."""
        numbered = _NUMBERED_PAGE.match(urlsplit(url).path)
        if numbered is None:
            return None
        first_parts = urlsplit(first)
        first_match = _FIRST_PAGE.match(first_parts.path)
        if first_match is None or urlsplit(url).netloc != first_parts.netloc:
            return None
        same_column = numbered.group("slug") == first_match.group("slug")
        return int(numbered.group("n")) if same_column else None

    def numbering(self, links: list[tuple[int, str]], first: str | None) -> str | None:
        """ "down" or "up" as the page numbers in the links (and this page's URL) show; or None."""
        if first is None:
            return None
        votes: Counter[str] = Counter()
        known = [*links, *([(self.current, self.own_url)] if self.current else [])]
        for page, url in known:
            n = self.number_in(url, first)
            if n is None or page < 2:
                continue
            down = self.count is not None and n == self.count - page + 1
            if down and n != page:
                votes[COUNT_DOWN] += 1
            elif n == page and not down:
                votes[COUNT_UP] += 1
        if not votes or votes[COUNT_DOWN] == votes[COUNT_UP]:
            return None
        return votes.most_common(1)[0][0]

    def url_of(self, page: int, first: str, numbering: str | None) -> str | None:
        """URL of page `page` (1-based); later pages count down unless `numbering` is "up"."""
        if page == 1:
            return first
        match = _FIRST_PAGE.match(urlsplit(first).path)
        if match is None or self.count is None:
            return None
        number = page if numbering == COUNT_UP else self.count - page + 1
        parts = urlsplit(first)
        path = f"{match.group('slug')}/{number}.{match.group('ext')}"
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))

    def position(self, first: str, numbering: str | None) -> int | None:
        """This page's number: the pager's, else 1 for the first page's URL, else from its URL."""
        if self.current is not None:
            return self.current
        if self.own_url == first:
            return 1
        n = self.number_in(self.own_url, first)
        if n is None or self.count is None:
            return None
        return n if numbering == COUNT_UP else self.count - n + 1
