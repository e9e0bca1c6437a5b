"""The 国关要闻 spider (and any other VSB column): crawl policy only.

It walks each column's listing pages from the first, follows article links on
the listing's host, and yields each article page as an
:class:`crawler.archiver.pages.ArticlePage`; the archiver process parses it
with the pure extractor in :mod:`crawler.extract` and stores it. Pages that
are not articles are reported with a reason (to the run's
:class:`crawler.extensions.ArchiveRun`), never stored as records.

Arguments, as ``scrapy crawl gxyw -a start_url=URL -a archive=DIR`` gives them
(``uir-news crawl`` passes the same): they set ``UIR_NEWS_START_URL``,
``UIR_NEWS_START_URLS`` (``-a start_urls=URL,URL``), ``UIR_NEWS_CONFIG``
(``-a config=FILE``) and ``UIR_NEWS_ARCHIVE_DIR`` for every component of the crawl.

Which columns (a :class:`crawler.sites.CrawlPlan`, one
:class:`crawler.columns.ColumnWalk` each, all walked at once):

* the columns of the config file and every start URL (page 1 of a listing),
  on any hosts; a config column without a URL is found by name on its
  site's home page, as below;
* with neither, ``start_url`` alone is page 1 of the column's listing: no discovery;
* ``-a column=NAME`` (``--column``) makes ``start_url`` a home page, and with
  no ``start_url`` at all the column ``UIR_NEWS_COLUMN_NAME`` is looked for on
  ``UIR_NEWS_HOME_URLS``. The spider fetches the home page, takes the links
  that name the column (:func:`crawler.extract.find_column_links`; else the
  ``UIR_NEWS_COLUMN_GUESSES`` paths) and keeps the first whose page is a
  listing of that column (:func:`crawler.extract.check_listing`). The URL
  found is remembered in the catalog, so later runs go straight to it; when
  it stops being a listing of the column (404, redirect, another column's
  name) the run looks again from the home page and reports the move.

A column's name and id come from its first listing page unless configured
(:mod:`crawler.columns`); an item whose ``/info/{id}/`` names another column
id is followed only when that column is walked too (as that column's
article), else counted as ``crawl/other_column_items`` and left. Each site
gets its own download slot (``host[:port]``; see
:class:`crawler.middlewares.LoopbackFullSpeedMiddleware`), so sites are
crawled side by side, each at its own pace.

What to fetch (the catalog is asked through the run's read-only reader):

* a **full walk** follows every listing page and fetches every article not
  yet archived. It happens with ``UIR_NEWS_FULL_WALK`` (``--full``), on the
  first run of a column, and after a run that did not walk it cleanly
  (the catalog remembers ``walk_complete {column key}`` per column);
* otherwise an **incremental** walk stops ``UIR_NEWS_OVERLAP_PAGES`` pages
  after the first listing page that holds an already-archived article, so a
  run with nothing new costs robots.txt plus two listing pages;
* archived articles published within ``UIR_NEWS_RECENT_DAYS`` are re-checked
  with conditional requests at most every ``UIR_NEWS_RECHECK_HOURS``; an
  unchanged answer becomes a WARC revisit, an edit becomes a new version;
* besides, ``UIR_NEWS_RECHECK_BUDGET`` older articles are re-checked per run,
  those checked longest ago first (:meth:`GxywSpider._budget_rechecks`), so
  every article is seen again within a known number of runs;
* ``UIR_NEWS_FULL_WALK`` (``--full``) re-checks every listed article, and
  once the whole listing has been read (:meth:`GxywSpider.spider_idle`) asks
  for each archived article of the column it no longer lists, to tell
  ``unlisted`` (still served) from ``removed`` (404, 410, a redirect away).

Take-downs: an archived article answering 404 or 410 (or, when asked
without following redirects, redirecting away) is reported to the archiver
as gone (:meth:`GxywSpider._taken_down`), which records a ``removed`` event;
it is not a failure and is not retried.

Page requisites (``UIR_NEWS_REQUISITES``): after an article page arrives new
or changed, the images, attachments, style sheets (and the images and sheets
they name) and scripts it needs are requested at the lowest priority, through
the same middlewares (robots.txt, politeness, size limit, WARC capture). Each
URL is requested once per run; one archived by an earlier run is asked for
conditionally, and an unchanged answer is a revisit. Other hosts only with
``UIR_NEWS_REQUISITES_OFFSITE``. A requisite that fails is reported as
``requisite_<reason>``: the article is archived, so the run is not partial.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES
from twisted.python.failure import Failure

from archive.storage.session import ArchiveReader, ArticleState
from crawler.archiver.pages import ArticlePage, ColumnLabel
from crawler.columns import ColumnWalk, Discovery, info_column_id
from crawler.extensions import ArchiveRun, column_meta_key
from crawler.extract import (
    ListingItem,
    ListingPage,
    Requisite,
    check_listing,
    classify_response,
    css_requisites,
    find_column_links,
    page_requisites,
    parse_listing,
    parse_view_count,
    view_count_url,
)
from crawler.extract.listing import DYNAMIC
from crawler.extract.navigation import link_texts
from crawler.extract.urls import dynamic_article_url
from crawler.failures import DYNAMIC_NOT_PUBLIC, PERMANENT, REQUISITE_PREFIX, failure_reason
from crawler.sites import (
    ColumnSpec,
    CrawlPlan,
    SiteSpec,
    check_url,
    load_config,
    plan_from_start_urls,
)
from crawler.summary import ColumnFound
from record import site_of

# Statuses the article callback wants to see, to report them with a reason.
_ARTICLE_STATUSES = [304, 404, 410, 412]

# Articles go before listing pages: the queue then holds about one listing
# page of articles at a time, instead of every article of the column, so
# memory stays flat however long the column is.
_ARTICLE_PRIORITY = 10

# Requisites go after articles but before the next listing page: the queue
# then holds about one listing page's articles and their files at a time.
# (Queued after everything else, they piled up to the end of the crawl: a
# 10,000-article crawl peaked at 220 MB for both processes, against 165 MB
# without requisites, and growing with the column.)
_REQUISITE_PRIORITY = 5
# A requisite's error answers reach its callback, to be reported by status
# (retries of 5xx answers happen before, in the downloader middlewares).
_REQUISITE_STATUSES = [304, *range(400, 600)]

# The remembered listing URL is checked as it answers: a redirect is a move.
_REMEMBERED_STATUSES = [301, 302, 303, 307, 308, 404, 410]
# Candidate pages of the column: a 404 is a rejected candidate, not an error.
_CANDIDATE_STATUSES = [404, 410]

# Re-checks of articles not seen on this run's listing are asked without
# following redirects: a redirect away is how some sites take a page down.
_REDIRECTS = [301, 302, 303, 307, 308]
_UNLISTED_CHECK_STATUSES = [*_ARTICLE_STATUSES, *_REDIRECTS]


class GxywSpider(scrapy.Spider):
    name = "gxyw"

    def __init__(
        self,
        start_url: str | None = None,
        archive: str | None = None,
        column: str | None = None,
        start_urls: str | None = None,
        config: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.start_url = start_url
        self.archive_dir = archive
        self.column = column
        # `-a start_urls=URL,URL` and `-a config=FILE`: settings of the crawl, as below.
        self.start_url_list = [u.strip() for u in (start_urls or "").split(",") if u.strip()]
        self.config_path = config
        #: One walk per column of the crawl, in the order given.
        self.walks: list[ColumnWalk] = []
        #: Walks by (site, column id), once the id is known: where an item of
        #: another column found on a listing page belongs, when it is walked too.
        self.walks_by_id: dict[tuple[str, int], ColumnWalk] = {}
        # Article URLs requested but not yet recorded or reported: a request
        # Scrapy drops silently (a redirect back to a URL already fetched is
        # filtered as a duplicate) must still be reported.
        self.pending_articles: set[str] = set()
        # Article URLs requested in this run: the catalog only shows what the
        # archiver has committed, so an article listed twice in one run (a
        # pinned item, a page shift) is recognised here.
        self.requested_articles: set[str] = set()
        # Requisite URLs requested in this run: each once, however many pages use it.
        self.requested_requisites: set[str] = set()
        # Article URLs seen on this run's listing pages, and the VSB column ids
        # in their paths: after a full walk, what the column no longer lists.
        self.listed_urls: set[str] = set()
        self.unlisted_checked = False

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> GxywSpider:
        spider: GxywSpider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        # Spider arguments are command-line settings for the whole crawl: the
        # ArchiveRun extension, built after the spider, reads them from there.
        if spider.start_url:
            settings.set("UIR_NEWS_START_URL", spider.start_url, priority="cmdline")
        if spider.archive_dir:
            settings.set("UIR_NEWS_ARCHIVE_DIR", spider.archive_dir, priority="cmdline")
        if spider.column:
            settings.set("UIR_NEWS_COLUMN_NAME", spider.column, priority="cmdline")
        if spider.start_url_list:
            settings.set("UIR_NEWS_START_URLS", spider.start_url_list, priority="cmdline")
        if spider.config_path:
            settings.set("UIR_NEWS_CONFIG", spider.config_path, priority="cmdline")
        spider.start_url = settings["UIR_NEWS_START_URL"]
        spider.column = settings["UIR_NEWS_COLUMN_NAME"]
        plan = spider._plan(settings)
        spider.walks = spider._walks(plan, settings)
        # OffsiteMiddleware keeps the crawl on the hosts of the plan.
        spider.allowed_domains = plan.hosts()
        spider._configure_slots(plan, settings)
        spider.guesses = settings.getlist("UIR_NEWS_COLUMN_GUESSES")
        spider.full_walk_asked = settings.getbool("UIR_NEWS_FULL_WALK")
        spider.overlap_pages = settings.getint("UIR_NEWS_OVERLAP_PAGES")
        spider.recent_days = settings.getint("UIR_NEWS_RECENT_DAYS")
        spider.recheck_after = timedelta(hours=settings.getfloat("UIR_NEWS_RECHECK_HOURS"))
        spider.recheck_budget = settings.getint("UIR_NEWS_RECHECK_BUDGET")
        spider.retry_failed_runs = settings.getint("UIR_NEWS_RETRY_FAILED_RUNS")
        spider.fetch_view_count = settings.getbool("UIR_NEWS_FETCH_VIEW_COUNT")
        spider.fetch_requisites = settings.getbool("UIR_NEWS_REQUISITES")
        spider.requisites_offsite = settings.getbool("UIR_NEWS_REQUISITES_OFFSITE")
        # The spider is built before the extensions: it finds the run's
        # ArchiveRun when the spider opens, as Scrapy documents.
        crawler.signals.connect(spider.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(spider.spider_idle, signal=signals.spider_idle)
        return spider

    def _plan(self, settings: Any) -> CrawlPlan:
        """The columns to walk: a config and start URLs if given, else the one column of old.

        ``start_url`` alone is page 1 of one listing; with a column named on
        the command line it is a home page to find that column on; with
        neither, the column ``UIR_NEWS_COLUMN_NAME`` is looked for on
        ``UIR_NEWS_HOME_URLS``. Raises ConfigError (a ValueError) on a bad URL or config.
        """
        config = settings.get("UIR_NEWS_CONFIG")
        listing_urls = list(settings.getlist("UIR_NEWS_START_URLS"))
        named = settings.getpriority("UIR_NEWS_COLUMN_NAME") == SETTINGS_PRIORITIES["cmdline"]
        if self.start_url and not named:
            listing_urls.insert(0, self.start_url)
        plan = load_config(config) if config else CrawlPlan(())
        if listing_urls:
            plan = plan.merged(plan_from_start_urls(listing_urls))
        if plan.sites:
            return plan
        homes = [self.start_url] if self.start_url else settings.getlist("UIR_NEWS_HOME_URLS")
        for home in homes:
            check_url(home, "start URL")
        return CrawlPlan((SiteSpec(site_of(homes[0]), (ColumnSpec(homes=tuple(homes)),)),))

    def _walks(self, plan: CrawlPlan, settings: Any) -> list[ColumnWalk]:
        walks = []
        for spec in plan.columns:
            if spec.url is not None:
                walks.append(ColumnWalk(spec))
                continue
            # Found by name: the config's name, else the command line's (or the default).
            find = spec.name or settings["UIR_NEWS_COLUMN_NAME"]
            walks.append(ColumnWalk(spec, find_name=find, discovery=Discovery(list(spec.homes))))
        return walks

    def _configure_slots(self, plan: CrawlPlan, settings: Any) -> None:
        """Per-site politeness: each configured site's own download slot (DOWNLOAD_SLOTS)."""
        slots = plan.download_slots()
        if slots:
            merged = {**settings.getdict("DOWNLOAD_SLOTS"), **slots}
            settings.set("DOWNLOAD_SLOTS", merged, priority="cmdline")
        fixed = plan.fixed_delay_sites()
        if fixed:
            settings.set("UIR_NEWS_FIXED_DELAY_SITES", fixed, priority="cmdline")

    def spider_opened(self, spider: scrapy.Spider) -> None:
        run = self.crawler.get_extension(ArchiveRun)
        if run is None:
            raise RuntimeError("the gxyw spider needs the ArchiveRun extension")
        self.run = run
        self.run.walks = self.walks
        first = self.walks[0].spec
        # The summary's start URL: the first column's listing (or home page).
        self.run.start_url = first.url or first.homes[0]

    allowed_domains: list[str]
    guesses: list[str]
    run: ArchiveRun
    full_walk_asked: bool
    overlap_pages: int
    recent_days: int
    recheck_after: timedelta
    recheck_budget: int
    retry_failed_runs: int
    fetch_view_count: bool
    fetch_requisites: bool
    requisites_offsite: bool

    # A method, not a property: feed exports read every spider attribute.
    def catalog(self) -> ArchiveReader:
        """The catalog as committed so far (read-only; the run must be open)."""
        return self.run.client.reader

    async def start(self) -> AsyncIterator[Any]:
        # Until a column's first listing page says otherwise (see _decide_walk).
        self.run.full_walk = self.full_walk_asked
        for walk in self.walks:
            for request in self._first_requests(walk):
                yield request
        # Articles that failed in earlier runs and are still missing.
        skip = set() if self.full_walk_asked else PERMANENT
        for url in self.catalog().pending_failures(self.retry_failed_runs, skip):
            # Scrapy reads start requests lazily, so the listing may have asked
            # for this article already; a second request would be dropped as a
            # duplicate and the article wrongly reported as "dropped".
            if url in self.requested_articles:
                continue
            if urlsplit(url).hostname in self.allowed_domains:
                self.crawler.stats.inc_value("crawl/retried_failures")
                # Its content.jsp twin, should the static page not be published:
                # a listed content.jsp item may have failed (a timeout) last run.
                fallback = dynamic_article_url(url) or ""
                yield scrapy.Request(
                    url,
                    callback=self.parse_article_page,
                    errback=self.on_error,
                    meta={**self._article_meta(url), "dynamic_fallback": fallback},
                    priority=_ARTICLE_PRIORITY,
                )
        for request in self._budget_rechecks():
            yield request

    def _first_requests(self, walk: ColumnWalk) -> Iterator[scrapy.Request]:
        """A column's first request: its listing, or its remembered URL, or its discovery."""
        if walk.discovery is None:
            assert walk.start_url
            yield scrapy.Request(
                walk.start_url,
                callback=self.parse_listing_page,
                errback=self.on_listing_error,
                cb_kwargs={"walk": walk},
            )
            return
        assert walk.find_name
        discovery = walk.discovery
        discovery.pending_homes = list(discovery.homes)
        discovery.meta_key = column_meta_key(urlsplit(discovery.homes[0]).netloc, walk.find_name)
        remembered = self.run.remembered(discovery.meta_key)
        if remembered:
            yield scrapy.Request(
                remembered,
                callback=self.parse_remembered,
                errback=self.on_remembered_error,
                cb_kwargs={"walk": walk},
                meta={"dont_redirect": True, "handle_httpstatus_list": _REMEMBERED_STATUSES},
            )
        else:
            yield from self._next_discovery_step(walk)

    # -- finding the column by name --------------------------------------------

    def parse_remembered(self, response: Response, walk: ColumnWalk) -> Iterator[Any]:
        """The URL an earlier run found: still a listing of the column, or moved."""
        assert walk.find_name
        check = check_listing(response.body, response.url, walk.find_name)
        if response.status == 200 and check.ok:
            self._found(walk, response.url, "remembered from an earlier run")
            yield from self.parse_listing_page(response, walk)
            return
        if response.status != 200:
            because = f"answered {response.status}"
            if location := response.headers.get("Location"):
                target = urljoin(response.url, location.decode("latin-1"))
                because += f" (redirect to {target})"
        else:
            because = f"is {check.rejection()}"
        self._moved(walk, response.url, because)
        yield from self._next_discovery_step(walk)

    def on_remembered_error(self, failure: Failure) -> Iterator[Any]:
        walk = _walk_of(failure)
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        self._moved(walk, url, f"failed ({failure_reason(failure)})")
        yield from self._next_discovery_step(walk)

    def _moved(self, walk: ColumnWalk, url: str, because: str) -> None:
        assert walk.discovery
        walk.discovery.moved_from, walk.discovery.moved_because = url, because
        self.logger.warning(
            "The remembered %s listing %s %s; looking again from the home page",
            walk.find_name,
            url,
            because,
        )

    def parse_home(self, response: Response, home: str, walk: ColumnWalk) -> Iterator[Any]:
        assert walk.find_name and walk.discovery
        name, discovery = walk.find_name, walk.discovery
        if response.status == 200:
            links = [
                link
                for link in find_column_links(response.body, response.url, name)
                if urlsplit(link.url).hostname in self.allowed_domains
            ]
            discovery.links_seen[home] = link_texts(response.body, response.url)
            discovery.candidates.extend(
                (link.url, f"{link.why(name)} on {response.url}") for link in links
            )
            if links:
                yield from self._next_discovery_step(walk)
                return
        self._guess(walk, response.url, f"{response.url} names no link {name}")
        yield from self._next_discovery_step(walk)

    def on_home_error(self, failure: Failure) -> Iterator[Any]:
        walk = _walk_of(failure)
        assert walk.discovery
        request = getattr(failure, "request", None)
        if request is not None:
            walk.discovery.links_seen[request.url] = [f"(not fetched: {failure_reason(failure)})"]
            self._guess(walk, request.url, f"{request.url} could not be fetched")
        yield from self._next_discovery_step(walk)

    def _guess(self, walk: ColumnWalk, home: str, because: str) -> None:
        # The usual paths are those of the default column (/ggyw.htm for 国关要闻).
        assert walk.discovery
        if walk.find_name != self.column:
            return
        for path in self.guesses:
            walk.discovery.candidates.append(
                (urljoin(home, path), f"the usual path {path} ({because})")
            )

    def parse_candidate(self, response: Response, why: str, walk: ColumnWalk) -> Iterator[Any]:
        assert walk.find_name and walk.discovery
        check = check_listing(response.body, response.url, walk.find_name)
        if response.status == 200 and check.ok:
            self._found(walk, response.url, why)
            yield from self.parse_listing_page(response, walk)
            return
        reason = check.rejection() if response.status == 200 else f"HTTP {response.status}"
        walk.discovery.rejected.append(f"{response.url} ({reason})")
        yield from self._next_discovery_step(walk)

    def on_candidate_error(self, failure: Failure) -> Iterator[Any]:
        walk = _walk_of(failure)
        assert walk.discovery
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        walk.discovery.rejected.append(f"{url} ({failure_reason(failure)})")
        yield from self._next_discovery_step(walk)

    def _next_discovery_step(self, walk: ColumnWalk) -> Iterator[Any]:
        """The next candidate to check, else the next home page, else: not found."""
        discovery = walk.discovery
        assert discovery is not None
        while discovery.candidates:
            url, why = discovery.candidates.pop(0)
            if url in discovery.tried:
                continue
            discovery.tried.add(url)
            yield scrapy.Request(
                url,
                callback=self.parse_candidate,
                errback=self.on_candidate_error,
                cb_kwargs={"why": why, "walk": walk},
                meta={"handle_httpstatus_list": _CANDIDATE_STATUSES},
                dont_filter=True,
            )
            return
        if discovery.pending_homes:
            home = discovery.pending_homes.pop(0)
            yield scrapy.Request(
                home,
                callback=self.parse_home,
                errback=self.on_home_error,
                cb_kwargs={"home": home, "walk": walk},
                meta={"handle_httpstatus_list": _CANDIDATE_STATUSES},
                dont_filter=True,
            )
            return
        self._not_found(walk)

    def _found(self, walk: ColumnWalk, url: str, why: str) -> None:
        assert walk.find_name and walk.discovery
        moved_from = walk.discovery.moved_from
        if moved_from is not None:
            why = f"{why}; the remembered {moved_from} {walk.discovery.moved_because}"
        walk.start_url = url
        walk.found = ColumnFound(walk.find_name, url, why, moved_from)
        self.run.remember(walk.discovery.meta_key, url)
        log = self.logger.warning if moved_from and moved_from != url else self.logger.info
        log("Column %s at %s: %s", walk.find_name, url, why)

    def _not_found(self, walk: ColumnWalk) -> None:
        assert walk.find_name and walk.discovery
        discovery = walk.discovery
        seen = "; ".join(
            f"{home} links {', '.join(texts) or 'nothing'}"
            for home, texts in discovery.links_seen.items()
        )
        detail = f"no listing of {walk.find_name} found from {', '.join(discovery.homes)}"
        if seen:
            detail += f"; {seen}"
        if discovery.rejected:
            detail += f"; rejected {', '.join(discovery.rejected)}"
        walk.found = ColumnFound(walk.find_name, None, detail, discovery.moved_from)
        self.report(discovery.homes[0], "column_not_found", detail, article=False)

    # -- listing pages --------------------------------------------------------

    def parse_listing_page(self, response: Response, walk: ColumnWalk) -> Iterator[Any]:
        if response.status != 200:
            self._listing_failed(walk)
            self.report(response.url, f"listing_http_{response.status}", article=False)
            return
        # Only pages that answered count: a start page answering 404 is a run
        # that reached no listing at all (exit 5), not a partial one.
        self.crawler.stats.inc_value("crawl/listing_pages")
        walk.listing_pages += 1
        page = parse_listing(response.body, response.url)
        if not walk.settled:
            self._settle(walk, response, page)
        if not page.items:
            self._listing_failed(walk)
            self.report(response.url, "listing_without_items", article=False)
        host = urlsplit(response.url).hostname
        new_items = known_items = 0
        seen_known: list[str] = []
        for item in page.items:
            if item.kind == DYNAMIC and urlsplit(item.canonical_url).hostname == host:
                # One article, one record: a content.jsp item is asked for at its
                # static /info/T/N.htm URL, and at content.jsp when that is not
                # published yet (see parse_article_page).
                self.crawler.stats.inc_value("crawl/dynamic_items")
                item = dataclasses.replace(item, url=item.canonical_url, dynamic_url=item.url)
            elif item.kind != "article" or urlsplit(item.url).hostname != host:
                # Link-type items (off-site, often WeChat) are recorded, not followed.
                self.crawler.stats.inc_value(f"crawl/{item.kind}_items")
                self.run.external_items.append(
                    {"url": item.url, "kind": item.kind, "title": item.title, "page": response.url}
                )
                continue
            url = response.urljoin(item.url)
            self._note_listed(url)
            owner = self._owner_of(walk, url)
            if owner is None:
                self.crawler.stats.inc_value("crawl/other_column_items")
                self.run.external_items.append(
                    {"url": url, "kind": "other_column", "title": item.title, "page": response.url}
                )
                continue
            if url in self.requested_articles:
                known_items += 1
                if self.catalog().article_state(url) is not None:
                    seen_known.append(url)  # asked for by a budget re-check
                continue
            state = self.catalog().article_state(item.url)
            if state is None and self._failed_for_good(response.urljoin(item.url)):
                known_items += 1  # seen before: it does not keep an incremental walk going
                continue
            if state is None:
                new_items += 1
                yield self._article_request(response, item, owner)
            else:
                known_items += 1
                seen_known.append(state.url)
                recheck = self._recheck_request(response, item, state, owner)
                if recheck is not None:
                    yield recheck
        # Seen on a listing: an unlisted article is back (a `restored` event).
        self.run.client.mark_listed(seen_known, response.meta["fetched_at"])
        yield from self._follow_pagination(
            response, walk, page.next_url, page.page_urls, new_items, known_items
        )

    def _settle(self, walk: ColumnWalk, response: Response, page: ListingPage) -> None:
        """The column's name and id from its first listing page; then full walk or not."""
        walk.start_url = walk.start_url or response.url
        walk.settle(page.column_name, page.column_id)
        if walk.page_id is not None:
            self.walks_by_id.setdefault((walk.site, walk.page_id), walk)
        # The first run of a column, and the first after one that did not
        # finish, walk everything.
        walk.full_walk = self.full_walk_asked or not self.catalog().walk_complete(walk.key)
        self.run.full_walk = self.run.full_walk or walk.full_walk

    def _owner_of(self, walk: ColumnWalk, url: str) -> ColumnWalk | None:
        """Whose item this is: ``walk``'s own, another walked column's, or None (not followed)."""
        item_id = info_column_id(url)
        if item_id is None or walk.page_id is None or item_id == walk.page_id:
            return walk
        return self.walks_by_id.get((walk.site, item_id))

    def _listing_failed(self, walk: ColumnWalk) -> None:
        walk.listing_failed = True
        self.run.listing_failed = True

    def _follow_pagination(
        self,
        response: Response,
        walk: ColumnWalk,
        next_url: str | None,
        page_urls: list[str],
        new_items: int,
        known_items: int,
    ) -> Iterator[Any]:
        host = urlsplit(response.url).hostname
        if walk.full_walk:
            for url in [next_url, *page_urls]:
                if url and urlsplit(url).hostname == host:
                    yield response.follow(
                        url,
                        callback=self.parse_listing_page,
                        errback=self.on_listing_error,
                        cb_kwargs={"walk": walk},
                    )
            return
        # How many more pages may follow this one; None while unbounded.
        remaining: int | None = response.meta.get("overlap_left")
        if new_items:
            remaining = None  # still finding unarchived articles: keep walking
        if remaining is None and known_items:
            remaining = self.overlap_pages
        if remaining is not None and remaining <= 0:
            return
        if next_url is None or urlsplit(next_url).hostname != host:
            return
        yield response.follow(
            next_url,
            callback=self.parse_listing_page,
            errback=self.on_listing_error,
            cb_kwargs={"walk": walk},
            meta={"overlap_left": None if remaining is None else remaining - 1},
        )

    def _failed_for_good(self, url: str) -> bool:
        """An article an earlier run could not archive for a permanent reason (too large...).

        It was reported then; asking again would only fail and be reported
        again in every cron mail. ``--full`` tries it once more.
        """
        if self.full_walk_asked:
            return False
        failure = self.catalog().failure_of(url)
        if failure is None or failure[0] not in PERMANENT:
            return False
        self.crawler.stats.inc_value("crawl/permanent_failures_skipped")
        return True

    def _article_meta(self, url: str) -> dict[str, Any]:
        """Meta of an article request; the URL is owed a record or a report."""
        self.pending_articles.add(url)
        self.requested_articles.add(url)
        return {"handle_httpstatus_list": _ARTICLE_STATUSES, "article_url": url}

    def _article_request(
        self, response: Response, item: ListingItem, walk: ColumnWalk
    ) -> scrapy.Request:
        return response.follow(
            item.url,
            callback=self.parse_article_page,
            errback=self.on_error,
            cb_kwargs={"listing": item, "page_url": response.url, "column": walk.label()},
            meta=self._article_meta(response.urljoin(item.url)),
            priority=_ARTICLE_PRIORITY,
        )

    def _recheck_request(
        self, response: Response, item: ListingItem, state: ArticleState, walk: ColumnWalk
    ) -> scrapy.Request | None:
        """A conditional re-fetch of a listed article, or None when not due.

        Due: on ``--full`` always; an article taken down and listed again
        always (does it answer again?); else a recent one not checked lately.
        """
        if not self.full_walk_asked and state.status != "removed":
            now = datetime.now(UTC)
            published = _as_date(state.published_at)
            if published is None or published < (now - timedelta(days=self.recent_days)).date():
                return None
            if _as_datetime(state.last_checked) > now - self.recheck_after:
                return None
        self.crawler.stats.inc_value("crawl/rechecks")
        return response.follow(
            item.url,
            callback=self.parse_article_page,
            errback=self.on_error,
            headers=self._conditional_headers(item.url),
            cb_kwargs={"listing": item, "page_url": response.url, "column": walk.label()},
            meta={
                **self._article_meta(response.urljoin(item.url)),
                "previous_capture": self.catalog().previous_capture(item.url),
            },
            priority=_ARTICLE_PRIORITY,
            dont_filter=True,
        )

    def _conditional_headers(self, url: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since from the last full response archived for ``url``."""
        previous = self.catalog().previous_capture(url)
        headers = {}
        if previous is not None and previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous is not None and previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
        return headers

    def _unlisted_recheck(self, url: str, listed: bool | None) -> scrapy.Request:
        """A conditional re-fetch of an article not (yet) seen on this run's listing.

        Redirects are not followed: for an archived article, a redirect away
        is a take-down. ``listed`` False: a completed walk did not list it.
        """
        return scrapy.Request(
            url,
            callback=self.parse_article_page,
            errback=self.on_error,
            headers=self._conditional_headers(url),
            meta={
                **self._article_meta(url),
                "previous_capture": self.catalog().previous_capture(url),
                "handle_httpstatus_list": _UNLISTED_CHECK_STATUSES,
                "dont_redirect": True,
                "listed": listed,
            },
            priority=_ARTICLE_PRIORITY,
            dont_filter=True,
        )

    # -- re-checks beyond the listing ------------------------------------------

    def _budget_rechecks(self) -> Iterator[scrapy.Request]:
        """Up to ``recheck_budget`` archived articles, those checked longest ago first.

        Only articles not checked within ``recheck_after`` (a run soon after
        another re-checks nothing more), on the crawl's hosts, and not asked
        for already. ``--full`` re-checks every listed article anyway.
        """
        if self.full_walk_asked or self.recheck_budget <= 0:
            return
        cutoff = (datetime.now(UTC) - self.recheck_after).isoformat(timespec="seconds")
        left = self.recheck_budget
        for url in self.catalog().least_recently_checked(cutoff.replace("+00:00", "Z")):
            if left <= 0:
                return
            if url in self.requested_articles or urlsplit(url).hostname not in self.allowed_domains:
                continue
            left -= 1
            self.crawler.stats.inc_value("crawl/budget_rechecks")
            yield self._unlisted_recheck(url, listed=None)

    def _note_listed(self, url: str) -> None:
        self.listed_urls.add(url)

    def _walked_whole(self) -> dict[tuple[str, int], ColumnWalk]:
        """The columns this run walked completely, by (site, VSB column id)."""
        return {
            (walk.site, walk.page_id): walk
            for walk in self.walks
            if walk.full_walk and not walk.listing_failed and walk.page_id is not None
        }

    def spider_idle(self, spider: scrapy.Spider) -> None:
        """After a completed full walk: ask for the column's articles it no longer lists.

        Each answers 200/304 (``unlisted``), or 404/410/a redirect away
        (``removed``). Only once per run, and only for the columns whose every
        listing page was read: a walk cut short would take the unread pages'
        articles for unlisted ones.
        """
        if self.unlisted_checked or not self.listed_urls:
            return
        self.unlisted_checked = True
        whole = self._walked_whole()
        if not whole or self.crawler.engine is None:
            return
        requests = []
        for url, column_id in self.catalog().listed_articles():
            if url in self.listed_urls or url in self.requested_articles:
                continue
            if column_id is None or (site_of(url), column_id) not in whole:
                continue  # a column not walked whole in this run
            self.crawler.stats.inc_value("crawl/unlisted_checks")
            requests.append(self._unlisted_recheck(url, listed=False))
        if not requests:
            return
        for request in requests:
            self.crawler.engine.crawl(request)
        raise DontCloseSpider

    # -- article pages -------------------------------------------------------

    # Article callbacks return lists, not generators: Scrapy checks every
    # generator callback for a `return value` by parsing its source, and with
    # bound methods that check is redone for each response (a fifth of a
    # millisecond per page).

    def parse_article_page(
        self,
        response: Response,
        listing: ListingItem | None = None,
        page_url: str | None = None,
        column: ColumnLabel | None = None,
    ) -> list[Any]:
        self.pending_articles.discard(response.meta.get("article_url", response.url))
        fallback = listing.dynamic_url if listing is not None else ""
        fallback = fallback or response.meta.get("dynamic_fallback", "")
        if response.status in (404, 410) and fallback:
            # Not published statically (yet): the page is served at content.jsp.
            return [self._dynamic_fallback(fallback, response, listing, page_url, column)]
        listed = True if listing is not None else response.meta.get("listed")
        if response.meta.get("unchanged"):
            self.crawler.stats.inc_value("crawl/unchanged")
            self.run.client.mark_unchanged(response.url, response.meta["fetched_at"], listed)
            return []
        if response.status != 200 and self._taken_down(response):
            return []
        if response.status in (404, 410) and response.meta.get("dynamic"):
            # Listed, yet answering 404 at content.jsp and at /info/: not public.
            # Nothing is lost; later runs skip it (`--full` asks again).
            self.report(
                response.meta["article_url"],
                DYNAMIC_NOT_PUBLIC,
                f"HTTP {response.status} at {response.url} and at its static URL",
            )
            return []
        if response.status != 200:
            # A 200 is classified by the archiver's parse: one parse per page.
            reason = classify_response(response.status, response.body, response.url)
            self.report(response.url, reason or f"http_{response.status}")
            return []
        page = ArticlePage(
            url=response.url,
            warc=response.meta["warc"],
            fetched_at=response.meta["fetched_at"],
            body=response.body,
            listing=listing,
            page_url=page_url if listing is not None else None,
            listed=listed,
            column=column,
        )
        requisites = self._requisite_requests(response) if self.fetch_requisites else []
        counter = view_count_url(response.body, response.url) if self.fetch_view_count else None
        if counter is None:
            return [page, *requisites]
        # The count is one more request; the page waits for it, or goes
        # without it when that request fails (robots.txt often forbids it).
        return [
            *requisites,
            scrapy.Request(
                counter,
                callback=self.parse_view_count_response,
                errback=self.on_view_count_error,
                cb_kwargs={"page": page},
                dont_filter=True,
            ),
        ]

    def _dynamic_fallback(
        self,
        fallback: str,
        response: Response,
        listing: ListingItem | None,
        page_url: str | None,
        column: ColumnLabel | None,
    ) -> scrapy.Request:
        """The content.jsp request of an article whose static URL answered 404/410."""
        self.crawler.stats.inc_value("crawl/dynamic_fetches")
        url = response.meta.get("article_url", response.url)
        return scrapy.Request(
            fallback,
            callback=self.parse_article_page,
            errback=self.on_error,
            cb_kwargs={
                "listing": None
                if listing is None
                else dataclasses.replace(listing, dynamic_url=""),
                "page_url": page_url,
                "column": column,
            },
            meta={**self._article_meta(url), "dynamic": True},
            priority=_ARTICLE_PRIORITY,
            dont_filter=True,
        )

    def _taken_down(self, response: Response) -> bool:
        """An archived article answering 404, 410 or a redirect away: reported as gone.

        Not a failure (nothing is lost, the versions stay): the archiver
        records a ``removed`` event. An article never archived that answers so
        is a failure, as before.
        """
        url = response.meta.get("article_url", response.url)
        if response.status in (404, 410):
            how, location = f"http_{response.status}", None
        elif response.status in _REDIRECTS and (target := response.headers.get("Location")):
            how, location = "redirect", urljoin(response.url, target.decode("latin-1"))
            if location == url:
                return False
        else:
            return False
        if self.catalog().article_state(url) is None:
            return False
        self.crawler.stats.inc_value("crawl/taken_down")
        self.run.client.mark_gone(url, response.meta["fetched_at"], how, location)
        return True

    def parse_view_count_response(self, response: Response, page: ArticlePage) -> list[Any]:
        if response.status == 200:
            count = parse_view_count(response.text)
            if count is not None:
                page = dataclasses.replace(page, view_count=count)
        return [page]

    def on_view_count_error(self, failure: Failure) -> list[Any]:
        self.crawler.stats.inc_value("crawl/view_count_failed")
        request: scrapy.Request = failure.request  # type: ignore[attr-defined]  # set by Scrapy
        return [request.cb_kwargs["page"]]

    # -- page requisites -------------------------------------------------------

    def _requisite_requests(self, response: Response) -> list[scrapy.Request]:
        """Requests for what the page needs that this run has not asked for yet."""
        return [
            request
            for requisite in page_requisites(response.body, response.url)
            if (request := self._requisite_request(requisite)) is not None
        ]

    def _requisite_request(self, requisite: Requisite) -> scrapy.Request | None:
        url = requisite.url
        if url in self.requested_requisites:
            return None
        host = urlsplit(url).hostname or ""
        offsite = not any(host == d or host.endswith("." + d) for d in self.allowed_domains)
        if offsite and not self.requisites_offsite:
            self.crawler.stats.inc_value("requisites/offsite_skipped")
            return None
        self.requested_requisites.add(url)
        self.crawler.stats.inc_value("requisites/requested")
        self.crawler.stats.inc_value(f"requisites/requested/{requisite.kind}")
        # Archived by an earlier run: ask whether it changed; the WARC
        # middleware writes an unchanged answer (304, or the same payload) as a revisit.
        previous = self.catalog().previous_capture(url)
        headers = {}
        if previous is not None and previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous is not None and previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
        meta: dict[str, Any] = {
            "requisite": requisite.kind,
            "previous_capture": previous,
            "handle_httpstatus_list": _REQUISITE_STATUSES,
        }
        if offsite:
            meta["allow_offsite"] = True
        return scrapy.Request(
            url,
            callback=self.parse_requisite,
            errback=self.on_requisite_error,
            headers=headers,
            meta=meta,
            priority=_REQUISITE_PRIORITY,
            dont_filter=True,
        )

    def parse_requisite(self, response: Response) -> list[Any]:
        """Count the answer; a style sheet's own requisites are requested in turn."""
        stats = self.crawler.stats
        if response.meta.get("unchanged"):
            stats.inc_value("requisites/unchanged")
            return []
        if response.status != 200:
            self.report_requisite(response.url, f"http_{response.status}")
            return []
        stats.inc_value("requisites/fetched")
        stats.inc_value("requisites/bytes", len(response.body))
        if response.meta.get("requisite") != "stylesheet":
            return []
        return [
            request
            for requisite in css_requisites(response.body, response.url)
            if (request := self._requisite_request(requisite)) is not None
        ]

    def on_requisite_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        reason = failure_reason(failure)
        if reason == "robots_disallowed":
            # The site asked us not to (VSB sites often forbid /_vsl/ and
            # /system/resource/): counted, not a problem.
            self.crawler.stats.inc_value("requisites/robots_disallowed")
            return
        self.report_requisite(url, reason, failure.getErrorMessage())

    def report_requisite(self, url: str, reason: str, detail: str = "") -> None:
        """A requisite not archived: a non-fatal problem of the run, never retried alone."""
        self.crawler.stats.inc_value("requisites/failed")
        self.run.report(url, REQUISITE_PREFIX + reason, detail, article=False)

    # -- failures ------------------------------------------------------------

    def on_error(self, failure: Failure, *, article: bool = True) -> None:
        request = getattr(failure, "request", None)
        url = request.meta.get("article_url", request.url) if request is not None else "?"
        self.pending_articles.discard(url)
        reason = failure_reason(failure)
        self.report(
            url,
            reason,
            failure.getErrorMessage(),
            article=article and reason != "robots_disallowed",
        )

    def on_listing_error(self, failure: Failure) -> None:
        self._listing_failed(_walk_of(failure))
        self.on_error(failure, article=False)

    def closed(self, reason: str) -> None:
        for url in sorted(self.pending_articles):
            self.report(url, "dropped", "request dropped before any answer reached the spider")
        self.pending_articles.clear()

    def report(self, url: str, reason: str, detail: str = "", *, article: bool = True) -> None:
        """A page that did not become an article, with its reason (see ArchiveRun.report)."""
        self.run.report(url, reason, detail, article=article)


def _walk_of(failure: Failure) -> ColumnWalk:
    """The column walk a failed request belonged to (its ``walk`` callback argument)."""
    request: scrapy.Request = failure.request  # type: ignore[attr-defined]  # set by Scrapy
    walk: ColumnWalk = request.cb_kwargs["walk"]
    return walk


def _as_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _as_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
