"""The agenda layout of the widget: each event as a date block ("3 DÉC."), its time range and
place, an "Annulé" or "Reporté" badge, and an "Ajouter à mon agenda" link to its own .ics; and
the schema.org `Event` JSON-LD that lets a town page embedding the agenda show in search
engines' event results.

Pure, as widget.py: the items come chosen (render/agenda.py), every text is escaped by Jinja,
and the JSON-LD is written so that nothing in it can close its `<script>` element.

Entry points: `agenda_entries`, `events_json_ld`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from ..events import Event, EventStatus, as_datetime, next_start
from ..model import Item
from ..normalise import PARIS
from .agenda import STATUS_LABELS, date_block, deadline_text, event_place, event_when
from .digest import truncate_summary

_SCHEMA_STATUS = {EventStatus.SCHEDULED: "EventScheduled", EventStatus.CANCELLED:
                  "EventCancelled", EventStatus.POSTPONED: "EventPostponed",
                  EventStatus.RESCHEDULED: "EventRescheduled",
                  EventStatus.MOVED_ONLINE: "EventMovedOnline"}


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    url: str | None
    title: str
    day: str  # "3"
    month: str  # "DÉC."
    date_iso: str  # the (next) start, for <time datetime>
    when: str  # "Jeudi 3 décembre 2026, de 14 h à 18 h"
    place: str
    badge: str | None  # "Annulé", "Reporté"…
    status: str  # scheduled, cancelled…: a class name
    deadline: str | None  # "Inscription jusqu’au 15 janvier 2027"
    summary: str
    ics_url: str  # "Ajouter à mon agenda"
    more: bool


def agenda_entries(items: list[Item], *, feed_id: str, base_url: str, summary_length: int,
                   summary: bool, more: int, now: datetime,
                   http_url: Any) -> list[AgendaEntry]:
    entries = []
    for position, item in enumerate(i for i in items if i.event is not None):
        event = item.event
        assert event is not None
        day, month = date_block(event, now)
        start = next_start(event, now) if event.rrule else as_datetime(event.start)
        entries.append(AgendaEntry(
            url=http_url(item.url), title=item.title, day=day, month=month,
            date_iso=(start.astimezone(PARIS).isoformat(timespec="minutes")
                      if isinstance(event.start, datetime) or event.rrule
                      else event.start.isoformat()),
            when=event_when(event, now), place=event_place(event),
            badge=STATUS_LABELS.get(event.status), status=str(event.status),
            deadline=deadline_text(event),
            summary=truncate_summary(item.summary, summary_length) if summary else "",
            ics_url=f"{base_url}/feeds/{feed_id}/events/{item.id}.ics",
            more=0 < more <= position))
    return entries


def event_json_ld(item: Item, event: Event) -> dict[str, Any]:
    """schema.org Event, with only what is known."""
    data: dict[str, Any] = {"@type": "Event", "name": item.title,
                            "startDate": _iso(event.start),
                            "eventStatus": f"https://schema.org/{_SCHEMA_STATUS[event.status]}"}
    if event.end is not None:
        data["endDate"] = _iso(event.end)
    if item.summary:
        data["description"] = item.summary
    if item.url.startswith(("http://", "https://")):
        data["url"] = item.url
    locations: list[dict[str, Any]] = []
    if event.location_name or event.location_address:
        place: dict[str, Any] = {"@type": "Place", "name": event.location_name or
                                 event.location_address}
        if event.location_address:
            place["address"] = event.location_address
        if event.geo:
            place["geo"] = {"@type": "GeoCoordinates", "latitude": event.geo[0],
                            "longitude": event.geo[1]}
        locations.append(place)
    if event.online_url:
        locations.append({"@type": "VirtualLocation", "url": event.online_url})
    if locations:
        data["location"] = locations[0] if len(locations) == 1 else locations
        data["eventAttendanceMode"] = "https://schema.org/" + (
            "MixedEventAttendanceMode" if len(locations) > 1 else
            "OnlineEventAttendanceMode" if event.online_url else
            "OfflineEventAttendanceMode")
    if event.organiser:
        data["organizer"] = {"@type": "Organization", "name": event.organiser}
    if event.price == "gratuit":
        data["isAccessibleForFree"] = True
        data["offers"] = {"@type": "Offer", "price": 0, "priceCurrency": "EUR"}
    if event.registration_url:
        data.setdefault("offers", {"@type": "Offer"})["url"] = event.registration_url
    if event.registration_deadline is not None:
        data.setdefault("offers", {"@type": "Offer"})["validThrough"] = _iso(
            event.registration_deadline)
    return data


def events_json_ld(items: list[Item]) -> Markup | None:
    """A `<script type="application/ld+json">` of the items' events; None without any."""
    events = [event_json_ld(item, item.event) for item in items if item.event is not None]
    if not events:
        return None
    document = {"@context": "https://schema.org", "@graph": events}
    # "<", ">" and "&" as \u escapes: no "</script>" (nor "<!--") can appear in the element
    text = json.dumps(document, ensure_ascii=False).replace("<", "\\u003c").replace(
        ">", "\\u003e").replace("&", "\\u0026")
    return Markup(f'<script type="application/ld+json">{text}</script>')  # noqa: S704


def _iso(moment: Any) -> str:
    if isinstance(moment, datetime):
        return moment.astimezone(PARIS).isoformat(timespec="minutes")
    return str(moment.isoformat())
