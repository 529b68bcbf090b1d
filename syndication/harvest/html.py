"""Harvest of an html source: the entry page, its further listing pages and the detail pages it
links to, each with the validators of the last good refresh. Entry point: `harvest_html`.

Only the entry page failing fails the source; a further listing page or a detail page that
cannot be fetched or read is a warning."""

from __future__ import annotations

from dataclasses import replace

from ..errors import FetchError
from ..extract import extract_page
from ..fetch import Fetcher, Page, Unchanged
from ..model import Source
from ..normalise import canonical_url
from ..state import Harvest, PageState
from .pages import detail_page, skip_page


def harvest_html(source: Source, fetcher: Fetcher, known: dict[str, PageState]) -> Harvest:
    harvest = Harvest()
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
    harvest.followed = links[:source.max_items]
    for link in harvest.followed:
        detail_page(source, fetcher, link, known.get(link), harvest)
    return harvest


def _paginate(source: Source, fetcher: Fetcher, next_page: str | None,
              harvest: Harvest) -> list[str]:
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
        try:
            more = extract_page(listing.text, listing.url, replace(source, listing=True))
        except Exception as error:  # noqa: BLE001 - this listing page alone is lost
            skip_page(harvest, next_page, error)
            break
        links.extend(more.links)
        next_page, pages_read = more.next_page, pages_read + 1
    return links
