"""How crawl cost grows with the column: 1k, 10k and 50k articles on the replica.

Method: for each size a fresh replica process (`python -m replica --articles N`,
its build time and peak RSS reported too) and one full crawl by our pipeline
(`uir-news crawl --full`) into a fresh archive, reaped with wait4: wall time,
CPU seconds (the crawl and its archiver process together) and peak RSS (wait4
gives the larger of the two; the run summary has each, and their sum is
reported too). Flat means: wall ms/page and
CPU ms/page about constant, peak RSS growing far slower than the page count
(target: under 300 MB at 50k). A crawl that runs past `--timeout` is killed
and reported as such. Noisy: 2 cores shared with other work.

Usage: python bench/bench_scale.py [--sizes 1000,10000,50000] [--timeout 3600]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Replica, crawl_argv, fresh_dir, run_measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per crawl")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{'articles':>8s} {'replica start s':>15s} {'replica MB':>10s} {'pages':>6s} "
        f"{'wall s':>7s} {'pages/s':>8s} {'wall ms/pg':>10s} {'CPU ms/pg':>9s} "
        f"{'peak RSS MB':>11s} {'crawl+archiver MB':>17s}",
        flush=True,
    )
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp, Replica(n) as rep:
            archive = fresh_dir(Path(tmp) / "archive")
            try:
                m = run_measured(
                    crawl_argv(rep.start_url, archive),
                    timeout=args.timeout,
                )
            except TimeoutError:
                print(f"{n:8d}  crawl killed after {args.timeout:.0f} s", flush=True)
                continue
            runs = sorted((archive / "runs").glob("*.json"))
            summary = json.loads(runs[-1].read_text("utf-8")) if runs else {}
            pages = summary.get("responses", 0)
            # wait4 gives the larger of the two processes' peaks; both together:
            rss = summary.get("peak_rss_mb", {})
            both = (rss.get("crawl") or 0) + (rss.get("archiver") or 0)
            print(
                f"{n:8d} {rep.startup_s:15.1f} {rep.rss_mb():10.0f} {pages:6d} "
                f"{m.wall_s:7.1f} {pages / m.wall_s:8.1f} {1000 * m.wall_s / pages:10.2f} "
                f"{1000 * m.cpu_s / pages:9.2f} {m.peak_rss_mb:11.0f} {both:17.0f}"
                + ("" if m.returncode == 0 else f"  (exit {m.returncode})"),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
