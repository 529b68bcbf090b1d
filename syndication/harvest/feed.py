"""Harvest of a feed source: the feed, asked "changed since?"; each entry an item, or with
full_page each entry's page read as a detail page, conditionally. Entry point: `harvest_feed`."""

from __future__ import annotations

from ..extract.feeds import parse_feed
from ..fetch import Fetcher, Unchanged, Validators
from ..model import Harvest, PageState, RawRecord, Source
from ..normalise import canonical_url
from .pages import detail_page


def harvest_feed(source: Source, fetcher: Fetcher, known: dict[str, PageState]) -> Harvest:
    harvest = Harvest()
    feed_state = known.get(source.url)
    answer = fetcher.fetch_feed(source.url, feed_state.validators if feed_state else None)
    if isinstance(answer, Unchanged):
        assert feed_state is not None
        harvest.pages[source.url] = feed_state
        for link in feed_state.links:  # same feed, same entries: every item kept
            state = known.get(link)
            if state is not None and state.member:
                harvest.keep(link, state)
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
            detail_page(source, fetcher, link, known.get(link), harvest, fallback=record)
        else:
            harvest.records.append((link, record))
            harvest.pages[link] = PageState(Validators())
    return harvest
