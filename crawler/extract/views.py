"""The view counter: VSB serves it from dynclicks.jsp as plain text, not in the article HTML."""

from __future__ import annotations

import re

_COUNT = re.compile(r"""^\s*(?:document\.write\(\s*)?["']?(\d[\d,]*)["']?\s*\)?\s*;?\s*$""")


def parse_view_count(text: str) -> int | None:
    """The count in a dynclicks.jsp response (`123`, ` 1,234`, `document.write(5)`), else None."""
    match = _COUNT.match(text or "")
    return int(match.group(1).replace(",", "")) if match else None
