"""Scrapy settings for the uir-news crawler: every default, once.

Our own settings carry the ``UIR_NEWS_`` prefix; each is documented here with
its default, and no other module repeats it (components read them in
``from_crawler`` without fallbacks; the CLI shows these values in its help
and sets only the options given). Everything else is stock Scrapy, set for a polite crawl of a
remote university site. Crawls of a loopback host (the replica site) are sped
up per request by :class:`crawler.middlewares.LoopbackFullSpeedMiddleware`, not
by changing these values, so the same settings serve the live site and tests.
"""

from __future__ import annotations

BOT_NAME = "uir-news"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# Our `crawl` command: Scrapy's, exiting with the run's exit code (0/1/3/4/5).
COMMANDS_MODULE = "crawler.commands"

# --- Our settings -----------------------------------------------------------

#: A column listing page to start at, with no discovery: ``--start-url URL``
#: without ``--column`` (``-a start_url=URL``). None: find the column by its name
#: from the home pages below, as a reader would.
UIR_NEWS_START_URL: str | None = None

#: Column listing pages to start at (page 1 of each), on any hosts:
#: ``--start-url`` given more than once (``-a start_urls=URL,URL``). Each is one
#: column of the crawl, its name and id read from its pages.
UIR_NEWS_START_URLS: list[str] = []

#: A TOML file naming sites, their columns and each site's politeness
#: (``--config FILE``, ``-a config=FILE``; see ``examples/sites.toml``).
UIR_NEWS_CONFIG: str | None = None

#: Sites (host[:port]) whose delay AutoThrottle leaves alone; set from a config's
#: ``autothrottle = false``.
UIR_NEWS_FIXED_DELAY_SITES: list[str] = []

#: Home pages the column is looked for on, in order, when no listing URL is
#: given. ``--start-url HOME --column NAME`` (``-a start_url=HOME -a column=NAME``)
#: looks on HOME instead.
UIR_NEWS_HOME_URLS = ["https://www.uir.edu.cn/", "https://www.uir.cn/"]

#: The column's visible name on the home page (navigation, a news box title or its
#: 更多 link, a breadcrumb); compared without whitespace and full-width forms.
UIR_NEWS_COLUMN_NAME = "国关要闻"

#: Paths tried on a home page's host when that page names no link to the column
#: (or cannot be fetched); a guess is kept only if it is a listing of the column.
UIR_NEWS_COLUMN_GUESSES = ["/ggyw.htm"]

#: Archive directory (WARC files, records, run summaries). ``None`` means the
#: default from :func:`archive.paths.default_archive_dir`.
UIR_NEWS_ARCHIVE_DIR: str | None = None

#: Rotate a WARC file once it reaches this many bytes (1 GB).
UIR_NEWS_WARC_MAX_SIZE = 1_000_000_000
#: A run goes on writing the newest WARC file while it is below this size,
#: so cron runs that find little add to one file instead of leaving a small
#: file each (0: a new file every run).
UIR_NEWS_WARC_CONTINUE_BELOW = 100_000_000

#: Prefix of WARC file names: ``{prefix}-{timestamp}-{serial}-{pid}-{host}.warc.gz``.
UIR_NEWS_WARC_PREFIX = "UIRNEWS"

#: Download slot that LoopbackFullSpeedMiddleware puts loopback requests in.
UIR_NEWS_LOOPBACK_SLOT = "uir-news-loopback"

#: Walk every listing page even when the archive is up to date (``--full``).
#: The first run, and the first run after a crash, always walk everything.
UIR_NEWS_FULL_WALK = False

#: Incremental runs stop this many listing pages after the first page that
#: holds an already-archived article: page numbers shift as articles appear.
UIR_NEWS_OVERLAP_PAGES = 1

#: Articles published within this many days are re-checked for edits with
#: conditional requests (If-None-Match / If-Modified-Since).
UIR_NEWS_RECENT_DAYS = 14

#: ...but no more often than once per this many hours.
UIR_NEWS_RECHECK_HOURS = 12.0

#: Besides those, each run re-checks this many older archived articles (any
#: publication date), those checked longest ago first, with conditional
#: requests, skipping any checked within UIR_NEWS_RECHECK_HOURS. With N per run
#: and T archived articles, every article is seen again within ceil(T / N) runs
#: (runs at least UIR_NEWS_RECHECK_HOURS apart): 25 a day covers 2,000 articles
#: in 80 days. A run with nothing new costs robots.txt, two listing pages and
#: at most this many requests (mostly 304s). 0 turns it off; `crawl --full`
#: re-checks every article anyway.
UIR_NEWS_RECHECK_BUDGET = 25

#: Articles that could not be archived are tried again on this many runs.
UIR_NEWS_RETRY_FAILED_RUNS = 5

#: Largest record kept, as UTF-8 JSON; a bigger one is reported, not stored.
#: (Real articles are a few tens of KB; megabytes mean a page gone wrong.)
UIR_NEWS_MAX_RECORD_BYTES = 2 * 1024 * 1024

#: The crawl process parses article pages itself while the archiver process
#: has more than this many bytes of work unread (-1: always, for tests).
UIR_NEWS_ARCHIVER_BACKLOG_BYTES = 256 * 1024

#: Show a one-line progress display on stderr (the CLI turns it on in a terminal).
UIR_NEWS_PROGRESS = False

#: Fetch the VSB view counter (dynclicks.jsp) for each article. Off by default:
#: it is one extra request per article and the number changes all the time.
UIR_NEWS_FETCH_VIEW_COUNT = False

#: Fetch each archived article's requisites after it (images, including the
#: originals named by ``orisrc``/``vurl``, attachments, style sheets and what
#: they import, scripts), so the WARC replays the page as a browser showed it.
#: Each URL is requested once per run, conditionally when already archived.
#: Off with ``--no-requisites``.
UIR_NEWS_REQUISITES = True

#: Also fetch requisites on other hosts (embedded images, CDN scripts): off by
#: default, so a crawl only ever talks to the site's own hosts
#: (``--requisites-offsite``). Politeness and robots.txt apply to those hosts too.
UIR_NEWS_REQUISITES_OFFSITE = False

# --- Identity and politeness -------------------------------------------------

USER_AGENT = (
    "uir-news/0.1 (+https://github.com/uir-news/uir-news; "
    "archiver of the UIR 国关要闻 column for research)"
)
ROBOTSTXT_OBEY = True

# One request at a time per host, adapted to the server's latency.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Transient failures (5xx, timeouts, resets) are retried; 429 too.
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOAD_TIMEOUT = 30
REDIRECT_MAX_TIMES = 5

#: First wait before a retry, doubled on each further attempt (seconds).
UIR_NEWS_RETRY_BACKOFF = 1.0
#: Longest wait before a retry, whatever Retry-After asks for (seconds).
UIR_NEWS_RETRY_MAX_DELAY = 60.0

# A page is a few hundred KB; anything this large is not an article.
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024

# Loopback hosts (the replica site) are ours: full speed, no delay.
DOWNLOAD_SLOTS = {UIR_NEWS_LOOPBACK_SLOT: {"concurrency": 16, "delay": 0.0}}

# A bound on pages per run, so a runaway crawl (a listing that links to
# itself with new query strings, say) ends by itself.
CLOSESPIDER_PAGECOUNT = 200_000

# Each article callback yields one record, and the pipeline is synchronous:
# Scrapy's default of 100 starts 101 asyncio tasks per response to process
# callback output in parallel, which cost a third of the crawl's CPU time.
CONCURRENT_ITEMS = 1

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt (100) so the robots.txt request is sped up as well.
    "crawler.middlewares.LoopbackFullSpeedMiddleware": 10,
    # Stock retries plus backoff that honours Retry-After, in the stock place.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    # Sees 3xx answers before RedirectMiddleware (600) follows them.
    "crawler.middlewares.RedirectGuardMiddleware": 610,
    # Downloader side of everything else: sees the bytes exactly as the server
    # sent them, before decompression, and every retried or redirected response.
    "crawler.middlewares.WarcCaptureMiddleware": 950,
}

DOWNLOAD_HANDLERS = {
    "http": "crawler.handlers.PooledHTTPDownloadHandler",
    "https": "crawler.handlers.PooledHTTPDownloadHandler",
}

EXTENSIONS = {
    # The archive session of the run: lock, recovery, archiver, run summary.
    # The WARC middleware, the pipeline and the spider need it.
    "crawler.extensions.ArchiveRun": 100,
    "crawler.extensions.Progress": 500,
    # Unused, and importing them (aiohttp, twisted.conch) slows every start.
    "scrapy.extensions.remote_control.RemoteControl": None,
    "scrapy.extensions.telnet.TelnetConsole": None,
}

ITEM_PIPELINES = {
    "crawler.pipelines.ArchivePipeline": 300,
}

# 404/412 pages reach the spider so it can report them with a reason.
HTTPERROR_ALLOWED_CODES = [404, 410, 412]

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
# Feeds (`scrapy crawl gxyw -O pages.jsonl`) list the article pages fetched:
# where each response is in the WARC, when, and the listing entry. The page
# bytes the item carries for the archiver are left out (they are in the WARC,
# and bytes are not JSON). One feed can choose otherwise with FEEDS' "fields".
FEED_EXPORT_FIELDS = ["url", "fetched_at", "warc", "page_url", "listing", "view_count"]
LOG_LEVEL = "INFO"
