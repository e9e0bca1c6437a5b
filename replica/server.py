"""Serve a `ReplicaSite` over real HTTP on loopback, for tests, the demo and benchmarks.

`ReplicaServer` runs a `ThreadingHTTPServer` in a daemon thread and records
every request it answers. `running_replica(**site_kwargs)` is the one-line
helper for tests; `running_replicas(n_or_specs)` serves several sites at once,
one port each (a site is a host:port), for multi-host crawls and benchmarks;
`main(argv)` is the command line behind `python -m replica` and
`uir-news replica`.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from replica.faults import FaultPlan, FaultyResponse
from replica.model import ALL_LISTING_LAYOUTS
from replica.site import ReplicaSite
from replica.themes import THEMES


@dataclass(frozen=True)
class LoggedRequest:
    """One answered request: what was asked, with which headers, and the status sent."""

    method: str
    path: str  # path and query as on the request line
    status: int
    headers: dict[str, str]
    #: When the request was read (time.perf_counter()), before any work or latency.
    received_at: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Scrapy expects of a real server
    timeout = 30  # an idle keep-alive connection does not pin a thread forever
    # Headers and body go out in separate writes; with Nagle on, a client that
    # waits for each answer (wget) stalls 40 ms on every one for a delayed ACK.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def _serve(self) -> None:
        received_at = time.perf_counter()
        # Drain any request body so the connection stays usable for the next request.
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)
        headers = {k: v for k, v in self.headers.items()}
        response = self.server.site.respond(self.command, self.path, headers)
        status, response_headers, body = response
        # Logged before the answer goes out, so a client that has its response sees the entry.
        self.server.owner.log(LoggedRequest(self.command, self.path, status, headers, received_at))
        faulty = response if isinstance(response, FaultyResponse) else None
        delay = self.server.owner.latency + (faulty.delay if faulty is not None else 0.0)
        if delay > 0:
            time.sleep(delay)
        try:
            self.send_response(status)
            for name, value in response_headers.items():
                self.send_header(name, value)
            if "Content-Length" not in response_headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if faulty is not None and faulty.cut_at is not None and self.command != "HEAD":
                self._cut(body[: faulty.cut_at], reset=faulty.reset)
            elif body and self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout, a download over its size limit): not our error.
            self.close_connection = True

    def _cut(self, part: bytes, *, reset: bool) -> None:
        """Send `part` of a body, then end the connection: a TCP reset, or a clean close."""
        self.wfile.write(part)
        self.close_connection = True
        if not reset:
            return  # socketserver shuts the socket down cleanly: the body ends short
        time.sleep(0.05)  # let the partial body leave the send buffer before the RST
        # SO_LINGER on with a zero timeout: close() sends RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def version_string(self) -> str:
        return "VWebServer"  # what VSB sites send; no Python version to fingerprint

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.owner.verbose:
            super().log_message(format, *args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # A test that restarts quickly on a fixed port should not trip over TIME_WAIT.
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], site: ReplicaSite, owner: ReplicaServer) -> None:
        self.site = site
        self.owner = owner
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        """Wake handler threads blocked on idle keep-alive connections so they exit."""
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the peer
                conn.shutdown(socket.SHUT_RDWR)


class ReplicaServer:
    """HTTP front of a `ReplicaSite` on loopback; a context manager that starts and stops it.

    `port=0` picks a free port. `requests` is a snapshot of the log of answered
    requests (thread-safe); `reset_log()` empties it.
    """

    def __init__(
        self,
        site: ReplicaSite,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        verbose: bool = False,
        latency: float = 0.0,
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"refusing to serve the replica on non-loopback host {host!r}")
        self.site = site
        self.host = host
        self.port = port
        self.verbose = verbose
        # Seconds added before every answer: a network's round trip, for
        # benchmarks that compare crawlers under realistic latency.
        self.latency = latency
        self._log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ReplicaServer:
        """Bind and serve in a daemon thread; OSError if the port is taken."""
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self.port), self.site, self)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"replica-{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close idle connections and the listening socket; idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_open_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> ReplicaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def start_url(self) -> str:
        """Page 1 of the column's listing, where it is now."""
        return self.base_url + self.site.start_path

    @property
    def home_url(self) -> str:
        """The site's home page, which links every column by name."""
        return self.base_url + "/"

    def url(self, path: str) -> str:
        """Absolute URL of a root-relative path on this server."""
        return self.base_url + path

    def log(self, entry: LoggedRequest) -> None:
        with self._log_lock:
            self._log.append(entry)

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._log_lock:
            return list(self._log)

    def reset_log(self) -> None:
        with self._log_lock:
            self._log.clear()


def is_loopback(host: str) -> bool:
    """True for localhost and addresses in 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextmanager
def running_replica(
    *, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0, **site_kwargs: Any
) -> Iterator[ReplicaServer]:
    """A fresh `ReplicaSite(**site_kwargs)` served on loopback for the `with` block.

    For pytest fixtures: `with running_replica(n_articles=40) as server: ...`;
    the site is `server.site`. `latency` (seconds) is added before every answer.
    """
    with ReplicaServer(ReplicaSite(**site_kwargs), host=host, port=port, latency=latency) as server:
        yield server


@contextmanager
def running_replicas(
    sites: int | Sequence[Mapping[str, Any]],
    *,
    host: str = "127.0.0.1",
    latency: float = 0.0,
    **common: Any,
) -> Iterator[list[ReplicaServer]]:
    """Several replica sites at once, each on its own free port (its own host:port).

    `sites` is a number N (N sites built alike from `common`, seeds
    `common.get("seed", 20250714) + i` so their articles differ) or one
    `ReplicaSite` keyword dict per site (each merged over `common`), e.g.
    `running_replicas([{}, {"theme": "campus"}], n_articles=60, latency=0.05)`.
    Every server waits `latency` seconds before each answer, like a network
    round trip. All are stopped when the block ends, even if one failed to start.
    """
    if isinstance(sites, int):
        if sites < 1:
            raise ValueError("the number of sites must be at least 1")
        first_seed = int(common.pop("seed", 20250714))
        specs: list[Mapping[str, Any]] = [{"seed": first_seed + i} for i in range(sites)]
    else:
        specs = list(sites)
    if latency < 0:
        raise ValueError("latency must not be negative")
    with ExitStack() as stack:
        servers = [
            stack.enter_context(
                ReplicaServer(ReplicaSite(**{**common, **spec}), host=host, latency=latency)
            )
            for spec in specs
        ]
        yield servers


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or "python -m replica",
        description=(
            "Serve replica VSB sites on loopback until Ctrl-C: by default the 国关要闻 "
            "column's site; --site campus for a second site in an older VSB theme; "
            "several sites at once with --site repeated or --count."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address")
    parser.add_argument(
        "--port", type=int, default=8000, help="port of the first site (the next: +1...), 0 for any"
    )
    parser.add_argument(
        "--site",
        action="append",
        choices=sorted(THEMES),
        default=None,
        help="which site to serve (repeat for several, one port each; default: uir)",
    )
    parser.add_argument(
        "--count",
        type=int,
        default=1,
        help="serve this many sites, cycling through --site, each with the next seed",
    )
    parser.add_argument("--seed", type=int, default=20250714, help="generator seed")
    parser.add_argument("--articles", type=int, default=230, help="articles of the main column")
    parser.add_argument("--page-size", type=int, default=15, help="items per listing page")
    parser.add_argument(
        "--listing-layout",
        choices=ALL_LISTING_LAYOUTS,
        default=None,
        help="listing markup of the main column (default: the site's own)",
    )
    parser.add_argument(
        "--column-path",
        default=None,
        help="where page 1 of the main column is served (default: /ggyw.htm for uir, "
        "/xwzx/xxyw.htm for campus)",
    )
    parser.add_argument(
        "--faults",
        type=int,
        metavar="SEED",
        default=None,
        help="fault mode: a FaultPlan with this seed (errors, slow, cut bodies, bad charsets...)",
    )
    parser.add_argument(
        "--slow-delay",
        type=float,
        default=5.0,
        help="with --faults: seconds a slow answer waits",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="wait this long before every answer, like a network round trip",
    )
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    return parser


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Command line: serve until Ctrl-C. Exit 0 on Ctrl-C, 2 on a non-loopback host or bad args."""
    args = build_parser(prog).parse_args(argv)
    if not is_loopback(args.host):
        print(
            f"error: --host {args.host} is not a loopback address; the replica only serves "
            "on 127.0.0.0/8, ::1 or localhost",
            file=sys.stderr,
        )
        return 2
    if args.latency_ms < 0:
        print("error: --latency-ms must not be negative", file=sys.stderr)
        return 2
    themes: list[str] = args.site or ["uir"]
    count = max(args.count, len(themes))
    if args.count < 1:
        print("error: --count must be at least 1", file=sys.stderr)
        return 2
    if args.port != 0 and not 0 < args.port + count - 1 < 65536:
        print(
            f"error: ports {args.port}..{args.port + count - 1} are out of range", file=sys.stderr
        )
        return 2
    try:
        sites = [
            ReplicaSite(
                seed=args.seed + i,
                n_articles=args.articles,
                page_size=args.page_size,
                listing_layout=args.listing_layout,
                column_path=args.column_path,
                theme=themes[i % len(themes)],
                faults=(
                    None
                    if args.faults is None
                    else FaultPlan(seed=args.faults, slow_delay=args.slow_delay)
                ),
            )
            for i in range(count)
        ]
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    servers = [
        ReplicaServer(
            site,
            host=args.host,
            port=args.port + i if args.port else 0,
            verbose=args.verbose,
            latency=args.latency_ms / 1000,
        )
        for i, site in enumerate(sites)
    ]
    try:
        for server in servers:
            try:
                server.start()
            except OSError as exc:
                print(f"error: cannot listen on {args.host}:{server.port}: {exc}", file=sys.stderr)
                return 1
        mode = "" if args.faults is None else f" in fault mode (seed {args.faults})"
        # Inside the try: a Ctrl-C the moment the URLs are out still ends cleanly.
        for server in servers:
            others = ", ".join(f"{c.name} {c.start_path}" for c in server.site.columns[1:])
            print(
                f"Replica of {server.site.theme.main.name} serving at {server.start_url}{mode} "
                f"(home page {server.home_url}; other columns: {others}; Ctrl-C to stop)",
                flush=True,
            )
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.stop()
    return 0
