"""Article extraction: every saved page against its reviewed expected record, plus helper tables."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from crawler.extract import (
    NotAnArticle,
    canonical_article_url,
    classify_response,
    is_dynamic_url,
    parse_article,
    parse_view_count,
)
from crawler.extract.body import extract_body
from crawler.extract.credits import parse_credit_line, parse_info_line, trailing_credit
from crawler.extract.dates import FoundDate, find_date, parse_date
from crawler.extract.dom import parse_html
from crawler.extract.text import normalize
from record import REVIEW_ROLES

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "tests" / "fixtures" / "pages"
INDEX: dict[str, str] = json.loads((PAGES / "index.json").read_text(encoding="utf-8"))
SCHEMA = json.loads((ROOT / "record" / "record.schema.json").read_text(encoding="utf-8"))
FETCHED_AT = datetime(2026, 11, 1, tzinfo=UTC)  # the clock regenerate.py used
PLACEHOLDERS = {
    "fetched_at": "2026-11-01T00:00:00Z",
    "warc": {"file": "uir-news-00000.warc.gz", "offset": 0, "length": 1},
    "listing": None,
}


def _parse(name: str) -> dict[str, Any]:
    html = (PAGES / f"{name}.html").read_bytes()
    try:
        record = parse_article(html, INDEX[name], fetched_at=FETCHED_AT)
    except NotAnArticle as exc:
        return {"not_an_article": exc.reason}
    stored: dict[str, Any] = json.loads(json.dumps(record))  # what the archive would store
    return stored


@pytest.mark.parametrize("name", sorted(INDEX))
def test_page_fixture(name: str) -> None:
    expected = json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))
    got = _parse(name)
    assert sorted(got) == sorted(expected)
    for key in expected:
        assert got[key] == expected[key], key
    if "not_an_article" not in got:
        Draft202012Validator(SCHEMA).validate({**got, **PLACEHOLDERS})


def test_corpus_size() -> None:
    articles = [
        n
        for n in INDEX
        if "not_an_article" not in json.loads((PAGES / f"{n}.json").read_text("utf-8"))
    ]
    assert len(INDEX) >= 40
    assert len(articles) >= 35


def test_seed_article_acceptance() -> None:
    record = _parse("arc_seed")
    assert record["title"] == (
        "强基固本 砥砺争先 I 国际关系学院成功举办第二届“四强” "
        "党支部建设论坛暨基层党建创新创造创优展示交流"
    )
    assert record["published_at"] == "2025-07-14"
    assert record["reviewers"] == {
        "first_proofreader": ["吴茜"],
        "second_proofreader": ["李婧"],
        "final_reviewer": ["陈斌"],
    }
    body = record["body_text"]
    assert body.startswith("为纪念中国共产党成立104周年")
    assert body.endswith("为建党104周年增光添彩。")
    for furniture in ("一校", "二校", "终审", "地址", "邮编", "版权所有", "分享：", "上一条"):
        assert furniture not in body


@pytest.mark.parametrize(
    ("status", "html", "url", "reason"),
    [
        (
            404,
            "<html><title>404错误提示</title><body>页面不存在</body></html>",
            "https://x.cn/info/1/2.htm",
            "not_found",
        ),
        (200, (PAGES / "special_404.html").read_bytes(), "https://x.cn/info/1/2.htm", "not_found"),
        (
            412,
            b"<html><script>document.cookie='a=1';location.reload()</script></html>",
            "https://x.cn/a.htm",
            "js_challenge",
        ),
        (
            200,
            (PAGES / "special_challenge.html").read_bytes(),
            "https://x.cn/info/1/2.htm",
            "js_challenge",
        ),
        (412, b"", "https://x.cn/info/1/2.htm", "js_challenge"),
        (  # a content.jsp page is the article it shows
            200,
            (PAGES / "arc_seed.html").read_bytes(),
            "https://x.cn/content.jsp?urltype=news.NewsContentUrl&wbtreeid=1031&wbnewsid=1",
            None,
        ),
        (
            200,
            "<html><body><p>hello</p></body></html>",
            "https://x.cn/info/1/2.htm",
            "no_article_content",
        ),
        (
            200,
            (PAGES / "arc_seed.html").read_bytes(),
            "https://www.uir.edu.cn/info/1031/21031.htm",
            None,
        ),
    ],
)
def test_classify_response(status: int, html: str | bytes, url: str, reason: str | None) -> None:
    assert classify_response(status, html, url) == reason


def test_not_an_article_carries_reason() -> None:
    with pytest.raises(NotAnArticle) as info:
        parse_article((PAGES / "special_404.html").read_text("utf-8"), INDEX["special_404"])
    assert info.value.reason == "not_found"


def test_gbk_bytes_are_decoded() -> None:
    html = (PAGES / "arc_seed.html").read_text("utf-8").replace("charset=UTF-8", "charset=gb2312")
    record = parse_article(html.encode("gb18030"), INDEX["arc_seed"], fetched_at=FETCHED_AT)
    assert record["reviewers"]["final_reviewer"] == ["陈斌"]


# --- dates --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lines", "iso", "raw"),
    [
        (["时间:2025-07-14"], "2025-07-14", "2025-07-14"),
        (["时间：2025-07-14 分享："], "2025-07-14", "2025-07-14"),
        (["发布时间：2026-07-13 浏览量：12次"], "2026-07-13", "2026-07-13"),
        (["发布日期：2016-01-06 16:13"], "2016-01-06T16:13:00+08:00", "2016-01-06 16:13"),
        (["作者:教务管理科 时间：2026-06-23 点击数：3"], "2026-06-23", "2026-06-23"),
        (["2018年01月23日"], "2018-01-23", "2018年01月23日"),
        (["2018年1月3日 9时05分"], "2018-01-03T09:05:00+08:00", "2018年1月3日 9时05分"),
        (["[日期:2017-02-01] [来源:宣传部]"], "2017-02-01", "2017-02-01"),
        (["发布日期：2025/7/4 08:01:02"], "2025-07-04T08:01:02+08:00", "2025/7/4 08:01:02"),
        (["发布日期：Dec 5, 2024"], "2024-12-05", "Dec 5, 2024"),  # dateparser path
        (
            ["某某标题 2020-01-01", "发布时间：2021-02-03"],
            "2021-02-03",
            "2021-02-03",
        ),  # labelled wins
        (["首页 国关要闻"], None, None),
        (["时间：2025-02-30"], None, None),
    ],
)
def test_find_date(lines: list[str], iso: str | None, raw: str | None) -> None:
    found = find_date(lines)
    assert (found.iso if found else None) == iso
    assert (found.raw if found else None) == raw


@pytest.mark.parametrize(
    ("value", "fetched_at", "ok"),
    [
        (
            date(2025, 7, 14),
            datetime(2025, 7, 13, 16, 30, tzinfo=UTC),
            True,
        ),  # 00:30 in Beijing
        (date(2025, 7, 14), datetime(2025, 7, 13, 15, 30, tzinfo=UTC), False),
        (date(1949, 9, 30), FETCHED_AT, False),
        (date(1949, 10, 1), FETCHED_AT, True),
        (date(2031, 1, 1), None, False),
    ],
)
def test_date_bounds(value: date, fetched_at: datetime | None, ok: bool) -> None:
    assert FoundDate("x", value).in_range(fetched_at) is ok


def test_parse_date_meta_forms() -> None:
    assert parse_date("2016-01-06 16:13").iso == "2016-01-06T16:13:00+08:00"  # type: ignore[union-attr]
    assert parse_date("") is None


# --- credits ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "reviewers", "credits"),
    [
        ("一校：吴茜", (["吴茜"], [], []), {}),
        ("一校:吴茜 二校:李婧 终审:陈斌", (["吴茜"], ["李婧"], ["陈斌"]), {}),
        (
            "一校：王芳、刘洋\u3000二校：赵磊\u3000终审：陈斌",
            (["王芳", "刘洋"], ["赵磊"], ["陈斌"]),
            {},
        ),
        ("一校：王芳，刘洋 二校：赵磊", (["王芳", "刘洋"], ["赵磊"], []), {}),
        ("（编辑：付晓歌）", ([], [], []), {"editor": ["付晓歌"]}),
        ("(责任编辑：张三)", ([], [], []), {"responsible_editor": ["张三"]}),
        ("文/张三 图/李四", ([], [], []), {"author": ["张三"], "photographer": ["李四"]}),
        (
            "撰稿：刘晨 摄影：郑凯 吴迪",
            ([], [], []),
            {"writer": ["刘晨"], "photographer": ["郑凯", "吴迪"]},
        ),
        ("稿件来源：党委宣传部", ([], [], []), {"source": ["党委宣传部"]}),
        (
            "供稿单位：国际经济系 审核：马骏",
            ([], [], []),
            {"contributing_unit": ["国际经济系"], "auditor": ["马骏"]},
        ),
        ("初审：张伟  复审：刘洋  终审：陈静", (["张伟"], ["刘洋"], ["陈静"]), {}),
        ("一审：周敏　二审：吴昊　三审：郑丽华", (["周敏"], ["吴昊"], ["郑丽华"]), {}),
        (
            "责任编辑：孙悦 编审：钱伟",
            ([], [], []),
            {"responsible_editor": ["孙悦"], "auditor": ["钱伟"]},
        ),
    ],
)
def test_credit_lines(
    line: str, reviewers: tuple[list[str], ...], credits: dict[str, list[str]]
) -> None:
    found = parse_credit_line(line)
    assert found is not None
    assert (
        found.reviewers["first_proofreader"],
        found.reviewers["second_proofreader"],
        found.reviewers["final_reviewer"],
    ) == reviewers
    assert found.credits == credits


@pytest.mark.parametrize(
    "line",
    [
        "论文进入终审阶段。",
        "编辑部主任张三表示，学报将继续坚持正确办刊方向。",
        "终审结果将于下周公布，请各单位注意查收。",
        "地址：北京市海淀区坡上村12号",
        "图为论坛现场",
        "编辑：付晓歌 时间：2025-07-14",
        "文件精神传达到位/落实到人",
        "该案一审判决后，双方在二审阶段达成调解。",
        "经过初审、复审和终审，共有12名考生进入拟录取名单。",
    ],
)
def test_not_credit_lines(line: str) -> None:
    assert parse_credit_line(line) is None


def test_trailing_credit() -> None:
    text = "会议取得圆满成功。（编辑：付晓歌）"
    found = trailing_credit(text)
    assert found is not None
    assert text[: found[0]] == "会议取得圆满成功。"
    assert found[1].credits == {"editor": ["付晓歌"]}
    assert trailing_credit("会议取得圆满成功（图）。") is None


def test_info_line_credits() -> None:
    found = parse_info_line("作者:教务管理科 时间：2026-06-23 点击数：")
    assert found.credits == {"author": ["教务管理科"]}


# --- body ---------------------------------------------------------------------------------------
def _body(inner: str) -> tuple[str, str]:
    root = parse_html(f'<html><body><div class="v_news_content">{inner}</div></body></html>')
    assert root is not None
    body = extract_body(root.xpath("//div")[0], "https://www.uir.edu.cn/info/1031/1.htm")
    return body.text, body.html


@pytest.mark.parametrize(
    ("inner", "text", "html"),
    [
        (
            "<p>\u3000\u3000第一段。</p><p>&nbsp;</p><p>&nbsp;&nbsp;第二段。</p>",
            "第一段。\n第二段。",
            "<p>第一段。</p>\n<p>第二段。</p>",
        ),
        (
            '<p class="MsoNormal" style="x"><span style="a"><span lang="EN-US">'
            "正文<o:p></o:p></span></span></p>",
            "正文",
            "<p>正文</p>",
        ),
        ("<p>正文。<!-- c --><script>x()</script></p>", "正文。", "<p>正文。</p>"),
        ("<p>第一行<br>一校：吴茜<br>终审：陈斌</p>", "第一行", "<p>第一行</p>"),
        (
            "<p>会议圆满结束。<span>（编辑：付晓歌）</span></p>",
            "会议圆满结束。",
            "<p>会议圆满结束。</p>",
        ),
        (
            '<p><a href="../2.htm">链接</a></p>',
            "链接",
            '<p><a href="https://www.uir.edu.cn/info/2.htm">链接</a></p>',
        ),
        (
            '<p><img src="/a.jpg" style="w"></p><p>图注</p>',
            "图注",
            '<p><img src="https://www.uir.edu.cn/a.jpg"></p>\n<p>图注</p>',
        ),
        ("文字一<br>文字二", "文字一\n文字二", "<p>文字一<br>文字二</p>"),
        ("<p>论文进入终审阶段。</p>", "论文进入终审阶段。", "<p>论文进入终审阶段。</p>"),
    ],
)
def test_body_cleaning(inner: str, text: str, html: str) -> None:
    assert _body(inner) == (text, html)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("  a\u00a0\u00a0b\u3000c ", "a b c"), ("国际\n关系", "国际关系"), ("a\u200bb", "ab")],
)
def test_normalize(raw: str, clean: str) -> None:
    assert normalize(raw) == clean


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("123", 123),
        (" 1,234\n", 1234),
        ("document.write(5);", 5),
        ("", None),
        ("<html>error</html>", None),
    ],
)
def test_parse_view_count(text: str, count: int | None) -> None:
    assert parse_view_count(text) == count


# --- dynamic URLs -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "https://www.uir.edu.cn/content.jsp?urltype=news.NewsContentUrl&wbtreeid=1031&wbnewsid=21040",
            "https://www.uir.edu.cn/info/1031/21040.htm",
        ),
        (  # any order, any case, a port and a fragment
            "http://127.0.0.1:8000/CONTENT.JSP?WBNEWSID=7&urltype=NEWS.NEWSCONTENTURL&WbTreeId=12#top",
            "http://127.0.0.1:8000/info/12/7.htm",
        ),
        ("https://h.cn/content.jsp?wbtreeid=3&wbnewsid=4", "https://h.cn/info/3/4.htm"),
        # not an article: unchanged
        (
            "https://h.cn/content.jsp?urltype=news.DownloadAttachUrl&wbtreeid=3&wbnewsid=4",
            "https://h.cn/content.jsp?urltype=news.DownloadAttachUrl&wbtreeid=3&wbnewsid=4",
        ),
        ("https://h.cn/content.jsp?wbnewsid=4", "https://h.cn/content.jsp?wbnewsid=4"),
        (
            "https://h.cn/content.jsp?wbtreeid=x&wbnewsid=4",
            "https://h.cn/content.jsp?wbtreeid=x&wbnewsid=4",
        ),
        ("https://h.cn/info/1031/1.htm", "https://h.cn/info/1031/1.htm"),
        (
            "https://h.cn/ggyw.htm?wbtreeid=1&wbnewsid=2",
            "https://h.cn/ggyw.htm?wbtreeid=1&wbnewsid=2",
        ),
    ],
)
def test_canonical_article_url(url: str, canonical: str) -> None:
    assert canonical_article_url(url) == canonical
    assert is_dynamic_url(url) == ("content.jsp" in url.lower())


def test_a_content_jsp_page_is_recorded_under_its_static_url() -> None:
    record = _parse("plain_content_jsp")
    assert record["url"] == "https://www.uir.edu.cn/info/1031/19005.htm"
    assert (record["column_id"], record["news_id"]) == (1031, 19005)
    static = parse_article(
        (PAGES / "plain_content_jsp.html").read_bytes(), record["url"], fetched_at=FETCHED_AT
    )
    assert {**static, "prev_url": None, "next_url": None} == {
        **record,
        "prev_url": None,
        "next_url": None,
    }  # one article, one record (its relative links resolve against where it was fetched)


# --- bodies that are not text -------------------------------------------------------------------
ARTICLE = """<html><head><title>T</title></head><body><form name="_newscontent_fromname">
<div class="arc-tit"><h1>标题</h1></div><p>时间：2023-10-18</p>
<div id="vsb_content"><div class="v_news_content">{body}</div></div>{after}</form></body></html>"""
PDF_CALL = '<script>showVsbpdfIframe(\'../../__local/1/2.pdf\', "100%", "800", "0");</script>'


def test_a_pdf_body_with_an_introduction_keeps_both() -> None:
    html = ARTICLE.format(body=f"<p>全文见下。</p><p>{PDF_CALL}</p>", after="")
    record = parse_article(html, "https://h.cn/info/1/2.htm", fetched_at=FETCHED_AT)
    assert record["body_pdf"] == "https://h.cn/__local/1/2.pdf"
    assert record["body_text"] == "全文见下。" and "body_is_pdf" not in record["warnings"]


def test_a_pdf_shown_outside_the_body_block_is_the_body() -> None:
    html = ARTICLE.format(body="<p>&nbsp;</p>", after=PDF_CALL)
    record = parse_article(html, "https://h.cn/info/1/2.htm", fetched_at=FETCHED_AT)
    assert (record["body_pdf"], record["body_text"]) == ("https://h.cn/__local/1/2.pdf", "")
    assert record["warnings"] == ["body_is_pdf"]
    assert classify_response(200, html, "https://h.cn/info/1/2.htm") is None


def test_an_empty_body_without_pdf_or_attachments_is_still_no_article() -> None:
    html = ARTICLE.format(body="<p>&nbsp;</p>", after="")
    with pytest.raises(NotAnArticle) as info:
        parse_article(html, "https://h.cn/info/1/2.htm", fetched_at=FETCHED_AT)
    assert info.value.reason == "no_article_content"


def test_a_body_of_plain_file_links_is_an_attachment_body() -> None:
    body = (
        '<p><a href="/docs/名单.xlsx">名单.xlsx</a></p><p><a href="/docs/说明.pdf">说明.pdf</a></p>'
    )
    record = parse_article(
        ARTICLE.format(body=body, after=""), "https://h.cn/info/1/2.htm", fetched_at=FETCHED_AT
    )
    assert [a["name"] for a in record["attachments"]] == ["名单.xlsx", "说明.pdf"]
    assert record["warnings"] == ["body_is_attachments"]


# --- images as data: URIs -------------------------------------------------------------------------
DATA_GIF = "data:image/gif;base64,R0lGODlhAQABAAAAACw="


@pytest.mark.parametrize(
    ("img", "url"),
    [
        (f'<img src="{DATA_GIF}">', DATA_GIF),
        ('<img src="data:image/gif;base64,\n R0lGODlh\n AQABAAAAACw=">', DATA_GIF),  # wrapped
        (f'<img src="{DATA_GIF}" orisrc="/__local/a.jpg">', "https://www.uir.edu.cn/__local/a.jpg"),
        ('<img src="data:text/html,<b>x</b>">', None),  # not an image
    ],
)
def test_data_images(img: str, url: str | None) -> None:
    root = parse_html(f'<html><body><div class="v_news_content"><p>{img}</p></div></body></html>')
    assert root is not None
    body = extract_body(root.xpath("//div")[0], "https://www.uir.edu.cn/info/1031/1.htm")
    assert [i["url"] for i in body.images] == ([url] if url else [])
    if url:
        assert f'src="{url}"' in body.html


@pytest.mark.parametrize(
    ("line", "labels"),
    [
        ("初审：张伟 复审：刘洋 终审：陈静", ("初审", "复审", "终审")),
        ("一审：周敏 二审：吴昊 三审：郑丽华", ("一审", "二审", "三审")),
        ("一校：吴茜 二校：李婧 终审：陈斌", ("一校", "二校", "终审")),
    ],
)
def test_review_labels_are_kept(line: str, labels: tuple[str, str, str]) -> None:
    found = parse_credit_line(line)
    assert found is not None and not found.unmapped
    assert tuple(found.labels_field().get(role) for role in REVIEW_ROLES) == labels
