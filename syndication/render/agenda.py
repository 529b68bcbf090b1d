"""Agendas: which events a feed lists and in what order, and how they read in French.

An events feed (every item of it an `evenement`, or `upcoming`, `from` or `to` asked for) lists
events by start, soonest first; by default only those that have not ended: past events leave by
themselves, a multi-day event stays until its last day is over, a recurring one is listed at its
next occurrence. The same event brought by two sources (same UID, or same title, start and
place) is listed once.

Entry points: `is_agenda`, `select_events`, `agenda_variant` (for the render cache),
`event_line` (the French human line: "Jeudi 3 décembre 2026, de 14 h à 18 h · Paris").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import escape

from babel.dates import format_date

from ..events import Event, EventStatus, as_datetime, ends_at, is_upcoming, next_start
from ..model import Catalogue, Feed, Item, ItemKind, SourceType
from ..normalise import PARIS, fold
from .selection import Filters, Selection

UPCOMING_COUNT = 5  # events in a digest's "À venir"
VARIANT_MINUTES = 15  # an ended event leaves a cached agenda at most this late

STATUS_LABELS = {EventStatus.CANCELLED: "Annulé", EventStatus.POSTPONED: "Reporté",
                 EventStatus.RESCHEDULED: "Date modifiée", EventStatus.MOVED_ONLINE: "En ligne"}


def is_agenda(feed: Feed, catalogue: Catalogue) -> bool:
    """Whether a feed is an events feed: it admits events only, or all its sources give events."""
    if feed.kinds:
        return set(feed.kinds) == {ItemKind.EVENEMENT}
    sources = [catalogue.sources.get(source_id) for source_id in feed.sources]
    return bool(sources) and all(
        source is not None and (source.kind == ItemKind.EVENEMENT or source.type == SourceType.ICAL)
        for source in sources)


def agenda_variant(now: datetime) -> str:
    """What a cached agenda depends on besides the feed's version: the quarter-hour."""
    moment = now.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % VARIANT_MINUTES, second=0,
                          microsecond=0).isoformat()


def agenda_until(now: datetime) -> float:
    """When the quarter-hour of agenda_variant ends (Unix time): kept responses stop there."""
    start = datetime.fromisoformat(agenda_variant(now))
    return (start + timedelta(minutes=VARIANT_MINUTES)).timestamp()


def same_event_key(item: Item) -> tuple[str, ...]:
    assert item.event is not None
    return ("title", fold(item.title), as_datetime(item.event.start).astimezone(UTC).isoformat(),
            fold(item.event.location_name or ""))


def unique_events(items: Iterable[Item]) -> list[Item]:
    """Events only, each once: the first of those sharing a UID, or a title, start and place."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for item in items:
        if item.event is None:
            continue
        keys = {same_event_key(item)}
        if item.event.uid:
            keys.add(("uid", item.event.uid))
        duplicate = bool(keys & seen)
        seen |= keys  # a duplicate's other keys too: its UID may come again by a third route
        if not duplicate:
            kept.append(item)
    return kept


def select_events(items: Iterable[Item], now: datetime, *, upcoming: bool = True,
                  start_from: datetime | None = None, start_to: datetime | None = None,
                  near: tuple[float, float] | None = None, within: float = 10.0) -> list[Item]:
    """Events by start (the next occurrence of a recurring one), soonest first: those not ended
    when `upcoming`, those ending after `start_from` and starting before `start_to`, those
    placed within `within` km of `near`."""
    chosen = []
    for item in unique_events(items):
        event = item.event
        assert event is not None
        if upcoming and not is_upcoming(event, now):
            continue
        if near is not None and (event.geo is None or distance_km(near, event.geo) > within):
            continue
        moment = next_start(event, start_from or now)
        if start_from is not None and not is_upcoming(event, start_from):
            continue
        if start_to is not None and moment >= start_to:
            continue
        chosen.append((moment.astimezone(UTC), item.title, item))
    chosen.sort(key=lambda entry: (entry[0], entry[1]))
    return [item for _, _, item in chosen]


# --- French ---------------------------------------------------------------------------------


def _day(moment: date) -> str:
    text = format_date(moment, "EEEE d MMMM y", locale="fr")
    text = text.replace(" 1 ", " 1er ", 1)
    return text[:1].upper() + text[1:]


def _clock(moment: datetime) -> str:
    local = moment.astimezone(PARIS)
    return f"{local.hour} h" if local.minute == 0 else f"{local.hour} h {local.minute:02d}"


def event_when(event: Event, now: datetime | None = None) -> str:
    """ "Jeudi 3 décembre 2026, de 14 h à 18 h"; "Du 3 au 5 décembre 2026" (the next occurrence
    of a recurring event, with "chaque semaine" and the like)."""
    start = event.start
    if event.rrule and now is not None and isinstance(start, datetime):
        start = next_start(event, now)
    elif event.rrule and now is not None:
        start = next_start(event, now).astimezone(PARIS).date()
    end = event.end
    if event.rrule and end is not None:
        end = None if event.all_day else (start + (ends_at(event) - as_datetime(event.start))
                                          if isinstance(start, datetime) else None)
    if not isinstance(start, datetime):
        last = end if isinstance(end, date) and not isinstance(end, datetime) else None
        if last is None or last == start:
            text = _day(start)
        elif (last.year, last.month) == (start.year, start.month):
            text = f"Du {_first(start.day)} au {format_date(last, 'd MMMM y', locale='fr')}"
        else:
            first = format_date(start, "d MMMM" if start.year == last.year else "d MMMM y",
                                locale="fr")
            text = f"Du {first} au {format_date(last, 'd MMMM y', locale='fr')}"
    else:
        local = start.astimezone(PARIS)
        if isinstance(end, datetime) and end.astimezone(PARIS).date() == local.date():
            text = f"{_day(local.date())}, de {_clock(local)} à {_clock(end)}"
        elif isinstance(end, datetime):
            text = (f"Du {_day(local.date()).lower()} à {_clock(local)} au "
                    f"{_day(end.astimezone(PARIS).date()).lower()} à {_clock(end)}")
        else:
            text = f"{_day(local.date())} à {_clock(local)}"
    return text + _rule_words(event.rrule)


def _first(day: int) -> str:
    return "1er" if day == 1 else str(day)


def _rule_words(rrule: str | None) -> str:
    if not rrule:
        return ""
    frequency = dict(part.split("=", 1) for part in rrule.split(";") if "=" in part).get("FREQ")
    words = {"DAILY": "chaque jour", "WEEKLY": "chaque semaine", "MONTHLY": "chaque mois",
             "YEARLY": "chaque année"}.get(frequency or "")
    return f" ({words})" if words else " (récurrent)"


def event_place(event: Event) -> str:
    """ "Grande Halle de la Villette, 211 avenue Jean-Jaurès, Paris"; "En ligne"."""
    parts = [part for part in (event.location_name, event.location_address) if part]
    if parts and len(parts) == 2 and fold(parts[1]).startswith(fold(parts[0])):
        parts = parts[1:]
    if not parts and (event.online_url or event.status == EventStatus.MOVED_ONLINE):
        return "En ligne"
    return ", ".join(parts)


def event_line(event: Event, now: datetime | None = None) -> str:
    """The human line on top of an event's content in feeds: status, date, place."""
    parts = [event_when(event, now)]
    if place := event_place(event):
        parts.append(place)
    line = " · ".join(parts)
    if event.status in STATUS_LABELS and event.status != EventStatus.SCHEDULED:
        line = f"{STATUS_LABELS[event.status]} — {line}"
    return line


def deadline_text(event: Event) -> str | None:
    """ "Inscription jusqu'au 15 janvier 2027"."""
    deadline = event.registration_deadline
    if deadline is None:
        return None
    if isinstance(deadline, datetime):
        local = deadline.astimezone(PARIS)
        day = format_date(local, "d MMMM y", locale="fr")
        return f"Inscription jusqu’au {day} à {_clock(local)}"
    return f"Inscription jusqu’au {format_date(deadline, 'd MMMM y', locale='fr')}"


def date_block(event: Event, now: datetime | None = None) -> tuple[str, str]:
    """The date block of an agenda: ("3", "DÉC."), at the next occurrence of a recurring one."""
    start = next_start(event, now) if event.rrule and now else as_datetime(event.start)
    local = start.astimezone(PARIS)
    return _first(local.day), format_date(local, "MMM", locale="fr").upper()


def event_html(event: Event) -> str:
    """The human line as the first paragraph of an event's content (feeds, digests)."""
    line = escape(event_line(event))
    extra = [escape(text) for text in (deadline_text(event),
                                       f"Tarif : {event.price}" if event.price else None) if text]
    return f"<p><strong>{line}</strong>{''.join(f'<br>{text}' for text in extra)}</p>"


def agenda_wanted(feed: Feed, catalogue: Catalogue, filters: Filters) -> bool:
    """Whether a feed's items are listed as an agenda: an events feed, or events asked for."""
    return filters.agenda or is_agenda(feed, catalogue)


def agenda_selection(items: Iterable[Item], filters: Filters, now: datetime) -> Selection:
    """One page of an agenda: events admitted by the filters, upcoming unless `upcoming=0`
    (or a `from` date is given), by start. Items whose dates are unknown follow, newest first,
    unless events were asked for explicitly (`upcoming`, `from`, `to`)."""
    admitted = [item for item in items if filters.admits(item)]
    upcoming = filters.upcoming if filters.upcoming is not None else filters.start_from is None
    events = select_events(admitted, now, upcoming=upcoming, start_from=filters.start_from,
                           start_to=filters.start_to, near=filters.near, within=filters.within)
    if not filters.agenda:
        events += [item for item in admitted if item.event is None]
    offset = (filters.page - 1) * filters.limit
    return Selection(events[offset:offset + filters.limit], len(events))


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The great-circle distance between two (latitude, longitude) points (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + \
        math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def webcal(ics_url: str) -> str:
    """The webcal:// form of an .ics URL: calendars subscribe to it (and keep it refreshed)."""
    return "webcal://" + ics_url.split("://", 1)[-1]


@dataclass(frozen=True, slots=True)
class UpcomingEntry:
    """An event as the digest's "À venir" lists it."""

    url: str | None
    title: str
    when: str  # "Jeudi 3 décembre 2026, de 14 h à 18 h"
    place: str
    badge: str | None  # "Annulé", "Reporté"…


def upcoming_entries(items: Iterable[Item], now: datetime, count: int = UPCOMING_COUNT
                     ) -> tuple[UpcomingEntry, ...]:
    """The next `count` events (not ended), soonest first."""
    return tuple(UpcomingEntry(
        url=item.url if item.url.startswith(("http://", "https://")) else None,
        title=item.title, when=event_when(item.event, now), place=event_place(item.event),
        badge=STATUS_LABELS.get(item.event.status))
        for item in select_events(items, now)[:count] if item.event is not None)
