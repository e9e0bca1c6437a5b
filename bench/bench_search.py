"""Search, export and memory benchmark on a synthetic catalog (issue 5).

Builds a catalog of N realistic articles (default 100,000) with the real
catalog.put_record + archive.search.index_article, then measures:

* search latency (p50/p95 over 50 fixed queries: 2-, 3-, 4+-character words,
  phrases, boolean operators and filters), warm, limit 20;
* the naive baseline: the same queries as a scan of the JSON Lines export
  (json.loads each line, substring test), same run;
* export time and peak RSS per format, each export in its own subprocess
  (peak RSS read with resource.getrusage(RUSAGE_CHILDREN) in a wrapper).

Usage: python bench/bench_search.py [--n 100000] [--dir DIR] [--write-results]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from archive.research.filters import Filters  # noqa: E402
from archive.research.search import (  # noqa: E402
    ensure_search_schema,
    index_article,
    matches,
    optimize,
    parse_query,
    search,
)
from archive.storage import catalog  # noqa: E402 - after the sys.path line above
from tests.helpers.records import NAMES, random_records  # noqa: E402

# (query, filters) - fixed, so runs are comparable.
QUERIES: list[tuple[str, dict[str, Any]]] = [
    # 2-character words
    ("党建", {}),
    ("校长", {}),
    ("论坛", {}),
    ("校友", {}),
    ("纪念", {}),
    ("外交", {}),
    ("治理", {}),
    ("交流", {}),
    ("研讨", {}),
    ("典礼", {}),
    ("国家", {}),
    ("青年", {}),
    # 3-character words
    ("研究生", {}),
    ("本科生", {}),
    ("图书馆", {}),
    ("座谈会", {}),
    ("副院长", {}),
    ("院党委", {}),
    ("党支部", {}),
    ("外交学", {}),
    ("全国高", {}),
    ("共同体", {}),
    # 4+-character words
    ("国际关系学院", {}),
    ("高质量发展", {}),
    ("人才培养", {}),
    ("国家安全", {}),
    ("网络空间安全", {}),
    ("人类命运共同体", {}),
    ("区域国别学", {}),
    ("思想政治工作", {}),
    ("中外人文交流", {}),
    ("习近平新时代中国特色社会主义思想", {}),
    # phrases and mixed script
    ('"党建，"', {}),
    ('"国际关系学院和"', {}),
    ('"Model UN"', {}),
    ("G20", {}),
    ('"COVID-19"', {}),
    ("peking", {}),
    # boolean
    ("党建 校长", {}),
    ("党建 OR 团建", {}),
    ("论坛 NOT 党建", {}),
    ("(校友 OR 校长) 典礼", {}),
    # filters
    ("党建", {"since": "2020-01-01", "until": "2020-12-31"}),
    ("国际关系学院", {"reviewer": NAMES[3]}),
    ("论坛", {"reviewer": NAMES[7], "role": "final_reviewer"}),
    ("研究生", {"has_attachments": True}),
    ("人才培养", {"credit": NAMES[11]}),
    ("毕业典礼", {"since": "2010-01-01", "until": "2015-12-31", "has_attachments": True}),
    ("校长", {"since": "2024-01-01"}),
    ("国家安全", {"reviewer": NAMES[1], "since": "2015-01-01"}),
]
assert len(QUERIES) == 50


def build(path: Path, n: int) -> float:
    started = time.perf_counter()
    conn = catalog.connect(path)
    ensure_search_schema(conn)
    batch = 2000
    records = random_records(n, seed=2026)
    done = 0
    while done < n:
        with catalog.transaction(conn):
            for record in records:
                index_article(conn, catalog.put_record(conn, record).article_id, record)
                done += 1
                if done % batch == 0:
                    break
        print(f"  built {done}/{n}", file=sys.stderr, end="\r")
    optimize(conn)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    print(file=sys.stderr)
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def bench_search(path: Path, repeats: int = 3) -> tuple[list[float], list[int]]:
    conn = catalog.connect(path)
    for query, filters in QUERIES:  # warm-up: page cache, statement cache
        search(conn, query, Filters(**filters))
    latencies: list[float] = []
    counts: list[int] = []
    for query, filters in QUERIES:
        runs = []
        for _ in range(repeats):
            t = time.perf_counter()
            hits = search(conn, query, Filters(**filters), limit=20)
            runs.append(time.perf_counter() - t)
        latencies.append(statistics.median(runs))
        counts.append(len(hits))
    conn.close()
    return latencies, counts


def naive_scan(jsonl: Path, query: str, filters: dict[str, Any]) -> tuple[float, int]:
    """The baseline: read every exported record and test the query in Python."""
    node = parse_query(query)
    t = time.perf_counter()
    found = 0
    with jsonl.open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            date = (record.get("published_at") or "")[:10]
            if filters.get("since") and not (date and date >= filters["since"]):
                continue
            if filters.get("until") and not (date and date <= filters["until"]):
                continue
            if filters.get("has_attachments") and not record["attachments"]:
                continue
            if filters.get("reviewer"):
                roles = [filters["role"]] if filters.get("role") else list(record["reviewers"])
                if not any(filters["reviewer"] in record["reviewers"][r] for r in roles):
                    continue
            if filters.get("credit") and not any(
                filters["credit"] in names for names in record["credits"].values()
            ):
                continue
            if matches(node, record["title"].casefold(), record["body_text"].casefold()):
                found += 1
    return time.perf_counter() - t, found


WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
    "elapsed = time.perf_counter() - t\n"
    "print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def bench_export(archive: Path, fmt: str, out: Path) -> tuple[float, float, int]:
    """(seconds, peak RSS MiB, bytes) of `export --format fmt` in a fresh subprocess."""
    command = [
        sys.executable,
        "-c",
        WRAPPER,
        sys.executable,
        "-m",
        "crawler.cli",
        "export",
        "--archive",
        str(archive),
        "--format",
        fmt,
        "-o",
        str(out),
    ]
    result = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO)
    elapsed, maxrss_kib = result.stdout.split()
    return float(elapsed), int(maxrss_kib) / 1024, out.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, help="archive directory to build in (kept)")
    parser.add_argument("--naive", type=int, default=50, help="queries to run the baseline on")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="uir-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    path = root / "catalog.sqlite"
    report: dict[str, Any] = {"n": args.n}
    if not path.exists():
        report["build_s"] = build(path, args.n)
    report["catalog_mib"] = path.stat().st_size / 2**20

    latencies, counts = bench_search(path)
    report["search_ms"] = {
        "p50": percentile(latencies, 0.5) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
        "max": max(latencies) * 1000,
        "per_query": [
            {"query": q, "filters": f, "ms": round(s * 1000, 2), "hits": c}
            for (q, f), s, c in zip(QUERIES, latencies, counts, strict=True)
        ],
    }
    exports: dict[str, Any] = {}
    for fmt in ("jsonl", "csv", "parquet"):
        out = root / f"export.{fmt}"
        seconds, rss, size = bench_export(root, fmt, out)
        exports[fmt] = {"s": seconds, "peak_rss_mib": rss, "mib": size / 2**20}
        print(f"  export {fmt}: {seconds:.1f} s, {rss:.0f} MiB peak", file=sys.stderr)
    report["exports"] = exports

    naive = []
    for (query, filters), latency in list(zip(QUERIES, latencies, strict=True))[: args.naive]:
        seconds, _ = naive_scan(root / "export.jsonl", query, filters)
        naive.append({"query": query, "naive_s": seconds, "speedup": seconds / latency})
    report["naive"] = {
        "queries": len(naive),
        "median_s": statistics.median(n["naive_s"] for n in naive),
        "min_speedup": min(n["speedup"] for n in naive),
        "median_speedup": statistics.median(n["speedup"] for n in naive),
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))
    if args.write_results:
        (REPO / "bench" / "results-search.json").write_text(
            json.dumps(report, ensure_ascii=False, indent=1), "utf-8"
        )
    if not args.dir:
        for child in root.iterdir():
            child.unlink()
        os.rmdir(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
