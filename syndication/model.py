"""The shared vocabulary: frozen dataclasses handed from one pipeline stage to the next.

`RawRecord` is what extract finds on a page (text as found); `Item` is the normalised content model
of PRODUCT.md; `Source`, `Feed` and `Publisher` come from feeds/*.toml.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .errors import NotFound
from .events import Event


class ItemKind(StrEnum):
    DOSSIER = "dossier"
    ACTUALITE = "actualite"
    EVENEMENT = "evenement"
    PAGE = "page"


class SourceType(StrEnum):
    """How a source's items arrive: pages scraped, a feed read, a sitemap walked, or pushed by
    its publisher to POST /api/items."""

    HTML = "html"
    FEED = "feed"
    SITEMAP = "sitemap"
    PUSH = "push"
    ICAL = "ical"  # an iCalendar (.ics) file, each event an item (harvest/ical.py)


ITEM_KINDS: tuple[str, ...] = tuple(ItemKind)
SOURCE_TYPES: tuple[str, ...] = tuple(SourceType)


# --- what extract produces -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RawRecord:
    """Everything extract found on one page, as text, before any interpretation."""

    url: str
    canonical_url: str | None = None
    title: str | None = None
    summary: str | None = None
    content_html: str | None = None
    published: str | None = None
    updated: str | None = None
    image_url: str | None = None
    image_alt: str | None = None
    image_credit: str | None = None
    image_width: str | None = None
    image_height: str | None = None
    figures: tuple[tuple[str, str], ...] = ()  # (value as written, label)
    tags: tuple[str, ...] = ()
    kind: str | None = None  # the page's own label ("Actualité", "Dossier") or schema.org type
    authors: tuple[str, ...] = ()
    lang: str | None = None
    event: tuple[tuple[str, str], ...] = ()  # (field, text as found): events.event_from_fields
    title_guessed: bool = False  # no layer gave a title: the first heading or the address did

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the content model -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Derivative:
    """A resized copy of an item's image that the service serves itself (syndication/images.py):
    at most `max_width` px wide (never upscaled, so `width` may be less), with its real size."""

    max_width: int  # the width asked for: one of images.WIDTHS (300, 600, 1200)
    width: int
    height: int
    length: int  # bytes
    type: str  # image/jpeg, or image/png for images with transparency
    path: str  # relative to the service's root URL: "images/{key}-{version}/600.jpg"


FEED_WIDTH = 600  # the derivative feeds and e-mail digests show (newsletter tools cannot resize)


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    alt: str = ""
    credit: str | None = None
    width: int | None = None
    height: int | None = None
    type: str | None = None
    length: int | None = None  # bytes, as fetched (enclosures need it)
    derivatives: tuple[Derivative, ...] = ()  # filled by images.probe_images, smallest first

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Image:
        """From stored JSON; records written before a field existed get its default."""
        data = dict(data)
        data["derivatives"] = tuple(Derivative(**d) for d in data.get("derivatives", ()))
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Figure:
    """A key figure: "1,1 Md €" / "pour le pacte rural" → amount 1100000000, unit "EUR"."""

    label: str
    value_text: str
    amount: int | float | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    source: str
    kind: ItemKind
    url: str
    title: str
    summary: str
    content_html: str
    first_seen: datetime
    updated: datetime
    published: datetime | None = None
    image: Image | None = None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()
    related: tuple[str, ...] = ()
    lang: str = "fr"
    content_hash: str = ""
    event: Event | None = None  # what takes place, for items that are events (events.py)

    @property
    def date(self) -> datetime:
        """The date an item is sorted under: its publication date; without one, the earlier of
        its update date and when we first saw it, so that a page which only says when it was
        last modified sorts there, not at the top on the day we read it. Only for ordering:
        no output shows it as a publication date."""
        return self.published or min(self.updated, self.first_seen)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("first_seen", "updated", "published"):
            value = getattr(self, name)
            data[name] = value.isoformat() if value else None
        data.pop("event")  # no key without an event: the records (and hashes) of others stay
        return data | ({"event": self.event.to_dict()} if self.event else {})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Item:
        data = dict(data)
        for name in ("first_seen", "updated", "published"):
            if data.get(name):
                data[name] = datetime.fromisoformat(data[name])
        data["kind"] = ItemKind(data["kind"])
        data["image"] = Image.from_dict(data["image"]) if data.get("image") else None
        data["figures"] = tuple(Figure(**figure) for figure in data.get("figures", ()))
        data["event"] = Event.from_dict(data["event"]) if data.get("event") else None
        for name in ("authors", "tags", "related"):
            data[name] = tuple(data.get(name, ()))
        return cls(**data)


# --- configuration (feeds/*.toml) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Selectors:
    """CSS selectors for one source; every one is optional (metadata and trafilatura fill gaps)."""

    title: str | None = None
    summary: str | None = None
    content: str | None = None
    published: str | None = None
    updated: str | None = None
    image: str | None = None
    image_credit: str | None = None
    figures: str | None = None
    figure_value: str | None = None
    figure_label: str | None = None
    tags: str | None = None
    kind: str | None = None
    authors: str | None = None
    exclude: tuple[str, ...] = ()  # removed from the content before it is kept


@dataclass(frozen=True, slots=True)
class Publisher:
    id: str
    name: str
    url: str
    logo: str | None = None  # image URL, shown as the feeds' channel image


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    url: str
    publisher: str
    type: SourceType = SourceType.HTML
    kind: ItemKind = ItemKind.PAGE  # for the entry page itself, unless the page labels itself
    every_seconds: int = 1800
    listing: bool = False  # the entry page only lists links; it is not an item itself
    follow: str | None = None  # selector of links to detail pages, each an item
    paginate: str | None = None  # selector of the "next page" link of a listing
    max_pages: int = 1
    max_items: int = 50
    tags: tuple[str, ...] = ()  # added to every item of this source (e.g. the dossier's name)
    selectors: Selectors = field(default_factory=Selectors)
    full_page: bool = False  # feed sources: take each entry's page, not only what the feed says
    include: tuple[str, ...] = ()  # sitemap sources: URL path globs to keep (empty: every URL)
    max_urls: int = 50_000  # sitemap sources: URLs read from the sitemap(s) at most


@dataclass(frozen=True, slots=True)
class Feed:
    id: str
    title: str
    publisher: str
    sources: tuple[str, ...]
    description: str = ""
    kinds: tuple[ItemKind, ...] = ()  # empty: every kind
    tags: tuple[str, ...] = ()  # empty: every tag; otherwise items with at least one of them
    limit: int = 50

    def admits(self, item: Item) -> bool:
        """Whether an item of one of this feed's sources belongs in the feed."""
        if item.source not in self.sources:
            return False
        if self.kinds and item.kind not in self.kinds:
            return False
        return not self.tags or any(tag in item.tags for tag in self.tags)


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Everything declared in feeds/*.toml."""

    publishers: dict[str, Publisher]
    sources: dict[str, Source]
    feeds: dict[str, Feed]

    def feed(self, feed_id: str) -> Feed:
        """A feed by id; NotFound (a 404 on the web) for an unknown one."""
        if feed_id not in self.feeds:
            raise NotFound("feed", feed_id)
        return self.feeds[feed_id]

    def feeds_of(self, source_id: str) -> list[Feed]:
        return [feed for feed in self.feeds.values() if source_id in feed.sources]


def derivative_of(image: Image | None, max_width: int = FEED_WIDTH) -> Derivative | None:
    """The derivative of a probed image at most `max_width` px wide; None if not probed."""
    if image is None:
        return None
    return next((d for d in image.derivatives if d.max_width == max_width), None)


def member_of(item: Item) -> str:
    """How an item is named in indexes: "{source}/{id}" (one record per source)."""
    return f"{item.source}/{item.id}"
