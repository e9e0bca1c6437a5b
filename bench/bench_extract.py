"""Benchmark the extraction layer against trafilatura on the page fixture corpus.

Speed: every article fixture is parsed `--reps` times by `parse_article` and by trafilatura's
`bare_extraction`, interleaved in the same process after one warm-up pass; per-call wall times
are pooled and reported as median and p95. Accuracy: body text of both against the reviewed
expected records (character-bag F1 without whitespace, line-level F1, and exact-match rate of
the whole body_text after per-line whitespace normalization).

Usage: python bench/bench_extract.py [--reps 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from crawler.extract import parse_article  # noqa: E402
from crawler.extract.text import normalize  # noqa: E402

PAGES = ROOT / "tests" / "fixtures" / "pages"
FETCHED_AT = datetime(2026, 11, 1, tzinfo=UTC)


def load() -> list[tuple[str, str, bytes, str]]:
    """(name, url, html, expected body_text) for every article fixture."""
    index = json.loads((PAGES / "index.json").read_text(encoding="utf-8"))
    out = []
    for name, url in sorted(index.items()):
        expected = json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))
        if "body_text" in expected:
            out.append((name, url, (PAGES / f"{name}.html").read_bytes(), expected["body_text"]))
    return out


def ours(html: bytes, url: str) -> str:
    text: str = parse_article(html, url, fetched_at=FETCHED_AT)["body_text"]
    return text


def theirs(html: bytes, url: str) -> str:
    doc = trafilatura.bare_extraction(html.decode("utf-8"), url=url, include_comments=False)
    return (getattr(doc, "text", None) or "") if doc is not None else ""


def lines(text: str) -> list[str]:
    return [line for raw in text.split("\n") if (line := normalize(raw))]


def f1(got: Counter[str], want: Counter[str]) -> float:
    overlap = sum((got & want).values())
    if not got or not want:
        return 1.0 if got == want else 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return 0.0 if overlap == 0 else 2 * precision * recall / (precision + recall)


def scores(got: str, want: str) -> tuple[float, float, bool]:
    chars = f1(
        Counter(c for c in got if not c.isspace()), Counter(c for c in want if not c.isspace())
    )
    line_f1 = f1(Counter(lines(got)), Counter(lines(want)))
    return chars, line_f1, lines(got) == lines(want)


def timed(fn: Callable[[bytes, str], str], html: bytes, url: str) -> float:
    start = time.perf_counter()
    fn(html, url)
    return time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load_replica(seed: int = 20250714) -> list[tuple[str, str, bytes, str]]:
    """The replica's article pages with their independently written ground truth."""
    from replica.site import ReplicaSite

    site = ReplicaSite(seed=seed)
    base = "http://127.0.0.1:8000"
    corpus = []
    for article in site.articles:
        _, _, body = site.respond("GET", article.path)
        want = site.expected_record(article, base)["body_text"]
        corpus.append((article.path, base + article.path, body, want))
    return corpus


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument(
        "--corpus",
        choices=["fixtures", "replica"],
        default="fixtures",
        help="fixtures: the reviewed fixture pages; replica: the replica's 230 pages, "
        "whose expected text was written independently of the parser",
    )
    args = parser.parse_args(argv)
    corpus = load() if args.corpus == "fixtures" else load_replica()
    extractors = {"uir-news parse_article": ours, "trafilatura bare_extraction": theirs}
    for _name, url, html, _want in corpus:  # warm-up: imports, dateparser data, lxml caches
        for fn in extractors.values():
            fn(html, url)
    times: dict[str, list[float]] = {k: [] for k in extractors}
    for _ in range(args.reps):
        for _name, url, html, _want in corpus:
            for label, fn in extractors.items():
                times[label].append(timed(fn, html, url))
    result: dict[str, Any] = {"pages": len(corpus), "reps": args.reps}
    print(f"{args.corpus}: {len(corpus)} article pages x {args.reps} repetitions\n")
    print("| extractor | median ms/page | p95 ms/page | char F1 | line F1 | exact match |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, fn in extractors.items():
        per_page = [scores(fn(html, url), want) for _n, url, html, want in corpus]
        char_f1 = statistics.mean(s[0] for s in per_page)
        line_f1 = statistics.mean(s[1] for s in per_page)
        exact = sum(s[2] for s in per_page) / len(per_page)
        median, p95 = statistics.median(times[label]) * 1e3, pct(times[label], 0.95) * 1e3
        result[label] = {
            "median_ms": median,
            "p95_ms": p95,
            "char_f1": char_f1,
            "line_f1": line_f1,
            "exact": exact,
        }
        print(
            f"| {label} | {median:.2f} | {p95:.2f} | {char_f1:.4f} | {line_f1:.4f} | {exact:.1%} |"
        )
    ratio = (
        result["trafilatura bare_extraction"]["median_ms"]
        / result["uir-news parse_article"]["median_ms"]
    )
    print(f"\nspeed-up (median): {ratio:.1f}x")
    return result


if __name__ == "__main__":
    main()
