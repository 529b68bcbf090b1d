"""The newsletter digest: items → an e-mail-safe HTML fragment and its JSON twin.

The fragment is meant to be pasted into newsletter tools, whose e-mails are read by clients that
ignore `<style>` blocks, classes, scripts and web fonts, and that cannot resize images: so it is
one 600 px column of tables, every style inlined (css-inline), `width`/`height` on every image and
table, absolute URLs only, dates and key figures in French. Only plain-text fields are used
(title, summary, figures), never `content_html`, and Jinja escapes all of them.

Pure: no Flask, no Redis; web/digest.py chooses the items and the period.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import css_inline
import lxml.etree
import lxml.html
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..model import Item
from .agenda import UpcomingEntry
from .feeds import shown_image
from .french import french_date, item_date_text

DIGEST_WIDTH = 600  # px: the one column, and the width of full-bleed images
SUMMARY_MAX_CHARS = 280

_environment = Environment(loader=PackageLoader("syndication", "templates"),
                           autoescape=select_autoescape(default=True, default_for_string=True),
                           trim_blocks=True, lstrip_blocks=True)
_STYLE_BLOCK = re.compile(r"\s*<style>(?P<css>.*?)</style>\s*(?P<html>.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class DigestContext:
    """What the digest says about itself, besides its items."""

    title: str  # the feed's title, the digest's heading
    home_url: str  # the page the feed is about
    since: datetime  # start of the period covered
    window: str | None = None  # "24h", "7d", "12w"... when the period is relative to now
    base_url: str = ""  # this service's root, for the resized images it serves
    until: datetime | None = None  # end of the period (now, when the digest was made)
    upcoming: tuple[UpcomingEntry, ...] = ()  # "À venir": the next events (render/agenda.py)


@dataclass(frozen=True, slots=True)
class DigestImage:
    url: str
    alt: str  # empty: decorative (the title next to it says what the item is)
    width: int  # as displayed in the digest, at most DIGEST_WIDTH
    height: int | None  # None when the image's proportions are unknown
    credit: str | None = None  # shown under the image as "© …"


@dataclass(frozen=True, slots=True)
class DigestFigure:
    label: str
    value: str  # as written on the page ("3,2 Mds €"), which is what people read
    value_text: str  # the same: kept for the JSON's readers
    amount: int | float | None
    unit: str | None


@dataclass(frozen=True, slots=True)
class DigestEntry:
    id: str
    url: str | None  # None if the item's URL is not absolute http(s): then it is not linked
    title: str
    summary: str  # truncated at a word boundary
    date: datetime  # the publication date, else the last update (never when we read the page)
    published: datetime | None
    updated: datetime
    date_text: str  # French: "1er décembre 2026", or "Mis à jour le …" without a publication date
    image: DigestImage | None
    figures: tuple[DigestFigure, ...]


def digest_image(item: Item, base_url: str = "") -> DigestImage | None:
    """The one place where the digest chooses an item's image: our 600 px copy when we have
    one (newsletter tools cannot resize images), else the original, shown at most 600 px wide."""
    if item.image is None:
        return None
    image = shown_image(item.image, base_url, DIGEST_WIDTH)
    if _absolute_url(image.url) is None:
        return None
    width = min(image.width, DIGEST_WIDTH) if image.width else DIGEST_WIDTH
    height = round(width * image.height / image.width) if image.width and image.height else None
    return DigestImage(url=image.url, alt=image.alt or "", width=width, height=height,
                       credit=item.image.credit)


def digest_entry(item: Item, base_url: str = "") -> DigestEntry:
    return DigestEntry(
        id=item.id, url=_absolute_url(item.url), title=item.title,
        summary=truncate_summary(item.summary), date=item.published or item.updated,
        published=item.published, updated=item.updated,
        date_text=item_date_text(item), image=digest_image(item, base_url),
        figures=tuple(DigestFigure(label=f.label, value=f.value_text, value_text=f.value_text,
                                   amount=f.amount, unit=f.unit) for f in item.figures))


def render_digest_html(context: DigestContext, items: list[Item]) -> bytes:
    """The e-mail-safe fragment (UTF-8), styles inlined, no class attribute left."""
    rendered = _environment.get_template("digest.html").render(
        context=context, period_text=period_text(context), width=DIGEST_WIDTH,
        home_url=_absolute_url(context.home_url),
        entries=[digest_entry(item, context.base_url) for item in items])
    parts = _STYLE_BLOCK.fullmatch(rendered)
    if parts is None:
        raise ValueError("templates/digest.html must start with its <style> block")
    inliner = css_inline.CSSInliner(keep_style_tags=False, keep_link_tags=False,
                                    load_remote_stylesheets=False)
    inlined = inliner.inline_fragment(parts["html"], parts["css"])
    return _without_classes(inlined).encode("utf-8")


def period_text(context: DigestContext) -> str:
    """ "Publications du 3 novembre au 6 décembre 2026": the period the digest covers."""
    since = french_date(context.since)
    if context.until is None:
        return f"Publications depuis le {since}"
    until = french_date(context.until)
    if since == until:
        return f"Publications du {until}"
    if since.split(" ")[-1] == until.split(" ")[-1]:  # same year, said once
        since = since.rsplit(" ", 1)[0]
    return f"Publications du {since} au {until}"


def render_digest_email(context: DigestContext, items: list[Item]) -> bytes:
    """The digest as a whole e-mail document, for tools that send what they are given as it
    is: doctype, `<title>`, a hidden preheader (the line inboxes show after the subject), the
    fragment centred in a full-width table, every style inline."""
    fragment = render_digest_html(context, items).decode("utf-8")
    first = f" : {items[0].title}" if items else ""
    count = f"{len(items)} publication{'s' if len(items) > 1 else ''}" if items else \
        "Aucune publication"
    document = _environment.get_template("digest_email.html").render(
        title=context.title, preheader=f"{count}{first}", fragment=Markup(fragment),
        width=DIGEST_WIDTH)
    inliner = css_inline.CSSInliner(keep_style_tags=False, keep_link_tags=False,
                                    load_remote_stylesheets=False)
    return inliner.inline(document).encode("utf-8")


def render_digest_json(context: DigestContext, items: list[Item]) -> bytes:
    """The same items as the HTML digest, for tools that read JSON."""
    document = {
        "title": context.title,
        "home_page_url": context.home_url,
        "since": context.since.isoformat(),
        "since_text": french_date(context.since),
        "until": context.until.isoformat() if context.until else None,
        "period_text": period_text(context),
        "window": context.window,
        "items": [_entry_json(digest_entry(item, context.base_url)) for item in items],
        "upcoming": [asdict(entry) for entry in context.upcoming],
    }
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def truncate_summary(text: str, max_chars: int = SUMMARY_MAX_CHARS) -> str:
    """The summary on one line, cut at the last word boundary before `max_chars`, with "…"."""
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    if text[max_chars] != " " and " " in cut:  # the cut falls inside a word: drop that word
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.–—-") + "…"


def _entry_json(entry: DigestEntry) -> dict[str, Any]:
    image = entry.image
    return {
        "id": entry.id, "url": entry.url, "title": entry.title, "summary": entry.summary,
        "date": entry.date.isoformat(), "date_text": entry.date_text,
        "published": entry.published.isoformat() if entry.published else None,
        "updated": entry.updated.isoformat(),
        "image": {"url": image.url, "alt": image.alt, "width": image.width,
                  "height": image.height, "credit": image.credit} if image else None,
        "figures": [{"label": f.label, "value": f.value, "value_text": f.value_text,
                     "amount": f.amount, "unit": f.unit} for f in entry.figures],
    }


def _absolute_url(url: str | None) -> str | None:
    """The URL if an e-mail can use it (absolute http or https), else None."""
    if not url:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _without_classes(fragment: str) -> str:
    """The classes only named the template's styles; once inlined they go, so that a pasted
    fragment does not pick up the rules of the newsletter it is pasted into."""
    root = lxml.html.fragment_fromstring(fragment.strip())
    for element in root.iter(lxml.etree.Element):
        element.attrib.pop("class", None)
    return lxml.html.tostring(root, encoding="unicode")
