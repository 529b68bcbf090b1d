"""iCalendar sources: files as calendars publish them (Google's X-WR-TIMEZONE, no VTIMEZONE,
floating times, lost folding, huge files, endless recurrences, events without DTSTART) each
read with bounded work, a warning that names the event, and the rest ingested; and a real
refresh of an `ical` source over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from redis import Redis

from syndication.extract.ical import MAX_OCCURRENCES, parse_calendar
from syndication.model import Catalogue, Feed, ItemKind, Publisher, Source, SourceType
from syndication.normalise import normalise
from syndication.refresh import refresh

from .conftest import make_runtime

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 6, 10, tzinfo=UTC)
URL = "https://partenaire.example/agenda.ics"
SOURCE = Source(id="partenaire", url=URL, publisher="p", type=SourceType.ICAL,
                kind=ItemKind.EVENEMENT)


def calendar(*events: str, head: str = "") -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//FR\r\n" + head +
            "".join(events) + "END:VCALENDAR\r\n").encode()


def vevent(uid: str, summary: str, *lines: str) -> str:
    return ("BEGIN:VEVENT\r\n" f"UID:{uid}\r\nSUMMARY:{summary}\r\n" +
            "".join(f"{line}\r\n" for line in lines) + "END:VEVENT\r\n")


def items(body: bytes, now: datetime = NOW) -> tuple[dict[str, object], list[str]]:
    parsed = parse_calendar(body, URL, now)
    found: dict[str, object] = {}
    for _, record in parsed.records:  # the first occurrence of each
        found.setdefault(record.title or "", normalise(record, SOURCE, now))
    return found, parsed.warnings  # type: ignore[return-value]


def test_google_calendar_x_wr_timezone_and_floating_times() -> None:
    body = calendar(
        vevent("a@google.com", "Réunion", "DTSTART:20261210T130000Z", "DTEND:20261210T150000Z",
               "RRULE:FREQ=WEEKLY;COUNT=30", "LOCATION:Salle du conseil\\, Melun"),
        vevent("b@google.com", "Atelier", "DTSTART:20261211T100000", "DTEND:20261211T120000"),
        head="X-WR-TIMEZONE:Europe/Paris\r\n")
    found, warnings = items(body)
    meeting = found["Réunion"]
    assert meeting.event.start == datetime(2026, 12, 10, 14, tzinfo=PARIS)  # type: ignore
    assert meeting.event.location_name == "Salle du conseil, Melun"  # type: ignore
    atelier = found["Atelier"]
    assert atelier.event.start == datetime(2026, 12, 11, 10, tzinfo=PARIS)  # type: ignore
    assert atelier.kind == ItemKind.EVENEMENT


def test_a_recurring_event_keeps_its_wall_clock_across_the_clock_change() -> None:
    body = calendar(vevent("w", "Permanence", "DTSTART;TZID=Europe/Paris:20261006T140000",
                           "DTEND;TZID=Europe/Paris:20261006T170000",
                           "RRULE:FREQ=WEEKLY;BYDAY=TU",
                           "EXDATE;TZID=Europe/Paris:20261215T140000"))
    parsed = parse_calendar(body, URL, NOW)
    starts = [dict(record.event)["start"] for _, record in parsed.records]
    assert starts[0] == "2026-11-10T14:00:00+01:00"  # a month back: just over, kept as it was
    starts = [start for start in starts if start > "2026-12-06"]
    assert starts[:3] == ["2026-12-08T14:00:00+01:00", "2026-12-22T14:00:00+01:00",
                          "2026-12-29T14:00:00+01:00"]  # the 15th is excluded
    assert "2027-04-06T14:00:00+02:00" in starts  # summer time: still 14 h
    assert any("repeats without end" in w and "Permanence" in w for w in parsed.warnings)
    assert len(starts) <= MAX_OCCURRENCES
    uids = [dict(record.event)["uid"] for _, record in parsed.records]
    assert len(set(uids)) == len(uids) and "w/2026-12-08T14:00:00+01:00" in uids


def test_an_endless_rule_every_minute_since_2010_costs_bounded_work() -> None:
    body = calendar(vevent("m", "Chaque minute", "DTSTART:20100101T000000Z", "RRULE:FREQ=MINUTELY"),
                    vevent("n", "Ordinaire", "DTSTART;VALUE=DATE:20261220"))
    parsed = parse_calendar(body, URL, NOW)
    titles = [record.title for _, record in parsed.records]
    assert titles.count("Chaque minute") == MAX_OCCURRENCES
    assert "Ordinaire" in titles


def test_bad_events_are_named_and_the_rest_ingested() -> None:
    body = calendar(
        vevent("x", "Sans date", "DESCRIPTION:rien"),
        vevent("y", "Flottant", "DTSTART:20261220T100000"),
        vevent("z", "Zone inconnue sans VTIMEZONE", "DTSTART;TZID=Europe/Paris:20261221T100000"),
        vevent("h", "<script>alert(1)</script>Titre", "DTSTART;VALUE=DATE:20261222",
               "DESCRIPTION:<img src=x onerror=alert(1)>Texte",
               "URL:javascript:alert(1)", "GEO:91;500"),
    )
    found, warnings = items(body)
    assert any("'Sans date'" in w and "DTSTART" in w for w in warnings)
    assert any("'Flottant'" in w and "floating" in w for w in warnings)
    assert found["Flottant"].event.start == datetime(2026, 12, 20, 10, tzinfo=PARIS)  # type: ignore
    assert found["Zone inconnue sans VTIMEZONE"].event.start == datetime(  # type: ignore
        2026, 12, 21, 10, tzinfo=PARIS)
    hostile = found["<script>alert(1)</script>Titre"]
    assert "<img" not in hostile.content_html  # type: ignore  # text, escaped: no element
    assert hostile.title == "<script>alert(1)</script>Titre"  # type: ignore  # text: escaped by outputs
    assert hostile.url == URL and hostile.event.geo is None  # type: ignore


def test_lost_folding_is_repaired_and_said() -> None:
    body = calendar(vevent("f", "Un titre", "DTSTART;VALUE=DATE:20261220",
                           "DESCRIPTION:une description coupée", "sans espace de pliage"))
    found, warnings = items(body)
    assert found["Un titre"].summary == "une description coupéesans espace de pliage"  # type: ignore
    assert any("folding" in w for w in warnings)


def test_a_file_that_does_not_parse_whole_is_read_event_by_event() -> None:
    body = calendar(vevent("ok", "Bon", "DTSTART;VALUE=DATE:20261220"),
                    vevent("ko", "Mauvais", "DTSTART:pas-une-date"),
                    vevent("ok2", "Bon aussi", "DTSTART;VALUE=DATE:20261221"))
    found, warnings = items(body)
    assert {"Bon", "Bon aussi"} <= set(found)
    assert "Mauvais" not in found
    assert warnings


def test_ten_thousand_events() -> None:
    events = [vevent(f"e{n}", f"Événement {n}",
                     f"DTSTART;VALUE=DATE:{(date(2026, 12, 7) + timedelta(days=n % 300)):%Y%m%d}")
              for n in range(10_000)]
    parsed = parse_calendar(calendar(*events), URL, NOW)
    assert len(parsed.records) == 10_000


# --- a real refresh over HTTP ------------------------------------------------------------


class CalendarServer(ThreadingHTTPServer):
    daemon_threads = True
    body = b""


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = self.server.body  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[CalendarServer]:
    httpd = CalendarServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_an_ical_source_is_refreshed_into_its_feed(server: CalendarServer, redis_client: Redis,
                                                   prefix: str) -> None:
    now = datetime.now(UTC)
    soon = (now + timedelta(days=3)).strftime("%Y%m%d")
    server.body = calendar(
        vevent("forum@partenaire", "Forum", f"DTSTART;VALUE=DATE:{soon}", "STATUS:CONFIRMED"),
        vevent("sans-date", "Sans date"),
        head="X-WR-TIMEZONE:Europe/Paris\r\n")
    url = f"http://127.0.0.1:{server.server_port}/agenda.ics"
    source = Source(id="partenaire", url=url, publisher="p", type=SourceType.ICAL,
                    kind=ItemKind.EVENEMENT)
    catalogue = Catalogue(publishers={"p": Publisher("p", "Partenaire", url)},
                          sources={"partenaire": source},
                          feeds={"agenda": Feed("agenda", "Agenda", "p", ("partenaire",))})
    runtime = make_runtime(redis_client, prefix, catalogue)
    try:
        result = refresh(source, runtime)
        assert result.outcome == "ok", result
        stored = runtime.store.feed_items("agenda", limit=10)
        assert [item.title for item in stored] == ["Forum"]
        assert stored[0].event is not None and stored[0].event.uid == "forum@partenaire"
        assert any("Sans date" in w for w in runtime.store.source_status("partenaire").warnings)
        server.body = server.body.replace(b"STATUS:CONFIRMED", b"STATUS:CANCELLED")
        assert refresh(source, runtime).outcome == "ok"
        again = runtime.store.feed_items("agenda", limit=10)
        assert again[0].id == stored[0].id and again[0].event is not None
        assert again[0].event.cancelled and again[0].event.sequence == 1
    finally:
        runtime.fetcher.close()
