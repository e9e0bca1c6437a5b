"""The crawl's plan: ``--start-url`` given many times and ``--config FILE`` (TOML)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crawler.columns import ColumnWalk, info_column_id
from crawler.extract import parse_listing
from crawler.sites import (
    ColumnSpec,
    ConfigError,
    load_config,
    plan_from_data,
    plan_from_start_urls,
)
from tests.helpers.cli import REPO

CONFIG = """
[[sites]]
url = "http://127.0.0.1:8001/"
delay = 0.5
concurrency = 2
autothrottle = false

  [[sites.columns]]
  url = "ggyw.htm"
  name = "要闻"
  id = 7

  [[sites.columns]]
  name = "通知公告"

[[sites]]
url = "http://127.0.0.1:8002/"

  [[sites.columns]]
  url = "http://127.0.0.1:8002/xwzx/xxyw.htm"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sites.toml"
    path.write_text(text, "utf-8")
    return path


def test_a_config_names_sites_columns_and_politeness(tmp_path: Path) -> None:
    plan = load_config(_write(tmp_path, CONFIG))
    assert [site.site for site in plan.sites] == ["127.0.0.1:8001", "127.0.0.1:8002"]
    first, found, other = plan.columns
    # A relative column URL is read against the site's url.
    assert first == ColumnSpec(url="http://127.0.0.1:8001/ggyw.htm", name="要闻", id=7)
    assert found == ColumnSpec(name="通知公告", homes=("http://127.0.0.1:8001/",))
    assert other.url == "http://127.0.0.1:8002/xwzx/xxyw.htm" and other.name is None
    assert plan.hosts() == ["127.0.0.1"]
    # Only the site that sets its politeness gets its own slot settings.
    assert plan.download_slots() == {"127.0.0.1:8001": {"delay": 0.5, "concurrency": 2}}
    assert plan.fixed_delay_sites() == ["127.0.0.1:8001"]


def test_the_example_config_is_valid() -> None:
    plan = load_config(REPO / "examples" / "sites.toml")
    assert len(plan.columns) == 3


def test_start_urls_make_one_column_each_grouped_by_site() -> None:
    plan = plan_from_start_urls(
        [
            "http://a.example/ggyw.htm",
            "http://a.example/tzgg.htm",
            "http://a.example:8080/ggyw.htm",
            "http://a.example/ggyw.htm",  # twice: once
        ]
    )
    assert [(s.site, len(s.columns)) for s in plan.sites] == [
        ("a.example", 2),
        ("a.example:8080", 1),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no [[sites]]"),
        ("sitez = 1", "top level: unknown key 'sitez'"),
        ('[[sites]]\nurl = "http://a.example/"', "sites[0]: no [[sites.columns]]"),
        (
            '[[sites]]\nurl = "http://a.example/"\ndelai = 1\n[[sites.columns]]\nurl = "a.htm"',
            "sites[0]: unknown key 'delai'",
        ),
        (
            '[[sites]]\n[[sites.columns]]\nurl = "http://a.example/a.htm"\ncolum = "x"',
            "sites[0].columns[0]: unknown key 'colum'",
        ),
        ('[[sites]]\n[[sites.columns]]\nurl = "a.htm"', "not an absolute http(s) URL"),
        (
            '[[sites]]\nurl = "ftp://a.example/"\n[[sites.columns]]\nurl = "a.htm"',
            "sites[0].url: not an absolute http(s) URL",
        ),
        (
            '[[sites]]\nurl = "http://a.example/"\n[[sites.columns]]\nid = 3',
            "sites[0].columns[0]: a column needs a url (its first listing page) or a name",
        ),
        ('[[sites]]\n[[sites.columns]]\nname = "通知公告"', "its site needs a url"),
        (
            '[[sites]]\n[[sites.columns]]\nurl = "http://a.example/a.htm"\nid = "7"',
            "sites[0].columns[0].id: must be a positive whole number",
        ),
        (
            '[[sites]]\nurl = "http://a.example/"\ndelay = -1\n[[sites.columns]]\nurl = "a.htm"',
            "sites[0].delay",
        ),
        (
            '[[sites]]\n[[sites.columns]]\nurl = "http://a.example/a.htm"\n'
            '[[sites.columns]]\nurl = "http://b.example/b.htm"',
            "its columns are on several sites",
        ),
        ("[[sites]\n", "not valid TOML"),
        # Found by people (#12): each was accepted and crawled, or hung.
        (
            '[[sites]]\nurl = "http://a.example/"\ndelay = nan\n[[sites.columns]]\nurl = "a.htm"',
            "sites[0].delay: seconds between requests, from 0 to 60, not nan",
        ),
        (
            '[[sites]]\nurl = "http://a.example/"\ndelay = inf\n[[sites.columns]]\nurl = "a.htm"',
            "sites[0].delay",
        ),
        (
            '[[sites]]\nurl = "http://a.example/"\ndelay = 61\n[[sites.columns]]\nurl = "a.htm"',
            "sites[0].delay",
        ),
        (
            '[[sites]]\nurl = "http://a.example/"\n[[sites.columns]]\nurl = "http://b.example/b.htm"',
            "sites[0].columns[0].url: http://b.example/b.htm is on b.example, "
            "not on its site a.example",
        ),
        (
            '[[sites]]\nurl = "http://a.example/"\n[[sites.columns]]\nurl = "a.htm"\n'
            '[[sites.columns]]\nurl = "http://a.example/a.htm"',
            "sites[0].columns[1]: the same column as sites[0].columns[0] "
            "(url http://a.example/a.htm on a.example)",
        ),
        (
            '[[sites]]\nurl = "http://a.example/"\n[[sites.columns]]\nname = "通知公告"\n'
            '[[sites.columns]]\nname = " 通知公告"',
            "sites[0].columns[1]: the same column as sites[0].columns[0] (name 通知公告",
        ),
        (
            '[[sites]]\nurl = "http://a.example/"\n[[sites.columns]]\nurl = "a.htm"\nid = 7\n'
            '[[sites.columns]]\nurl = "b.htm"\nid = 7',
            "sites[0].columns[1]: the same column as sites[0].columns[0] (id 7",
        ),
        (
            '[[sites]]\nurl = "http://a.example/"\n[[sites.columns]]\nurl = "a.htm"\n'
            '[[sites]]\nurl = "http://a.example/x/"\n[[sites.columns]]\nurl = "../a.htm"',
            "sites[1].columns[0]: the same column as sites[0].columns[0]",
        ),
        (
            '[[sites]]\nurl = "http://a.example/"\ndelay = 1\n[[sites.columns]]\nurl = "a.htm"\n'
            '[[sites]]\nurl = "http://a.example/"\ndelay = 5\n[[sites.columns]]\nurl = "b.htm"',
            "sites[1]: a.example is already sites[0], with other delay/concurrency/autothrottle",
        ),
    ],
)
def test_a_bad_config_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        load_config(_write(tmp_path, text))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
def test_a_config_that_is_not_a_regular_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    # A FIFO or /dev/zero used to hang the crawl: reading never ended.
    path = tmp_path / "sites.toml"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(path)


def test_sites_of_one_host_named_twice_are_one_site() -> None:
    plan = plan_from_data(
        {
            "sites": [
                {"columns": [{"url": "http://a.example/a.htm"}]},
                {"columns": [{"url": "http://a.example/b.htm"}]},
            ]
        }
    )
    assert len(plan.sites) == 1 and len(plan.columns) == 2


def test_a_start_url_the_config_names_is_walked_once_as_the_config_says() -> None:
    config = plan_from_data(
        {"sites": [{"columns": [{"url": "http://a.example/a.htm", "name": "要闻", "id": 7}]}]}
    )
    plan = config.merged(plan_from_start_urls(["http://a.example/a.htm", "http://a.example/b.htm"]))
    assert plan.columns == [
        ColumnSpec(url="http://a.example/a.htm", name="要闻", id=7),
        ColumnSpec(url="http://a.example/b.htm"),
    ]


def test_a_site_named_twice_may_repeat_its_politeness() -> None:
    site = {"url": "http://a.example/", "delay": 2}
    plan = plan_from_data(
        {
            "sites": [
                {**site, "columns": [{"url": "a.htm"}]},
                {**site, "columns": [{"url": "b.htm"}]},
                {"url": "http://a.example/", "columns": [{"url": "c.htm"}]},
            ]
        }
    )
    assert len(plan.columns) == 3 and plan.download_slots() == {"a.example": {"delay": 2.0}}


def test_a_column_id_is_what_most_items_carry() -> None:
    assert info_column_id("http://a.example/info/1031/20543.htm") == 1031
    assert info_column_id("http://a.example/content.jsp?wbtreeid=1") is None
    # The listing's id (the spider takes the extractor's): what most of its items carry.
    rows = "".join(
        f'<li id="line_u8_{i}"><a href="info/{cid}/{i}.htm">标题{i}</a><span>2025-07-14</span></li>'
        for i, cid in enumerate((1031, 1032, 1031))
    )
    page = parse_listing(f"<html><body><ul>{rows}</ul></body></html>", "http://a.example/x.htm")
    assert page.column_id == 1031
    assert (
        parse_listing("<html><body><p>空</p></body></html>", "http://a.example/x.htm").column_id
        is None
    )


def test_the_config_wins_over_the_pages_and_the_pages_decide_membership() -> None:
    walk = ColumnWalk(ColumnSpec(url="http://a.example/ggyw.htm", name="要闻", id=7))
    walk.settle("国关要闻", 1031)
    assert (walk.name, walk.id, walk.page_id) == ("要闻", 7, 1031)
    assert walk.key == "a.example 7"
    label = walk.label()
    assert label.name_wins and label.id_wins
    read = ColumnWalk(ColumnSpec(url="http://a.example/tzgg.htm"))
    read.settle("通知公告", 1032)
    assert (read.name, read.id, read.key) == ("通知公告", 1032, "a.example 1032")
    assert not read.label().name_wins
