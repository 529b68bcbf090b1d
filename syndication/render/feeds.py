"""RSS 2.0 and Atom 1.0 (feedgen) and JSON Feed 1.1 from a list of items.

Dates inside feeds are machine dates (RFC 822 in English for RSS, RFC 3339 for Atom and JSON);
French appears only in HTML outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from feedgen.feed import FeedGenerator

from .. import __version__
from ..model import Feed, Item

GENERATOR = "syndication"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


@dataclass(frozen=True, slots=True)
class FeedContext:
    """What a feed document says about itself, besides its items."""

    feed: Feed
    self_url: str  # this document's URL
    home_url: str  # the page the feed is about
    publisher: str
    updated: datetime  # when the feed's content last changed


def guid(item: Item) -> str:
    return f"urn:uuid:{item.id}"


def render_rss(context: FeedContext, items: list[Item]) -> bytes:
    return _generator(context, items).rss_str(pretty=True)


def render_atom(context: FeedContext, items: list[Item]) -> bytes:
    return _generator(context, items).atom_str(pretty=True)


def _generator(context: FeedContext, items: list[Item]) -> FeedGenerator:
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False, rss=True)
    generator.id(context.self_url)
    generator.title(context.feed.title)
    generator.description(context.feed.description or context.feed.title)
    # feedgen makes the last link the RSS <channel><link>: it must be the page, not the feed.
    generator.link(href=context.self_url, rel="self")
    generator.link(href=context.home_url, rel="alternate")
    generator.language("fr-FR")
    generator.author({"name": context.publisher})
    generator.generator(GENERATOR, version=__version__)
    generator.updated(context.updated)
    generator.lastBuildDate(context.updated)  # content-derived, so the bytes are reproducible
    for item in items:
        entry = generator.add_entry(order="append")
        entry.id(guid(item))
        entry.guid(guid(item), permalink=False)
        entry.title(item.title)
        entry.link(href=item.url, rel="alternate")
        entry.description(item.summary or item.title)
        if item.content_html:
            entry.content(item.content_html, type="html")
        entry.published(item.date)
        entry.updated(item.updated)
        for tag in item.tags:
            entry.category(term=tag, label=tag)
        authors = item.authors or (context.publisher,)
        entry.author([{"name": name} for name in authors])
        entry.dc.dc_creator(list(authors))
    return generator


def render_json_feed(context: FeedContext, items: list[Item]) -> bytes:
    document = {
        "version": JSON_FEED_VERSION,
        "title": context.feed.title,
        "home_page_url": context.home_url,
        "feed_url": context.self_url,
        "description": context.feed.description or context.feed.title,
        "language": "fr-FR",
        "authors": [{"name": context.publisher}],
        "items": [_json_item(item) for item in items],
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def _json_item(item: Item) -> dict[str, object]:
    entry: dict[str, object] = {
        "id": guid(item),
        "url": item.url,
        "title": item.title,
        "content_html": item.content_html or f"<p>{escape(item.summary)}</p>",
        "summary": item.summary,
        "date_published": _rfc3339(item.date),
        "date_modified": _rfc3339(item.updated),
        "authors": [{"name": name} for name in item.authors],
        "tags": list(item.tags),
        "language": item.lang,
        # Extension object (JSON Feed 1.1 §"Extensions"): what the standard fields cannot carry.
        "_syndication": {
            "about": "https://jsonfeed.org/version/1.1#extensions",
            "kind": item.kind,
            "source": item.source,
            "figures": [{"label": f.label, "value_text": f.value_text, "amount": f.amount,
                         "unit": f.unit} for f in item.figures],
            "image_credit": item.image.credit if item.image else None,
        },
    }
    if item.image:
        entry["image"] = item.image.url
    if not item.authors:
        del entry["authors"]
    return entry


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
