"""The source's configured CSS selectors: the most specific layer of extraction."""

from __future__ import annotations

import copy
from typing import Any

from bs4 import BeautifulSoup, Tag

from ..model import Selectors

LAZY_SOURCE_ATTRIBUTES = ("data-src", "data-lazy-src", "data-original")


def extract(soup: BeautifulSoup, config: Selectors) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if config.title:
        found["title"] = _text(soup.select_one(config.title))
    if config.summary:
        found["summary"] = _text(soup.select_one(config.summary))
    if config.content:
        found["content_html"] = content_html(soup.select_one(config.content), config.exclude)
    if config.published:
        found["published"] = _date_text(soup.select_one(config.published))
    if config.updated:
        found["updated"] = _date_text(soup.select_one(config.updated))
    if config.image:
        found.update(image_fields(soup.select_one(config.image)))
    if config.image_credit:
        found["image_credit"] = _text(soup.select_one(config.image_credit))
    if config.figures:
        found["figures"] = tuple(_figure(element, config)
                                 for element in soup.select(config.figures))
    if config.tags:
        found["tags"] = _texts(soup.select(config.tags))
    if config.kind:
        found["kind"] = _text(soup.select_one(config.kind))
    if config.authors:
        found["authors"] = _texts(soup.select(config.authors))
    return found


def content_html(element: Tag | None, exclude: tuple[str, ...] = ()) -> str | None:
    """The inner HTML of the content element, without excluded parts, lazy images resolved.
    Sanitising happens later, in normalise, for every layer alike."""
    if element is None:
        return None
    element = copy.copy(element)
    for selector in exclude:
        for unwanted in element.select(selector):
            unwanted.decompose()
    for image in element.find_all("img"):
        lazy = next((image[a] for a in LAZY_SOURCE_ATTRIBUTES if image.get(a)), None)
        if lazy:
            image["src"] = lazy
    return element.decode_contents().strip() or None


def image_fields(element: Tag | None) -> dict[str, Any]:
    """src (or its lazy-loading stand-in), alt, width and height of an <img> at or under element."""
    if element is None:
        return {}
    image = element if element.name == "img" else element.find("img")
    if not isinstance(image, Tag):
        return {}
    src = next((image.get(a) for a in LAZY_SOURCE_ATTRIBUTES if image.get(a)), None)
    src = src or image.get("src")
    if not isinstance(src, str) or src.startswith("data:"):
        return {}
    return {"image_url": src.strip(), "image_alt": image.get("alt"),
            "image_width": image.get("width"), "image_height": image.get("height")}


def _figure(element: Tag, config: Selectors) -> tuple[str, str]:
    value = element.select_one(config.figure_value) if config.figure_value else None
    label = element.select_one(config.figure_label) if config.figure_label else None
    if value is None:  # without sub-selectors: first child is the value, the rest the label
        children = [child for child in element.children if isinstance(child, Tag)]
        value = children[0] if children else None
    value_text = _text(value) or ""
    label_text = _text(label) if label is not None else (
        _text(element) or "").replace(value_text, "", 1).strip()
    return value_text, label_text or ""


def _date_text(element: Tag | None) -> str | None:
    if element is None:
        return None
    machine = element.get("datetime") or element.get("content")
    if isinstance(machine, str) and machine.strip():
        return machine.strip()
    time = element.find("time", datetime=True)
    if isinstance(time, Tag):
        return str(time["datetime"]).strip()
    return _text(element)


def _text(element: Tag | None) -> str | None:
    if element is None:
        return None
    return " ".join(element.get_text(" ", strip=True).split()) or None


def _texts(elements: list[Tag]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for t in (_text(e) for e in elements) if t))
