"""What every harvester shares: `detail_page`, the one way a linked page is fetched and read.
Each harvester returns a model.Harvest."""

from __future__ import annotations

from dataclasses import replace

from ..errors import FetchError
from ..extract import extract_page
from ..fetch import Fetcher, Unchanged
from ..model import Harvest, PageState, RawRecord, Source


def as_detail_page(source: Source) -> Source:
    """The source as its detail pages are read: each page is one item, links not followed."""
    return replace(source, listing=False, follow=None, paginate=None)


def detail_page(source: Source, fetcher: Fetcher, link: str, state: PageState | None,
                harvest: Harvest, *, lastmod: str | None = None,
                fallback: RawRecord | None = None) -> None:
    """Fetch one detail page (conditionally when it gave an item before) and extract it with the
    source's selectors; what the page lacks comes from `fallback` (a feed entry). A page that
    cannot be fetched now keeps the item it gave before, and is retried next time: a passing
    error changes nothing subscribers see."""
    try:
        page = fetcher.fetch(link, state.validators if state and state.member else None)
    except FetchError as error:
        harvest.warnings.append(str(error))
        if state is not None and state.member:
            harvest.keep(link, state)
        return
    if isinstance(page, Unchanged):
        assert state is not None
        harvest.keep(link, replace(state, lastmod=lastmod or state.lastmod))
        return
    record = extract_page(page.text, page.url, as_detail_page(source)).record
    assert record is not None
    if fallback is not None:
        record = replace(fallback, **{name: getattr(record, name) for name in record.__slots__
                                      if getattr(record, name) and name != "url"},
                         url=record.url)
    harvest.records.append((link, record))
    harvest.pages[link] = PageState(page.validators, lastmod=lastmod)
