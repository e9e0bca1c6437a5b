"""Checking a column before it goes into cron: one listing page and its newest article.

`probe` makes at most four requests, one at a time: the site's robots.txt,
the listing page, and the newest article (and that host's robots.txt when it
is another host). It fetches with the standard library rather than a Scrapy
crawl: a Scrapy run for three requests costs a reactor, the settings and the
archive machinery, and its result would have to be smuggled out of a spider.
What makes a crawl polite is kept: the crawl's user agent, timeout and size
limit (:mod:`crawler.settings`), robots.txt read by Protego, the parser
Scrapy's ``RobotsTxtMiddleware`` uses, so probe and crawl agree on what is
allowed, and the crawl's delay between two requests to one host (none on
loopback, as in a crawl). A robots.txt that cannot be had allows everything,
as in Scrapy.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from protego import Protego

from crawler import settings as crawl_settings
from crawler.extract import NotAnArticle, merge_listing, parse_article, parse_listing
from crawler.extract import selectors as sel
from crawler.extract.dom import decode, parse_html
from crawler.extract.explain import (
    ArticleRules,
    ListingRules,
    explain_article,
    explain_listing,
)
from crawler.extract.listing import ARTICLE, DYNAMIC, ListingItem, ListingPage
from crawler.middlewares import is_loopback_host
from record import ArticleRecord, ParsedArticle, WarcLocation


class ProbeFailed(Exception):
    """The page could not be had, or is not what probe needs (exit 5)."""


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    body: bytes


class PoliteFetcher:
    """GET with the crawl's user agent, timeout and size limit, robots.txt obeyed, one at a time."""

    def __init__(
        self,
        *,
        user_agent: str = crawl_settings.USER_AGENT,
        timeout: float = crawl_settings.DOWNLOAD_TIMEOUT,
        delay: float = crawl_settings.DOWNLOAD_DELAY,
        max_bytes: int = crawl_settings.DOWNLOAD_MAXSIZE,
    ) -> None:
        self.user_agent = user_agent
        self.timeout = timeout
        self.delay = delay
        self.max_bytes = max_bytes
        self.requests: list[str] = []
        self._robots: dict[str, Any] = {}
        self._last: dict[str, float] = {}

    def _wait_turn(self, host: str) -> None:
        if is_loopback_host(host):
            return
        last = self._last.get(host)
        if last is not None and (pause := self.delay - (time.monotonic() - last)) > 0:
            time.sleep(pause)

    def _fetch(self, url: str) -> Fetched:
        host = urlsplit(url).hostname or ""
        self._wait_turn(host)
        # The bytes Scrapy sends: the user agent in UTF-8 (http.client writes str as latin-1).
        agent = self.user_agent.encode("utf-8").decode("latin-1")
        request = urllib.request.Request(url, headers={"User-Agent": agent})
        self.requests.append(url)
        try:
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = response.read(self.max_bytes + 1)
                    status, final = int(response.status), response.geturl()
            except urllib.error.HTTPError as exc:
                body, status, final = exc.read(self.max_bytes + 1), exc.code, url
                exc.close()
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ProbeFailed(f"cannot reach {url}: {reason}") from exc
        finally:
            self._last[host] = time.monotonic()
        if len(body) > self.max_bytes:
            raise ProbeFailed(f"{url} is larger than {self.max_bytes:,} bytes (DOWNLOAD_MAXSIZE)")
        return Fetched(final, status, body)

    def _rules(self, url: str) -> Any:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            try:
                fetched = self._fetch(origin + "/robots.txt")
            except ProbeFailed:
                fetched = None
            text = decode(fetched.body) if fetched is not None and fetched.status == 200 else ""
            self._robots[origin] = Protego.parse(text)
        return self._robots[origin]

    def get(self, url: str) -> Fetched:
        if not self._rules(url).can_fetch(url, self.user_agent):
            raise ProbeFailed(f"robots.txt of {urlsplit(url).netloc} disallows {url}")
        return self._fetch(url)


@dataclass
class ArticleProbe:
    url: str
    record: ParsedArticle | ArticleRecord | None
    rules: ArticleRules | None
    not_an_article: str | None = None


@dataclass
class ProbeReport:
    """What probe found: the listing's rules and items, and the newest article's record."""

    listing_url: str | None
    listing: ListingPage | None
    listing_rules: ListingRules | None
    article: ArticleProbe | None
    requests: list[str] = field(default_factory=list)

    @property
    def missing_required(self) -> list[str]:
        if self.article is None:
            return []
        if self.article.rules is None:
            return ["title", "body"]  # the page gave no article at all
        return self.article.rules.missing_required


def looks_like_listing(html: bytes, url: str) -> bool:
    """A page with VSB list rows, or listing items and a pager: a column's listing page."""
    root = parse_html(decode(html))
    if root is None:
        return False
    if sel.LISTING_ITEMS(root):
        return True
    page = parse_listing(html, url)
    return bool(page.items) and (page.page_count is not None or page.next_url is not None)


def probe_article(
    html: bytes,
    url: str,
    *,
    item: ListingItem | None = None,
    listing_url: str | None = None,
    require_reviewers: bool = False,
) -> ArticleProbe:
    """Parse one article page as a crawl would (the listing's date filling a missing one)."""
    try:
        parsed = parse_article(html, url)
    except NotAnArticle as exc:
        return ArticleProbe(url, None, None, str(exc))
    record: ParsedArticle | ArticleRecord = parsed
    if item is not None and listing_url is not None:
        # As a crawl does: the listing's date fills a page without one. There is no capture.
        fetched_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        nowhere = WarcLocation(file="", offset=0, length=0)
        full = ArticleRecord(**parsed, listing=None, fetched_at=fetched_at, warc=nowhere)
        record = merge_listing(full, item, listing_url)
    rules = explain_article(html, record, require_reviewers=require_reviewers)
    return ArticleProbe(url, record, rules)


def _newest_article(listing: ListingPage) -> ListingItem | None:
    """The first article item, static or content.jsp (a dynamic page is the article, live)."""
    return next((item for item in listing.items if item.kind in (ARTICLE, DYNAMIC)), None)


def probe_url(url: str, fetcher: PoliteFetcher, *, require_reviewers: bool = False) -> ProbeReport:
    """Fetch the listing at ``url`` and its newest article; raise ProbeFailed if either fails."""
    fetched = fetcher.get(url)
    if fetched.status != 200:
        raise ProbeFailed(f"{url} answered HTTP {fetched.status}")
    if not looks_like_listing(fetched.body, fetched.url):
        hint = ""
        try:
            parse_article(fetched.body, fetched.url)
            hint = " (it is an article page: give its column's listing page)"
        except NotAnArticle:
            pass
        raise ProbeFailed(f"{url} is not a VSB column listing: no list items found{hint}")
    listing = parse_listing(fetched.body, fetched.url)
    report = ProbeReport(
        fetched.url, listing, explain_listing(fetched.body, fetched.url, listing), None
    )
    item = _newest_article(listing)
    if item is not None:
        article = fetcher.get(item.url)
        if article.status != 200:
            raise ProbeFailed(f"the newest article {item.url} answered HTTP {article.status}")
        report.article = probe_article(
            article.body,
            urljoin(item.url, article.url),
            item=item,
            listing_url=fetched.url,
            require_reviewers=require_reviewers,
        )
    report.requests = list(fetcher.requests)
    return report


def probe_saved_page(html: bytes, url: str, *, require_reviewers: bool = False) -> ProbeReport:
    """The same report for a saved page: its listing rules, or its article's rules."""
    if looks_like_listing(html, url):
        listing = parse_listing(html, url)
        return ProbeReport(url, listing, explain_listing(html, url, listing), None)
    return ProbeReport(
        None, None, None, probe_article(html, url, require_reviewers=require_reviewers)
    )
