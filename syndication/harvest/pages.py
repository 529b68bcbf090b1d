"""What every harvester shares: the `Harvest` it returns and `detail_page`, the one way a linked
page is fetched and read."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import FetchError
from ..extract import extract_page
from ..fetch import Fetcher, Unchanged
from ..model import PageState, RawRecord, Source


@dataclass
class Harvest:
    """What one pass over a source's pages brought back."""

    records: list[tuple[str, RawRecord]] = field(default_factory=list)  # (page URL, record)
    kept: list[str] = field(default_factory=list)  # members of pages unchanged or unreadable
    pages: dict[str, PageState] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    followed: list[str] = field(default_factory=list)  # detail page URLs, in page order

    def keep(self, link: str, state: PageState) -> None:
        """The page gave an item before and is not read now: its item stays as stored."""
        assert state.member is not None
        self.kept.append(state.member)
        self.pages[link] = state


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
