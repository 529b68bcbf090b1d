"""Extract from feeds and sitemaps: bytes → RawRecords (feed entries) or URLs with their lastmod.

RSS 0.9x/1.0/2.0 and Atom are read by feedparser, JSON Feed (1.0, 1.1) by hand, sitemaps and
sitemap indexes (sitemaps.org) by lxml, as a stream. XML that declares entities is refused before
any parser sees it: entity expansion ("billion laughs") and external entities are attacks, and no
feed or sitemap needs a DTD. The parsers are configured safely besides (feedparser never fetches
external entities; lxml runs with resolve_entities=False, no_network=True, huge_tree=False). A
JSON Feed nested more deeply than jsontext.MAX_DEPTH is refused as malformed. One entry that
raises while it is read is skipped (FeedEntries.skipped); the others are read all the same.
"""

from __future__ import annotations

import calendar
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.html
from lxml import etree

from ..errors import MalformedFeed
from ..model import RawRecord
from .jsontext import load_json
from .tree import without_control

_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
JSON_TYPES = ("application/feed+json", "application/json")


def refuse_entities(url: str, body: bytes) -> None:
    """Raise MalformedFeed when an XML document declares entities (in any encoding we read)."""
    head = body.replace(b"\x00", b"")  # UTF-16 spelled out as bytes
    if _ENTITY_DECLARATION.search(head):
        raise MalformedFeed(url, "XML entity declarations are refused (entity expansion attack?)")


@dataclass(frozen=True, slots=True)
class FeedEntries:
    """A feed's entries, in feed order: each one read, or skipped with what it raised."""

    records: list[RawRecord]
    skipped: list[SkippedEntry]
    home: str | None = None  # the site the feed names as its own (<link>, home_page_url), if any


@dataclass(frozen=True, slots=True)
class SkippedEntry:
    """An entry that raised while it was read: the others are read all the same."""

    link: str | None  # the entry's link (absolute when it could be made so), if it has one
    where: str  # the link, its id, or its position in the feed: what a warning names
    error: Exception


def parse_feed(body: bytes, media_type: str, url: str) -> FeedEntries:
    """Each entry of an RSS, Atom or JSON Feed as a RawRecord, in feed order. The feed that
    cannot be read raises MalformedFeed; one entry that cannot be read is only skipped."""
    if media_type in JSON_TYPES or body.lstrip()[:1] == b"{":
        return _parse_json_feed(body, url)
    refuse_entities(url, body)
    try:
        parsed = feedparser.parse(_repair_references(body), resolve_relative_uris=False,
                                  sanitize_html=False, response_headers={
                                      "content-location": url,
                                      "content-type": media_type or "application/xml"})
    except (ValueError, OverflowError, UnicodeError) as error:  # feedparser's own limits
        raise MalformedFeed(url, f"not a readable feed: {error}") from None
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS or Atom document found"
        raise MalformedFeed(url, f"not a readable feed: {reason}")
    base = _base(url, parsed.feed.get("link"))
    return _each_entry(parsed.entries, url, base, lambda entry: _feed_entry(entry, base))


def _base(url: str, link: Any) -> str:
    """What an entry's relative link is resolved against: the page the feed names, if that
    is an http(s) URL (not "javascript:…"), else the feed's own URL."""
    try:
        base = urljoin(url, link) if isinstance(link, str) and link.strip() else url
    except ValueError:  # "http://[x"
        return url
    return base if urlsplit(base).scheme in ("http", "https") else url


_REFERENCE = rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}))"
# One numeric character reference, and the one right after it (a UTF-16 surrogate pair); a
# reference of more digits is out of range and matched alone.
_REFERENCES = re.compile(_REFERENCE + rb";(?:" + _REFERENCE + rb";)?|&#[xX]?[0-9a-fA-F]+;")


def _repair_references(body: bytes) -> bytes:
    """Numeric character references no character answers, which feedparser's lenient parser
    raises on (chr(0xD800), chr(10**12)), rewritten as a browser reads them: a pair of UTF-16
    surrogates (what some CMSs write for an emoji) as the character it stands for, anything
    else as U+FFFD. Only in encodings where "&#" is ASCII; others are left to feedparser."""
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body[:4] or b"&#" not in body:
        return body
    return _REFERENCES.sub(_repaired, body)


def _repaired(match: re.Match[bytes]) -> bytes:
    first_hex, first_decimal, second_hex, second_decimal = match.groups()
    if first_hex is None and first_decimal is None:  # too many digits
        return b"&#xFFFD;"
    first = int(first_hex, 16) if first_hex else int(first_decimal)
    if second_hex is None and second_decimal is None:
        return match[0] if _valid(first) else b"&#xFFFD;"
    second = int(second_hex, 16) if second_hex else int(second_decimal)
    if 0xD800 <= first <= 0xDBFF and 0xDC00 <= second <= 0xDFFF:
        return b"&#x%X;" % (0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
    if _valid(first) and _valid(second):
        return match[0]
    return b"".join(b"&#x%X;" % code if _valid(code) else b"&#xFFFD;" for code in (first, second))


def _valid(code: int) -> bool:
    """Whether a character answers this code point (XML's NUL and surrogates do not)."""
    return 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF


def _each_entry(entries: list[Any], url: str, base: str,
                read: Callable[[Any], RawRecord | None]) -> FeedEntries:
    """`read` applied to each entry; what one entry raises skips that entry alone."""
    found = FeedEntries([], [], home=base if base != url else None)
    for position, entry in enumerate(entries, 1):
        try:
            record = read(entry)
        except Exception as error:  # noqa: BLE001 - one hostile entry must not lose the others
            link = _entry_field(entry, "link") or _entry_field(entry, "url")
            try:
                link = urljoin(base, link) if link else None
            except ValueError:  # the link itself is what cannot be read
                pass
            where = link or _entry_field(entry, "id") or f"entry {position} of {url}"
            found.skipped.append(SkippedEntry(link, where, error))
            continue
        if record is not None:
            found.records.append(record)
    return found


def _entry_field(entry: Any, name: str) -> str | None:
    """A field of an entry that failed to be read, if it is a plain string."""
    try:
        value = entry.get(name) if isinstance(entry, dict) else None
    except Exception:  # noqa: BLE001 - feedparser's dict computes some keys
        return None
    return (value.strip() or None) if isinstance(value, str) else None


def _feed_entry(entry: Any, base: str) -> RawRecord:
    link = entry.get("link") or ""
    link = urljoin(base, link) if link else ""
    content = entry.get("content") or []
    html = next((c.get("value") for c in content if "html" in (c.get("type") or "html")), None)
    summary = entry.get("summary")
    # An entry without a summary gets a copy of its content from feedparser, with no
    # summary_detail: it is of the content's type (markup, most often), read once as such.
    detail = entry.get("summary_detail") or (content[0] if content else None)
    summary_text = _as_text(summary, detail)
    image_url, image_alt = _entry_image(entry)
    authors = tuple(a.get("name") for a in entry.get("authors") or [] if a.get("name"))
    if not authors and entry.get("author"):
        authors = (entry["author"],)
    tags = tuple(t.get("term") for t in entry.get("tags") or [] if t.get("term"))
    return RawRecord(
        url=link or entry.get("id") or base,
        canonical_url=link or None,
        title=_as_text(entry.get("title"), entry.get("title_detail")),
        summary=summary_text,
        content_html=html or (summary if _is_html(detail) else _paragraph(summary_text)),
        published=_struct_date(entry.get("published_parsed")) or entry.get("published"),
        # dict.get: feedparser's own get maps a missing `updated` to `published`, with a warning.
        updated=(_struct_date(dict.get(entry, "updated_parsed"))
                 or dict.get(entry, "updated")),
        image_url=urljoin(base, image_url) if image_url else None,
        image_alt=image_alt,
        tags=tags,
        authors=authors,
    )


def _entry_image(entry: Any) -> tuple[str | None, str | None]:
    for media in entry.get("media_content") or []:
        if media.get("url") and (media.get("medium") == "image"
                                 or (media.get("type") or "image/").startswith("image/")):
            return media["url"], None
    for enclosure in entry.get("enclosures") or []:
        if (enclosure.get("type") or "").startswith("image/") and enclosure.get("href"):
            return enclosure["href"], None
    for thumbnail in entry.get("media_thumbnail") or []:
        if thumbnail.get("url"):
            return thumbnail["url"], None
    return None, None


def _struct_date(value: Any) -> str | None:
    """feedparser's dates are time.struct_time in UTC: an aware ISO 8601 string."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC).isoformat()
    except (OverflowError, ValueError, TypeError):
        return None


def _is_html(detail: Any) -> bool:
    """Whether feedparser found a field to be markup (Atom type="html" or "xhtml", or an RSS
    field that holds tags)."""
    return bool(detail) and detail.get("type") in ("text/html", "application/xhtml+xml")


def _as_text(value: str | None, detail: Any) -> str | None:
    """A feed field as text: markup is read once, as a browser would show it; plain text stays
    exactly as written ("<enfin>" in a text title is the text "<enfin>")."""
    if not value or not _is_html(detail):
        return value
    return _html_text(value)


def _html_text(markup: str) -> str:
    """Markup as a browser shows it: its text, scripts, styles and templates left out."""
    try:
        fragment = lxml.html.fragment_fromstring(without_control(markup), create_parent="div")
    except etree.ParserError:  # nothing but blanks
        return ""
    for hidden in fragment.xpath(".//script | .//style | .//template"):
        hidden.drop_tree()
    return fragment.text_content()


def _paragraph(text: str | None) -> str | None:
    """Plain text as HTML content: escaped, never read as markup."""
    return f"<p>{escape(text)}</p>" if text else None


def _parse_json_feed(body: bytes, url: str) -> FeedEntries:
    try:
        data = load_json(body)  # at most MAX_DEPTH levels deep: TooDeep otherwise
    except ValueError as error:  # UnicodeDecodeError and TooDeep among them
        raise MalformedFeed(url, f"not a readable JSON Feed: {error}") from None
    if (not isinstance(data, dict) or not str(data.get("version", "")).startswith(
            "https://jsonfeed.org/version/") or not isinstance(data.get("items"), list)):
        raise MalformedFeed(url, "not a JSON Feed (no jsonfeed.org version or no items list)")
    base = _base(url, _string(data.get("home_page_url")))
    lang = _string(data.get("language"))
    return _each_entry(data["items"], url, base, lambda item: _json_item(item, base, url, lang))


def _json_item(item: Any, base: str, url: str, lang: str | None) -> RawRecord | None:
    if not isinstance(item, dict):
        return None
    link = _string(item.get("url")) or _string(item.get("external_url"))
    link = urljoin(base, link) if link else None
    authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
    image = _string(item.get("image")) or _string(item.get("banner_image"))
    text = _string(item.get("content_text"))
    return RawRecord(
        url=link or _string(item.get("id")) or url,
        canonical_url=link,
        title=_string(item.get("title")),
        summary=_string(item.get("summary")) or text,
        content_html=_string(item.get("content_html")) or _paragraph(text),
        published=_string(item.get("date_published")),
        updated=_string(item.get("date_modified")),
        image_url=urljoin(base, image) if image else None,
        tags=tuple(t for t in item.get("tags") or [] if isinstance(t, str)),
        authors=tuple(a["name"] for a in authors
                      if isinstance(a, dict) and isinstance(a.get("name"), str)),
        lang=_string(item.get("language")) or lang,
    )


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True, slots=True)
class Sitemap:
    urls: tuple[tuple[str, str | None], ...]  # (absolute page URL, lastmod as written)
    children: tuple[str, ...]  # a sitemap index: the sitemaps it lists
    truncated: bool = False  # more than max_urls entries: the rest was not read


def parse_sitemap(body: bytes, url: str, max_urls: int) -> Sitemap:
    """A sitemap's <url> entries (at most max_urls) or a sitemap index's <sitemap> entries.

    Read as a stream, each entry dropped once read, and no further than max_urls entries: a
    sitemap of a hundred thousand URLs costs the entries kept, not a tree of them all."""
    refuse_entities(url, body)
    entries: list[tuple[str, str | None]] = []
    truncated, root_name, depth = False, "", 0
    try:
        for event, element in etree.iterparse(
                io.BytesIO(body), events=("start", "end"), resolve_entities=False,
                no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False,
                recover=False):
            if not isinstance(element.tag, str):  # a comment or a processing instruction
                continue
            if event == "start":
                depth += 1
                if depth == 1:
                    root_name = etree.QName(element).localname
                    if root_name not in ("urlset", "sitemapindex"):
                        raise MalformedFeed(url, f"not a sitemap: root element <{root_name}>")
                continue
            depth -= 1
            if depth != 1 or etree.QName(element).localname not in ("url", "sitemap"):
                continue
            if len(entries) >= max_urls:
                truncated = True
                break
            loc = _child_text(element, "loc")
            if loc:
                entries.append((_joined(url, loc), _child_text(element, "lastmod")))
            element.clear()  # this entry, and the ones before it, are read: let them go
            parent = element.getparent()
            while parent is not None and len(parent) > 1:
                del parent[0]
    except etree.XMLSyntaxError as error:
        raise MalformedFeed(url, f"not a readable sitemap: {error}") from None
    if not root_name:
        raise MalformedFeed(url, "not a readable sitemap: no root element")
    if root_name == "sitemapindex":
        return Sitemap(urls=(), children=tuple(loc for loc, _ in entries), truncated=truncated)
    return Sitemap(urls=tuple(entries), children=(), truncated=truncated)


def _joined(url: str, loc: str) -> str:
    """The entry's absolute URL; one that is no URL ("http://[…") as written, for the harvester
    to skip with a warning: the other entries are read all the same."""
    try:
        return urljoin(url, loc)
    except ValueError:
        return loc


def _child_text(element: Any, name: str) -> str | None:
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            text = (child.text or "").strip()
            return text or None
    return None
