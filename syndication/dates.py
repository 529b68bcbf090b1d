"""Dates as pages write them → timezone-aware datetimes. Entry point: `parse_date`.

A chain of parsers, each trying one family of forms (as feedparser does): ISO 8601 (also with a
zone name in it: "2016-08-15CEST10:01:00+0200", "…T03:00:00 UTC"), French ("Publié le 1er mars
2026 à 14h30"), numeric day first (12/03/2026, 01-11-2023), RFC 2822 ("Wed, 04 May 2022 02:41:00
GMT"), then python-dateutil for the rest ("Fri Apr 28 19:20:36 CEST 2023", "Oct 31, 2025",
"20200316T13:00:00Z"). A time without a zone is wall-clock time in the page's zone: the one its
language and country point to (`zone_of_language`: "fr-CA" → America/Toronto, "de" →
Europe/Berlin), else Europe/Paris. A date alone is midnight in that zone, so the same calendar
day as the page states it (feeds write the offset, so no reader sees the day before).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from dateutil import parser as dateutil_parser

PARIS = ZoneInfo("Europe/Paris")
# The zone most of a country lives in, for the countries that have several (CLDR lists their
# zones alphabetically, and names a primary zone for few of them).
MAIN_ZONES = {"CA": "America/Toronto", "US": "America/New_York", "AU": "Australia/Sydney",
              "BR": "America/Sao_Paulo", "RU": "Europe/Moscow", "MX": "America/Mexico_City",
              "ES": "Europe/Madrid", "PT": "Europe/Lisbon", "DE": "Europe/Berlin",
              "NZ": "Pacific/Auckland", "AR": "America/Argentina/Buenos_Aires",
              "CL": "America/Santiago", "ID": "Asia/Jakarta", "KZ": "Asia/Almaty",
              "CN": "Asia/Shanghai", "UA": "Europe/Kyiv", "EC": "America/Guayaquil",
              "CD": "Africa/Kinshasa", "MY": "Asia/Kuala_Lumpur", "PF": "Pacific/Tahiti"}
# Languages written in many countries: alone, they say nothing of the page's zone.
WORLD_LANGUAGES = frozenset({"en", "es", "pt", "ar", "ru", "zh", "sw", "ms", "hi"})
MIN_YEAR, MAX_YEAR = 1900, 2200  # outside: a typo or a placeholder, not a publication date


def fold(text: str) -> str:
    """Lowercase without accents: "Février" → "fevrier"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def zone_of_language(lang: str | None) -> tzinfo:
    """The zone a page's language tag points to: its country's ("fr-CA", "en_GB"), else the
    country the language alone is most spoken in ("de", "it"; not "en", written everywhere),
    else Europe/Paris."""
    if not lang:
        return PARIS
    try:
        locale = Locale.parse(lang.strip().replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return PARIS
    territory = locale.territory
    if territory is None:
        if locale.language in WORLD_LANGUAGES:
            return PARIS
        likely = get_global("likely_subtags").get(locale.language, "")
        territory = likely.rsplit("_", 1)[-1] if "_" in likely else ""
    zones = get_global("territory_zones").get(territory, ())
    name = zones[0] if len(zones) == 1 else MAIN_ZONES.get(territory)
    return ZoneInfo(name) if name else PARIS


def parse_date(text: str | None, zone: tzinfo = PARIS) -> datetime | None:
    """The date a text states, timezone-aware; None when it states no whole, possible date. A
    text without an offset is wall-clock time in `zone` (see `zone_of_language`)."""
    if not text or not text.strip() or len(text) > 300:
        return None
    for parser in (_parse_iso, _parse_french, _parse_numeric, _parse_rfc2822, _parse_other):
        try:
            parsed = parser(text.strip(), zone)
            # Every output converts dates to UTC or Paris time: one that cannot be (year 1 or
            # 9999 near a day's edge) would break them all, so it is no date.
            if parsed is not None:
                parsed.astimezone(UTC)
        except (ValueError, OverflowError, TypeError, IndexError):
            parsed = None
        if parsed is not None and MIN_YEAR <= parsed.year <= MAX_YEAR:
            return parsed
    return None


# --- ISO 8601 --------------------------------------------------------------------------------

# A zone's name where the "T" belongs ("2016-08-15CEST10:01:00+0200"), or after the time
# ("2023-01-01T03:00:00 UTC", "… GMT"): the offset, when there is one, says the same.
_ZONE_AS_T = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*[A-Z]{3,4}\s*(?=\d{2}:\d{2})")
_TRAILING_ZONE = re.compile(r"\s*(?:UTC|GMT|Z)$")
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")  # +0200 → +02:00 (Python < 3.11 forms)


def _parse_iso(text: str, zone: tzinfo) -> datetime | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    if len(text) == 10:
        return _at(date.fromisoformat(text), 0, 0, zone)
    text = _ZONE_AS_T.sub(r"\1T", text)
    if _TRAILING_ZONE.search(text) and not re.search(r"[+-]\d{2}:?\d{2}\s*(?:UTC|GMT|Z)$", text):
        text = _TRAILING_ZONE.sub("+00:00", text)
    text = _COMPACT_OFFSET.sub(r"\1:\2", text.replace(" ", "T", 1) if re.match(
        r"^\d{4}-\d{2}-\d{2} \d", text) else text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


# --- French and numeric ----------------------------------------------------------------------

_FRENCH = Locale("fr")
_MONTHS = {fold(name).rstrip("."): number
           for width in ("wide", "abbreviated")
           for number, name in _FRENCH.months["format"][width].items()}
_MONTHS.update({"fev": 2, "avr": 4, "juil": 7, "sep": 9})  # abbreviations seen besides CLDR's
_MONTH_PATTERN = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
_TIME = r"(?:\s*(?:a|,|-)?\s*(\d{1,2})\s*[h:]\s*(\d{2})?)?"  # " à 14h30", ", 9:05"
_FRENCH_DATE = re.compile(
    rf"\b(\d{{1,2}})(?:er)?\s+({_MONTH_PATTERN})\.?\s+(\d{{4}})" + _TIME)
# Day first, as in French: 12/03/2026, 12.03.2026, 01-11-2023 (the same separator twice).
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})([/.-])(\d{1,2})\2(\d{4})\b" + _TIME)


def _parse_french(text: str, zone: tzinfo) -> datetime | None:
    match = _FRENCH_DATE.search(fold(text))
    if not match:
        return None
    day, month, year, hour, minute = match.groups()
    return _at(date(int(year), _MONTHS[month], int(day)), int(hour or 0), int(minute or 0),
               zone)


def _parse_numeric(text: str, zone: tzinfo) -> datetime | None:
    match = _NUMERIC_DATE.search(fold(text))
    if not match:
        return None
    day, _, month, year, hour, minute = match.groups()
    return _at(date(int(year), int(month), int(day)), int(hour or 0), int(minute or 0), zone)


def _at(day: date, hour: int, minute: int, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


# --- RFC 2822 and the rest ----------------------------------------------------------------------


def _parse_rfc2822(text: str, zone: tzinfo) -> datetime | None:
    if not re.match(r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d", text):
        return None
    parsed = parsedate_to_datetime(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


# Zone abbreviations pages write; dateutil knows only UTC and the machine's own.
_ZONES: dict[str, tzinfo] = {
    name: timezone(timedelta(hours=hours)) for name, hours in (
        ("CET", 1), ("CEST", 2), ("MEZ", 1), ("MESZ", 2), ("WET", 0), ("WEST", 1),
        ("EET", 2), ("EEST", 3), ("BST", 1), ("IST", 1), ("EST", -5), ("EDT", -4),
        ("CST", -6), ("CDT", -5), ("MST", -7), ("MDT", -6), ("PST", -8), ("PDT", -7),
        ("JST", 9), ("AEST", 10), ("AEDT", 11))}
_ZONES.update({"UTC": UTC, "GMT": UTC, "Z": UTC})
# North America's generic names ("12:00 ET"), standard or daylight time as the day has it.
_ZONES.update({name: ZoneInfo(zone) for name, zone in (
    ("ET", "America/New_York"), ("CT", "America/Chicago"), ("MT", "America/Denver"),
    ("PT", "America/Los_Angeles"))})
_FAR_APART = (datetime(2000, 1, 1), datetime(2001, 2, 2))  # defaults no real date has both


def _parse_other(text: str, zone: tzinfo) -> datetime | None:
    """English and compact forms, by dateutil. It fills what a text leaves out from a default,
    so the text is read against two defaults: a text that does not state its year, month and day
    reads differently against each, and is no date ("March 2026", "12 h")."""
    year = re.search(r"\d{4}", text)
    if year is None or not re.search(r"\d", text.replace(year[0], "", 1)):  # and a day
        return None
    # The forms the parsers above own: what they could not read is no date ("12/13/2026" is
    # not month first, "2026-13-01" not year-day-month).
    if _NUMERIC_DATE.search(text) or re.match(r"^\d{4}-\d{1,2}-\d{1,2}", text):
        return None
    readings = [dateutil_parser.parse(text, default=default, tzinfos=_ZONES, dayfirst=True)
                for default in _FAR_APART]
    if readings[0] != readings[1]:
        return None
    parsed = readings[0]
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
