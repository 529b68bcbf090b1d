"""Refresh work across processes: leases that live as long as their holder, the leading
scheduler, refresh jobs on RQ workers, and per-host politeness shared through Redis. Several
"processes" are several objects on one real Redis here; tests/test_failover.py kills real ones."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.lock import Lock

from syndication.errors import RateLimited
from syndication.fetch import Fetcher, Page
from syndication.fetch.addresses import parse_networks
from syndication.model import Catalogue
from syndication.runtime import Runtime
from syndication.schedule import run_scheduler, tick
from syndication.schedule.jobs import enqueue_refresh, refresh_job_id, refresh_queue, work
from syndication.settings import load_settings
from syndication.store import Leadership
from syndication.store.leases import KeptLease
from syndication.store.pacing import RedisPacing

from .clocks import ManualClock
from .conftest import FEEDS_DIR, LOOPBACK, ROOT, make_runtime
from .faulty_site import FaultySite
from .waiting import wait_until

SLACK = 0.01  # the server notes times a hair after the client: see test_politeness.py


@pytest.fixture
def rq_runtime(redis_client: Redis, prefix: str, catalogue: Catalogue) -> Iterator[Runtime]:
    runtime = make_runtime(redis_client, prefix, catalogue, refresh_mode="rq",
                           leader_lease_seconds=3)
    yield runtime
    runtime.fetcher.close()
    # RQ keeps its own keys under "rq:"; this test's carry its queue's name, which holds the
    # test's prefix: only those go (the conftest deletes the prefix's own keys).
    queue = refresh_queue(runtime)
    ours = [key for key in redis_client.scan_iter(match="rq:*", count=1000)
            if queue.name in key]
    if ours:
        redis_client.delete(*ours)
    redis_client.srem("rq:queues", queue.key)
    for worker in redis_client.scan_iter(match="rq:worker:*", count=1000):
        if queue.name in (redis_client.hget(worker, "queues") or ""):  # this test's workers
            redis_client.delete(worker)
    for worker in redis_client.smembers("rq:workers"):
        if not redis_client.exists(worker):  # workers that stopped: nothing left of them
            redis_client.srem("rq:workers", worker)


# --- leases ---------------------------------------------------------------------------------



def leadership(runtime: Runtime) -> Leadership:
    return runtime.stores.leadership(runtime.settings.leader_lease_seconds)

class CountingLock:
    """A redis-py Lock that counts its renewals (reacquire), so that a test can wait for them."""

    def __init__(self, lock: Lock):
        self._lock = lock
        self.renewals = 0

    def __getattr__(self, name: str):  # noqa: ANN204 - the Lock's own attributes
        return getattr(self._lock, name)

    def reacquire(self) -> bool:
        renewed = self._lock.reacquire()
        self.renewals += 1
        return renewed


def test_a_kept_lease_outlives_its_expiry_while_held(redis_client: Redis, prefix: str) -> None:
    lock = CountingLock(redis_client.lock(f"{prefix}:lease:x", timeout=2, thread_local=False))
    lease = KeptLease(lock, "x")  # a Lock, by delegation
    assert lease.acquire()
    # Renewed every third of its lifetime, after a wait of at least that: seven renewals span
    # more than twice its lifetime, which only renewals keep it through.
    wait_until(lambda: lock.renewals >= 7, "seven renewals of the lease")
    assert lease.held()
    other = redis_client.lock(f"{prefix}:lease:x", timeout=2)
    assert not other.acquire(blocking=False)
    assert not lease.lost.is_set()
    lease.release()
    assert other.acquire(blocking=False)  # released: free at once
    other.release()


def test_a_lease_whose_holder_died_frees_itself(redis_client: Redis, prefix: str) -> None:
    dead = redis_client.lock(f"{prefix}:lease:y", timeout=1)
    assert dead.acquire(blocking=False)  # taken, then never renewed nor released
    assert 0 < redis_client.pttl(f"{prefix}:lease:y") <= 1000  # it expires within its lifetime
    lease = KeptLease(redis_client.lock(f"{prefix}:lease:y", timeout=1, thread_local=False), "y")
    assert not lease.acquire()
    wait_until(lease.acquire, "the dead holder's lease expired and taken")
    lease.release()


class UnreachableLock:
    """A lock whose renewals fail as when Redis does not answer; counts them."""

    timeout = 0.05  # seconds: a renewal tried every third of it

    def __init__(self) -> None:
        self.attempts = 0

    def acquire(self, blocking: bool, token: str | None) -> bool:
        return True

    def reacquire(self) -> bool:
        self.attempts += 1
        raise RedisConnectionError("Redis does not answer")

    def owned(self) -> bool:
        return True

    def release(self) -> None:
        pass


def test_a_kept_lease_is_lost_once_renewals_have_failed_for_a_lifetime() -> None:
    clock, lock = ManualClock(0.0), UnreachableLock()
    lease = KeptLease(lock, "z", clock=clock)  # a Lock's interface
    assert lease.acquire()
    wait_until(lambda: lock.attempts >= 3, "three failed renewals")
    assert not lease.lost.is_set() and lease.held()  # a blip shorter than a lifetime: kept
    clock.advance(lock.timeout)  # a lifetime since the last renewal: another may hold it now
    wait_until(lease.lost.is_set, "the lease given up")
    assert not lease.held()
    lease.release()


# --- the leading scheduler ------------------------------------------------------------------


def test_one_scheduler_leads_and_another_takes_over_its_plan(rq_runtime: Runtime) -> None:
    first, second = leadership(rq_runtime), leadership(rq_runtime)
    assert first.try_lead() and not first.takes_over  # nobody led before: a cold start
    assert not second.try_lead()
    assert first.current() == first.token and str(first.token).count(":") == 2
    first.resign(clean=False)  # as if it died: its plan stays
    assert second.try_lead() and second.takes_over
    second.resign(clean=True)  # a clean stop: the next leader starts cold
    third = leadership(rq_runtime)
    assert third.try_lead() and not third.takes_over
    third.resign(clean=True)


def test_a_takeover_keeps_each_sources_next_run(rq_runtime: Runtime) -> None:
    from datetime import UTC, datetime, timedelta

    from syndication.schedule import build_scheduler

    later = datetime.now(UTC) + timedelta(minutes=7)
    rq_runtime.store.record_next_run("actualites", later)
    cold = {job.id: job for job in build_scheduler(rq_runtime).get_jobs()}
    assert cold["actualites"].next_run_time < datetime.now(UTC) + timedelta(seconds=5)
    taken = {job.id: job for job in build_scheduler(rq_runtime, takes_over=True).get_jobs()}
    assert taken["actualites"].next_run_time == later  # neither skipped nor doubled
    assert taken["region-solidaire"].next_run_time < datetime.now(UTC) + timedelta(seconds=5)


def test_the_scheduler_loop_leads_refreshes_and_hands_over_cleanly(
        redis_client: Redis, runtime: Runtime) -> None:
    stop = threading.Event()
    loop = threading.Thread(target=run_scheduler, args=(runtime, stop))
    loop.start()
    try:
        wait_until(lambda: runtime.store.source_status("region-solidaire").state == "ok",
                   "region-solidaire refreshed by the leading scheduler")
        assert leadership(runtime).current() is not None
    finally:
        stop.set()
        loop.join(timeout=20)
    assert not loop.is_alive()
    assert leadership(runtime).current() is None  # released at once: no wait for the next
    assert not redis_client.exists(leadership(runtime).plan_key)


# --- RQ workers -----------------------------------------------------------------------------


def test_a_tick_queues_the_refresh_once_and_a_worker_runs_it(rq_runtime: Runtime) -> None:
    source = rq_runtime.catalogue.sources["region-solidaire"]
    assert tick(rq_runtime, source).outcome == "queued"
    assert tick(rq_runtime, source).outcome == "skipped"  # queued already: not twice
    assert refresh_queue(rq_runtime).count == 1
    assert rq_runtime.store.source_status(source.id).state == "never"  # nothing ran here

    work(rq_runtime, burst=True)  # a worker, until the queue is empty
    status = rq_runtime.store.source_status(source.id)
    assert status.state == "ok" and status.next_run is not None
    assert rq_runtime.store.item_count(source.id) == 4
    assert refresh_queue(rq_runtime).count == 0
    assert enqueue_refresh(rq_runtime, source.id)  # done: it may be queued again


def test_a_job_for_a_source_removed_meanwhile_does_nothing(rq_runtime: Runtime) -> None:
    assert enqueue_refresh(rq_runtime, "gone-since")
    work(rq_runtime, burst=True)
    job = refresh_queue(rq_runtime).fetch_job(refresh_job_id(rq_runtime, "gone-since"))
    assert job.return_value() == {"source": "gone-since", "outcome": "removed"}


def test_worker_processes_share_the_queue_and_each_source_is_refreshed_once(
        rq_runtime: Runtime, redis_client: Redis, prefix: str, sample_site: str) -> None:
    sources = ("region-solidaire", "plan-climat", "actualites", "partenaires")
    for source_id in sources:
        assert enqueue_refresh(rq_runtime, source_id)
    environ = dict(os.environ, SYNDICATION_REDIS_PREFIX=prefix, SAMPLE_SITE_URL=sample_site,
                   SYNDICATION_FEEDS_DIR=str(FEEDS_DIR), SYNDICATION_HOST_DELAY="0",
                   SYNDICATION_FETCH_ALLOWED_NETWORKS=LOOPBACK, SYNDICATION_REFRESH_MODE="rq",
                   SYNDICATION_REDIS_URL=redis_url(redis_client))
    workers = [subprocess.Popen([sys.executable, "-m", "syndication", "worker", "--burst"],
                                env=environ, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    for source_id in sources:
        assert rq_runtime.store.source_status(source_id).state == "ok", (source_id, outputs)
    counted = rq_runtime.stores.metrics.read(sources).refreshes
    assert {key[0] for key in counted} == set(sources)
    assert set(counted.values()) == {1}, counted  # each once, whichever worker took it


def redis_url(client: Redis) -> str:
    """The URL of the test's Redis, for processes: the embedded one's socket, or the URL given."""
    return os.environ.get("SYNDICATION_TEST_REDIS_URL") or (
        "unix://" + client.connection_pool.connection_kwargs["path"])


# --- politeness across processes ------------------------------------------------------------


def fetcher_with(pacing: RedisPacing, delay: float) -> Fetcher:
    settings = load_settings({"fetch_allowed_networks": LOOPBACK, "host_delay": delay},
                             environ={})
    assert parse_networks(LOOPBACK, "x")
    return Fetcher.from_settings(settings, pacing=pacing)


def test_two_processes_take_turns_on_one_host(redis_client: Redis, prefix: str,
                                              faulty_site: FaultySite) -> None:
    faulty_site.fail_with("slow")
    faulty_site.server.slow_seconds = 0.1
    clients = [fetcher_with(RedisPacing(redis_client, prefix), 0.1) for _ in range(2)]
    paths = ["/region-solidaire", "/dossiers/plan-climat", "/actualites/plan-velo-regional",
             "/toutes-les-actualites"]
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            pages = list(pool.map(lambda n: clients[n % 2].fetch(faulty_site.url + paths[n]),
                                  range(4)))
    finally:
        for client in clients:
            client.close()
    assert all(isinstance(page, Page) for page in pages)
    assert faulty_site.server.max_in_flight == 1  # one request at a time, across both
    arrivals = sorted(t for t, path in faulty_site.server.arrivals if path != "/robots.txt")
    departures = sorted(t for t, path in faulty_site.server.departures if path != "/robots.txt")
    for departed, next_arrival in zip(departures, arrivals[1:], strict=False):
        assert next_arrival - departed >= 0.1 - SLACK


def test_redis_pacing_waits_the_delay_since_another_process_last_asked(
        redis_client: Redis, prefix: str) -> None:
    clock = ManualClock(1_800_000_000.0)  # epoch seconds: processes on several machines share it
    first, second = (RedisPacing(redis_client, prefix, clock=clock, sleep=clock.sleep)
                     for _ in range(2))
    with first.turn("a.test", 2.0):
        clock.advance(0.5)  # the request lasts half a second
    clock.advance(0.25)
    with second.turn("a.test", 2.0):
        pass
    assert clock.sleeps == [1.75]  # from the end of the other process's request
    with second.turn("b.test", 2.0):  # another host: no wait
        pass
    assert clock.sleeps == [1.75]


def test_a_host_that_asked_one_process_to_wait_is_left_alone_by_all(
        redis_client: Redis, prefix: str, faulty_site: FaultySite) -> None:
    faulty_site.fail_with("429")
    faulty_site.server.retry_after = "30"
    first, second = (fetcher_with(RedisPacing(redis_client, prefix), 0.0) for _ in range(2))
    try:
        with pytest.raises(RateLimited):
            first.fetch(faulty_site.url + "/region-solidaire")
        asked = len(faulty_site.server.requests)
        with pytest.raises(RateLimited) as caught:
            second.fetch(faulty_site.url + "/dossiers/plan-climat")
        assert len(faulty_site.server.requests) == asked  # not contacted again
        assert 25 <= caught.value.retry_after <= 30
    finally:
        first.close()
        second.close()


def test_a_leader_that_fails_right_after_taking_the_lease_frees_it(
        rq_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = leadership(rq_runtime), leadership(rq_runtime)

    def broken() -> None:
        raise RedisConnectionError("Redis went away")

    monkeypatch.setattr(first, "beat", broken)
    with pytest.raises(RedisConnectionError):
        first.try_lead()
    assert second.try_lead()  # not held by a leader that never led
    second.resign(clean=True)


def test_a_refresh_that_lost_its_lease_writes_nothing(
        runtime: Runtime, redis_client: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    import syndication.refresh as refresh_module

    source = runtime.catalogue.sources["region-solidaire"]
    probe = refresh_module.probe_images

    def taken_over(service: Runtime, items):  # noqa: ANN001, ANN202 - as probe_images
        # Another process took the lease while this one worked (it had paused past expiry).
        redis_client.set(service.store.lease(source.id, 60).name, "another process")
        return probe(service, items)

    monkeypatch.setattr(refresh_module, "probe_images", taken_over)
    result = refresh_module.refresh(source, runtime)
    assert result.outcome == "skipped" and "lease lost" in result.warnings[0]
    assert runtime.store.item_count(source.id) == 0
    assert runtime.store.source_status(source.id).state == "never"


def test_removing_a_source_waits_for_its_refresh_to_end(
        redis_client: Redis, runtime: Runtime, sample_site: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from syndication import admin as operations
    from syndication.app import create_app

    monkeypatch.setattr(operations, "LEASE_WAIT_SECONDS", 0.5)  # how long it waits for the lease
    admin = make_runtime(redis_client, runtime.settings.redis_prefix, runtime.live.declared,
                         admin_token="t", api_source_domains="127.0.0.1")
    app = create_app(runtime=admin)
    client, auth = app.test_client(), {"Authorization": "Bearer t"}
    try:
        assert client.post("/api/sources", headers=auth, json={
            "id": "extra", "publisher": "sample-site", "url": f"{sample_site}/dossiers/plan-climat",
            "feeds": ["actualites"]}).status_code == 201
        busy = admin.store.lease("extra", 60)
        assert busy.acquire(blocking=False)  # a refresh in flight
        answer = client.delete("/api/sources/extra", headers=auth)
        assert answer.status_code == 409 and "try again" in answer.json["detail"]
        assert "extra" in admin.catalogue.sources  # nothing half done
        busy.release()
        assert client.delete("/api/sources/extra", headers=auth).status_code == 204
    finally:
        app.extensions["syndication.cache"].close()
        admin.fetcher.close()
