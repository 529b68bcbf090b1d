"""Harvest of an iCalendar source (`type = "ical"`): the .ics file, asked "changed since?";
each event occurrence an item (extract/ical.py). Entry point: `harvest_ical`.

An unchanged file keeps every item it gave. Events are kept by their UID: their pseudo-pages
are "{file URL}#{UID}", which nothing ever fetches. Occurrences are taken soonest first, at most
the source's max_items of them."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from ..extract.ical import parse_calendar
from ..fetch import Fetcher, Unchanged, Validators
from ..model import Source
from ..state import Harvest, PageState
from .pages import unchanged_document


def harvest_ical(source: Source, fetcher: Fetcher, known: dict[str, PageState]) -> Harvest:
    harvest = Harvest()
    file_state = known.get(source.url)
    answer = fetcher.fetch_calendar(source.url, file_state.validators if file_state else None)
    if isinstance(answer, Unchanged):
        return unchanged_document(source.url, file_state, known)
    parsed = parse_calendar(answer.body, answer.url, datetime.now(UTC))
    harvest.warnings.extend(parsed.warnings)
    records = sorted(parsed.records, key=lambda entry: _start(entry[1].event))
    if len(records) > source.max_items:
        harvest.warnings.append(f"{len(records) - source.max_items} events beyond the "
                                f"source's max_items ({source.max_items}) left out")
    links = []
    for key, record in records[:source.max_items]:
        link = f"{source.url}#{quote(key, safe='')}"
        if link in harvest.pages:
            continue  # the same UID twice in a file: the first stands
        links.append(link)
        harvest.records.append((link, record))
        harvest.pages[link] = PageState(Validators())
        earlier = known.get(link)
        if earlier is not None and earlier.member:
            harvest.earlier[link] = earlier
    harvest.pages[source.url] = PageState(answer.validators, links=tuple(links))
    return harvest


def _start(fields: tuple[tuple[str, str], ...]) -> str:
    """Soonest first: ISO dates and date-times compare well enough as text for this cut."""
    return dict(fields).get("start", "")
