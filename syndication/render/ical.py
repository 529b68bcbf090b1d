"""iCalendar (RFC 5545) from events, with the `icalendar` library: a feed's agenda
(/feeds/{feed}.ics) or one event (its "Ajouter à mon agenda" link).

Each event is a VEVENT whose UID never changes (the source's own, or the item's id), whose
SEQUENCE grows whenever the event changes and whose DTSTAMP is when it last did; date-times are
written in Europe/Paris with its VTIMEZONE, all-day events as dates (DTEND the day after the
last). Text is plain text, escaped by the library: nothing from a source reaches the file as
markup or as a property of its own.

Entry point: `render_ical(context, items)`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, vRecur
from icalendar import Event as VEvent

from ..events import Event, EventStatus
from ..model import Item
from ..normalise import PARIS, plain_text
from .agenda import STATUS_LABELS, deadline_text, event_place
from .feeds import FeedContext

PRODUCT_ID = "-//syndication//Agenda//FR"
MEDIA_TYPE = "text/calendar; charset=utf-8"
_STATUS = {EventStatus.CANCELLED: "CANCELLED", EventStatus.POSTPONED: "TENTATIVE"}


def render_ical(context: FeedContext, items: list[Item], name: str | None = None) -> bytes:
    """A VCALENDAR of the items that are events (others are left out)."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", plain_text(name or context.feed.title))
    calendar.add("x-wr-timezone", "Europe/Paris")
    if context.feed.description:
        calendar.add("x-wr-caldesc", plain_text(context.feed.description))
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for item in items:
        if item.event is not None:
            calendar.add_component(vevent(item, item.event, context.base_url))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def event_uid(item: Item, event: Event) -> str:
    """The source's UID when it gave one (so that calendars merge it with theirs), else ours."""
    return event.uid or f"{item.id}@syndication"


def vevent(item: Item, event: Event, base_url: str = "") -> VEvent:
    component = VEvent()
    component.add("uid", event_uid(item, event))
    component.add("sequence", event.sequence)
    component.add("dtstamp", item.updated.astimezone(UTC))
    component.add("created", item.first_seen.astimezone(UTC))
    component.add("last-modified", item.updated.astimezone(UTC))
    summary = plain_text(item.title)
    if event.status in (EventStatus.CANCELLED, EventStatus.POSTPONED):
        summary = f"{STATUS_LABELS[event.status]} : {summary}"  # shown by every client
    component.add("summary", summary)
    if isinstance(event.start, datetime):
        component.add("dtstart", event.start.astimezone(PARIS))
        if event.end is not None:
            component.add("dtend", _datetime(event.end))
    else:
        component.add("dtstart", event.start)
        last = event.end if event.end is not None else event.start
        component.add("dtend", last + timedelta(days=1))  # exclusive: the day after the last
    if event.rrule:
        try:
            component.add("rrule", vRecur.from_ical(event.rrule))
        except ValueError:  # stored rules were checked (events._rrule); never fail a calendar
            pass
    component.add("status", _STATUS.get(event.status, "CONFIRMED"))
    if place := event_place(event):
        component.add("location", plain_text(place))
    if event.geo:
        component.add("geo", event.geo)
    if _http(item.url):
        component.add("url", item.url)
    component.add("description", description(item, event))
    for tag in item.tags[:20]:
        component.add("categories", [plain_text(tag).replace(",", " ")])
    if event.status == EventStatus.MOVED_ONLINE and event.online_url:
        component.add("conference", event.online_url, parameters={"VALUE": "URI"})
    return component


def description(item: Item, event: Event) -> str:
    """Plain text: the summary, then what a reader needs to go (price, registration, link)."""
    lines = [plain_text(item.summary)] if item.summary else []
    if event.status in STATUS_LABELS and event.status != EventStatus.SCHEDULED:
        lines.insert(0, f"{STATUS_LABELS[event.status]}.")
    if event.price:
        lines.append(f"Tarif : {event.price}")
    if event.organiser:
        lines.append(f"Organisé par : {plain_text(event.organiser)}")
    if deadline := deadline_text(event):
        lines.append(deadline)
    if event.registration_url:
        lines.append(f"Inscription : {event.registration_url}")
    if event.online_url:
        lines.append(f"En ligne : {event.online_url}")
    if _http(item.url):
        lines.append(item.url)
    return "\n".join(lines)


def _datetime(moment: object) -> datetime:
    assert isinstance(moment, datetime)
    return moment.astimezone(PARIS)


def _http(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")
