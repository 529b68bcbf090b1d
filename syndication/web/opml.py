"""/feeds.opml: every feed in one OPML 2.0 document, so that a feed reader subscribes to all of
them at once (Feedly, Inoreader, NetNewsWire, Thunderbird import OPML).

One `outline type="rss"` per feed, grouped by publisher (readers import a group as a folder), with
the RSS URL as `xmlUrl` and the page the feed is about as `htmlUrl`. The Atom and JSON twins are not
listed: a reader subscribes to every outline it imports, so they would be duplicate subscriptions;
they are announced by each feed and by the index page.

Feeds that work come first (web/feed_health.py), as on the index page: a reader importing the
file shows the useful ones on top. The document depends on the catalogue, on that order, on the
public base URL and on the site a feed source's feed names (render/publish.py home_url), not on
any feed's items: its ETag is a digest of its bytes.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from lxml import etree

from ..model import Catalogue, Feed
from ..normalise import xml_safe
from ..render.publish import home_url
from . import external_url, runtime
from .caching import MAX_AGE, STALE_WHILE_REVALIDATE
from .feed_health import feeds_by_health

blueprint = Blueprint("opml", __name__)

MEDIA_TYPE = "text/x-opml; charset=utf-8"
TITLE = "Flux de la Région : dossiers et actualités"
SPEC = "http://opml.org/spec2.opml"
FILENAME = "flux-region.opml"


@blueprint.get("/feeds.opml")
def opml_document() -> ResponseReturnValue:
    service = runtime()
    body = render_opml(service.catalogue,
                       [entry.feed.id for entry in feeds_by_health(service)])
    response = Response(body, content_type=MEDIA_TYPE)
    response.set_etag(hashlib.sha256(body).hexdigest()[:20])
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.cache_control.stale_while_revalidate = STALE_WHILE_REVALIDATE
    # A person who follows the link gets a file to import; tools read the body all the same.
    response.headers["Content-Disposition"] = f'attachment; filename="{FILENAME}"'
    response.access_control_allow_origin = "*"
    response.headers["Access-Control-Expose-Headers"] = "ETag"
    return response.make_conditional(request)


@blueprint.app_context_processor
def _opml_link() -> dict[str, object]:
    """Lets templates link to this document (index.html does) only where it is served."""
    return {"opml_url": lambda: external_url("opml.opml_document")}


def render_opml(catalogue: Catalogue, order: list[str] | None = None) -> bytes:
    """The OPML of every feed, grouped by publisher; `order` (feed ids) sorts the feeds, and
    the groups by their first feed; the catalogue's order without it."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = TITLE
    etree.SubElement(head, "docs").text = SPEC
    body = etree.SubElement(root, "body")
    by_publisher: dict[str, list[Feed]] = {}
    for feed_id in order or list(catalogue.feeds):
        feed = catalogue.feeds[feed_id]
        by_publisher.setdefault(feed.publisher, []).append(feed)
    for publisher_id, feeds in by_publisher.items():
        publisher = catalogue.publishers[publisher_id]
        group = etree.SubElement(body, "outline", text=xml_safe(publisher.name))
        for feed in feeds:
            title = xml_safe(feed.title)
            outline = etree.SubElement(group, "outline", type="rss", text=title, title=title)
            if feed.description:
                outline.set("description", xml_safe(feed.description))
            outline.set("xmlUrl", external_url("feeds.feed_document", feed_id=feed.id, fmt="rss"))
            outline.set("htmlUrl", home_url(runtime(), feed))
            outline.set("language", "fr-FR")
            outline.set("version", "RSS2")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

