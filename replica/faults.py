"""Fault modes of the replica: `NoFaults` (the default) and `FaultPlan`.

`ReplicaSite.respond` hands every request to its `faults` object twice: once
before routing (`before` may answer instead of the site, e.g. a 500 or a 503
with Retry-After) and once after (`after` may rewrite the answer, e.g. a wrong
charset). Faults that live in the transport (a slow answer, a body cut short,
a connection reset) are a `FaultyResponse`: it unpacks like any `Response`,
and `ReplicaServer` honours its `delay`, `cut_at` and `reset`.

`FaultPlan(seed=...)` picks, deterministically from its seed and the site's
articles, which article gets which fault, and says what a correct crawler
should end up doing with each one (`expected_outcomes`).
"""

from __future__ import annotations

import gzip
import random
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple, Protocol
from urllib.parse import urlsplit

from replica.model import Article, etag_for


class Request(NamedTuple):
    """A request as the site sees it: method upper-case, header names lower-case."""

    method: str
    target: str  # path and query, as sent on the request line
    headers: Mapping[str, str]


class Response(NamedTuple):
    """What the site answers; it unpacks as `(status, headers, body)`.

    `body` is empty for HEAD and 304, while `Content-Length` in `headers` still
    states the length a GET would get, as HTTP requires for HEAD.
    """

    status: int
    headers: dict[str, str]
    body: bytes


class FaultyResponse(Response):
    """A `Response` that `ReplicaServer` delivers badly; still unpacks as three values.

    `delay`: seconds to wait before the status line. `cut_at`: send only this
    many body bytes (the headers still announce the full length); then close
    the connection, with a TCP reset (SO_LINGER 0) when `reset`, else cleanly.
    """

    delay: float
    cut_at: int | None
    reset: bool

    def __new__(
        cls,
        status: int,
        headers: dict[str, str],
        body: bytes,
        *,
        delay: float = 0.0,
        cut_at: int | None = None,
        reset: bool = False,
    ) -> FaultyResponse:
        self = super().__new__(cls, status, headers, body)
        self.delay = delay
        self.cut_at = cut_at
        self.reset = reset
        return self


class SiteView(Protocol):
    """What fault plans need of the site they spoil (``replica.site.ReplicaSite`` has it).

    A protocol, not an import: the site imports this module to consult its faults.
    """

    column_slug: str
    column_id: int

    @property
    def articles(self) -> list[Article]: ...

    @property
    def n_pages(self) -> int: ...

    def article(self, news_id: int) -> Article: ...

    def page_path(self, number: int) -> str: ...

    def route(self, request: Request) -> Response: ...


class Faults(Protocol):
    """Hooks consulted by `ReplicaSite` (`bind` once, the others for every request)."""

    def bind(self, site: SiteView) -> None:
        """Called once by the site at the end of its construction."""
        ...

    def before(self, request: Request) -> Response | None:
        """An answer that replaces the site's, or None to let the site answer."""
        ...

    def after(self, request: Request, response: Response) -> Response:
        """The answer to send, given what the site produced."""
        ...


class NoFaults:
    """The default: the site answers every request faithfully."""

    def bind(self, site: SiteView) -> None:
        return None

    def before(self, request: Request) -> Response | None:
        return None

    def after(self, request: Request, response: Response) -> Response:
        return response


# --- FaultPlan ----------------------------------------------------------------------------------

ARCHIVED = "archived"
#: Outcomes no retry can change (the page is too large, or redirects in a loop or
#: off the site): a crawler that met one need not ask for the page again.
_FAILS_FOR_GOOD = frozenset(
    {"reported:too_large", "reported:redirect_loop", "reported:offsite_redirect"}
)

#: Every fault kind that lands on an article, with the outcome a correct crawler
#: (Scrapy with RETRY_TIMES=3, DOWNLOAD_MAXSIZE=20 MB, robots.txt obeyed) reaches
#: on its first run. Transient kinds fail the first `transient_attempts` tries.
ARTICLE_FAULTS: dict[str, str] = {
    # transient: a retry gets the page
    "http_500": ARCHIVED,
    "http_503": ARCHIVED,  # with Retry-After
    "http_429": ARCHIVED,  # with Retry-After
    "slow": ARCHIVED,  # headers only after `slow_delay` seconds
    "reset_once": ARCHIVED,  # connection reset mid-body
    "truncated_once": ARCHIVED,  # body short of Content-Length
    # content: served every time, a careful crawler still gets the record
    "gbk_as_utf8": ARCHIVED,  # GBK bytes, header and <meta> say UTF-8
    "utf8_as_gbk": ARCHIVED,  # UTF-8 bytes, <meta charset=gbk>, no header charset
    "no_charset": ARCHIVED,  # UTF-8 bytes, no charset anywhere
    "no_charset_gbk": ARCHIVED,  # GBK bytes, no charset anywhere
    "malformed": ARCHIVED,  # unclosed <p>, stray </html>, NUL bytes between tags
    # permanent: reported every run
    "huge": "reported:too_large",  # 30 MB page, over the 20 MB download limit
    "redirect_loop": "reported:redirect_loop",  # A -> A?loop=1 -> A -> ...
    "redirect_offsite": "reported:offsite_redirect",  # 302 to another host
    "js_challenge": "reported:js_challenge",  # HTTP 412 with the WAF's script page
    "reset": "reported:connection_reset",  # reset mid-body on every attempt
    "truncated": "reported:truncated",  # short body on every attempt
    "bad_gzip": "reported:bad_gzip",  # Content-Encoding: gzip, corrupt stream
    "robots": "reported:robots_disallowed",  # listing links it under /private/
    # an outage longer than the retries: reported by run 1, archived by run 2
    "outage": "reported:http_500",
}

#: Faults of the listing rather than of an article (not in `expected_outcomes`).
LISTING_FAULTS = ("self_link",)  # one listing page links to itself from its pager

_TRANSIENT = frozenset(
    {"http_500", "http_503", "http_429", "slow", "reset_once", "truncated_once", "outage"}
)
_PRIVATE_PREFIX = "/private"

CHALLENGE_PAGE = (
    b'<!DOCTYPE html><html><head><meta charset="utf-8">'
    b'<meta http-equiv="Pragma" content="no-cache">\n'
    b"<script type=\"text/javascript\">var _0x4e1f=['cookie','reload','substr'];"
    b"document[_0x4e1f[0]]='__jsl_clearance='+(new Date().getTime())+'|0|'+"
    b"Math.random()['toString'](36)[_0x4e1f[2]](2)+';path=/';location[_0x4e1f[1]]();"
    b"</script>\n</head><body></body></html>\n"
)

# "共N条 k/M" of both pager styles (pb_sys and fanye): k/M becomes the self-link.
_PAGER_POSITION = re.compile(
    '(共\\d+条(?:</span> <span class="p_t">|&nbsp;&nbsp;))(\\d+/\\d+)'.encode()
)
_META_CHARSET = re.compile(
    rb'<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n?', re.I
)


@dataclass(frozen=True)
class Fault:
    """One planned fault: its kind, the path it applies to, and the expected outcome."""

    kind: str
    path: str  # root-relative, as the listing links it
    news_id: int | None
    expected: str


class FaultPlan:
    """Deterministic fault mode: `ReplicaSite(faults=FaultPlan(seed=1))`.

    For each kind in `ARTICLE_FAULTS`, `counts.get(kind, per_kind)` articles are
    drawn with `random.Random(seed)` from the site's articles (never the seed
    article); one listing page (page 2, or 1 when there is only one) links to
    itself. Transient kinds fail the first `transient_attempts` requests for
    the path and then answer normally; `outage` fails the first
    `outage_attempts` (default 4 = one try + Scrapy's 3 retries). Attempts are
    counted per path and method-agnostic, thread-safe. ValueError if the site
    has too few articles for the plan.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        per_kind: int = 1,
        counts: Mapping[str, int] | None = None,
        transient_attempts: int = 1,
        outage_attempts: int = 4,
        retry_after: int = 1,
        slow_delay: float = 5.0,
        huge_size: int = 30 * 1024 * 1024,
        offsite_url: str = "http://offsite.invalid/",
    ) -> None:
        unknown = set(counts or {}) - set(ARTICLE_FAULTS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        if per_kind < 0 or transient_attempts < 0 or outage_attempts < 0:
            raise ValueError("counts and attempts must not be negative")
        self.seed = seed
        self.counts = {k: (counts or {}).get(k, per_kind) for k in ARTICLE_FAULTS}
        self.transient_attempts = transient_attempts
        self.outage_attempts = outage_attempts
        self.retry_after = retry_after
        self.slow_delay = slow_delay
        self.huge_size = huge_size
        self.offsite_url = offsite_url
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}
        self._site: SiteView | None = None
        self._by_path: dict[str, Fault] = {}  # article path as linked -> fault
        self._private: dict[str, str] = {}  # /private/... -> real article path
        self._robots_ids: set[int] = set()
        self._self_link_path: str | None = None
        self._listing_re: re.Pattern[str] | None = None
        self._robots_re: re.Pattern[bytes] | None = None
        self._huge_cache: dict[str, bytes] = {}

    # --- planning ---------------------------------------------------------------------

    def plan(self, site: SiteView) -> list[Fault]:
        """The faults this plan puts on `site`, in kind order (pure; same answer every call)."""
        rng = random.Random(self.seed)
        candidates = sorted(a.news_id for a in site.articles if not a.is_seed)
        wanted = sum(self.counts.values())
        if wanted > len(candidates):
            raise ValueError(
                f"the fault plan needs {wanted} articles, the site has {len(candidates)} "
                "besides the seed article"
            )
        chosen = rng.sample(candidates, wanted)
        faults: list[Fault] = []
        for kind, expected in ARTICLE_FAULTS.items():
            for _ in range(self.counts[kind]):
                news_id = chosen.pop(0)
                path = site.article(news_id).path
                if kind == "robots":
                    path = _PRIVATE_PREFIX + path
                faults.append(Fault(kind, path, news_id, expected))
        faults.sort(key=lambda f: (list(ARTICLE_FAULTS).index(f.kind), f.path))
        return faults

    def self_link_path(self, site: SiteView) -> str:
        """The listing page whose pager links to itself."""
        return site.page_path(min(2, site.n_pages))

    def expected_outcomes(self, site: SiteView, run: int = 1) -> dict[str, str]:
        """Per faulted article path (as the listing links it): what a correct crawler ends with.

        `"archived"`, `"reported:<reason>"`, or `"skipped:<reason>"`. `run`
        is which crawl of this server it is: `outage` articles are reported by
        run 1 and archived by later runs; a `huge` page fails the same way every
        time, so later runs do not ask for it again (and do not report it again).
        Articles not in the dict are served faithfully.
        """
        out: dict[str, str] = {}
        for f in self.plan(site):
            if f.kind == "outage" and run > 1:
                out[f.path] = ARCHIVED
            elif f.expected in _FAILS_FOR_GOOD and run > 1:
                out[f.path] = f.expected.replace("reported:", "skipped:")
            else:
                out[f.path] = f.expected
        return out

    def bind(self, site: SiteView) -> None:
        """Fix the plan for `site` (called by `ReplicaSite.__init__`); resets attempt counts."""
        faults = self.plan(site)
        slug = re.escape(site.column_slug)
        with self._lock:
            self._site = site
            self._attempts.clear()
            self._huge_cache.clear()
            self._by_path = {f.path: f for f in faults}
            self._private = {
                f.path: f.path.removeprefix(_PRIVATE_PREFIX) for f in faults if f.kind == "robots"
            }
            self._robots_ids = {f.news_id for f in faults if f.kind == "robots" and f.news_id}
            self._self_link_path = self.self_link_path(site)
            self._listing_re = re.compile(rf"/{slug}(?:/[1-9][0-9]*)?\.htm")
            self._robots_re = None
            if self._robots_ids:
                ids = "|".join(str(i) for i in sorted(self._robots_ids))
                self._robots_re = re.compile(
                    rb'href="[^"]*?info/(%d)/(%s)\.htm"' % (site.column_id, ids.encode())
                )

    def attempts(self, path: str) -> int:
        """How many requests this plan has seen for `path` (path only, query ignored)."""
        with self._lock:
            return self._attempts.get(path, 0)

    def _count(self, path: str) -> int:
        with self._lock:
            n = self._attempts.get(path, 0) + 1
            self._attempts[path] = n
            return n

    # --- the hooks --------------------------------------------------------------------

    def before(self, request: Request) -> Response | None:
        split = urlsplit(request.target)
        path = split.path
        fault = self._by_path.get(path)
        if fault is None:
            return None
        attempt = self._count(path)
        kind = fault.kind
        if kind in _TRANSIENT:
            limit = self.outage_attempts if kind == "outage" else self.transient_attempts
            if attempt > limit:
                return self._faithful(request, path)
        if kind in ("http_500", "outage"):
            return _plain(request, 500, b"Internal Server Error\n")
        if kind in ("http_503", "http_429"):
            status = 503 if kind == "http_503" else 429
            retry = {"Retry-After": str(self.retry_after)}
            return _plain(request, status, b"Busy, retry later\n", retry)
        if kind == "js_challenge":
            return _plain(request, 412, CHALLENGE_PAGE, content_type="text/html")
        if kind == "redirect_loop":
            loop = split.query != "loop=1"
            target = f"{path}?loop=1" if loop else path
            return _plain(request, 302, b"", {"Location": _absolute(request, target)})
        if kind == "redirect_offsite":
            return _plain(request, 302, b"", {"Location": self.offsite_url.rstrip("/") + path})
        if kind == "robots":
            return self._faithful(request, path)
        # Spoil what a GET would get; HEAD then gets the spoiled headers only.
        response = self._faithful(request._replace(method="GET"), path)
        if response.status != 200:
            return response  # a 304 to a conditional request has no body to spoil
        spoiled = self._spoil(kind, path, response)
        if request.method == "HEAD":
            return Response(spoiled.status, spoiled.headers, b"")
        return spoiled

    def after(self, request: Request, response: Response) -> Response:
        path = urlsplit(request.target).path
        listing_re = self._listing_re
        if response.status != 200 or listing_re is None or not listing_re.fullmatch(path):
            return response
        body = response.body
        if self._robots_re is not None:
            private = rb'href="%s/info/\1/\2.htm"' % _PRIVATE_PREFIX.encode()
            body = self._robots_re.sub(private, body)
        if path == self._self_link_path:
            own = path.rsplit("/", 1)[-1].encode()
            body = _PAGER_POSITION.sub(rb'\1<a href="%s">\2</a>' % own, body, count=1)
        return response if body == response.body else _rebody(response, body)

    # --- helpers ----------------------------------------------------------------------

    def _faithful(self, request: Request, path: str) -> Response:
        """What the site answers for the article behind `path` (a /private/ alias included)."""
        assert self._site is not None
        real = self._private.get(path, path)
        return self._site.route(Request(request.method, real, request.headers))

    def _spoil(self, kind: str, path: str, response: Response) -> Response:
        status, headers, body = response
        full = len(body)
        if kind == "slow":
            return FaultyResponse(status, headers, body, delay=self.slow_delay)
        if kind in ("reset_once", "reset"):
            return FaultyResponse(status, headers, body, cut_at=full // 2, reset=True)
        if kind in ("truncated_once", "truncated"):
            return FaultyResponse(status, headers, body, cut_at=full // 2)
        if kind == "huge":
            big = self._huge_cache.get(path)
            if big is None:
                pad = max(0, self.huge_size - len(body) - len(b"<!---->"))
                big = body.replace(b"</body>", b"<!--" + b"x" * pad + b"--></body>", 1)
                self._huge_cache[path] = big
            return _rebody(response, big)
        if kind == "bad_gzip":
            packed = bytearray(gzip.compress(body, mtime=0))
            mid = len(packed) // 2
            packed[mid : mid + 64] = bytes(b ^ 0xFF for b in packed[mid : mid + 64])
            spoiled = _rebody(response, bytes(packed))
            spoiled.headers["Content-Encoding"] = "gzip"
            return spoiled
        text = body.decode("utf-8")
        if kind == "gbk_as_utf8":
            new = text.encode("gbk", "xmlcharrefreplace")
            return _rebody(response, new, "text/html;charset=UTF-8")
        if kind == "utf8_as_gbk":
            new = _META_CHARSET.sub(
                b'<meta http-equiv="Content-Type" content="text/html; charset=gbk" />\n', body
            )
            return _rebody(response, new, "text/html")
        if kind in ("no_charset", "no_charset_gbk"):
            stripped = _META_CHARSET.sub(b"", body)
            if kind == "no_charset_gbk":
                stripped = stripped.decode("utf-8").encode("gbk", "xmlcharrefreplace")
            return _rebody(response, stripped, "text/html")
        if kind == "malformed":
            return _rebody(response, _malform(body))
        raise AssertionError(f"unhandled fault kind {kind}")


def _plain(
    request: Request,
    status: int,
    body: bytes,
    extra: dict[str, str] | None = None,
    content_type: str = "text/plain;charset=UTF-8",
) -> Response:
    headers = {"Content-Type": content_type, "Content-Length": str(len(body)), **(extra or {})}
    return Response(status, headers, b"" if request.method == "HEAD" else body)


def _rebody(response: Response, body: bytes, content_type: str | None = None) -> Response:
    """`response` with a new body: Content-Length and ETag follow it."""

    headers = dict(response.headers)
    headers["Content-Length"] = str(len(body))
    if "ETag" in headers:
        headers["ETag"] = etag_for(body)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return Response(response.status, headers, body)


def _absolute(request: Request, target: str) -> str:
    host = request.headers.get("host")
    return f"http://{host}{target}" if host else target


def _malform(body: bytes) -> bytes:
    """Unclosed <p>, a stray </html> after </head>, NUL bytes between tags; text unchanged."""
    out = body.replace(b"</p>", b"")
    out = out.replace(b"</head>", b"</head>\x00</html>\n", 1)
    out = out.replace(b"</title>", b"</title>\x00", 1)
    return out.replace(b'<div class="footer">', b'\x00\x00<div class="footer">', 1)
