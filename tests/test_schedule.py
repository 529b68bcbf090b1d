"""The scheduler: one job per source, a first run at start, back-off after failures, and the
`syndication scheduler` process doing the real thing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

from redis import Redis

from syndication.runtime import Runtime
from syndication.schedule import build_scheduler, prepare
from syndication.schedule.jobs import MAX_BACKOFF, backoff_delay

from .conftest import FEEDS_DIR, LOOPBACK, ROOT
from .waiting import wait_until


def test_one_job_per_source_at_its_interval(runtime: Runtime) -> None:
    scheduler = build_scheduler(runtime)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == set(runtime.catalogue.sources) | {"websub:tick", "images:sweep"}
    assert jobs["images:sweep"].trigger.interval == timedelta(hours=1)
    actualites = jobs["actualites"]
    assert actualites.trigger.interval == timedelta(minutes=15)
    assert actualites.trigger.jitter


def test_backoff_grows_with_failures_up_to_a_ceiling() -> None:
    def middle(low: float, high: float) -> float:
        return 1.0  # no jitter: the doubling itself

    delays = [backoff_delay(600, failures, middle).total_seconds() for failures in (1, 2, 3, 4)]
    assert delays == [600, 1200, 2400, 4800]
    assert backoff_delay(1800, 50, middle) == MAX_BACKOFF


def test_backoff_jitter_is_ten_percent_either_way() -> None:
    drawn: list[tuple[float, float]] = []

    def lowest(low: float, high: float) -> float:
        drawn.append((low, high))
        return low

    assert backoff_delay(600, 2, lowest) == timedelta(seconds=1200 * 0.9)
    assert backoff_delay(600, 2, lambda low, high: high) == timedelta(seconds=1200 * 1.1)
    assert backoff_delay(1800, 50, lambda low, high: high) == MAX_BACKOFF * 1.1
    assert drawn == [(0.9, 1.1)]
    # With the real random source, every draw within those bounds.
    for failures in (1, 2, 3, 4, 50):
        base = min(600 * 2 ** (failures - 1), MAX_BACKOFF.total_seconds())
        assert base * 0.9 <= backoff_delay(600, failures).total_seconds() <= base * 1.1


def test_a_started_scheduler_refreshes_every_source_at_once(runtime: Runtime) -> None:
    prepare(runtime)
    scheduler = build_scheduler(runtime)
    scheduler.start()

    def states() -> dict[str, str]:
        return {s: runtime.store.source_status(s).state for s in ("region-solidaire",
                                                                  "actualites")}

    try:
        wait_until(lambda: states() == {"region-solidaire": "ok", "actualites": "ok"},
                   lambda: f"both sources refreshed: {states()}")
    finally:
        scheduler.shutdown(wait=True)
    assert len(runtime.store.feed_items("actualites", limit=100)) >= 20
    # Unreachable sources were tried and backed off, not retried in a loop.
    status = runtime.store.source_status("iledefrance-actualites")
    assert status.state in ("failing", "never")


def test_the_scheduler_process_refreshes_and_stops_cleanly(redis_client: Redis, prefix: str,
                                                           sample_site: str) -> None:
    environ = dict(os.environ, SYNDICATION_REDIS_PREFIX=prefix, SAMPLE_SITE_URL=sample_site,
                   SYNDICATION_FEEDS_DIR=str(FEEDS_DIR), SYNDICATION_HOST_DELAY="0",
                   SYNDICATION_FETCH_ALLOWED_NETWORKS=LOOPBACK,
                   SYNDICATION_REDIS_URL=os.environ.get("SYNDICATION_TEST_REDIS_URL") or
                   "unix://" + redis_client.connection_pool.connection_kwargs["path"])
    process = subprocess.Popen([sys.executable, "-m", "syndication", "scheduler"], env=environ,
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        # Or the process ended: what it said is in the assertions below.
        wait_until(lambda: process.poll() is not None or redis_client.exists(
            f"{prefix}:source:region-solidaire:status"),
            "region-solidaire refreshed by the scheduler process")
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "scheduler started" in output
    assert redis_client.zcard(f"{prefix}:feed:region-solidaire:index") >= 4, output
