"""Schedule: timing only. Entry point: `run_scheduler`. The leading scheduler (store/leadership.py)
keeps one APScheduler job per source, at its interval with jitter; each tick skips a source that is
backing off, then runs its refresh (SYNDICATION_REFRESH_MODE=in-process) or enqueues it for the
workers (rq): what a refresh job does is in jobs.py. A watcher thread (`CatalogueWatcher`) follows
the sources added, changed or removed through the operator API and the refreshes operators ask for.

Due dates live in Redis (each source's next-run, written after every refresh): a scheduler that
takes over from a dead leader plans each source from that date, so the takeover neither skips nor
doubles a refresh. A scheduler process that has just started checks every source at once
(within FIRST_RUN_SPREAD_SECONDS), whatever plan it finds, except those backing off: until then,
nothing but an old check vouches for a source, and /status says so (the start is recorded in
Redis: store/sources.py).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from rq import Queue

from .. import websub
from ..images import sweep_images
from ..model import Source
from ..refresh import RefreshResult
from ..runtime import Runtime
from ..state import Outcome
from ..store import Leadership, StoreUnavailable
from . import jobs

log = logging.getLogger(__name__)

FIRST_RUN_SPREAD_SECONDS = 3.0  # sources start together, but not all in the same instant
WEBSUB_TICK_SECONDS = 2  # WebSub verifications and deliveries start within this delay
SWEEP_SECONDS = 3600  # how often images no item shows are forgotten
WATCH_SECONDS = 2.0  # API sources and asked-for refreshes are taken in within this delay


def build_scheduler(runtime: Runtime, *, takes_over: bool = False,
                    queue: Queue | None = None) -> BackgroundScheduler:
    """A scheduler with one refresh job per source and the WebSub job; start() it to run.
    `takes_over`: first runs at each source's recorded next run, not at once. `queue`: the RQ
    queue that ticks put refreshes in (refresh_mode rq)."""
    scheduler = BackgroundScheduler(timezone=UTC,
                                    job_defaults={"coalesce": True, "max_instances": 1})
    now = datetime.now(UTC)
    for source in runtime.catalogue.sources.values():
        # A push source's job only fetches the images of pushed items (refresh.py).
        first = _planned_run(runtime, source, now) if takes_over else None
        _add_refresh_job(scheduler, runtime, source, now, first, queue)
    # The colon keeps this id apart from every source id.
    scheduler.add_job(websub.tick, IntervalTrigger(seconds=WEBSUB_TICK_SECONDS), args=(runtime,),
                      id="websub:tick", name="websub: verify and deliver", next_run_time=now,
                      misfire_grace_time=WEBSUB_TICK_SECONDS)
    scheduler.add_job(_sweep_images, IntervalTrigger(seconds=SWEEP_SECONDS), args=(runtime,),
                      id="images:sweep", name="images: forget those no item shows",
                      misfire_grace_time=SWEEP_SECONDS)
    return scheduler


def _sweep_images(runtime: Runtime) -> None:
    try:
        sweep_images(runtime)
    except StoreUnavailable as error:
        log.warning("images not swept, Redis unavailable: %s", error)


def _planned_run(runtime: Runtime, source: Source, now: datetime) -> datetime | None:
    try:
        planned = runtime.store.source_status(source.id).next_run
    except StoreUnavailable:
        return None
    return planned if planned is not None and planned > now else None


def _add_refresh_job(scheduler: BaseScheduler, runtime: Runtime, source: Source, now: datetime,
                     first: datetime | None, queue: Queue | None) -> None:
    first = first or now + timedelta(seconds=random.uniform(0, FIRST_RUN_SPREAD_SECONDS))
    scheduler.add_job(
        tick, IntervalTrigger(seconds=source.every_seconds, jitter=_jitter(source),
                              start_date=first),
        args=(runtime, source), kwargs={"queue": queue}, id=source.id,
        name=f"refresh {source.id}", next_run_time=first,
        misfire_grace_time=source.every_seconds, replace_existing=True)


def tick(runtime: Runtime, source: Source, *, asked: bool = False,
         queue: Queue | None = None) -> RefreshResult:
    """One tick of a source's job. A failing source's back-off is a date in Redis (jobs.py)
    before which ticks pass (a restart keeps backing off): a job never reschedules itself
    through the scheduler, whose shutdown waits for running jobs while holding the locks that
    rescheduling needs. A refresh an operator `asked` for runs even while backing off."""
    now = datetime.now(UTC)
    try:
        status = runtime.store.source_status(source.id)
    except StoreUnavailable:
        status = None
    resumes = (status.next_run if not asked and status is not None
               and status.consecutive_failures > 0 else None)
    if resumes is not None and now < resumes - timedelta(seconds=_jitter(source) + 5):
        return RefreshResult(source.id, Outcome.SKIPPED)
    if runtime.settings.refresh_mode == "rq":
        try:
            queued = jobs.enqueue_refresh(runtime, source.id, queue)
        except StoreUnavailable as error:
            log.warning("refresh of source %s not queued: %s", source.id, error)
            return RefreshResult(source.id, Outcome.FAILED, error=str(error), error_kind="redis")
        return RefreshResult(source.id, Outcome.QUEUED if queued else Outcome.SKIPPED)
    return jobs.run_refresh(runtime, source)


def asked_tick(runtime: Runtime, source: Source, queue: Queue | None = None) -> RefreshResult:
    """The refresh an operator asked for; the request is done once it has run (or is queued),
    whatever its outcome: until then a scheduler taking over runs it again."""
    try:
        return tick(runtime, source, asked=True, queue=queue)
    finally:
        try:
            runtime.registry.done_refresh_request(source.id)
        except StoreUnavailable as error:  # left taken: the next leader runs it once more
            log.warning("refresh asked for %s not marked done: %s", source.id, error)


class CatalogueWatcher(threading.Thread):
    """Every few seconds: adds, replaces and removes refresh jobs as sources come and go through
    the operator API, and runs the refreshes operators asked for. A thread of its own, not a
    scheduler job: a job that changes the scheduler's jobs could block its shutdown."""

    def __init__(self, scheduler: BaseScheduler, runtime: Runtime,
                 leadership: Leadership | None = None, queue: Queue | None = None,
                 every: float = WATCH_SECONDS):
        super().__init__(name="catalogue-watcher", daemon=True)
        self.scheduler, self.runtime, self.every = scheduler, runtime, every
        self.leadership, self.queue = leadership, queue
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            try:
                sync_jobs(self.scheduler, self.runtime, self.queue)
                if self.leadership is not None:
                    self.leadership.beat()
            except StoreUnavailable as error:
                log.warning("sources not re-read (Redis unavailable): %s", error)
            except Exception:  # noqa: BLE001 - the watcher must outlive one bad turn
                log.exception("sources not re-read")

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


def sync_jobs(scheduler: BaseScheduler, runtime: Runtime, queue: Queue | None = None) -> None:
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
        elif job.args[1] != wanted[job.id]:
            _add_refresh_job(scheduler, runtime, wanted[job.id], now, None, queue)
            log.info("source %s changed: refreshing with its new definition", job.id)
    for source_id, source in wanted.items():
        if scheduler.get_job(source_id) is None:
            _add_refresh_job(scheduler, runtime, source, now, None, queue)
            log.info("source %s added: its first refresh starts", source_id)
    for source_id in runtime.registry.take_refresh_requests():
        asked = wanted.get(source_id)
        if asked is None:
            continue
        # A job of its own, run at once: the periodic one keeps its rhythm, and the lease
        # keeps the two from refreshing the source together.
        scheduler.add_job(asked_tick, args=(runtime, asked), kwargs={"queue": queue},
                          id=f"{source_id}:asked", name=f"refresh {source_id} (asked)",
                          next_run_time=now, replace_existing=True, misfire_grace_time=60)
        log.info("source %s: refresh asked for", source_id)


def prepare(runtime: Runtime) -> None:
    """Before the first run: bring feed indexes in line with feeds/*.toml, which may have
    changed since the last run, and with the sources added through the API, read again first:
    a scheduler that waited to lead may hold a view older than them, and re-indexing from it
    would take their items out of the feeds they joined; and ask again for the refreshes a
    leader took and did not run. Raises StoreUnavailable."""
    runtime.live.sync(force=True)
    runtime.registry.requeue_taken_requests()  # a dead leader's, taken and not run
    now = datetime.now(UTC)
    for feed in runtime.catalogue.feeds.values():
        if runtime.store.rebuild_feed(feed, now):
            log.info("feed %s re-indexed from its sources", feed.id)


def run_scheduler(runtime: Runtime, stop: threading.Event) -> None:
    """Lead when no other scheduler does, schedule while leading, step down when the lease is
    lost; until `stop` is set. Survives Redis outages: it tries again."""
    leadership = runtime.stores.leadership(runtime.settings.leader_lease_seconds)
    queue = jobs.refresh_queue(runtime) if runtime.settings.refresh_mode == "rq" else None
    unreachable = False  # warned once per outage, not at every try
    born, started = time.monotonic(), False
    while not stop.is_set():
        try:
            leading = leadership.try_lead()
            unreachable = False
        except StoreUnavailable as error:
            if not unreachable:
                log.warning("cannot reach Redis to lead, trying again: %s", error)
                unreachable = True
            leading = False
        except Exception:  # noqa: BLE001 - as above: try again, never end the loop
            log.exception("could not try to lead")
            leading = False
        if not leading:
            stop.wait(leadership.seconds / 3)
            continue
        log.info("this scheduler leads (%s)", leadership.token)
        scheduler, watcher = None, None
        try:
            prepare(runtime)
            fresh = starting(started, time.monotonic() - born, leadership.seconds)
            if fresh:  # a standby taking over keeps the start of the service it continues
                runtime.registry.record_scheduler_start(datetime.now(UTC))
            started = True
            takes_over = leadership.takes_over and not fresh
            scheduler = build_scheduler(runtime, takes_over=takes_over, queue=queue)
            scheduler.start()
            watcher = CatalogueWatcher(scheduler, runtime, leadership, queue)
            watcher.start()
            while not stop.is_set() and not leadership.lost.is_set():
                stop.wait(0.5)
                if not watcher.is_alive():  # it never ends on its own: treat as a lost turn
                    raise RuntimeError("the catalogue watcher stopped")
        except StoreUnavailable as error:
            log.warning("scheduling interrupted, Redis unavailable: %s", error)
        except Exception:  # noqa: BLE001 - a scheduler must outlive one bad turn
            log.exception("scheduling interrupted")
        finally:
            if watcher is not None:
                watcher.stop()
            if scheduler is not None:
                # On a clean stop, running refreshes finish before the runtime closes (they
                # would otherwise fail and back off); after a lost lease, another leads already.
                scheduler.shutdown(wait=stop.is_set())
            try:
                leadership.resign(clean=stop.is_set())
            except StoreUnavailable:
                pass  # the lease expires by itself
            if not stop.is_set():
                log.warning("this scheduler no longer leads; waiting to lead again")
                stop.wait(leadership.seconds / 3)


def starting(led_before: bool, age: float, lease_seconds: float) -> bool:
    """Whether a process that now leads (`age` seconds after it started) is starting: then it
    checks every source at once instead of taking over the plan in Redis, which would leave a
    source unchecked until its next run (up to its interval). A process leading within two lease
    periods of its start is starting: it may have waited for the lease of the process it
    replaces (killed without a clean stop) to expire, never longer. A standby taking over from a
    leader that died later follows the plan, so that no refresh is doubled."""
    return not led_before and age <= 2 * lease_seconds


def _jitter(source: Source) -> int:
    """Seconds by which a source's tick may come early or late, so that sources spread out."""
    return max(1, source.every_seconds // 10)
