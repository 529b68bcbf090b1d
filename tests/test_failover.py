"""Failures of whole processes, with real ones on loopback (tests/processes.py): one redis-server,
two web processes, two schedulers and three workers (SYNDICATION_REFRESH_MODE=rq), refreshing a
generated site. Readers poll every feed from both web processes for the whole module.

- steady state: every source is refreshed once per interval, no more, no less;
- the leading scheduler killed (SIGKILL): the other leads within one lease period, and no
  refresh is doubled or skipped across the takeover;
- a worker killed in the middle of a slow refresh: another worker redoes it once the source's
  lease has expired, and readers never see half a refresh;
- Redis stopped and started again: web processes keep serving their feeds (with Age), say they
  are not ready, nobody dies; refreshes resume within an interval and no item is lost.

Refreshes are counted by the site itself: each refresh asks for its source's listing once. A
test observes as many refreshes as it needs (waiting for them, not for a length of time), then
checks the gaps between them.

The tests run in order on one cluster (starting seven processes costs more than any test), each
leaving it whole again for the next.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from redis import Redis
from rq import Worker

from .processes import (
    Cluster,
    LoopbackSite,
    RedisServer,
    missing_redis_server,
    refresh_counts,
    write_feeds_dir,
)
from .waiting import wait_until

SOURCES = 6
EVERY = 10  # seconds: the shortest interval feeds/*.toml accept
JITTER = max(1, EVERY // 10)  # schedule._jitter: a tick comes up to this much late
# What a refresh may lag behind its tick: the job's way through the queue to an idle worker and
# the listing request, on a 2-core machine running eight processes. A double refresh shows as a
# gap near 0, a skipped one as a gap near 2 × EVERY: both far outside this.
SLACK = 1.5
LEASE = 3  # SYNDICATION_LEASE_SECONDS and SYNDICATION_LEADER_LEASE_SECONDS
# A takeover may delay an overdue source's next refresh by: the dead leader's lease running out,
# the other scheduler's next try (every third of a lease), and the spread of first runs
# (schedule.FIRST_RUN_SPREAD_SECONDS).
TAKEOVER = LEASE + LEASE / 3 + 3.0
FETCH_TIMEOUT = 5  # the slow page is slower: the refresh waiting for it is killed first


@dataclass
class Observation:
    when: float
    web: str
    source: int
    status: int
    ids: frozenset[str] = frozenset()
    age: str | None = None


@dataclass
class Readers:
    """A thread that GETs every feed from every web process in turn, for the whole module."""

    cluster: Cluster
    seen: list[Observation] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                for source in range(SOURCES):
                    for web in ("web1", "web2"):
                        self.seen.append(self._read(client, web, source))
                self.stop.wait(0.2)

    def _read(self, client: httpx.Client, web: str, source: int) -> Observation:
        when = time.monotonic()
        try:
            answer = client.get(f"{self.cluster.web_url(web)}/feeds/s{source}.json")
        except httpx.HTTPError:
            return Observation(when, web, source, 0)
        if answer.status_code != 200:
            return Observation(when, web, source, answer.status_code)
        ids = frozenset(item["id"] for item in answer.json()["items"])
        return Observation(when, web, source, 200, ids, answer.headers.get("Age"))

    def since(self, start: float) -> list[Observation]:
        return [o for o in list(self.seen) if o.when >= start]


@dataclass
class Fixture:
    cluster: Cluster
    site: LoopbackSite
    redis: RedisServer
    readers: Readers
    started: float


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory,
          request: pytest.FixtureRequest) -> Iterator[Fixture]:
    if reason := missing_redis_server():
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("failover")
    redis = RedisServer(directory / "redis").start()
    site = LoopbackSite(sources=SOURCES, articles=3)
    feeds_dir = write_feeds_dir(directory / "feeds", site, every=f"{EVERY}s")
    cluster = Cluster(directory, redis, feeds_dir, prefix="failover",
                      lease_seconds=str(LEASE), leader_lease_seconds=str(LEASE),
                      fetch_timeout=str(FETCH_TIMEOUT))
    readers = Readers(cluster)
    thread = threading.Thread(target=readers.run, name="readers", daemon=True)
    try:
        for name in ("scheduler1", "scheduler2"):
            cluster.start_scheduler(name)
        for name in ("worker1", "worker2", "worker3"):
            cluster.start_worker(name)
        for name in ("web1", "web2"):
            cluster.start_web(name)
        # Every source refreshed once: the cold start is behind us.
        wait_until(lambda: all(site.requests(f"/s/{n}") for n in range(SOURCES)) and all(
            feed_ids(cluster, "web1", n) for n in range(SOURCES)), "every source refreshed",
            seconds=180)
        thread.start()
        yield Fixture(cluster, site, redis, readers, time.monotonic())
    finally:
        if request.session.testsfailed:  # what each process said, for the report
            print(cluster.logs())
        readers.stop.set()
        if thread.is_alive():
            thread.join(timeout=15)
        cluster.stop()
        site.stop()
        redis.stop()


def feed_ids(cluster: Cluster, web: str, source: int) -> frozenset[str]:
    answer = httpx.get(f"{cluster.web_url(web)}/feeds/s{source}.json", timeout=10)
    if answer.status_code != 200:
        return frozenset()
    return frozenset(item["id"] for item in answer.json()["items"])


def source_status(cluster: Cluster, source: int) -> dict:
    answer = httpx.get(f"{cluster.web_url('web1')}/api/sources/s{source}", timeout=10)
    answer.raise_for_status()
    return answer.json()


def wait_for_refreshes(site: LoopbackSite, count: int, since: float) -> float:
    """Wait until every source has been refreshed `count` times since `since`; returns now.
    The bound only guards against a hang: a skipped source shows in the gaps, not here."""
    wait_until(lambda: all(len(site.requests(f"/s/{n}", since=since)) >= count
                           for n in range(SOURCES)),
               f"{count} refreshes of every source", seconds=(count + 5) * EVERY + TAKEOVER)
    return time.monotonic()


def refresh_gaps(site: LoopbackSite, source: int, start: float, end: float) -> list[float]:
    """Seconds between the refreshes of a source that began within [start, end], the one before
    `start` included: the first gap spans the start of the window."""
    hits = site.requests(f"/s/{source}")
    before = [t for t in hits if t < start][-1:]
    inside = [t for t in hits if start <= t <= end]
    times = before + inside
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def assert_once_per_interval(site: LoopbackSite, sources: range | list[int], start: float,
                             end: float, extra: float = 0.0, late: float = 0.0) -> None:
    """Each source refreshed once per interval over [start, end]: no two refreshes closer than
    an interval less the tick's jitter and the dispatch slack (a double), none further apart
    than an interval plus those and `extra` (a skip); and the last refresh recent enough that
    none is overdue at `end`. `late`: how long a refresh may have waited past its tick for its
    host's turn; the next one is on time, so that gap is as much shorter (a double is near 0)."""
    for n in sources:
        gaps = refresh_gaps(site, n, start, end)
        assert gaps, f"source s{n}: no refresh between {start:.1f} and {end:.1f}"
        assert min(gaps) >= EVERY - JITTER - SLACK - late, f"source s{n} refreshed twice: {gaps}"
        assert max(gaps) <= EVERY + JITTER + SLACK + extra, f"source s{n} skipped: {gaps}"
        last = site.requests(f"/s/{n}")[-1]
        assert end - last <= EVERY + JITTER + SLACK + extra, f"source s{n} overdue at the end"


def assert_readers_saw_no_error_and_no_loss(readers: Readers, start: float) -> None:
    """From both web processes: every answer a 200, and no feed ever lost an item it showed
    (each process on its own: one may hear of a change a moment before the other)."""
    last: dict[tuple[str, int], frozenset[str]] = {}
    for seen in readers.since(start):
        assert seen.status == 200, f"{seen.web} answered {seen.status} for s{seen.source}"
        previous = last.get((seen.web, seen.source), frozenset())
        assert previous <= seen.ids, f"{seen.web} lost items of s{seen.source}"
        last[seen.web, seen.source] = seen.ids


def test_steady_state_each_source_refreshed_once_per_interval(world: Fixture) -> None:
    start = world.started
    end = wait_for_refreshes(world.site, 3, since=start)  # three intervals' worth
    assert_once_per_interval(world.site, range(SOURCES), start, end)
    # The service counts the same refreshes as the site saw: none ran unseen, none was lost.
    site_before = {n: len(world.site.requests(f"/s/{n}")) for n in range(SOURCES)}
    metrics = httpx.get(f"{world.cluster.web_url('web2')}/metrics", timeout=10).text
    site_after = {n: len(world.site.requests(f"/s/{n}")) for n in range(SOURCES)}
    counts = refresh_counts(metrics)
    for n in range(SOURCES):
        ran = sum(counts.get((f"s{n}", outcome), 0) for outcome in ("ok", "not_modified"))
        assert site_before[n] - 1 <= ran <= site_after[n], (n, ran, site_before[n], counts)
        assert counts.get((f"s{n}", "failed"), 0) == 0
    assert_readers_saw_no_error_and_no_loss(world.readers, start)


def test_another_scheduler_leads_when_the_leader_is_killed(world: Fixture) -> None:
    cluster = world.cluster
    leader = cluster.by_pid(wait_until(cluster.leader_pid, "a leader"))
    assert leader is not None and leader.name.startswith("scheduler")
    killed_at = time.monotonic()
    leader.kill(signal.SIGKILL)

    def new_leader() -> int | None:
        pid = cluster.leader_pid()
        return pid if pid is not None and pid != leader.pid else None

    successor = cluster.by_pid(wait_until(new_leader, "another scheduler leading"))
    assert successor is not None and successor.name.startswith("scheduler")
    led_at = time.monotonic()
    end = wait_for_refreshes(world.site, 2, since=led_at)  # two intervals under the new leader
    # Exactly once across the takeover: from an interval before the kill to now.
    assert_once_per_interval(world.site, range(SOURCES), killed_at - EVERY, end,
                             extra=TAKEOVER)
    # …and planned by the new leader, not by chance: refreshes went on after it took over.
    for n in range(SOURCES):
        assert world.site.requests(f"/s/{n}", since=led_at)
    assert_readers_saw_no_error_and_no_loss(world.readers, killed_at)
    cluster.start_scheduler(leader.name)  # two schedulers again for the next tests


def test_a_refresh_whose_worker_is_killed_is_redone_and_never_seen_half_done(
        world: Fixture) -> None:
    cluster, site, slowed = world.cluster, world.site, 0
    before = feed_ids(cluster, "web1", slowed)
    assert len(before) == 3
    # Three new articles, the last one slow: a refresh takes the first two, then waits.
    site.publish(slowed, more=3)
    slow_page = f"/s/{slowed}/5"
    site.slow(slow_page, 60)
    asked_at = time.monotonic()
    slow_at = wait_until(lambda: site.requests(slow_page, since=asked_at),
                         "a refresh waiting for the slow page")[0]
    with Redis.from_url(world.redis.url) as connection:  # RQ stores pickles: bytes replies
        busy = [w for w in Worker.all(connection=connection)
                if (job := w.get_current_job()) is not None and job.args == (f"s{slowed}",)]
    assert len(busy) == 1, [w.name for w in busy]
    victim = cluster.by_pid(busy[0].pid)
    assert victim is not None and victim.name.startswith("worker")
    victim.kill(signal.SIGKILL)
    killed_at = time.monotonic()
    site.slow(slow_page, None)

    wait_until(lambda: len(feed_ids(cluster, "web1", slowed)) == 6, "the killed refresh redone",
               seconds=12 * EVERY)
    # Redone once the lease had expired: no second refresh began while the dead one held it.
    redone = site.requests(f"/s/{slowed}", since=killed_at)
    assert redone and redone[0] >= killed_at
    assert len(site.requests(slow_page, since=killed_at)) >= 1
    status = source_status(cluster, slowed)
    assert status["status"]["state"] == "ok" and status["item_count"] == 6
    assert before < feed_ids(cluster, "web2", slowed)
    # Readers saw the three new items all at once, or none of them: never half a refresh.
    new_ids = feed_ids(cluster, "web1", slowed) - before
    assert len(new_ids) == 3
    for seen in world.readers.since(asked_at):
        if seen.source == slowed and seen.status == 200:
            assert len(seen.ids & new_ids) in (0, 3), f"{seen.web} showed a partial refresh"
    assert_readers_saw_no_error_and_no_loss(world.readers, asked_at)
    # The other sources went on meanwhile, once per interval: their host's turn (pacing) was
    # held by the refresh waiting for the slow page until its worker died, then for one lease
    # period at most; a refresh that waited for it is late by as much, not skipped or doubled.
    held = killed_at - slow_at + LEASE
    assert_once_per_interval(site, range(1, SOURCES), asked_at, time.monotonic(), extra=held,
                             late=held)
    cluster.start_worker(victim.name + "-again")  # three workers again, listening
    wait_until(lambda: f"{cluster.prefix}-{victim.name}-again" in worker_names(world.redis),
               "the new worker listening")


def test_redis_stopped_and_restarted(world: Fixture) -> None:
    cluster, site, redis = world.cluster, world.site, world.redis
    items_before = {n: feed_ids(cluster, "web1", n) for n in range(SOURCES)}
    assert all(items_before.values())
    stopped_at = time.monotonic()
    redis.stop()
    for web in ("web1", "web2"):
        for n in range(SOURCES):
            # Served as current until the web process hears that Redis went; then with an Age.
            answer = wait_until(lambda web=web, n=n: stale_or_failed(cluster, web, n),
                                f"{web} serving s{n} from memory")
            assert answer.status_code == 200, (web, n, answer.status_code)
            assert int(answer.headers["Age"]) >= 0
            assert frozenset(i["id"] for i in answer.json()["items"]) == items_before[n]
        ready = httpx.get(f"{cluster.web_url(web)}/readyz", timeout=10)
        assert ready.status_code == 503
    # A worker (re)started meanwhile, as an orchestrator restarts one, waits for Redis.
    late = cluster.start_worker("worker-late")
    time.sleep(EVERY)  # an outage longer than an interval: ticks fall due meanwhile
    assert not dead(cluster)
    readers_during = world.readers.since(stopped_at)
    assert all(seen.status == 200 for seen in readers_during)

    redis.start()
    restarted_at = time.monotonic()
    # Refreshes resume within an interval (plus what a takeover or a cold start adds, and the
    # workers' reconnection back-off), and nothing that was served is lost.
    wait_until(lambda: all(site.requests(f"/s/{n}", since=restarted_at)
                           for n in range(SOURCES)), "refreshes resumed", seconds=6 * EVERY)
    for n in range(SOURCES):
        first = site.requests(f"/s/{n}", since=restarted_at)[0]
        assert first - restarted_at <= EVERY + JITTER + SLACK + TAKEOVER, n
    for web in ("web1", "web2"):
        wait_until(lambda web=web: httpx.get(f"{cluster.web_url(web)}/readyz",
                                             timeout=10).status_code == 200, f"{web} ready")
        for n in range(SOURCES):
            wait_until(lambda web=web, n=n: "Age" not in httpx.get(
                f"{cluster.web_url(web)}/feeds/s{n}.json", timeout=10).headers,
                f"{web} serving s{n} as current")
            assert items_before[n] <= feed_ids(cluster, web, n)
    assert_readers_saw_no_error_and_no_loss(world.readers, world.started)
    wait_until(lambda: f"{cluster.prefix}-{late.name}" in worker_names(redis),
               "the worker started during the outage listening")
    # Nobody died or restarted, and each web process said so once, not at every request.
    assert not dead(cluster)
    for web in ("web1", "web2"):
        assert cluster.named(web).log().count("Redis is unreachable") == 1, web


def stale_or_failed(cluster: Cluster, web: str, source: int) -> httpx.Response | None:
    """The web process's answer for a source's feed, unless it is a 200 without an Age: served
    as current, the process has not noticed yet that Redis is gone."""
    answer = httpx.get(f"{cluster.web_url(web)}/feeds/s{source}.json", timeout=10)
    return None if answer.status_code == 200 and "Age" not in answer.headers else answer


def worker_names(redis: RedisServer) -> set[str]:
    """The workers registered in RQ now."""
    with Redis.from_url(redis.url) as connection:
        return {worker.name for worker in Worker.all(connection=connection)}


def dead(cluster: Cluster) -> list[str]:
    """Processes that exited although no test killed them, with their exit codes."""
    return [f"{p.name} (pid {p.pid}): exit {p.process.returncode}"
            for p in cluster.processes if not p.killed and not p.alive()]
