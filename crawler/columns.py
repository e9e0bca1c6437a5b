"""One column's walk in a crawl: what the spider knows of it, and its name on the records.

A crawl walks every column of its :class:`crawler.sites.CrawlPlan`; each
gets a :class:`ColumnWalk`. The walk learns the column's name and VSB id from
its first listing page (the extractor's reading of breadcrumb, list heading
and ``ColumnName`` meta; the ``/info/{id}/`` paths of its items) unless the
configuration names them, in which case the configuration wins. From then on
it has a :attr:`ColumnWalk.key` (``host[:port] id``, else ``host[:port]
name``) under which the catalog remembers whether the column was walked whole
(``walk_complete {key}``) and under which the run counts its records.

An item on the listing whose ``/info/{id}/`` names another column id than
most items of the listing do (:attr:`ColumnWalk.page_id`) is that column's
article, not this one's: it is followed only when that column is also walked
in this crawl (and then archived as that column's), else counted as
``crawl/other_column_items`` and left. A configured id only names the
column on its records and in the catalog; which items are the column's is
decided by the ids its pages carry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawler.archiver.pages import ColumnLabel
from crawler.sites import ColumnSpec
from crawler.summary import ColumnFound

_INFO_PATH = re.compile(r"/info/(\d+)/\d+\.htm$")


def info_column_id(url: str) -> int | None:
    """The column id of a VSB article URL ``/info/{id}/{news}.htm``; None for other URLs."""
    match = _INFO_PATH.search(urlsplit(url).path)
    return int(match.group(1)) if match else None


@dataclass
class Discovery:
    """Finding a column by name from home pages: what is left to try, and what was seen."""

    homes: list[str]
    pending_homes: list[str] = field(default_factory=list)
    candidates: list[tuple[str, str]] = field(default_factory=list)
    tried: set[str] = field(default_factory=set)
    links_seen: dict[str, list[str]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    moved_from: str | None = None
    moved_because: str = ""
    #: The catalog meta key the found URL is remembered under.
    meta_key: str = ""


@dataclass
class ColumnWalk:
    """The state of one column in one crawl."""

    spec: ColumnSpec
    #: The name to look for on home pages (None: the column starts at a listing URL).
    find_name: str | None = None
    discovery: Discovery | None = None
    #: Page 1 of the listing, once known (given, remembered or found).
    start_url: str | None = None
    name: str | None = None
    id: int | None = None
    #: The id most items of the first listing page carry (None: no /info/ items).
    page_id: int | None = None
    #: Decided on the first listing page: walk every page, or stop after known articles.
    full_walk: bool | None = None
    listing_failed: bool = False
    listing_pages: int = 0
    found: ColumnFound | None = None
    settled: bool = False

    def __post_init__(self) -> None:
        self.start_url = self.start_url or self.spec.url
        self.name = self.spec.name
        self.id = self.spec.id

    @property
    def site(self) -> str:
        return self.spec.site

    @property
    def key(self) -> str:
        """``host[:port] id`` (else name, else start URL): this column in the catalog and stats."""
        if self.id is not None:
            return f"{self.site} {self.id}"
        if self.name:
            return f"{self.site} {self.name}"
        return f"{self.site} {self.start_url or self.spec.describe()}"

    def settle(self, page_name: str | None, page_id: int | None) -> None:
        """Take the name and id the first listing page gives, where the config named none."""
        if self.settled:
            return
        self.settled = True
        if self.name is None:
            self.name = page_name or self.find_name
        self.page_id = page_id
        if self.id is None:
            self.id = page_id

    def label(self) -> ColumnLabel:
        """What this column's records carry (the config's name and id win over the page's)."""
        return ColumnLabel(
            key=self.key,
            name=self.name,
            id=self.id,
            name_wins=self.spec.name is not None,
            id_wins=self.spec.id is not None,
        )

    def describe(self) -> str:
        return f"{self.name or '?'} ({self.start_url or self.spec.describe()})"
