"""A deterministic replica of the 国关要闻 column on a 博达 VSB site (no network here).

`ReplicaSite` generates the column from a seed, renders it in the VSB template
family of docs/vsb-templates.md, answers HTTP-like requests through `respond`, and gives
the ground-truth record of every article through `expected_record`. The
pages are written independently of our extractor, so measuring the extractor
against `expected_record` is a fair test.

Determinism: all choices come from one `random.Random(seed)`, consumed in a
fixed order; no clock is read. Two sites built with the same arguments and
given the same sequence of `publish`/`edit` calls answer every request with
the same bytes.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from replica import render
from replica.columns import Column, ColumnInfo
from replica.content import HEADER_ROLES, SOURCE_UNITS, ContentGenerator
from replica.faults import Faults, NoFaults, Request, Response
from replica.model import (
    ALL_LISTING_LAYOUTS,
    REVIEWER_ROLES,
    Article,
    Entry,
    LinkItem,
    ListingLayout,
    ListingPage,
    Paragraph,
    Presentation,
    TemplateName,
    etag_for,
)
from replica.themes import THEMES, Theme, theme_named

__all__ = [
    "THEMES",
    "Article",
    "ColumnInfo",
    "LinkItem",
    "ListingPage",
    "ReplicaSite",
    "Request",
    "Response",
]

BEIJING = timezone(timedelta(hours=8))
SEED_NEWS_ID = 20688
SEED_PUBLISHED = datetime(2025, 7, 14, 17, 32)
# Fixed times for files that never change, so their validators are stable.
STATIC_MODIFIED = datetime(2024, 3, 1, 9, 0)


#: The schema version of record/record.schema.json that expected_record speaks.
RECORD_SCHEMA_VERSION = 2
DAY_GAPS = (0, 0, 1, 1, 1, 2, 2, 3, 4, 5, 7)
#: Gaps for large sites (benchmarks): several articles a day, so that 50,000
#: articles still fit between 1949 and today.
DENSE_DAY_GAPS = (0, 0, 0, 0, 0, 1)
#: At most this many entries are published after the seed article, so no
#: article is dated after the middle of 2026 (a crawler rejects future dates).
MAX_AFTER_SEED = 140
WEIXIN_TITLES = (
    "国关学子的毕业季｜毕业快乐，前程似锦！",
    "开学第一课 I 欢迎来到国际关系学院",
    "图说国关｜春日校园",
    "校庆特辑｜我们的国关故事",
)
CONTENT_JSP_TITLES = (
    "关于做好2025年暑期安全工作的通知",
    "国际关系学院第二届教职工代表大会第三次会议召开",
    "我院召开新学期工作部署会",
)
ROBOTS_TXT = """User-agent: *
Allow: /{slug}.htm
Allow: /{slug}/
Allow: /info/
Allow: /__local/
Disallow: /system/resource/
Disallow: /private/
Disallow: /_vsl/
"""
ATTACHMENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DYNAMIC_URLTYPE = "news.NewsContentUrl"


def _load_seed() -> dict[str, Any]:
    text = files("replica").joinpath("data").joinpath("seed-article.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _split_column_path(path: str, theme: Theme = THEMES["uir"]) -> tuple[str, str]:
    """`/xwzx/ggyw.htm` -> ("xwzx/", "ggyw"); ValueError for anything else."""
    m = re.fullmatch(r"/((?:[a-z][a-z0-9_]*/)*)([a-z][a-z0-9_]*)\.htm", path)
    if m is None:
        raise ValueError(f"column_path must look like /ggyw.htm or /xwzx/ggyw.htm, not {path!r}")
    if m.group(2) in {c.slug for c in theme.others} | {"index", "info", "content"}:
        raise ValueError(f"column_path {path!r} is taken by another page of the site")
    return m.group(1), m.group(2)


def site_of(base_url: str) -> str:
    """`http://127.0.0.1:8000/` -> `127.0.0.1:8000`: the record's `site`.

    The host, lower-cased, with the port unless it is the scheme's default.
    """
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    port = parts.port
    return host if port in (None, {"https": 443}.get(parts.scheme, 80)) else f"{host}:{port}"


def _http_date(beijing: datetime) -> str:
    return format_datetime(beijing.replace(tzinfo=BEIJING).astimezone(UTC), usegmt=True)


def _not_modified(headers: Mapping[str, str], etag: str, last_modified: datetime) -> bool:
    """RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since."""
    inm = headers.get("if-none-match")
    if inm is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or etag in tags
    ims = headers.get("if-modified-since")
    if ims is None:
        return False
    try:
        since = parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False  # an unparsable date is ignored, as the RFC says
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    lm = last_modified.replace(tzinfo=BEIJING)
    return lm <= since


class ReplicaSite:
    """One VSB site: its main column (国关要闻 by default), other columns, and `respond`.

    Page k of the main listing (1 = newest) is `/{slug}.htm` for k = 1 and
    `/{slug}/{M-k+1}.htm` otherwise, M being the number of pages; the oldest page
    `/{slug}/1.htm` holds the remainder. The main column's `content.jsp` link
    items answer 404 (the dynamic item is not public); off-site WeChat items are
    never served. The other columns (`columns`) carry `content.jsp` items that
    are served, some also at /info/T/N.htm and some not yet, a PDF-bodied
    article and a data: image.

    `theme` picks the site (`replica.themes`): "uir" (国际关系学院, the
    default) or "campus" (云麓大学, an older VSB theme whose main column is
    学校要闻 at /xwzx/xxyw.htm). `column_slug`, `column_id`, `listing_layout`
    and `column_path` default to the theme's main column.
    Thread-safe: `respond` and the mutations (`publish`, `edit`, `take_down`, `unlist`,
    `restore`) hold one lock.
    """

    def __init__(
        self,
        seed: int = 20250714,
        n_articles: int = 230,
        page_size: int = 15,
        column_slug: str | None = None,
        column_id: int | None = None,
        listing_layout: ListingLayout | None = None,
        n_link_items: int = 5,
        faults: Faults | None = None,
        column_path: str | None = None,
        n_other_articles: int = 3,
        theme: str = "uir",
    ) -> None:
        self.theme = theme_named(theme)
        main = self.theme.main
        if column_slug is None and column_path is None:
            column_path = main.start_path
        column_slug = column_slug or main.slug
        column_id = main.column_id if column_id is None else column_id
        listing_layout = listing_layout or main.layout
        if n_articles < 1:
            raise ValueError("n_articles must be at least 1 (the seed article)")
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", column_slug):
            raise ValueError(f"column_slug must be a plain lower-case name, not {column_slug!r}")
        if listing_layout not in ALL_LISTING_LAYOUTS:
            raise ValueError(f"listing_layout must be one of {ALL_LISTING_LAYOUTS}")
        if n_link_items < 0:
            raise ValueError("n_link_items must not be negative")
        if n_other_articles < 0:
            raise ValueError("n_other_articles must not be negative")
        folder = ""
        if column_path is not None:
            folder, column_slug = _split_column_path(column_path, self.theme)
        self.seed = seed
        self.page_size = page_size
        self.column_slug = column_slug
        #: The folder page 1 sits in, "" at the root or e.g. "xwzx/" (see `move_column`).
        self.column_folder = folder
        #: (old page-1 path, redirect?) of each move, the latest last.
        self._moved: list[tuple[str, bool]] = []
        self.column_id = column_id
        self.listing_layout: ListingLayout = listing_layout
        self.faults: Faults = faults if faults is not None else NoFaults()
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._gen = ContentGenerator(self._rng)
        self._next_file_id = 96001
        self._entries: list[Entry] = []  # newest first
        self._articles: dict[int, Article] = {}
        self._images: dict[str, int] = {}  # image path -> news id
        self._attachments: dict[int, tuple[int, str]] = {}  # file id -> (news id, name)
        self._article_cache: dict[int, bytes] = {}
        self._listing_cache: dict[int, bytes] = {}
        #: Articles taken down (`take_down`), by news id: how their page answers.
        self._gone: dict[int, int | str] = {}
        self._build(n_articles, n_link_items)
        # Article pages link the column where it was when they were published.
        self._article_ref = folder + column_slug
        self._columns = self._build_columns(n_other_articles)
        self._listing_modified = max(self._entry_modified(e) for e in self._entries)
        self._clock = self._listing_modified
        self.faults.bind(self)

    # --- generation -------------------------------------------------------------------

    def _timeline(self, n_slots: int, anchor_index: int) -> list[datetime]:
        """Strictly increasing publication times with `SEED_PUBLISHED` at `anchor_index`."""
        rng = self._rng
        gaps = DAY_GAPS if n_slots <= 1000 else DENSE_DAY_GAPS
        times = [SEED_PUBLISHED]
        cur = SEED_PUBLISHED
        for _ in range(anchor_index):
            gap = rng.choice(gaps)
            if gap == 0:
                cur -= timedelta(minutes=rng.randint(20, 180))
            else:
                cur = self._at_random_time(cur.date() - timedelta(days=gap))
            times.insert(0, cur)
        cur = SEED_PUBLISHED
        for _ in range(n_slots - anchor_index - 1):
            cur = self._after(cur)
            times.append(cur)
        return times

    def _at_random_time(self, day: date) -> datetime:
        return datetime.combine(day, time(self._rng.randint(8, 20), self._rng.randint(0, 59)))

    def _after(self, cur: datetime) -> datetime:
        gap = self._rng.choice(DAY_GAPS)
        if gap == 0:
            return cur + timedelta(minutes=self._rng.randint(20, 180))
        return self._at_random_time(cur.date() + timedelta(days=gap))

    def _build(self, n_articles: int, n_link_items: int) -> None:
        rng = self._rng
        n_slots = n_articles + n_link_items
        anchor = max(n_slots // 2, n_slots - 1 - MAX_AFTER_SEED)
        times = self._timeline(n_slots, anchor)
        # News ids grow with time by gaps of up to 18; a large site (benchmarks)
        # uses gaps of 1, and its seed article a higher id if need be, so that
        # the oldest id stays positive.
        max_gap = 18 if n_slots <= 1000 else 1
        self._seed_news_id = max(SEED_NEWS_ID, anchor * max_gap + 1)
        ids = [self._seed_news_id] * n_slots
        for i in range(anchor - 1, -1, -1):
            ids[i] = ids[i + 1] - rng.randint(1, max_gap)
        for i in range(anchor + 1, n_slots):
            ids[i] = ids[i - 1] + rng.randint(1, max_gap)
        others = [i for i in range(n_slots) if i != anchor]
        link_slots = sorted(rng.sample(others, min(n_link_items, len(others))))
        n_generated = n_articles - 1
        main = self.theme.main
        templates: list[TemplateName] = list(main.templates)[:n_generated]
        templates += rng.choices(
            main.templates, main.template_weights, k=n_generated - len(templates)
        )
        rng.shuffle(templates)

        chronological: list[Entry] = []
        for i in range(n_slots):
            if i == anchor:
                chronological.append(self._seed_article())
            elif i in link_slots:
                chronological.append(self._link_item(link_slots.index(i), ids[i], times[i]))
            else:
                chronological.append(self._new_article(ids[i], times[i], templates.pop()))
        articles = [e for e in chronological if isinstance(e, Article)]
        for older, newer in itertools.pairwise(articles):
            older.prev_id = newer.news_id
            newer.next_id = older.news_id
        self._entries = chronological[::-1]
        for a in articles:
            self._register(a)

    def _link_item(self, k: int, news_id: int, when: datetime) -> LinkItem:
        rng = self._rng
        if k % 3 == 2:
            title = CONTENT_JSP_TITLES[k // 3 % len(CONTENT_JSP_TITLES)]
            href = (
                "content.jsp?urltype=news.NewsContentUrl"
                f"&wbtreeid={self.column_id}&wbnewsid={news_id}"
            )
        else:
            title = WEIXIN_TITLES[k % len(WEIXIN_TITLES)]
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            token = "".join(rng.choice(alphabet) for _ in range(22))
            href = f"https://mp.weixin.qq.com/s/{token}"
        return LinkItem(news_id, title, when, href)

    def _new_article(self, news_id: int, when: datetime, template: TemplateName) -> Article:
        labels = self._review_labels()
        article, self._next_file_id = self._gen.article(
            news_id=news_id,
            when=when,
            template=template,
            column_id=self.column_id,
            column_name=self.theme.main.name,
            review_labels=labels,
            file_id=self._next_file_id,
            header_unit=lambda: self._rng.choice(SOURCE_UNITS),
        )
        return article

    def _review_labels(self) -> tuple[str, str, str]:
        main = self.theme.main
        if len(main.label_sets) == 1:
            return main.label_sets[0]  # no draw: the 国关要闻 pages stay as they were
        return self._rng.choices(main.label_sets, main.label_weights)[0]

    def _seed_article(self) -> Article:
        data = _load_seed()
        reviewers = {role: tuple(names) for role, names in data["reviewers"].items()}
        main = self.theme.main
        return Article(
            column_id=self.column_id,
            news_id=self._seed_news_id,
            title=data["title"],
            published=SEED_PUBLISHED,
            blocks=tuple(Paragraph(p) for p in data["paragraphs"]),
            reviewers=reviewers,
            reviewer_joiners={role: "、" for role in reviewers},
            credits=(),
            attachments=(),
            template="arc" if "arc" in main.templates else main.templates[0],
            presentation=Presentation(
                colon="：",
                credit_layout="lines",
                separator="　",
                indent="",
                word_pasted=False,
                right_aligned_credits=False,
                credits_first=False,
                spacer_before_credits=True,
                bracket_editor=False,
                subtitle="",
                keywords=("国际关系学院", "党建"),
            ),
            modified=SEED_PUBLISHED + timedelta(minutes=48),
            is_seed=True,
            column_name=main.name,
            review_labels=main.label_sets[0],
        )

    def _register(self, article: Article) -> None:
        self._articles[article.news_id] = article
        for fig in article.figures:
            self._images[fig.path] = article.news_id
            if original := render.original_path(fig.path):
                self._images[original] = article.news_id
        for att in article.attachments:
            self._attachments[att.file_id] = (article.news_id, att.name)

    def _build_columns(self, n_other_articles: int) -> list[Column]:
        """The theme's other columns (通知公告, 学术动态...), each from its own rng.

        They never touch the main column's rng, so its pages are the same bytes
        with or without them.
        """
        columns: list[Column] = []
        self._other_articles: dict[tuple[int, int], tuple[Column, Article]] = {}
        self._other_files: dict[str, Article] = {}  # image and PDF paths -> article
        self._other_attachments: dict[int, tuple[Article, str]] = {}
        for i, spec in enumerate(self.theme.others):
            rng = random.Random(f"{self.seed}/{spec.ref}")
            column = Column(
                spec,
                rng,
                newest=self._at_random_time_with(rng, SEED_PUBLISHED.date(), rng.randint(1, 9)),
                first_id=self.theme.other_ids_from + 500 * (i + 1),
                first_file_id=70001 + 1000 * i,
                n_articles=n_other_articles if spec.sized_by_site else None,
            )
            for article in column.articles:
                self._other_articles[column.spec.column_id, article.news_id] = (column, article)
                for fig in article.figures:
                    if not fig.inline:
                        self._other_files[fig.path] = article
                        if original := render.original_path(fig.path):
                            self._other_files[original] = article
                if article.pdf_path:
                    self._other_files[article.pdf_path] = article
                for att in article.attachments:
                    self._other_attachments[att.file_id] = (article, att.name)
            columns.append(column)
        return columns

    @staticmethod
    def _at_random_time_with(rng: random.Random, day: date, days_before: int) -> datetime:
        when = day - timedelta(days=days_before)
        return datetime.combine(when, time(rng.randint(8, 20), rng.randint(0, 59)))

    @staticmethod
    def _entry_modified(entry: Entry) -> datetime:
        return entry.modified if isinstance(entry, Article) else entry.published

    # --- read access ------------------------------------------------------------------

    @property
    def articles(self) -> list[Article]:
        """Static articles of the column, newest first (link items excluded)."""
        with self._lock:
            return [e for e in self._entries if isinstance(e, Article)]

    @property
    def link_items(self) -> list[LinkItem]:
        """Listing entries that are not static articles, newest first."""
        with self._lock:
            return [e for e in self._entries if isinstance(e, LinkItem)]

    @property
    def entries(self) -> list[Entry]:
        """Everything the listing shows, newest first."""
        with self._lock:
            return list(self._entries)

    @property
    def seed_article(self) -> Article:
        return self._articles[self._seed_news_id]

    def article(self, news_id: int) -> Article:
        """The article with this VSB news id; KeyError if there is none."""
        return self._articles[news_id]

    @property
    def n_pages(self) -> int:
        return max(1, math.ceil(len(self._entries) / self.page_size))

    def page_path(self, number: int) -> str:
        """Root-relative path of listing page `number` (1 = newest); ValueError if out of range."""
        m = self.n_pages
        if not 1 <= number <= m:
            raise ValueError(f"page {number} out of 1..{m}")
        base = f"/{self.column_folder}{self.column_slug}"
        if number == 1:
            return f"{base}.htm"
        return f"{base}/{m - number + 1}.htm"

    @property
    def start_path(self) -> str:
        return self.page_path(1)

    def listing_pages(self) -> list[ListingPage]:
        """All listing pages, newest first, with the entries each one shows."""
        with self._lock:
            size = self.page_size
            return [
                ListingPage(k, self.page_path(k), tuple(self._entries[(k - 1) * size : k * size]))
                for k in range(1, self.n_pages + 1)
            ]

    def view_count(self, news_id: int) -> int:
        """The number dynclicks.jsp reports; stable so pages stay byte-identical."""
        return 150 + (news_id * 7919) % 2400

    def articles_matching(self, term: str) -> list[Article]:
        """Articles whose title or body text (captions included) contains `term`."""
        return [a for a in self.articles if term in a.title or term in a.body_text]

    def expected_record(self, article: Article | int, base_url: str) -> dict[str, Any]:
        """Ground truth for one article of any column, in the record schema's terms (v2).

        Covers schema_version, url, site, title, published_at, body_text,
        reviewers, credits, role_labels, images, attachments, body_pdf, column,
        column_id, news_id, prev_url and next_url: what a careful reader takes
        from the rendered page. What only a crawl knows (body_html,
        published_at_raw, view_count, listing, warnings, fetched_at, warc) is
        left out. `url` is the static form /info/T/N.htm even for an item the
        listing shows as content.jsp, and even when that static page does not
        exist yet: one article, one record. `base_url` is the scheme and host
        the site is served at, e.g. "http://127.0.0.1:8000". An int is a news
        id of the main column.
        """
        a = article if isinstance(article, Article) else self.article(article)
        base = base_url.rstrip("/")
        pub = a.published
        published_at = f"{pub:%Y-%m-%dT%H:%M}:00+08:00" if a.shows_time else f"{pub:%Y-%m-%d}"
        reviewers = {role: list(a.reviewers.get(role, ())) for role, _ in REVIEWER_ROLES}
        credits = {c.role: list(c.names) for c in a.credits}

        def sibling(news_id: int | None) -> str | None:
            return None if news_id is None else f"{base}/info/{a.column_id}/{news_id}.htm"

        return {
            "schema_version": RECORD_SCHEMA_VERSION,
            "url": base + a.path,
            "site": site_of(base),
            "title": " ".join(a.title.split()),
            "published_at": published_at,
            "body_text": a.body_text,
            "reviewers": reviewers,
            "credits": credits,
            "role_labels": self.role_labels(a),
            "images": [
                {"url": f.path if f.inline else base + f.path, "caption": f.caption}
                for f in a.figures
            ],
            "attachments": [
                {"url": base + self.attachment_path(att.file_id), "name": att.name}
                for att in a.attachments
            ],
            "body_pdf": base + a.pdf_path if a.pdf_path else None,
            "column": a.column_name,
            "column_id": a.column_id,
            "news_id": a.news_id,
            "prev_url": sibling(a.prev_id),
            "next_url": sibling(a.next_id),
        }

    @staticmethod
    def role_labels(article: Article) -> dict[str, str]:
        """The label the page prints for each role it names (一校, 初审, 文, 作者...)."""
        labels = {
            role: label
            for (role, _), label in zip(REVIEWER_ROLES, article.review_labels, strict=True)
            if article.reviewers.get(role)
        }
        header_role = HEADER_ROLES.get(article.template)
        for c in article.credits:
            if c.role == header_role:
                labels[c.role] = render.HEADER_LABELS[article.template]
            elif c.names:
                labels[c.role] = c.label
        return labels

    def expected_records(self, base_url: str) -> list[dict[str, Any]]:
        """`expected_record` of every article of every column, main column first."""
        return [self.expected_record(a, base_url) for c in self.columns for a in c.articles]

    @staticmethod
    def attachment_path(file_id: int) -> str:
        return (
            "/system/_content/download.jsp?urltype=news.DownloadAttachUrl"
            f"&owner={render.OWNER}&wbfileid={file_id}"
        )

    # --- mutations --------------------------------------------------------------------

    def publish(self, n: int = 1) -> list[Article]:
        """Add `n` new articles after the newest one; returns them newest first.

        Every listing item moves down by n places, as on the real CMS. Existing
        article pages are not re-rendered: their 上一条 links stay as they were
        when published, so their bytes (and ETags) do not change.
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        with self._lock:
            newest = self._entries[0]
            cur = max(newest.published, self._clock)
            next_id = max(e.news_id for e in self._entries)
            previous = self.articles[0] if self.articles else None
            new: list[Article] = []
            for _ in range(n):
                cur = self._after(cur)
                next_id += self._rng.randint(1, 18)
                main = self.theme.main
                template = self._rng.choices(main.templates, main.template_weights)[0]
                art = self._new_article(next_id, cur, template)
                if previous is not None:
                    art.next_id = previous.news_id
                    if new:
                        previous.prev_id = art.news_id  # a sibling of this batch, not yet served
                new.append(art)
                previous = art
            for art in new:
                self._register(art)
                self._article_cache.pop(art.news_id, None)
            self._entries[0:0] = new[::-1]
            self._clock = max(a.modified for a in new)
            self._listing_modified = self._clock
            self._listing_cache.clear()
            return new[::-1]

    def edit(
        self, news_id: int, *, title: str | None = None, whitespace_only: bool = False
    ) -> Article:
        """Revise an article: one sentence added to its last paragraph, or a new `title`.

        Its page gets a new ETag and a later Last-Modified; nothing else changes
        (listing summaries show the first paragraph, which stays; a new title
        shows on the listing too). With `whitespace_only` the last paragraph
        only gains spaces (inside and at its end): new bytes, the same text to
        a reader. KeyError if there is no such article.
        """
        with self._lock:
            article = self._articles[news_id]
            blocks = list(article.blocks)
            last = max(i for i, b in enumerate(blocks) if isinstance(b, Paragraph))
            old = blocks[last]
            assert isinstance(old, Paragraph)
            if whitespace_only:
                middle = len(old.text) // 2
                blocks[last] = Paragraph(old.text[:middle] + "  " + old.text[middle:] + "  ")
            elif title is None:
                blocks[last] = Paragraph(old.text + self._gen.edit_sentence())
            if title is not None:
                article.title = title
                self._listing_cache.clear()
            article.blocks = tuple(blocks)
            article.revision += 1
            self._clock += timedelta(minutes=37)
            article.modified = self._clock
            self._article_cache.pop(news_id, None)
            return article

    def take_down(self, news_id: int, status: int | str = 404) -> Article:
        """Take an article down, as an editor deleting it in the CMS.

        It leaves the listing (later items move up), and its page answers
        `status`: 404, 410, or "redirect" (a 302 to the column's first page).
        Its images and attachments stay. KeyError if there is no such article,
        ValueError for another status.
        """
        if status not in (404, 410, "redirect"):
            raise ValueError(f"status must be 404, 410 or 'redirect', not {status!r}")
        with self._lock:
            article = self._articles[news_id]
            self._gone[news_id] = status
            self._hide(article)
            return article

    def unlist(self, news_id: int) -> Article:
        """Take an article off the listing; its page is still served as before."""
        with self._lock:
            article = self._articles[news_id]
            self._gone.pop(news_id, None)
            self._hide(article)
            return article

    def restore(self, news_id: int) -> Article:
        """Undo `take_down` or `unlist`: the page answers again, back in its listing place."""
        with self._lock:
            article = self._articles[news_id]
            self._gone.pop(news_id, None)
            if article not in self._entries:
                at = next(
                    (i for i, e in enumerate(self._entries) if e.published < article.published),
                    len(self._entries),
                )
                self._entries.insert(at, article)
                self._listing_changed()
            return article

    def is_taken_down(self, news_id: int) -> bool:
        return news_id in self._gone

    def _hide(self, article: Article) -> None:
        if article in self._entries:
            self._entries.remove(article)
            self._listing_changed()

    def _listing_changed(self) -> None:
        self._listing_cache.clear()
        self._clock += timedelta(minutes=11)
        self._listing_modified = self._clock

    def move_column(self, path: str, *, redirect: bool = False) -> None:
        """Serve the column's listing at `path` (e.g. `/xwzx/ggyw.htm`) from now on.

        As after a redesign: the old listing pages answer 404, or with
        `redirect` a 301 to the new page 1; the home page and the navigation
        link the new place. Article pages keep their URLs and their bytes.
        ValueError for a path that is not `/[folder/...]slug.htm`.
        """
        folder, slug = _split_column_path(path, self.theme)
        with self._lock:
            self._moved.append((self.start_path, redirect))
            self.column_folder, self.column_slug = folder, slug
            self._listing_cache.clear()

    @property
    def sibling_articles(self) -> list[Article]:
        """Articles of the other columns (通知公告, 媒体国关...): never part of the main one."""
        return [a for column in self._columns for a in column.articles]

    @property
    def columns(self) -> list[ColumnInfo]:
        """Every column of the site, the main one first: name, id, pages and articles.

        The main column's `articles` are its static articles (`articles`); its
        `content.jsp` link items are not public and not articles.
        """
        with self._lock:
            main = ColumnInfo(
                name=self.theme.main.name,
                column_id=self.column_id,
                start_path=self.start_path,
                page_paths=tuple(p.path for p in self.listing_pages()),
                count_up=False,
                layout=self.listing_layout,
                articles=tuple(self.articles),
            )
            return [main, *(c.info() for c in self._columns)]

    @property
    def start_paths(self) -> list[str]:
        """Page 1 of every column's listing, the main column first."""
        return [c.start_path for c in self.columns]

    def find_article(self, column_id: int, news_id: int) -> Article:
        """The article /info/{column_id}/{news_id}.htm is (or will be), in any column."""
        with self._lock:
            if column_id == self.column_id and news_id in self._articles:
                return self._articles[news_id]
            return self._other_articles[column_id, news_id][1]

    # --- HTTP -------------------------------------------------------------------------

    def respond(
        self, method: str, path_and_query: str, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Answer one request as the VSB site would; never raises for bad input.

        Returns `(status, headers, body)`. GET and HEAD are served (HEAD with an
        empty body); other methods get 405. Pages carry Last-Modified and ETag and
        conditional requests get 304.
        """
        request = Request(
            method.upper(),
            path_and_query,
            {k.lower(): v for k, v in (headers or {}).items()},
        )
        with self._lock:
            early = self.faults.before(request)
            if early is not None:
                return early
            response = self._route(request)
            return self.faults.after(request, response)

    def route(self, request: Request) -> Response:
        """The faithful answer to `request`, bypassing the fault mode (for fault plans)."""
        with self._lock:
            return self._route(request)

    def _route(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return self._finish(
                request, 405, "text/plain", b"Method Not Allowed\n", extra={"Allow": "GET, HEAD"}
            )
        split = urlsplit(request.target)
        path = unquote(split.path)
        query = parse_qs(split.query)
        slug = self.column_slug
        ref = self.column_folder + slug
        if path in ("/", "/index.htm"):
            return self._page(
                request, self._home(), self._listing_modified, "text/html;charset=UTF-8"
            )
        if path == f"/{ref}.htm":
            return self._listing(request, 1)
        if moved := self._moved_answer(request, path):
            return moved
        if other := self._other_column(request, path):
            return other
        if m := re.fullmatch(rf"/{re.escape(ref)}/([1-9][0-9]*)\.htm", path):
            n = int(m.group(1))
            if n < self.n_pages:
                return self._listing(request, self.n_pages - n + 1)
        elif m := re.fullmatch(r"/info/([0-9]+)/([0-9]+)\.htm", path):
            column, news_id = int(m.group(1)), int(m.group(2))
            if column == self.column_id and news_id in self._gone:
                return self._taken_down(request, self._gone[news_id])
            if column == self.column_id and news_id in self._articles:
                return self._article(request, self._articles[news_id])
            if (column, news_id) in self._other_articles:
                owner_column, article = self._other_articles[column, news_id]
                if article.has_static_page:  # else: not yet published statically
                    return self._sibling_article(request, owner_column, article)
        elif path == "/content.jsp":
            if dynamic := self._dynamic_page(request, query):
                return dynamic
        elif path in self._images:
            owner = self._articles[self._images[path]]
            return self._page(request, render.tiny_jpeg(path), owner.published, "image/jpeg")
        elif path in self._other_files:
            owner = self._other_files[path]
            if path == owner.pdf_path:
                body = render.pdf_document(owner.title, path)
                return self._page(request, body, owner.published, "application/pdf")
            return self._page(request, render.tiny_jpeg(path), owner.published, "image/jpeg")
        elif path == "/system/_content/download.jsp":
            return self._download(request, query)
        elif path == "/system/resource/code/news/click/dynclicks.jsp":
            return self._dynclicks(request, query)
        elif path == "/robots.txt":
            body = ROBOTS_TXT.format(slug=slug).encode("ascii")
            return self._page(request, body, STATIC_MODIFIED, "text/plain")
        elif path in render.STATIC_ASSETS:
            ctype, body = render.STATIC_ASSETS[path]
            return self._page(request, body, STATIC_MODIFIED, ctype)
        elif path == f"/{ref}.vsb.css":
            return self._page(request, render.LISTING_CSS, STATIC_MODIFIED, "text/css")
        # The main column's content.jsp link items land here too: not public.
        return self._finish(request, 404, "text/html;charset=UTF-8", render.render_404())

    def _listing(self, request: Request, number: int) -> Response:
        body = self._listing_cache.get(number)
        if body is None:
            page = self.listing_pages()[number - 1]
            body = render.render_listing(
                slug=self.column_slug,
                column_id=self.column_id,
                layout=self.listing_layout,
                page=number,
                n_pages=self.n_pages,
                total=len(self._entries),
                entries=page.entries,
                folder=self.column_folder,
                name=self.theme.main.name,
                theme=self.theme,
            )
            self._listing_cache[number] = body
        return self._page(request, body, self._listing_modified, "text/html")

    def _article(self, request: Request, article: Article, *, dynamic: bool = False) -> Response:
        body = None if dynamic else self._article_cache.get(article.news_id)
        if body is None:
            body = render.render_article(
                article,
                lambda i: self._articles[i].title,
                self._article_ref,
                name=self.theme.main.name,
                theme=self.theme,
                dynamic=dynamic,
            )
            if not dynamic:
                self._article_cache[article.news_id] = body
        return self._page(request, body, article.modified, "text/html")

    def _taken_down(self, request: Request, status: int | str) -> Response:
        if status == "redirect":
            return self._finish(request, 302, "text/html", b"", extra={"Location": self.start_path})
        return self._finish(request, int(status), "text/html;charset=UTF-8", render.render_404())

    def _dynamic_page(self, request: Request, query: dict[str, list[str]]) -> Response | None:
        """`content.jsp?urltype=news.NewsContentUrl&wbtreeid=T&wbnewsid=N`: any article, live."""
        tree, news = query.get("wbtreeid", [""])[0], query.get("wbnewsid", [""])[0]
        if query.get("urltype") != [DYNAMIC_URLTYPE] or not (tree.isdigit() and news.isdigit()):
            return None
        column_id, news_id = int(tree), int(news)
        if column_id == self.column_id and news_id in self._articles:
            return self._article(request, self._articles[news_id], dynamic=True)
        if (column_id, news_id) in self._other_articles:
            column, article = self._other_articles[column_id, news_id]
            return self._sibling_article(request, column, article, dynamic=True)
        return None

    def _home(self) -> bytes:
        ref = self.column_folder + self.column_slug
        blocks: list[tuple[str, str, Sequence[Entry]]] = [
            (self.theme.main.name, ref, self._entries[:8])
        ]
        for column in self._columns:
            blocks.append((column.spec.name, column.spec.ref, column.articles[:8]))
        return render.render_home(ref, blocks, self.theme)

    def _moved_answer(self, request: Request, path: str) -> Response | None:
        """404 (or a 301 to the new page 1) for listing pages where the column used to be."""
        for old, redirect in self._moved:
            old_ref = old.removesuffix(".htm")
            if path != old and not path.startswith(old_ref + "/"):
                continue
            if path == self.start_path or path.startswith(self.start_path.removesuffix(".htm")):
                return None  # moved back
            if redirect:
                return self._finish(
                    request, 301, "text/html", b"", extra={"Location": self.start_path}
                )
            return self._finish(request, 404, "text/html;charset=UTF-8", render.render_404())
        return None

    def _other_column(self, request: Request, path: str) -> Response | None:
        """A listing page of one of the other columns, or None."""
        for column in self._columns:
            number = column.page_number(path)
            if number is None or not column.articles:
                continue
            spec = column.spec
            page = column.listing_pages()[number - 1]
            body = render.render_listing(
                slug=spec.slug,
                column_id=spec.column_id,
                layout=spec.layout,
                page=number,
                n_pages=column.n_pages,
                total=len(column.articles),
                entries=page.entries,
                folder=spec.folder,
                name=spec.name,
                main_ref=self.column_folder + self.column_slug,
                theme=self.theme,
                count_up=spec.count_up,
            )
            modified = max(a.modified for a in column.articles)
            return self._page(request, body, modified, "text/html")
        return None

    def _sibling_article(
        self, request: Request, column: Column, article: Article, *, dynamic: bool = False
    ) -> Response:
        body = render.render_article(
            article,
            lambda i: column.by_id[i].title,
            column.spec.ref,
            name=column.spec.name,
            main_ref=self._article_ref,
            theme=self.theme,
            static_of=lambda i: column.by_id[i].has_static_page,
            dynamic=dynamic,
        )
        return self._page(request, body, article.modified, "text/html")

    def _download(self, request: Request, query: dict[str, list[str]]) -> Response:
        file_id = query.get("wbfileid", [""])[0]
        ok = (
            query.get("urltype") == ["news.DownloadAttachUrl"]
            and query.get("owner") == [str(render.OWNER)]
            and file_id.isdigit()
            and (int(file_id) in self._attachments or int(file_id) in self._other_attachments)
        )
        if not ok:
            return self._finish(request, 404, "text/html;charset=UTF-8", render.render_404())
        if int(file_id) in self._attachments:
            news_id, name = self._attachments[int(file_id)]
            published = self._articles[news_id].published
        else:
            owner, name = self._other_attachments[int(file_id)]
            published = owner.published
        ext = name.rsplit(".", 1)[-1].lower()
        disposition = f"attachment; filename*=UTF-8''{quote(name)}"
        return self._page(
            request,
            render.attachment_bytes(name),
            published,
            ATTACHMENT_TYPES.get(ext, "application/octet-stream"),
            extra={"Content-Disposition": disposition},
        )

    def _dynclicks(self, request: Request, query: dict[str, list[str]]) -> Response:
        click_id = query.get("clickid", [""])[0]
        known = click_id.isdigit() and (
            int(click_id) in self._articles
            or any(int(click_id) == news_id for _, news_id in self._other_articles)
        )
        if query.get("clicktype") != ["wbnews"] or not known:
            return self._finish(request, 404, "text/html;charset=UTF-8", render.render_404())
        body = str(self.view_count(int(click_id))).encode("ascii")
        # Counts are dynamic on the real site: no validators.
        return self._finish(request, 200, "text/plain;charset=UTF-8", body)

    def _page(
        self,
        request: Request,
        body: bytes,
        modified: datetime,
        content_type: str,
        extra: dict[str, str] | None = None,
    ) -> Response:
        etag = etag_for(body)
        validators = {"Last-Modified": _http_date(modified), "ETag": etag}
        if _not_modified(request.headers, etag, modified):
            return Response(304, validators, b"")
        return self._finish(request, 200, content_type, body, extra={**validators, **(extra or {})})

    @staticmethod
    def _finish(
        request: Request,
        status: int,
        content_type: str,
        body: bytes,
        extra: dict[str, str] | None = None,
    ) -> Response:
        headers = {"Content-Type": content_type, "Content-Length": str(len(body)), **(extra or {})}
        return Response(status, headers, b"" if request.method == "HEAD" else body)
