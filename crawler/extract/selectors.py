"""Every selector of the extraction layer, built from named pieces (one place to edit).

VSB themes differ per site, so each field has an ordered list of selectors: known VSB
templates first, generic fallbacks last.
"""

from __future__ import annotations

import re
from typing import Any

from crawler.extract.dom import xpath


def has_class(name: str) -> str:
    """XPath predicate: the element carries CSS class `name`."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def class_contains(fragment: str) -> str:
    """XPath predicate: some class (or the id) contains `fragment`, case-insensitively."""
    upper, lower = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
    lower = f"translate(concat(@class, ' ', @id), '{upper}', '{lower}')"
    return f"contains({lower}, '{fragment}')"


def any_of(*predicates: str) -> str:
    return "(" + " or ".join(predicates) + ")"


def text_has(*labels: str) -> str:
    """XPath predicate: one of the element's own text nodes contains one of `labels`."""
    return any_of(*(f"text()[contains(., '{label}')]" for label in labels))


# --- named pieces -------------------------------------------------------------------------------
ARTICLE_FORM = "//form[@name='_newscontent_fromname']"
VSB_CONTENT = "//div[starts-with(@id, 'vsb_content')]"
V_NEWS_CONTENT = f"//div[{has_class('v_news_content')}]"
HEADINGS = "*[self::h1 or self::h2 or self::h3]"
TITLE_CLASSES = any_of(class_contains("tit"), class_contains("biaoti"))
FURNITURE = any_of(
    class_contains("share"),
    class_contains("bdshare"),
    "@id='div_vote_id'",
    class_contains("print"),
    class_contains("close"),
)
#: class/id fragments of the site footer (checked in Python: it runs on every header element).
FOOTER_FRAGMENTS = ("foot", "bottom", "copyright", "banquan")
BREADCRUMB_LABELS = (
    "当前位置",
    "您的位置",
    "您现在的位置",
    "所在位置",
    "当前所在位置",
    "位置：",
    "位置:",
)
PREV_LABELS = ("上一条", "上一篇", "上一页", "上篇", "上条")
NEXT_LABELS = ("下一条", "下一篇", "下一页", "下篇", "下条")
FILE_EXTENSIONS = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".zip", ".rar", ".ppt", ".pptx")

# --- article: title, in order of trust ------------------------------------------------------------
#: (name, selector) pairs for the visible heading; `specific` ones are trusted over head meta.
TITLE_SPECIFIC: tuple[tuple[str, Any], ...] = (
    ("arc-tit", xpath(f"//div[{has_class('arc-tit')}]//h1")),
    (
        "h2.title",
        xpath(
            f"//h2[{has_class('title')}][preceding-sibling::h1[{has_class('intro')}]"
            f" or following-sibling::h3[{has_class('subtitle')}]"
            " or ancestor::form[@name='_newscontent_fromname']]"
        ),
    ),
    ("main_contit", xpath(f"//div[{has_class('main_contit')}]//h2")),
    ("titlestyle", xpath("//*[starts-with(@class, 'titlestyle')]")),
    ("h1.intro", xpath(f"//h1[{has_class('intro')}]")),
)
TITLE_GENERIC: tuple[tuple[str, Any], ...] = (
    ("form-heading", xpath(f"{ARTICLE_FORM}//{HEADINGS}")),
    (
        "form-title-class",
        xpath(f"{ARTICLE_FORM}//*[{TITLE_CLASSES}][not(*[self::div or self::p])]"),
    ),
    ("h2.title", xpath(f"//h2[{has_class('title')}]")),
    (
        "title-class",
        xpath(
            "//*[self::div or self::h1 or self::h2 or self::h3"
            " or self::td or self::p or self::span]"
            f"[{TITLE_CLASSES}][not(.//div or .//p or .//li or .//h1 or .//h2 or .//table)]"
        ),
    ),
    (
        "content-heading",
        xpath(
            f"//*[{class_contains('content')} or {class_contains('article')} or self::article]"
            f"//{HEADINGS}"
        ),
    ),
    ("h1", xpath("//h1")),
)
HTML_TITLE = xpath("//title")

# --- article: body ------------------------------------------------------------------------------
BODY_BLOCK: tuple[Any, ...] = (
    xpath(f"{VSB_CONTENT}//div[{has_class('v_news_content')}]"),
    xpath(V_NEWS_CONTENT),
    xpath(VSB_CONTENT),
    xpath("//*[@id='vsb_newscontent']"),
    # older table themes without vsb_content: the body is the cell itself
    xpath("//td[starts-with(@class, 'contentstyle')]"),
    xpath(
        "//*["
        + any_of(
            has_class("arc-con"),
            has_class("article-content"),
            has_class("news_content"),
            has_class("TRS_Editor"),
        )
        + "]"
    ),
)
#: Candidate containers for the density fallback (the element with most direct paragraph text).
BODY_CANDIDATES = xpath("//*[self::div or self::td or self::article or self::section][p]")
ARTICLE_CONTAINER = xpath(ARTICLE_FORM)
FURNITURE_IN_BODY = xpath(f".//*[{FURNITURE}]")
ATTACHMENT_ITEMS = xpath(
    f".//li[{text_has('附件')}] | .//ul[{text_has('附件')}] | .//p[{text_has('附件【')}]"
)

# --- article: metadata --------------------------------------------------------------------------
#: class/id fragments of breadcrumb blocks, matched in Python over `CLASSED_ELEMENTS`:
#: libxml2's translate() over every element cost a listing page a quarter millisecond.
BREADCRUMB_FRAGMENTS = ("position", "breadcrumb", "location", "dqwz", "crumb", "weizhi")
CLASSED_ELEMENTS = xpath("//*[@class or @id]")
SCRIPTS = xpath("//script/text()")
#: A body shown as a PDF: ``showVsbpdfIframe("/__local/…/x.pdf", "100%", "800", …)``.
PDF_VIEWER_CALL = re.compile(r"""showVsbpdfIframe\(\s*["'](?P<url>[^"']+)["']""")
LINKS = xpath(".//a[@href]")

# --- listing ------------------------------------------------------------------------------------
LISTING_ITEMS = xpath("//li[starts-with(@id, 'line_u')] | //tr[starts-with(@id, 'line_u')]")
LISTING_FALLBACK_ROWS = xpath(
    "//*[self::li or self::tr][.//a[contains(@href, 'info/') or contains(@href, 'content.jsp')]]"
)
PAGER_NEW = xpath(f"//div[{has_class('pb_sys_common')}] | //span[{has_class('p_pages')}]/..")
PAGER_OLD = xpath("//*[starts-with(@id, 'fanye')]")
#: The older theme's pager table (``table.headStyle1d8zlv7iyf``), when its cell has no fanye id.
PAGER_HEAD_STYLE = xpath(
    "//table[starts-with(@class, 'headStyle')][.//a[@href] or contains(., '/')]"
)
PAGER_GENERIC = xpath(
    "//*["
    + any_of(text_has("共"), class_contains("page"), class_contains("fanye"))
    + "][.//a[normalize-space(.)='下页' or normalize-space(.)='下一页' or normalize-space(.)='尾页'"
    " or normalize-space(.)='末页']]"
)
PAGER_NEXT = xpath(
    f".//span[{has_class('p_next')}]//a[@href] | .//a[{has_class('p_next')}][@href]"
    " | .//a[@href][normalize-space(.)='下页' or normalize-space(.)='下一页'"
    " or normalize-space(.)='下一页>' or normalize-space(.)='下一页 >' or normalize-space(.)='>']"
)
PAGER_NEXT_DISABLED = xpath(f".//*[{has_class('p_next_d')}]")
PAGER_CURRENT = xpath(f".//*[{has_class('p_no_d')}]")
#: The page count VSB gives its "go to page" script: ``_simple_list_gotopage_fun(11, 'GO', 2)``.
GOTO_PAGE_CALL = re.compile(r"_simple_list_gotopage_fun\(\s*(?P<pages>\d+)")
#: Pager links by what they stand for (labels; the number links carry their page number).
PAGER_FIRST_LABELS = frozenset({"首页", "第一页"})
PAGER_PREV_LABELS = frozenset({"上页", "上一页", "<"})
PAGER_NEXT_LABELS = frozenset({"下页", "下一页", "下一页>", "下一页 >", ">"})
PAGER_LAST_LABELS = frozenset({"尾页", "末页", "最后一页"})
