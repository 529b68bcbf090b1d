"""What every harvester shares: `detail_page`, the one way a linked page is fetched and read, and
`skip_page`, what becomes of a page that raised while it was read. Each harvester returns a
state.Harvest."""

from __future__ import annotations

import logging
from dataclasses import replace

from ..errors import FetchError, page_skipped, where_raised
from ..extract import extract_page
from ..fetch import Fetcher, Unchanged
from ..model import RawRecord, Source
from ..state import Harvest, PageState

log = logging.getLogger(__name__)


def as_detail_page(source: Source) -> Source:
    """The source as its detail pages are read: each page is one item, links not followed."""
    return replace(source, listing=False, follow=None, paginate=None)


def detail_page(source: Source, fetcher: Fetcher, link: str, state: PageState | None,
                harvest: Harvest, *, lastmod: str | None = None,
                fallback: RawRecord | None = None) -> None:
    """Fetch one detail page (conditionally when it gave an item before) and extract it with the
    source's selectors; what the page lacks comes from `fallback` (a feed entry). A page that
    cannot be fetched now keeps the item it gave before, and is retried next time: a passing
    error changes nothing subscribers see. A page that raises anything while it is read is
    skipped the same way (`skip_page`): one hostile page never stops its source."""
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
    try:
        record = extract_page(page.text, page.url, as_detail_page(source)).record
        assert record is not None
        if fallback is not None:
            record = replace(fallback, **{name: getattr(record, name)
                                          for name in record.__slots__
                                          if getattr(record, name) and name != "url"},
                             url=record.url)
    except Exception as error:  # noqa: BLE001 - TypeError, RecursionError… from this page alone
        skip_page(harvest, link, error, state)
        return
    harvest.records.append((link, record))
    harvest.pages[link] = PageState(page.validators, lastmod=lastmod)
    if state is not None and state.member:
        harvest.earlier[link] = state


def skip_page(harvest: Harvest, link: str, error: Exception,
              state: PageState | None = None) -> None:
    """A page that raised while it was read: a warning that names it and the error's type (the
    traceback goes to the log), and the item it gave before, if any, kept as stored. Its state
    keeps the validators of the last good read, so it is read again next time."""
    warning = page_skipped(link, error)
    log.warning("%s\n%s", warning, where_raised(error))
    harvest.warnings.append(warning)
    if state is not None and state.member:
        harvest.keep(link, state)


def unchanged_document(url: str, state: PageState | None, known: dict[str, PageState]) -> Harvest:
    """A source's feed or calendar answered 304: the same document, the same entries, so every
    item an entry gave is kept as stored."""
    assert state is not None
    harvest = Harvest()
    harvest.pages[url] = state
    for link in state.links:
        entry = known.get(link)
        if entry is not None and entry.member:
            harvest.keep(link, entry)
    return harvest
