"""The scaling benchmark (`python bench/scale.py`): how do refreshes scale with workers?

In one run, on this machine, on loopback: a generated site (tests/processes.py `LoopbackSite`:
each source a listing page and its articles), a redis-server of its own, and for 1, 2 and 4
`syndication worker` processes (SYNDICATION_REFRESH_MODE=rq), one refresh of every source
enqueued at once (jobs.enqueue_refresh, as the leading scheduler does), timed until every
source has a `last_success`. Each run has a key prefix of its own, so each does the same work:
every page fetched and extracted, every item stored. Prints sources refreshed per second and
the ratios 2 workers ÷ 1 and 4 ÷ 1, for three sites:

- one host, SYNDICATION_HOST_DELAY=0: a deployment scraping one site;
- the same sources spread over many loopback hosts (127.0.1.1, 127.0.1.2, …), no delay;
- 20 sources on 20 hosts with the default politeness (SYNDICATION_HOST_DELAY=1.0): what
  production looks like, where workers mostly wait for their turn at a host.

Each case runs `--rounds` times (interleaved), and the best run counts, as in bench/serve.py.

Hosts other than 127.0.0.1 are loopback too on Linux (127.0.0.0/8). The figures move with the
machine's load: compare the ratios, measured in the same run, more than the absolute rates.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from rq import Worker  # noqa: E402

from syndication.runtime import Runtime, open_runtime  # noqa: E402
from syndication.schedule.jobs import enqueue_refresh, refresh_queue  # noqa: E402
from syndication.settings import load_settings  # noqa: E402
from tests.processes import (  # noqa: E402
    Cluster,
    LoopbackSite,
    RedisServer,
    write_feeds_dir,
)
from tests.waiting import wait_until  # noqa: E402

ARTICLES = 2  # per source: a refresh is 3 requests (the listing and its 2 articles)
DEADLINE = 1800.0  # seconds a run may take before the benchmark gives up


@dataclass(frozen=True)
class Scenario:
    name: str
    sources: int
    hosts: int
    host_delay: float


@dataclass(frozen=True)
class Run:
    workers: int
    seconds: float
    failed: int

    def rate(self, sources: int) -> float:
        return sources / self.seconds


def hosts(count: int) -> list[str]:
    if count == 1:
        return ["127.0.0.1"]
    return [f"127.0.1.{n}" for n in range(1, count + 1)]


def run_once(scenario: Scenario, site: LoopbackSite, feeds_dir: Path, redis: RedisServer,
             directory: Path, workers: int) -> Run:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    cluster = Cluster(directory, redis, feeds_dir, prefix, host_delay=str(scenario.host_delay),
                      log_level="WARNING")
    settings = load_settings(environ={k: v for k, v in cluster.env.items()
                                      if k.startswith("SYNDICATION_")})
    runtime = open_runtime(settings)
    try:
        for n in range(workers):
            cluster.start_worker(f"{scenario.name}-{workers}-worker{n}")
        queue = refresh_queue(runtime)
        with Redis.from_url(redis.url) as connection:
            wait_until(lambda: Worker.count(connection=connection, queue=queue) == workers,
                       f"{workers} workers listening", seconds=120)
        started = time.monotonic()
        for n in range(scenario.sources):
            enqueue_refresh(runtime, f"s{n}", queue)
        failed = wait_for_all(runtime, scenario.sources)
        return Run(workers, time.monotonic() - started, failed)
    finally:
        cluster.stop()
        runtime.close()


def wait_for_all(runtime: Runtime, sources: int) -> int:
    """Wait until every source has refreshed (last_success) or failed; returns the failures."""
    remaining, failed = {f"s{n}" for n in range(sources)}, 0
    deadline = time.monotonic() + DEADLINE
    while remaining:
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(remaining)} sources not refreshed after {DEADLINE} s")
        for source_id in list(remaining):
            status = runtime.store.source_status(source_id)
            if status.last_success is not None:
                remaining.discard(source_id)
            elif status.state == "failing":
                failed += 1
                remaining.discard(source_id)
        time.sleep(0.2)
    return failed


def measure(scenario: Scenario, redis: RedisServer, directory: Path, worker_counts: list[int],
            rounds: int) -> list[Run]:
    """The best of `rounds` runs per number of workers, the rounds interleaved (1, 2, 4, 1, 2,
    4…) so that a burst of load from elsewhere on the machine does not favour one of them."""
    site = LoopbackSite(scenario.sources, articles=ARTICLES, hosts=hosts(scenario.hosts))
    try:
        feeds_dir = write_feeds_dir(directory / f"feeds-{scenario.name}", site, every="1h")
        best: dict[int, Run] = {}
        for _ in range(rounds):
            for workers in worker_counts:
                run = run_once(scenario, site, feeds_dir, redis, directory, workers)
                print(f"  {scenario.name}: {workers} worker(s): {run.seconds:.1f} s"
                      + (f", {run.failed} failed" if run.failed else ""), file=sys.stderr)
                if workers not in best or run.seconds < best[workers].seconds:
                    best[workers] = run
        return [best[workers] for workers in worker_counts]
    finally:
        site.stop()


def report(results: list[tuple[Scenario, list[Run]]]) -> None:
    print(f"\n{'site (best of the rounds)':<34}{'workers':>8}{'seconds':>9}{'sources/s':>11}"
          f"{'÷ 1 worker':>12}")
    for scenario, runs in results:
        base = runs[0].rate(scenario.sources)
        label = (f"{scenario.sources} sources, {scenario.hosts} host"
                 f"{'s' if scenario.hosts > 1 else ''}, delay {scenario.host_delay:g} s")
        for run in runs:
            ratio = run.rate(scenario.sources) / base
            failed = f"  ({run.failed} failed)" if run.failed else ""
            print(f"{label:<34}{run.workers:>8}{run.seconds:>9.1f}"
                  f"{run.rate(scenario.sources):>11.1f}{ratio:>12.2f}{failed}")
            label = ""
    print(f"\n{os.cpu_count()} CPUs: beyond that many busy workers, more only wait for a core.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--many-hosts", type=int, default=50)
    parser.add_argument("--polite-sources", type=int, default=20,
                        help="sources of the scenario with the default host delay (0: skip it)")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=2, help="runs per case; the best is kept")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        sys.exit("redis-server is needed: apt-get install -y redis-server")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean up on kill as on Ctrl+C
    worker_counts = [int(n) for n in args.workers.split(",")]
    scenarios = [Scenario("one-host", args.sources, 1, 0.0),
                 Scenario("many-hosts", args.sources, args.many_hosts, 0.0)]
    if args.polite_sources:
        scenarios.append(Scenario("polite", args.polite_sources, 20, 1.0))
    print(f"{os.cpu_count()} CPUs, load average before the run: "  # others' load skews it all
          f"{' / '.join(f'{n:.1f}' for n in os.getloadavg())} (1 / 5 / 15 min)")
    with contextlib.ExitStack() as stack:
        directory = Path(tempfile.mkdtemp(prefix="bench-scale-"))
        stack.callback(shutil.rmtree, directory, ignore_errors=True)
        redis = RedisServer(directory / "redis", appendonly=False).start()
        stack.callback(redis.stop)
        results = [(scenario, measure(scenario, redis, directory, worker_counts, args.rounds))
                   for scenario in scenarios]
    report(results)


if __name__ == "__main__":
    main()
