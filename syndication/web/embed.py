"""/embed: a feed as a widget for other sites, in three outputs of one renderer
(render/widget.py), and the page that writes their code.

- `/embed/{feed}.html`: the bare fragment, for server-side includes (PHP, Drupal, SPIP), for
  pages without JavaScript, and for the script, which fetches it (CORS, no credentials).
- `/embed/{feed}.js`: the script; it shows the fragment in a Shadow DOM (static/embed/loader.js).
- `/embed/{feed}/frame`: the same fragment as an iframe page that reports its height (WordPress's
  embed protocol, or `/embed/resize.js` on other sites); `/embed/{feed}/go` sends the clicks of a
  sandboxed WordPress frame to the items of the feed, and nowhere else.
- `/embed/builder`: the configurator, in French.

Widget responses are cached, compressed and revalidated like the feeds (web/caching.py). They may
be framed by any site (`frame-ancestors`, from the `embed_frame_ancestors` setting); every other
page of the service only by itself (app.py's default policy). The iframe page runs its one inline
script, allowed by its hash. No cookie is ever set, nothing is counted per visitor.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from functools import partial
from importlib.resources import files
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from ..errors import ConfigError, NotFound
from ..model import Feed, Item
from ..normalise import fold
from ..render.agenda import agenda_selection, agenda_until, agenda_variant
from ..render.selection import Filters, select_items
from ..render.widget import (
    FRAME_SCRIPT_HASH,
    WidgetSource,
    http_url,
    render_widget_fragment,
    render_widget_frame,
    widget_script,
)
from ..render.widget_options import (
    FONTS,
    LAYOUTS,
    MAX_TAG,
    MIN_CONTRAST,
    PALETTES,
    THEMES,
    WidgetOptions,
    parse_widget_options,
)
from ..runtime import Runtime
from ..store import FeedState
from . import public_base_url, render_cache, runtime
from .caching import CACHE_CONTROL, Representation, respond
from .feed_health import feed_with_items

blueprint = Blueprint("embed", __name__)

HTML = "text/html; charset=utf-8"
JAVASCRIPT = "text/javascript; charset=utf-8"
_ANCESTOR = re.compile(r"\*|'self'|https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?")


@blueprint.record_once
def _read_settings(state: BlueprintSetupState) -> None:
    """The frame-ancestors policy of the widgets, checked once when the app is built."""
    service: Runtime = state.app.extensions["syndication"]
    allowed = getattr(service.settings, "embed_frame_ancestors", "*")
    state.app.extensions["syndication.embed_policy"] = frame_ancestors_policy(allowed)


def frame_ancestors_policy(allowed: str) -> str:
    """`embed_frame_ancestors` ("*", or origins separated by spaces or commas) as a CSP
    directive; ConfigError names a source that is not an origin."""
    sources = allowed.replace(",", " ").split() or ["*"]
    for source in sources:
        if not _ANCESTOR.fullmatch(source):
            raise ConfigError(f"'{source}' is not '*', 'self' or an http(s) origin",
                              field="embed_frame_ancestors")
    return "frame-ancestors " + " ".join(sources)


# --- the three outputs -----------------------------------------------------------------------


@blueprint.get("/embed/<feed_id>.html")
def fragment(feed_id: str) -> Response:
    service, feed = runtime(), runtime().catalogue.feed(feed_id)
    options = parse_widget_options(request.args)
    base_url = public_base_url()
    representation = render_cache().get(
        feed.id, f"widget html {base_url} {options.cache_key()}{_when(options)}", HTML,
        lambda _state: render_widget_fragment(
            widget_source(service, feed, base_url), options,
            widget_items(service, feed, options)).encode("utf-8"))
    return respond(representation, request, extra=_embed_headers(), until=_until(options))


@blueprint.get("/embed/<feed_id>/frame")
def frame(feed_id: str) -> Response:
    service, feed = runtime(), runtime().catalogue.feed(feed_id)
    options = parse_widget_options(request.args)
    base_url = public_base_url()
    oembed_json = _oembed_url(base_url, frame_url(base_url, feed.id, options))
    representation = render_cache().get(
        feed.id, f"widget frame {base_url} {options.cache_key()}{_when(options)}", HTML,
        lambda _state: render_widget_frame(
            widget_source(service, feed, base_url), options,
            widget_items(service, feed, options), oembed_url=oembed_json).encode("utf-8"))
    link = f'<{oembed_json}>; rel="alternate"; type="application/json+oembed"'
    # The page's one script is inline and fixed: allowed by its hash, and nothing else runs.
    policy = (f"{current_app.extensions['syndication.embed_policy']}; "
              f"script-src {FRAME_SCRIPT_HASH}; object-src 'none'; base-uri 'none'")
    return respond(representation, request, extra=(("Content-Security-Policy", policy),
                                                   ("X-Content-Type-Options", "nosniff"),
                                                   ("Link", link)), until=_until(options))


@blueprint.get("/embed/<feed_id>.js")
def script(feed_id: str) -> Response:
    runtime().catalogue.feed(feed_id)  # 404 if unknown; one script serves every feed
    return respond(_SCRIPT, request, extra=_embed_headers())


@blueprint.get("/embed/resize.js")
def resize_script() -> Response:
    return respond(_RESIZE, request, extra=_embed_headers())


@blueprint.get("/embed/<feed_id>/go")
def go(feed_id: str) -> ResponseReturnValue:
    """A redirect to an item of the feed (or its page): for WordPress, which follows the links
    of a frame only to the frame's own host. Never to any other URL: not an open redirect."""
    service, feed = runtime(), runtime().catalogue.feed(feed_id)
    url = request.args.get("url", "")
    known = {item.url for item in service.store.feed_items(
        feed.id, limit=service.settings.retention)}
    known.add(widget_source(service, feed, public_base_url()).all_items_url)
    if http_url(url) is None or url not in known:
        raise NotFound("link of feed", feed.id)
    response = redirect(url, code=302)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@blueprint.get("/embed/builder")
def builder() -> str:
    """The configurator, open on `?feed=` (a feed's page links it so), else on a feed that has
    items; each feed offers the tags its items carry for "Thématique"."""
    service = runtime()
    feeds = list(service.catalogue.feeds.values())
    asked = request.args.get("feed")
    chosen = asked if asked in service.catalogue.feeds else feed_with_items(service)
    return render_template(
        "embed/builder.html", base_url=public_base_url(), feeds=feeds, chosen=chosen,
        tags={feed.id: feed_tags(service, feed) for feed in feeds}, layouts=LAYOUTS,
        themes=THEMES, fonts=FONTS, palettes=PALETTES, min_contrast=MIN_CONTRAST,
        defaults=WidgetOptions())


def feed_tags(service: Runtime, feed: Feed) -> list[str]:
    """The tags of a feed's items, each once whatever its case and accents (as first written),
    in alphabetical order ignoring them, at most MAX_TAG characters (the widget's limit)."""
    found: dict[str, str] = {}
    for item in service.store.feed_items(feed.id, limit=service.settings.retention):
        for tag in item.tags:
            if len(tag) <= MAX_TAG:
                found.setdefault(fold(tag), tag)
    return [found[key] for key in sorted(found)]


# --- shared with web/oembed.py ---------------------------------------------------------------


def widget_source(service: Runtime, feed: Feed, base_url: str) -> WidgetSource:
    """The feed as the widget names it; its "all items" link goes to the page the feed is
    about, else to the feed itself."""
    first_source = service.catalogue.sources.get(feed.sources[0])
    page = first_source.url if first_source else service.catalogue.publishers[feed.publisher].url
    return WidgetSource(feed_id=feed.id, feed_title=feed.title,
                        all_items_url=http_url(page) or f"{base_url}/feeds/{feed.id}",
                        base_url=base_url)


def widget_items(service: Runtime, feed: Feed, options: WidgetOptions) -> list[Item]:
    """The newest `count` items (of `tag`); for key figures, the newest item that has some;
    for an agenda, the next `count` events."""
    store = service.store
    figures = options.layout == "figures"
    filters = Filters(limit=1 if figures else options.count, tag=options.tag,
                      default_limit=feed.limit, upcoming=options.layout == "agenda" or None)
    if options.layout == "agenda":
        return agenda_selection(store.feed_items(feed.id, limit=service.settings.retention),
                                filters, datetime.now(UTC)).items
    return select_items(
        lambda limit, since, offset: store.feed_items(feed.id, limit=limit, since=since,
                                                      offset=offset),
        partial(store.feed_count, feed.id), filters, service.settings.retention,
        also=(lambda item: bool(item.figures)) if figures else None).items


def _until(options: WidgetOptions) -> float | None:
    """When an agenda's kept response (web/fastpath.py) must be asked for again."""
    return agenda_until(datetime.now(UTC)) if options.layout == "agenda" else None


def _when(options: WidgetOptions) -> str:
    """An agenda's cache variant changes with the quarter-hour: ended events leave it."""
    return f" {agenda_variant(datetime.now(UTC))}" if options.layout == "agenda" else ""


def frame_url(base_url: str, feed_id: str, options: WidgetOptions) -> str:
    query = options.query()
    return f"{base_url}/embed/{feed_id}/frame" + (f"?{urlencode(query)}" if query else "")


def _oembed_url(base_url: str, resource_url: str) -> str:
    return f"{base_url}/oembed?{urlencode({'url': resource_url, 'format': 'json'})}"


def _embed_headers() -> tuple[tuple[str, str], ...]:
    return (("Content-Security-Policy", current_app.extensions["syndication.embed_policy"]),
            ("X-Content-Type-Options", "nosniff"))


def _static(body: bytes, media_type: str) -> Representation:
    """A script that is the same for every feed and request, cached and compressed once."""
    etag = "embed-" + hashlib.sha256(body).hexdigest()[:16]
    return Representation.compressed(body, media_type, etag, FeedState(0, None),
                                      (("ETag", f'W/"{etag}"'), ("Cache-Control", CACHE_CONTROL)))


_SCRIPT = _static(widget_script().encode("utf-8"), JAVASCRIPT)
_RESIZE = _static((files("syndication") / "static" / "embed" / "resize.js").read_bytes(),
                  JAVASCRIPT)
