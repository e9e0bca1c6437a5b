"""`parse_article`: one saved VSB article page → a normalized record (no network, no Scrapy).

One short function per field over the shared helpers; selectors live in `selectors.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from crawler.extract import selectors as sel
from crawler.extract.body import Body, extract_body
from crawler.extract.credits import Credits, parse_credit_line, parse_info_line
from crawler.extract.dates import FoundDate, date_line, find_date, parse_date
from crawler.extract.dom import (
    Element,
    absolute,
    base_url,
    decode,
    iter_text,
    label_pattern,
    lines_of,
    lowest_common_ancestor,
    meta_map,
    own_text_matches,
    parse_html,
    tag_of,
    text_of,
)
from crawler.extract.text import normalize
from crawler.extract.urls import canonical_article_url
from record import SCHEMA_VERSION, Attachment, ParsedArticle, site_of

NOT_FOUND = "not_found"
JS_CHALLENGE = "js_challenge"
NO_ARTICLE_CONTENT = "no_article_content"
#: No longer raised: a content.jsp page is parsed as the article it is (its record
#: carries the canonical /info/T/N.htm URL). Kept for the crawl's failure table.
DYNAMIC_URL = "dynamic_url"
#: Warnings of articles whose body is not text: an embedded PDF, or only attachments.
BODY_IS_PDF = "body_is_pdf"
BODY_IS_ATTACHMENTS = "body_is_attachments"


class NotAnArticle(Exception):
    """The page is not an article: `reason` is one of not_found, js_challenge,
    no_article_content."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class _Page:
    root: Element
    url: str
    base: str
    meta: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    _label_elements: list[Element] | None = None

    def label_hits(self, labels: tuple[str, ...]) -> list[Element]:
        """Elements whose own text holds one of ``labels`` (one pass over the page for all)."""
        if self._label_elements is None:
            self._label_elements = own_text_matches(self.root, _ALL_LABELS)
        pattern = label_pattern(labels)
        return [el for el in self._label_elements if pattern.search(_own_text(el))]


def _own_text(el: Element) -> str:
    return (el.text or "") + "".join(child.tail or "" for child in el)


_NEIGHBOUR_LABELS = (*sel.PREV_LABELS, *sel.NEXT_LABELS)
_ALL_LABELS = (*sel.BREADCRUMB_LABELS, *_NEIGHBOUR_LABELS)
_INFO_URL = re.compile(r"/info/(\d+)/(\d+)\.htm")
_JSQ = re.compile(r"_jsq_\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"][^'\"]*['\"]\s*,\s*['\"]?(\d+)")
_DYNCLICKS = re.compile(
    r"_showDynClicks\(\s*['\"]wbnews['\"]\s*,\s*['\"]?\d+['\"]?\s*,\s*['\"]?(\d+)"
)
_CRUMB_SPLIT = re.compile(r"\s*(?:>>|>|＞|»|›|→|/|[|｜])\s*|\s+")
_CRUMB_NOISE = frozenset(
    {"", "首页", "网站首页", "学院首页", "学校首页", "主页", "home", "正文", "内容", "详情",
     "正文内容", "文章内容", "新闻内容", "详细内容", "当前位置", "您的位置", "位置", ":", "："}
)  # fmt: skip
_TITLE_SEPARATORS = re.compile(r"^(?P<head>.*\S)\s*[-_|–—]+\s*(?P<tail>[^-_|–—]+)$")
_SITE_WORDS = re.compile(r"学院|大学|学校|university|college|uir|首页|新闻网|官网", re.I)
_NO_LINK = re.compile(r"没有了|^\s*[:：]?\s*无\s*$|暂无|没有")
_MAX_TITLE = 300
_NOT_TITLES = frozenset({"正文", "首页", "当前位置", "新闻", "通知公告"})
#: A challenge page is tiny: less visible text than this, and a script.
_CHALLENGE_MAX_TEXT = 200


# --- public API ---------------------------------------------------------------------------------
def parse_article(
    html: str | bytes, url: str, *, fetched_at: datetime | None = None
) -> ParsedArticle:
    """Record for an article page: every schema field but fetched_at, warc and listing.

    Raises NotAnArticle for 404 pages, JS challenges and pages without a title or body.
    A body that is only an embedded PDF or only attachments is an article (with a
    warning). A content.jsp URL is parsed like any article; the record's ``url`` is
    its canonical ``/info/T/N.htm`` form. `fetched_at` bounds the publication date
    (default: now).
    """
    root = parse_html(decode(html))
    reason = _early_reason(None, root, url)
    if reason:
        raise NotAnArticle(reason, url)
    page = _Page(root, url, base_url(root, url), meta_map(root))
    body_pdf = _body_pdf(page)
    body_el = _body_block(page, allow_empty=body_pdf is not None)
    column = _column(page)
    title, title_el = _title(page, column)
    if title is None or body_el is None:
        raise NotAnArticle(NO_ARTICLE_CONTENT, "no title" if title is None else "no body block")
    body = extract_body(body_el, page.base)
    region = _region(page, title_el, body_el)
    attachments = _attachments(page, region, body_el)
    if not body.paragraphs and not body.images:
        if body_pdf is not None:
            page.warnings.append(BODY_IS_PDF)
        elif attachments:
            page.warnings.append(BODY_IS_ATTACHMENTS)
        else:
            raise NotAnArticle(NO_ARTICLE_CONTENT, "empty body")
    elif body_pdf is None and attachments and _only_attachment_names(body, attachments):
        page.warnings.append(BODY_IS_ATTACHMENTS)
    before, after = lines_of(region, skip=body_el, prune=_is_footer)
    found = _published(page, before, after, title, fetched_at)
    credits = _credits(before, after, body, title, found)
    record_url = canonical_article_url(url)
    column_id, news_id = _ids(page, record_url)
    prev_url, next_url = _prev_next(page)
    return {
        "schema_version": SCHEMA_VERSION,
        "url": record_url,
        "site": site_of(record_url),
        "title": title,
        "published_at": found[0],
        "published_at_raw": found[1],
        "body_text": body.text,
        "body_html": body.html,
        "reviewers": credits.reviewers_field(),
        "credits": credits.credits_field(),
        "role_labels": credits.labels_field(),
        "images": body.images,
        "attachments": attachments,
        "body_pdf": body_pdf,
        "column": column,
        "column_id": column_id,
        "news_id": news_id,
        "prev_url": prev_url,
        "next_url": next_url,
        "view_count": None,
        "warnings": page.warnings + [f"credit_role_unmapped:{r}" for r in credits.unmapped],
    }


def classify_response(status: int, html: bytes | str, url: str) -> str | None:
    """NotAnArticle reason for a response, or None when it looks like an article page."""
    root = parse_html(decode(html))
    reason = _early_reason(status, root, url)
    if reason or root is None:
        return reason or NO_ARTICLE_CONTENT
    page = _Page(root, url, base_url(root, url), meta_map(root))
    body_el = _body_block(page, allow_empty=_body_pdf(page) is not None)
    if body_el is None or _title(page, _column(page))[0] is None:
        return NO_ARTICLE_CONTENT
    return None


# --- page kinds ---------------------------------------------------------------------------------
def _early_reason(status: int | None, root: Element | None, url: str) -> str | None:
    if root is None:
        return {404: NOT_FOUND, 412: JS_CHALLENGE}.get(status or 0, NO_ARTICLE_CONTENT)
    html_title = _html_title(root)
    if status == 404 or "404错误提示" in html_title:
        return NOT_FOUND
    if status == 412:
        return JS_CHALLENGE
    if ("404" in html_title or "页面不存在" in html_title) and not _has_vsb_body(root):
        return NOT_FOUND
    if _looks_like_challenge(root):
        return JS_CHALLENGE
    return None


def _has_vsb_body(root: Element) -> bool:
    return any(selector(root) for selector in sel.BODY_BLOCK)


def _looks_like_challenge(root: Element) -> bool:
    """A tiny page that is essentially an inline script (served with HTTP 412 by the WAF)."""
    scripts = root.xpath("//script")
    if not scripts or _has_vsb_body(root):
        return False
    body = root.find("body")
    visible = text_of(body) if body is not None else ""
    code = sum(len(s.text or "") for s in scripts)
    return len(visible) < _CHALLENGE_MAX_TEXT and (code >= len(visible) or not visible)


# --- title --------------------------------------------------------------------------------------
def _candidates(
    selectors: tuple[tuple[str, Any], ...], root: Element, noise: set[str] | frozenset[str]
) -> Iterator[tuple[str, str, Element]]:
    """Title candidates in selector order, lazily: the first hit usually ends the search."""
    for name, selector in selectors:
        for el in selector(root):
            text = text_of(el)
            if text and len(text) <= _MAX_TITLE and text not in noise:
                yield name, text, el


def _title(page: _Page, column: str | None) -> tuple[str | None, Element | None]:
    """Visible heading (known VSB templates, then generic), then ArticleTitle meta, then <title>."""
    noise = _NOT_TITLES | ({column} if column else set())
    specific = next(_candidates(sel.TITLE_SPECIFIC, page.root, noise), None)
    if specific is not None:
        return specific[1], specific[2]
    meta_title = normalize(page.meta.get("articletitle", ""))
    generic = list(_candidates(sel.TITLE_GENERIC, page.root, noise))
    if meta_title:
        for _name, text, el in generic:
            if text == meta_title or (
                len(text) >= 4 and (text in meta_title or meta_title in text)
            ):
                return text, el
    in_form = [c for c in generic if c[0].startswith("form-")]
    if in_form:
        return in_form[0][1], in_form[0][2]
    if meta_title:
        page.warnings.append("title_from_meta")
        return meta_title, None
    if generic:
        return generic[0][1], generic[0][2]
    html_title = _strip_site_suffix(_html_title(page.root), column)
    if html_title and "404" not in html_title:
        page.warnings.append("title_from_title_tag")
        return html_title, None
    return None, None


def _html_title(root: Element) -> str:
    return normalize(" ".join("".join(t.itertext()) for t in sel.HTML_TITLE(root)))


def _strip_site_suffix(title: str, column: str | None) -> str:
    """`标题-国关要闻-国际关系学院` → `标题`: drop trailing segments naming the site or column."""
    title = normalize(title)
    while match := _TITLE_SEPARATORS.match(title):
        tail = match.group("tail").strip()
        if _SITE_WORDS.search(tail) or tail == column:
            title = match.group("head").strip()
        else:
            break
    return title


# --- body block and the region around it --------------------------------------------------------
def _body_block(page: _Page, *, allow_empty: bool = False) -> Element | None:
    """The element holding the article body; with `allow_empty` (a PDF body), the first
    VSB body block even when it shows no text."""
    first_empty = None
    for selector in sel.BODY_BLOCK:
        for el in selector(page.root):
            if text_of(el) or el.xpath(".//img"):
                return el
            if first_empty is None:
                first_empty = el
    if allow_empty and first_empty is not None:
        return first_empty
    best, best_score = None, 0
    for el in sel.BODY_CANDIDATES(page.root):
        if any(_is_footer(block) for block in (el, *el.iterancestors())):
            continue  # the site's address and copyright lines are no article body
        score = sum(len(text_of(p)) for p in el if tag_of(p) == "p")
        if score > best_score:
            best, best_score = el, score
    if best is not None and best_score >= 40:
        page.warnings.append("body_from_density")
        return best
    return None


def _region(page: _Page, title_el: Element | None, body_el: Element) -> Element:
    """The article block: the VSB article form, else the smallest element holding title and body."""
    for form in sel.ARTICLE_CONTAINER(page.root):
        if any(a is form for a in body_el.iterancestors()):
            return form
    if title_el is not None:
        common = lowest_common_ancestor(title_el, body_el)
        if common is not None:
            return common
    region = body_el
    for _ in range(3):
        parent = region.getparent()
        if parent is None or tag_of(parent) in ("body", "html"):
            break
        region = parent
    return region


def _is_footer(el: Element) -> bool:
    if el.tag == "footer":
        return True
    names = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    return any(fragment in names for fragment in sel.FOOTER_FRAGMENTS)


# --- date ---------------------------------------------------------------------------------------
def _published(
    page: _Page, before: list[str], after: list[str], title: str, fetched_at: datetime | None
) -> tuple[str | None, str | None, FoundDate | None]:
    """(published_at, published_at_raw, parsed): visible date line first, PubDate meta second."""
    found = find_date(before, skip=title) or find_date(after, labeled_only=True)
    if found is None:
        meta = page.meta.get("pubdate") or page.meta.get("publishdate") or ""
        found = parse_date(meta) if meta else None
        if found is not None:
            page.warnings.append("date_from_meta")
    if found is None:
        page.warnings.append("date_missing")
        return None, None, None
    if not found.in_range(fetched_at):
        page.warnings.append("date_out_of_range")
        return None, found.raw, found
    return found.iso, found.raw, found


# --- credits ------------------------------------------------------------------------------------
def _credits(
    before: list[str],
    after: list[str],
    body: Body,
    title: str,
    found: tuple[str | None, str | None, FoundDate | None],
) -> Credits:
    """Credits in page order: lines under the title, the date line, the body, lines after it."""
    credits = Credits()
    for line in before:
        if line != title and (c := parse_credit_line(line)) is not None:
            credits.merge(c)
    if found[2] is not None:
        info = date_line(before, found[2])
        if info is not None and parse_credit_line(info) is None:
            credits.merge(parse_info_line(info))
    credits.merge(body.credits)
    for line in after:
        if (c := parse_credit_line(line)) is not None:
            credits.merge(c)
    return credits


# --- column, ids, neighbours, attachments -------------------------------------------------------
def column_name(html: str | bytes, url: str) -> str | None:
    """The column a page names in its breadcrumb (last step), else its ColumnName meta; or None."""
    root = parse_html(decode(html))
    return None if root is None else column_of(root, url)


def column_of(root: Element, url: str) -> str | None:
    """`column_name` of an already parsed page."""
    return _column(_Page(root, url, base_url(root, url), meta_map(root)))


def _column(page: _Page) -> str | None:
    """Column name: last meaningful breadcrumb step, else the ColumnName meta."""
    for el in page.label_hits(sel.BREADCRUMB_LABELS):
        container = el if el.xpath(".//a") or el.getparent() is None else el.getparent()
        text = _crumb_text(container)
        for label in sel.BREADCRUMB_LABELS:
            if label in text:
                text = text.split(label, 1)[1]
                break
        if (step := _last_crumb(text)) is not None:
            return step
    for el in sel.CLASSED_ELEMENTS(page.root):
        names = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
        if not any(fragment in names for fragment in sel.BREADCRUMB_FRAGMENTS):
            continue
        if (step := _last_crumb(_crumb_text(el))) is not None:
            return step
    return normalize(page.meta.get("columnname", "")) or None


def _crumb_text(el: Element) -> str:
    """Breadcrumb text with its steps kept apart.

    Themes often draw the separator with CSS (an empty ``span.split``), so the
    text nodes themselves are the only boundary between steps.
    """
    return " / ".join(piece.strip() for piece in iter_text(el) if piece.strip())


def _last_crumb(text: str) -> str | None:
    if not text or len(text) > 200:
        return None
    steps = [
        s for s in _CRUMB_SPLIT.split(text.lstrip(":： ")) if s and s.lower() not in _CRUMB_NOISE
    ]
    return steps[-1] if steps else None


def _ids(page: _Page, record_url: str) -> tuple[int | None, int | None]:
    """(column_id, news_id) from /info/{column}/{news}.htm, else the VSB counter scripts."""
    match = _INFO_URL.search(urlsplit(record_url).path)
    if match:
        return int(match.group(1)), int(match.group(2))
    scripts = "\n".join(sel.SCRIPTS(page.root))
    if match := _JSQ.search(scripts):
        return int(match.group(1)), int(match.group(2))
    if match := _DYNCLICKS.search(scripts):
        return None, int(match.group(1))
    return None, None


def _prev_next(page: _Page) -> tuple[str | None, str | None]:
    """Canonical URLs of the 上一条/下一条 (上一篇/下一篇) links; None when absent or 没有了."""
    found: dict[str, str | None] = {}
    for el in page.label_hits(_NEIGHBOUR_LABELS):
        for text, following in _label_slots(el):
            for kind, labels in (("prev", sel.PREV_LABELS), ("next", sel.NEXT_LABELS)):
                if kind in found:
                    continue
                label = next((lb for lb in labels if lb in text), None)
                if label is not None:
                    found[kind] = _neighbour_link(page, el, text.split(label, 1)[1], following)
    # A neighbour linked in content.jsp form is the same article as its /info/ page.
    prev_url, next_url = found.get("prev"), found.get("next")
    return (
        canonical_article_url(prev_url) if prev_url else None,
        canonical_article_url(next_url) if next_url else None,
    )


def _label_slots(el: Element) -> list[tuple[str, Element | None]]:
    """Own text nodes of `el`, each with the element right after it."""
    slots = [(el.text or "", el[0] if len(el) else None)]
    slots += [(child.tail or "", child.getnext()) for child in el]
    return [(t, nxt) for t, nxt in slots if t.strip()]


def _neighbour_link(page: _Page, el: Element, rest: str, following: Element | None) -> str | None:
    anchor = next((a for a in [el, *el.iterancestors()] if tag_of(a) == "a"), None)
    if anchor is not None:
        return absolute(page.base, anchor.get("href"))
    if _NO_LINK.search(rest):
        return None
    if following is None and el.getnext() is not None:  # <span>上一条：</span><a …>
        following = el.getnext()
    if following is None:
        return None
    if tag_of(following) != "a":
        if any(lb in text_of(following) for lb in (*sel.PREV_LABELS, *sel.NEXT_LABELS)):
            return None
        if _NO_LINK.search(text_of(following)):
            return None
        inner = following.xpath(".//a[@href]")
        following = inner[0] if inner else None
    return absolute(page.base, following.get("href")) if following is not None else None


def _attachments(page: _Page, region: Element, body_el: Element) -> list[Attachment]:
    """Files offered for download: the 附件【…】 list and links to download.jsp or documents."""
    out: list[Attachment] = []
    seen: set[str] = set()
    scopes = (
        [region]
        if any(a is region for a in body_el.iterancestors()) or region is body_el
        else [region, body_el]
    )
    for scope in scopes:
        for a in sel.LINKS(scope):
            href = a.get("href") or ""
            if "download.jsp" not in href and not _is_file_href(href):
                continue
            if any(_is_footer(x) for x in a.iterancestors()):
                continue
            url = absolute(page.base, href)
            if url is None or url in seen:
                continue
            seen.add(url)
            name = text_of(a) or normalize(a.get("title") or "") or _file_name(url)
            out.append({"url": url, "name": name})
    return out


def _body_pdf(page: _Page) -> str | None:
    """Absolute URL of the PDF a ``showVsbpdfIframe("…pdf", …)`` script shows as the body."""
    for script in sel.SCRIPTS(page.root):
        if "showVsbpdfIframe" in script and (match := sel.PDF_VIEWER_CALL.search(script)):
            return absolute(page.base, match.group("url"))
    return None


def _only_attachment_names(body: Body, attachments: list[Attachment]) -> bool:
    """Whether every body paragraph is just the name of an attachment (a list of file links)."""
    names = {normalize(a["name"]) for a in attachments}
    return not body.images and all(normalize(line) in names for line in body.paragraphs)


def _is_file_href(href: str) -> bool:
    path = href.split("?", 1)[0].split("#", 1)[0].lower()
    return path.endswith(sel.FILE_EXTENSIONS)


def _file_name(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])
