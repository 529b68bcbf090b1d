"""How each feed is doing, for the lists that people read (the index page, the OPML): feeds that
have items and whose sources answer come first; the others follow in the catalogue's order,
marked rather than hidden (a failing source still serves the items it had)."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Feed
from ..runtime import Runtime
from ..state import SourceState


@dataclass(frozen=True, slots=True)
class FeedHealth:
    feed: Feed
    item_count: int
    failing: tuple[str, ...]  # ids of its sources whose last refresh failed

    @property
    def healthy(self) -> bool:
        return self.item_count > 0 and not self.failing


def feeds_by_health(service: Runtime) -> list[FeedHealth]:
    """Every feed of the catalogue, healthy ones first, then those with items but a failing
    source, then the empty ones; the catalogue's order within each group (a stable sort)."""
    statuses = {source_id: service.store.source_status(source_id).state
                for source_id in service.catalogue.sources}
    health = [FeedHealth(feed, service.store.feed_count(feed.id),
                         tuple(source for source in feed.sources
                               if statuses.get(source) == SourceState.FAILING))
              for feed in service.catalogue.feeds.values()]
    return sorted(health, key=lambda entry: (entry.item_count == 0, bool(entry.failing)))


def feed_with_items(service: Runtime) -> str | None:
    """The feed a tool should open on: the first healthy one, else the first with items."""
    ranked = feeds_by_health(service)
    with_items = [entry for entry in ranked if entry.item_count]
    return with_items[0].feed.id if with_items else (ranked[0].feed.id if ranked else None)
