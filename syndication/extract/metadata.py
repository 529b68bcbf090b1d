"""Page metadata: schema.org JSON-LD, OpenGraph, <meta>, <link rel="canonical">, and the page
conventions of French public-sector sites (credit lines, <time> elements)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from bs4 import BeautifulSoup, Tag

ARTICLE_TYPES = {"NewsArticle", "Article", "BlogPosting", "Report", "WebPage", "Event",
                 "CollectionPage", "AnalysisNewsArticle", "ReportageNewsArticle"}
CREDIT_LINE = re.compile(r"Cr[ée]dits?\s*(?:photos?|images?)?\s*:\s*©?\s*[^\n]+", re.IGNORECASE)


def extract(soup: BeautifulSoup) -> dict[str, Any]:
    """JSON-LD first (the most structured), then OpenGraph, then plain <meta>, then conventions."""
    found: dict[str, Any] = {}
    for layer in (_json_ld(soup), _opengraph(soup), _meta(soup), _conventions(soup)):
        for key, value in layer.items():
            if value and not found.get(key):
                found[key] = value
    return found


# --- JSON-LD -------------------------------------------------------------------------------


def _json_ld(soup: BeautifulSoup) -> dict[str, Any]:
    for node in _json_ld_nodes(soup):
        types = node.get("@type")
        types = set(types) if isinstance(types, list) else {types}
        if not types & ARTICLE_TYPES:
            continue
        image = _first(node.get("image"))
        image = image if isinstance(image, dict) else {"url": image} if image else {}
        section = node.get("articleSection")
        keywords = node.get("keywords")
        if isinstance(keywords, str):
            keywords = [k for k in keywords.split(",")]
        tags = [*(_as_list(section)), *(_as_list(keywords))]
        return {
            "title": _string(node.get("headline") or node.get("name")),
            "summary": _string(node.get("description")),
            "published": _string(node.get("datePublished") or node.get("startDate")),
            "updated": _string(node.get("dateModified")),
            "image_url": _string(image.get("url") or image.get("contentUrl")),
            "image_width": _string(image.get("width")),
            "image_height": _string(image.get("height")),
            "image_alt": _string(image.get("caption") or image.get("description")),
            "image_credit": _string(image.get("creditText") or _name(image.get("copyrightHolder"))),
            "authors": tuple(a for a in (_name(x) for x in _as_list(node.get("author"))) if a),
            "tags": tuple(dict.fromkeys(t.strip() for t in tags if isinstance(t, str) and
                                        t.strip())),
            "kind": next(iter(types & ARTICLE_TYPES)),
            "canonical_url": _string(node.get("url") or _first(node.get("mainEntityOfPage"))),
            "lang": _string(node.get("inLanguage")),
        }
    return {}


def _json_ld_nodes(soup: BeautifulSoup) -> Iterator[dict[str, Any]]:
    for script in soup.find_all("script", type="application/ld+json"):
        try:
            data = json.loads(script.string or "")
        except ValueError:
            continue  # broken JSON-LD is common; the other layers still apply
        stack = data if isinstance(data, list) else [data]
        for node in stack:
            if isinstance(node, dict):
                yield node
                yield from (n for n in _as_list(node.get("@graph")) if isinstance(n, dict))


# --- OpenGraph and <meta> --------------------------------------------------------------------


def _opengraph(soup: BeautifulSoup) -> dict[str, Any]:
    return {
        "title": _property(soup, "og:title"),
        "summary": _property(soup, "og:description"),
        "image_url": _property(soup, "og:image") or _property(soup, "og:image:url"),
        "image_alt": _property(soup, "og:image:alt"),
        "image_width": _property(soup, "og:image:width"),
        "image_height": _property(soup, "og:image:height"),
        "canonical_url": _canonical(soup) or _property(soup, "og:url"),
        "published": _property(soup, "article:published_time"),
        "updated": _property(soup, "article:modified_time"),
        "tags": tuple(dict.fromkeys(
            [*_properties(soup, "article:section"), *_properties(soup, "article:tag")])),
        "authors": tuple(_properties(soup, "article:author")),
    }


def _meta(soup: BeautifulSoup) -> dict[str, Any]:
    html = soup.find("html")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    site = _property(soup, "og:site_name")
    if title and site:  # "Plan vélo | Région Île-de-France" → "Plan vélo"
        title = re.sub(rf"\s*[|\-–—]\s*{re.escape(site)}\s*$", "", title)
    return {
        "title": title,
        "summary": _name_meta(soup, "description"),
        "authors": tuple(a for a in [_name_meta(soup, "author")] if a),
        "lang": html.get("lang") if isinstance(html, Tag) else None,
    }


def _conventions(soup: BeautifulSoup) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for element in soup.find_all(["figcaption", "p", "span", "div", "small"]):
        text = element.get_text(" ", strip=True)
        if len(text) < 200 and CREDIT_LINE.fullmatch(text):
            found["image_credit"] = text
            break
    time = soup.find("time", datetime=True)
    if isinstance(time, Tag):
        found["published"] = str(time["datetime"])
    return found


def _canonical(soup: BeautifulSoup) -> str | None:
    for link in soup.find_all("link", href=True):
        rel = link.get("rel") or []
        if "canonical" in rel:
            return _string(link["href"])
    return None


def _property(soup: BeautifulSoup, name: str) -> str | None:
    values = _properties(soup, name)
    return values[0] if values else None


def _properties(soup: BeautifulSoup, name: str) -> list[str]:
    # OpenGraph says property=, but many sites write name=.
    elements = soup.find_all("meta", attrs={"property": name}) or soup.find_all(
        "meta", attrs={"name": name})
    return [v for v in (_string(e.get("content")) for e in elements) if v]


def _name_meta(soup: BeautifulSoup, name: str) -> str | None:
    element = soup.find("meta", attrs={"name": name})
    return _string(element.get("content")) if isinstance(element, Tag) else None


# --- small JSON-LD value helpers -------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first(value: Any) -> Any:
    values = _as_list(value)
    return values[0] if values else None


def _name(value: Any) -> str | None:
    if isinstance(value, dict):
        return _string(value.get("name"))
    return _string(value)


def _string(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return _string(value.get("@id") or value.get("url"))
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None
