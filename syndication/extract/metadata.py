"""Page metadata: schema.org JSON-LD, OpenGraph, <meta>, <link rel="canonical">, and the page
conventions of French public-sector sites (credit lines, <time> elements)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

from .jsontext import load_json
from .tree import Node, first, text

ARTICLE_TYPES = {"NewsArticle", "Article", "BlogPosting", "Report", "WebPage", "Event",
                 "CollectionPage", "AnalysisNewsArticle", "ReportageNewsArticle"}
CREDIT_LINE = re.compile(r"Cr[ée]dits?\s*(?:photos?|images?)?\s*:\s*©?\s*[^\n]+", re.IGNORECASE)


def extract(page: Node) -> dict[str, Any]:
    """JSON-LD first (the most structured), then OpenGraph, then plain <meta>, then conventions."""
    found: dict[str, Any] = {}
    for layer in (_json_ld(page), _opengraph(page), _meta(page), _conventions(page)):
        for key, value in layer.items():
            if value and not found.get(key):
                found[key] = value
    return found


# --- JSON-LD -------------------------------------------------------------------------------


def _json_ld(page: Node) -> dict[str, Any]:
    for node in _json_ld_nodes(page):
        # The first article type in the document's order (a set's order changes from one
        # process to the next, and with it the item's kind and content hash).
        kind = next((t for t in _as_list(node.get("@type"))
                     if isinstance(t, str) and t in ARTICLE_TYPES), None)
        if kind is None:
            continue
        image = _first(node.get("image"), (str, dict))
        image = image if isinstance(image, dict) else {"url": image} if image else {}
        section = node.get("articleSection")
        keywords = node.get("keywords")
        if isinstance(keywords, str):
            keywords = [k for k in keywords.split(",")]
        tags = [*(_as_list(section)), *(_as_list(keywords))]
        return {
            "title": _string(node.get("headline") or node.get("name")),
            "summary": _string(node.get("description")),
            # an event's startDate is when it takes place, not when it was published
            "published": _string(node.get("datePublished")),
            "updated": _string(node.get("dateModified")),
            "image_url": _url(image.get("url") or image.get("contentUrl")),
            "image_width": _string(image.get("width")),
            "image_height": _string(image.get("height")),
            "image_alt": _string(image.get("caption") or image.get("description")),
            "image_credit": _text(image.get("creditText") or _name(image.get("copyrightHolder"))),
            "authors": tuple(a for a in (_name(x) for x in _as_list(node.get("author"))) if a),
            "tags": tuple(dict.fromkeys(t.strip() for t in tags if isinstance(t, str) and
                                        t.strip())),
            "kind": kind,
            "canonical_url": _url(node.get("url") or _first(node.get("mainEntityOfPage"),
                                                            (str, dict))),
            "lang": _text(node.get("inLanguage")),
        }
    return {}


_JSON_LD_SCRIPTS = etree.XPath("//script[@type='application/ld+json']")


def _json_ld_nodes(page: Node) -> Iterator[dict[str, Any]]:
    for script in _JSON_LD_SCRIPTS(page):
        try:
            data = load_json(script.text or "")
        except ValueError:  # broken JSON-LD is common, nested too deeply is hostile: either
            continue  # way it is read as none, and the other layers still apply
        stack = data if isinstance(data, list) else [data]
        for node in stack:
            if isinstance(node, dict):
                yield node
                yield from (n for n in _as_list(node.get("@graph")) if isinstance(n, dict))


# --- OpenGraph and <meta> --------------------------------------------------------------------


def _opengraph(page: Node) -> dict[str, Any]:
    return {
        "title": _property(page, "og:title"),
        "summary": _property(page, "og:description"),
        "image_url": _property(page, "og:image") or _property(page, "og:image:url"),
        "image_alt": _property(page, "og:image:alt"),
        "image_width": _property(page, "og:image:width"),
        "image_height": _property(page, "og:image:height"),
        "canonical_url": _canonical(page) or _property(page, "og:url"),
        "published": _property(page, "article:published_time"),
        "updated": _property(page, "article:modified_time"),
        "tags": tuple(dict.fromkeys(
            [*_properties(page, "article:section"), *_properties(page, "article:tag")])),
        "authors": tuple(_properties(page, "article:author")),
    }


def _meta(page: Node) -> dict[str, Any]:
    title_element = first(page, "//title")
    title = text(title_element) or None if title_element is not None else None
    site = _property(page, "og:site_name")
    if title and site:  # "Plan vélo | Région Île-de-France" → "Plan vélo"
        title = re.sub(rf"\s*[|\-–—]\s*{re.escape(site)}\s*$", "", title)
    return {
        "title": title,
        "summary": _name_meta(page, "description"),
        "authors": tuple(a for a in [_name_meta(page, "author")] if a),
        "lang": page.get("lang") if page.tag == "html" else None,
    }


_CONVENTION_ELEMENTS = ("figcaption", "p", "span", "div", "small")


def _conventions(page: Node) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for element in page.iter(*_CONVENTION_ELEMENTS):
        line = text(element)
        if len(line) < 200 and CREDIT_LINE.fullmatch(line):
            found["image_credit"] = line
            break
    time = first(page, "//time[@datetime]")
    if time is not None:
        found["published"] = str(time.get("datetime"))
    return found


def _canonical(page: Node) -> str | None:
    for link in page.xpath("//link[@href]"):
        if "canonical" in (link.get("rel") or "").split():
            return _string(link.get("href"))
    return None


def _property(page: Node, name: str) -> str | None:
    values = _properties(page, name)
    return values[0] if values else None


# OpenGraph says property=, but many sites write name=.
_BY_PROPERTY = etree.XPath("//meta[@property=$name]")
_BY_NAME = etree.XPath("//meta[@name=$name]")


def _properties(page: Node, name: str) -> list[str]:
    elements = _BY_PROPERTY(page, name=name) or _BY_NAME(page, name=name)
    return [v for v in (_string(e.get("content")) for e in elements) if v]


def _name_meta(page: Node, name: str) -> str | None:
    elements = _BY_NAME(page, name=name)
    return _string(elements[0].get("content")) if elements else None


# --- small JSON-LD value helpers -------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first(value: Any, kinds: tuple[type, ...] = (object,)) -> Any:
    """The first of the values that is one of `kinds` ("image": [1, "x.jpg"] → "x.jpg")."""
    return next((v for v in _as_list(value) if isinstance(v, kinds)), None)


def _name(value: Any) -> str | None:
    """A person's or organisation's name: text, or an object's "name" (never a number)."""
    if isinstance(value, dict):
        value = value.get("name")
    return _text(value)


def _url(value: Any) -> str | None:
    """A URL: text, or an object's "@id" or "url" as text; a number or a list is no URL."""
    if isinstance(value, dict):
        value = value.get("@id") or value.get("url")
    return _text(value)


def _text(value: Any) -> str | None:
    """Text with its runs of whitespace collapsed; None for anything else, or only blanks."""
    return (" ".join(value.split()) or None) if isinstance(value, str) else None


def _string(value: Any) -> str | None:
    """Text, or a number written out (a width, a date as digits)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return _url(value)
    return _text(value)
