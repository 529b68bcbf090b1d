"""The source's configured CSS selectors: the most specific layer of extraction."""

from __future__ import annotations

import copy
from typing import Any

from ..model import Selectors
from .tree import Node, first, inner_html, select, select_one, text

LAZY_SOURCE_ATTRIBUTES = ("data-src", "data-lazy-src", "data-original")


def extract(page: Node, config: Selectors) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if config.title:
        found["title"] = _text(select_one(page, config.title))
    if config.summary:
        found["summary"] = _text(select_one(page, config.summary))
    if config.content:
        found["content_html"] = content_html(select_one(page, config.content), config.exclude)
    if config.published:
        found["published"] = _date_text(select_one(page, config.published))
    if config.updated:
        found["updated"] = _date_text(select_one(page, config.updated))
    if config.image:
        found.update(image_fields(select_one(page, config.image)))
    if config.image_credit:
        found["image_credit"] = _text(select_one(page, config.image_credit))
    if config.figures:
        found["figures"] = tuple(_figure(element, config)
                                 for element in select(page, config.figures))
    if config.tags:
        found["tags"] = _texts(select(page, config.tags))
    if config.kind:
        found["kind"] = _text(select_one(page, config.kind))
    if config.authors:
        found["authors"] = _texts(select(page, config.authors))
    return found


def content_html(element: Node | None, exclude: tuple[str, ...] = ()) -> str | None:
    """The inner HTML of the content element, without excluded parts, lazy images resolved.
    Sanitising happens later, in normalise, for every layer alike."""
    if element is None:
        return None
    element = copy.deepcopy(element)  # the page's tree stays whole for the other layers
    for selector in exclude:
        for unwanted in select(element, selector):
            unwanted.drop_tree()  # its tail, the text after it, stays
    for image in element.iter("img"):
        lazy = next((image.get(a) for a in LAZY_SOURCE_ATTRIBUTES if image.get(a)), None)
        if lazy:
            image.set("src", lazy)
    return inner_html(element).strip() or None


def image_fields(element: Node | None) -> dict[str, Any]:
    """src (or its lazy-loading stand-in), alt, width and height of an <img> at or under element."""
    if element is None:
        return {}
    image = element if element.tag == "img" else first(element, "descendant::img")
    if image is None:
        return {}
    src = next((image.get(a) for a in LAZY_SOURCE_ATTRIBUTES if image.get(a)), None)
    src = src or image.get("src")
    if not isinstance(src, str) or src.startswith("data:"):
        return {}
    return {"image_url": src.strip(), "image_alt": image.get("alt"),
            "image_width": image.get("width"), "image_height": image.get("height")}


def _figure(element: Node, config: Selectors) -> tuple[str, str]:
    value = select_one(element, config.figure_value) if config.figure_value else None
    label = select_one(element, config.figure_label) if config.figure_label else None
    if value is None:  # without sub-selectors: first child is the value, the rest the label
        children = [child for child in element if isinstance(child.tag, str)]
        value = children[0] if children else None
    value_text = _text(value) or ""
    label_text = _text(label) if label is not None else (
        _text(element) or "").replace(value_text, "", 1).strip()
    return value_text, label_text or ""


def _date_text(element: Node | None) -> str | None:
    if element is None:
        return None
    machine = element.get("datetime") or element.get("content")
    if isinstance(machine, str) and machine.strip():
        return machine.strip()
    time = first(element, "descendant::time[@datetime]")
    if time is not None:
        return str(time.get("datetime")).strip()
    return _text(element)


def _text(element: Node | None) -> str | None:
    if element is None:
        return None
    return " ".join(text(element).split()) or None


def _texts(elements: list[Node]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for t in (_text(e) for e in elements) if t))
