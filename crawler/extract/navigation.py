"""Finding a column by its visible name, as a reader clicking through a VSB site would.

`find_column_links` reads a home page (or any page) and returns the links that
lead to the column named NAME, each with the reasons it was taken for one: a
navigation link, a news block's title, the 更多 link next to a block title, a
breadcrumb step, or a link elsewhere with that text. `check_listing` says
whether a page is a listing of that column: items (the listing parser's), a
pager, and the name the page gives itself (breadcrumb, ColumnName meta, list
heading, ``<title>``). Names are compared in `column_key` form: NFKC, no
whitespace, no decorative arrows, lower case, so ``国关要闻``, ``国关 要闻`` and
``国关要闻 >>`` are one name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urldefrag

from crawler.extract.dom import Element, absolute, base_url, decode, parse_html, tag_of, text_of
from crawler.extract.listing import page_names, parse_listing
from crawler.extract.text import normalize

NAVIGATION = "navigation"
MORE_LINK = "more_link"
BLOCK_TITLE = "block_title"
BREADCRUMB = "breadcrumb"
LINK = "link"
#: Reasons from the strongest to the weakest; candidates are ordered by their best one.
REASONS = (NAVIGATION, MORE_LINK, BLOCK_TITLE, BREADCRUMB, LINK)
_DESCRIBE = {
    NAVIGATION: "navigation link",
    MORE_LINK: "更多 link of the block titled",
    BLOCK_TITLE: "block title link",
    BREADCRUMB: "breadcrumb link",
    LINK: "link",
}

# Class/id fragments of the containers each reason looks for (lower case).
_NAV_MARKS = ("nav", "menu", "daohang")
_TITLE_MARKS = ("tit", "hd", "head", "lm")
_CRUMB_MARKS = ("position", "breadcrumb", "location", "dqwz", "crumb", "weizhi", "bread")
_CRUMB_LABELS = ("当前位置", "您的位置", "您现在的位置", "所在位置")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
#: Texts of "more" links, in column_key form.
_MORE_TEXTS = frozenset({"更多", "more", "查看更多", "更多内容", "更多新闻", "更多信息"})
_DECORATION = re.compile(r"[\s>»›→+＋…·.。:：\[\]【】<«‹]+")
#: Ancestors climbed from a link to find its container (nav, block title).
_NAV_LEVELS = 8
_BLOCK_LEVELS = 3


@dataclass(frozen=True, slots=True)
class ColumnLink:
    """A link taken for the column: its URL, its visible text and why (best reason first)."""

    url: str
    text: str
    reasons: tuple[str, ...]

    def why(self, column: str) -> str:
        """One line: which reasons named this link, e.g. ``navigation link 国关要闻``."""
        return ", ".join(f"{_DESCRIBE[r]} {column}" for r in self.reasons)


@dataclass(frozen=True, slots=True)
class ListingCheck:
    """What a candidate page is: listing items, a pager, and the names it gives itself."""

    items: int
    has_pager: bool
    names: tuple[str, ...]
    names_column: bool

    @property
    def ok(self) -> bool:
        """A VSB column listing (items and a pager) that names this column, or names none."""
        return self.items > 0 and self.has_pager and (self.names_column or not self.names)

    def rejection(self) -> str:
        """Why the page is not the column's listing ("" when it is)."""
        if self.ok:
            return ""
        if self.items == 0:
            return "no listing items"
        if not self.has_pager:
            return "no pager"
        return "a listing of " + " / ".join(self.names)


def column_key(text: str) -> str:
    """A name in comparable form: NFKC, lower case, no whitespace or arrows (``国关要闻 >>``)."""
    return _DECORATION.sub("", unicodedata.normalize("NFKC", text)).lower()


def find_column_links(html: str | bytes, url: str, column: str) -> list[ColumnLink]:
    """Links on the page that lead to the column named `column`, strongest reason first.

    Links are resolved against `url` (or `<base>`); one entry per URL (fragment
    dropped), with every reason found for it. Empty when no link names it.
    """
    root = parse_html(decode(html))
    want = column_key(column)
    if root is None or not want:
        return []
    base = base_url(root, url)
    found: dict[str, tuple[str, set[str]]] = {}
    order: list[str] = []

    def add(target: str, text: str, reason: str) -> None:
        if target not in found:
            found[target] = (text, set())
            order.append(target)
        found[target][1].add(reason)

    for link in root.iter("a"):
        target = absolute(base, link.get("href"))
        if target is None:
            continue
        target = urldefrag(target).url
        text = normalize(text_of(link))
        if column_key(text) == want or column_key(link.get("title") or "") == want:
            add(target, text or column, _context(link))
        elif _is_more_link(link, text) and _block_title_near(link, want):
            add(target, text, MORE_LINK)
    links = [
        ColumnLink(u, found[u][0], tuple(r for r in REASONS if r in found[u][1])) for u in order
    ]
    # Stable: document order among links of the same best reason.
    return sorted(links, key=lambda c: REASONS.index(c.reasons[0]))


def link_texts(html: str | bytes, url: str, limit: int = 30) -> list[str]:
    """Short visible texts of the page's links, navigation first, each once (for messages)."""
    root = parse_html(decode(html))
    if root is None:
        return []
    base = base_url(root, url)
    nav: list[str] = []
    other: list[str] = []
    for link in root.iter("a"):
        text = normalize(text_of(link))
        if not text or len(text) > 12 or absolute(base, link.get("href")) is None:
            continue
        bucket = nav if _in_container(link, _NAV_MARKS, _NAV_LEVELS, tags=("nav",)) else other
        if text not in nav and text not in other:
            bucket.append(text)
    return (nav + other)[:limit]


def check_listing(html: str | bytes, url: str, column: str) -> ListingCheck:
    """Whether the page is a listing of `column`: items, pager, and the names it shows."""
    page = parse_listing(html, url)
    names = listing_names(html, url)
    want = column_key(column)
    return ListingCheck(
        items=len(page.items),
        has_pager=page.page_count is not None or page.next_url is not None,
        names=tuple(names),
        names_column=any(column_key(n) == want for n in names),
    )


def listing_names(html: str | bytes, url: str) -> list[str]:
    """Names a column page gives itself: breadcrumb or ColumnName, list heading, title head."""
    root = parse_html(decode(html))
    return [] if root is None else page_names(root, url)


# --- context of a link ------------------------------------------------------------------------
def _context(link: Element) -> str:
    if _in_container(link, _NAV_MARKS, _NAV_LEVELS, tags=("nav",)):
        return NAVIGATION
    if _in_container(link, _CRUMB_MARKS, _NAV_LEVELS) or _after_crumb_label(link):
        return BREADCRUMB
    if _in_container(link, _TITLE_MARKS, _BLOCK_LEVELS, tags=tuple(_HEADINGS)):
        return BLOCK_TITLE
    return LINK


def _marked(el: Element, marks: tuple[str, ...]) -> bool:
    value = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    return any(mark in value for mark in marks)


def _in_container(
    link: Element, marks: tuple[str, ...], levels: int, tags: tuple[str, ...] = ()
) -> bool:
    for level, node in enumerate(link.iterancestors()):
        if level >= levels:
            break
        if tag_of(node) in tags or _marked(node, marks):
            return True
    return False


def _after_crumb_label(link: Element) -> bool:
    parent = link.getparent()
    if parent is None:
        return False
    text = text_of(parent)
    return len(text) < 200 and any(label in text for label in _CRUMB_LABELS)


def _is_more_link(link: Element, text: str) -> bool:
    key = column_key(text)
    if key in _MORE_TEXTS:
        return True
    # An image or an arrow alone, in a link (or its wrapper) marked "more".
    parent = link.getparent()
    return not key and (
        _marked(link, ("more",)) or (parent is not None and _marked(parent, ("more",)))
    )


def _block_title_near(more: Element, want: str) -> bool:
    """Whether a block title reading `want` sits next to this 更多 link (same small block)."""
    node = more
    for _ in range(_BLOCK_LEVELS):
        node = node.getparent()
        if node is None:
            return False
        links = node.xpath(".//a")
        if sum(1 for a in links if _is_more_link(a, normalize(text_of(a)))) > 1:
            return False  # grown past its own block into a row of blocks
        for el in node.iter():
            if (
                isinstance(el.tag, str)
                and not _in_list_or(el, node, more)
                and column_key(text_of(el)) == want
            ):
                return True
    return False


def _in_list_or(el: Element, block: Element, more: Element) -> bool:
    """Whether `el`, inside `block`, is the 更多 link itself or part of a list (news items)."""
    node = el
    while node is not None and node is not block:
        if node is more or tag_of(node) in ("ul", "ol", "li"):
            return True
        node = node.getparent()
    return False
