"""Whitespace and character helpers shared by every extractor."""

from __future__ import annotations

import re

_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3001-\u303f"
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
# A hard line break between two CJK characters is an artefact of the HTML source, not a space.
_CJK_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t]*[\r\n]+\s*(?=[{_CJK}])")
_WS = re.compile(r"\s+")  # str patterns: includes nbsp (U+00A0) and the ideographic space U+3000


def normalize(text: str) -> str:
    """Collapse every whitespace run (nbsp and `　` included) to one space and strip the ends."""
    text = _ZERO_WIDTH.sub("", text)
    if "\n" in text or "\r" in text:
        text = _CJK_BREAK.sub("", text)
    return _WS.sub(" ", text).strip()


def collapse(text: str) -> str:
    """Like `normalize` but keeps one space at either end (for text nodes inside markup)."""
    text = _ZERO_WIDTH.sub("", text)
    if "\n" in text or "\r" in text:
        text = _CJK_BREAK.sub("", text)
    return _WS.sub(" ", text)
