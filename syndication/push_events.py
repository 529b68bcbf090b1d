"""Pushed events: the `event` object of an item sent to POST /api/items (schema PushEvent in
static/openapi.json) checked for what the schema cannot say, and read as the fields extract
would have found on a page (events.event_from_fields).

Entry points: `pushed_problems`, `pushed_fields`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .events import as_datetime, parse_moment


def pushed_fields(event: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """A pushed `event` object as the fields extract would have found (event_from_fields)."""
    if not event:
        return ()
    location = event.get("location") or {}
    geo = location.get("geo") or {}
    registration = event.get("registration") or {}
    found = {"start": event.get("start"), "end": event.get("end"), "rrule": event.get("rrule"),
             "location_name": location.get("name"), "location_address": location.get("address"),
             "latitude": geo.get("latitude"), "longitude": geo.get("longitude"),
             "online_url": event.get("online_url"), "organiser": event.get("organiser"),
             "registration_url": registration.get("url"),
             "registration_deadline": registration.get("deadline"),
             "price": event.get("price"), "status": event.get("status"), "uid": event.get("uid")}
    return tuple((name, str(value)) for name, value in found.items() if value is not None)


def pushed_problems(event: Any, where: str) -> list[tuple[str, str]]:
    """What the schema cannot say of a pushed event: dates that exist, an end not before the
    start."""
    if not isinstance(event, Mapping):
        return []
    problems, moments = [], {}
    registration = event.get("registration")
    for name, text in (("start", event.get("start")), ("end", event.get("end")),
                       ("registration.deadline", registration.get("deadline")
                        if isinstance(registration, Mapping) else None)):
        if not isinstance(text, str):
            continue
        try:
            moments[name] = parse_moment(text)
        except ValueError:
            problems.append((f"{where}.{name}", f"{text!r} is not a valid date or date-time"))
    start, end = moments.get("start"), moments.get("end")
    if start is not None and end is not None and as_datetime(end) < as_datetime(start):
        problems.append((f"{where}.end", "must not be before start"))
    return problems
