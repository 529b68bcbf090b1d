"""A feed's bytes, for the web and the WebSub hub alike. Entry points: `feed_document` (a feed in
one format, with filters and paging) and `render_feed` (its default document, for a delivery).

Both read what the store holds and the catalogue declares; neither knows of HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Protocol
from urllib.parse import urlencode

from ..errors import NotFound
from ..model import Catalogue, Feed, SourceType
from ..settings import Settings
from ..store import FeedStore
from .agenda import agenda_selection, agenda_wanted
from .feeds import FeedContext, render_atom, render_json_feed, render_rss
from .ical import MEDIA_TYPE as ICAL_TYPE
from .ical import render_ical
from .selection import Filters, select_items

FORMATS = {
    "rss": (render_rss, "application/rss+xml; charset=utf-8"),
    "atom": (render_atom, "application/atom+xml; charset=utf-8"),
    "json": (render_json_feed, "application/feed+json; charset=utf-8"),
    "ics": (render_ical, ICAL_TYPE),  # events only (render/ical.py)
}
STYLESHEET_PATH = "/static/feed.xsl"  # lets a person who opens a feed in a browser read it


class Holdings(Protocol):
    """What publishing reads: a Runtime is one."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> FeedStore: ...

    @property
    def catalogue(self) -> Catalogue: ...


def media_type(fmt: str) -> str:
    """The content type of a feed format; NotFound for an unknown one."""
    if fmt not in FORMATS:
        raise NotFound("feed format", fmt)
    return FORMATS[fmt][1]


def render_feed(holdings: Holdings, feed: Feed, fmt: str, base_url: str) -> tuple[bytes, str]:
    """The feed's default document (first page, no filters) and its content type, outside any
    request: for WebSub distribution."""
    state = holdings.store.feed_state(feed.id)
    body = feed_document(holdings, feed, fmt, Filters(limit=feed.limit, default_limit=feed.limit),
                         base_url.rstrip("/"), state.changed_at)
    return body, media_type(fmt)


def feed_document(holdings: Holdings, feed: Feed, fmt: str, filters: Filters, base_url: str,
                  changed_at: datetime | None) -> bytes:
    store, catalogue = holdings.store, holdings.catalogue
    if agenda_wanted(feed, catalogue, filters):  # events by start, past ones left out
        selection = agenda_selection(
            store.feed_items(feed.id, limit=holdings.settings.retention, since=filters.since),
            filters, datetime.now(UTC)).check_page(filters)
    else:
        selection = select_items(
            lambda limit, since, offset: store.feed_items(feed.id, limit=limit, since=since,
                                                          offset=offset),
            partial(store.feed_count, feed.id), filters, holdings.settings.retention
        ).check_page(filters)
    publisher = catalogue.publishers[feed.publisher]
    url = partial(feed_url, base_url, feed.id, fmt)
    last = selection.last_page(filters.limit)
    pages = {"first": url(filters.query(page=1)), "last": url(filters.query(page=last))}
    if filters.page > 1:
        pages["previous"] = url(filters.query(page=filters.page - 1))
    if filters.page < last:
        pages["next"] = url(filters.query(page=filters.page + 1))
    # A feed that never changed (empty since the start) was last built now, not in 2000.
    updated = changed_at if changed_at is not None else max(
        (i.updated for i in selection.items), default=datetime.now(UTC))
    context = FeedContext(
        feed=feed,
        self_url=url(filters.query()),
        home_url=home_url(holdings, feed),
        publisher=publisher.name,
        publisher_logo=publisher.logo,
        updated=updated,
        hub_url=f"{base_url}/hub",
        pages=pages,
        stylesheet_url=f"{base_url}{STYLESHEET_PATH}",
        base_url=base_url,
    )
    render, _ = FORMATS[fmt]
    return render(context, selection.items)


def home_url(holdings: Holdings, feed: Feed) -> str:
    """The page a feed is about (RSS <link>, Atom alternate, JSON Feed home_page_url, OPML
    htmlUrl): its first source's page when that is a page (an html source); for a feed source,
    the site its feed names (<link>, home_page_url), else the publisher's site; for a sitemap or
    pushed items, the publisher's site. Never an XML document."""
    catalogue = holdings.catalogue
    publisher_url = catalogue.publishers[feed.publisher].url
    source = catalogue.sources.get(feed.sources[0]) if feed.sources else None
    if source is None:
        return publisher_url
    if source.type == SourceType.HTML:
        return source.url
    if source.type == SourceType.FEED:
        return holdings.store.source_home(source.id, source.url) or publisher_url
    return publisher_url


def feed_url(base_url: str, feed_id: str, fmt: str, query: dict[str, str] | None = None) -> str:
    url = f"{base_url}/feeds/{feed_id}.{fmt}"
    return f"{url}?{urlencode(query)}" if query else url
