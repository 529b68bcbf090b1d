"""Decide: what a refresh writes, from what it harvested and what is stored. Entry points:
`normalise_harvest` (records → items) and `decide` (→ a Commit). Both pure: no I/O, tested with
plain values; refresh.py runs the steps around them.

A refresh whose pages answered but whose result looks like a changed layout (drift.py) commits no
item: the source is degraded until a refresh looks normal again. One whose pages all answered 304
writes its status only. Otherwise the items that subscribers would see differently (reconcile)
are written with the pages' new validators, and what was extracted becomes the baseline that the
next refresh is compared with.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from .drift import layout_drift
from .errors import ExtractionFailed, page_skipped, where_raised
from .model import Item, Source, member_of
from .normalise import Networks, normalise, reconcile
from .state import ExtractionCounts, Harvest, Outcome, PageState, SourceState, SourceStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Normalised:
    """A harvest's records as items, and the pages with the members they gave."""

    items: list[Item]
    kept: list[str]  # members of pages unchanged or unreadable: their items stay as stored
    pages: dict[str, PageState]
    warnings: tuple[str, ...]
    counts: ExtractionCounts  # what drift.py compares with the last good refresh


@dataclass(frozen=True)
class Commit:
    """What one refresh writes. `changed` is empty unless the outcome is OK."""

    outcome: Outcome
    status: SourceStatus
    changed: list[Item] = field(default_factory=list)
    pages: dict[str, PageState] = field(default_factory=dict)
    baseline: ExtractionCounts | None = None  # None: the last good one stays
    new: int = 0
    unchanged: int = 0

    @property
    def updated(self) -> int:
        return len(self.changed) - self.new


def normalise_harvest(source: Source, harvest: Harvest, now: datetime, *,
                      allowed_networks: Networks = ()) -> Normalised:
    """Every record normalised (a record normalise refuses becomes a warning, and its page is
    forgotten so that it is read again); a dossier relates the items it links to. A record
    that raises anything else is skipped as well, and the item its page gave before stays;
    only the source's own page raising fails the refresh. `allowed_networks`: the private
    networks the operator admits, for links (normalise)."""
    items: dict[str, Item] = {}
    pages, warnings, kept = dict(harvest.pages), list(harvest.warnings), list(harvest.kept)
    entry_id = None
    for page_url, record in harvest.records:
        try:
            item = normalise(record, source, now, allowed_networks=allowed_networks)
        except ValueError as error:
            warnings.append(str(error))
            pages.pop(page_url, None)
            continue
        except Exception as error:  # noqa: BLE001 - TypeError, RecursionError… of one page
            if page_url == source.url:
                raise
            warnings.append(page_skipped(page_url, error))
            log.warning("source %s: %s", source.id, where_raised(error))
            earlier = harvest.earlier.get(page_url)
            if earlier is not None and earlier.member:
                kept.append(earlier.member)
                pages[page_url] = earlier
            else:
                pages.pop(page_url, None)
            continue
        items.setdefault(item.id, item)
        entry_id = item.id if page_url == source.url else entry_id
        pages[page_url] = replace(pages[page_url], member=member_of(item),
                                  dated=item.published is not None,
                                  titled=not record.title_guessed)
    if entry_id is not None and source.follow:
        members = (pages[url].member for url in harvest.followed if url in pages)
        related = (member.split("/", 1)[1] for member in members if member)
        items[entry_id] = replace(items[entry_id], related=tuple(dict.fromkeys(related)))
    return Normalised(list(items.values()), kept, pages, tuple(warnings),
                      _count(len(harvest.records) + len(harvest.kept), pages))


def _count(pages_read: int, pages: dict[str, PageState]) -> ExtractionCounts:
    """Pages that gave a record (fetched now, or kept since the last good refresh), items among
    them (those whose title a layer found: normalise refuses untitled records, and a title
    guessed from a heading or the address does not count) and items with a date. Kept pages
    say so from their stored state: no item is read back for this."""
    produced = [state for state in pages.values() if state.member]
    return ExtractionCounts(pages=pages_read, items=sum(state.titled for state in produced),
                            dated=sum(state.dated for state in produced))


def decide(source: Source, previous: SourceStatus, harvested: Normalised,
           stored: dict[str, Item], baseline: ExtractionCounts | None, now: datetime, *,
           drift_min_ratio: float, duration_ms: int) -> Commit:
    """What to write. `stored`: the stored items of the harvested ones, by member (also those
    other sources hold: an item new to this source takes their dates); `baseline`: what the
    last committed refresh extracted. Raises ExtractionFailed when nothing was ever
    readable."""
    drift = layout_drift(baseline, harvested.counts, min_ratio=drift_min_ratio)
    if drift is not None:  # nothing committed: subscribers keep the last good items
        error = f"{drift} ({source.url})"
        return Commit(Outcome.DEGRADED, replace(
            previous, state=SourceState.DEGRADED, last_attempt=now, last_error=error,
            last_error_kind="layout", last_error_at=now,
            failing_since=previous.failing_since or now,
            consecutive_failures=previous.consecutive_failures + 1,
            last_duration_ms=duration_ms, warnings=harvested.warnings))
    if not harvested.items and not harvested.kept:
        raise ExtractionFailed(source.url, "no item could be extracted from the source's pages")
    status = SourceStatus(
        state=SourceState.OK if harvested.items else SourceState.NOT_MODIFIED,
        last_attempt=now, last_success=now, last_error=previous.last_error,
        last_error_kind=previous.last_error_kind, last_error_at=previous.last_error_at,
        last_duration_ms=duration_ms, warnings=harvested.warnings)
    if not harvested.items:  # every page answered 304, or kept its item
        return Commit(Outcome.NOT_MODIFIED, status, baseline=harvested.counts,
                      unchanged=len(harvested.kept))
    elsewhere = {item.id: item for member, item in stored.items()
                 if member.split("/", 1)[0] != source.id}
    changed = [kept for kept in (_reconciled(stored, elsewhere, item)
                                 for item in harvested.items) if kept]
    new = sum(1 for item in changed if member_of(item) not in stored)
    return Commit(Outcome.OK, status, changed, harvested.pages, harvested.counts, new=new,
                  unchanged=len(harvested.items) - len(changed) + len(harvested.kept))


def _reconciled(stored: dict[str, Item], elsewhere: dict[str, Item], item: Item) -> Item | None:
    own = stored.get(member_of(item))
    if own is None and item.id in elsewhere:
        return _share_dates(elsewhere[item.id], item)
    return reconcile(own, item)


def _share_dates(known: Item, new: Item) -> Item:
    """A page this source meets for the first time, which another source already holds (a
    dossier linking to a news page of the news listing): one page, one identity, one set of
    dates. The new record keeps when the page was first seen and what it said of its dates;
    only a later update date that the page itself declares moves `updated`."""
    published = new.published or known.published
    declared = new.updated != new.first_seen  # normalise sets it to `now` when the page is mute
    updated = max(new.updated, known.updated) if declared else known.updated
    return replace(new, first_seen=min(known.first_seen, new.first_seen), published=published,
                   updated=max(updated, published or updated))
