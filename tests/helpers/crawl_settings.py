"""The project's Scrapy settings as a dict, for ``scrapy.utils.test.get_crawler``."""

from __future__ import annotations

from typing import Any

from crawler import settings as crawler_settings


def project_settings(**overrides: Any) -> dict[str, Any]:
    """Every setting of :mod:`crawler.settings`, with ``overrides`` on top."""
    values = {name: getattr(crawler_settings, name) for name in dir(crawler_settings)}
    return {**{k: v for k, v in values.items() if k.isupper()}, **overrides}
