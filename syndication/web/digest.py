"""/digest/{feed}.html and .json: a feed's newsletter digest over a period, as an e-mail-safe
HTML fragment (render/digest.py) or the same items as JSON, served from the render cache like
the feeds.

The period is `since` (an ISO 8601 date or date-time) or `window` (a duration before now, up to
a year: `24h`, `90d`, `12w`, `1y`), never both. Given neither, it is the last 7 days, reaching
further back on a quiet week to hold the latest MIN_DEFAULT_ITEMS items: a newsletter made from
the default is never empty while the feed has news, and it says which period it covers. `limit`
(1–100, default 20) caps the items, and the feeds' `kind`, `tag` and `q` filters apply too.
`full=1` gives the HTML digest as a whole e-mail document (render/digest.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from ..errors import InvalidParameter, NotFound
from ..model import Feed, Item
from ..render.agenda import upcoming_entries
from ..render.digest import (
    DigestContext,
    render_digest_email,
    render_digest_html,
    render_digest_json,
)
from ..render.publish import home_url
from ..render.selection import Filters, integer_parameter, parse_filters, select_items
from ..runtime import Runtime
from . import public_base_url, render_cache, runtime
from .caching import respond

blueprint = Blueprint("digest", __name__)

FORMATS = {
    "html": (render_digest_html, "text/html; charset=utf-8"),
    "json": (render_digest_json, "application/json; charset=utf-8"),
}
UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1),
         "y": timedelta(days=365)}
_WINDOW = re.compile(r"([1-9][0-9]{0,4})([hdwy])")
MAX_WINDOW = timedelta(days=366)
DEFAULT_WINDOW = "7d"
MIN_DEFAULT_ITEMS = 5  # the default period reaches back until it holds this many items
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
SHARED_FILTERS = ("since", "kind", "tag", "q")  # parsed as the feeds parse them


@dataclass(frozen=True, slots=True)
class DigestQuery:
    filters: Filters  # with since = start
    start: datetime  # of the period: `since`, or the window's start
    window: str | None  # None when the period was given by `since`
    widen: bool = False  # the default period: reach back to MIN_DEFAULT_ITEMS items if need be
    full: bool = False  # HTML: a whole e-mail document rather than a fragment

    def variant(self, fmt: str) -> str:
        """What decides the bytes besides the feed's version: the format and the normalised
        query (the start in UTC, so that equal instants written differently share one entry)."""
        filters = self.filters
        query = {"since": self.start.astimezone(UTC).isoformat(), "window": self.window or "",
                 "limit": str(filters.limit), "kind": filters.kind or "",
                 "tag": (filters.tag or "").casefold(), "q": filters.q or "",
                 "widen": str(self.widen), "full": str(self.full)}
        return f"digest {fmt} {urlencode(sorted(query.items()))}"


NO_SCRIPT = "frame-ancestors 'self'; script-src 'none'; object-src 'none'; base-uri 'none'"


@blueprint.get("/digest/<feed_id>.<fmt>")
def digest(feed_id: str, fmt: str) -> Response:
    service = runtime()
    feed = service.catalogue.feed(feed_id)
    if fmt not in FORMATS:
        raise NotFound("digest format", fmt)
    now = datetime.now(UTC)
    query = parse_digest_query(request.args, now)
    if query.full and fmt != "html":
        raise InvalidParameter("full", "applies to the HTML digest only")
    render, media_type = FORMATS[fmt]
    if query.full:
        render = render_digest_email

    def build(_state: object) -> bytes:
        items, start = _items(service, feed, query)
        return render(_context(service, feed, query, start, now, items), items)

    representation = render_cache().get(
        feed.id, f"{query.variant(fmt)} {public_base_url()}", media_type, build)
    # Nothing in a digest runs: it is pasted into newsletters, and viewed as it is.
    # A window's start moves on the hour (window_start): so may the variant of this request.
    next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return respond(representation, request, extra=(("Content-Security-Policy", NO_SCRIPT),),
                   until=next_hour.timestamp() if query.window else None)


def parse_digest_query(args: Mapping[str, str], now: datetime) -> DigestQuery:
    """The digest's parameters, with errors that name the parameter; `now` places the window."""
    since_raw, window_raw = args.get("since") or "", args.get("window") or ""
    if since_raw and window_raw:
        raise InvalidParameter("window", "give either 'since' or 'window', not both")
    limit = _limit(args.get("limit"))
    full = _full(args.get("full"))
    filters = parse_filters({name: args[name] for name in SHARED_FILTERS if name in args},
                            default_limit=limit)
    if filters.since is not None:
        return DigestQuery(filters, start=filters.since, window=None, full=full)
    window = window_raw or DEFAULT_WINDOW
    start = window_start(window, now)
    return DigestQuery(replace(filters, since=start), start=start, window=window,
                       widen=not window_raw, full=full)


def window_start(window: str, now: datetime) -> datetime:
    """Where a window that ends now begins, rounded down to the hour.

    The window moves with the clock: its exact start would change the selection, the cache
    variant and the ETag at every request, so nothing would ever be reused and no client would
    get a 304. Rounded down to the hour, the digest stays the same (and cached) for an hour; it
    may then reach back up to an hour further, which a newsletter does not mind."""
    return (now - window_span(window)).astimezone(UTC).replace(minute=0, second=0,
                                                                microsecond=0)


def window_span(window: str) -> timedelta:
    """"24h", "90d", "12w", "1y" (365 days) as a duration, at most MAX_WINDOW."""
    found = _WINDOW.fullmatch(window)
    span = int(found[1]) * UNITS[found[2]] if found else None
    if span is None or span > MAX_WINDOW:
        raise InvalidParameter("window", "must be a duration of at most a year, written as a "
                                         "number and h, d, w or y: 24h, 7d, 12w, 1y")
    return span


def _full(raw: str | None) -> bool:
    if raw in (None, "", "0"):
        return False
    if raw != "1":
        raise InvalidParameter("full", "must be 1 or 0")
    return True


def _limit(raw: str | None) -> int:
    return integer_parameter("limit", raw, 1, MAX_LIMIT, DEFAULT_LIMIT)


def _items(service: Runtime, feed: Feed, query: DigestQuery) -> tuple[list[Item], datetime]:
    """The items of the period, and where the period starts: for the default period on a
    quiet week, at the oldest of the latest MIN_DEFAULT_ITEMS items."""
    store = service.store

    def select(filters: Filters) -> list[Item]:
        return select_items(
            lambda limit, since, offset: store.feed_items(feed.id, limit=limit, since=since,
                                                          offset=offset),
            partial(store.feed_count, feed.id), filters, service.settings.retention).items

    items = select(query.filters)
    if not query.widen or len(items) >= min(MIN_DEFAULT_ITEMS, query.filters.limit):
        return items, query.start
    latest = select(replace(query.filters, since=None,
                            limit=min(MIN_DEFAULT_ITEMS, query.filters.limit)))
    if len(latest) <= len(items):
        return items, query.start
    return latest, min(query.start, min(item.date for item in latest))


def _context(service: Runtime, feed: Feed, query: DigestQuery, start: datetime,
             now: datetime, items: list[Item]) -> DigestContext:
    # The period ends on the hour, or at the newest item shown if later: the same items give the
    # same bytes in every process within the hour (ETags agree, the hot path serves them as is).
    until = max([now.replace(minute=0, second=0, microsecond=0), *(item.date for item in items)])
    return DigestContext(title=feed.title, home_url=home_url(service, feed), since=start,
                         window=query.window if start == query.start else None,
                         base_url=public_base_url(), until=until, upcoming=upcoming_entries(
                             service.store.feed_items(feed.id, limit=service.settings.retention),
                             now))
