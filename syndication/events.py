"""Events: what the content model says of an item that takes place (an `evenement`), and the
pure time arithmetic every output shares (when an event ends, whether it is still to come, when
its next occurrence starts).

An event's `start` and `end` are either dates (all-day events; `end` is then the last day, as
people write "du 3 au 5 décembre") or date-times with a time zone (`end` exclusive). A
recurrence rule (RFC 5545 RRULE text) is kept as the source gave it, and only ever expanded
within bounds (MAX_OCCURRENCES, HORIZON).

Entry points: `Event` (stored with its item), `event_from_fields` (text as found → Event),
`is_upcoming`, `next_start`, `ends_at`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr

PARIS = ZoneInfo("Europe/Paris")
MAX_OCCURRENCES = 200  # occurrences of one recurring event looked at, at most
HORIZON = timedelta(days=366)  # how far ahead recurrences are expanded
MAX_TEXT = 500  # characters kept of a place, an organiser, a price
MIN_YEAR, MAX_YEAR = 1900, 2999  # the push document admits 1990 to 2999


class EventStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    POSTPONED = "postponed"
    RESCHEDULED = "rescheduled"
    MOVED_ONLINE = "moved_online"


EVENT_STATUSES: tuple[str, ...] = tuple(EventStatus)

Moment = date | datetime  # a datetime is a date too: check for datetime first


@dataclass(frozen=True, slots=True)
class Event:
    start: Moment
    end: Moment | None = None
    rrule: str | None = None
    location_name: str | None = None
    location_address: str | None = None
    geo: tuple[float, float] | None = None  # (latitude, longitude)
    online_url: str | None = None
    organiser: str | None = None
    registration_url: str | None = None
    registration_deadline: Moment | None = None
    price: str | None = None  # "gratuit", "12 €", as the source says it
    status: EventStatus = EventStatus.SCHEDULED
    uid: str | None = None  # the source's own identity (iCalendar UID), kept for de-duplication
    sequence: int = 0  # +1 whenever what the event says changes (iCalendar SEQUENCE)

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def cancelled(self) -> bool:
        return self.status == EventStatus.CANCELLED

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("start", "end", "registration_deadline"):
            value = getattr(self, name)
            data[name] = value.isoformat() if value is not None else None
        data["geo"] = list(self.geo) if self.geo else None
        data["all_day"] = self.all_day
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        data = dict(data)
        data.pop("all_day", None)  # derived from start
        for name in ("start", "end", "registration_deadline"):
            data[name] = parse_moment(data.get(name))
        data["geo"] = tuple(data["geo"]) if data.get("geo") else None
        data["status"] = EventStatus(data.get("status") or EventStatus.SCHEDULED)
        return cls(**data)

    def seen(self) -> dict[str, Any]:
        """What a subscriber sees of the event: everything but the sequence."""
        data = self.to_dict()
        data.pop("sequence")
        return data


def parse_moment(text: str | None) -> Moment | None:
    """ "2026-12-03" → a date; "2026-12-03T14:00:00+01:00" → a date-time (Paris when no zone)."""
    if not text:
        return None
    if len(text) == 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=PARIS)


def revise(old: Event | None, new: Event | None) -> Event | None:
    """The new event, numbered after the old one: its sequence grows when what it says changed."""
    if new is None or old is None:
        return new
    if old.seen() == new.seen():
        return replace(new, sequence=old.sequence)
    return replace(new, sequence=old.sequence + 1)


# --- time arithmetic ----------------------------------------------------------------------


def as_datetime(moment: Moment) -> datetime:
    """A date is its midnight in Paris."""
    if isinstance(moment, datetime):
        return moment
    return datetime.combine(moment, time(0), tzinfo=PARIS)


def _duration(event: Event) -> timedelta:
    return ends_at(replace(event, rrule=None)) - as_datetime(event.start)


def ends_at(event: Event) -> datetime:
    """When the (first occurrence of the) event is over: its end, the end of its last day for
    an all-day event, two hours after a start given without an end (a usual length)."""
    if event.end is None:
        if event.all_day:
            return as_datetime(event.start) + timedelta(days=1)
        return as_datetime(event.start) + timedelta(hours=2)
    if not isinstance(event.end, datetime):
        return datetime.combine(event.end + timedelta(days=1), time(0), tzinfo=PARIS)
    return event.end


def occurrences(event: Event, after: datetime, limit: int = MAX_OCCURRENCES) -> list[datetime]:
    """Starts of the occurrences that end after `after`, at most `limit` of them, none beyond
    HORIZON from `after`: an unbounded rule costs bounded work."""
    start = as_datetime(event.start)
    if not event.rrule:
        return [start] if ends_at(event) > after else []
    found = expand(event.start, event.rrule, after - _duration(event), limit)
    return found if found is not None else ([start] if ends_at(event) > after else [])


_STEPS: dict[str, Any] = {
    "YEARLY": relativedelta(years=1), "MONTHLY": relativedelta(months=1),
    "WEEKLY": timedelta(weeks=1), "DAILY": timedelta(days=1), "HOURLY": timedelta(hours=1),
    "MINUTELY": timedelta(minutes=1), "SECONDLY": timedelta(seconds=1)}


def expand(start: Moment, rule: str, after: datetime, limit: int = MAX_OCCURRENCES,
           horizon: timedelta = HORIZON) -> list[datetime] | None:
    """Starts (in Paris) of a rule's occurrences that start after `after`, at most `limit`, none
    beyond `horizon` from it; None for a rule that does not parse.

    The rule is started again near `after`, a whole number of its periods after `start` (which
    the RRULE's meaning allows when it has no COUNT): a rule that repeats every minute since
    2010 costs as little as one that began yesterday."""
    parts = dict(part.split("=", 1) for part in rule.upper().split(";") if "=" in part)
    frequency = parts.get("FREQ", "")
    try:
        interval = max(1, int(parts.get("INTERVAL", "1")))
    except ValueError:
        return None
    if frequency not in _STEPS:
        return None
    first = as_datetime(start).astimezone(PARIS).replace(tzinfo=None)
    # what the shifted start would otherwise change: the day of the month, the month, the day
    if frequency == "MONTHLY" and not any(k.startswith("BY") for k in parts):
        parts["BYMONTHDAY"] = str(first.day)
    if frequency == "YEARLY" and not any(k.startswith("BY") for k in parts):
        parts["BYMONTH"], parts["BYMONTHDAY"] = str(first.month), str(first.day)
    if "UNTIL" in parts and parts["UNTIL"].endswith("Z"):  # to Paris wall-clock, as dtstart
        try:
            until = datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return None
        parts["UNTIL"] = until.astimezone(PARIS).strftime("%Y%m%dT%H%M%S")
    elif "UNTIL" in parts and len(parts["UNTIL"]) == 8:
        parts["UNTIL"] += "T235959"
    target = after.astimezone(PARIS).replace(tzinfo=None)
    shifted = first
    if "COUNT" not in parts and target > first:
        shifted = _shift(first, target, frequency, interval)
    try:
        rrule = rrulestr(";".join(f"{k}={v}" for k, v in parts.items()), dtstart=shifted)
    except (ValueError, TypeError, OverflowError):
        return None
    found: list[datetime] = []
    end = target + horizon
    for naive in islice(iter(rrule), 20 * MAX_OCCURRENCES):
        if naive > end or len(found) >= limit:
            break
        if naive > target:
            found.append(naive.replace(tzinfo=PARIS))
    return found


def _shift(first: datetime, target: datetime, frequency: str, interval: int) -> datetime:
    """`first` moved forward by whole periods of the rule, to one or two periods before
    `target`."""
    if frequency in ("YEARLY", "MONTHLY"):
        months = (target.year - first.year) * 12 + target.month - first.month
        if frequency == "YEARLY":
            periods = months // 12 // interval - 1
            return first + relativedelta(years=max(0, periods) * interval, day=1) \
                if periods > 0 else first
        periods = months // interval - 1
        return first + relativedelta(months=periods * interval, day=1) if periods > 0 else first
    step = _STEPS[frequency] * interval
    periods = (target - first) // step - 1
    return first + step * periods if periods > 0 else first


def next_start(event: Event, now: datetime) -> datetime:
    """The start of the occurrence in progress or to come (the first one when all are past):
    what an agenda is ordered by."""
    upcoming = occurrences(event, now, limit=1)
    return upcoming[0] if upcoming else as_datetime(event.start)


def is_upcoming(event: Event, now: datetime) -> bool:
    """Whether the event (one of its occurrences) has not ended yet: an ongoing multi-day
    event stays until its last day is over."""
    return bool(occurrences(event, now, limit=1))


# --- text as found → Event ----------------------------------------------------------------

_STATUSES = {
    "eventscheduled": EventStatus.SCHEDULED, "scheduled": EventStatus.SCHEDULED,
    "confirmed": EventStatus.SCHEDULED, "tentative": EventStatus.SCHEDULED,
    "eventcancelled": EventStatus.CANCELLED, "cancelled": EventStatus.CANCELLED,
    "canceled": EventStatus.CANCELLED, "annule": EventStatus.CANCELLED,
    "annulee": EventStatus.CANCELLED,
    "eventpostponed": EventStatus.POSTPONED, "postponed": EventStatus.POSTPONED,
    "reporte": EventStatus.POSTPONED, "reportee": EventStatus.POSTPONED,
    "eventrescheduled": EventStatus.RESCHEDULED, "rescheduled": EventStatus.RESCHEDULED,
    "eventmovedonline": EventStatus.MOVED_ONLINE, "moved_online": EventStatus.MOVED_ONLINE,
    "movedonline": EventStatus.MOVED_ONLINE, "en ligne": EventStatus.MOVED_ONLINE,
}


def event_status(text: str | None) -> EventStatus:
    """ "https://schema.org/EventCancelled", "CANCELLED", "Annulé" → a status."""
    if not text:
        return EventStatus.SCHEDULED
    key = _fold(text).rsplit("/", 1)[-1].strip()
    return _STATUSES.get(key, EventStatus.SCHEDULED)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _text(value: str | None) -> str | None:
    if not value:
        return None
    cleaned = " ".join(re.sub("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]", " ", value).split())
    return cleaned[:MAX_TEXT] or None


def _geo(latitude: str | None, longitude: str | None) -> tuple[float, float] | None:
    try:
        lat, lon = float(str(latitude).replace(",", ".")), float(str(longitude).replace(",", "."))
    except (TypeError, ValueError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or lat != lat or lon != lon:
        return None
    return (round(lat, 6), round(lon, 6))


_RULE_PARTS = {"FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
               "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST"}


def _rrule(text: str | None) -> str | None:
    """An RRULE that RFC 5545 names and dateutil can expand, written back part by part; None
    for anything else: nothing else may reach an .ics."""
    if not text:
        return None
    rule = "".join(text.split()).upper().removeprefix("RRULE:")
    parts = [part.split("=", 1) for part in rule.split(";") if part]
    if not all(len(part) == 2 and part[0] in _RULE_PARTS and
               re.fullmatch(r"[A-Z0-9,+\-]+", part[1]) for part in parts):
        return None
    written = ";".join(f"{name}={value}" for name, value in parts)
    if not written.startswith("FREQ="):
        return None
    utc_until = re.search(r"UNTIL=[0-9T]+Z", written) is not None  # dateutil wants zones alike
    try:
        rrulestr(written, dtstart=datetime(2000, 1, 1, tzinfo=UTC if utc_until else None))
    except (ValueError, TypeError, OverflowError):
        return None
    return written


def _price(text: str | None) -> str | None:
    price = _text(text)
    if price is None:
        return None
    if re.fullmatch(r"0+([.,]0+)?\s*(€|eur|euros?)?|free|gratuit(e)?|entr[ée]e libre.*",
                    price.strip(), re.IGNORECASE):
        return "gratuit"
    return price


def event_from_fields(fields: Mapping[str, str], *, moment: Any, link: Any,
                      phrase: Any = None) -> Event | None:
    """An Event from the fields extract found (text as found), or None without a start.

    `moment(text)` parses one date or date-time (normalise.parse_date's forms, or a date
    alone); `link(url)` gives a URL fit to publish or None; `phrase(text)` reads a French
    phrase ("Le 3 décembre 2026 de 14 h à 18 h") into (start, end)."""
    start = moment(fields.get("start"))
    end = moment(fields.get("end")) if fields.get("end") else None
    if start is None and phrase is not None and fields.get("when"):
        found = phrase(fields["when"])
        if found is not None:
            start, end = found
    if start is None or not _plausible(start):
        return None
    if end is not None and not _plausible(end):
        end = None
    if end is not None and (isinstance(end, datetime) != isinstance(start, datetime)):
        # "2026-12-03" to "2026-12-05T18:00": a date-time span from the start's midnight
        start, end = as_datetime(start), (as_datetime(end) if isinstance(end, datetime) else
                                          ends_at(Event(start=end)))
    if end is not None and as_datetime(end) < as_datetime(start):
        end = None  # an end before the start is a mistake: the start stands alone
    if end == start and not isinstance(start, datetime):
        end = None
    deadline_text = fields.get("registration_deadline")
    deadline = moment(deadline_text) if deadline_text else None
    if deadline is None and deadline_text and phrase is not None:
        found = phrase(deadline_text)
        deadline = found[0] if found else None
    deadline = deadline if deadline is not None and _plausible(deadline) else None
    return Event(
        start=start, end=end, rrule=_rrule(fields.get("rrule")),
        location_name=_text(fields.get("location_name")),
        location_address=_text(fields.get("location_address")),
        geo=_geo(fields.get("latitude"), fields.get("longitude")),
        online_url=link(fields.get("online_url")), organiser=_text(fields.get("organiser")),
        registration_url=link(fields.get("registration_url")),
        registration_deadline=deadline, price=_price(fields.get("price")),
        status=event_status(fields.get("status")), uid=_text(fields.get("uid")))


def _plausible(moment: Moment) -> bool:
    """A year an event may take place in: outside, a typo or a placeholder (and dates near the
    ends of the calendar could not even be converted to UTC by every output)."""
    return MIN_YEAR <= moment.year <= MAX_YEAR


def utc(moment: Moment) -> datetime:
    return as_datetime(moment).astimezone(UTC)
