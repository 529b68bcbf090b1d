"""Drift: does a refresh look like the source's page layout changed?

A redesign rarely breaks a scraper loudly: the pages still answer 200, and the selectors find
nothing, or much less, or items without their title or date. `layout_drift` compares what a
refresh got with what the last good one got (state.ExtractionCounts, kept by the store with each
committed refresh) and names what changed; refresh.py then keeps the last good items published and
marks the source `degraded`. A pure function of old and new counts, tested without I/O.

Entry point: `layout_drift(last_good, now)`.
"""

from __future__ import annotations

from .state import ExtractionCounts

MIN_RATIO = 0.5  # fewer items than this share of the last good count is suspicious…
MIN_ITEMS = 4  # …when the last good count had at least this many (small sources vary by chance)

_SUFFIX = "the page layout may have changed"


def layout_drift(last_good: ExtractionCounts | None, now: ExtractionCounts, *,
                 min_ratio: float = MIN_RATIO, min_items: int = MIN_ITEMS) -> str | None:
    """Why `now` looks like a changed layout compared with `last_good`; None when it does not.

    Signals, the most telling first: titles missing on most pages while the pages are still
    there; no item at all where there were some; far fewer items; dates missing on most items.
    Without a last good refresh there is nothing to compare with: None.
    """
    if last_good is None or last_good.items == 0:
        return None
    enough_before = last_good.pages >= min_items
    if enough_before and now.pages >= last_good.pages * min_ratio and \
            _lost_on_most(last_good.items, last_good.pages, now.items, now.pages):
        return (f"title missing on {now.pages - now.items} of {now.pages} pages "
                f"(before: {last_good.pages - last_good.items} of {last_good.pages}): {_SUFFIX}")
    if now.items == 0:
        return f"{_items(last_good.items)} expected, none found: {_SUFFIX}"
    if last_good.items >= min_items and now.items < last_good.items * min_ratio:
        return f"{_items(last_good.items)} expected, {now.items} found: {_SUFFIX}"
    if last_good.items >= min_items and \
            _lost_on_most(last_good.dated, last_good.items, now.dated, now.items):
        return (f"date missing on {now.items - now.dated} of {_items(now.items)} "
                f"(before: {last_good.items - last_good.dated} of {last_good.items}): {_SUFFIX}")
    return None


def _lost_on_most(had: int, of: int, has: int, now_of: int) -> bool:
    """A field found on at least half of the last good run's records, and on fewer than half
    of this run's."""
    return of > 0 and now_of > 0 and had * 2 >= of and has * 2 < now_of


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"
