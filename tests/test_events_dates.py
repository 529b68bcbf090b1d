"""French event phrases → dates in Europe/Paris (golden cases and a Hypothesis property across
the clock changes), and the event model: stored and read back, SEQUENCE, upcoming, recurrences."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndication.eventdates import parse_phrase, weekly_rule
from syndication.events import (
    Event,
    EventStatus,
    is_upcoming,
    next_start,
    occurrences,
    revise,
)
from syndication.model import Item, ItemKind, RawRecord, Source
from syndication.normalise import normalise, reconcile

PARIS = ZoneInfo("Europe/Paris")
REFERENCE = date(2026, 11, 20)


def paris(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=PARIS)  # type: ignore[misc]


@pytest.mark.parametrize(("phrase", "start", "end"), [
    ("Le 3 décembre 2026 de 14 h à 18 h", paris(2026, 12, 3, 14), paris(2026, 12, 3, 18)),
    ("Le jeudi 3 décembre 2026, de 9h30 à 12h", paris(2026, 12, 3, 9, 30),
     paris(2026, 12, 3, 12)),
    ("Le 1er décembre 2026 à 18 h 30", paris(2026, 12, 1, 18, 30), None),
    ("Le 3 décembre 2026", date(2026, 12, 3), None),
    ("Du 3 au 5 décembre", date(2026, 12, 3), date(2026, 12, 5)),
    ("Du 3 au 5 décembre 2027", date(2027, 12, 3), date(2027, 12, 5)),
    ("Du 28 novembre au 2 décembre 2026", date(2026, 11, 28), date(2026, 12, 2)),
    ("Du 28 décembre 2026 au 3 janvier 2027", date(2026, 12, 28), date(2027, 1, 3)),
    ("Du 3 décembre 2026 à 10 h au 5 décembre 2026 à 18 h", paris(2026, 12, 3, 10),
     paris(2026, 12, 5, 18)),
    ("Jusqu’au 15 janvier 2027", REFERENCE, date(2027, 1, 15)),
    ("Date limite de dépôt : 15 janvier 2027 à 12 h", paris(2027, 1, 15, 12), None),
    ("Le 12 décembre de 22 h à 2 h", paris(2026, 12, 12, 22), paris(2026, 12, 13, 2)),
    ("Le 3 janvier de 10 h à 11 h", paris(2027, 1, 3, 10), paris(2027, 1, 3, 11)),
    # 29 March 2026: 02:00 → 03:00 in Paris; 02:30 does not exist and reads as 03:30
    ("Le 29 mars 2026 de 1 h à 4 h", paris(2026, 3, 29, 1), paris(2026, 3, 29, 4)),
    ("Le 29 mars 2026 de 2 h 30 à 3 h", paris(2026, 3, 29, 3, 30), None),
])
def test_french_phrases(phrase: str, start: object, end: object) -> None:
    assert parse_phrase(phrase, REFERENCE) == (start, end)


@pytest.mark.parametrize("phrase", ["", "Publié en décembre", "Le 31 février 2027 de 14 h à 16 h",
                                    "Le 3 décembre 2026 de 25 h à 26 h", "du au"])
def test_what_is_no_date_gives_none(phrase: str) -> None:
    assert parse_phrase(phrase, REFERENCE) is None


def test_across_the_autumn_change_the_hours_stay_in_order() -> None:
    start, end = parse_phrase("Le 25 octobre 2026 de 1 h à 4 h", REFERENCE)  # type: ignore[misc]
    assert isinstance(start, datetime) and isinstance(end, datetime)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=4)  # 3 o'clock twice


def test_a_phrase_is_read_in_the_zone_it_is_given() -> None:
    montreal = ZoneInfo("America/Toronto")
    start, end = parse_phrase("Le 3 décembre 2026 de 14 h à 18 h", REFERENCE,  # type: ignore[misc]
                              montreal)
    assert (start, end) == (datetime(2026, 12, 3, 14, tzinfo=montreal),
                            datetime(2026, 12, 3, 18, tzinfo=montreal))
    assert start.astimezone(UTC).hour == 19  # not 13, as the same words read in Paris


def test_tous_les_mardis_is_weekly() -> None:
    assert weekly_rule("Permanence tous les mardis de 14 h à 17 h") == "FREQ=WEEKLY;BYDAY=TU"
    assert weekly_rule("Le mardi 3 décembre") is None


MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]
DST_DAYS = [date(2026, 3, 29), date(2026, 10, 25), date(2027, 3, 28), date(2027, 10, 31)]


@given(day=st.one_of(st.sampled_from(DST_DAYS), st.dates(date(2000, 1, 1), date(2100, 12, 31))),
       first=st.integers(0, 23), last=st.integers(0, 24), minutes=st.sampled_from([0, 15, 30]),
       span=st.integers(0, 40), form=st.integers(0, 3))
def test_start_is_never_after_end_in_paris(day: date, first: int, last: int, minutes: int,
                                           span: int, form: int) -> None:
    month = MONTHS[day.month - 1]
    later = day + timedelta(days=span)
    phrase = [
        f"Le {day.day} {month} {day.year} de {first} h {minutes:02d} à {last} h",
        f"Du {day.day} {month} {day.year} au {later.day} {MONTHS[later.month - 1]} {later.year}",
        f"Le {day.day} {month} {day.year} à {first} h {minutes:02d}",
        f"Du {day.day} {month} {day.year} à {first} h au {later.day} "
        f"{MONTHS[later.month - 1]} {later.year} à {last % 24} h",
    ][form]
    found = parse_phrase(phrase, REFERENCE)
    assert found is not None, phrase
    start, end = found
    for moment in (start, end):
        if isinstance(moment, datetime):
            assert moment.tzinfo == PARIS
    if end is not None:
        assert type(start) is type(end)
        low = start.astimezone(UTC) if isinstance(start, datetime) else start
        high = end.astimezone(UTC) if isinstance(end, datetime) else end
        assert low <= high, phrase  # type: ignore[operator]


# --- the model ---------------------------------------------------------------------------

NOW = datetime(2026, 12, 6, 10, tzinfo=UTC)
SOURCE = Source(id="agenda-pages", url="https://example.org/agenda", publisher="p",
                kind=ItemKind.EVENEMENT)


def event_record(**fields: str) -> RawRecord:
    return RawRecord(url="https://example.org/agenda/forum", title="Forum", kind="Event",
                     content_html="<p>Forum</p>", event=tuple(fields.items()))


def test_an_event_round_trips_through_its_stored_form() -> None:
    item = normalise(event_record(
        start="2026-12-03T14:00:00+01:00", end="2026-12-03T18:00:00+01:00",
        location_name="Grande Halle", location_address="Paris", latitude="48.89",
        longitude="2.39", registration_url="/inscription", registration_deadline="2026-12-01",
        price="0 €", status="https://schema.org/EventCancelled", rrule="FREQ=WEEKLY;BYDAY=TH",
        online_url="javascript:alert(1)", organiser="Région"), SOURCE, NOW)
    assert item.kind == ItemKind.EVENEMENT and item.event is not None
    assert item.event.status == EventStatus.CANCELLED and item.event.price == "gratuit"
    assert item.event.registration_url == "https://example.org/inscription"
    assert item.event.online_url is None  # never a javascript: link
    assert item.event.registration_deadline == date(2026, 12, 1)
    assert Item.from_dict(item.to_dict()) == item


def test_all_day_and_multi_day_events() -> None:
    item = normalise(event_record(start="2026-12-03", end="2026-12-05"), SOURCE, NOW)
    assert item.event is not None and item.event.all_day
    assert is_upcoming(item.event, paris(2026, 12, 5, 23, 59))  # ongoing until its last day ends
    assert not is_upcoming(item.event, paris(2026, 12, 6, 0, 0))


def test_a_french_phrase_makes_an_event_only_of_an_event_page() -> None:
    phrase = (("when", "Le 3 décembre 2026 de 14 h à 18 h"), ("location_name", "Salle des fêtes"))
    news = Source(id="news", url="https://example.org/news", publisher="p")
    record = RawRecord(url="https://example.org/n", title="N", event=phrase)
    assert normalise(record, news, NOW).event is None
    event = normalise(record, SOURCE, NOW).event
    assert event is not None and event.start == paris(2026, 12, 3, 14)
    assert event.location_name == "Salle des fêtes"


def test_sequence_and_updated_move_when_date_or_status_change() -> None:
    old = normalise(event_record(start="2026-12-03T14:00:00+01:00"), SOURCE, NOW)
    same = reconcile(old, normalise(event_record(start="2026-12-03T14:00:00+01:00"), SOURCE,
                                    NOW + timedelta(hours=1)))
    assert same is None
    later = NOW + timedelta(days=1)
    moved = reconcile(old, normalise(event_record(start="2026-12-10T14:00:00+01:00"), SOURCE,
                                     later))
    assert moved is not None and moved.event is not None
    assert moved.id == old.id and moved.event.sequence == 1 and moved.updated == later
    cancelled = reconcile(moved, normalise(event_record(start="2026-12-10T14:00:00+01:00",
                                                        status="cancelled"), SOURCE, later))
    assert cancelled is not None and cancelled.event is not None
    assert cancelled.event.sequence == 2 and cancelled.event.cancelled


def test_revise_keeps_the_sequence_when_nothing_changed() -> None:
    event = Event(start=date(2026, 12, 3), sequence=4)
    assert revise(event, replace(event, sequence=0)) == event
    assert revise(event, replace(event, sequence=0, price="5 €")).sequence == 5  # type: ignore


def test_unbounded_recurrences_cost_bounded_work() -> None:
    every_minute = Event(start=paris(2026, 1, 1, 0), rrule="FREQ=MINUTELY")
    found = occurrences(every_minute, NOW)
    assert 0 < len(found) <= 200
    weekly = Event(start=paris(2026, 1, 6, 14), end=paris(2026, 1, 6, 17),
                   rrule="FREQ=WEEKLY;BYDAY=TU")
    assert next_start(weekly, NOW) == paris(2026, 12, 8, 14)
    assert is_upcoming(weekly, NOW)
    ended = Event(start=paris(2025, 1, 6, 14), rrule="FREQ=WEEKLY;COUNT=3")
    assert not is_upcoming(ended, NOW)
