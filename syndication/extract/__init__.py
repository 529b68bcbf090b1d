"""Extract: an HTML page → a RawRecord (what the page says), its links to follow and its next page.

Every layer offers candidates for each field (`metadata.candidates`):
1. the CSS selectors configured for the source (`selectors.py`), which always win;
2. page metadata: schema.org JSON-LD by type, OpenGraph, Twitter cards, microdata, <meta>,
   <title>, <link rel=canonical> (`metadata.py`);
3. page conventions: <h1>, "Publié le" / "Mis à jour le", the <time> by the title, credit lines
   (`conventions.py`), key figures (`figures.py`);
4. general extractors, run only for what the others did not give: trafilatura for the body,
   htmldate for the publication date (`article.py`).
`choose.py` arbitrates between them, field by field, and says why (`explain_page`, which
`syndication preview` shows). The page is parsed once, and every layer reads that one tree
(`tree.py`). Extractors know HTML, not HTTP and not Redis.

Entry points: `extract_page(html, url, source)`, `explain_page(html, url, source)`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urljoin

from ..dates import parse_date
from ..model import ItemKind, RawRecord, Source
from . import article, conventions, events, figures, metadata, selectors
from .choose import Choice, choose, title_from_url
from .metadata import Candidates
from .tree import Node, base_url, first, parse, select

log = logging.getLogger(__name__)
_RECORD_FIELDS = {f.name for f in fields(RawRecord)} - {"url"}


@dataclass(frozen=True, slots=True)
class Extraction:
    record: RawRecord | None  # None for a listing page, which is not an item itself
    links: tuple[str, ...]  # absolute URLs of detail pages to follow, in page order
    next_page: str | None  # absolute URL of the listing's next page
    # What each layer offered, by field, and what was chosen and why (`syndication preview`).
    candidates: Candidates | None = None
    choices: dict[str, Choice] | None = None


def extract_page(html: str, url: str, source: Source) -> Extraction:
    """Find the item a page holds (unless the source says it is a listing) and its links."""
    page = parse(html)
    links = _links(page, url, source.follow) if source.follow else ()
    next_links = _links(page, url, source.paginate) if source.paginate else ()
    found, chosen = (None, None) if source.listing else _arbitrate(page, url, source)
    record = None if chosen is None else RawRecord(url=url, **{
        field: choice.value for field, choice in chosen.items() if field in _RECORD_FIELDS})
    if record is not None:
        assert chosen is not None
        guessed = "title" in chosen and chosen["title"].origin in ("heading", "url")
        record = replace(record, title_guessed=guessed)
    return Extraction(record=record, links=links, next_page=next_links[0] if next_links else None,
                      candidates=found, choices=chosen)


def explain_page(html: str, url: str, source: Source) -> tuple[Candidates, dict[str, Choice]]:
    """Every candidate each layer found, by field, and the one chosen with why."""
    extraction = extract_page(html, url, replace(source, listing=False))
    assert extraction.candidates is not None and extraction.choices is not None
    return extraction.candidates, extraction.choices


def _arbitrate(page: Node, url: str, source: Source) -> tuple[Candidates, dict[str, Choice]]:
    found = metadata.candidates(page)
    for field, value in selectors.extract(page, source.selectors).items():
        if value:
            found.setdefault(field, []).insert(0, ("selector", value))
    if not source.selectors.figures:
        _offer(found, "figures", "figures block", figures.find(page))
    chosen = choose(found, url)
    summary = chosen.get("summary")
    if summary is not None and summary.origin != "selector":
        first_paragraph = next((v for o, v in found.get("summary", ())
                                if o == "first paragraph"), None)
        whole = conventions.whole_lead(page, str(summary.value), first_paragraph)
        if whole and _offer(found, "summary", "standfirst", whole):
            chosen["summary"] = Choice(whole, "standfirst", f"the standfirst {summary.origin}'s "
                                       "description opens, as the page shows it whole")
    if "published" not in chosen:  # the general extractors: only for what is missing
        guessed = article.date(page)
        updated = chosen.get("updated")
        # With no publication date on a page, htmldate may offer its modification date:
        # that is not when the page was published (the item then falls back to first_seen).
        # Nor is a day after the update the page states (a masthead's "today", say).
        if guessed and not (updated and _on_or_after(guessed, str(updated.value))):
            _offer(found, "published", "htmldate", guessed)
            chosen["published"] = Choice(guessed, "htmldate", "htmldate: the page had no other")
    # An event's dates, place and registration, as found (events.py), read before trafilatura's
    # pruning takes out what they are often written in: an aside ("Infos pratiques"), <time>,
    # <meta itemprop="startDate">. Phrases ("Le 3 décembre de 14 h à 18 h") make an event only
    # on an event page: the scan for them runs only there (normalise takes its kind the same way).
    kind = chosen.get("kind")
    maybe_event = ItemKind.EVENEMENT in (
        source.kind, metadata.kind_from_label(str(kind.value) if kind else None))
    event = events.extract(page, phrases=maybe_event).get("event")
    if event and _offer(found, "event", "event", event):
        chosen["event"] = Choice(event, "event", "schema.org Event, else the page's French "
                                 "phrases" if maybe_event else "schema.org Event")
    if "content_html" not in chosen:  # trafilatura prunes the page it reads: after the others
        html, how = article.body(page, url)
        if html and _offer(found, "content_html", "trafilatura", html):
            chosen["content_html"] = Choice(html, "trafilatura", how)
    if "title" not in chosen:
        # A page that says something keeps its item, named by its first heading, else by its
        # address; an empty page (no heading, no body) is no item. Either way a guessed title
        # counts as missing for drift (a redesign that loses every title must still show).
        fallback = conventions.first_heading(page)
        origin = "heading" if fallback else "url"
        fallback = fallback or (title_from_url(url) if "content_html" in chosen else None)
        if fallback:
            log.warning("%s: no title by any layer; %s taken from its %s", url, fallback,
                        "first heading" if origin == "heading" else "address")
            _offer(found, "title", origin, fallback)
            chosen["title"] = Choice(fallback, origin, f"no title by any layer: the {origin}")
    return found, chosen


def _on_or_after(day: str, updated: str) -> bool:
    """Whether a YYYY-MM-DD day is the stated update's day or later."""
    stated = parse_date(updated)
    return stated is not None and day >= stated.date().isoformat()


def _offer(found: Candidates, field: str, origin: str, value: Any) -> bool:
    if value:
        found.setdefault(field, []).append((origin, value))
    return bool(value)


def _links(page: Node, url: str, selector: str) -> tuple[str, ...]:
    base = base_url(page, url)
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
