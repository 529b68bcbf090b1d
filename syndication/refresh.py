"""Refresh: one source, from its pages to the store. Entry point: `refresh(source, runtime)`.

lease → harvest → normalise → probe images → decide (pure, decide.py) → commit. Nothing else
happens here: which pages to fetch is harvest/'s, what to write is decide.py's, and what follows
a committed change (render caches, WebSub) hears of it through the store's change stream.

`refresh` never raises for a source's own problems: it returns a RefreshResult, records the
source's status, and leaves the items of the last good refresh in place when anything goes
wrong. It holds the source's lease, so that two processes never refresh one source at once, and
counts every refresh for /metrics (store/metrics.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from .decide import Commit, decide, normalise_harvest
from .errors import SyndicationError
from .harvest import harvest
from .images import probe_images
from .model import Item, Source, SourceType, member_of
from .normalise import reconcile
from .runtime import Runtime
from .state import Outcome, SourceState, SourceStatus
from .store import KeptLease, StoreUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RefreshResult:
    source: str
    outcome: Outcome
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: tuple[str, ...] = ()
    error: str | None = None
    error_kind: str | None = None  # the error's kind (errors.py), "layout" when degraded
    retry_after: float | None = None  # seconds the source's server asked us to wait (429, 503)
    duration_ms: int = 0
    changed_feeds: frozenset[str] = field(default_factory=frozenset)


def refresh(source: Source, runtime: Runtime, now: datetime | None = None) -> RefreshResult:
    lease = runtime.stores.source_lease(source.id, runtime.settings.lease_seconds)
    try:
        if not lease.acquire():
            return _counted(runtime, RefreshResult(source.id, Outcome.SKIPPED), ran=False)
    except StoreUnavailable as error:  # without Redis nothing can be stored: wait for the next run
        log.warning("source %s not refreshed: Redis is unavailable (%s)", source.id, error)
        return RefreshResult(source.id, Outcome.FAILED, error=f"Redis unavailable: {error}",
                             error_kind="redis")
    started = time.monotonic()
    now = now or datetime.now(UTC)
    try:
        previous = runtime.store.source_status(source.id)
    except StoreUnavailable:
        previous = SourceStatus()
    try:
        if source.type == SourceType.PUSH:
            result = _complete_pushed_images(source, runtime, now, lease)
        else:
            result = _refresh(source, runtime, now, previous, started, lease)
    except Exception as error:  # noqa: BLE001 - one bad source must never stop a run
        result = _record_failure(source, runtime, now, previous, started, error)
    finally:
        lease.release()
    return _counted(runtime, result, ran=True)


def _refresh(source: Source, runtime: Runtime, now: datetime, previous: SourceStatus,
             started: float, lease: KeptLease) -> RefreshResult:
    store = runtime.store
    harvested = normalise_harvest(
        source, harvest(source, runtime.fetcher, store.page_states(source.id)), now,
        allowed_networks=runtime.fetcher.allowed_networks)
    for warning in harvested.warnings:
        log.warning("source %s: %s", source.id, warning)
    items = probe_images(runtime, harvested.items)  # fetches only images never seen
    harvested = replace(harvested, items=items)
    commit = decide(source, previous, harvested, store.stored_items(_members(source, runtime,
                                                                             items)),
                    store.source_baseline(source.id), now,
                    drift_min_ratio=runtime.settings.drift_min_ratio,
                    duration_ms=_elapsed(started))
    changed_feeds: set[str] = set()
    if commit.outcome != Outcome.OK:
        store.record_status(source.id, commit.status, baseline=commit.baseline)
    elif not lease.held():
        return _lease_lost(source)
    else:
        changed_feeds = store.commit_refresh(source, runtime.catalogue.feeds_of(source.id),
                                             commit.changed, commit.pages, commit.status, now,
                                             baseline=commit.baseline)
    return _result(source, commit, changed_feeds)


def _members(source: Source, runtime: Runtime, items: list[Item]) -> list[str]:
    """The members to read before deciding: the items' own, and the same pages as other sources
    of the publisher hold them (one page reached twice keeps one set of dates)."""
    siblings = [other.id for other in runtime.catalogue.sources.values()
                if other.publisher == source.publisher and other.id != source.id]
    return [member_of(item) for item in items] + [
        f"{sibling}/{item.id}" for sibling in siblings for item in items]


def _result(source: Source, commit: Commit, changed_feeds: set[str]) -> RefreshResult:
    status = commit.status
    result = RefreshResult(source.id, commit.outcome, new=commit.new, updated=commit.updated,
                           unchanged=commit.unchanged, warnings=status.warnings,
                           duration_ms=status.last_duration_ms or 0,
                           changed_feeds=frozenset(changed_feeds))
    if commit.outcome == Outcome.DEGRADED:
        log.warning("source %s degraded, its last good items kept: %s", source.id,
                    status.last_error)
        return replace(result, error=status.last_error, error_kind="layout")
    log.info("source %s %s: %d new, %d updated, %d unchanged, %d warnings", source.id,
             commit.outcome, result.new, result.updated, result.unchanged, len(result.warnings))
    return result


def _complete_pushed_images(source: Source, runtime: Runtime, now: datetime,
                            lease: KeptLease) -> RefreshResult:
    """A push source's refresh: nothing to fetch but the images of its items that are not
    measured yet (push.ingest fetches none while the publisher waits)."""
    stored = runtime.store.source_items(source.id, limit=runtime.settings.retention)
    lacking = {member_of(item): item for item in stored if item.image and
               not item.image.derivatives}
    changed = [kept for kept in (reconcile(lacking[member_of(item)], item)
                                 for item in probe_images(runtime, lacking.values())) if kept]
    if not changed:
        return RefreshResult(source.id, Outcome.NOT_MODIFIED, unchanged=len(stored))
    if not lease.held():
        return _lease_lost(source)
    changed_feeds = runtime.store.commit_refresh(
        source, runtime.catalogue.feeds_of(source.id), changed, {},
        runtime.store.source_status(source.id), now)
    log.info("push source %s: images of %d items completed", source.id, len(changed))
    return RefreshResult(source.id, Outcome.OK, updated=len(changed),
                         unchanged=len(stored) - len(changed),
                         changed_feeds=frozenset(changed_feeds))


def _lease_lost(source: Source) -> RefreshResult:
    """This refresh outlived its lease (a process paused past its expiry): another process may
    hold it and have written newer work, which this one must not overwrite."""
    log.warning("source %s: lease lost during the refresh, nothing written", source.id)
    return RefreshResult(source.id, Outcome.SKIPPED, warnings=("lease lost during the refresh",))


def _record_failure(source: Source, runtime: Runtime, now: datetime, previous: SourceStatus,
                    started: float, error: Exception) -> RefreshResult:
    kind = getattr(error, "kind", "internal")
    if isinstance(error, SyndicationError):
        log.warning("source %s failed (%s): %s", source.id, kind, error)
    else:
        log.exception("source %s failed on an unexpected error", source.id)
    status = replace(previous, state=SourceState.FAILING, last_attempt=now,
                     last_error=str(error), last_error_kind=kind, last_error_at=now,
                     failing_since=previous.failing_since or now,
                     consecutive_failures=previous.consecutive_failures + 1,
                     last_duration_ms=_elapsed(started))
    try:
        runtime.store.record_status(source.id, status)
    except Exception:  # noqa: BLE001 - Redis itself may be what failed
        log.exception("could not record the status of source %s", source.id)
    return RefreshResult(source.id, Outcome.FAILED, error=str(error), error_kind=kind,
                         retry_after=getattr(error, "retry_after", None),
                         duration_ms=status.last_duration_ms or 0)


def _counted(runtime: Runtime, result: RefreshResult, *, ran: bool) -> RefreshResult:
    """Add the refresh to the counters of /metrics; a refresh never fails for their sake."""
    try:
        runtime.stores.metrics.record_refresh(
            result.source, result.outcome, seconds=result.duration_ms / 1000 if ran else None,
            new=result.new, updated=result.updated, error_kind=result.error_kind)
    except StoreUnavailable as error:
        log.warning("refresh of source %s not counted: %s", result.source, error)
    return result


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
