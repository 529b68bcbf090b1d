"""The last resort: trafilatura's general article extractor, for the body and the date."""

from __future__ import annotations

import copy
import logging
from typing import Any

import lxml.html
import trafilatura

from .tree import Node, first, inner_html

# trafilatura reports pages it finds too short at WARNING; for us that is a normal "not found".
logging.getLogger("trafilatura").setLevel(logging.ERROR)


def extract(page: Node, url: str, *, content: bool, date: bool) -> dict[str, Any]:
    """Body HTML and/or publication date, as asked: each costs milliseconds, so only on demand.
    trafilatura reads the page's tree as it is, no second parse; it prunes what it reads, so it
    gets a copy (copying a tree costs a fraction of parsing it)."""
    found: dict[str, Any] = {}
    body = None
    if content:
        body = trafilatura.extract(copy.deepcopy(page), url=url, output_format="html",
                                   include_images=True, include_links=True, include_tables=True,
                                   favor_precision=True)
    if body:
        container = lxml.html.fragment_fromstring(body, create_parent="div")
        inner = first(container, "descendant::body")  # trafilatura writes a whole document
        root = container if inner is None else inner
        heading = first(root, "descendant::h1")
        if heading is not None:  # the title is already the item's title
            heading.drop_tree()
        found["content_html"] = inner_html(root).strip() or None
    document = (trafilatura.extract_metadata(copy.deepcopy(page), default_url=url)
                if date else None)
    if document is not None and document.date:
        found["published"] = document.date
    return found
