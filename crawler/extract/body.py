"""Body cleaning: one VSB body block → paragraphs, clean markup, images with captions, credits.

The block is copied, cut into paragraph-level blocks (`p`, `h2`–`h4`, `table`, `ul`/`ol`),
and each block is cleaned in place: Word junk unwrapped, attributes dropped, indentation
trimmed, credit lines and page furniture removed. Text and markup come from the same blocks,
so they always agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from crawler.extract import selectors as sel
from crawler.extract.credits import Credits, parse_credit_line, trailing_credit
from crawler.extract.dom import (
    COMMENT,
    PI,
    Element,
    absolute,
    deepcopy,
    new_element,
    strip_elements,
    strip_tags,
    tag_of,
    tostring,
)
from crawler.extract.text import collapse, normalize
from record import Image

#: Markup kept inside a paragraph; everything else is unwrapped (its text stays).
INLINE_KEEP = frozenset({"a", "strong", "b", "em", "i", "br", "img"})
TABLE_TAGS = frozenset({"table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption"})
LIST_TAGS = frozenset({"ul", "ol", "li"})
HEADINGS = {"h1": "h2", "h2": "h2", "h3": "h3", "h4": "h4", "h5": "h4", "h6": "h4"}
LEAF_BLOCKS = frozenset({"p", "pre", "address", "dt", "dd", "figcaption", *HEADINGS})
STRUCT_BLOCKS = frozenset({"table", "ul", "ol"})
CONTAINERS = frozenset(
    {"div", "section", "article", "center", "figure", "blockquote", "header", "footer", "aside",
     "main", "form", "fieldset", "dl", "nav", "tbody", "tr", "td", "th", "li", "body"}
)  # fmt: skip
BLOCKISH = LEAF_BLOCKS | STRUCT_BLOCKS | CONTAINERS | {"hr"}
DROP = (
    "script", "style", "noscript", "iframe", "object", "embed", "input", "button", "select",
    "textarea", "xml", "meta", "link", "title", "head", "video", "audio", "svg", "map",
)  # fmt: skip
KEEP_ATTRIBUTES = {"td": ("colspan", "rowspan"), "th": ("colspan", "rowspan")}
#: Images that are page furniture (file-type icons, counters), not content.
ICON_IMAGE = re.compile(r"/(?:fileTypeImages|system/resource/images)/|/images/(?:icon|file)", re.I)
#: Lines of page furniture that may sit inside a generic body block.
FURNITURE_LINE = re.compile(
    r"^(?:(?:上一|下一)[条篇页]\s*[:：].*|分享(?:到)?\s*[:：].{0,20}|【?(?:关闭窗口|打印本页|关闭|打印|返回顶部|返回)】?"
    r"|附件\s*[【\[:：].*已下载.*)$"
)
CENTERED = re.compile(r"text-align\s*:\s*center|^center$|caption|img|pic|tuzhu", re.I)
ENUMERATION = re.compile(
    r"^(?:[一二三四五六七八九十]+[、.．]|\d+[、.．]|（[一二三四五六七八九十\d]+）|第.{1,3}[章节部分])"
)
SENTENCE_END = "。！？；：!?;:…"
#: A caption is a short line; running text is longer.
MAX_CAPTION = 80
IMG = "\x00"  # stands for an image while flattening a block to text


@dataclass
class Body:
    """Extracted body: paragraphs (`text` joins them with newlines), markup, images, credits."""

    paragraphs: list[str] = field(default_factory=list)
    html: str = ""
    images: list[Image] = field(default_factory=list)
    credits: Credits = field(default_factory=Credits)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


@dataclass
class _Block:
    el: Element
    kind: str  # "p", "h", "table", "list"
    centered: bool
    lines: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)  # text pieces and IMG markers, in order
    images: list[str] = field(default_factory=list)


def extract_body(block: Element, base: str) -> Body:
    """Clean a copy of the body block `block`; links and images are made absolute against `base`."""
    root = deepcopy(block)
    root.tail = None
    strip_elements(root, COMMENT, PI, *DROP)
    for junk in sel.FURNITURE_IN_BODY(root):
        if junk.getparent() is not None:
            junk.drop_tree()
    for item in sel.ATTACHMENT_ITEMS(root):
        if item.getparent() is not None and _is_attachment_item(item):
            item.drop_tree()
    leaves: list[Element] = []
    _segment(root, leaves)
    body = Body()
    blocks = [b for b in (_clean_block(el, base, body.credits) for el in leaves) if b is not None]
    for block_ in blocks:
        body.paragraphs.extend(block_.lines)
    body.html = "\n".join(tostring(b.el) for b in blocks)
    body.images = _images(blocks)
    return body


def _is_attachment_item(item: Element) -> bool:
    text = normalize("".join(item.itertext()))
    return text.startswith("附件") and any(
        "download.jsp" in (a.get("href") or "") or _is_file_link(a.get("href"))
        for a in item.iter("a")
    )


def _is_file_link(href: str | None) -> bool:
    path = (href or "").split("?", 1)[0].split("#", 1)[0].lower()
    return path.endswith(sel.FILE_EXTENSIONS)


# --- segmentation -------------------------------------------------------------------------------
def _has_block_descendant(el: Element) -> bool:
    return any(tag_of(d) in BLOCKISH for d in el.iterdescendants())


def _is_layout_table(table: Element) -> bool:
    """A one-cell table (often wrapping a Word paste) is a container, not a data table."""
    cells = table.xpath(".//td | .//th")
    return len(cells) <= 1 or bool(table.xpath(".//table"))


def _segment(container: Element, out: list[Element]) -> None:
    """Append `container`'s paragraph-level blocks to `out`; loose inline runs become new `p`s."""
    run: list[Any] = []  # strings and inline elements awaiting an implicit paragraph

    def flush() -> None:
        if any((isinstance(x, str) and x.strip()) or not isinstance(x, str) for x in run):
            para = new_element("p")
            last = None
            for item in run:
                if isinstance(item, str):
                    if last is None:
                        para.text = (para.text or "") + item
                    else:
                        last.tail = (last.tail or "") + item
                else:
                    para.append(item)
                    last = item
            container.append(para)  # keep it in the tree so drop_tree() and friends work
            out.append(para)
        run.clear()

    if container.text:
        run.append(container.text)
        container.text = None
    for child in list(container):
        tag = tag_of(child)
        tail, child.tail = child.tail, None
        if not tag:
            pass
        elif tag == "table" and _is_layout_table(child):
            flush()
            for cell in child.xpath(".//td | .//th"):
                _segment(cell, out)
        elif tag in STRUCT_BLOCKS:
            flush()
            out.append(child)
        elif tag in LEAF_BLOCKS or tag in CONTAINERS or tag == "hr":
            flush()
            if tag == "hr":
                pass
            elif _has_block_descendant(child):
                _segment(child, out)
            else:
                out.append(child)
        elif _has_block_descendant(child):  # an inline wrapper around paragraphs (<span><p>…)
            flush()
            _segment(child, out)
        else:
            run.append(child)
        if tail:
            run.append(tail)
    flush()


# --- cleaning -----------------------------------------------------------------------------------
def _clean_block(el: Element, base: str, credits: Credits) -> _Block | None:
    tag = tag_of(el)
    kind = (
        "table"
        if tag == "table"
        else "list"
        if tag in STRUCT_BLOCKS
        else "h"
        if tag in HEADINGS
        else "p"
    )
    centered = _is_centered(el)
    el.tag = {"p": "p", "h": HEADINGS.get(tag, "h2"), "table": "table", "list": tag}[kind]
    allowed = INLINE_KEEP | (
        TABLE_TAGS if kind == "table" else LIST_TAGS if kind == "list" else set()
    )
    _clean_attributes(el, base)
    junk = {tag_of(d) or "" for d in el.iterdescendants()} - allowed - {""}
    if junk:
        strip_tags(el, *junk)
    for node in el.iter():
        if node.text:
            node.text = collapse(node.text)
        if node is not el and node.tail:
            node.tail = collapse(node.tail)
    block = _Block(el, kind, centered)
    if kind in ("p", "h"):
        _clean_paragraph(block, credits)
    else:
        _lstrip(el)
        _rstrip(el)
    _drop_empty_inline(el)
    block.tokens = _tokens(el)
    block.images = [img.get("src") for img in el.iter("img")]
    if kind == "table":
        block.lines = [line for tr in el.iter("tr") if (line := " ".join(_cells(tr)))]
    elif kind == "list":
        block.lines = [
            line for li in el if tag_of(li) == "li" and (line := normalize("".join(li.itertext())))
        ]
    else:
        block.lines = _lines(block.tokens)
    if not block.lines and not block.images:
        return None
    return block


def _cells(tr: Element) -> list[str]:
    return [
        t
        for cell in tr
        if tag_of(cell) in ("td", "th") and (t := normalize("".join(cell.itertext())))
    ]


def _is_centered(el: Element) -> bool:
    for node in (el, *el.iterdescendants()):
        if not isinstance(node.tag, str):
            continue
        style = f"{node.get('style', '')} {node.get('align', '')} {node.get('class', '')}"
        if CENTERED.search(style.strip()):
            return True
    return False


def _clean_attributes(el: Element, base: str) -> None:
    for node in list(el.iter()):
        tag = tag_of(node)
        if not tag:
            continue
        if tag == "img":
            # A file (shown, or VSB's original upload) over an inline data: image, which
            # is kept when it is all there is: it is the picture itself.
            src = (
                absolute(base, node.get("src"))
                or absolute(base, node.get("orisrc"))
                or _data_image(node.get("src"))
            )
            node.attrib.clear()
            if src is None or ICON_IMAGE.search(src):
                if node is not el:
                    node.drop_tree()
                continue
            node.set("src", src)
        elif tag == "a":
            href = absolute(base, node.get("href"))
            node.attrib.clear()
            if href is None:
                node.tag = "span"  # unwrapped with the rest of the junk
            else:
                node.set("href", href)
        else:
            keep = {k: v for k in KEEP_ATTRIBUTES.get(tag, ()) if (v := node.get(k))}
            node.attrib.clear()
            for key, value in keep.items():
                node.set(key, value)


def _data_image(src: str | None) -> str | None:
    """An inline ``data:image/…`` URI, whitespace removed (base64 wrapped over lines); or None."""
    if not src:
        return None
    value = "".join(src.split())
    return value if value[:11].lower() == "data:image/" else None


def _clean_paragraph(block: _Block, credits: Credits) -> None:
    """Split at top-level `<br>`, drop credit and furniture lines, trim each line, rejoin."""
    el = block.el
    segments: list[Element] = []
    current = new_element("span")
    current.text, el.text = el.text, None
    for child in list(el):
        if tag_of(child) == "br":
            segments.append(current)
            current = new_element("span")
            current.text = child.tail
            el.remove(child)
        else:
            current.append(child)
    segments.append(current)
    kept = []
    for seg in segments:
        _lstrip(seg)
        _rstrip(seg)
        raw = "".join(_text_slots_values(seg))
        if not raw and not any(True for _ in seg.iter("img")):
            continue
        if block.kind == "p":
            found = parse_credit_line(raw)
            if found is not None:
                credits.merge(found)
                continue
            if FURNITURE_LINE.match(normalize(raw)):
                continue
            tail = trailing_credit(raw)
            if tail is not None:
                start, found = tail
                credits.merge(found)
                _trim_end(seg, len(raw) - start)
                _rstrip(seg)
        kept.append(seg)
    for i, seg in enumerate(kept):
        if i:
            el.append(new_element("br"))
        el.append(seg)
    strip_tags(el, "span")


# --- text slots: every text/tail string inside an element, in document order --------------------
def _slots(el: Element) -> list[tuple[Element, str]]:
    """(node, "text"|"tail"|"img") in document order, `el`'s own tail excluded."""
    out = [(el, "text")]
    for child in el:
        if tag_of(child) == "img":
            out.append((child, "img"))
        else:
            out.extend(_slots(child))
        out.append((child, "tail"))
    return out


def _text_slots_values(el: Element) -> list[str]:
    return [getattr(node, attr) or "" for node, attr in _slots(el) if attr != "img"]


def _lstrip(el: Element) -> None:
    for node, attr in _slots(el):
        if attr == "img":
            return
        value = getattr(node, attr)
        if value:
            stripped = value.lstrip()
            setattr(node, attr, stripped or None)
            if stripped:
                return


def _rstrip(el: Element) -> None:
    for node, attr in reversed(_slots(el)):
        if attr == "img":
            return
        value = getattr(node, attr)
        if value:
            stripped = value.rstrip()
            setattr(node, attr, stripped or None)
            if stripped:
                return


def _trim_end(el: Element, count: int) -> None:
    """Remove the last `count` characters of text under `el` (across element boundaries)."""
    for node, attr in reversed(_slots(el)):
        if count <= 0:
            return
        if attr == "img":
            continue
        value = getattr(node, attr) or ""
        cut = min(count, len(value))
        setattr(node, attr, value[: len(value) - cut] or None)
        count -= cut


def _drop_empty_inline(el: Element) -> None:
    for node in reversed(list(el.iterdescendants())):
        tag = tag_of(node)
        if (
            tag in ("strong", "b", "em", "i", "a")
            and not (node.text or "").strip()
            and len(node) == 0
        ):
            node.drop_tree()  # keeps the tail


def _tokens(el: Element) -> list[str]:
    out: list[str] = []

    def walk(node: Element) -> None:
        if node.text:
            out.append(node.text)
        for child in node:
            tag = tag_of(child)
            if tag == "img":
                out.append(IMG)
            elif tag == "br":
                out.append("\n")
            else:
                walk(child)
            if child.tail:
                out.append(child.tail)

    walk(el)
    return out


def _lines(tokens: list[str]) -> list[str]:
    text = "".join(t for t in tokens if t != IMG)
    return [line for part in text.split("\n") if (line := normalize(part))]


# --- images and captions ------------------------------------------------------------------------
def _caption_like(text: str, *, centered: bool) -> bool:
    if not text or len(text) > MAX_CAPTION or ENUMERATION.match(text):
        return False
    if parse_credit_line(text) is not None:
        return False
    return centered or text[-1] not in SENTENCE_END


def _images(blocks: list[_Block]) -> list[Image]:
    images: list[Image] = []
    for index, block in enumerate(blocks):
        if not block.images:
            continue
        # text after each image, up to the next image, inside the same block
        after: list[str] = []
        seen = -1
        for token in block.tokens:
            if token == IMG:
                seen += 1
                after.append("")
            elif seen >= 0:
                after[seen] += token
        for i, src in enumerate(block.images):
            text = normalize(after[i]) if i < len(after) else ""
            caption = (
                text if text and len(text) <= MAX_CAPTION and not ENUMERATION.match(text) else None
            )
            if caption is None and not text and i == len(block.images) - 1:
                caption = _next_caption(blocks, index)
            images.append({"url": src, "caption": caption})
    return images


def _next_caption(blocks: list[_Block], index: int) -> str | None:
    if index + 1 >= len(blocks):
        return None
    nxt = blocks[index + 1]
    if nxt.kind != "p" or nxt.images or len(nxt.lines) != 1:
        return None
    text = nxt.lines[0]
    return text if _caption_like(text, centered=nxt.centered) else None
