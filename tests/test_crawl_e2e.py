"""Issue 2 end to end: crawl the whole replica over HTTP into JSON + WARC."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from archive.storage.records import validation_errors
from archive.storage.warc import WarcPointer, iter_records, list_warcs, read_record
from replica.model import ListingLayout
from replica.server import ReplicaServer
from replica.site import ReplicaSite
from tests.helpers.cli import Crawled, crawl, run_cli, scrapy_crawl
from tests.helpers.warc import warcio_check

pytestmark = pytest.mark.e2e


def _exported(archive: Path, tmp_path: Path) -> list[dict[str, Any]]:
    out = tmp_path / "export.jsonl"
    run_cli("export", "--archive", archive, "--format", "jsonl", "-o", out)
    return [json.loads(line) for line in out.read_text("utf-8").splitlines()]


def test_every_article_archived_exactly_once(crawled: Crawled, tmp_path: Path) -> None:
    records = _exported(crawled.archive, tmp_path)
    site = crawled.server.site
    expected_urls = {crawled.server.base_url + a.path for a in site.articles}
    urls = [r["url"] for r in records]
    assert len(urls) == len(set(urls)), "an article was exported twice"
    assert set(urls) == expected_urls
    assert len(records) >= 200
    summary = crawled.result.last_summary(crawled.archive)
    assert summary["exit_code"] == 0
    assert summary["listing_pages"] == site.n_pages >= 14
    # Link-type items are recorded, never followed.
    offsite = [e for e in summary["external_items"] if e["kind"] == "external"]
    assert offsite and all(urlsplit(e["url"]).hostname != "127.0.0.1" for e in offsite)


def test_every_record_is_valid_against_the_schema(crawled: Crawled, tmp_path: Path) -> None:
    for record in _exported(crawled.archive, tmp_path):
        assert validation_errors(record) == [], record["url"]


def test_every_fetched_page_is_a_response_record_in_a_valid_warc(crawled: Crawled) -> None:
    warcs = list_warcs(crawled.archive / "warc")
    assert warcs and not list((crawled.archive / "warc").glob("*.open"))
    archived: Counter[str] = Counter()
    for path in warcs:
        assert warcio_check(path).returncode == 0, path
        kinds = []
        for _, record, stored in iter_records(path):
            kinds.append(record.rec_type)
            if record.rec_type == "response":
                archived[
                    urlsplit(stored.url).path
                    + ("?" + urlsplit(stored.url).query if urlsplit(stored.url).query else "")
                ] += 1
        assert kinds[0] == "warcinfo"
        assert kinds.count("request") == kinds.count("response")
    served = Counter(r.path for r in crawled.requests)
    assert "/robots.txt" in served
    assert served == archived


def test_record_pointer_leads_to_its_page(crawled: Crawled, tmp_path: Path) -> None:
    site = crawled.server.site
    for record in _exported(crawled.archive, tmp_path):
        stored = read_record(crawled.archive / "warc", WarcPointer.from_dict(record["warc"]))
        assert stored.record_type == "response" and stored.status == 200
        assert stored.url == record["url"]
        status, _, body = site.respond("GET", urlsplit(record["url"]).path)
        assert status == 200 and stored.body == body


def test_user_agent_is_descriptive(crawled: Crawled) -> None:
    agents = {
        next((v for k, v in r.headers.items() if k.lower() == "user-agent"), "")
        for r in crawled.requests
    }
    assert len(agents) == 1
    (agent,) = agents
    assert agent.startswith("uir-news/") and "+http" in agent


def test_parse_command_on_the_seed_article(crawled: Crawled, tmp_path: Path) -> None:
    site = crawled.server.site
    seed = site.seed_article
    url = crawled.server.base_url + seed.path
    _, _, body = site.respond("GET", seed.path)
    page = tmp_path / "seed.htm"
    page.write_bytes(body)
    record = json.loads(run_cli("parse", page, "--url", url).stdout)
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
    assert record["body_text"].startswith("为纪念中国共产党成立104周年")
    assert record["body_text"].endswith("为建党104周年增光添彩。")
    # Page furniture: credits, footer, share widget, breadcrumb. (The body
    # itself says 交流分享, so 分享 alone is not furniture.)
    furniture = ("一校", "二校", "终审", "地址：", "邮编", "电话", "版权所有", "分享：", "当前位置")
    for text in furniture:
        assert text not in record["body_text"]


def test_parse_command_rejects_bad_input(tmp_path: Path) -> None:
    missing = run_cli("parse", tmp_path / "nope.htm", check=False)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert "Traceback" not in missing.stderr
    notfound = tmp_path / "404.htm"
    notfound.write_text("<html><head><title>404错误提示</title></head><body>404</body></html>")
    result = run_cli("parse", notfound, "--url", "http://127.0.0.1/x.htm", check=False)
    assert result.returncode == 1 and "not_found" in result.stderr


def test_verify_replay_and_wacz_on_the_crawled_archive(crawled: Crawled, tmp_path: Path) -> None:
    archive = crawled.archive
    verify = run_cli("verify", "--archive", archive)
    assert verify.stdout.startswith("verify: OK"), verify.stdout

    site = crawled.server.site
    seed_url = crawled.server.base_url + site.seed_article.path
    out = tmp_path / "seed.html"
    run_cli("replay", seed_url, "--archive", archive, "-o", out)
    assert out.read_bytes() == site.respond("GET", site.seed_article.path).body
    # By news id, as `show` takes it.
    by_id = tmp_path / "by-id.html"
    run_cli("replay", str(site.seed_article.news_id), "--archive", archive, "-o", by_id)
    assert by_id.read_bytes() == out.read_bytes()
    unknown = run_cli("replay", "99999999", "--archive", archive, check=False)
    assert unknown.returncode == 2 and "neither a URL nor" in unknown.stderr

    wacz = tmp_path / "uir-news.wacz"
    run_cli("export", "--archive", archive, "--format", "wacz", "-o", wacz)
    validated = subprocess.run(
        [sys.executable, "-m", "wacz", "validate", "-f", str(wacz)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    with zipfile.ZipFile(wacz) as bundle:
        pages = bundle.read("pages/pages.jsonl").decode("utf-8").splitlines()
    urls = {json.loads(line).get("url") for line in pages[1:]}
    assert seed_url in urls and len(urls) == len(site.articles)


@pytest.mark.parametrize("layout", ["classic", "summary"])
def test_other_listing_layouts_are_crawled_completely(
    tmp_path: Path, layout: ListingLayout
) -> None:
    site = ReplicaSite(listing_layout=layout)
    archive = tmp_path / "archive"
    with ReplicaServer(site) as server:
        result = crawl(server, archive)
        expected = {server.base_url + a.path for a in site.articles}
    summary = result.last_summary(archive)
    assert summary["listing_pages"] == site.n_pages
    assert summary["articles"]["new_versions"] == len(expected)
    out = tmp_path / "export.jsonl"
    run_cli("export", "--archive", archive, "--format", "jsonl", "-o", out)
    urls = [json.loads(line)["url"] for line in out.read_text("utf-8").splitlines()]
    assert sorted(urls) == sorted(expected)


def _scrapy_crawl(server: ReplicaServer, archive: Path, backlog_bytes: int) -> str:
    """`scrapy crawl gxyw` with a given archiver backlog limit; its log (with Scrapy's stats)."""
    result = scrapy_crawl(
        server,
        archive,
        "-s",
        f"UIR_NEWS_ARCHIVER_BACKLOG_BYTES={backlog_bytes}",
        "-s",
        "LOG_LEVEL=INFO",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


def test_records_are_the_same_whichever_process_parses_them(
    crawled: Crawled, tmp_path: Path
) -> None:
    """The crawl process parses pages while the archiver is behind: same records."""
    articles = len(crawled.server.site.articles)
    # -1: always "behind", every page is parsed in the crawl process; 2**40: never.
    log = _scrapy_crawl(crawled.server, tmp_path / "by-crawl", -1)
    assert f"'archive/parsed_in_crawl_process': {articles}," in log
    log = _scrapy_crawl(crawled.server, tmp_path / "by-archiver", 2**40)
    assert "archive/parsed_in_crawl_process" not in log

    def content(archive: Path) -> dict[str, dict[str, Any]]:
        volatile = {"fetched_at", "warc"}
        return {
            r["url"]: {k: v for k, v in r.items() if k not in volatile}
            for r in _exported(archive, tmp_path)
        }

    by_crawl, by_archiver = content(tmp_path / "by-crawl"), content(tmp_path / "by-archiver")
    assert len(by_crawl) == articles
    assert by_crawl == by_archiver
