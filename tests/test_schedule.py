"""The scheduler: one job per source, a first run at start, back-off after failures, and the
`syndication scheduler` process doing the real thing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

from redis import Redis

from syndication.runtime import Runtime
from syndication.schedule import build_scheduler, prepare
from syndication.schedule.jobs import MAX_BACKOFF, backoff_delay

from .conftest import FEEDS_DIR, LOOPBACK, ROOT


def test_one_job_per_source_at_its_interval(runtime: Runtime) -> None:
    scheduler = build_scheduler(runtime)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == set(runtime.catalogue.sources) | {"websub:tick", "images:sweep"}
    assert jobs["images:sweep"].trigger.interval == timedelta(hours=1)
    actualites = jobs["actualites"]
    assert actualites.trigger.interval == timedelta(minutes=15)
    assert actualites.trigger.jitter


def test_backoff_grows_with_failures_up_to_a_ceiling() -> None:
    delays = [backoff_delay(600, failures).total_seconds() for failures in (1, 2, 3, 4)]
    for delay, expected in zip(delays, (600, 1200, 2400, 4800), strict=True):
        assert expected * 0.9 <= delay <= expected * 1.1
    assert backoff_delay(1800, 50) <= MAX_BACKOFF * 1.1


def test_a_started_scheduler_refreshes_every_source_at_once(runtime: Runtime) -> None:
    prepare(runtime)
    scheduler = build_scheduler(runtime)
    scheduler.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            states = {s: runtime.store.source_status(s).state for s in ("region-solidaire",
                                                                        "actualites")}
            if all(state == "ok" for state in states.values()):
                break
            time.sleep(0.2)
    finally:
        scheduler.shutdown(wait=True)
    assert states == {"region-solidaire": "ok", "actualites": "ok"}
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
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not redis_client.exists(
                f"{prefix}:source:region-solidaire:status"):
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "scheduler started" in output
    assert redis_client.zcard(f"{prefix}:feed:region-solidaire:index") >= 4, output
