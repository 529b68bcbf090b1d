"""Extract: an HTML page → a RawRecord (what the page says), its links to follow and its next page.

Each field comes from the first place that has it, in this order:
1. the CSS selectors configured for the source (`selectors.py`);
2. page metadata: schema.org JSON-LD, OpenGraph, <meta>, <link rel=canonical> (`metadata.py`);
3. page conventions: credit lines ("Crédit photo : © …"), <time> elements (`metadata.py`);
   an event's dates, place and registration (`events.py`: schema.org Event, French phrases);
4. a general article extractor, trafilatura, for body and date only (`article.py`).
The page is parsed once, and every layer reads that one tree (`tree.py`).
Extractors know HTML, not HTTP and not Redis.

Entry point: `extract_page(html, url, source)`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urljoin

from ..model import RawRecord, Source
from . import article, events, metadata, selectors
from .tree import Node, first, parse, select


@dataclass(frozen=True, slots=True)
class Extraction:
    record: RawRecord | None  # None for a listing page, which is not an item itself
    links: tuple[str, ...]  # absolute URLs of detail pages to follow, in page order
    next_page: str | None  # absolute URL of the listing's next page


def extract_page(html: str, url: str, source: Source) -> Extraction:
    """Find the item a page holds (unless the source says it is a listing) and its links."""
    page = parse(html)
    links = _links(page, url, source.follow) if source.follow else ()
    next_links = _links(page, url, source.paginate) if source.paginate else ()
    record = None if source.listing else _record(page, url, source)
    return Extraction(record=record, links=links, next_page=next_links[0] if next_links else None)


def _record(page: Node, url: str, source: Source) -> RawRecord:
    found: dict[str, Any] = {}
    for layer in (selectors.extract(page, source.selectors), metadata.extract(page),
                  events.extract(page)):
        _fill(found, layer)
    if not found.get("content_html") or not found.get("published"):
        guessed = article.extract(page, url, content=not found.get("content_html"),
                                  date=not found.get("published"))
        # With no publication date on a page, htmldate offers its modification date instead:
        # that is not when the page was published (the item then falls back to first_seen).
        if str(found.get("updated", "")).startswith(guessed.get("published") or "\0"):
            guessed.pop("published")
        _fill(found, guessed)
    names = {f.name for f in fields(RawRecord)}
    return RawRecord(url=url, **{k: v for k, v in found.items() if k in names and k != "url"})


def _fill(found: dict[str, Any], layer: dict[str, Any]) -> None:
    """Keep what earlier (more specific) layers found; take the rest from this one."""
    for key, value in layer.items():
        if value and not found.get(key):
            found[key] = value


def _links(page: Node, url: str, selector: str) -> tuple[str, ...]:
    base = _base_url(page, url)
    seen: dict[str, None] = {}
    for element in select(page, selector):
        anchor = element if element.tag == "a" else first(element, "descendant::a")
        href = anchor.get("href") if anchor is not None else None
        if isinstance(href, str) and href.strip() and not href.startswith(("#", "javascript:",
                                                                           "mailto:")):
            try:
                seen.setdefault(urljoin(base, href.strip()), None)
            except ValueError:  # no URL ("http://[…"): nothing to follow
                continue
    return tuple(seen)


def _base_url(page: Node, url: str) -> str:
    base = first(page, "descendant::base[@href]")
    href = base.get("href") if base is not None else None
    try:
        return urljoin(url, href) if isinstance(href, str) else url
    except ValueError:  # a <base> that is no URL is ignored, as browsers do
        return url
