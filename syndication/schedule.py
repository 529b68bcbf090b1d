"""Schedule: timing only. One APScheduler job per source, at its interval with jitter,
backing off after failures. Everything else happens in `refresh`, so a job can later run in a
worker pool. A watcher thread (`CatalogueWatcher`) follows the sources added, changed or removed
through the operator API and the refreshes operators ask for."""

from __future__ import annotations

import logging
import random
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from redis.exceptions import RedisError

from . import websub
from .model import Source
from .refresh import RefreshResult, refresh
from .runtime import Runtime

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
FIRST_RUN_SPREAD_SECONDS = 3.0  # sources start together, but not all in the same instant
WEBSUB_TICK_SECONDS = 2  # WebSub verifications and deliveries start within this delay


def build_scheduler(runtime: Runtime, *, blocking: bool) -> BaseScheduler:
    """A scheduler with one refresh job per declared source; start() it to run."""
    scheduler: BaseScheduler = (BlockingScheduler if blocking else BackgroundScheduler)(
        timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})
    now = datetime.now(UTC)
    for source in runtime.catalogue.sources.values():
        # A push source's job only fetches the images of pushed items (refresh.py).
        _add_refresh_job(scheduler, runtime, source, now)
    # The colon keeps this id apart from every source id.
    scheduler.add_job(websub.tick, IntervalTrigger(seconds=WEBSUB_TICK_SECONDS), args=(runtime,),
                      id="websub:tick", name="websub: verify and deliver", next_run_time=now,
                      misfire_grace_time=WEBSUB_TICK_SECONDS)
    return scheduler


def _add_refresh_job(scheduler: BaseScheduler, runtime: Runtime, source: Source,
                     now: datetime) -> None:
    scheduler.add_job(
        run_refresh, IntervalTrigger(seconds=source.every_seconds, jitter=_jitter(source)),
        args=(scheduler, runtime, source), id=source.id, name=f"refresh {source.id}",
        next_run_time=now + timedelta(seconds=random.uniform(0, FIRST_RUN_SPREAD_SECONDS)),
        misfire_grace_time=source.every_seconds, replace_existing=True)


class CatalogueWatcher(threading.Thread):
    """Every few seconds: adds, replaces and removes refresh jobs as sources come and go through
    the operator API, and runs the refreshes operators asked for. A thread of its own, not a
    scheduler job: a job that changes the scheduler's jobs could block its shutdown."""

    def __init__(self, scheduler: BaseScheduler, runtime: Runtime, every: float = 2.0):
        super().__init__(name="catalogue-watcher", daemon=True)
        self.scheduler, self.runtime, self.every = scheduler, runtime, every
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            try:
                sync_jobs(self.scheduler, self.runtime)
            except RedisError as error:
                log.warning("sources not re-read (Redis unavailable): %s", error)
            except Exception:  # noqa: BLE001 - the watcher must outlive one bad turn
                log.exception("sources not re-read")

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


def sync_jobs(scheduler: BaseScheduler, runtime: Runtime) -> None:
    """One turn of the watcher (tests call it directly)."""
    runtime.sync_catalogue(force=True)
    wanted = dict(runtime.catalogue.sources)
    now = datetime.now(UTC)
    for job in scheduler.get_jobs():
        if ":" in job.id:  # not a source's periodic job
            continue
        if job.id not in wanted:
            scheduler.remove_job(job.id)
            log.info("source %s removed: its refreshes stop", job.id)
        elif job.args[2] != wanted[job.id]:
            _add_refresh_job(scheduler, runtime, wanted[job.id], now)
            log.info("source %s changed: refreshing with its new definition", job.id)
    for source_id, source in wanted.items():
        if scheduler.get_job(source_id) is None:
            _add_refresh_job(scheduler, runtime, source, now)
            log.info("source %s added: its first refresh starts", source_id)
    for source_id in runtime.registry.take_refresh_requests():
        source = wanted.get(source_id)
        if source is None:
            continue
        # A job of its own, run at once: the periodic one keeps its rhythm, and the lease
        # keeps the two from refreshing the source together.
        scheduler.add_job(run_refresh, args=(scheduler, runtime, source),
                          kwargs={"asked": True}, id=f"{source_id}:asked",
                          name=f"refresh {source_id} (asked)", next_run_time=now,
                          replace_existing=True, misfire_grace_time=60)
        log.info("source %s: refresh asked through the API", source_id)


def prepare(runtime: Runtime) -> None:
    """Before the first run: bring feed indexes in line with feeds/*.toml, which may have
    changed since the last run."""
    now = datetime.now(UTC)
    for feed in runtime.catalogue.feeds.values():
        if runtime.store.rebuild_feed(feed, now):
            log.info("feed %s re-indexed from its sources", feed.id)
            websub.announce_changes(runtime, [feed.id], now)


def run_refresh(scheduler: BaseScheduler, runtime: Runtime, source: Source, *,
                asked: bool = False) -> RefreshResult:
    """One tick of a source's job. A failing source's back-off is kept as a date in Redis,
    before which ticks pass (a restart keeps backing off): a job never reschedules itself
    through the scheduler, whose shutdown waits for running jobs while holding the locks that
    rescheduling needs. A healthy source refreshes at every tick, and at start; a refresh an
    operator `asked` for runs even while backing off."""
    now = datetime.now(UTC)
    try:
        status = runtime.store.source_status(source.id)
    except RedisError:
        status = None
    backing_off = (not asked and status is not None and status.consecutive_failures > 0
                   and status.next_run)
    if backing_off and now < status.next_run - timedelta(seconds=_jitter(source) + 5):
        return RefreshResult(source.id, "skipped")
    result = refresh(source, runtime)
    if result.changed_feeds:
        websub.announce_changes(runtime, result.changed_feeds)
    delay = timedelta(seconds=source.every_seconds)
    if result.outcome in ("failed", "degraded"):  # a changed layout is not fixed by hammering
        failures = runtime.store.source_status(source.id).consecutive_failures
        delay = backoff_delay(source.every_seconds, failures)
        if result.retry_after is not None:  # the server said when to come back (Retry-After)
            delay = max(delay, timedelta(seconds=result.retry_after))
        log.info("source %s: next attempt in %s", source.id, delay)
    try:  # read above, and by the status page in other processes
        runtime.store.record_next_run(source.id, datetime.now(UTC) + delay)
    except RedisError:
        log.warning("could not record the next run of source %s", source.id)
    return result


def _jitter(source: Source) -> int:
    """Seconds by which a source's tick may come early or late, so that sources spread out."""
    return max(1, source.every_seconds // 10)


def backoff_delay(every_seconds: int, failures: int) -> timedelta:
    """Interval × 2^(failures-1), with ±10 % jitter, capped (a failing site is not hammered)."""
    base = min(every_seconds * 2 ** max(0, min(failures, 20) - 1), MAX_BACKOFF.total_seconds())
    return timedelta(seconds=base * random.uniform(0.9, 1.1))
