"""Normalise: a RawRecord (text as found on a page) → an Item of the content model.

Pure functions, no I/O: dates in French forms (Europe/Paris), key figures with amount and unit,
absolute canonical URLs without tracking parameters, sanitised HTML (nh3), stable ids, a content
hash, and `reconcile`, which decides whether a re-scraped item really changed.

Entry point: `normalise(record, source, now)`; `reconcile` decides what an edit changes.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import lxml.html
import nh3
from babel.numbers import NumberFormatError, parse_decimal
from lxml import etree

from .dates import PARIS as PARIS  # PARIS: others read it here
from .dates import fold as fold  # fold: others read it here
from .dates import parse_date, zone_of_language
from .eventdates import event_of
from .events import revise
from .extract.metadata import CREDIT_LINE, kind_from_label
from .links import Networks, public_link
from .model import Figure, Image, Item, ItemKind, RawRecord, Source


def normalise(record: RawRecord, source: Source, now: datetime, *,
              allowed_networks: Networks = ()) -> Item:
    """Turn what a page says into an Item. `now` is when we saw it (first_seen for a new item).
    Links leave the service only as http(s) URLs without user info, never to an address the
    fetcher would refuse (`allowed_networks`: the ones the operator admits, as for fetching)."""
    title = plain_text(record.title)
    if not title:
        raise ValueError(f"no title found on {record.url}")
    page = _link(record.url, None, allowed_networks)
    declared = _link(record.canonical_url, record.url, allowed_networks)
    # An item whose page has no link fit to publish keeps an id of its own, and points to
    # its source's page instead.
    url = declared or page or source.url
    own = declared or page or record.url
    zone = zone_of_language(record.lang)  # of dates written without an offset
    published = parse_date(record.published, zone)
    image = _image(record, allowed_networks)
    declared_update = parse_date(record.updated, zone)
    kind = kind_from_label(record.kind) or source.kind
    event = event_of(record.event, kind == ItemKind.EVENEMENT, published or now,
                     lambda link: _link(link, record.url, allowed_networks), zone)
    item = Item(  # an iCalendar event is known by its UID (several may share one page)
        id=item_id(f"urn:uid:{event.uid}" if event and event.uid else own),
        source=source.id,
        kind=ItemKind.EVENEMENT if event else kind,
        url=url,
        title=title,
        summary=plain_text(record.summary),
        content_html=sanitise_html(record.content_html or "", _base(record.url, url),
                                   image.url if image else None, allowed_networks),
        first_seen=now,
        # A page whose update date precedes its publication date has one of them wrong:
        # `published <= updated` holds whatever it says (Atom readers rely on it).
        updated=max((d for d in (declared_update, published) if d is not None), default=now),
        published=published,
        image=image,
        authors=tuple(dict.fromkeys(a for a in map(plain_text, record.authors) if a)),
        tags=_unique(t for t in (*map(plain_text, record.tags), *source.tags) if t),
        figures=tuple(parse_figure(value, label) for value, label in record.figures if value),
        lang=_language(record.lang),
        event=event,
    )
    return replace(item, content_hash=content_hash(item))



def reconcile(old: Item | None, new: Item) -> Item | None:
    """What to store for a freshly normalised item, given what we stored before.

    None when nothing a subscriber sees has changed (so nothing is written and `updated` stays);
    otherwise the new item, keeping the original first_seen and publication date, with `updated`
    moved to the page's own modification date or, failing that, to now.
    """
    if old is None:
        return new
    if old.content_hash == new.content_hash:
        # A dossier linking to other news is not an edit of the dossier, nor are image facts
        # learnt since (images.probe_images): they are written, and the dates stay.
        image = new.image if new.image and new.image.length else old.image
        kept = replace(old, related=new.related, image=image)
        return None if kept == old else kept
    updated = new.updated if new.updated > old.updated else new.first_seen
    published = old.published or new.published
    return replace(new, first_seen=old.first_seen, published=published,
                   event=revise(old.event, new.event),  # SEQUENCE +1 when the event changed
                   updated=max(updated, old.updated, published or old.updated))


def content_hash(item: Item) -> str:
    """A digest of what subscribers see, dates excepted: equal hashes mean nothing changed."""
    seen = item.to_dict()
    for name in ("first_seen", "updated", "published", "content_hash", "related"):
        seen.pop(name)
    if seen.get("image"):  # derived by the service, not seen on the page
        seen["image"].pop("derivatives", None)
    if seen.get("event"):  # counts changes, is not one
        seen["event"].pop("sequence", None)
    return hashlib.sha256(json.dumps(seen, sort_keys=True).encode()).hexdigest()[:32]


def item_id(url: str) -> str:
    """A stable id: the name-based UUID of the canonical URL (valid as an Atom id as urn:uuid:)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, url))


# --- URLs ----------------------------------------------------------------------------------

TRACKING_PARAMETERS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|xtor|at_\w+|_hsenc|_hsmi|"
    r"mkt_tok|igshid|yclid|_ga|_gl|pk_\w+|mtm_\w+|oly_\w+|vero_\w+|ref_src)$", re.IGNORECASE)


def canonical_url(url: str, base: str | None = None) -> str:
    """Absolute URL, lowercase scheme and host, no fragment, no tracking parameters."""
    absolute = urljoin(base or url, url.strip())
    parts = urlsplit(absolute)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not TRACKING_PARAMETERS.match(k)]
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~") or "/"  # stray spaces, non-ASCII
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))


# --- HTML and text -------------------------------------------------------------------------

ALLOWED_TAGS = {"p", "br", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "a", "strong", "em",
                "b", "i", "u", "s", "blockquote", "q", "cite", "abbr", "sub", "sup", "small",
                "figure", "figcaption", "img", "table", "thead", "tbody", "tfoot", "tr", "th",
                "td", "caption", "dl", "dt", "dd", "hr", "pre", "code", "span", "time"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "hreflang"},
                      "img": {"src", "alt", "width", "height", "title"},
                      "abbr": {"title"}, "time": {"datetime"},
                      "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan", "scope"}}


def sanitise_html(html: str, base_url: str, lead_image: str | None = None,
                  allowed_networks: Networks = ()) -> str:
    """Untrusted HTML → safe HTML: allow-listed tags and attributes, no scripts, styles or
    handlers, relative URLs made absolute against the page, links to public http(s) URLs (as
    public_link admits them) or mailto only, images from public http(s) URLs only.
    The item's own image (`lead_image`) and its credit line are left out: they have their fields."""
    try:
        cleaned = _clean(html, ("rewrite_with_base", base_url))
    except ValueError:  # a base that is no URL: relative links cannot be made absolute
        cleaned = _clean(html, "deny")
    # nh3 writes out what references stood for: "&#11;" is a control character now.
    return _tidy(xml_safe(cleaned), lead_image, allowed_networks)


def _clean(html: str, relative: Any) -> str:
    return nh3.clean(xml_safe(html), tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     clean_content_tags={"script", "style", "noscript", "template"},
                     url_schemes={"http", "https", "mailto"}, url_relative=relative)


def _tidy(html: str, lead_image: str | None, allowed_networks: Networks = ()) -> str:
    """Remove what sanitising or scraping left hollow or must not hand to readers: links whose
    href was unsafe or leads to an address the fetcher would refuse (their text stays), such
    images, empty links (skip-link targets), the lead image, credit lines, then empty blocks.
    The markup is nh3's, well formed: lxml reads and writes it several times faster than
    BeautifulSoup's Python parser, and leaves its structure as it is."""
    if "<" not in html:  # text alone: nothing to tidy
        return re.sub(r"\n\s*\n+", "\n", html).strip()
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    _collapse_blanks(root)
    for image in list(root.iter("img")):
        if not public_link(str(image.get("src") or ""), allowed_networks):
            image.drop_tree()
    for link in list(root.iter("a")):
        href = str(link.get("href") or "")
        if not href or not (href.startswith("mailto:") or public_link(href, allowed_networks)):
            link.drop_tag()
        elif not _text(link) and link.find(".//img") is None:
            link.drop_tree()
    for image in list(root.iter("img")) if lead_image else ():
        if image.get("src") == lead_image:
            image.drop_tree()
    for element in list(root.iter("p", "figcaption", "span", "small")):
        if CREDIT_LINE.fullmatch(_text(element)):
            element.drop_tree()
    for element in list(root.iter("p", "figure", "li", "span", "strong", "em")):
        if not _text(element) and element.find(".//img") is None:
            element.drop_tree()
    return re.sub(r"\n\s*\n+", "\n", _markup(root)).strip()


# Written as the items stored so far were (BeautifulSoup's way): attributes in alphabetical
# order, void elements closed ("<br/>"), only &, < and > escaped; so their hashes hold.
_VOID = {"br", "hr", "img"}


def _markup(root: lxml.html.HtmlElement) -> str:
    """The HTML of what `root` holds (not `root` itself), without recursion: any depth."""
    out = [_escaped(root.text)]
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if element is root:
            continue
        tag = str(element.tag)
        if event == "start":
            attributes = "".join(f" {name!s}={_quoted(str(value))}"
                                 for name, value in sorted(element.attrib.items()))
            out.append(f"<{tag}{attributes}/>" if tag in _VOID
                       else f"<{tag}{attributes}>{_escaped(element.text)}")
        else:
            out.append(("" if tag in _VOID else f"</{tag}>") + _escaped(element.tail))
    return "".join(out)


def _escaped(text: str | None) -> str:
    return escape(text, quote=False) if text else ""


def _quoted(value: str) -> str:
    value = escape(value, quote=False)
    if '"' not in value:
        return f'"{value}"'
    return f"'{value}'" if "'" not in value else '"' + value.replace('"', "&quot;") + '"'


def _collapse_blanks(root: lxml.html.HtmlElement) -> None:
    """ASCII whitespace alone between tags becomes one line break (or one space), outside
    <pre>: what indentation leaves in the markup is not content (a no-break space is)."""
    has_pre = root.find(".//pre") is not None
    for element in root.iter():
        in_pre = has_pre and any(ancestor.tag == "pre" for ancestor in element.iterancestors())
        if element.text and not element.text.strip(_BLANKS) and not (
                in_pre or element.tag == "pre"):
            element.text = "\n" if "\n" in element.text else " "
        if element is not root and element.tail and not element.tail.strip(_BLANKS) \
                and not in_pre:
            element.tail = "\n" if "\n" in element.tail else " "


_BLANKS = " \n\t\f\r"


def _text(element: lxml.html.HtmlElement) -> str:
    """The element's words, each piece stripped, joined by spaces (as BeautifulSoup's
    get_text(" ", strip=True))."""
    return " ".join(piece.strip() for piece in element.itertext() if piece.strip())


# Characters XML 1.0 forbids: one of them in a title would make a whole feed unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)


def plain_text(value: str | None) -> str:
    """Text as text: runs of whitespace collapsed, characters XML cannot carry removed. Never
    parsed again as HTML: extraction decoded it once ("&lt;" on a page is the text "<"), and
    every output escapes it once for its format."""
    if not value:
        return ""
    return " ".join(xml_safe(value).split())


def _link(url: str | None, base: str | None, allowed_networks: Networks) -> str | None:
    """The canonical form of a link found on a page, if it may be published."""
    if not url:
        return None
    try:
        return public_link(canonical_url(url, base), allowed_networks)
    except ValueError:  # "http://[x": no URL
        return None


def _image(record: RawRecord, allowed_networks: Networks = ()) -> Image | None:
    if not record.image_url:
        return None
    try:
        url = public_link(urljoin(record.url, record.image_url.strip()), allowed_networks)
    except ValueError:  # "http://[x": no URL
        return None
    if url is None:
        return None  # feeds could not carry it; nor should a page show it
    return Image(url=url, alt=plain_text(record.image_alt),
                 credit=clean_credit(record.image_credit),
                 width=_dimension(record.image_width), height=_dimension(record.image_height))


def _base(page_url: str, item_url: str) -> str:
    """What relative links of a page's content are resolved against: the page's own URL, or the
    item's (its source's page) when the page's is no absolute http(s) URL (a feed entry's id)."""
    try:
        parts = urlsplit(page_url)
    except ValueError:
        return item_url
    return page_url if parts.scheme in ("http", "https") and parts.netloc else item_url


def _language(tag: str | None) -> str:
    """The primary language subtag of a BCP 47 tag ("fr-FR" → "fr"); "fr" for anything else."""
    primary = (tag or "").strip().split("-")[0].split("_")[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else "fr"


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    """First spelling of each value, ignoring case: ("Solidarité", "solidarité") → one tag."""
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value.casefold(), value)
    return tuple(seen.values())


def clean_credit(text: str | None) -> str | None:
    """ "Crédit photo : © Andrea Piacquadio" → "Andrea Piacquadio"."""
    if not text:
        return None
    credit = re.sub(r"^\s*cr[ée]dits?\s*(photos?|images?)?\s*:?\s*", "", plain_text(text),
                    flags=re.IGNORECASE)
    credit = re.sub(r"^(©|\(c\)|copyright)\s*", "", credit, flags=re.IGNORECASE).strip()
    return credit or None


def _dimension(value: str | None) -> int | None:
    digits = re.match(r"\s*(\d{1,5})", value or "")
    return int(digits.group(1)) if digits and int(digits.group(1)) > 0 else None


# --- key figures -----------------------------------------------------------------------------

_SCALES = {"k": 10**3, "millier": 10**3, "milliers": 10**3,
           "m": 10**6, "million": 10**6, "millions": 10**6,
           "md": 10**9, "mds": 10**9, "mrd": 10**9, "mrds": 10**9,
           "milliard": 10**9, "milliards": 10**9}
_UNITS = {"€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "%": "percent"}
_AMOUNT = re.compile(
    r"(?P<sign>[-−–]\s?)?(?P<number>\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:,\d+)?|\d+(?:[,.]\d+)?)\s*"
    r"(?P<scale>milliards?|millions?|milliers?|mrds?|mds?|md|k|m)?(?![a-zé])\s*"
    r"(?:d['’]\s*)?(?P<unit>€|eur(?:os?)?\b|%)?", re.IGNORECASE)


def parse_figure(value_text: str, label: str) -> Figure:
    """ "1,1 Md €" + "pour le pacte rural" → Figure(amount=1100000000, unit="EUR")."""
    value_text, label = plain_text(value_text), plain_text(label)
    amount, unit = parse_amount(value_text)
    return Figure(label=label, value_text=value_text, amount=amount, unit=unit)


def parse_amount(text: str) -> tuple[int | float | None, str | None]:
    """The number a key figure states, scaled, and its unit (EUR, percent, or None for counts)."""
    match = _AMOUNT.search(text)
    if not match:
        return None, None
    try:
        number = Decimal(str(parse_decimal(match["number"].replace(".", ","), locale="fr")))
    except (NumberFormatError, InvalidOperation):
        return None, None
    scale = _SCALES.get((match["scale"] or "").lower(), 1)
    amount = number * scale * (-1 if match["sign"] else 1)
    unit_text = (match["unit"] or "").lower()
    if not unit_text and re.search(r"\beuros?\b|€", text, re.IGNORECASE):
        unit_text = "€"
    value: int | float = int(amount) if amount == amount.to_integral_value() else float(amount)
    return value, _UNITS.get(unit_text)
