"""/feeds/{feed}.rss, .atom, .json: the same items in three formats."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from flask import Blueprint, Response, request

from ..errors import NotFound
from ..render.feeds import FeedContext, render_atom, render_json_feed, render_rss
from . import external_url, runtime
from .selection import parse_filters, select_items

blueprint = Blueprint("feeds", __name__)

FORMATS = {
    "rss": (render_rss, "application/rss+xml; charset=utf-8"),
    "atom": (render_atom, "application/atom+xml; charset=utf-8"),
    "json": (render_json_feed, "application/feed+json; charset=utf-8"),
}
MAX_AGE = 300  # seconds; sources refresh every 30 minutes or so


@blueprint.get("/feeds/<feed_id>.<fmt>")
def feed_document(feed_id: str, fmt: str) -> Response:
    service = runtime()
    feed = service.catalogue.feeds.get(feed_id)
    if feed is None:
        raise NotFound("feed", feed_id)
    if fmt not in FORMATS:
        raise NotFound("feed format", fmt)
    filters = parse_filters(request.args, feed.limit)
    state = service.store.feed_state(feed.id)
    render, media_type = FORMATS[fmt]

    response = Response(mimetype=media_type.split(";")[0])
    response.headers["Content-Type"] = media_type
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    # The feed's content version and the query decide the bytes: that is the validator.
    response.set_etag(f"{feed.id}-{state.version}-{fmt}-{_digest(request.query_string)}")
    if state.changed_at:
        response.last_modified = state.changed_at
    if request.if_none_match.contains(response.get_etag()[0]):
        return response.make_conditional(request)

    items = select_items(lambda limit, since: service.store.feed_items(feed.id, limit=limit,
                                                                       since=since),
                         filters, service.settings.retention)
    publisher = service.catalogue.publishers[feed.publisher]
    first_source = service.catalogue.sources.get(feed.sources[0])
    context = FeedContext(
        feed=feed,
        self_url=external_url("feeds.feed_document", feed_id=feed.id, fmt=fmt),
        home_url=first_source.url if first_source else publisher.url,
        publisher=publisher.name,
        updated=state.changed_at or max((i.updated for i in items),
                                        default=datetime(2000, 1, 1, tzinfo=UTC)),
    )
    response.set_data(render(context, items))
    return response.make_conditional(request)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]
