"""Shared fixtures: the replica site on loopback and crawls of it.

Crawls run `uir-news` in a subprocess, as cron would: Scrapy's reactor can
run only once per process, and a subprocess also exercises the real CLI.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from replica.server import ReplicaServer
from replica.site import ReplicaSite
from tests.helpers.cli import Crawled, crawl
from tests.helpers.synthetic_archive import Built, build_archive


@pytest.fixture(scope="session")
def replica() -> Iterator[ReplicaServer]:
    """The default replica site, shared and never mutated."""
    with ReplicaServer(ReplicaSite()) as server:
        yield server


@pytest.fixture
def fresh_replica() -> Iterator[ReplicaServer]:
    """A replica of one's own, for tests that publish or edit articles."""
    with ReplicaServer(ReplicaSite()) as server:
        yield server


@pytest.fixture(scope="session")
def crawled(replica: ReplicaServer, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    """An archive holding one full crawl of the shared replica."""
    archive = tmp_path_factory.mktemp("crawled") / "archive"
    replica.reset_log()
    result = crawl(replica, archive)
    return Crawled(archive, replica, replica.requests, result)


@pytest.fixture
def built(tmp_path: Path) -> Built:
    """A synthetic archive with responses, revisits, a 404 and a changed article."""
    return build_archive(tmp_path / "archive")
