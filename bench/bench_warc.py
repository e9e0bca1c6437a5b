"""WARC write throughput: RotatingWarcWriter.write_exchange vs the same bytes to a plain file.

Method: the replica renders `--pages` real article pages in process (UTF-8
HTML, 5-15 KB each). Each variant then writes all of them `--reps` times,
variants interleaved (ABCD, BCDA, ...), into a fresh file on the same
filesystem, flushing after every record as the writer does, with one fsync
at the end. Throughput = HTTP payload bytes (status line + headers + body)
per second of wall time; medians reported.

  warc      RotatingWarcWriter.write_exchange (warcio records: digests, WARC
            headers, request record, gzip level 9 per record) + close()
  plain     the same HTTP bytes appended to a file
  gzip9     the same bytes gzip-compressed per record (zlib level 9, as warcio)
  gzip6     ... at zlib's default level 6, to show what the level costs

Usage: python bench/bench_warc.py [--pages 1000] [--reps 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive.storage.warc import HttpExchange, RotatingWarcWriter  # noqa: E402
from replica.site import ReplicaSite  # noqa: E402

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def exchanges(n: int) -> list[HttpExchange]:
    site = ReplicaSite(n_articles=n)
    out = []
    for article in site.articles:
        status, headers, body = site.respond("GET", article.path)
        out.append(
            HttpExchange(
                url=f"http://127.0.0.1:8000{article.path}",
                method="GET",
                request_headers=[("User-Agent", "uir-news-bench"), ("Accept-Encoding", "gzip")],
                status=status,
                response_headers=list(headers.items()),
                response_body=body,
                fetched_at=WHEN,
            )
        )
    return out


def http_bytes(ex: HttpExchange) -> bytes:
    head = f"HTTP/1.1 {ex.status} OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in ex.response_headers)
    return head.encode("latin-1") + b"\r\n" + ex.response_body


def run_warc(exs: list[HttpExchange], payloads: list[bytes], work: Path) -> int:
    writer = RotatingWarcWriter(work / "warc")
    for ex in exs:
        writer.write_exchange(ex)
    path = writer.close()
    assert path is not None
    size = path.stat().st_size
    path.unlink()
    return size


def _plain(compress: Callable[[bytes], bytes] | None) -> Callable[..., int]:
    def run(exs: list[HttpExchange], payloads: list[bytes], work: Path) -> int:
        path = work / "plain.bin"
        with open(path, "wb") as fh:
            for data in payloads:
                fh.write(compress(data) if compress else data)
                fh.flush()
            os.fsync(fh.fileno())
        size = path.stat().st_size
        path.unlink()
        return size

    return run


def _gzip(level: int) -> Callable[[bytes], bytes]:
    def compress(data: bytes) -> bytes:
        c = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        return c.compress(data) + c.flush()

    return compress


VARIANTS = {
    "warc": run_warc,
    "plain": _plain(None),
    "gzip9": _plain(_gzip(9)),
    "gzip6": _plain(_gzip(6)),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    exs = exchanges(args.pages)
    payloads = [http_bytes(ex) for ex in exs]
    total = sum(map(len, payloads))
    print(
        f"{len(exs)} pages, {total / 1e6:.1f} MB of HTTP payload "
        f"({total / len(exs) / 1024:.1f} KB/page)"
    )
    times: dict[str, list[float]] = {k: [] for k in VARIANTS}
    sizes: dict[str, int] = {}
    names = list(VARIANTS)
    with tempfile.TemporaryDirectory(prefix="bench-warc-", dir=ROOT) as tmp:
        work = Path(tmp)
        (work / "warc").mkdir()
        for r in range(args.reps):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                start = time.perf_counter()
                sizes[name] = VARIANTS[name](exs, payloads, work)
                times[name].append(time.perf_counter() - start)
    print(f"\n{'variant':8s} {'median s':>9s} {'MB/s':>8s} {'us/page':>8s} {'out MB':>7s}")
    med = {k: statistics.median(v) for k, v in times.items()}
    for name in names:
        print(
            f"{name:8s} {med[name]:9.3f} {total / med[name] / 1e6:8.1f} "
            f"{1e6 * med[name] / len(exs):8.0f} {sizes[name] / 1e6:7.2f}"
        )
    print(
        f"\nwarc vs plain: {med['plain'] / med['warc']:.3f}x the speed; "
        f"gzip9 share of warc time: {med['gzip9'] / med['warc']:.0%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
