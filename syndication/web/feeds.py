"""/feeds/{feed}.rss, .atom, .json: the same items in three formats, paged (RFC 5005), served
from the in-process render cache (web/caching.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from ..errors import NotFound
from ..model import Feed
from ..render.feeds import FeedContext, render_atom, render_json_feed, render_rss
from ..runtime import Runtime
from . import public_base_url, render_cache, runtime
from .caching import respond
from .oembed import discovery_links as oembed_discovery_links
from .selection import Filters, parse_filters, select_items

blueprint = Blueprint("feeds", __name__)

FORMATS = {
    "rss": (render_rss, "application/rss+xml; charset=utf-8"),
    "atom": (render_atom, "application/atom+xml; charset=utf-8"),
    "json": (render_json_feed, "application/feed+json; charset=utf-8"),
}
STYLESHEET_PATH = "/static/feed.xsl"  # lets a person who opens a feed in a browser read it


@blueprint.get("/feeds/<feed_id>.<fmt>")
def feed_document(feed_id: str, fmt: str) -> Response:
    service = runtime()
    feed = service.catalogue.feed(feed_id)
    if fmt not in FORMATS:
        raise NotFound("feed format", fmt)
    filters = (parse_filters(request.args, feed.limit) if request.query_string  # most: none
               else Filters(limit=feed.limit, default_limit=feed.limit))
    base_url = public_base_url()
    # The bytes depend on the format, the filters and the base of the self links.
    variant = f"{fmt} {base_url} {urlencode(sorted(filters.query().items()))}"
    representation = render_cache().get(
        feed.id, variant, FORMATS[fmt][1],
        lambda state: _render(service, feed, fmt, filters, base_url, state.changed_at))
    self_url = _feed_url(base_url, feed.id, fmt)
    link = (f'<{base_url}/hub>; rel="hub", <{self_url}>; rel="self", '
            f'{oembed_discovery_links(base_url, self_url)}')
    return respond(representation, request, content_type=_content_type(fmt),
                   vary="Accept-Encoding, Accept", extra=(("Link", link),))


def _content_type(fmt: str) -> str:
    """Browsers show application/rss+xml and atom+xml as raw text, but apply the stylesheet to
    application/xml: a person asking for HTML gets the same bytes under that type."""
    feed_type = FORMATS[fmt][1]
    if fmt == "json" or "text/" not in request.headers.get("Accept", ""):
        return feed_type  # feed readers: text/html could only come in through */*, never ahead
    if request.accept_mimetypes.best_match(
            [feed_type.split(";")[0], "text/html"]) == "text/html":
        return "application/xml; charset=utf-8"
    return feed_type


def render_feed(service: Runtime, feed: Feed, fmt: str, base_url: str) -> tuple[bytes, str]:
    """The feed's default document (first page, no filters) and its content type, outside any
    request: for WebSub distribution."""
    state = service.store.feed_state(feed.id)
    body = _render(service, feed, fmt, Filters(limit=feed.limit, default_limit=feed.limit),
                   base_url.rstrip("/"),
                   state.changed_at)
    return body, FORMATS[fmt][1]


def _render(service: Runtime, feed: Feed, fmt: str, filters: Filters, base_url: str,
            changed_at: datetime | None) -> bytes:
    store = service.store
    selection = select_items(
        lambda limit, since, offset: store.feed_items(feed.id, limit=limit, since=since,
                                                      offset=offset),
        partial(store.feed_count, feed.id), filters, service.settings.retention)
    publisher = service.catalogue.publishers[feed.publisher]
    first_source = service.catalogue.sources.get(feed.sources[0])
    url = partial(_feed_url, base_url, feed.id, fmt)
    last = selection.last_page(filters.limit)
    pages = {"first": url(filters.query(page=1)), "last": url(filters.query(page=last))}
    if filters.page > 1:
        pages["previous"] = url(filters.query(page=filters.page - 1))
    if filters.page < last:
        pages["next"] = url(filters.query(page=filters.page + 1))
    context = FeedContext(
        feed=feed,
        self_url=url(filters.query()),
        home_url=first_source.url if first_source else publisher.url,
        publisher=publisher.name,
        publisher_logo=publisher.logo,
        updated=changed_at or max((i.updated for i in selection.items),
                                  default=datetime(2000, 1, 1, tzinfo=UTC)),
        hub_url=f"{base_url}/hub",
        pages=pages,
        stylesheet_url=f"{base_url}{STYLESHEET_PATH}",
        base_url=base_url,
    )
    render, _ = FORMATS[fmt]
    return render(context, selection.items)


def _feed_url(base_url: str, feed_id: str, fmt: str, query: dict[str, str] | None = None) -> str:
    url = f"{base_url}/feeds/{feed_id}.{fmt}"
    return f"{url}?{urlencode(query)}" if query else url

