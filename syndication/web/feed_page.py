"""/feeds/{feed} (and /feeds/{feed}.html): a feed's page for people, in French and in plain
HTML: what the feed is, its latest items (images with their credits), how to subscribe (the
addresses to copy, the reader apps that take them), and links to its widget and its digest.

Browsers are removing XSLT, so the feeds' stylesheet (static/feed.xsl) can no longer be what a
person sees: every people-facing link points here instead. The feed documents keep their
stylesheet for the browsers that still apply it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from ..model import Feed, Item
from ..render.agenda import agenda_selection, event_line, is_agenda
from ..render.feeds import shown_image
from ..render.french import french_date
from ..render.publish import home_url
from ..render.selection import Filters
from ..render.widget import http_url
from ..runtime import Runtime
from . import external_url, public_base_url, runtime
from .feeds import calendar_links
from .oembed import discovery_links

blueprint = Blueprint("feed_page", __name__)

LATEST = 10  # items shown: the page says what the feed is like, the feed has the rest
IMAGE_WIDTH = 600


@dataclass(frozen=True, slots=True)
class PageImage:
    url: str
    alt: str
    width: int | None
    height: int | None
    credit: str | None


@dataclass(frozen=True, slots=True)
class PageItem:
    title: str
    url: str | None  # None when not an http(s) URL: then the title is not a link
    date_text: str  # "Publié le 3 décembre 2026", or "Mis à jour le …" when only that is known
    summary: str
    image: PageImage | None
    figures: tuple[tuple[str, str], ...]  # (value as written, label)


@blueprint.get("/feeds/<feed_id>.html")
@blueprint.get("/feeds/<feed_id>")  # registered first: the address url_for gives
def feed_page(feed_id: str) -> ResponseReturnValue:
    service = runtime()
    feed = service.catalogue.feed(feed_id)
    base_url = public_base_url()
    publisher = service.catalogue.publishers[feed.publisher]
    links = {fmt: external_url("feeds.feed_document", feed_id=feed.id, fmt=fmt)
             for fmt in ("rss", "atom", "json")}
    items = [page_item(item, base_url)
             for item in _latest(service, feed)]
    return render_template(
        "feed.html", feed=feed, publisher=publisher, home_url=http_url(home_url(service, feed)),
        links=links, items=items, readers=subscribe_links(links["rss"]),
        calendar=calendar_links(feed),
        builder_url=external_url("embed.builder", feed=feed.id),
        digest_url=external_url("digest.digest", feed_id=feed.id, fmt="html"),
        oembed_links=discovery_links(base_url, links["rss"]))


def page_item(item: Item, base_url: str) -> PageItem:
    image = None
    if item.image is not None:
        shown = shown_image(item.image, base_url, IMAGE_WIDTH)
        if http_url(shown.url):
            image = PageImage(shown.url, shown.alt, shown.width, shown.height,
                              item.image.credit)
    return PageItem(title=item.title, url=http_url(item.url), date_text=date_text(item),
                    summary=item.summary, image=image,
                    figures=tuple((f.value_text, f.label) for f in item.figures))


def _latest(service: Runtime, feed: Feed) -> list[Item]:
    """The latest items; for an agenda, the next events (render/agenda.py)."""
    if not is_agenda(feed, service.catalogue):
        return service.store.feed_items(feed.id, limit=LATEST)
    return agenda_selection(service.store.feed_items(feed.id, limit=service.settings.retention),
                            Filters(limit=LATEST), datetime.now(UTC)).items


def date_text(item: Item) -> str:
    """Only a date the page gave as its publication date is said to be one; otherwise the
    page's last update, never the time we first saw it. An event: when and where it is."""
    if item.event is not None:
        return event_line(item.event, datetime.now(UTC))
    if item.published is not None and item.published <= item.updated:
        return f"Publié le {french_date(item.published)}"
    return f"Mis à jour le {french_date(item.updated)}"


def subscribe_links(rss_url: str) -> list[tuple[str, str | None, str]]:
    """Reader apps people use, each with a link that subscribes directly when the app has one:
    (name, link or None, how to)."""
    return [
        ("Feedly", f"https://feedly.com/i/subscription/feed/{quote(rss_url, safe='')}",
         "en ligne, le lien ouvre l’abonnement"),
        ("Inoreader", f"https://www.inoreader.com/?add_feed={quote(rss_url, safe='')}",
         "en ligne, le lien ouvre l’abonnement"),
        ("NetNewsWire", None, "sur Mac et iPhone, menu Fichier, « Nouveau flux », puis collez "
                              "l’adresse RSS"),
        ("Thunderbird", None, "sur ordinateur, menu Fichier, « Nouveau », « Compte de flux », "
                              "puis « Gérer les abonnements » et collez l’adresse RSS"),
    ]
