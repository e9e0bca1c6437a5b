"""The columns of a replica site beside its main one (通知公告, 学术动态...).

A `Column` generates its articles from its own `random.Random`, so adding or
resizing one never changes another column's pages. It knows its listing pages
(numbered down or up, at the root or in a folder) and the special items VSB
columns carry: `content.jsp` items (some also published statically, some
not), a PDF-bodied article and an image pasted into a page as a data: URI.
"""

from __future__ import annotations

import base64
import math
import random
import re
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from replica import render
from replica.content import ContentGenerator
from replica.model import (
    Article,
    Block,
    Credit,
    Figure,
    ListingPage,
    Paragraph,
)
from replica.themes import ColumnSpec

#: A tiny PNG pasted into a page as a data: URI (as editors do with screenshots).
INLINE_IMAGE = "data:image/png;base64," + base64.b64encode(render.tiny_png()).decode("ascii")
INLINE_CAPTION = "活动现场（截图）"


@dataclass(frozen=True)
class ColumnInfo:
    """What a crawler of one column should find: read-only, newest first.

    `articles` holds every article the listing reaches, dynamic ones too
    (their canonical URL is still /info/{column_id}/{news_id}.htm).
    """

    name: str
    column_id: int
    start_path: str
    page_paths: tuple[str, ...]
    count_up: bool
    layout: str
    articles: tuple[Article, ...]

    @property
    def n_pages(self) -> int:
        return len(self.page_paths)


def page_path(ref: str, number: int, n_pages: int, *, count_up: bool = False) -> str:
    """Root-relative path of listing page `number` (1 = newest) of a column at `/{ref}.htm`."""
    if not 1 <= number <= n_pages:
        raise ValueError(f"page {number} out of 1..{n_pages}")
    if number == 1:
        return f"/{ref}.htm"
    return f"/{ref}/{number if count_up else n_pages - number + 1}.htm"


def page_number(ref: str, path: str, n_pages: int, *, count_up: bool = False) -> int | None:
    """The listing page number served at `path`, or None if none is."""
    if path == f"/{ref}.htm":
        return 1
    m = re.fullmatch(rf"/{re.escape(ref)}/([1-9][0-9]*)\.htm", path)
    if m is None:
        return None
    n = int(m.group(1))
    number = n if count_up else n_pages - n + 1
    return number if 2 <= number <= n_pages else None


class Column:
    """One non-main column: its articles (newest first) and listing pages."""

    def __init__(
        self,
        spec: ColumnSpec,
        rng: random.Random,
        *,
        newest: datetime,
        first_id: int,
        first_file_id: int,
        n_articles: int | None = None,
    ) -> None:
        self.spec = spec
        self._rng = rng
        self._gen = ContentGenerator(rng)
        self._next_file_id = first_file_id
        n = spec.n_articles if n_articles is None else n_articles
        self.articles: list[Article] = []
        when, news_id = newest, first_id
        for _ in range(n):
            self.articles.append(self._new_article(news_id, when))
            news_id -= rng.randint(1, 9)
            day = when.date() - timedelta(days=rng.randint(1, 6))
            when = datetime.combine(day, time(rng.randint(8, 20), rng.randint(0, 59)))
        if spec.specials and n >= 8:
            self._add_specials()
        for newer, older in zip(self.articles, self.articles[1:], strict=False):
            newer.next_id, older.prev_id = older.news_id, newer.news_id
        self.by_id = {a.news_id: a for a in self.articles}

    # --- generation ---------------------------------------------------------------------

    def _new_article(self, news_id: int, when: datetime) -> Article:
        rng, spec = self._rng, self.spec
        template = rng.choices(spec.templates, spec.template_weights)[0]
        labels = rng.choices(spec.label_sets, spec.label_weights)[0]
        article, self._next_file_id = self._gen.article(
            news_id=news_id,
            when=when,
            template=template,
            column_id=spec.column_id,
            column_name=spec.name,
            review_labels=labels,
            file_id=self._next_file_id,
            header_unit=lambda: "党委宣传部",
        )
        return article

    def _add_specials(self) -> None:
        """Dynamic items (two of each kind), a PDF body, a data: image, 审核/责任编辑 only."""
        arts = self.articles
        arts[1].dynamic = "only"  # newest items are the ones not yet published statically
        arts[3].dynamic = "both"
        arts[5].dynamic = "both"
        arts[-2].dynamic = "only"
        pdf = arts[2]
        pdf.blocks = ()
        pdf.attachments = ()
        pdf.pdf_path = f"/__local/9/6B/2E/{pdf.news_id:05d}A3F0C1D2E4B5_{pdf.column_id:08X}.pdf"
        pdf.presentation = replace(pdf.presentation, credit_layout="outside")
        pdf.title = pdf.title.removesuffix("。") + "（全文见PDF）"
        inline = arts[4]
        blocks: list[Block] = list(inline.blocks)
        first_text = next(i for i, b in enumerate(blocks) if isinstance(b, Paragraph))
        blocks.insert(first_text + 1, Figure(INLINE_IMAGE, INLINE_CAPTION))
        inline.blocks = tuple(blocks)
        inline.presentation = replace(inline.presentation, word_pasted=False)
        staff = arts[6]
        staff.reviewers, staff.reviewer_joiners = {}, {}
        kept = tuple(c for c in staff.credits if c.role not in ("responsible_editor", "auditor"))
        staff.credits = (
            *kept,
            Credit("responsible_editor", "责任编辑", ("王璐",)),
            Credit("auditor", "审核", ("陈斌",)),
        )

    # --- pages --------------------------------------------------------------------------

    @property
    def n_pages(self) -> int:
        return max(1, math.ceil(len(self.articles) / self.spec.page_size))

    def page_path(self, number: int) -> str:
        return page_path(self.spec.ref, number, self.n_pages, count_up=self.spec.count_up)

    def page_number(self, path: str) -> int | None:
        return page_number(self.spec.ref, path, self.n_pages, count_up=self.spec.count_up)

    def listing_pages(self) -> list[ListingPage]:
        size = self.spec.page_size
        return [
            ListingPage(k, self.page_path(k), tuple(self.articles[(k - 1) * size : k * size]))
            for k in range(1, self.n_pages + 1)
        ]

    def info(self) -> ColumnInfo:
        return ColumnInfo(
            name=self.spec.name,
            column_id=self.spec.column_id,
            start_path=self.page_path(1),
            page_paths=tuple(self.page_path(k) for k in range(1, self.n_pages + 1)),
            count_up=self.spec.count_up,
            layout=self.spec.layout,
            articles=tuple(self.articles),
        )
