"""The last resort: trafilatura's general article extractor, for the body and the date."""

from __future__ import annotations

import logging
from typing import Any

import trafilatura
from bs4 import BeautifulSoup

# trafilatura reports pages it finds too short at WARNING; for us that is a normal "not found".
logging.getLogger("trafilatura").setLevel(logging.ERROR)


def extract(html: str, url: str, *, content: bool, date: bool) -> dict[str, Any]:
    """Body HTML and/or publication date, as asked: each costs milliseconds, so only on demand."""
    found: dict[str, Any] = {}
    body = None
    if content:
        body = trafilatura.extract(html, url=url, output_format="html", include_images=True,
                                   include_links=True, include_tables=True, favor_precision=True)
    if body:
        soup = BeautifulSoup(body, "lxml")
        container = soup.body or soup
        heading = container.find("h1")
        if heading is not None:  # the title is already the item's title
            heading.decompose()
        found["content_html"] = container.decode_contents().strip() or None
    document = trafilatura.extract_metadata(html, default_url=url) if date else None
    if document is not None and document.date:
        found["published"] = document.date
    return found
