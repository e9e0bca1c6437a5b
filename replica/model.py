"""Plain data of the replica: articles, listing entries and how each is presented.

Everything here is immutable except `Article`, whose body and revision change
through `ReplicaSite.edit`. Rendering (`replica.render`) and ground truth
(`ReplicaSite.expected_record`) both read these objects and nothing else, which
is what keeps the page and its expected record in step.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

# Reviewer roles in the record schema's terms, in the order pages print them.
REVIEWER_ROLES: tuple[tuple[str, str], ...] = (
    ("first_proofreader", "一校"),
    ("second_proofreader", "二校"),
    ("final_reviewer", "终审"),
)

# Other credit roles (record schema key) and the labels a page may print for them.
CREDIT_LABELS: dict[str, tuple[str, ...]] = {
    "author": ("文", "作者"),
    "writer": ("撰稿",),
    "photographer": ("图", "摄影"),
    "editor": ("编辑",),
    "responsible_editor": ("责任编辑",),
    "auditor": ("审核",),
    "source": ("来源", "稿件来源"),
    "contributing_unit": ("供稿单位",),
}

#: Labels of the three reviews, in REVIEWER_ROLES order: the 国关要闻 form first,
#: then the 三审三校 variants other VSB sites print.
REVIEW_LABELS: tuple[str, str, str] = ("一校", "二校", "终审")
REVIEW_LABEL_VARIANTS: tuple[tuple[str, str, str], ...] = (
    REVIEW_LABELS,
    ("初审", "复审", "终审"),
    ("一审", "二审", "三审"),
)

TemplateName = Literal[
    "arc", "intro", "contit", "titlestyle", "cndate", "bracket", "oldtable", "oldcell"
]
#: The templates of the 国关要闻 site.
TEMPLATES: tuple[TemplateName, ...] = ("arc", "intro", "contit", "titlestyle", "cndate", "bracket")
#: Older table-based templates (no `_newscontent_fromname` form) of the second site.
OLD_TEMPLATES: tuple[TemplateName, ...] = ("oldtable", "oldcell")

# Templates whose visible date line carries hh:mm; the others print a date only.
TEMPLATES_WITH_TIME: frozenset[str] = frozenset({"contit", "oldcell"})

ListingLayout = Literal["modern", "classic", "summary", "table", "rows", "newsdata", "idate"]
#: Listing layouts of the 国关要闻 site.
LISTING_LAYOUTS: tuple[ListingLayout, ...] = ("modern", "classic", "summary", "table")
#: Layouts of other VSB sites: `tr` rows in a table, `li` with the date in
#: `span.news-data` or in `i`; all print dates as 2023年10月16日.
OTHER_LISTING_LAYOUTS: tuple[ListingLayout, ...] = ("rows", "newsdata", "idate")
ALL_LISTING_LAYOUTS: tuple[ListingLayout, ...] = LISTING_LAYOUTS + OTHER_LISTING_LAYOUTS

#: How a listing page is reached: the static page only (""), a `content.jsp`
#: item whose static page also exists ("both"), or one not yet published
#: statically ("only": /info/T/N.htm answers 404).
Dynamic = Literal["", "both", "only"]

CreditLayout = Literal["lines", "one_line", "outside"]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of running text (no leading indentation, no markup)."""

    text: str


@dataclass(frozen=True)
class Figure:
    """An image in the body; `caption`, when set, is the next paragraph on the page."""

    path: str  # root-relative, or a data: URI for an image pasted into the page
    caption: str | None

    @property
    def inline(self) -> bool:
        """An image embedded in the page as a data: URI (nothing to fetch)."""
        return self.path.startswith("data:")


Block = Paragraph | Figure


@dataclass(frozen=True)
class Attachment:
    """A file offered under the body through VSB's download.jsp."""

    file_id: int
    name: str


@dataclass(frozen=True)
class Credit:
    """One credited role: the label printed (`文`, `稿件来源`, ...) and the names."""

    role: str
    label: str
    names: tuple[str, ...]
    joiner: str = "、"


@dataclass(frozen=True)
class Presentation:
    """Cosmetic choices for one article page that a faithful page must show.

    These vary the markup only; none of them changes the ground truth.
    """

    colon: str  # "：" or ":" after credit labels
    credit_layout: CreditLayout
    separator: str  # between credits printed on one line (raw HTML)
    indent: str  # raw HTML put before each paragraph's text
    word_pasted: bool  # MsoNormal paragraphs with <o:p> and nested spans
    right_aligned_credits: bool
    credits_first: bool  # a "文/… 图/…" line at the top of the body instead of the end
    spacer_before_credits: bool
    bracket_editor: bool  # editor printed as （编辑：付晓歌）
    subtitle: str  # only the "intro" template prints it (h3.subtitle)
    keywords: tuple[str, ...]


@dataclass
class Article:
    """One news item of the column, with its static page under /info/{column_id}/{news_id}.htm.

    `published` is naive Beijing time. `prev_id`/`next_id` (上一条 = newer,
    下一条 = older) are fixed when the page is generated, as VSB does for static
    pages, so publishing later articles never rewrites an old page.
    """

    column_id: int
    news_id: int
    title: str
    published: datetime
    blocks: tuple[Block, ...]
    reviewers: dict[str, tuple[str, ...]]
    reviewer_joiners: dict[str, str]
    credits: tuple[Credit, ...]
    attachments: tuple[Attachment, ...]
    template: TemplateName
    presentation: Presentation
    modified: datetime
    revision: int = 0
    prev_id: int | None = None
    next_id: int | None = None
    is_seed: bool = False
    column_name: str = "国关要闻"
    review_labels: tuple[str, str, str] = REVIEW_LABELS
    dynamic: Dynamic = ""
    #: Root-relative path of the PDF shown as the whole body (showVsbpdfIframe), if any.
    pdf_path: str | None = None

    @property
    def path(self) -> str:
        """Root-relative URL path of the article page."""
        return f"/info/{self.column_id}/{self.news_id}.htm"

    @property
    def dynamic_href(self) -> str:
        """The VSB dynamic form of the page, relative to the site root's folder."""
        return (
            "content.jsp?urltype=news.NewsContentUrl"
            f"&wbtreeid={self.column_id}&wbnewsid={self.news_id}"
        )

    @property
    def has_static_page(self) -> bool:
        """Whether /info/{column_id}/{news_id}.htm answers (not for dynamic-only items)."""
        return self.dynamic != "only"

    @property
    def shows_time(self) -> bool:
        """Whether the page prints hh:mm with the date."""
        return self.template in TEMPLATES_WITH_TIME

    @property
    def paragraphs(self) -> list[str]:
        """Text paragraphs only (no captions)."""
        return [b.text for b in self.blocks if isinstance(b, Paragraph)]

    @property
    def body_text(self) -> str:
        """What a reader reads as the body: paragraphs and captions, one per line."""
        lines: list[str] = []
        for b in self.blocks:
            if isinstance(b, Paragraph):
                lines.append(b.text)
            elif b.caption is not None:
                lines.append(b.caption)
        return "\n".join(lines)

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]

    def credit(self, role: str) -> Credit | None:
        for c in self.credits:
            if c.role == role:
                return c
        return None


@dataclass(frozen=True)
class LinkItem:
    """A listing entry that is not a static article of the column.

    `href` is either absolute and off-site (a WeChat article) or the VSB dynamic
    form `content.jsp?urltype=news.NewsContentUrl&wbtreeid=…&wbnewsid=…`, which
    listing pages print relative to the site root's folder like article links.
    """

    news_id: int
    title: str
    published: datetime
    href: str

    @property
    def is_offsite(self) -> bool:
        return self.href.startswith(("http://", "https://"))


Entry = Article | LinkItem


@dataclass(frozen=True)
class ListingPage:
    """One page of the column listing: `number` is the visible page number (1 = newest)."""

    number: int
    path: str
    entries: tuple[Entry, ...]


def etag_for(body: bytes) -> str:
    """The replica's ETag of a body: its length and a short SHA-1 (one scheme everywhere)."""
    return f'"{len(body):x}-{hashlib.sha1(body).hexdigest()[:13]}"'
