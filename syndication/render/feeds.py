"""RSS 2.0 and Atom 1.0 (feedgen) and JSON Feed 1.1 from a list of items.

Every format carries the same information: ids that never change, plain summaries, the full
sanitised content (with the item's image on top and a dossier's key figures below), categories,
authors, images where each kind of client looks (media:content, media:thumbnail, enclosure, JSON
`image`), the WebSub hub, and RFC 5005 paging links. Dates inside feeds are machine dates (RFC 822
in English for RSS, RFC 3339 for Atom and JSON); French appears only in HTML outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape, unescape

from feedgen.feed import FeedGenerator
from lxml import etree

from .. import __version__
from ..model import FEED_WIDTH, Feed, Image, Item, derivative_of
from ..normalise import xml_safe
from .agenda import event_html

GENERATOR = "syndication"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
PAGE_RELS = ("first", "previous", "next", "last")
THUMBNAIL_WIDTH = 300


@dataclass(frozen=True, slots=True)
class FeedContext:
    """What a feed document says about itself, besides its items."""

    feed: Feed
    self_url: str  # this document's URL
    home_url: str  # the page the feed is about
    publisher: str
    updated: datetime  # when the feed's content last changed
    publisher_logo: str | None = None
    hub_url: str | None = None
    pages: dict[str, str] = field(default_factory=dict)  # RFC 5005 rel → URL
    stylesheet_url: str | None = None  # XSLT, for people who open the feed in a browser
    base_url: str = ""  # this service's root URL, for the images it serves itself


@dataclass(frozen=True, slots=True)
class ShownImage:
    """The image a feed shows: our resized copy when we have one (with its real size), else the
    original with whatever the page said of it."""

    url: str
    alt: str
    width: int | None
    height: int | None
    length: int | None
    type: str | None


def shown_image(image: Image, base_url: str, max_width: int = FEED_WIDTH) -> ShownImage:
    copy = derivative_of(image, max_width)
    if copy is not None and base_url:
        return ShownImage(f"{base_url}/{copy.path}", image.alt, copy.width, copy.height,
                          copy.length, copy.type)
    return ShownImage(image.url, image.alt, image.width, image.height, image.length, image.type)


def guid(item: Item) -> str:
    return f"urn:uuid:{item.id}"


def render_rss(context: FeedContext, items: list[Item]) -> bytes:
    document = _generator(context, items, rss=True).rss_str(pretty=True)
    # feedgen writes only the self link into an RSS channel; hub and paging links join it here.
    extra = [(rel, href) for rel, href in _links(context) if rel != "self"]
    return _finish(document, context, _credits(items), channel_links=extra)


def render_atom(context: FeedContext, items: list[Item]) -> bytes:
    # feedgen 1.0 drops rel, type and length from Atom entry links (lkiesow/python-feedgen#135),
    # which would turn an enclosure into a second "alternate" link: enclosures are added here.
    document = _generator(context, items, rss=False).atom_str(pretty=True)
    enclosures = [_enclosure(item.image, context.base_url) if item.image else None
                  for item in items]
    return _finish(document, context, _credits(items), entry_enclosures=enclosures)


def _credits(items: list[Item]) -> list[str | None]:
    return [item.image.credit if item.image else None for item in items]


def _enclosure(image: Image, base_url: str) -> tuple[str, str, int] | None:
    """(URL, type, length) of an image's enclosure: only when its real length is known."""
    shown = shown_image(image, base_url)
    return (shown.url, shown.type, shown.length) if shown.length and shown.type else None


def _links(context: FeedContext) -> list[tuple[str, str]]:
    links = [("self", context.self_url)]
    if context.hub_url:
        links.append(("hub", context.hub_url))
    links += [(rel, context.pages[rel]) for rel in PAGE_RELS if rel in context.pages]
    return links


def _generator(context: FeedContext, items: list[Item], *, rss: bool) -> FeedGenerator:
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False, rss=True)
    generator.load_extension("media", atom=True, rss=True)
    generator.id(context.self_url)
    generator.title(context.feed.title)
    generator.description(context.feed.description or context.feed.title)
    for rel, href in _links(context):
        generator.link(href=href, rel=rel)
    # feedgen makes the last link the RSS <channel><link>: it must be the page, not the feed.
    generator.link(href=context.home_url, rel="alternate")
    generator.language("fr-FR")
    generator.author({"name": context.publisher})
    generator.generator(GENERATOR, version=__version__)
    generator.updated(context.updated)
    generator.lastBuildDate(context.updated)  # content-derived, so the bytes are reproducible
    if context.publisher_logo:
        generator.logo(context.publisher_logo)
        generator.image(context.publisher_logo, title=context.feed.title, link=context.home_url)
    for item in items:
        entry = generator.add_entry(order="append")
        entry.id(guid(item))
        entry.guid(guid(item), permalink=False)
        # Items are cleaned when normalised; xml_safe again here because one stray control
        # character (in an item stored before that rule) would make the whole document invalid.
        entry.title(xml_safe(item.title))
        entry.link(href=item.url, rel="alternate")
        summary = xml_safe(item.summary or item.title)
        # Readers take RSS <description> as HTML, Atom <summary> (type text) as text: the
        # text is escaped once more for RSS, so that both show it as written.
        entry.description(escape(summary) if rss else summary, isSummary=True)
        entry.content(xml_safe(full_content(item, context.base_url)), type="html")
        # Only the dates the page or feed gave: without a publication date, RSS has no
        # pubDate and Atom only `updated` (when we read the page is no publication date).
        if item.published is not None:
            entry.published(item.published)
        entry.updated(item.updated)
        for tag in map(xml_safe, item.tags):
            entry.category(term=tag, label=tag)
        authors = tuple(map(xml_safe, item.authors)) or (context.publisher,)
        entry.author([{"name": name} for name in authors])
        entry.dc.dc_creator(list(authors))
        if item.image:
            _add_image(entry, item.image, context.base_url, enclosure=rss)
    return generator


def _add_image(entry, image: Image, base_url: str,  # noqa: ANN001 - a feedgen FeedEntry
               *, enclosure: bool) -> None:
    """The image where each client looks: media:content (feed readers, Mailchimp) and an
    enclosure at 600 px, which newsletter tools cannot resize themselves, with the real length
    and type the enclosure needs; media:thumbnail at 300 px. No media:group: Media RSS means a
    group for alternatives of one object, and the W3C validator refuses a group holding one
    media:content. The credit joins the media:content in _finish (feedgen has no media:credit)."""
    shown = shown_image(image, base_url)
    content = {"url": shown.url, "medium": "image"}
    for name, value in (("type", shown.type), ("width", shown.width),
                        ("height", shown.height), ("fileSize", shown.length)):
        if value:
            content[name] = str(value)
    entry.media.content(content, group=None)
    small = shown_image(image, base_url, THUMBNAIL_WIDTH)
    thumbnail = {"url": small.url}
    if small.width and small.height:
        thumbnail.update(width=str(small.width), height=str(small.height))
    entry.media.thumbnail(thumbnail, group=None)
    found = _enclosure(image, base_url)
    if enclosure and found:
        entry.enclosure(found[0], str(found[2]), found[1])


def full_content(item: Item, base_url: str = "") -> str:
    """The content subscribers read: the image on top (for tools that take the first <img>),
    the sanitised page content, then a dossier's key figures. An event starts with its date
    and place in a French line."""
    parts = [event_html(item.event)] if item.event else []
    if item.image:
        shown = shown_image(item.image, base_url)
        size = (f' width="{shown.width}" height="{shown.height}"'
                if shown.width and shown.height else "")
        credit = item.image.credit
        # Once: a page whose text already credits the photo keeps its own words.
        caption = (f"<figcaption>Crédit photo : © {escape(credit)}</figcaption>"
                   if credit and credit not in unescape(item.content_html or "") else "")
        parts.append(f'<figure><img src="{escape(shown.url)}" '
                     f'alt="{escape(shown.alt)}"{size}>{caption}</figure>')
    parts.append(item.content_html or f"<p>{escape(item.summary)}</p>")
    if item.figures:
        rows = "".join(f"<li><strong>{escape(figure.value_text)}</strong> "
                       f"{escape(figure.label)}</li>" for figure in item.figures)
        parts.append(f"<h2>Chiffres clés</h2><ul>{rows}</ul>")
    return "\n".join(parts)


def _finish(document: bytes, context: FeedContext, credits: list[str | None],
            channel_links: list[tuple[str, str]] | None = None,
            entry_enclosures: list[tuple[str, str, int] | None] | None = None) -> bytes:
    """Add what feedgen cannot: each image's media:credit, RSS channel links besides self, Atom
    enclosure links, and the xml-stylesheet processing instruction that browsers follow and
    feed readers ignore."""
    root = etree.fromstring(document)
    entries = list(root.iterfind(f"{{{ATOM_NS}}}entry")) or root.findall("channel/item")
    for entry, credit in zip(entries, credits, strict=True):
        content = entry.find(f"{{{MEDIA_NS}}}content")
        if credit and content is not None:  # the credit travels with the image it is about
            etree.SubElement(content, f"{{{MEDIA_NS}}}credit").text = xml_safe(credit)
    for entry, found in zip(entries, entry_enclosures or (), strict=False):
        if found:
            url, media_type, length = found
            entry.append(etree.Element(f"{{{ATOM_NS}}}link", rel="enclosure", href=url,
                                       type=media_type, length=str(length)))
    if channel_links:
        channel = root.find("channel")
        assert channel is not None
        position = next((n for n, child in enumerate(channel)
                         if child.tag == f"{{{ATOM_NS}}}link"), 0) + 1
        for offset, (rel, href) in enumerate(channel_links):
            link = etree.Element(f"{{{ATOM_NS}}}link", href=href, rel=rel)
            channel.insert(position + offset, link)
    if context.stylesheet_url:
        root.addprevious(etree.ProcessingInstruction(
            "xml-stylesheet", f'type="text/xsl" href="{escape(context.stylesheet_url)}"'))
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8",
                          pretty_print=True)


def render_json_feed(context: FeedContext, items: list[Item]) -> bytes:
    document: dict[str, object] = {
        "version": JSON_FEED_VERSION,
        "title": context.feed.title,
        "home_page_url": context.home_url,
        "feed_url": context.self_url,
        "description": context.feed.description or context.feed.title,
        "language": "fr-FR",
        "authors": [{"name": context.publisher}],
        "items": [_json_item(item, context.base_url) for item in items],
    }
    if context.publisher_logo:
        document["icon"] = context.publisher_logo
    if "next" in context.pages:
        document["next_url"] = context.pages["next"]
    if context.hub_url:
        document["hubs"] = [{"type": "WebSub", "url": context.hub_url}]
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def _json_item(item: Item, base_url: str) -> dict[str, object]:
    entry: dict[str, object] = {
        "id": guid(item),
        "url": item.url,
        "title": item.title,
        "content_html": full_content(item, base_url),
        "summary": item.summary,
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
            "image": _json_image(item.image, base_url) if item.image else None,
            "event": item.event.to_dict() if item.event else None,
        },
    }
    if item.published is not None:  # never when we read the page: only what it said
        entry["date_published"] = _rfc3339(item.published)
    if item.image:
        entry["image"] = shown_image(item.image, base_url).url
    if not item.authors:
        del entry["authors"]
    return entry


def _json_image(image: Image, base_url: str) -> dict[str, object]:
    """The image with what JSON Feed's `image` (a bare URL) cannot say: its text alternative and
    its credit, which travels with the image wherever it is shown."""
    return {"url": shown_image(image, base_url).url, "alt": image.alt, "credit": image.credit}


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
