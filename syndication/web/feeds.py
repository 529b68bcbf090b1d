"""/feeds/{feed}.rss, .atom, .json: the same items in three formats, paged (RFC 5005), served
from the in-process render cache (web/caching.py); the bytes come from render/publish.py.
/feeds/{feed}.ics is the feed's events as iCalendar; /feeds/{feed}/events/{id}.ics one of them
(the "Ajouter à mon agenda" link of widgets)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from ..errors import NotFound
from ..model import Feed
from ..render.agenda import agenda_until, agenda_variant, agenda_wanted, is_agenda, webcal
from ..render.feeds import FeedContext
from ..render.ical import MEDIA_TYPE as ICAL_TYPE
from ..render.ical import render_ical
from ..render.publish import feed_document as render_document
from ..render.publish import feed_url, media_type
from ..render.selection import Filters, parse_filters
from . import external_url, public_base_url, render_cache, runtime
from .caching import respond
from .oembed import discovery_links as oembed_discovery_links

blueprint = Blueprint("feeds", __name__)


@blueprint.get("/feeds/<feed_id>.<fmt>")
def feed_document(feed_id: str, fmt: str) -> Response:
    service = runtime()
    feed = service.catalogue.feed(feed_id)
    feed_type = media_type(fmt)
    filters = (parse_filters(request.args, feed.limit) if request.query_string  # most: none
               else Filters(limit=feed.limit, default_limit=feed.limit))
    base_url = public_base_url()
    # The bytes depend on the format, the filters and the base of the self links.
    variant = f"{fmt} {base_url} {urlencode(sorted(filters.query().items()))}"
    until = None
    if agenda_wanted(feed, service.catalogue, filters):  # what is upcoming changes with time
        now = datetime.now(UTC)
        variant, until = f"{variant} {agenda_variant(now)}", agenda_until(now)
    representation = render_cache().get(
        feed.id, variant, feed_type,
        lambda state: render_document(service, feed, fmt, filters, base_url, state.changed_at))
    self_url = feed_url(base_url, feed.id, fmt)
    link = (f'<{base_url}/hub>; rel="hub", <{self_url}>; rel="self", '
            f'{oembed_discovery_links(base_url, self_url)}')
    return respond(representation, request, content_type=_content_type(fmt, feed_type),
                   vary="Accept-Encoding, Accept", extra=(("Link", link),), until=until)


def _content_type(fmt: str, feed_type: str) -> str:
    """Browsers show application/rss+xml and atom+xml as raw text, but apply the stylesheet to
    application/xml: a person asking for HTML gets the same bytes under that type."""
    if fmt in ("json", "ics") or "text/" not in request.headers.get("Accept", ""):
        return feed_type  # feed readers: text/html could only come in through */*, never ahead
    if request.accept_mimetypes.best_match(
            [feed_type.split(";")[0], "text/html"]) == "text/html":
        return "application/xml; charset=utf-8"
    return feed_type


@blueprint.get("/feeds/<feed_id>/events/<item_id>.ics")
def event_calendar(feed_id: str, item_id: str) -> Response:
    """One event of a feed as an iCalendar file, to add to one's calendar."""
    service = runtime()
    feed = service.catalogue.feed(feed_id)
    found = service.store.stored_items(f"{source}/{item_id}" for source in feed.sources
                                       if len(item_id) <= 64)
    item = next((item for item in found.values()
                 if item.event is not None and feed.admits(item)), None)
    if item is None:
        raise NotFound("event", item_id)
    base_url = public_base_url()
    context = FeedContext(feed=feed, self_url=request.url, home_url=item.url, publisher="",
                          updated=item.updated, base_url=base_url)
    body = render_ical(context, [item], name=item.title)
    response = Response(body, content_type=ICAL_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{item_id}.ics"'
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def calendar_links(feed: Feed) -> dict[str, str]:
    """An events feed's iCalendar file ("ics") and the webcal:// link that subscribes a
    calendar to it ("webcal"); nothing for other feeds."""
    if not is_agenda(feed, runtime().catalogue):
        return {}
    ics = external_url("feeds.feed_document", feed_id=feed.id, fmt="ics")
    return {"ics": ics, "webcal": webcal(ics)}
