"""Harvest of a feed source: the feed, asked "changed since?"; each entry an item, or with
full_page each entry's page read as a detail page, conditionally. Entry point: `harvest_feed`.

Only the feed failing fails the source: an entry that cannot be read is skipped with a warning,
and the item it gave before stays."""

from __future__ import annotations

from ..extract.feeds import parse_feed
from ..fetch import Fetcher, Unchanged, Validators
from ..model import RawRecord, Source
from ..normalise import canonical_url
from ..state import Harvest, PageState
from .pages import detail_page, skip_page, unchanged_document


def harvest_feed(source: Source, fetcher: Fetcher, known: dict[str, PageState]) -> Harvest:
    harvest = Harvest()
    feed_state = known.get(source.url)
    answer = fetcher.fetch_feed(source.url, feed_state.validators if feed_state else None)
    if isinstance(answer, Unchanged):
        return unchanged_document(source.url, feed_state, known)
    parsed = parse_feed(answer.body, answer.media_type, answer.url)
    entries: dict[str, RawRecord] = {}
    skipped: list[str] = []  # entries that gave an item before and cannot be read now
    for record in parsed.records:
        try:
            link = canonical_url(record.canonical_url or record.url)
        except ValueError as error:  # a link that is no URL ("http://[…")
            skip_page(harvest, record.url, error)
            continue
        entries.setdefault(link, record)
    for entry in parsed.skipped:
        page = _canonical(entry.link)
        state = known.get(page) if page and page not in entries else None
        if page and state is not None and state.member:  # its item stays, under its URL
            skip_page(harvest, page, entry.error, state)
            skipped.append(page)
        else:
            skip_page(harvest, entry.where, entry.error)
    links = list(entries)[:source.max_items]
    harvest.pages[source.url] = PageState(answer.validators, links=tuple(links + skipped),
                                          home=parsed.home)
    harvest.followed = links
    for link in links:
        record = entries[link]
        if source.full_page and record.canonical_url:
            detail_page(source, fetcher, link, known.get(link), harvest, fallback=record)
        else:
            harvest.records.append((link, record))
            harvest.pages[link] = PageState(Validators())
            earlier = known.get(link)
            if earlier is not None and earlier.member:
                harvest.earlier[link] = earlier
    return harvest


def _canonical(link: str | None) -> str | None:
    try:
        return canonical_url(link) if link else None
    except ValueError:
        return None
