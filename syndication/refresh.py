"""Refresh: fetch → extract → normalise → store, for one source.

`refresh(source, runtime)` never raises for a source's own problems: it returns a RefreshResult
(ok / not_modified / degraded / failed / skipped), records the source's status, and leaves the
items of the last good refresh in place when anything goes wrong. A refresh whose pages answered
but whose result looks like a changed layout (drift.py) is not committed: the source is degraded
until a refresh looks normal again. It holds a lease so that two processes never refresh one
source at once, and counts every refresh for /metrics (store/metrics.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from redis.exceptions import RedisError

from .drift import layout_drift
from .errors import ExtractionFailed, FetchError, SyndicationError
from .extract import extract_page
from .extract.feeds import parse_feed, parse_sitemap
from .fetch import Fetcher, Page, Unchanged, Validators
from .images import probe_images
from .leases import KeptLease
from .model import ExtractionCounts, Item, RawRecord, Source, SourceStatus
from .normalise import canonical_url, normalise, reconcile
from .runtime import Runtime
from .store import PageState, member_of
from .store.metrics import MetricsStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RefreshResult:
    source: str
    # ok | not_modified | degraded (layout changed?) | failed | skipped (lease held elsewhere)
    outcome: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: tuple[str, ...] = ()
    error: str | None = None
    error_kind: str | None = None  # the error's kind (errors.py), "layout" when degraded
    retry_after: float | None = None  # seconds the source's server asked us to wait (429, 503)
    duration_ms: int = 0
    changed_feeds: frozenset[str] = field(default_factory=frozenset)


@dataclass
class _Harvest:
    """What one pass over a source's pages brought back."""

    records: list[tuple[str, RawRecord]] = field(default_factory=list)  # (page URL, record)
    kept: list[str] = field(default_factory=list)  # members of pages that answered 304
    pages: dict[str, PageState] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    followed: list[str] = field(default_factory=list)  # detail page URLs, in page order


def refresh(source: Source, runtime: Runtime, now: datetime | None = None) -> RefreshResult:
    lease = KeptLease(runtime.store.lease(source.id, runtime.settings.lease_seconds),
                      f"source {source.id}")
    try:
        if not lease.acquire():
            return _counted(runtime, RefreshResult(source.id, "skipped"), ran=False)
    except RedisError as error:  # without Redis nothing can be stored: wait for the next run
        log.warning("source %s not refreshed: Redis is unavailable (%s)", source.id, error)
        return RefreshResult(source.id, "failed", error=f"Redis unavailable: {error}",
                             error_kind="redis")
    started = time.monotonic()
    now = now or datetime.now(UTC)
    try:
        previous = runtime.store.source_status(source.id)
    except RedisError:
        previous = SourceStatus()
    try:
        result = _refresh(source, runtime, now, previous, started, lease)
    except Exception as error:  # noqa: BLE001 - one bad source must never stop a run
        result = _record_failure(source, runtime, now, previous, started, error)
    finally:
        lease.release()
    return _counted(runtime, result, ran=True)


def _counted(runtime: Runtime, result: RefreshResult, *, ran: bool) -> RefreshResult:
    """Add the refresh to the counters of /metrics; a refresh never fails for their sake."""
    try:
        MetricsStore(runtime.redis, runtime.settings.redis_prefix).record_refresh(
            result.source, result.outcome, seconds=result.duration_ms / 1000 if ran else None,
            new=result.new, updated=result.updated, error_kind=result.error_kind)
    except RedisError as error:
        log.warning("refresh of source %s not counted: %s", result.source, error)
    return result


def _refresh(source: Source, runtime: Runtime, now: datetime, previous: SourceStatus,
             started: float, lease: KeptLease) -> RefreshResult:
    if source.type == "push":
        return _complete_pushed_images(source, runtime, now, lease)
    harvest = _harvest(source, runtime, runtime.store.page_states(source.id))
    items = _normalise_all(source, harvest, now)
    counts = _count(harvest)
    for warning in harvest.warnings:
        log.warning("source %s: %s", source.id, warning)
    drift = layout_drift(runtime.store.source_baseline(source.id), counts,
                         min_ratio=runtime.settings.drift_min_ratio)
    if drift is not None:  # nothing committed: subscribers keep the last good items
        return _record_drift(source, runtime, now, previous, started, drift, harvest)
    if not items and not harvest.kept:  # and never any before: nothing was ever readable
        raise ExtractionFailed(source.url, "no item could be extracted from the source's pages")
    status = SourceStatus(
        state="ok" if items else "not_modified", last_attempt=now, last_success=now,
        last_error=previous.last_error, last_error_kind=previous.last_error_kind,
        last_error_at=previous.last_error_at, last_duration_ms=_elapsed(started),
        warnings=tuple(harvest.warnings))
    if not items:  # every page answered 304
        runtime.store.record_status(source.id, status, baseline=counts)
        log.info("source %s not modified", source.id)
        return RefreshResult(source.id, "not_modified", unchanged=len(harvest.kept),
                             warnings=status.warnings, duration_ms=status.last_duration_ms or 0)

    items = probe_images(runtime, items)  # image facts; fetches only images never seen
    stored = runtime.store.stored_items(member_of(item) for item in items)
    changed = [c for c in (reconcile(stored.get(member_of(i)), i) for i in items) if c]
    new = sum(1 for item in changed if member_of(item) not in stored)
    if not lease.held():
        return _lease_lost(source)
    changed_feeds = runtime.store.commit_refresh(
        source, runtime.catalogue.feeds_of(source.id), changed, harvest.pages, status, now,
        baseline=counts)
    result = RefreshResult(source.id, "ok", new=new, updated=len(changed) - new,
                           unchanged=len(items) - len(changed) + len(harvest.kept),
                           warnings=status.warnings, duration_ms=status.last_duration_ms or 0,
                           changed_feeds=frozenset(changed_feeds))
    log.info("source %s refreshed: %d new, %d updated, %d unchanged, %d warnings", source.id,
             result.new, result.updated, result.unchanged, len(result.warnings))
    return result


def _lease_lost(source: Source) -> RefreshResult:
    """This refresh outlived its lease (a process paused past its expiry): another process may
    hold it and have written newer work, which this one must not overwrite."""
    log.warning("source %s: lease lost during the refresh, nothing written", source.id)
    return RefreshResult(source.id, "skipped", warnings=("lease lost during the refresh",))


def _complete_pushed_images(source: Source, runtime: Runtime, now: datetime,
                            lease: KeptLease) -> RefreshResult:
    """A push source's refresh: nothing to fetch but the images of its items that are not
    measured yet (push.ingest fetches none while the publisher waits)."""
    stored = runtime.store.source_items(source.id, limit=runtime.settings.retention)
    lacking = [item for item in stored if item.image and not item.image.derivatives]
    if not lacking:
        return RefreshResult(source.id, "not_modified", unchanged=len(stored))
    by_member = {member_of(item): item for item in lacking}
    changed = [kept for kept in (reconcile(by_member[member_of(item)], item)
                                 for item in probe_images(runtime, lacking)) if kept]
    if not changed:
        return RefreshResult(source.id, "not_modified", unchanged=len(stored))
    if not lease.held():
        return _lease_lost(source)
    changed_feeds = runtime.store.commit_refresh(
        source, runtime.catalogue.feeds_of(source.id), changed, {},
        runtime.store.source_status(source.id), now)
    log.info("push source %s: images of %d items completed", source.id, len(changed))
    return RefreshResult(source.id, "ok", updated=len(changed),
                         unchanged=len(stored) - len(changed),
                         changed_feeds=frozenset(changed_feeds))


def _harvest(source: Source, runtime: Runtime, known: dict[str, PageState]) -> _Harvest:
    if source.type == "feed":
        return _harvest_feed(source, runtime, known)
    if source.type == "sitemap":
        return _harvest_sitemap(source, runtime, known)
    return _harvest_html(source, runtime, known)


def _harvest_html(source: Source, runtime: Runtime, known: dict[str, PageState]) -> _Harvest:
    """Fetch the entry page, its listing pages and the detail pages it links to, each with the
    validators of the last good refresh: re-polling an unchanged source costs a few 304s."""
    fetcher = runtime.fetcher
    harvest = _Harvest()
    entry_state = known.get(source.url)
    entry = fetcher.fetch(source.url, entry_state.validators if entry_state else None)
    if isinstance(entry, Unchanged):
        assert entry_state is not None
        # Same page, so same links: the detail pages are still checked, each with its validators.
        links = list(entry_state.links)
        harvest.pages[source.url] = entry_state
        if entry_state.member:
            harvest.kept.append(entry_state.member)
    else:
        extraction = extract_page(entry.text, entry.url, source)
        if extraction.record is not None:
            harvest.records.append((source.url, extraction.record))
        links = list(extraction.links) + _paginate(source, fetcher, extraction.next_page, harvest)
        links = [link for link in dict.fromkeys(map(canonical_url, links)) if link != source.url]
        # Validators are stored only when the refresh commits: a failed one is retried in full.
        harvest.pages[source.url] = PageState(entry.validators, links=tuple(links))

    detail_source = replace(source, listing=False, follow=None, paginate=None)
    harvest.followed = links[:source.max_items]
    for link in harvest.followed:
        state = known.get(link)
        try:
            page = fetcher.fetch(link, state.validators if state and state.member else None)
        except FetchError as error:
            harvest.warnings.append(str(error))
            continue
        if isinstance(page, Unchanged):
            assert state is not None and state.member is not None
            harvest.kept.append(state.member)
            harvest.pages[link] = state
            continue
        record = extract_page(page.text, page.url, detail_source).record
        assert record is not None
        harvest.records.append((link, record))
        harvest.pages[link] = PageState(page.validators)
    return harvest


def _detail_page(source: Source, fetcher: Fetcher, link: str, state: PageState | None,
                 harvest: _Harvest, *, lastmod: str | None = None,
                 fallback: RawRecord | None = None) -> None:
    """Fetch one detail page (conditionally when it gave an item before) and extract it with the
    source's selectors; what the page lacks comes from `fallback` (a feed entry)."""
    try:
        page = fetcher.fetch(link, state.validators if state and state.member else None)
    except FetchError as error:
        harvest.warnings.append(str(error))
        if state is not None and state.member:  # keep the item it gave; retried next time
            harvest.kept.append(state.member)
            harvest.pages[link] = state
        return
    if isinstance(page, Unchanged):
        assert state is not None and state.member is not None
        harvest.kept.append(state.member)
        harvest.pages[link] = replace(state, lastmod=lastmod or state.lastmod)
        return
    detail_source = replace(source, listing=False, follow=None, paginate=None)
    record = extract_page(page.text, page.url, detail_source).record
    assert record is not None
    if fallback is not None:
        record = replace(fallback, **{name: getattr(record, name) for name in record.__slots__
                                      if getattr(record, name) and name != "url"},
                         url=record.url)
    harvest.records.append((link, record))
    harvest.pages[link] = PageState(page.validators, lastmod=lastmod)


def _harvest_feed(source: Source, runtime: Runtime, known: dict[str, PageState]) -> _Harvest:
    """A feed source: the feed (asked "changed since?"), each entry an item; with full_page, each
    entry's page read as a detail page, conditionally."""
    fetcher = runtime.fetcher
    harvest = _Harvest()
    feed_state = known.get(source.url)
    answer = fetcher.fetch_feed(source.url, feed_state.validators if feed_state else None)
    if isinstance(answer, Unchanged):
        assert feed_state is not None
        harvest.pages[source.url] = feed_state
        for link in feed_state.links:  # same feed, same entries: every item kept
            state = known.get(link)
            if state is not None and state.member:
                harvest.kept.append(state.member)
                harvest.pages[link] = state
        return harvest
    entries: dict[str, RawRecord] = {}
    for record in parse_feed(answer.body, answer.media_type, answer.url):
        entries.setdefault(canonical_url(record.canonical_url or record.url), record)
    links = list(entries)[:source.max_items]
    harvest.pages[source.url] = PageState(answer.validators, links=tuple(links))
    harvest.followed = links
    for link in links:
        record = entries[link]
        if source.full_page and record.canonical_url:
            _detail_page(source, fetcher, link, known.get(link), harvest, fallback=record)
        else:
            harvest.records.append((link, record))
            harvest.pages[link] = PageState(Validators())
    return harvest


def _harvest_sitemap(source: Source, runtime: Runtime, known: dict[str, PageState]) -> _Harvest:
    """A sitemap source: the sitemap (or index and its sitemaps), its URLs filtered by `include`;
    a page is fetched only when its <lastmod> changed since it was last read (or it has none:
    then conditionally), newest first, at most max_items pages per refresh."""
    fetcher = runtime.fetcher
    harvest = _Harvest()
    host = urlsplit(source.url).netloc.lower()
    entries: dict[str, str | None] = {}
    queue, sitemaps_read, budget = [source.url], 0, source.max_urls
    while queue and sitemaps_read < MAX_SITEMAPS:
        sitemap_url = queue.pop(0)
        sitemaps_read += 1
        state = known.get(sitemap_url)
        try:
            answer = fetcher.fetch_feed(sitemap_url, state.validators if state else None)
        except FetchError as error:
            if sitemap_url == source.url:
                raise
            harvest.warnings.append(f"sitemap: {error}")
            answer = None
        if answer is None or isinstance(answer, Unchanged):
            if state is None:
                continue
            # Unchanged (or unreadable this time): the URLs and lastmods it gave last time.
            harvest.pages[sitemap_url] = state
            for link in state.links:
                if link.startswith("sitemap:"):
                    queue.append(link.removeprefix("sitemap:"))
                else:
                    entries.setdefault(link, known[link].lastmod if link in known else None)
            continue
        sitemap = parse_sitemap(answer.body, answer.url, budget)
        if sitemap.truncated:
            harvest.warnings.append(f"sitemap {sitemap_url}: more than {source.max_urls} URLs, "
                                    "the rest was not read")
        children = [c for c in sitemap.children if urlsplit(c).netloc.lower() == host]
        queue.extend(children)
        kept_links = []
        for loc, lastmod in sitemap.urls:
            budget -= 1
            if urlsplit(loc).netloc.lower() != host or not _included(source, loc):
                continue
            link = canonical_url(loc)
            entries.setdefault(link, lastmod)
            kept_links.append(link)
        harvest.pages[sitemap_url] = PageState(
            answer.validators, links=tuple([f"sitemap:{c}" for c in children] + kept_links))
        if budget <= 0:
            break
    ordered = sorted(entries.items(), key=lambda entry: entry[1] or "", reverse=True)
    harvest.followed = [link for link, _ in ordered]
    fetched = 0
    for link, lastmod in ordered:
        state = known.get(link)
        if state is not None and state.member and lastmod and state.lastmod == lastmod:
            harvest.kept.append(state.member)  # not changed since it was read: not fetched
            harvest.pages[link] = state
            continue
        if fetched >= source.max_items:  # the rest waits for the next refresh
            if state is not None and state.member:
                harvest.kept.append(state.member)
                harvest.pages[link] = state
            continue
        fetched += 1
        _detail_page(source, fetcher, link, state, harvest, lastmod=lastmod)
    return harvest


MAX_SITEMAPS = 50  # sitemaps read per refresh: the index and up to 49 of the sitemaps it lists


def _included(source: Source, url: str) -> bool:
    """Whether a sitemap URL's path (and query) matches one of the source's include globs."""
    if not source.include:
        return True
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return any(fnmatchcase(path, pattern) for pattern in source.include)


def _paginate(source: Source, fetcher: Fetcher, next_page: str | None,
              harvest: _Harvest) -> list[str]:
    """Links of a listing's further pages, up to max_pages in all."""
    links: list[str] = []
    pages_read = 1
    while next_page and pages_read < source.max_pages:
        try:
            listing = fetcher.fetch(next_page)
        except FetchError as error:
            harvest.warnings.append(f"listing page: {error}")
            break
        assert isinstance(listing, Page)  # no validators sent, so never Unchanged
        more = extract_page(listing.text, listing.url, replace(source, listing=True))
        links.extend(more.links)
        next_page, pages_read = more.next_page, pages_read + 1
    return links


def _normalise_all(source: Source, harvest: _Harvest, now: datetime) -> list[Item]:
    items: dict[str, Item] = {}
    entry_id = None
    for page_url, record in harvest.records:
        try:
            item = normalise(record, source, now)
        except ValueError as error:
            harvest.warnings.append(str(error))
            harvest.pages.pop(page_url, None)
            continue
        items.setdefault(item.id, item)
        entry_id = item.id if page_url == source.url else entry_id
        harvest.pages[page_url] = replace(harvest.pages[page_url], member=member_of(item),
                                          dated=item.published is not None)
    if entry_id is not None and source.follow:  # a dossier relates the items it links to
        members = (harvest.pages[url].member for url in harvest.followed if url in harvest.pages)
        related = (member.split("/", 1)[1] for member in members if member)
        items[entry_id] = replace(items[entry_id], related=tuple(dict.fromkeys(related)))
    return list(items.values())


def _count(harvest: _Harvest) -> ExtractionCounts:
    """Pages that gave a record (fetched now, or unchanged since the last good refresh), items
    among them (those with a title: normalise refuses the others) and items with a date. Pages
    answered 304 say so from their stored state: no item is read back for this. Every good
    refresh, committed or not modified, becomes the baseline of the next."""
    produced = [state for state in harvest.pages.values() if state.member]
    return ExtractionCounts(pages=len(harvest.records) + len(harvest.kept),
                            items=len(produced), dated=sum(state.dated for state in produced))


def _record_drift(source: Source, runtime: Runtime, now: datetime, previous: SourceStatus,
                  started: float, reason: str, harvest: _Harvest) -> RefreshResult:
    """Degraded: retried with back-off like a failure, and recovered from the same way."""
    error = f"{reason} ({source.url})"
    log.warning("source %s degraded, its last good items kept: %s", source.id, error)
    status = replace(previous, state="degraded", last_attempt=now, last_error=error,
                     last_error_kind="layout", last_error_at=now,
                     failing_since=previous.failing_since or now,
                     consecutive_failures=previous.consecutive_failures + 1,
                     last_duration_ms=_elapsed(started), warnings=tuple(harvest.warnings))
    runtime.store.record_status(source.id, status)
    return RefreshResult(source.id, "degraded", warnings=status.warnings, error=error,
                         error_kind="layout", duration_ms=status.last_duration_ms or 0)


def _record_failure(source: Source, runtime: Runtime, now: datetime, previous: SourceStatus,
                    started: float, error: Exception) -> RefreshResult:
    kind = getattr(error, "kind", "internal")
    if isinstance(error, SyndicationError):
        log.warning("source %s failed (%s): %s", source.id, kind, error)
    else:
        log.exception("source %s failed on an unexpected error", source.id)
    status = replace(previous, state="failing", last_attempt=now, last_error=str(error),
                     last_error_kind=kind, last_error_at=now,
                     failing_since=previous.failing_since or now,
                     consecutive_failures=previous.consecutive_failures + 1,
                     last_duration_ms=_elapsed(started))
    try:
        runtime.store.record_status(source.id, status)
    except Exception:  # noqa: BLE001 - Redis itself may be what failed
        log.exception("could not record the status of source %s", source.id)
    return RefreshResult(source.id, "failed", error=str(error), error_kind=kind,
                         retry_after=getattr(error, "retry_after", None),
                         duration_ms=status.last_duration_ms or 0)


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
