"""crawler.extract.requisites on saved pages, Content-Disposition names, requisite problems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive.research.filters import disposition_file_name
from crawler.extract import Requisite, css_requisites, page_requisites
from crawler.failures import Problem

PAGES = Path(__file__).parent / "fixtures" / "pages"
URLS: dict[str, str] = json.loads((PAGES / "index.json").read_text("utf-8"))
SITE = "https://www.uir.edu.cn"


def _page(name: str) -> list[Requisite]:
    return page_requisites((PAGES / f"{name}.html").read_bytes(), URLS[name])


def test_images_with_their_orisrc_and_vurl_originals() -> None:
    found = _page("arc_images_captions")
    images = [r.url for r in found if r.kind == "image"]
    assert f"{SITE}/__local/7/C7/EB/A1B2C3D4E5_1A2B3C4D_5E6F.jpg" in images
    assert f"{SITE}/_vsl/A1B2C3D4E5/5E6F/1A2B3C4D" in images
    # shown as a data: placeholder, the file is named only by orisrc
    assert f"{SITE}/__local/7/C7/EB/F6E5D4C3B2_1A2B3C4D_5E6F.jpg" in images
    assert not [u for u in images if u.startswith("data:")]
    assert f"{SITE}/images/logo.png" in images  # the template's
    assert Requisite(f"{SITE}/style/style.css", "stylesheet") in found
    assert Requisite(f"{SITE}/system/resource/js/counter.js", "script") in found
    assert len({r.url for r in found}) == len(found)


def test_attachments_behind_download_jsp() -> None:
    attachments = [r.url for r in _page("arc_attachments") if r.kind == "attachment"]
    assert attachments == [
        f"{SITE}/system/_content/download.jsp?urltype=news.DownloadAttachUrl"
        f"&owner=1742326478&wbfileid={n}"
        for n in (9000, 9001)
    ]


@pytest.mark.parametrize("name", sorted(n for n in URLS if not n.startswith("special_")))
def test_every_saved_page_has_its_style_sheet_and_nothing_relative(name: str) -> None:
    found = _page(name)
    assert any(r.kind == "stylesheet" for r in found)
    assert all(r.url.startswith(("http://", "https://")) and "#" not in r.url for r in found)


def test_inline_styles_base_and_empty_pages() -> None:
    html = (
        '<html><head><base href="http://h/a/"><style>@import "x.css"; '
        "p{background:url('p.png')}</style></head>"
        '<body background="bg.gif"><div style="background-image:url(d.png)">'
        '<a href="f.PDF#top">f</a><a href="page.htm">p</a><img src="data:image/gif;base64,R0">'
        '<link rel="shortcut icon" href="/favicon.ico"></div></body></html>'
    )
    assert page_requisites(html, "http://h/") == [
        Requisite("http://h/a/x.css", "stylesheet"),
        Requisite("http://h/a/p.png", "image"),
        Requisite("http://h/a/bg.gif", "image"),
        Requisite("http://h/a/d.png", "image"),
        Requisite("http://h/a/f.PDF", "attachment"),
        Requisite("http://h/favicon.ico", "image"),
    ]
    assert page_requisites(b"", "http://h/") == []


def test_css_imports_and_images() -> None:
    css = (
        '@import url(a.css); @import "b.css"; /* url(no.png) */\n'
        'body{background:url( "../img/x.png" )} i{background:url(data:image/png;base64,xx)}'
        " b{background:url(../img/x.png)}"
    )
    assert css_requisites(css, "http://h/s/style.css") == [
        Requisite("http://h/s/b.css", "stylesheet"),
        Requisite("http://h/s/a.css", "stylesheet"),
        Requisite("http://h/img/x.png", "image"),
    ]


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("attachment; filename*=UTF-8''%E9%99%84%E4%BB%B6.pdf", "附件.pdf"),
        ("attachment; filename=\"a b.docx\"; filename*=UTF-8''%E8%A1%A8.docx", "表.docx"),
        ('attachment; filename="报名表.xlsx"'.encode().decode("latin-1"), "报名表.xlsx"),
        ('attachment; filename="名单.pdf"'.encode("gbk").decode("latin-1"), "名单.pdf"),
        ("attachment; filename=plain.pdf", "plain.pdf"),
        ("inline", None),
    ],
)
def test_disposition_file_name(value: str, name: str | None) -> None:
    assert disposition_file_name(value) == name


def test_a_missing_requisite_is_not_a_failure_nor_retried() -> None:
    problem = Problem("http://h/a.jpg", "requisite_http_404", article=False)
    assert problem.is_requisite and not problem.is_failure and not problem.noted_for_next_runs
    assert Problem("http://h/info/1/2.htm", "http_404").is_failure


def test_a_pdf_body_is_archived_as_an_attachment() -> None:
    found = _page("vsb_pdf_body")
    pdf = "https://news.hbsf.edu.cn/__local/3/A8/1C/7E2B9F0C4D5E6F708192A3B4C5D_6A7B8C9D_1F2E3.pdf"
    assert Requisite(pdf, "attachment") in found
    html = (
        "<script>showVsbpdfIframe('x/b.pdf','100%','600')</script><script>other('c.pdf')</script>"
    )
    assert page_requisites(html, "http://h/a/") == [Requisite("http://h/a/x/b.pdf", "attachment")]


def test_data_images_are_part_of_the_page_not_requisites() -> None:
    found = _page("vsb_data_image_credits")
    assert [r.kind for r in found] == ["stylesheet", "script"]
