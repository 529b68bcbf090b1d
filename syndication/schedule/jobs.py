"""What one refresh job does, wherever it runs, and the RQ queue that carries jobs to workers.

With SYNDICATION_REFRESH_MODE=in-process (the default: demo, development, small deployments) the
scheduler calls `run_refresh` itself. With `rq`, the leading scheduler enqueues `refresh_job`
into RQ and any number of `syndication worker` processes, on any machine, run them. A job carries
only a source id: the worker reads the source from its own catalogue, so a source changed through
the operator API since is refreshed as it is now.

Workers are RQ SimpleWorkers: a job runs in the worker process itself (no fork per job; the
worker's HTTP connections and robots.txt copies serve every job). A worker killed in the middle
of a refresh loses nothing: the refresh had committed nothing (one transaction at the end), its
source's lease expires within SYNDICATION_LEASE_SECONDS, and another worker's maintenance finds
the abandoned job and runs it again (RQ retries).
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from rq import Queue, Retry, SimpleWorker
from rq.job import Job, JobStatus

from ..model import Source
from ..refresh import RefreshResult, refresh
from ..runtime import Runtime
from ..state import Outcome
from ..store import QueueConnection, StoreUnavailable

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
MAINTENANCE_SECONDS = 30  # how often a worker looks for jobs abandoned by a dead worker
RETRIES = 2  # runs of a job whose worker died, after the first
_PENDING = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


def run_refresh(runtime: Runtime, source: Source) -> RefreshResult:
    """Refresh a source and record when it should run next: its
    interval, or after a failure (or a changed layout, which hammering does not fix) a back-off
    that honours the site's Retry-After. The date is kept in Redis, where every scheduler reads
    it (scheduler.tick, and a scheduler taking over the lead)."""
    result = refresh(source, runtime)
    if result.outcome == Outcome.SKIPPED:  # another process is refreshing it and will plan the next
        return result
    delay = timedelta(seconds=source.every_seconds)
    try:
        if result.outcome in (Outcome.FAILED, Outcome.DEGRADED):
            failures = runtime.store.source_status(source.id).consecutive_failures
            delay = backoff_delay(source.every_seconds, failures)
            if result.retry_after is not None:  # the server said when to come back
                delay = max(delay, timedelta(seconds=result.retry_after))
            log.info("source %s: next attempt in %s", source.id, delay)
        runtime.store.record_next_run(source.id, datetime.now(UTC) + delay)
    except StoreUnavailable:
        log.warning("could not record the next run of source %s", source.id)
    return result


def backoff_delay(every_seconds: int, failures: int,
                  uniform: Callable[[float, float], float] = random.uniform) -> timedelta:
    """Interval × 2^(failures-1), with ±10 % jitter, capped (a failing site is not hammered).
    `uniform(a, b)` draws the jitter factor (random.uniform; tests pass their own)."""
    base = min(every_seconds * 2 ** max(0, min(failures, 20) - 1), MAX_BACKOFF.total_seconds())
    return timedelta(seconds=base * uniform(0.9, 1.1))


# --- RQ ------------------------------------------------------------------------------------


def _rq_name(runtime: Runtime, *parts: str) -> str:
    """A name RQ accepts (letters, digits, _ and -) that carries the key prefix, so that
    deployments sharing a Redis server keep their work apart."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", "-".join((runtime.settings.redis_prefix, *parts)))


def refresh_queue(runtime: Runtime, connection: QueueConnection | None = None) -> Queue:
    """The queue of refresh jobs."""
    return Queue(_rq_name(runtime, "refresh"),
                 connection=connection or runtime.stores.queue_connection())


def enqueue_refresh(runtime: Runtime, source_id: str, queue: Queue | None = None) -> bool:
    """Queue a refresh of one source, unless one is queued or running already (then False)."""
    queue = queue or refresh_queue(runtime)
    job_id = refresh_job_id(runtime, source_id)
    pending = queue.fetch_job(job_id)
    if pending is not None and pending.get_status(refresh=False) in _PENDING and not (
            _abandoned(runtime, source_id, pending)):
        return False
    queue.enqueue(refresh_job, source_id, job_id=job_id, retry=Retry(max=RETRIES),
                  job_timeout=_job_timeout(runtime, source_id),
                  result_ttl=3600, failure_ttl=7 * 86400,
                  description=f"refresh {source_id}")
    return True


def _job_timeout(runtime: Runtime, source_id: str) -> int:
    """How long RQ lets a refresh run before stopping it: the backstop against one that hangs
    (the lease is renewed meanwhile). Enough for every page the source may fetch, each with
    its timeout and the pause between two requests to a host, twice over."""
    settings = runtime.settings
    source = runtime.catalogue.sources.get(source_id)
    pages = source.max_pages + source.max_items + 1 if source else 100
    return max(600, int(2 * pages * (settings.fetch_timeout + max(settings.host_delay, 1.0))))


def refresh_job_id(runtime: Runtime, source_id: str) -> str:
    """One id per source: a source is queued at most once at a time."""
    return _rq_name(runtime, "refresh", source_id)


def _abandoned(runtime: Runtime, source_id: str, job: Job) -> bool:
    """A job still marked started whose worker died. RQ notices only after the job timeout; the
    source's lease tells at once: a live refresh holds it and renews it."""
    if job.get_status(refresh=False) != JobStatus.STARTED or job.started_at is None:
        return False
    started = job.started_at if job.started_at.tzinfo else job.started_at.replace(tzinfo=UTC)
    seconds = runtime.settings.lease_seconds
    if (datetime.now(UTC) - started).total_seconds() < seconds:
        return False
    if runtime.stores.source_locked(source_id):
        return False
    log.warning("refresh of source %s abandoned by its worker: queued again", source_id)
    return True


_worker_runtime: Runtime | None = None


def refresh_job(source_id: str) -> dict[str, Any]:
    """An RQ job: refresh one source in this worker process, with this process's runtime."""
    if _worker_runtime is None:
        raise RuntimeError("refresh jobs run in `syndication worker` processes")
    runtime = _worker_runtime
    runtime.sync_catalogue()
    source = runtime.catalogue.sources.get(source_id)
    if source is None:  # removed through the operator API since it was queued
        return {"source": source_id, "outcome": Outcome.REMOVED}
    result = run_refresh(runtime, source)
    return {"source": source_id, "outcome": result.outcome, "new": result.new,
            "updated": result.updated, "error": result.error}


def work(runtime: Runtime, *, burst: bool = False, name: str | None = None) -> None:
    """Run an RQ worker on the refresh queue in this process until it is stopped (SIGTERM or
    SIGINT: the current job finishes first) or, with `burst`, until the queue is empty."""
    global _worker_runtime
    _worker_runtime = runtime
    connection = runtime.stores.queue_connection()
    runtime.stores.wait_until_reachable(connection)
    worker = SimpleWorker([refresh_queue(runtime, connection)], connection=connection,
                          name=name, maintenance_interval=MAINTENANCE_SECONDS)
    worker.work(burst=burst, logging_level=runtime.settings.log_level.upper())
