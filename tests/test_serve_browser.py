"""The research pages in a real browser: headless Chromium (Debian's) driven by Selenium.

A Chinese search with a date filter on a crawl of the replica, a hit followed to
its article page and to its archived copy, the images of both loaded from the
archive, and not one request to the live site (the replica) while browsing.
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
from pathlib import Path
from typing import Any

import pytest

from archive.replay.cdxj import index_path
from archive.research.serve import serving
from archive.storage.layout import ArchiveLayout
from tests.helpers.cli import Crawled

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


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
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
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
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
    # The whole page, not the window: make the window as tall as the document.
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
