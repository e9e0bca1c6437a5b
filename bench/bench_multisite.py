"""Several sites in one crawl take about as long as the slowest, not their sum.

Method: N replica sites (ReplicaServer instances in this process, one port
each, every answer delayed by --latency seconds, as a distant server would),
each configured with its own politeness: one request at a time, no delay,
AutoThrottle off (a fixed pace the comparison can rely on). Then, in the
same run:

* together: one `uir-news crawl --config` naming all N sites, into one archive;
* one after another: N crawls, each with a config naming one site, each into
  its own archive; their wall times are summed.

Both walk every listing page and archive every article (first runs), without
requisites (--no-requisites: fewer requests, the same shape). Each crawl is
a subprocess (`python -m crawler.cli crawl`), timed from start to exit.
Expected: together ≈ the slowest single site, one after another ≈ N times
that. Noisy: 2 cores shared with other work.

Usage: python bench/bench_multisite.py [--sites 4] [--articles 40] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from replica.server import ReplicaServer  # noqa: E402
from replica.site import ReplicaSite  # noqa: E402


def _config(servers: list[ReplicaServer]) -> str:
    parts = []
    for server in servers:
        parts.append(
            f'[[sites]]\nurl = "{server.base_url}/"\nconcurrency = 1\ndelay = 0.0\n'
            f'autothrottle = false\n[[sites.columns]]\nurl = "ggyw.htm"\n'
        )
    return "\n".join(parts)


def _crawl(config: Path, archive: Path) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl", "--config", str(config),
         "--archive", str(archive), "--no-requisites", "--quiet"],
        cwd=REPO, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    summary = json.loads(sorted((archive / "runs").glob("*.json"))[-1].read_text("utf-8"))
    return wall, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=4)
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args(argv)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-multisite-") as tmp:
        work = Path(tmp)
        servers = [
            stack.enter_context(
                ReplicaServer(
                    ReplicaSite(seed=1000 + i, n_articles=args.articles), latency=args.latency
                )
            )
            for i in range(args.sites)
        ]
        together_config = work / "all.toml"
        together_config.write_text(_config(servers), "utf-8")
        together, summary = _crawl(together_config, work / "together")
        print(
            f"together:       {together:6.1f} s  {summary['requests']} requests, "
            f"{summary['articles']['seen']} articles, exit {summary['exit_code']}"  # type: ignore[index]
        )
        singles = []
        for i, server in enumerate(servers):
            config = work / f"site{i}.toml"
            config.write_text(_config([server]), "utf-8")
            wall, one = _crawl(config, work / f"single{i}")
            singles.append(wall)
            print(
                f"site {i} alone:   {wall:6.1f} s  {one['requests']} requests, "
                f"{one['articles']['seen']} articles"  # type: ignore[index]
            )
        print(
            f"one after another: {sum(singles):6.1f} s (sum); slowest alone {max(singles):.1f} s; "
            f"together / sum = {together / sum(singles):.2f}, "
            f"together / slowest = {together / max(singles):.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
