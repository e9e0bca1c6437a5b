"""The replica's fault mode: a deterministic plan, and every fault really happening over HTTP."""

from __future__ import annotations

import gzip
import http.client
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import pytest

from replica.faults import (
    ARCHIVED,
    ARTICLE_FAULTS,
    Fault,
    FaultPlan,
    FaultyResponse,
    NoFaults,
    Request,
    Response,
)
from replica.server import ReplicaServer
from replica.site import ReplicaSite

N_ARTICLES = 60
SLOW = 0.6  # seconds a slow answer waits in these tests; clients time out at a third of it


def make_site(**plan_kwargs: Any) -> tuple[ReplicaSite, FaultPlan]:
    plan = FaultPlan(seed=1, slow_delay=SLOW, **plan_kwargs)
    return ReplicaSite(n_articles=N_ARTICLES, faults=plan), plan


def fault(plan: FaultPlan, site: ReplicaSite, kind: str) -> Fault:
    return next(f for f in plan.plan(site) if f.kind == kind)


@pytest.fixture
def served() -> Iterator[tuple[ReplicaServer, FaultPlan]]:
    """A fresh faulty replica per test: attempt counts start at zero."""
    site, plan = make_site()
    with ReplicaServer(site) as server:
        yield server, plan


def fetch(
    server: ReplicaServer, path: str, *, method: str = "GET", timeout: float = 5
) -> tuple[int, http.client.HTTPResponse, bytes]:
    """One request on a fresh connection; raises what the transport raises."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response, response.read()
    finally:
        conn.close()


# --- the plan -----------------------------------------------------------------------------------


def test_plan_is_deterministic_from_its_seed() -> None:
    site = ReplicaSite(n_articles=N_ARTICLES)
    assert FaultPlan(seed=1).plan(site) == FaultPlan(seed=1).plan(site)
    assert FaultPlan(seed=1).plan(site) != FaultPlan(seed=2).plan(site)
    # ...and the whole site, bytes included, with it.
    a, _ = make_site()
    b, _ = make_site()
    for f in FaultPlan(seed=1).plan(a):
        assert a.respond("GET", f.path) == b.respond("GET", f.path)


def test_plan_covers_every_kind_on_distinct_ordinary_articles() -> None:
    site, plan = make_site(per_kind=2)
    faults = plan.plan(site)
    assert sorted({f.kind for f in faults}) == sorted(ARTICLE_FAULTS)
    assert all(sum(f.kind == k for f in faults) == 2 for k in ARTICLE_FAULTS)
    ids = [f.news_id for f in faults]
    assert len(set(ids)) == len(ids)
    assert site.seed_article.news_id not in ids


def test_expected_outcomes_say_archived_or_reported_with_a_reason() -> None:
    site, plan = make_site()
    outcomes = plan.expected_outcomes(site)
    assert set(outcomes) == {f.path for f in plan.plan(site)}
    for f in plan.plan(site):
        assert outcomes[f.path] == ARTICLE_FAULTS[f.kind]
        assert outcomes[f.path] == ARCHIVED or re.fullmatch(
            r"reported:[a-z_0-9]+", outcomes[f.path]
        )
    outage = fault(plan, site, "outage").path
    assert outcomes[outage] == "reported:http_500"
    assert plan.expected_outcomes(site, run=2)[outage] == ARCHIVED
    assert {k for k, v in ARTICLE_FAULTS.items() if v == ARCHIVED} >= {
        "http_500",
        "http_503",
        "http_429",
        "slow",
        "gbk_as_utf8",
        "utf8_as_gbk",
        "no_charset",
        "malformed",
    }


def test_counts_choose_kinds_and_a_small_site_is_refused() -> None:
    site = ReplicaSite(n_articles=N_ARTICLES)
    only = FaultPlan(seed=3, per_kind=0, counts={"http_500": 3}).plan(site)
    assert [f.kind for f in only] == ["http_500"] * 3
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultPlan(counts={"gremlins": 1})
    with pytest.raises(ValueError, match="needs"):
        ReplicaSite(n_articles=5, faults=FaultPlan(seed=1))


def test_other_pages_are_untouched() -> None:
    site, plan = make_site()
    clean = ReplicaSite(n_articles=N_ARTICLES)
    faulted = {f.news_id for f in plan.plan(site)}
    for article in clean.articles:
        if article.news_id not in faulted:
            assert site.respond("GET", article.path) == clean.respond("GET", article.path)
    assert site.respond("GET", "/robots.txt") == clean.respond("GET", "/robots.txt")
    assert isinstance(NoFaults().after(*_dummy()), Response)


def _dummy() -> tuple[Request, Response]:
    return Request("GET", "/", {}), Response(200, {}, b"")


@pytest.mark.parametrize("k", [1, 2])
def test_transient_faults_clear_after_k_attempts(k: int) -> None:
    site, plan = make_site(transient_attempts=k)
    for kind, status in (("http_500", 500), ("http_503", 503), ("http_429", 429)):
        path = fault(plan, site, kind).path
        for _ in range(k):
            got = site.respond("GET", path)
            assert got.status == status
            if status != 500:
                assert got.headers["Retry-After"] == "1"
        assert site.respond("GET", path).status == 200
        assert site.respond("GET", path).status == 200
        assert plan.attempts(path) == k + 2
    for kind in ("slow", "reset_once", "truncated_once"):
        path = fault(plan, site, kind).path
        assert all(isinstance(site.respond("GET", path), FaultyResponse) for _ in range(k))
        assert not isinstance(site.respond("GET", path), FaultyResponse)


def test_outage_outlasts_four_attempts_then_heals() -> None:
    site, plan = make_site()
    path = fault(plan, site, "outage").path
    assert [site.respond("GET", path).status for _ in range(5)] == [500, 500, 500, 500, 200]


def test_attempts_are_counted_exactly_under_concurrency() -> None:
    site, plan = make_site(transient_attempts=40)
    path = fault(plan, site, "http_500").path
    statuses: list[int] = []
    lock = threading.Lock()

    def hit() -> None:
        for _ in range(10):
            status = site.respond("GET", path).status
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert plan.attempts(path) == 80
    assert statuses.count(500) == 40 and statuses.count(200) == 40


def test_rebinding_resets_the_counts() -> None:
    plan = FaultPlan(seed=1)
    site = ReplicaSite(n_articles=N_ARTICLES, faults=plan)
    path = fault(plan, site, "http_500").path
    assert site.respond("GET", path).status == 500
    ReplicaSite(n_articles=N_ARTICLES, faults=plan)
    assert plan.attempts(path) == 0


# --- every fault over real HTTP -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status"), [("http_500", 500), ("http_503", 503), ("http_429", 429)]
)
def test_error_statuses_then_success(
    served: tuple[ReplicaServer, FaultPlan], kind: str, status: int
) -> None:
    server, plan = served
    path = fault(plan, server.site, kind).path
    got, response, _ = fetch(server, path)
    assert got == status
    if status in (503, 429):
        assert response.getheader("Retry-After") == "1"
    assert fetch(server, path)[0] == 200


def test_slow_answer_times_out_then_answers(served: tuple[ReplicaServer, FaultPlan]) -> None:
    server, plan = served
    path = fault(plan, server.site, "slow").path
    with pytest.raises(TimeoutError):
        fetch(server, path, timeout=SLOW / 3)
    status, _, body = fetch(server, path, timeout=SLOW / 3)
    assert status == 200 and b"</html>" in body


@pytest.mark.parametrize("kind", ["reset_once", "reset"])
def test_reset_mid_body_is_seen_as_a_reset(
    served: tuple[ReplicaServer, FaultPlan], kind: str
) -> None:
    server, plan = served
    path = fault(plan, server.site, kind).path
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", path)
    response = conn.getresponse()
    assert response.status == 200  # the headers arrive; the body does not
    with pytest.raises(ConnectionResetError):
        response.read()
    conn.close()
    if kind == "reset_once":
        assert fetch(server, path)[0] == 200
    else:
        with pytest.raises((ConnectionResetError, http.client.IncompleteRead)):
            fetch(server, path)


@pytest.mark.parametrize("kind", ["truncated_once", "truncated"])
def test_truncated_body_is_short_of_content_length(
    served: tuple[ReplicaServer, FaultPlan], kind: str
) -> None:
    server, plan = served
    path = fault(plan, server.site, kind).path
    with pytest.raises(http.client.IncompleteRead) as caught:
        fetch(server, path)
    assert caught.value.expected is not None and caught.value.expected > 0
    assert len(caught.value.partial) > 0
    if kind == "truncated_once":
        status, response, body = fetch(server, path)
        assert status == 200 and len(body) == int(response.getheader("Content-Length") or 0)
    else:
        with pytest.raises(http.client.IncompleteRead):
            fetch(server, path)


def _meta_charset(body: bytes) -> str | None:
    m = re.search(rb"<meta[^>]*charset=([\w-]+)", body, re.I)
    return m.group(1).decode().lower() if m else None


def test_wrong_and_missing_charsets(served: tuple[ReplicaServer, FaultPlan]) -> None:
    server, plan = served
    site = server.site
    title = {f.kind: site.article(f.news_id or 0).title for f in plan.plan(site)}

    _, response, body = fetch(server, fault(plan, site, "gbk_as_utf8").path)
    assert "charset=utf-8" in (response.getheader("Content-Type") or "").lower()
    assert _meta_charset(body) == "utf-8"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert title["gbk_as_utf8"].split()[0] in body.decode("gbk")

    _, response, body = fetch(server, fault(plan, site, "utf8_as_gbk").path)
    assert "charset" not in (response.getheader("Content-Type") or "")
    assert _meta_charset(body) == "gbk"
    assert title["utf8_as_gbk"].split()[0] in body.decode("utf-8")

    for kind, codec in (("no_charset", "utf-8"), ("no_charset_gbk", "gbk")):
        _, response, body = fetch(server, fault(plan, site, kind).path)
        assert "charset" not in (response.getheader("Content-Type") or "")
        assert _meta_charset(body) is None
        assert title[kind].split()[0] in body.decode(codec)
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


def test_malformed_html(served: tuple[ReplicaServer, FaultPlan]) -> None:
    server, plan = served
    f = fault(plan, server.site, "malformed")
    status, _, body = fetch(server, f.path)
    assert status == 200
    assert b"\x00" in body
    assert body.count(b"</html>") == 2
    assert b"<p" in body and b"</p>" not in body
    assert server.site.article(f.news_id or 0).title.split()[0].encode() in body


def test_huge_page_announces_thirty_megabytes(served: tuple[ReplicaServer, FaultPlan]) -> None:
    server, plan = served
    path = fault(plan, server.site, "huge").path
    _, response, _ = fetch(server, path, method="HEAD")
    assert int(response.getheader("Content-Length") or 0) >= 30 * 1024 * 1024
    status, response, body = fetch(server, path)
    assert status == 200 and len(body) == int(response.getheader("Content-Length") or 0)
    assert body.rstrip().endswith(b"</html>")


def test_redirect_loop_and_offsite_redirect(served: tuple[ReplicaServer, FaultPlan]) -> None:
    server, plan = served
    path = fault(plan, server.site, "redirect_loop").path
    status, response, _ = fetch(server, path)
    first = response.getheader("Location") or ""
    assert status == 302 and first == server.url(path + "?loop=1")
    status, response, _ = fetch(server, path + "?loop=1")
    assert status == 302 and response.getheader("Location") == server.url(path)

    path = fault(plan, server.site, "redirect_offsite").path
    status, response, _ = fetch(server, path)
    location = response.getheader("Location") or ""
    assert status == 302 and location.startswith("http://offsite.invalid/")


def test_js_challenge_is_always_412(served: tuple[ReplicaServer, FaultPlan]) -> None:
    server, plan = served
    path = fault(plan, server.site, "js_challenge").path
    for _ in range(3):
        status, _, body = fetch(server, path)
        assert status == 412 and b"<script" in body and b"__jsl_clearance" in body


def test_corrupt_gzip_body(served: tuple[ReplicaServer, FaultPlan]) -> None:
    server, plan = served
    path = fault(plan, server.site, "bad_gzip").path
    status, response, body = fetch(server, path)
    assert status == 200 and response.getheader("Content-Encoding") == "gzip"
    assert body[:2] == b"\x1f\x8b"
    with pytest.raises((OSError, EOFError, zlib.error)):
        gzip.decompress(body)


def test_robots_disallows_a_path_the_listing_links(
    served: tuple[ReplicaServer, FaultPlan],
) -> None:
    server, plan = served
    f = fault(plan, server.site, "robots")
    assert f.path.startswith("/private/info/")
    robots = fetch(server, "/robots.txt")[2].decode()
    assert "Disallow: /private/" in robots.splitlines()
    listed = b"".join(fetch(server, p.path)[2] for p in server.site.listing_pages())
    assert f'href="{f.path}"'.encode() in listed
    hrefs = re.findall(rb'href="([^"]*info/1031/%d\.htm)"' % (f.news_id or 0), listed)
    assert hrefs == [f.path.encode()]  # linked under /private/ only
    status, _, body = fetch(server, f.path)  # served to whoever ignores robots.txt
    assert status == 200 and server.site.article(f.news_id or 0).title.split()[0] in body.decode()


def test_a_listing_page_links_to_itself(served: tuple[ReplicaServer, FaultPlan]) -> None:
    server, plan = served
    path = plan.self_link_path(server.site)
    _, _, body = fetch(server, path)
    hrefs = re.findall(rb'href="([^"]+)"', body)
    own = server.url(path)
    assert any(urljoin(own, h.decode()) == own for h in hrefs)


def test_outage_over_http(served: tuple[ReplicaServer, FaultPlan]) -> None:
    server, plan = served
    path = fault(plan, server.site, "outage").path
    assert [fetch(server, path)[0] for _ in range(5)] == [500, 500, 500, 500, 200]


def test_server_survives_clients_that_hang_up(served: tuple[ReplicaServer, FaultPlan]) -> None:
    server, plan = served
    huge = fault(plan, server.site, "huge").path
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"GET {huge} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 200")
    assert fetch(server, server.site.start_path)[0] == 200


def test_command_line_fault_mode() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "replica", "--port", "0", "--articles", "40", "--faults", "7"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "fault mode (seed 7)" in line
        url = re.search(r"http://\S+", line)
        assert url is not None
        with urllib.request.urlopen(url.group(0), timeout=5) as response:
            assert response.status == 200
        base = url.group(0).rsplit("/", 1)[0]
        site = ReplicaSite(n_articles=40)
        js = fault(FaultPlan(seed=7), site, "js_challenge").path
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(base + js, timeout=5)
        assert caught.value.code == 412
        caught.value.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
