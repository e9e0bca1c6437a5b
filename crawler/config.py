"""Reading our own settings (the ``UIR_NEWS_`` ones) from Scrapy settings."""

from __future__ import annotations

from pathlib import Path

from scrapy.settings import BaseSettings

from archive.storage.layout import default_archive_dir


def archive_dir_from_settings(settings: BaseSettings) -> Path:
    """``UIR_NEWS_ARCHIVE_DIR`` if set, else the default archive directory."""
    configured = settings.get("UIR_NEWS_ARCHIVE_DIR")
    return Path(configured).expanduser() if configured else default_archive_dir()
