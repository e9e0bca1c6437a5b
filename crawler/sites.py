"""Which columns of which sites a crawl archives: ``--start-url`` (repeated), ``--config FILE``.

A :class:`CrawlPlan` is a list of sites, each with its columns and its own
politeness. It comes from a TOML file (:func:`load_config`), from start URLs
(:func:`plan_from_start_urls`), or both (:meth:`CrawlPlan.merged`). Nothing
here touches the network or Scrapy: the spider walks the plan, and
:meth:`CrawlPlan.download_slots` gives Scrapy's ``DOWNLOAD_SLOTS`` for the
sites that set their own politeness.

The file (``examples/sites.toml`` is a commented example)::

    [[sites]]
    url = "https://www.uir.edu.cn/"     # the site's home page (base of relative column URLs)
    delay = 2.0                         # optional politeness of this site
    concurrency = 1
    autothrottle = true

    [[sites.columns]]
    url = "ggyw.htm"                    # page 1 of the column's listing
    name = "国关要闻"                    # optional: wins over the name read from the pages
    id = 1031                           # optional: wins over the id read from the pages

    [[sites.columns]]
    name = "通知公告"                    # no url: found by name on the site's home page

Every mistake is a :class:`ConfigError` with a one-line message naming where
it is (``sites[1].columns[0]: ...``).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from record import site_of

_SITE_KEYS = {"url", "columns", "delay", "concurrency", "autothrottle"}
_COLUMN_KEYS = {"url", "name", "id"}
_TOP_KEYS = {"sites"}
#: Seconds: a configured ``delay = 0`` becomes this (see CrawlPlan.download_slots).
_SMALLEST_DELAY = 0.001
#: Seconds: the longest ``delay`` taken. More is a typo (milliseconds?) that
#: would make a crawl of a few hundred pages last for days, and a SIGTERM
#: (cron's timeout, systemd) waits for the pending delay before the crawl ends.
_LARGEST_DELAY = 60.0


class ConfigError(ValueError):
    """The crawl's configuration cannot be used (one line, saying where and why)."""


@dataclass(frozen=True)
class Politeness:
    """A site's own politeness; None leaves the crawl's setting (DOWNLOAD_DELAY...) in force."""

    delay: float | None = None
    concurrency: int | None = None
    autothrottle: bool | None = None

    def is_set(self) -> bool:
        return self.delay is not None or self.concurrency is not None


@dataclass(frozen=True)
class ColumnSpec:
    """One column to archive: page 1 of its listing, or its name to find on ``homes``.

    ``name`` and ``id``, when given, win over what the column's pages say.
    """

    url: str | None = None
    name: str | None = None
    id: int | None = None
    homes: tuple[str, ...] = ()

    @property
    def site(self) -> str:
        """host[:port] of the column (of its listing, else of its first home page)."""
        return site_of(self.url or self.homes[0])

    def describe(self) -> str:
        return self.url or f"{self.name} (found from {', '.join(self.homes)})"


@dataclass(frozen=True)
class SiteSpec:
    site: str
    columns: tuple[ColumnSpec, ...]
    politeness: Politeness = field(default_factory=Politeness)


@dataclass(frozen=True)
class CrawlPlan:
    """Sites and their columns, in the order given; a site appears once."""

    sites: tuple[SiteSpec, ...]

    @property
    def columns(self) -> list[ColumnSpec]:
        return [column for site in self.sites for column in site.columns]

    def hosts(self) -> list[str]:
        """Host names the crawl may visit (OffsiteMiddleware's allowed_domains)."""
        hosts: list[str] = []
        for column in self.columns:
            for url in (column.url, *column.homes):
                host = urlsplit(url or "").hostname
                if host and host not in hosts:
                    hosts.append(host)
        return hosts

    def merged(self, other: CrawlPlan) -> CrawlPlan:
        """This plan with ``other``'s sites added (columns of a site already here join it).

        A column whose listing URL is already here is not added again: a
        ``--start-url`` that the config also names is walked once, as the
        config says (its name and id).
        """
        sites = {site.site: site for site in self.sites}
        for site in other.sites:
            if site.site in sites:
                known = sites[site.site]
                urls = {column.url for column in known.columns if column.url}
                new = tuple(column for column in site.columns if column.url not in urls)
                sites[site.site] = replace(known, columns=known.columns + new)
            else:
                sites[site.site] = site
        return CrawlPlan(tuple(sites.values()))

    def download_slots(self) -> dict[str, dict[str, Any]]:
        """``DOWNLOAD_SLOTS`` entries, keyed by host[:port], of sites with their own politeness."""
        slots: dict[str, dict[str, Any]] = {}
        for site in self.sites:
            p = site.politeness
            if not p.is_set():
                continue
            entry: dict[str, Any] = {}
            if p.delay is not None:
                # Scrapy (2.19) starts every queued request of a slot at once
                # when its delay is 0, whatever its concurrency: the smallest
                # delay keeps "one request at a time" true.
                entry["delay"] = max(p.delay, _SMALLEST_DELAY)
            if p.concurrency is not None:
                entry["concurrency"] = p.concurrency
            slots[site.site] = entry
        return slots

    def fixed_delay_sites(self) -> list[str]:
        """Sites whose delay AutoThrottle must leave alone (``autothrottle = false``)."""
        return [s.site for s in self.sites if s.politeness.autothrottle is False]


def check_url(url: object, where: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host; else ConfigError."""
    if not isinstance(url, str):
        raise ConfigError(f"{where}: a URL must be a string, not {url!r}")
    try:
        parts = urlsplit(url)  # raises on a bad IPv6 address ("http://[::1/")
    except ValueError as exc:
        raise ConfigError(f"{where}: not a URL: {url!r} ({exc})") from None
    try:
        parts.port  # noqa: B018  # raises on a bad port
    except ValueError:
        raise ConfigError(f"{where}: bad port in URL {url!r}") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"{where}: not an absolute http(s) URL: {url!r}")
    return url


def plan_from_start_urls(urls: Iterable[str]) -> CrawlPlan:
    """One column per URL (page 1 of its listing), grouped by site; duplicates once."""
    sites: dict[str, list[ColumnSpec]] = {}
    for url in urls:
        check_url(url, "start URL")
        columns = sites.setdefault(site_of(url), [])
        if all(column.url != url for column in columns):
            columns.append(ColumnSpec(url=url))
    return CrawlPlan(tuple(SiteSpec(site, tuple(columns)) for site, columns in sites.items()))


def load_config(path: str | Path) -> CrawlPlan:
    """The plan a TOML file describes (see the module docstring); ConfigError if unusable."""
    path = Path(path).expanduser()
    try:
        # Only a regular file: a FIFO or /dev/zero would hang the crawl (in
        # cron, with no one to see), a directory only fails later.
        if path.exists() and not path.is_file():
            raise ConfigError(f"{path}: not a regular file (a TOML file is needed)")
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        return plan_from_data(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def plan_from_data(data: Mapping[str, Any]) -> CrawlPlan:
    """The plan of an already parsed config (a TOML document as a dict)."""
    _no_unknown_keys(data, _TOP_KEYS, "top level")
    sites_data = data.get("sites")
    if not isinstance(sites_data, list) or not sites_data:
        raise ConfigError("no [[sites]]: name at least one site and its columns")
    plan = CrawlPlan(())
    first_of_site: dict[str, tuple[str, Politeness]] = {}
    seen_columns: dict[tuple[str, str], str] = {}
    for i, site_data in enumerate(sites_data):
        where = f"sites[{i}]"
        site = _site(site_data, where)
        _one_politeness_per_site(site, where, first_of_site)
        for j, column in enumerate(site.columns):
            _no_second_column(column, f"{where}.columns[{j}]", seen_columns)
        plan = plan.merged(CrawlPlan((site,)))
    return plan


def _one_politeness_per_site(
    site: SiteSpec, where: str, first_of_site: dict[str, tuple[str, Politeness]]
) -> None:
    """A site named in two [[sites]] is one site; its politeness must not be said twice.

    Only the first one's would be used, so a second, different one is refused
    rather than silently dropped.
    """
    if site.site not in first_of_site:
        first_of_site[site.site] = (where, site.politeness)
        return
    first_where, first = first_of_site[site.site]
    if site.politeness != Politeness() and site.politeness != first:
        raise ConfigError(
            f"{where}: {site.site} is already {first_where}, with other delay/concurrency/"
            "autothrottle; give a site's politeness once"
        )


def _no_second_column(column: ColumnSpec, where: str, seen: dict[tuple[str, str], str]) -> None:
    """Refuse a column named twice (same listing URL, same name to find, or same id).

    Walked twice it would be counted twice in the run summary, under two keys.
    """
    keys = []
    if column.url is not None:
        keys.append((column.site, f"url {column.url}"))
    else:
        keys.append((column.site, f"name {column.name}"))
    if column.id is not None:
        keys.append((column.site, f"id {column.id}"))
    for key in keys:
        if key in seen:
            raise ConfigError(
                f"{where}: the same column as {seen[key]} ({key[1]} on {key[0]}); name it once"
            )
    for key in keys:
        seen[key] = where


def _site(data: object, where: str) -> SiteSpec:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a site must be a table ([[sites]])")
    _no_unknown_keys(data, _SITE_KEYS, where)
    home = check_url(data["url"], f"{where}.url") if "url" in data else None
    columns_data = data.get("columns")
    if not isinstance(columns_data, list) or not columns_data:
        raise ConfigError(f"{where}: no [[sites.columns]]: name at least one column")
    columns = tuple(
        _column(column, f"{where}.columns[{j}]", home) for j, column in enumerate(columns_data)
    )
    sites = {column.site for column in columns}
    if len(sites) > 1:
        raise ConfigError(
            f"{where}: its columns are on several sites ({', '.join(sorted(sites))}); "
            "give each site its own [[sites]]"
        )
    return SiteSpec(sites.pop(), columns, _politeness(data, where))


def _column(data: object, where: str, home: str | None) -> ColumnSpec:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a column must be a table ([[sites.columns]])")
    _no_unknown_keys(data, _COLUMN_KEYS, where)
    name = data.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ConfigError(f"{where}.name: must be the column's visible name, not {name!r}")
    column_id = data.get("id")
    if column_id is not None and (
        isinstance(column_id, bool) or not isinstance(column_id, int) or column_id < 1
    ):
        raise ConfigError(f"{where}.id: must be a positive whole number, not {column_id!r}")
    url = data.get("url")
    if url is None:
        if name is None:
            raise ConfigError(f"{where}: a column needs a url (its first listing page) or a name")
        if home is None:
            raise ConfigError(
                f"{where}: column {name!r} has no url, so its site needs a url "
                "(the home page to find it on)"
            )
        return ColumnSpec(name=name.strip(), id=column_id, homes=(home,))
    if not isinstance(url, str):
        raise ConfigError(f"{where}.url: a URL must be a string, not {url!r}")
    # A relative URL ("ggyw.htm", "/xwzx/xxyw.htm") is read against the site's url.
    if home is not None:
        url = urljoin(home, url)
    check_url(url, f"{where}.url")
    if home is not None and site_of(url) != site_of(home):
        # Its politeness and robots.txt would be another site's than the one
        # this [[sites]] sets: the column belongs in a [[sites]] of its own.
        raise ConfigError(
            f"{where}.url: {url} is on {site_of(url)}, not on its site {site_of(home)}; "
            "give it a [[sites]] of its own"
        )
    return ColumnSpec(url=url, name=name.strip() if name else None, id=column_id)


def _politeness(data: Mapping[str, Any], where: str) -> Politeness:
    delay = data.get("delay")
    if delay is not None and (
        isinstance(delay, bool)
        or not isinstance(delay, int | float)
        or not math.isfinite(delay)  # nan, inf: a crawl that never moves on
        or not 0 <= delay <= _LARGEST_DELAY
    ):
        raise ConfigError(
            f"{where}.delay: seconds between requests, from 0 to {_LARGEST_DELAY:g}, not {delay!r}"
        )
    concurrency = data.get("concurrency")
    if concurrency is not None and (
        isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
    ):
        raise ConfigError(
            f"{where}.concurrency: requests at a time to this site, >= 1, not {concurrency!r}"
        )
    autothrottle = data.get("autothrottle")
    if autothrottle is not None and not isinstance(autothrottle, bool):
        raise ConfigError(f"{where}.autothrottle: true or false, not {autothrottle!r}")
    return Politeness(
        float(delay) if delay is not None else None,
        concurrency,
        autothrottle,
    )


def _no_unknown_keys(data: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )
