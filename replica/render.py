"""HTML of the replica's pages, in the 博达 VSB template family of docs/vsb-templates.md.

Pure functions of the model objects: the same article renders to the same
bytes every time. Page skeletons live in `replica/templates/*.html`
(`string.Template`, `${name}` placeholders); the parts that vary per article
(body paragraphs, credit lines, prev/next links, pagination) are built here.
"""

from __future__ import annotations

import html
import re
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from string import Template

from replica.content import HEADER_ROLES
from replica.model import (
    REVIEWER_ROLES,
    Article,
    Credit,
    Entry,
    Figure,
    LinkItem,
    ListingLayout,
    Paragraph,
)
from replica.themes import UIR, Theme

OWNER = 1712346109  # the VSB site owner id printed in counters and download links
COLUMN_NAME = "国关要闻"
#: Sibling columns (slug, column id, name) of the 国关要闻 site (replica.themes.UIR has more).
OTHER_COLUMNS: tuple[tuple[str, int, str], ...] = tuple(
    (c.ref, c.column_id, c.name) for c in UIR.others
)

# Body container id per template (docs/vsb-templates.md lists these forms).
CONTENT_IDS: dict[str, str] = {
    "arc": "vsb_content",
    "intro": "vsb_content_2",
    "contit": "vsb_content_4",
    "titlestyle": "vsb_content_501_u51",
    "cndate": "vsb_content_2",
    "bracket": "vsb_content_6_u61",
    "oldtable": "vsb_content_100_u41",
}
PAGE_TITLES: dict[str, str] = {
    "arc": "{t}-国际关系学院",
    "intro": "{t}-国际关系学院",
    "contit": "{t}-国关要闻-国际关系学院",
    "titlestyle": "{t}",
    "cndate": "{t}-国际关系学院",
    "bracket": "国关要闻-{t}",
    "oldtable": "{t}-{site}",
    "oldcell": "{column}-{t}",
}
# Roles some templates print in the header line instead of in the body, and their label there.
HEADER_LABELS: dict[str, str] = {"titlestyle": "作者", "cndate": "来源"}
#: The per-column class suffix of the old table templates (titlestyle112633...).
OLD_STYLE_IDS: dict[str, int] = {"oldtable": 112633, "oldcell": 1104}


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def attr(text: str) -> str:
    return html.escape(text, quote=True)


@cache
def _template(name: str) -> Template:
    text = files("replica").joinpath("templates").joinpath(name).read_text(encoding="utf-8")
    return Template(text)


def _fill(name: str, **values: object) -> str:
    return _template(name).substitute({k: str(v) for k, v in values.items()})


def header(root: str, slug: str, theme: Theme = UIR) -> str:
    if theme is UIR:
        return _fill("_header.html", root=root, slug=slug)
    nav = "".join(
        f'<td class="nav"><a href="{root}{c.ref}.htm">{esc(c.name)}</a></td>'
        for c in (theme.main, *theme.others)
    )
    return _fill(f"_header{theme.files}.html", root=root, nav=nav, site_name=theme.site_name)


def footer(theme: Theme = UIR) -> str:
    return _fill(f"_footer{theme.files}.html")


# --- article body -------------------------------------------------------------------------


@dataclass(frozen=True)
class _P:
    """One <p> of the body before it is serialized in a template's style."""

    inner: str  # HTML
    kind: str  # text | img | caption | credit | spacer
    align: str | None = None


_LATIN_RUN = re.compile(r"([A-Za-z0-9.+%\-]+)")
_WORD_SPAN = 'style="font-size:16.0pt;line-height:150%;font-family:仿宋_GB2312"'
_WORD_LATIN = "style=\"font-size:16.0pt;line-height:150%;font-family:'Times New Roman'\""


def _word_runs(text: str) -> str:
    """Text as Word pastes it: Latin/digit runs in their own lang=EN-US spans, all nested."""
    parts = []
    for piece in _LATIN_RUN.split(text):
        if not piece:
            continue
        if _LATIN_RUN.fullmatch(piece):
            parts.append(f'<span lang="EN-US" {_WORD_LATIN}>{esc(piece)}</span>')
        else:
            parts.append(f"<span {_WORD_SPAN}>{esc(piece)}</span>")
    return '<span style="mso-spacerun:yes">' + "".join(parts) + "</span>"


def credit_text(article: Article, c: Credit) -> str:
    """The printed form of one credit (plain text)."""
    names = c.joiner.join(c.names)
    if c.label in ("文", "图"):
        return f"{c.label}/{names}"
    if (
        c.role == "editor"
        and article.presentation.bracket_editor
        and article.template
        in (
            "titlestyle",
            "cndate",
            "bracket",
            "contit",
        )
    ):
        return f"（编辑：{names}）"
    return f"{c.label}{article.presentation.colon}{names}"


def _credit_lines(article: Article) -> tuple[list[str], list[str]]:
    """(lines at the top of the body, lines at the end) as HTML, header roles excluded."""
    pres = article.presentation
    skip = HEADER_ROLES.get(article.template)
    credits = [c for c in article.credits if c.role != skip]
    slash = [c for c in credits if c.label in ("文", "图")]
    others = [c for c in credits if c.label not in ("文", "图")]
    top: list[str] = []
    bottom: list[str] = []
    if slash:
        line = "　".join(esc(credit_text(article, c)) for c in slash)
        (top if pres.credits_first else bottom).append(line)
    bottom.extend(esc(credit_text(article, c)) for c in others)
    reviewer_bits = [
        f"{label}{pres.colon}{esc(article.reviewer_joiners.get(role, '、').join(names))}"
        for (role, _), label in zip(REVIEWER_ROLES, article.review_labels, strict=True)
        if (names := article.reviewers.get(role))
    ]
    if pres.credit_layout == "one_line" and reviewer_bits:
        bottom.append(pres.separator.join(reviewer_bits))
    else:
        bottom.extend(reviewer_bits)
    return top, bottom


def original_path(path: str) -> str | None:
    """The full-size upload behind a body image, for about a quarter of them; else None.

    VSB shows a resized copy and names the original in ``orisrc``; most pages
    of the column name the shown file itself.
    """
    if path.startswith("data:"):
        return None
    stem = path.rsplit("/", 1)[1]
    return path.removesuffix(".jpg") + "_o.jpg" if stem[:1] in "0123" else None


def _image_html(fig: Figure) -> str:
    if fig.inline:
        # Pasted from a clipboard: no VSB attributes, the picture is in the page itself.
        return f'<img src="{fig.path}" width="200" height="120" style="border:0" />'
    stem = fig.path.rsplit("/", 1)[1].removesuffix(".jpg")
    vurl = "/_vsl/" + stem.replace("_", "/")
    orisrc = original_path(fig.path) or fig.path
    return (
        f'<img width="600" src="{attr(fig.path)}" vwidth="600" vheight="400" '
        f'vurl="{vurl}" vsbhref="vurl" orisrc="{attr(orisrc)}" class="img_vsb_content" />'
    )


def _body_ps(article: Article) -> tuple[list[_P], list[_P]]:
    """(paragraphs inside v_news_content, credit paragraphs placed after div#div_vote_id)."""
    pres = article.presentation
    top, bottom = _credit_lines(article)
    credit_align = "right" if pres.right_aligned_credits else None
    inside: list[_P] = [_P(line, "credit") for line in top]
    for block in article.blocks:
        if isinstance(block, Paragraph):
            inside.append(_P(block.text, "text"))
        else:
            inside.append(_P(_image_html(block), "img", "center"))
            if block.caption is not None:
                inside.append(_P(esc(block.caption), "caption", "center"))
    outside: list[_P] = []
    target = outside if pres.credit_layout == "outside" else inside
    if bottom and pres.spacer_before_credits and target is inside:
        inside.append(_P("", "spacer"))
    target.extend(_P(line, "credit", credit_align) for line in bottom)
    return inside, outside


def _serialize(article: Article, ps: Sequence[_P], *, vsb_classes: bool) -> str:
    pres = article.presentation
    out: list[str] = []
    last = len(ps) - 1
    for i, p in enumerate(ps):
        if pres.word_pasted:
            if p.kind == "text":
                out.append(
                    '<p class="MsoNormal" style="text-indent:32.0pt;mso-char-indent-count:2.0;'
                    f'line-height:150%">{_word_runs(p.inner)}<o:p></o:p></p>'
                )
            elif p.kind == "spacer":
                out.append('<p class="MsoNormal"><span lang="EN-US"><o:p>&nbsp;</o:p></span></p>')
            else:
                align = f' align="{p.align}" style="text-align:{p.align}"' if p.align else ""
                out.append(
                    f'<p class="MsoNormal"{align}><span style="font-family:楷体_GB2312;'
                    f'font-size:14.0pt">{p.inner}</span><o:p></o:p></p>'
                )
            continue
        classes = []
        if vsb_classes and i == 0:
            classes.append("vsbcontent_start")
        if vsb_classes and i == last and i != 0:
            classes.append("vsbcontent_end")
        if p.kind == "img":
            classes.append("vsbcontent_img")
        cls = f' class="{" ".join(classes)}"' if classes else ""
        if p.kind == "text":
            if vsb_classes:
                out.append(f'<p{cls} style="text-indent:2em;">{esc(p.inner)}</p>')
            else:
                out.append(f"<p{cls}>{pres.indent}{esc(p.inner)}</p>")
        elif p.kind == "spacer":
            out.append(f"<p{cls}><br /></p>")
        else:
            style = f' style="text-align: {p.align};"' if p.align else ""
            out.append(f"<p{cls}{style}>{p.inner}</p>")
    return "\n".join(out)


def _attachments_html(article: Article) -> str:
    if not article.attachments:
        return ""
    lis = "".join(
        f'<li>附件【<a href="/system/_content/download.jsp?urltype=news.DownloadAttachUrl'
        f'&amp;owner={OWNER}&amp;wbfileid={a.file_id}" target="_blank">{esc(a.name)}</a>】'
        f'已下载<span id="nattach{a.file_id}"><script language="javascript">'
        f'getClickTimes({a.file_id},{article.news_id},"wbnewsfile","attach")</script></span>次</li>'
        for a in article.attachments
    )
    return f'<ul style="list-style-type:none;">{lis}</ul>'


def pdf_script(path: str) -> str:
    """VSB's PDF viewer call for a body that is a PDF file."""
    return f'<script>showVsbpdfIframe("{path}","100%","800","0","");</script>'


def body_block(article: Article) -> str:
    """The body container, div#div_vote_id, credits placed outside it, attachments.

    A PDF-bodied article shows the viewer script and an empty v_news_content;
    the `oldcell` template puts its paragraphs straight into the table cell.
    """
    inside, outside = _body_ps(article)
    vsb_classes = article.template in ("intro", "cndate", "arc") and not (
        article.presentation.word_pasted
    )
    if article.template == "oldcell" and article.pdf_path is None:
        parts = [_serialize(article, inside, vsb_classes=False), '<div id="div_vote_id"></div>']
    else:
        content_id = CONTENT_IDS.get(article.template, "vsb_content")
        parts = [
            pdf_script(article.pdf_path) if article.pdf_path else "",
            f'<div id="{content_id}"><div class="v_news_content">',
            _serialize(article, inside, vsb_classes=vsb_classes),
            '</div></div><div id="div_vote_id"></div>',
        ]
    if outside:
        parts.append('<div class="shenhe" style="text-align:right;">')
        parts.append(_serialize(article, outside, vsb_classes=False))
        parts.append("</div>")
    parts.append(_attachments_html(article))
    return "\n".join(p for p in parts if p)


def _prevnext(
    article: Article,
    title_of: Callable[[int], str],
    static_of: Callable[[int], bool],
    *,
    dynamic: bool,
) -> str:
    """上一条/下一条 links: `N.htm` between static pages, else the content.jsp form.

    `static_of(news_id)` says whether that neighbour has a static page; `dynamic`
    whether this page is served as content.jsp (at the site root).
    """
    intro_like = article.template in ("intro", "cndate", "oldtable")
    labels = ("上一篇", "下一篇") if intro_like else ("上一条", "下一条")

    def link(news_id: int | None) -> str:
        if news_id is None:
            return "没有了"
        if not dynamic and static_of(news_id):
            href = f"{news_id}.htm"
        else:
            jsp = (
                "content.jsp?urltype=news.NewsContentUrl"
                f"&amp;wbtreeid={article.column_id}&amp;wbnewsid={news_id}"
            )
            href = jsp if dynamic else "../../" + jsp
        return f'<a href="{href}">{esc(title_of(news_id))}</a>'

    prev_html, next_html = link(article.prev_id), link(article.next_id)
    t = article.template
    if t == "oldtable":
        return (
            f'<tr><td class="prevnext">{labels[0]}：{prev_html}</td></tr>\n'
            f'<tr><td class="prevnext">{labels[1]}：{next_html}</td></tr>'
        )
    if t == "oldcell":
        return f"<b>{labels[0]}：</b>{prev_html}<br />\n<b>{labels[1]}：</b>{next_html}"
    if t == "arc":
        return f"<ul><li>{labels[0]}：{prev_html}</li>\n<li>{labels[1]}：{next_html}</li></ul>"
    if t == "intro":
        return f"<p>{labels[0]}：{prev_html}</p>\n<p>{labels[1]}：{next_html}</p>"
    if t == "contit":
        return (
            f'<div class="pre">{labels[0]}：{prev_html}</div>\n'
            f'<div class="next">{labels[1]}：{next_html}</div>'
        )
    if t == "titlestyle":
        return f"{labels[0]}：{prev_html}<br />\n{labels[1]}：{next_html}"
    if t == "cndate":
        return (
            f'<p class="prev">{labels[0]}：{prev_html}</p>\n'
            f'<p class="next">{labels[1]}：{next_html}</p>'
        )
    return f"<span>{labels[0]}：{prev_html}</span><br />\n<span>{labels[1]}：{next_html}</span>"


def render_article(
    article: Article,
    title_of: Callable[[int], str],
    slug: str,
    *,
    name: str = COLUMN_NAME,
    main_ref: str | None = None,
    theme: Theme = UIR,
    static_of: Callable[[int], bool] | None = None,
    dynamic: bool = False,
) -> bytes:
    """The article page; `title_of(news_id)` names the neighbours in 上一条/下一条.

    `slug` is the column's path from the site root without `.htm` (`xwzx/ggyw`);
    a sibling column's article gives its own `name` and slug, and the 国关要闻
    link of the header (`main_ref`) stays that column's. `static_of(news_id)`
    tells whether a neighbour has a static page (default: all do); `dynamic`
    renders the page as content.jsp serves it.
    """
    pub = article.published
    date = pub.strftime("%Y-%m-%d")
    source = article.credit("source")
    author = article.credit("author")
    first_para = article.paragraphs[0] if article.paragraphs else ""
    values: dict[str, object] = {
        "page_title": esc(
            PAGE_TITLES[article.template].format(t=article.title, site=theme.site_name, column=name)
        ),
        "keywords": attr(",".join(article.presentation.keywords)),
        "title_attr": attr(article.title),
        "pubdate": pub.strftime("%Y-%m-%d %H:%M") if article.shows_time else date,
        "content_source": attr("、".join(source.names)) if source else "",
        "description": attr(first_para[:100]),
        "column_id": article.column_id,
        "news_id": article.news_id,
        "owner": OWNER,
    }
    head = _fill("_head.html", **values)
    style_id = OLD_STYLE_IDS.get(article.template, 0)
    crumbs = (
        f'<a href="../../{slug}.htm">{esc(name)}</a>'
        if "/" not in slug
        else f'<span>新闻中心</span>&gt;&gt;<a href="../../{slug}.htm">{esc(name)}</a>'
    )
    page = _fill(
        f"article_{article.template}.html",
        **values,
        head=head,
        header=_HEADER_MARK,
        footer=footer(theme),
        slug=slug,
        title_html=esc(article.title),
        subtitle=esc(article.presentation.subtitle),
        date=date,
        datetime=pub.strftime("%Y-%m-%d %H:%M"),
        date_cn=pub.strftime("%Y年%m月%d日"),
        time=pub.strftime("%H:%M"),
        author=esc(author.joiner.join(author.names)) if author else "",
        source=esc(source.joiner.join(source.names)) if source else "",
        body_block=body_block(article),
        prevnext=_prevnext(article, title_of, static_of or (lambda _: True), dynamic=dynamic),
        column_name=esc(name),
        crumbs=crumbs,
        site_name=theme.site_name,
        style_id=style_id,
    )
    if article.pdf_path:
        page = page.replace("</head>", _PDF_JS + "</head>", 1)
    if name != COLUMN_NAME:
        # The templates name 国关要闻 in the ColumnName meta and the breadcrumb.
        page = page.replace(COLUMN_NAME, name)
    page = page.replace(_HEADER_MARK, header("../../", main_ref or slug, theme))
    return page.encode("utf-8")


_PDF_JS = '<script type="text/javascript" src="/system/resource/js/vsbpdf.js"></script>\n'
_HEADER_MARK = "\x00header\x00"


# --- listing pages ------------------------------------------------------------------------

LISTING_UNITS: dict[str, int] = {
    "modern": 8, "classic": 5, "summary": 12, "table": 9, "rows": 11, "newsdata": 6, "idate": 14,
}  # fmt: skip
FANYE_IDS: dict[str, int] = {"classic": 213604, "table": 177532}
HEADSTYLE_IDS: dict[str, int] = {"rows": 112644, "idate": 98211}
LIST_CLASSES: dict[str, str] = {
    "modern": "list-news",
    "classic": "list-txt",
    "summary": "list-sum",
    "table": "list-tab",
    "rows": "winstyle112644",
    "newsdata": "news-list",
    "idate": "list-i",
}


def short_title(title: str, limit: int = 26) -> str:
    """The title as a listing prints it: cut to `limit` characters with an ellipsis."""
    return title if len(title) <= limit else title[: limit - 1] + "…"


def _entry_href(entry: Entry, prefix: str) -> str:
    if isinstance(entry, LinkItem):
        return entry.href if entry.is_offsite else prefix + entry.href
    if entry.dynamic:
        return prefix + entry.dynamic_href
    return f"{prefix}info/{entry.column_id}/{entry.news_id}.htm"


def _listing_item(layout: ListingLayout, index: int, entry: Entry, prefix: str) -> str:
    unit = LISTING_UNITS[layout]
    href = attr(_entry_href(entry, prefix))
    full = attr(entry.title)
    short = esc(short_title(entry.title))
    d = entry.published
    lid = f'id="line_u{unit}_{index}"'
    if layout == "rows":
        return (
            f'<tr {lid} height="26"><td class="listtitle112644" width="85%">'
            f'<a href="{href}" target="_blank" title="{full}" class="c112644">{short}</a></td>'
            f'<td class="timestyle112644" width="15%" align="right">{d:%Y年%m月%d日}</td></tr>'
        )
    if layout == "newsdata":
        return (
            f'<li {lid}><a href="{href}" target="_blank" title="{full}">{short}</a>'
            f'<span class="news-data">{d:%Y年%m月%d日}</span></li>'
        )
    if layout == "idate":
        return f'<li {lid}><i>{d:%Y年%m月%d日}</i><a href="{href}" title="{full}">{short}</a></li>'
    if layout == "modern":
        return (
            f'<li {lid}><a href="{href}" target="_blank" title="{full}">'
            f"<p>{short}</p><span>{d:%Y-%m-%d}</span></a></li>"
        )
    if layout == "classic":
        return (
            f"<li {lid}><span>[{d:%Y-%m-%d}]</span>"
            f'<a href="{href}" target="_blank" title="{full}"><em>{short}</em></a></li>'
        )
    if layout == "summary":
        summary = ""
        if isinstance(entry, Article) and entry.paragraphs:
            summary = f"<p>{esc(entry.paragraphs[0][:70])}...</p>"
        return (
            f'<li {lid}><h2><a href="{href}" target="_blank" title="{full}">{esc(entry.title)}</a>'
            f'<span class="time">{d:%Y年%m月%d日}</span></h2>{summary}</li>'
        )
    return (
        f'<li {lid}><a href="{href}" target="_blank" title="{full}">{short}</a>'
        f'<span class="time">{d:%Y/%m/%d}</span></li>'
    )


def page_href(
    slug: str, from_page: int, to_page: int, n_pages: int, *, count_up: bool = False
) -> str:
    """Page-relative link from listing page `from_page` to `to_page`.

    Files are numbered down (page k is `{slug}/{M-k+1}.htm`) or, with
    `count_up`, up (page k is `{slug}/{k}.htm`).
    """
    file_number = to_page if count_up else n_pages - to_page + 1
    if from_page == 1:
        return f"{slug}.htm" if to_page == 1 else f"{slug}/{file_number}.htm"
    return f"../{slug}.htm" if to_page == 1 else f"{file_number}.htm"


def _pb_pagination(
    slug: str,
    layout: ListingLayout,
    page: int,
    n_pages: int,
    total: int,
    *,
    count_up: bool = False,
) -> str:
    unit = LISTING_UNITS[layout]
    labels = (
        ("首页", "上页", "下页", "尾页")
        if layout == "modern"
        else ("首页", "上一页", "下一页", "尾页")
    )

    def fun(cls: str, label: str, target: int, enabled: bool) -> str:
        if not enabled:
            return f'<span class="{cls}_d p_fun_d">{label}</span>'
        href = page_href(slug, page, target, n_pages, count_up=count_up)
        return f'<span class="{cls} p_fun"><a href="{href}">{label}</a></span>'

    shown = sorted({1, n_pages, *range(max(1, page - 2), min(n_pages, page + 2) + 1)})
    nums: list[str] = []
    previous = 0
    for k in shown:
        if k - previous > 1:
            nums.append('<span class="p_dot">...</span>')
        if k == page:
            nums.append(f'<span class="p_no_d">{k}</span>')
        else:
            href = page_href(slug, page, k, n_pages, count_up=count_up)
            nums.append(f'<span class="p_no"><a href="{href}">{k}</a></span>')
        previous = k
    return (
        '<div class="pb_sys_common pb_sys_normal pb_sys_style1" style="margin-top:10px;'
        f'text-align:center;"><span class="p_t">共{total}条</span> '
        f'<span class="p_t">{page}/{n_pages}</span> <span class="p_pages">'
        + fun("p_first", labels[0], 1, page > 1)
        + fun("p_prev", labels[1], page - 1, page > 1)
        + "".join(nums)
        + fun("p_next", labels[2], page + 1, page < n_pages)
        + fun("p_last", labels[3], n_pages, page < n_pages)
        + '</span> <span class="p_t">到第</span><span class="p_goto">'
        f'<input type="text" class="p_goto_input" maxlength="10" id="u{unit}_goto" '
        'spellcheck="false" /></span><span class="p_t">页</span><span class="p_goto">'
        f'<a href="javascript:;" onclick="_simple_list_gotopage_fun({n_pages},\'u{unit}_goto\',2)">'
        "跳转</a></span></div>"
    )


def _fanye_pagination(
    slug: str,
    layout: ListingLayout,
    page: int,
    n_pages: int,
    total: int,
    *,
    count_up: bool = False,
) -> str:
    unit = LISTING_UNITS[layout]

    def ctl(label: str, target: int, enabled: bool, cls: str) -> str:
        if not enabled:
            return f'<span class="{cls}Disabled">{label}</span>'
        href = page_href(slug, page, target, n_pages, count_up=count_up)
        return f'<a href="{href}" class="{cls}">{label}</a>'

    controls = (
        ctl("首页", 1, page > 1, "Prev")
        + ctl("上页", page - 1, page > 1, "Prev")
        + ctl("下页", page + 1, page < n_pages, "Next")
        + ctl("尾页", n_pages, page < n_pages, "Next")
    )
    return (
        '<div align="center"><table cellspacing="0" cellpadding="0" border="0"><tr>'
        '<td colspan="2" align="center"><table cellspacing="0" cellpadding="0" border="0"><tr>'
        f'<td nowrap="" align="left" width="1%" id="fanye{FANYE_IDS[layout]}">'
        f"共{total}条&nbsp;&nbsp;{page}/{n_pages}&nbsp;</td>"
        f'<td nowrap="" align="left"><div>{controls}&nbsp;&nbsp;'
        f'<input align="absmiddle" type="TEXT" name="u{unit}_goto" id="u{unit}_goto" '
        'style="width:20px" class="defaultInput" /> <input type="button" '
        'class="defaultButtonStyle" '
        f"onclick=\"_simple_list_gotopage_fun({n_pages},'u{unit}_goto',2)\" "
        'value="转到" /></div></td></tr></table></td></tr></table></div>'
    )


def _headstyle_pagination(
    slug: str,
    layout: ListingLayout,
    page: int,
    n_pages: int,
    total: int,
    *,
    count_up: bool = False,
) -> str:
    """The oldest pager: no links at all, only 共N条 k/M and a go-to-page box.

    A crawler must build page k itself, from M, as `{slug}/{M-k+1}.htm`.
    """
    unit = LISTING_UNITS[layout]
    return (
        '<table cellspacing="0" cellpadding="0" border="0" '
        f'class="headStyle{HEADSTYLE_IDS[layout]}" width="100%">'
        '<tr><td width="100%" align="center" nowrap="">'
        f"共{total}条&nbsp;&nbsp;{page}/{n_pages}&nbsp;&nbsp;"
        f'<input type="text" name="u{unit}_goto" id="u{unit}_goto" size="3" '
        'class="defaultInput" />&nbsp;<input type="button" class="defaultButtonStyle" '
        f'onclick="_simple_list_gotopage_fun({n_pages},\'u{unit}_goto\',2)" value="转到" />'
        "</td></tr></table>"
    )


PAGERS: dict[str, Callable[..., str]] = {
    "modern": _pb_pagination,
    "summary": _pb_pagination,
    "newsdata": _pb_pagination,
    "classic": _fanye_pagination,
    "table": _fanye_pagination,
    "rows": _headstyle_pagination,
    "idate": _headstyle_pagination,
}


def _list_html(layout: ListingLayout, items: str) -> str:
    if layout == "rows":
        return (
            '      <table width="100%" border="0" cellpadding="0" cellspacing="0">\n'
            f"{items}\n      </table>"
        )
    return f"      <ul>\n{items}\n      </ul>"


def render_listing(
    *,
    slug: str,
    column_id: int,
    layout: ListingLayout,
    page: int,
    n_pages: int,
    total: int,
    entries: Sequence[Entry],
    folder: str = "",
    name: str = COLUMN_NAME,
    main_ref: str | None = None,
    theme: Theme = UIR,
    count_up: bool = False,
) -> bytes:
    """Listing page `page` (1 = newest) of `n_pages`, holding `entries` newest first.

    `folder` is where page 1 sits (`xwzx/` for `/xwzx/ggyw.htm`, "" at the root):
    every link is relative to the page. A sibling column gives its `name`;
    `main_ref` is the main column's path for the navigation (default: this one).
    """
    prefix = "../" * folder.count("/") + ("" if page == 1 else "../")
    ref = folder + slug
    main = main_ref or ref
    items = "\n".join(_listing_item(layout, i, e, prefix) for i, e in enumerate(entries))
    side = [(main, theme.main.name)] + [(c.ref, c.name) for c in theme.others]
    on = ' class="on"'
    side_nav = "\n      ".join(
        f'<li{on if n == name else ""}><a href="{prefix}{r}.htm">{n}</a></li>' for r, n in side
    )
    crumbs = f'<a href="{prefix}{ref}.htm">{name}</a>'
    if folder:
        crumbs = f"<span>新闻中心</span>&gt;&gt;{crumbs}"
    page_html = _fill(
        f"listing{theme.files}.html",
        root=prefix,
        column_id=column_id,
        owner=OWNER,
        header=header(prefix, main, theme),
        footer=footer(theme),
        slug=ref,
        column_name=name,
        crumbs=crumbs,
        site_name=theme.site_name,
        side_nav=side_nav,
        list_class=LIST_CLASSES[layout],
        list_html=_list_html(layout, items),
        pagination=PAGERS[layout](slug, layout, page, n_pages, total, count_up=count_up),
    )
    return page_html.encode("utf-8")


def render_home(
    slug: str, blocks: Sequence[tuple[str, str, Sequence[Entry]]], theme: Theme = UIR
) -> bytes:
    """The site's home page: one news box per (name, path without .htm, newest entries).

    Each box has its title and a 更多 link; `slug` is the main column's path
    for the navigation (`ggyw`, `xwzx/ggyw`).
    """
    boxes = []
    for name, ref, entries in blocks:
        items = "\n".join(
            f'<li><a href="{attr(_entry_href(e, ""))}" title="{attr(e.title)}">'
            f"{esc(short_title(e.title, 30))}</a><span>[{e.published:%m-%d}]</span></li>"
            for e in entries
        )
        boxes.append(
            '<div class="index-news w1200">\n'
            f'  <div class="index-tit"><h2>{esc(name)}</h2><a href="{ref}.htm" class="more">'
            f"更多&gt;&gt;</a></div>\n  <ul>\n{items}\n  </ul>\n</div>\n"
        )
    text = _fill(
        f"home{theme.files}.html",
        header=header("", slug, theme),
        footer=footer(theme),
        blocks="".join(boxes),
        owner=OWNER,
        site_name=theme.site_name,
    )
    return text.encode("utf-8")


def render_404() -> bytes:
    return _fill("404.html").encode("utf-8")


# --- binary stand-ins ---------------------------------------------------------------------


def tiny_jpeg(comment: str) -> bytes:
    """A valid 1x1 grey baseline JPEG; `comment` goes in a COM segment so files differ."""
    com = comment.encode("utf-8")[:200]
    segments = [
        b"\xff\xd8",
        b"\xff\xfe" + struct.pack(">H", len(com) + 2) + com,
        b"\xff\xdb\x00\x43\x00" + b"\x01" * 64,
        b"\xff\xc0\x00\x0b\x08\x00\x01\x00\x01\x01\x01\x11\x00",
        # One code ("0") in each table: DC category 0, AC end-of-block.
        b"\xff\xc4\x00\x14\x00\x01" + b"\x00" * 15 + b"\x00",
        b"\xff\xc4\x00\x14\x10\x01" + b"\x00" * 15 + b"\x00",
        b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00",
        b"\x3f",  # DC "0" + EOB "0", padded with 1-bits
        b"\xff\xd9",
    ]
    return b"".join(segments)


def tiny_png() -> bytes:
    """A valid 1x1 transparent PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00\x00\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def attachment_bytes(name: str) -> bytes:
    """Small stand-in content that opens as the file type its name claims."""
    if name.lower().endswith(".pdf"):
        return (
            b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n"
        )
    # An empty ZIP archive: the container of .docx/.xlsx.
    return b"PK\x05\x06" + b"\x00" * 18


def pdf_document(title: str, path: str) -> bytes:
    """A small, valid one-page PDF 1.4 (catalog, pages, page, font, content, xref).

    The page prints an ASCII line naming `path` (the standard fonts have no
    Chinese glyphs); `title` goes into the document information dictionary as
    UTF-16BE, as PDF text strings allow. The xref offsets are exact, so strict
    readers open it.
    """
    text = f"Replica PDF body: {path.rsplit('/', 1)[-1]}"
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 12 Tf 72 770 Td ({escaped}) Tj ET".encode("ascii")
    title_hex = ("FEFF" + title.encode("utf-16-be").hex().upper()).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Title <" + title_hex + b"> /Producer (uir-news replica) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode()
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


STATIC_ASSETS: dict[str, tuple[str, bytes]] = {
    "/system/resource/js/counter.js": (
        "application/javascript",
        b"function _jsq_(treeid, pagename, newsid, owner) {}\n",
    ),
    "/system/resource/js/dynclicks.js": (
        "application/javascript",
        b"function _showDynClicks(type, owner, id) {\n"
        b"  var sid = 'dynclicks_' + type + '_' + id;\n"
        b"  document.write('<span id=\"' + sid + '\"></span>');\n"
        b"  var x = new XMLHttpRequest();\n"
        b"  x.open('GET', '/system/resource/code/news/click/dynclicks.jsp?clickid=' + id +"
        b" '&owner=' + owner + '&clicktype=' + type, true);\n"
        b"  x.onload = function () { document.getElementById(sid).innerHTML = x.responseText; };\n"
        b"  x.send();\n}\n"
        b"function getClickTimes(id, newsid, type, kind) {}\n",
    ),
    "/system/resource/js/ajax.js": ("application/javascript", b"/* ajax helpers */\n"),
    "/system/resource/js/vsbpdf.js": (
        "application/javascript",
        b"function showVsbpdfIframe(src, width, height, a, b) {\n"
        b"  document.write('<iframe src=\"' + src + '\" width=\"' + width + '\" height=\"'"
        b" + height + '\"></iframe>');\n}\n",
    ),
    "/_sitegray/_sitegray.js": ("application/javascript", b"/* site gray mode off */\n"),
    "/_sitegray/_sitegray_d.css": ("text/css", b"/* site gray mode off */\n"),
    "/style/style.css": (
        "text/css",
        b"body{margin:0;font:14px/1.8 'Microsoft YaHei',sans-serif;color:#333}"
        b".w1200{width:1200px;margin:0 auto}a{color:#333;text-decoration:none}\n"
        b".header{background:url(../images/banner.png) repeat-x}\n",
    ),
    # The template's image, named by style.css.
    "/images/banner.png": ("image/png", tiny_png()),
    "/content.vsb.css": ("text/css", b".v_news_content p{margin:0 0 1em}\n"),
}
# Served at /{slug}.vsb.css for the column's listing pages.
LISTING_CSS = b".pb_sys_common span{margin:0 3px}\n"
