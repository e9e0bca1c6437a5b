"""The research pages in a real browser: headless Chromium (Debian's) driven by Selenium.

A Chinese search with a date filter on a crawl of the replica, a hit followed to
its article page and to its archived copy, the images of both loaded from the
archive, and not one request to the live site (the replica) while browsing.
Then an archive of two sites and three columns with edits and a take-down: the
``changes`` view and its facets, an edited and a removed article's page, the
search narrowed to one column of one site, and Chinese text really drawn.
Screenshots go to the test's tmp_path and to build/screenshots/ for a person to see.

The crawler archives article pages only, not their images (page requisites are
later work), so the test first archives the chosen article's images the way a
crawl writes any response (``archive_exchange`` + the catalog capture + the
CDXJ index), fetched from the replica over loopback. Images it did not archive
must show on the article page as "not in the archive" and never load.

Without Chromium or chromedriver the test FAILS, saying what to install, unless
``UIR_NEWS_NO_BROWSER=1`` is set (then it is skipped, loudly).
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from archive.replay.cdxj import index_path
from archive.research.serve import serving
from archive.storage.layout import ArchiveLayout
from replica.server import running_replicas
from tests.helpers.cli import Crawled, run_cli

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("UIR_NEWS_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("UIR_NEWS_CHROMEDRIVER", "/usr/bin/chromedriver"))
SCREENSHOTS = REPO / "build" / "screenshots"
INSTALL = "apt-get install -y chromium chromium-driver, and pip install selenium (.[dev])"


def _no_browser(why: str) -> None:
    if os.environ.get("UIR_NEWS_NO_BROWSER") == "1":
        pytest.skip(f"NO BROWSER TEST RUN: {why} (UIR_NEWS_NO_BROWSER=1 is set)")
    pytest.fail(f"the browser test needs {why}: {INSTALL}; or set UIR_NEWS_NO_BROWSER=1")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One Chromium for the module's tests (it takes a second to start)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _no_browser("selenium")
    for program in (CHROMIUM, CHROMEDRIVER):
        if not os.access(program, os.X_OK):
            _no_browser(f"{program}")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1600",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(autouse=True)
def _datasette_leaks_collected() -> None:
    """As in test_serve: Datasette 0.65 leaves two throwaway connections to the collector."""
    gc.collect()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "unclosed database", ResourceWarning)
        import datasette.filters  # noqa: F401
        from datasette.utils.sqlite import sqlite_version

        sqlite_version()
        gc.collect()


def _pick_article(catalog: Path) -> tuple[int, str, str, list[str], str]:
    """(id, title, date, image URLs, a body sentence) of a dated article with images."""
    import json

    with closing(sqlite3.connect(catalog)) as conn:
        rows = conn.execute(
            "SELECT a.id, v.record_json FROM articles a JOIN versions v "
            "ON v.id = a.current_version_id ORDER BY a.id"
        ).fetchall()
    for article_id, text in rows:
        record = json.loads(text)
        images = [str(i["url"]) for i in record.get("images") or []]
        words = re.findall(r"[\u4e00-\u9fff]{4,}", str(record.get("title") or ""))
        sentences = [s for s in re.split(r"[。\n]", str(record.get("body_text"))) if len(s) > 10]
        if images and words and record.get("published_at") and sentences:
            date = str(record["published_at"])[:10]
            return int(article_id), str(record["title"]), date, images, sentences[0]
    raise AssertionError("the replica has no dated article with images")


def _forget_captures(layout: ArchiveLayout, urls: list[str]) -> None:
    """Make ``urls`` "not archived": the catalog and the replay index forget their captures."""
    conn = sqlite3.connect(layout.catalog_path)
    try:
        with conn:
            conn.executemany("DELETE FROM captures WHERE url = ?", [(url,) for url in urls])
    finally:
        conn.close()
    index = index_path(layout)
    lines = index.read_text("utf-8").splitlines(keepends=True)
    index.write_text(
        "".join(line for line in lines if not any(f'"{url}"' in line for url in urls)), "utf-8"
    )


def _shot(driver: Any, tmp_path: Path, name: str) -> None:
    # The whole page, not the window: make the window as tall as the document (measured
    # in a short window: a document is never shorter than the window it is in).
    driver.set_window_size(1280, 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(900, min(int(height) + 40, 6000)))
    path = tmp_path / name
    driver.save_screenshot(str(path))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENSHOTS / name)


def _images_loaded(driver: Any, selector: str) -> list[tuple[str, bool]]:
    result: list[list[Any]] = driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".map(i => [i.src, i.complete && i.naturalWidth > 0]);",
        selector,
    )
    return [(str(src), bool(ok)) for src, ok in result]


def test_a_researcher_searches_in_chinese_and_follows_a_hit_to_the_archive(
    crawled: Crawled, tmp_path: Path, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    archive = tmp_path / "archive"
    shutil.copytree(crawled.archive, archive, ignore=shutil.ignore_patterns("uir-news.lock"))
    layout = ArchiveLayout(archive)
    article_id, title, date, images, sentence = _pick_article(layout.catalog_path)
    # The crawl archived every image; the others play one it could not fetch.
    archived, not_archived = images[:1], images[1:]
    _forget_captures(layout, not_archived)
    query = re.findall(r"[\u4e00-\u9fff]{4,}", title)[0][:4]
    wait = WebDriverWait(browser, 30)

    with serving(layout.catalog_path) as base:
        live_requests = len(crawled.server.requests)

        # 1. Datasette's home page links to the search page; the search, in Chinese, by date.
        browser.get(base + "/")
        browser.find_element(By.LINK_TEXT, "Search the archive").click()
        wait.until(ec.presence_of_element_located((By.ID, "q")))
        browser.find_element(By.ID, "q").send_keys(query)
        browser.find_element(By.ID, "since").send_keys(date[:7])
        browser.find_element(By.ID, "until").send_keys(date)
        browser.find_element(By.ID, "search-button").click()
        count = wait.until(ec.presence_of_element_located((By.ID, "count"))).text
        assert re.search(r"\d+ results?", count), count
        hit = browser.find_element(By.CSS_SELECTOR, f'li.result[data-article-id="{article_id}"]')
        assert browser.find_elements(By.CSS_SELECTOR, "li.result mark"), "no highlighted match"
        for meta in browser.find_elements(By.CSS_SELECTOR, "li.result .meta"):
            assert date[:7] + "-01" <= meta.text[:10] <= date, meta.text  # the date filter
        _shot(browser, tmp_path, "1-search.png")

        # 2. The hit's article page: title, credits, body, its archived image shown.
        hit.find_element(By.CSS_SELECTOR, "a.article-link").click()
        heading = wait.until(ec.presence_of_element_located((By.ID, "title")))
        assert heading.text == title
        assert sentence in browser.find_element(By.ID, "body").text
        assert "终审" in browser.find_element(By.ID, "credits").text
        loaded = _images_loaded(browser, "figure.archived-image img")
        assert len(loaded) == len(archived) and all(ok for _, ok in loaded), loaded
        assert all("/-/uir-news/archived/" in src for src, _ in loaded)
        missing = browser.find_elements(By.CSS_SELECTOR, "figure.missing")
        assert len(missing) == len(not_archived)
        _shot(browser, tmp_path, "2-article.png")

        # 3. Its archived copy, served from the WARC: the text and the archived image.
        browser.find_element(By.ID, "archived-copy").click()
        wait.until(ec.presence_of_element_located((By.ID, "uir-news-banner")))
        assert sentence in browser.find_element(By.TAG_NAME, "body").text
        loaded = _images_loaded(browser, "img")
        assert loaded and all(src.startswith(base + "/-/uir-news/archived/") for src, _ in loaded)
        by_name = {src.rsplit("/", 1)[1]: ok for src, ok in loaded}
        for url in archived:
            assert by_name[url.rsplit("/", 1)[1]], f"archived image did not load: {url}"
        for url in not_archived:
            assert not by_name.get(url.rsplit("/", 1)[1], False), f"loaded, not archived: {url}"
        _shot(browser, tmp_path, "3-archived-copy.png")

        # 4. A malformed query is explained, not answered with "0 results".
        browser.get(base + "/-/uir-news/search")
        browser.find_element(By.ID, "q").send_keys('"国际 关系')
        browser.find_element(By.ID, "search-button").click()
        error = wait.until(ec.presence_of_element_located((By.ID, "error"))).text
        assert "unbalanced quote" in error
        _shot(browser, tmp_path, "4-query-error.png")

        # Nothing came from the live site: every page and image was the archive's.
        assert len(crawled.server.requests) == live_requests


@dataclass(frozen=True)
class EventsArchive:
    """Two sites, three columns, crawled twice: two edits and a take-down between."""

    archive: Path
    uir_site: str
    campus_site: str
    edited_title: str
    new_title: str
    removed_title: str


@pytest.fixture
def events_archive(tmp_path: Path) -> EventsArchive:
    archive = tmp_path / "events-archive"
    # Small sites: 国关要闻 and 通知公告 of the default site, 学校要闻 of the campus site.
    # 12 campus articles: a short last listing page (once mistaken for page links).
    sites: list[dict[str, Any]] = [{"n_articles": 12}, {"theme": "campus", "n_articles": 12}]
    with running_replicas(sites) as (uir, campus):
        starts = [uir.start_url, uir.url("/tzgg.htm"), campus.start_url]
        args = [arg for url in starts for arg in ("--start-url", url)]
        run_cli("crawl", *args, "--archive", archive)
        edited, removed = uir.site.articles[2], uir.site.articles[4]
        old_title, new_title = campus.site.articles[1].title, "更正：云麓大学召开学术年会"
        uir.site.edit(edited.news_id)
        uir.site.take_down(removed.news_id)
        campus.site.edit(campus.site.articles[1].news_id, title=new_title)
        run_cli("crawl", *args, "--archive", archive, "--full")
        return EventsArchive(
            archive,
            f"127.0.0.1:{uir.port}",
            f"127.0.0.1:{campus.port}",
            old_title,
            new_title,
            removed.title,
        )


def _facet(driver: Any, column: str) -> dict[str, int]:
    """Datasette's facet of ``column``: {value: count}."""
    from selenium.webdriver.common.by import By

    items = driver.find_elements(By.CSS_SELECTOR, f"#facet-{column} li")
    # "edited 2", or once chosen "edited · 2 ✖"
    found = (re.fullmatch(r"(.+?)(?: ·)? ([\d,]+)(?: ✖)?", item.text.strip()) for item in items)
    return {m.group(1): int(m.group(2).replace(",", "")) for m in found if m}


def _cells(driver: Any, column: str) -> list[str]:
    from selenium.webdriver.common.by import By

    return [td.text for td in driver.find_elements(By.CSS_SELECTOR, f"td.col-{column}")]


def _cjk_drawn(driver: Any) -> bool:
    """Whether two different Chinese characters draw differently in the page's font:
    without a CJK font both are the same "missing glyph" box."""
    drawn: bool = driver.execute_script(
        """
        const font = getComputedStyle(document.body).fontSize + ' ' +
                     getComputedStyle(document.body).fontFamily;
        const draw = (ch) => {
          const canvas = document.createElement('canvas');
          canvas.width = canvas.height = 40;
          const ctx = canvas.getContext('2d');
          ctx.font = font; ctx.fillText(ch, 2, 30);
          return Array.from(ctx.getImageData(0, 0, 40, 40).data).join();
        };
        const blank = draw(' ');
        return draw('国') !== draw('关') && draw('国') !== blank;
        """
    )
    return drawn


def test_edits_and_take_downs_of_two_sites_read_in_the_browser(
    events_archive: EventsArchive, tmp_path: Path, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    got = events_archive
    catalog = got.archive / "catalog.sqlite"
    with closing(sqlite3.connect(catalog)) as conn:
        per_column = {
            (str(column), str(site)): int(n)
            for column, site, n in conn.execute(
                "SELECT column_name, site, count(*) FROM articles GROUP BY 1, 2"
            )
        }
        removed_at = conn.execute("SELECT seen_at FROM events WHERE kind = 'removed'").fetchone()
    assert set(per_column) == {
        ("国关要闻", got.uir_site),
        ("通知公告", got.uir_site),
        ("学校要闻", got.campus_site),
    }
    wait = WebDriverWait(browser, 30)

    with serving(catalog) as base:
        # 1. The changes view: every event, with facets by kind, column and site.
        browser.get(base + "/catalog/changes?_size=20")  # facets count every row
        wait.until(ec.presence_of_element_located((By.ID, "facet-kind")))
        articles = sum(per_column.values())
        assert _facet(browser, "kind") == {"new": articles, "edited": 2, "removed": 1}
        assert _facet(browser, "column_name") == {
            "国关要闻": per_column["国关要闻", got.uir_site] + 2,  # its edit and take-down
            "通知公告": per_column["通知公告", got.uir_site],
            "学校要闻": per_column["学校要闻", got.campus_site] + 1,  # its edit
        }
        assert set(_facet(browser, "site")) == {got.uir_site, got.campus_site}
        assert _cjk_drawn(browser), "Chinese text draws as missing glyphs: install a CJK font"
        _shot(browser, tmp_path, "5-changes.png")

        # 2. A click on a facet narrows it: the edits, then the edits of the campus site.
        browser.find_element(By.CSS_SELECTOR, "#facet-kind").find_element(
            By.LINK_TEXT, "edited"
        ).click()
        wait.until(lambda d: _facet(d, "kind") == {"edited": 2})
        assert _cells(browser, "kind") == ["edited", "edited"]
        assert "{" not in " ".join(_cells(browser, "detail_json"))  # words, not raw JSON
        browser.find_element(By.CSS_SELECTOR, "#facet-site").find_element(
            By.LINK_TEXT, got.campus_site
        ).click()
        wait.until(lambda d: len(_cells(d, "kind")) == 1)
        assert _cells(browser, "column_name") == ["学校要闻"]
        assert _cells(browser, "detail_json") == ["edited: title"]
        _shot(browser, tmp_path, "6-changes-faceted.png")

        # 3. Its title opens the article page: its history and the title's diff.
        browser.find_element(By.CSS_SELECTOR, "td.col-title a").click()
        heading = wait.until(ec.presence_of_element_located((By.ID, "title")))
        assert heading.text == got.new_title
        kinds = [
            row.get_attribute("class")
            for row in browser.find_elements(By.CSS_SELECTOR, "#events tr.event")
        ]
        assert kinds == ["event event-new", "event event-edited"]
        diff = browser.find_element(By.CSS_SELECTOR, "pre.diff").text
        assert f"-{got.edited_title}" in diff and f"+{got.new_title}" in diff
        assert browser.find_element(By.ID, "status-fact").text == "listed"
        assert not browser.find_elements(By.ID, "status")
        _shot(browser, tmp_path, "7-edited-article.png")

        # 4. The removed article says so, and since when.
        browser.get(base + "/catalog/changes?kind=removed")
        browser.find_element(By.CSS_SELECTOR, "td.col-title a").click()
        status = wait.until(ec.presence_of_element_located((By.ID, "status"))).text
        assert browser.find_element(By.ID, "title").text == got.removed_title
        assert "Removed from the site" in status and "answers 404" in status
        assert removed_at[0] in status
        assert "event-removed" in browser.find_elements(By.CSS_SELECTOR, "#events tr.event")[
            -1
        ].get_attribute("class")
        _shot(browser, tmp_path, "8-removed-article.png")

        # 5. The search page narrowed to one column of one site.
        browser.get(base + "/-/uir-news/search")
        Select(browser.find_element(By.ID, "site")).select_by_value(got.uir_site)
        Select(browser.find_element(By.ID, "column")).select_by_value("通知公告")
        browser.find_element(By.ID, "search-button").click()
        count = wait.until(ec.presence_of_element_located((By.ID, "count"))).text
        assert count.startswith(f"{per_column['通知公告', got.uir_site]} articles"), count
        results = browser.find_elements(By.CSS_SELECTOR, "li.result")
        assert results
        assert {r.find_element(By.CSS_SELECTOR, ".column").text for r in results} == {"通知公告"}
        assert {r.find_element(By.CSS_SELECTOR, ".site").text for r in results} == {got.uir_site}
        assert "3 columns on 2 sites" in browser.find_element(By.CSS_SELECTOR, ".uir p.muted").text
        assert _cjk_drawn(browser)
        _shot(browser, tmp_path, "9-search-one-column.png")
