"""VSB article URLs: the dynamic ``content.jsp`` form and its static twin ``/info/T/N.htm``.

VSB serves an article not yet published statically as
``/content.jsp?urltype=news.NewsContentUrl&wbtreeid=T&wbnewsid=N``; once
published it is ``/info/T/N.htm``. Both are one article, so records and the
catalog key it by the static form (:func:`canonical_article_url`).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

#: The ``urltype`` of an article (others, e.g. news.DownloadAttachUrl, name files).
_ARTICLE_URLTYPE = "news.newscontenturl"


def is_dynamic_url(url: str) -> bool:
    """Whether `url` is a VSB dynamic page (``…/content.jsp?…``), an article or not."""
    return urlsplit(url).path.lower().endswith("content.jsp")


def canonical_article_url(url: str) -> str:
    """``{scheme}://{host}/info/T/N.htm`` for a content.jsp article URL; any other URL unchanged.

    Parameter names and the ``urltype`` value are matched without regard to case
    or order; a content.jsp URL without numeric ``wbtreeid`` and ``wbnewsid``,
    or with another ``urltype``, is returned unchanged.
    """
    parts = urlsplit(url)
    if not parts.path.lower().endswith("content.jsp"):
        return url
    params = {key.lower(): value.strip() for key, value in parse_qsl(parts.query)}
    tree, news = params.get("wbtreeid", ""), params.get("wbnewsid", "")
    urltype = params.get("urltype", _ARTICLE_URLTYPE).lower()
    if not (tree.isdigit() and news.isdigit()) or urltype != _ARTICLE_URLTYPE:
        return url
    return urlunsplit((parts.scheme, parts.netloc, f"/info/{int(tree)}/{int(news)}.htm", "", ""))


_STATIC_ARTICLE = re.compile(r"^/info/(\d+)/(\d+)\.htm$")


def dynamic_article_url(url: str) -> str | None:
    """The content.jsp twin of a static article URL ``/info/T/N.htm``; None for other URLs.

    Where VSB serves an article not yet published statically: the crawl asks
    there when the static page answers 404.
    """
    parts = urlsplit(url)
    match = _STATIC_ARTICLE.match(parts.path)
    if match is None:
        return None
    query = f"urltype=news.NewsContentUrl&wbtreeid={match[1]}&wbnewsid={match[2]}"
    return urlunsplit((parts.scheme, parts.netloc, "/content.jsp", query, ""))
