"""French event phrases → dates, in the page's time zone (Europe/Paris for a French page,
America/Toronto for a Québec one: dates.zone_of_language): "Le 3 décembre 2026 de 14 h à 18 h",
"Du 3 au 5 décembre", "Du 28 décembre 2026 au 3 janvier 2027", "Jusqu'au 15 janvier 2027",
"Tous les mardis de 14 h à 17 h". Pure functions, as normalise.py's date chain.

A phrase without a year takes the one that puts it nearest after `reference` (the page's
publication date): "Du 3 au 5 décembre" read in November 2026 is December 2026, read in
February 2027 it is still December 2026 only if within half a year before.

Entry points: `event_of` (a record's event fields → Event, for normalise.py),
`parse_phrase(text, reference, zone)` → (start, end) and `weekly_rule(text)`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from babel import Locale

from .dates import PARIS, parse_date
from .events import Event, event_from_fields, parse_moment

Moment = date | datetime


def fold(text: str) -> str:
    """Lowercase without accents, typographic apostrophes as ASCII ones."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


_FRENCH = Locale("fr")
_MONTHS = {fold(name).rstrip("."): number
           for width in ("wide", "abbreviated")
           for number, name in _FRENCH.months["format"][width].items()}
_MONTHS.update({"fev": 2, "avr": 4, "juil": 7, "sep": 9, "sept": 9})
_MONTH = "(" + "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True)) + r")\.?"
_WEEKDAYS = {"lundi": "MO", "mardi": "TU", "mercredi": "WE", "jeudi": "TH", "vendredi": "FR",
             "samedi": "SA", "dimanche": "SU"}
_WEEKDAY = r"(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\s+)?"
_DAY = r"(\d{1,2})(?:er)?"
_YEAR = r"(?:\s+(\d{4}))?"
_CLOCK = r"(\d{1,2})\s*(?:h|:)\s*(\d{2})?"  # "14 h", "14h30", "9:05"

# "du 3 au 5 decembre 2026", "du 28 novembre au 2 decembre", "du 28 decembre 2026 au 3 janvier"
_SPAN = re.compile(
    rf"\bdu\s+{_WEEKDAY}{_DAY}(?:\s+{_MONTH}{_YEAR})?(?:\s*(?:a|,)?\s*{_CLOCK})?\s+"
    rf"au\s+{_WEEKDAY}{_DAY}\s+{_MONTH}{_YEAR}(?:\s*(?:a|,)?\s*{_CLOCK})?")
_UNTIL = re.compile(rf"\bjusqu'(?:au|a)\s+(?:le\s+)?{_WEEKDAY}{_DAY}\s+{_MONTH}{_YEAR}")
_DAY_DATE = re.compile(rf"\b{_WEEKDAY}{_DAY}\s+{_MONTH}{_YEAR}")
_HOURS = re.compile(rf"(?:\bde\s+|\b)?{_CLOCK}\s*(?:a|-|–|—|jusqu'a)\s*{_CLOCK}")
_AT = re.compile(rf"(?:\ba|\bdes|partir de)\s+{_CLOCK}")
_EVERY = re.compile(r"\btous les\s+(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)s?\b")


def parse_phrase(text: str | None, reference: date,
                 zone: tzinfo = PARIS) -> tuple[Moment, Moment | None] | None:
    """The dates a French phrase states, or None. A day with hours gives date-times in `zone`
    (the page's, see dates.zone_of_language); a day or span of days gives dates (all-day).
    Start ≤ end, always."""
    if not text:
        return None
    folded = fold(text)
    try:
        return _span(folded, reference, zone) or _until(folded, reference) or \
            _single(folded, reference, zone)
    except (ValueError, OverflowError):  # "31 fevrier", "25 h": no date
        return None


def weekly_rule(text: str | None) -> str | None:
    """ "Tous les mardis" → "FREQ=WEEKLY;BYDAY=TU"."""
    match = _EVERY.search(fold(text or ""))
    return f"FREQ=WEEKLY;BYDAY={_WEEKDAYS[match.group(1)]}" if match else None


def _year(day: int, month: int, year: str | None, reference: date) -> date:
    if year:
        return date(int(year), month, day)
    guess = date(reference.year, month, min(day, 28))
    if guess < reference - timedelta(days=183):  # "3 decembre" read in July: next year's
        return date(reference.year + 1, month, day)
    if guess > reference + timedelta(days=183):  # "3 janvier" read in December... of 2027
        return date(reference.year - 1, month, day)
    return date(reference.year, month, day)


def _span(folded: str, reference: date, zone: tzinfo) -> tuple[Moment, Moment | None] | None:
    match = _SPAN.search(folded)
    if not match:
        return None
    d1, m1, y1, h1, n1, d2, m2, y2, h2, n2 = match.groups()
    last = _year(int(d2), _MONTHS[m2], y2, reference)
    month1 = _MONTHS[m1] if m1 else last.month
    year1 = int(y1) if y1 else (last.year if month1 <= last.month else last.year - 1)
    first = date(year1, month1, int(d1))
    if h1 is not None and h2 is not None:
        return _ordered(_at(first, h1, n1, zone), _at(last, h2, n2, zone))
    if first > last:
        return None
    return first, (last if last != first else None)


def _until(folded: str, reference: date) -> tuple[Moment, Moment | None] | None:
    match = _UNTIL.search(folded)
    if not match:
        return None
    day, month, year = match.groups()
    last = _year(int(day), _MONTHS[month], year, reference)
    first = min(reference, last)  # on show since the page said so
    return first, (last if last != first else None)


def _single(folded: str, reference: date, zone: tzinfo) -> tuple[Moment, Moment | None] | None:
    match = _DAY_DATE.search(folded)
    if not match:
        return None
    day, month, year = match.groups()
    when = _year(int(day), _MONTHS[month], year, reference)
    rest = folded[match.end():match.end() + 60]
    # hours after the day ("le 3 decembre de 14 h a 18 h") or before it ("tous les mardis de
    # 14 h a 17 h a partir du 6 janvier")
    hours = _HOURS.search(rest) or _HOURS.search(folded[max(0, match.start() - 60):match.start()])
    if hours:
        h1, n1, h2, n2 = hours.groups()
        start, end = _at(when, h1, n1, zone), _at(when, h2, n2, zone)
        if _utc(end) <= _utc(start) and int(h2) < int(h1):  # "de 22 h a 2 h": the next day
            end = _at(when + timedelta(days=1), h2, n2, zone)
        return _ordered(start, end)
    at = _AT.search(rest)
    if at:
        hour, minute = at.groups()
        return _at(when, hour, minute, zone), None
    return when, None


def _at(day: date, hour: str, minute: str | None, zone: tzinfo) -> datetime:
    """A wall-clock time in `zone`, as it really reads: 02:30 on the spring-forward day (a time
    that does not exist) is 03:30."""
    hour_n = int(hour)
    if hour_n == 24:
        day, hour_n = day + timedelta(days=1), 0
    wall = datetime.combine(day, time(hour_n, int(minute or 0)), tzinfo=zone)
    return wall.astimezone(UTC).astimezone(zone)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _ordered(start: datetime, end: datetime) -> tuple[Moment, Moment | None]:
    """End never before start (a mistyped phrase, an hour lost to the clock change)."""
    if _utc(end) <= _utc(start):
        return start, None
    return start, end


def event_of(fields: Iterable[tuple[str, str]], on_event_page: bool, reference: datetime,
             link: Callable[[str | None], str | None], zone: tzinfo = PARIS) -> Event | None:
    """The event a record describes: from structured fields (JSON-LD, iCalendar, push) always;
    from French phrases ("Le 3 décembre de 14 h à 18 h") only on an event's own page. Times
    without an offset, in either, are read in `zone` (the page's: dates.zone_of_language);
    `link` gives a URL fit to publish."""
    found = dict(fields)
    if not found or not (found.get("start") or on_event_page):
        return None
    day = reference.astimezone(zone).date()
    if not found.get("rrule") and (rule := weekly_rule(found.get("when"))):
        found["rrule"] = rule

    def moment(text: str | None) -> Moment | None:
        # a date alone stays a date (an all-day event), not its midnight
        text = (text or "").strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                return parse_moment(text)
            except ValueError:
                return None
        parsed = parse_date(text, zone)
        if parsed is None or not re.search(r"\d\s*[h:T]\s*\d", text):
            phrase = parse_phrase(text, day, zone)
            return phrase[0] if phrase else parsed
        return parsed

    return event_from_fields(found, moment=moment, link=link,
                             phrase=lambda text: parse_phrase(text, day, zone))
