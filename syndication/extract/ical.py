"""An iCalendar file (RFC 5545) → one RawRecord per event occurrence, read with `icalendar`;
Google Calendar's X-WR-TIMEZONE honoured (`x-wr-timezone`); recurrences expanded by
events.expand, with EXDATE and RECURRENCE-ID (recurring-ical-events walks every occurrence from
the first: an hourly rule begun years ago costs seconds, and one every minute much more).

Files found in the wild are read as calendar applications read them, and every problem costs
bounded work and a warning that names the event, never the rest of the file: lines whose folding
was lost are joined again; a file that does not parse whole is read event by event; an event
without DTSTART is skipped; floating times (no zone) are read in the calendar's X-WR-TIMEZONE,
else Europe/Paris; a recurrence is expanded to MAX_OCCURRENCES within HORIZON, whether it ends
or not; at most MAX_EVENTS events of a huge file are looked at. Nothing here is trusted: the
text goes to normalise, which sanitises it like any page's.

Entry point: `parse_calendar(body, url, now)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import escape
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import x_wr_timezone

from ..events import expand
from ..model import RawRecord

PARIS = ZoneInfo("Europe/Paris")
MAX_EVENTS = 20_000  # VEVENTs looked at in one file
MAX_OCCURRENCES = 50  # occurrences of one recurring event
HORIZON = timedelta(days=366)  # how far ahead recurrences are expanded
PAST = timedelta(days=31)  # how far back: events just over stay as they were
MAX_WARNINGS = 20
_CONTENT_LINE = re.compile(r"^[A-Za-z0-9-]+[;:]")


@dataclass
class ParsedCalendar:
    records: list[tuple[str, RawRecord]] = field(default_factory=list)  # (key, record)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)


def parse_calendar(body: bytes, url: str, now: datetime) -> ParsedCalendar:
    """Every event occurrence from `now - PAST` to `now + HORIZON`, keyed by its UID (and its
    start, for the occurrences of a recurring event)."""
    parsed = ParsedCalendar()
    text = _unfold_repaired(body.decode("utf-8", errors="replace"), parsed)
    calendars = _calendars(text, parsed)
    for calendar in calendars:
        zone = _zone(calendar)
        try:
            calendar = x_wr_timezone.to_standard(calendar)
        except Exception:  # noqa: BLE001 - a zone name it cannot use: floating times stay
            pass
        events = list(islice(calendar.walk("VEVENT"), MAX_EVENTS + 1))
        if len(events) > MAX_EVENTS:
            parsed.warn(f"{url}: more than {MAX_EVENTS} events; the first {MAX_EVENTS} read")
            events = events[:MAX_EVENTS]
        masters: dict[str, list[Any]] = {}
        for event in events:
            uid = str(event.get("uid") or "").strip()
            if "dtstart" not in event:
                parsed.warn(f"event {_name(event)} has no DTSTART: left out")
                continue
            masters.setdefault(uid or f"no-uid-{len(masters)}", []).append(event)
        for uid, components in masters.items():
            try:
                _occurrences(uid, components, calendar, zone, url, now, parsed)
            except Exception as error:  # noqa: BLE001 - one event never fails the file
                parsed.warn(f"event {_name(components[0])} could not be read: "
                            f"{type(error).__name__}")
    return parsed


def _unfold_repaired(text: str, parsed: ParsedCalendar) -> str:
    """Lines that are not content lines ("NAME;…:value") continue the one before: their
    folding (the leading space) was lost on the way."""
    lines: list[str] = []
    repaired = 0
    for line in re.split(r"\r\n|\n|\r", text):
        if lines and line and line[0] not in " \t" and not _CONTENT_LINE.match(line):
            lines[-1] += line
            repaired += 1
        elif line:
            lines.append(line)
    if repaired:
        parsed.warn(f"{repaired} lines without their folding space were joined to the one "
                    "before")
    return "\r\n".join(lines) + "\r\n"


def _calendars(text: str, parsed: ParsedCalendar) -> list[icalendar.Calendar]:
    try:
        return list(icalendar.Calendar.from_ical(text, multiple=True))
    except Exception:  # noqa: BLE001 - icalendar raises ValueError and others: read event by event
        parsed.warn("the file does not parse whole: read one event at a time")
    head = text.split("BEGIN:VEVENT", 1)[0]
    header = "\r\n".join(line for line in head.split("\r\n")
                         if line.startswith(("X-WR-TIMEZONE", "BEGIN:VCALENDAR", "VERSION")))
    calendars = []
    for block in islice(re.finditer(r"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", text, re.S),
                        MAX_EVENTS):
        try:
            calendars.append(icalendar.Calendar.from_ical(
                f"{header}\r\n{block.group(0)}END:VCALENDAR\r\n"))
        except Exception:  # noqa: BLE001
            summary = re.search(r"^SUMMARY[^:]*:(.*)$", block.group(0), re.M)
            parsed.warn(f"event {summary.group(1)[:80] if summary else '(untitled)'!r} "
                        "does not parse: left out")
    return calendars


def _zone(calendar: icalendar.Calendar) -> ZoneInfo:
    name = str(calendar.get("x-wr-timezone") or "").strip()
    try:
        return ZoneInfo(name) if name else PARIS
    except (ValueError, KeyError, OSError):
        return PARIS


def _name(event: Any) -> str:
    summary = str(event.get("summary") or "(sans titre)")[:80]
    uid = str(event.get("uid") or "")[:80]
    return f"{summary!r}" + (f" (UID {uid})" if uid else "")


def _occurrences(uid: str, components: list[Any], calendar: icalendar.Calendar, zone: ZoneInfo,
                 url: str, now: datetime, parsed: ParsedCalendar) -> None:
    master = next((c for c in components if "recurrence-id" not in c), components[0])
    start = master["dtstart"].dt
    if isinstance(start, datetime) and start.tzinfo is None:
        parsed.warn(f"event {_name(master)} has a floating time: read in {zone.key}")
    if "rrule" not in master:
        for component in components:
            _add(parsed, component, uid, None, zone, url)
        return
    rule = master["rrule"]
    if not rule.get("COUNT") and not rule.get("UNTIL"):
        parsed.warn(f"event {_name(master)} repeats without end: at most {MAX_OCCURRENCES} "
                    f"occurrences within {HORIZON.days} days")
    first = _aware(start, zone) if isinstance(start, datetime) else start
    starts = expand(first, rule.to_ical().decode(), now - PAST, MAX_OCCURRENCES, HORIZON)
    if starts is None:
        parsed.warn(f"event {_name(master)} has a recurrence rule that cannot be read: its "
                    "first occurrence only")
        _add(parsed, master, uid, None, zone, url)
        return
    overrides = {_key(c["recurrence-id"].dt, zone): c for c in components
                 if "recurrence-id" in c}
    excluded = {_key(moment.dt, zone) for dates in _list(master.get("exdate"))
                for moment in getattr(dates, "dts", [])}
    length = _length(master, start)
    for moment in starts:
        when: date | datetime = moment if isinstance(start, datetime) else moment.date()
        key = _key(when, zone)
        if key in overrides:
            _add(parsed, overrides.pop(key), uid, when, zone, url)
        elif key not in excluded:
            _add(parsed, master, uid, when, zone, url, (when, when + length))
    for override in overrides.values():  # moved into the window from outside it
        _add(parsed, override, uid, override["recurrence-id"].dt, zone, url)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _key(moment: date | datetime, zone: ZoneInfo) -> str:
    if isinstance(moment, datetime):
        return _aware(moment, zone).astimezone(UTC).isoformat()
    return moment.isoformat()


def _length(event: Any, start: date | datetime) -> timedelta:
    if "dtend" in event:
        return event["dtend"].dt - start
    if "duration" in event:
        return event["duration"].dt
    return timedelta(0)


def _aware(moment: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)
    return datetime.combine(moment, datetime.min.time(), tzinfo=zone)


def _iso(moment: Any, zone: ZoneInfo) -> str | None:
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).isoformat()
    if isinstance(moment, date):
        return moment.isoformat()
    return None


def _add(parsed: ParsedCalendar, event: Any, uid: str, occurrence: date | datetime | None,
         zone: ZoneInfo, url: str, dates: tuple[Any, Any] | None = None) -> None:
    """One record: `event`'s own dates, or an occurrence's (`dates`: start and end)."""
    start = event["dtstart"].dt
    end = event["dtend"].dt if "dtend" in event else None
    if end is None and "duration" in event:
        end = start + event["duration"].dt
    if dates is not None:
        start, end = dates[0], (dates[1] if dates[1] != dates[0] else None)
    if isinstance(end, date) and not isinstance(end, datetime):
        end = end - timedelta(days=1)  # DTEND of a date is exclusive; ours is the last day
    key = uid if occurrence is None else f"{uid}/{_iso(occurrence, zone)}"
    if occurrence is None and "recurrence-id" in event:
        key = f"{uid}/{_iso(event['recurrence-id'].dt, zone)}"
    description = str(event.get("description") or "")[:5000]
    link = str(event.get("url") or "")
    organiser = event.get("organizer")
    geo = event.get("geo")
    fields = {
        "start": _iso(start, zone), "end": _iso(end, zone) if end is not None else None,
        "status": str(event.get("status") or ""), "uid": key,
        "location_name": str(event.get("location") or ""),
        "latitude": str(geo.latitude) if geo is not None else None,
        "longitude": str(geo.longitude) if geo is not None else None,
        "organiser": str(organiser.params.get("CN") or "") if organiser is not None else None,
        "online_url": str(event.get("conference") or "") or None,
    }
    created, modified = event.get("created"), event.get("last-modified")
    categories = event.get("categories")
    tags = [str(c) for group in (categories if isinstance(categories, list) else
                                 [categories] if categories else [])
            for c in getattr(group, "cats", [])]
    record = RawRecord(
        url=link if link.startswith(("http://", "https://")) else url,
        canonical_url=link if link.startswith(("http://", "https://")) else None,
        title=str(event.get("summary") or ""), summary=description[:1000],
        content_html="".join(f"<p>{escape(part)}</p>" for part in description.split("\n\n")
                             if part.strip()).replace("\n", "<br>"),
        published=_iso(created.dt, zone) if created is not None else None,
        updated=_iso(modified.dt, zone) if modified is not None else None,
        kind="evenement", tags=tuple(tags[:20]),
        event=tuple((name, value) for name, value in fields.items() if value))
    parsed.records.append((key, record))
