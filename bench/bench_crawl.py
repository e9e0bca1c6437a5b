"""Crawl throughput on the replica: our full pipeline vs a plain Scrapy spider vs wget's WARC crawl.

`ours` archives each article with its requisites (images, attachments, style
sheets, scripts: the default); `pages` is the same crawl with
`--no-requisites`, so the two, run in the same rotation on the same machine,
give what the requisites cost (requests, bytes, time). The plain spider and
wget fetch article pages only: compare them with `pages`.

Method: one replica (`python -m replica`, its own process) serves N articles on
loopback for the whole run. After one unmeasured warm-up crawl (fills the
replica's render caches), the three crawlers run in rotating order (ABC, BCA,
CAB, ...) `--reps` times each, every run into a fresh directory, each one a
child process reaped with wait4 (its CPU seconds, including the children it
reaped, such as our archiver process; its peak RSS, the larger of its own and
its children's; wall time includes interpreter start-up). Pages = responses the crawler received
(robots.txt included). Medians are reported; the replica's CPU seconds per run
show whether the server, not the crawler, was the bottleneck. Noisy: 2 cores,
shared with other work; compare only figures from the same run.

Usage: python bench/bench_crawl.py [--articles 1000] [--reps 3] [--latency-ms 0] [--json FILE]

`--latency-ms` makes the replica wait before every answer, as a network
would: on bare loopback (0 ms) the crawl is CPU-bound and wget's C wins; with
any real round trip, concurrency decides.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import PYTHON, ROOT, Measured, Replica, crawl_argv, dir_bytes, fresh_dir, run_measured

WGET = "/usr/bin/wget"
TIMEOUT = 600.0


#: Run summary figures of our crawls, per tool, as they are measured.
SUMMARIES: dict[str, list[dict[str, Any]]] = {"ours": [], "pages": []}


def _ours(replica: Replica, work: Path, name: str, *extra: str) -> tuple[Measured, int]:
    archive = fresh_dir(work / name)
    m = run_measured(crawl_argv(replica.start_url, archive, *extra), timeout=TIMEOUT)
    summaries = sorted((archive / "runs").glob("*.json"))
    summary = json.loads(summaries[-1].read_text("utf-8")) if summaries else {}
    SUMMARIES[name].append(
        {
            "wall_s": m.wall_s,
            "requests": summary.get("requests", 0),
            "response_bytes": summary.get("response_bytes", 0),
            "articles": summary.get("articles", {}).get("seen", 0),
            "requisites": summary.get("requisites", {}),
        }
    )
    return m, int(summary.get("responses", 0))


def ours(replica: Replica, work: Path) -> tuple[Measured, int]:
    return _ours(replica, work, "ours")


def pages(replica: Replica, work: Path) -> tuple[Measured, int]:
    return _ours(replica, work, "pages", "--no-requisites")


def plain(replica: Replica, work: Path) -> tuple[Measured, int]:
    m = run_measured(
        [PYTHON, str(ROOT / "bench" / "plain_spider.py"), replica.start_url], timeout=TIMEOUT
    )
    stats = json.loads(m.stdout.strip().splitlines()[-1]) if m.stdout.strip() else {}
    return m, int(stats.get("downloader/response_count", 0))


def wget(replica: Replica, work: Path) -> tuple[Measured, int]:
    out = fresh_dir(work / "wget")
    accept = (
        rf"^{re.escape(replica.base_url)}/(ggyw\.htm|ggyw/[0-9]+\.htm|info/1031/[0-9]+\.htm"
        r"|robots\.txt)$"
    )
    m = run_measured(
        [
            WGET,
            "--recursive",
            "--level=inf",
            "--no-parent",
            "--no-verbose",
            "--no-host-directories",
            "-P",
            str(out),
            f"--warc-file={out}/wget",
            f"--accept-regex={accept}",
            replica.start_url,
        ],
        timeout=TIMEOUT,
    )
    pages = len(re.findall(r" URL:", m.stderr))
    return m, pages


TOOLS = {"ours": ours, "pages": pages, "plain": plain, "wget": wget}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the raw runs here")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="the replica waits this long before every answer (a network round trip)",
    )
    args = parser.parse_args(argv)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in TOOLS}
    with (
        tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp,
        Replica(args.articles, latency_ms=args.latency_ms) as rep,
    ):
        work = Path(tmp)
        print(
            f"replica: {args.articles} articles at {rep.start_url}, "
            f"latency {args.latency_ms} ms "
            f"(started in {rep.startup_s:.1f} s)",
            flush=True,
        )
        plain(rep, work)  # warm-up: the replica renders every page once
        names = list(TOOLS)
        for r in range(args.reps):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                cpu0 = rep.cpu_s()
                m, pages = TOOLS[name](rep, work)
                server_cpu = rep.cpu_s() - cpu0
                size = dir_bytes(work / name) if (work / name).exists() else 0
                row = {
                    "rep": r,
                    "pages": pages,
                    "wall_s": m.wall_s,
                    "cpu_s": m.cpu_s,
                    "peak_rss_mb": m.peak_rss_mb,
                    "rc": m.returncode,
                    "pages_per_s": pages / m.wall_s,
                    "cpu_ms_per_page": 1000 * m.cpu_s / max(pages, 1),
                    "server_cpu_s": server_cpu,
                    "output_bytes": size,
                }
                runs[name].append(row)
                print(
                    f"  rep {r} {name:5s} rc={m.returncode} pages={pages} wall={m.wall_s:.2f}s "
                    f"cpu={m.cpu_s:.2f}s rss={m.peak_rss_mb:.0f}MB server_cpu={server_cpu:.2f}s",
                    flush=True,
                )
                if m.returncode not in (0, 8):  # wget exits 8 on any 4xx (robots-filtered 404s)
                    print(m.stderr[-2000:], file=sys.stderr)
    med = {
        name: {
            k: statistics.median(row[k] for row in rows)
            for k in (
                "pages",
                "wall_s",
                "cpu_s",
                "peak_rss_mb",
                "pages_per_s",
                "cpu_ms_per_page",
                "server_cpu_s",
                "output_bytes",
            )
        }
        for name, rows in runs.items()
    }
    print("\nmedians:")
    print(
        f"{'tool':6s} {'pages':>6s} {'wall s':>7s} {'pages/s':>8s} {'CPU ms/page':>12s} "
        f"{'peak RSS MB':>12s} {'server CPU s':>13s} {'output MB':>10s}"
    )
    for name, m in med.items():
        print(
            f"{name:6s} {m['pages']:6.0f} {m['wall_s']:7.2f} {m['pages_per_s']:8.1f} "
            f"{m['cpu_ms_per_page']:12.2f} {m['peak_rss_mb']:12.0f} {m['server_cpu_s']:13.2f} "
            f"{m['output_bytes'] / 1e6:10.1f}"
        )
    ratio = med["pages"]["pages_per_s"] / med["plain"]["pages_per_s"]
    vs_wget = med["pages"]["pages_per_s"] / med["wget"]["pages_per_s"]
    print(
        f"\noverhead ratio pages/plain = {ratio:.2f} (target >= 0.70: "
        f"{'met' if ratio >= 0.7 else 'MISSED'}); pages/wget = {vs_wget:.2f} "
        f"(target > 1: {'met' if vs_wget > 1 else 'MISSED'})"
    )
    print("\nrequisites (medians; ours = with them, pages = without):")
    for name, rows in SUMMARIES.items():
        n = max(statistics.median(row["articles"] for row in rows), 1)
        requests = statistics.median(row["requests"] for row in rows)
        size = statistics.median(row["response_bytes"] for row in rows)
        wall = statistics.median(row["wall_s"] for row in rows)
        fetched = statistics.median(row["requisites"].get("fetched", 0) for row in rows)
        print(
            f"  {name:6s} {requests:6.0f} requests ({requests / n:.2f}/article), "
            f"{size / 1e6:.2f} MB ({size / n / 1e3:.1f} kB/article), {wall:.2f} s, "
            f"{fetched:.0f} requisites fetched"
        )
    cost = med["ours"]["wall_s"] - med["pages"]["wall_s"]
    print(f"  requisites cost {cost:+.2f} s of wall time ({cost / med['pages']['wall_s']:+.0%})")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"articles": args.articles, "runs": runs, "medians": med, "ours": SUMMARIES},
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
