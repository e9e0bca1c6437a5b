"""The view counter: VSB serves it from dynclicks.jsp as plain text, not in the article HTML."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urljoin

_COUNT = re.compile(r"""^\s*(?:document\.write\(\s*)?["']?(\d[\d,]*)["']?\s*\)?\s*;?\s*$""")


def parse_view_count(text: str) -> int | None:
    """The count in a dynclicks.jsp response (`123`, ` 1,234`, `document.write(5)`), else None."""
    match = _COUNT.match(text or "")
    return int(match.group(1).replace(",", "")) if match else None


_SHOW_DYNCLICKS = re.compile(
    rb"""_showDynClicks\(\s*['"]wbnews['"]\s*,\s*['"]?(\d+)['"]?\s*,\s*['"]?(\d+)"""
)
DYNCLICKS_PATH = "/system/resource/code/news/click/dynclicks.jsp"


def view_count_url(html: bytes, page_url: str) -> str | None:
    """The dynclicks.jsp URL that serves this page's view count, or None.

    VSB pages call ``_showDynClicks("wbnews", OWNER, NEWSID)``; the count is
    ``{DYNCLICKS_PATH}?clickid=NEWSID&owner=OWNER&clicktype=wbnews`` on the
    same host.
    """
    match = _SHOW_DYNCLICKS.search(html)
    if match is None:
        return None
    owner, news_id = (group.decode("ascii") for group in match.groups())
    query = urlencode({"clickid": news_id, "owner": owner, "clicktype": "wbnews"})
    return urljoin(page_url, f"{DYNCLICKS_PATH}?{query}")
