"""Page requisites: what a browser fetches to show a page, and the files it links for download.

Pure, like the rest of :mod:`crawler.extract`: ``page_requisites(html, url)``
lists the URLs an article page needs to be replayed as it looked (images,
including the originals VSB names in ``orisrc`` and ``vurl``; style sheets;
scripts; images named by inline styles) and the attachments it offers
(``download.jsp`` links, links to documents, and the PDF a
``showVsbpdfIframe(…)`` script shows as the body). Inline ``data:`` images
are part of the page: nothing to fetch. ``css_requisites(css, url)``
lists what a fetched style sheet pulls in (``url(...)`` and ``@import``).
The crawl policy (which to fetch, how often) is the spider's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from crawler.extract import selectors as sel
from crawler.extract.dom import absolute, decode, parse_html, tag_of

RequisiteKind = Literal["image", "attachment", "stylesheet", "script"]

#: Attributes of ``<img>`` that name an image file: the one shown, and VSB's
#: original upload (``orisrc``) and its image link (``vurl``).
_IMAGE_ATTRIBUTES = ("src", "orisrc", "vurl")
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.I)
_CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)'|(url\())""", re.I)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


@dataclass(frozen=True)
class Requisite:
    """One URL a page needs (``image``, ``stylesheet``, ``script``) or links (``attachment``)."""

    url: str
    kind: RequisiteKind


def page_requisites(html: str | bytes, url: str) -> list[Requisite]:
    """Every requisite of the page at ``url``, each URL once, in document order.

    URLs are absolute, without fragment; ``data:``, ``javascript:`` and
    non-http(s) URLs are left out. An empty or unparsable page has none.
    """
    root = parse_html(decode(html))
    if root is None:
        return []
    base = url
    for el in root.iter("base"):
        base = absolute(url, el.get("href")) or url
        break
    found: list[Requisite] = []
    seen: set[str] = set()

    def add(href: str | None, kind: RequisiteKind) -> None:
        target = absolute(base, href)
        if target is None:
            return
        target = target.split("#", 1)[0]
        if target not in seen:
            seen.add(target)
            found.append(Requisite(target, kind))

    for el in root.iter():
        tag = tag_of(el)
        if not tag:
            continue
        if tag == "img" or (tag == "input" and (el.get("type") or "").lower() == "image"):
            for name in _IMAGE_ATTRIBUTES:
                add(el.get(name), "image")
        elif tag == "link":
            rel = (el.get("rel") or "").lower().split()
            if "stylesheet" in rel:
                add(el.get("href"), "stylesheet")
            elif "icon" in rel or "apple-touch-icon" in rel:
                add(el.get("href"), "image")
        elif tag == "script":
            add(el.get("src"), "script")
            code = el.text or ""
            if "showVsbpdfIframe" in code:  # a body shown as a PDF: the PDF is the article
                for match in sel.PDF_VIEWER_CALL.finditer(code):
                    add(match.group("url"), "attachment")
        elif tag == "style":
            for href, kind in _css_refs(el.text or ""):
                add(href, kind)
        elif tag == "a" and _is_attachment_href(el.get("href") or ""):
            add(el.get("href"), "attachment")
        if tag != "style" and (style := el.get("style")) and "url(" in style.lower():
            for href, kind in _css_refs(style):
                add(href, kind)
        if tag in ("body", "table", "td", "th") and (background := el.get("background")):
            add(background, "image")
    return found


def css_requisites(css: str | bytes, url: str) -> list[Requisite]:
    """What the style sheet at ``url`` pulls in: ``@import``-ed sheets and ``url(...)`` images."""
    text = css.decode("utf-8", errors="replace") if isinstance(css, bytes) else css
    found: list[Requisite] = []
    seen: set[str] = set()
    for href, kind in _css_refs(text):
        target = absolute(url, href)
        if target is None:
            continue
        target = target.split("#", 1)[0]
        if target not in seen:
            seen.add(target)
            found.append(Requisite(target, kind))
    return found


def _css_refs(css: str) -> list[tuple[str, RequisiteKind]]:
    css = _CSS_COMMENT.sub("", css)
    refs: list[tuple[str, RequisiteKind]] = []
    imports: list[int] = []  # where `@import url(...)` names a style sheet, not an image
    for match in _CSS_IMPORT.finditer(css):
        if match.group(3) is not None:
            imports.append(match.end() - len(match.group(3)))
            continue
        refs.append((match.group(1) or match.group(2) or "", "stylesheet"))
    for match in _CSS_URL.finditer(css):
        href = match.group(1) or match.group(2) or match.group(3) or ""
        refs.append((href, "stylesheet" if match.start() in imports else "image"))
    return refs


def _is_attachment_href(href: str) -> bool:
    """A VSB download link, or a link to a document (the extensions of ``selectors``)."""
    if "download.jsp" in href:
        return True
    path = href.split("?", 1)[0].split("#", 1)[0].lower()
    return path.endswith(sel.FILE_EXTENSIONS)
