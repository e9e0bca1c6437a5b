"""The replica's sites: which columns each one has and how it draws them.

A `Theme` is one VSB site: its name, its page furniture (header, footer, home
and listing skeletons under `replica/templates/`) and its columns. The main
column is the one `ReplicaSite`'s column API (`articles`, `publish`, `edit`,
`page_path`...) is about; the others are built by `replica.columns.Column`.

- `uir` (the default): 国际关系学院 with 国关要闻 at `/ggyw.htm`, a paged
  通知公告, a small 媒体国关 and 学术动态 in the folder `/xwzx/`.
- `campus`: 云麓大学 (fictional), an older VSB theme: 学校要闻 in `/xwzx/`
  with `tr` rows and a pager without links, 通知公告 numbered up, 学术动态 in
  `/xwzx/` again; table-based article pages without the article form; dates
  as 2023年10月16日; review credits 初审/复审/终审 and 一审/二审/三审.
"""

from __future__ import annotations

from dataclasses import dataclass

from replica.model import (
    OLD_TEMPLATES,
    REVIEW_LABEL_VARIANTS,
    TEMPLATES,
    ListingLayout,
    TemplateName,
)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a site: where it lives, how it is listed, what its pages look like.

    `folder` is "" at the root or e.g. "xwzx/"; page k ≥ 2 of the listing is
    `{folder}{slug}/{M-k+1}.htm` (numbered down, the usual VSB way) or, with
    `count_up`, `{folder}{slug}/{k}.htm`. `label_sets` are the review labels an
    article may print (一校/二校/终审...), drawn with `label_weights`.
    `specials` puts dynamic (content.jsp) items, a PDF-bodied article and an
    image embedded as a data: URI among the column's articles.
    """

    slug: str
    folder: str
    column_id: int
    name: str
    layout: ListingLayout
    templates: tuple[TemplateName, ...]
    template_weights: tuple[int, ...]
    label_sets: tuple[tuple[str, str, str], ...]
    label_weights: tuple[int, ...]
    n_articles: int
    page_size: int
    count_up: bool = False
    specials: bool = False
    #: Its size is ReplicaSite's `n_other_articles` instead of `n_articles`.
    sized_by_site: bool = False

    @property
    def ref(self) -> str:
        """Path of page 1 from the site root, without `.htm` (`xwzx/xsdt`)."""
        return self.folder + self.slug

    @property
    def start_path(self) -> str:
        return f"/{self.ref}.htm"


@dataclass(frozen=True)
class Theme:
    """One VSB site. `main` gives the main column's name, template mix and labels;
    its place, id, size and layout come from `ReplicaSite`'s arguments."""

    name: str
    site_name: str
    main: ColumnSpec
    others: tuple[ColumnSpec, ...]
    #: Suffix of template files for the page furniture: `_header{suffix}.html`...
    files: str
    #: The first news id of the other columns' newest articles (ids go down from there).
    other_ids_from: int


_UIR_LABELS = (REVIEW_LABEL_VARIANTS[0],)
_CAMPUS_LABELS = (REVIEW_LABEL_VARIANTS[1], REVIEW_LABEL_VARIANTS[2])

UIR = Theme(
    name="uir",
    site_name="国际关系学院",
    main=ColumnSpec(
        "ggyw",
        "",
        1031,
        "国关要闻",
        "modern",
        TEMPLATES,
        (4, 3, 2, 1, 2, 1),
        _UIR_LABELS,
        (1,),
        230,
        15,
    ),
    others=(
        ColumnSpec(
            "tzgg",
            "",
            1032,
            "通知公告",
            "classic",
            ("arc", "intro", "titlestyle"),
            (3, 2, 1),
            _UIR_LABELS,
            (1,),
            40,
            15,
            specials=True,
        ),
        ColumnSpec(
            "mtgg",
            "",
            1033,
            "媒体国关",
            "modern",
            ("arc",),
            (1,),
            _UIR_LABELS,
            (1,),
            3,
            15,
            sized_by_site=True,
        ),
        ColumnSpec(
            "xsdt",
            "xwzx/",
            1034,
            "学术动态",
            "summary",
            ("contit", "cndate", "arc"),
            (1, 1, 1),
            _UIR_LABELS,
            (1,),
            22,
            10,
        ),
    ),
    files="",
    other_ids_from=4000,
)

CAMPUS = Theme(
    name="campus",
    site_name="云麓大学",
    main=ColumnSpec(
        "xxyw", "xwzx/", 1102, "学校要闻", "rows", OLD_TEMPLATES, (3, 2),
        _CAMPUS_LABELS, (4, 1), 230, 15,
    ),
    others=(
        ColumnSpec(
            "tzgg", "", 1103, "通知公告", "newsdata", ("oldtable",), (1,),
            (REVIEW_LABEL_VARIANTS[2],), (1,), 36, 12, count_up=True, specials=True,
        ),
        ColumnSpec(
            "xsdt", "xwzx/", 1104, "学术动态", "idate", OLD_TEMPLATES, (1, 2),
            _CAMPUS_LABELS, (1, 1), 25, 10,
        ),
    ),
    files="_campus",
    other_ids_from=8800,
)  # fmt: skip

THEMES: dict[str, Theme] = {t.name: t for t in (UIR, CAMPUS)}


def theme_named(name: str) -> Theme:
    """The theme called `name`; ValueError naming the choices otherwise."""
    try:
        return THEMES[name]
    except KeyError:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, not {name!r}") from None
