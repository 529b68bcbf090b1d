"""/: what this service publishes, with feed discovery links, and how its sources are doing (the
kind of their last error, never its text). It leads to each feed's page, its digest, the widget
builder and the status page; feeds that work come first, failing ones are marked, not hidden."""

from __future__ import annotations

from typing import TypedDict

from flask import Blueprint, make_response, render_template
from flask.typing import ResponseReturnValue

from ..model import Feed, SourceType
from ..render.french import french_datetime
from . import external_url, public_base_url, runtime
from .feed_health import FeedHealth, feeds_by_health
from .feeds import calendar_links
from .labels import STATE_LABELS, error_sentence, http_status, kind_label, shown_state
from .oembed import discovery_links

__all__ = ["STATE_LABELS", "blueprint"]

blueprint = Blueprint("index", __name__)


class _FeedEntry(TypedDict):
    feed: Feed
    health: FeedHealth
    page: str  # the feed's page for people (web/feed_page.py)
    digest: str
    links: dict[str, str]  # format (rss, atom, json) → the feed's URL


@blueprint.get("/")
def index() -> ResponseReturnValue:
    service = runtime()
    feeds: list[_FeedEntry] = [{
        "feed": health.feed,
        "health": health,
        "page": external_url("feed_page.feed_page", feed_id=health.feed.id),
        "digest": external_url("digest.digest", feed_id=health.feed.id, fmt="html"),
        "links": {fmt: external_url("feeds.feed_document", feed_id=health.feed.id, fmt=fmt)
                  for fmt in ("rss", "atom", "json")} | calendar_links(health.feed),
    } for health in feeds_by_health(service)]
    started = service.registry.scheduler_started()
    sources = [{
        "source": source,
        "status": (status := service.store.source_status(source.id)),
        "state_label": STATE_LABELS.get(shown := shown_state(
            status, started, pushed=source.type == SourceType.PUSH), shown),
        "kind_label": kind_label(status.last_error_kind),  # never the error's text: public
        "error_sentence": error_sentence(status.last_error_kind, http_status(status)),
        "item_count": service.store.item_count(source.id),
    } for source in service.catalogue.sources.values()]
    # Discovery links (for tools) stay in the catalogue's order; the list (for people) does not.
    order = list(service.catalogue.feeds)
    alternates = sorted(feeds, key=lambda entry: order.index(entry["feed"].id))
    response = make_response(render_template(
        "index.html", feeds=feeds, alternates=alternates, sources=sources,
        french_datetime=french_datetime))
    # oEmbed discovery in HTTP too, for consumers that do not parse the page.
    response.headers["Link"] = ", ".join(
        discovery_links(public_base_url(), entry["links"]["rss"]) for entry in alternates)
    return response

