"""Events pushed to the agenda come out as events: /feeds/agenda.ics (RFC 5545, read back by
icalendar and by vobject, an independent parser), one event's .ics, JSON Feed and /api/items with
the event fields, RSS/Atom with a French line on top, upcoming events only by start."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import icalendar
import pytest
import vobject
from bs4 import BeautifulSoup
from redis import Redis

from syndication.app import create_app
from syndication.model import Catalogue
from syndication.push import pushed_item_id
from syndication.runtime import Runtime

from .conftest import make_runtime

ADMIN = "admin-secret-for-tests"
NOW = datetime.now(UTC).replace(microsecond=0)
PARIS = ZoneInfo("Europe/Paris")


def at(days: float, hour: int = 14) -> str:
    """A Paris date-time `days` from today at `hour`, as RFC 3339 with its offset."""
    moment = (NOW + timedelta(days=days)).astimezone(PARIS)
    return moment.replace(hour=hour, minute=0, second=0).isoformat()


def day(days: int) -> str:
    return (NOW + timedelta(days=days)).date().isoformat()


def entry(identifier: str, title: str, event: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": identifier, "url": f"https://www.iledefrance.fr/agenda/{identifier}",
            "title": title, "published": (NOW - timedelta(days=10)).isoformat(),
            "summary": f"{title}: résumé.", "event": event, **extra}


def batch() -> dict[str, Any]:
    return {"source": "agenda", "items": [
        entry("forum", "Forum de l’emploi", {
            "start": at(5), "end": at(5, 18), "status": "scheduled",
            "location": {"name": "Grande Halle de la Villette",
                         "address": "211 av. Jean-Jaurès, Paris",
                         "geo": {"latitude": 48.8913, "longitude": 2.3903}},
            "registration": {"url": "https://www.iledefrance.fr/agenda/forum#inscription",
                             "deadline": day(3)},
            "price": "Gratuit"}),
        entry("salon", "Salon annulé", {"start": at(2), "end": at(2, 17), "status": "cancelled",
                                         "location": {"name": "Paris Expo"}}),
        entry("past", "Conférence passée", {"start": at(-3), "end": at(-3, 16)}),
        entry("expo", "Exposition en cours", {"start": day(-2), "end": day(4)}),
        entry("hostile", "Piège\r\nBEGIN:VEVENT<script>", {
            "start": at(9), "location": {"name": "Salle;A,\nEND:VCALENDAR"}},
              summary="Ligne 1\nEND:VEVENT\nBEGIN:VALARM"),
    ]}


@pytest.fixture
def service(redis_client: Redis, prefix: str, catalogue: Catalogue) -> Iterator[Runtime]:
    runtime = make_runtime(redis_client, prefix, catalogue, admin_token=ADMIN)
    yield runtime
    runtime.fetcher.close()


@pytest.fixture
def web(service: Runtime) -> Iterator[Any]:
    app = create_app(runtime=service)
    yield app.test_client()
    app.extensions["syndication.cache"].close()


@pytest.fixture
def token(web: Any) -> str:
    answer = web.post("/api/publishers/sample-site/tokens", json={"label": "tests"},
                      headers={"Authorization": f"Bearer {ADMIN}"})
    assert answer.status_code == 201, answer.json
    return str(answer.json["token"])


def push(web: Any, token: str, payload: Any) -> Any:
    return web.post("/api/items", json=payload, headers={"Authorization": f"Bearer {token}"})


def vevents(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(event["summary"]): event for event in calendar.walk("VEVENT")}


def test_the_agenda_ics_is_read_by_two_independent_parsers(web: Any, token: str) -> None:
    assert push(web, token, batch()).status_code == 200
    answer = web.get("/feeds/agenda.ics")
    assert answer.status_code == 200
    assert answer.content_type == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(answer.data)
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    events = vevents(answer.data)
    # upcoming by default: the past conference left, the ongoing exhibition stays
    assert "Conférence passée" not in events
    assert "Exposition en cours" in events
    forum = events["Forum de l’emploi"]
    assert forum["dtstart"].dt.tzinfo is not None and str(forum["dtstart"].params["TZID"]) == \
        "Europe/Paris"
    assert forum["dtend"].dt - forum["dtstart"].dt == timedelta(hours=4)
    assert forum["location"] == "Grande Halle de la Villette, 211 av. Jean-Jaurès, Paris"
    assert (forum["geo"].latitude, forum["geo"].longitude) == (48.8913, 2.3903)
    assert forum["url"] == "https://www.iledefrance.fr/agenda/forum"
    assert forum["status"] == "CONFIRMED" and "dtstamp" in forum and forum["sequence"] == 0
    assert "Tarif : gratuit" in forum["description"]
    assert "<" not in forum["description"]
    cancelled = events["Annulé : Salon annulé"]
    assert cancelled["status"] == "CANCELLED"
    exhibition = events["Exposition en cours"]
    assert exhibition["dtstart"].dt == date.fromisoformat(day(-2))
    assert exhibition["dtend"].dt == date.fromisoformat(day(5))  # exclusive
    # a second, independent parser reads the same events
    parsed = vobject.readOne(answer.data.decode())
    summaries = sorted(str(event.summary.value) for event in parsed.vevent_list)
    assert summaries == sorted(events)
    assert {str(e.uid.value) for e in parsed.vevent_list} == {str(e["uid"]) for e in
                                                             events.values()}


def test_nothing_in_an_event_becomes_ical_structure(web: Any, token: str) -> None:
    assert push(web, token, batch()).status_code == 200
    body = web.get("/feeds/agenda.ics").data
    calendar = icalendar.Calendar.from_ical(body)
    assert len(calendar.walk("VCALENDAR")) == 1
    assert len(calendar.walk("VALARM")) == 0
    assert len(calendar.walk("VEVENT")) == 4  # the hostile title opened no event of its own
    hostile = next(e for e in calendar.walk("VEVENT") if "Piège" in str(e["summary"]))
    assert "\n" not in str(hostile["summary"]) and "<script>" in str(hostile["summary"])
    assert str(hostile["location"]) == "Salle;A, END:VCALENDAR"
    for line in body.split(b"\r\n"):
        assert line == b"" or line.startswith((b" ", b"\t")) or b":" in line or b";" in line
        assert not line.startswith((b"BEGIN:VALARM", b"END:VCALENDAR\r"))
    lines = body.split(b"\r\n")
    assert lines.count(b"BEGIN:VEVENT") == 4 and lines.count(b"END:VCALENDAR") == 1


def test_uid_stays_and_sequence_grows_when_the_event_changes(web: Any, token: str,
                                                            service: Runtime) -> None:
    payload = batch()
    assert push(web, token, payload).status_code == 200
    before = vevents(web.get("/feeds/agenda.ics").data)["Forum de l’emploi"]
    member = f"agenda/{pushed_item_id('agenda', 'forum')}"
    updated_before = service.store.stored_items([member])[member].updated
    assert push(web, token, payload).json["unchanged"] == 5  # same again: nothing moves
    payload["items"][0]["event"]["status"] = "postponed"
    assert push(web, token, payload).json["updated"] == 1
    after = vevents(web.get("/feeds/agenda.ics").data)["Reporté : Forum de l’emploi"]
    assert after["uid"] == before["uid"]
    assert after["sequence"] == before["sequence"] + 1
    assert after["status"] == "TENTATIVE"
    stored = service.store.stored_items([member])[member]
    assert stored.updated > updated_before
    assert stored.event is not None and stored.event.status == "postponed"


def test_one_events_ics_for_the_add_to_calendar_link(web: Any, token: str) -> None:
    assert push(web, token, batch()).status_code == 200
    item_id = pushed_item_id("agenda", "salon")
    answer = web.get(f"/feeds/agenda/events/{item_id}.ics")
    assert answer.status_code == 200 and answer.content_type.startswith("text/calendar")
    events = icalendar.Calendar.from_ical(answer.data).walk("VEVENT")
    assert [str(e["status"]) for e in events] == ["CANCELLED"]
    assert vobject.readOne(answer.data.decode()).vevent.status.value == "CANCELLED"
    assert web.get("/feeds/agenda/events/no-such-event.ics").status_code == 404
    assert web.get(f"/feeds/actualites/events/{item_id}.ics").status_code == 404


def test_json_feed_lists_upcoming_events_by_start_with_their_fields(web: Any,
                                                                   token: str) -> None:
    assert push(web, token, batch()).status_code == 200
    feed = json.loads(web.get("/feeds/agenda.json?upcoming=1").data)
    titles = [item["title"] for item in feed["items"]]
    assert titles == ["Exposition en cours", "Salon annulé", "Forum de l’emploi",
                      "Piège BEGIN:VEVENT<script>"]
    event = feed["items"][2]["_syndication"]["event"]
    assert event["start"] == at(5) and event["status"] == "scheduled"
    assert event["geo"] == [48.8913, 2.3903] and event["price"] == "gratuit"
    assert feed["items"][1]["_syndication"]["event"]["status"] == "cancelled"
    every = json.loads(web.get("/feeds/agenda.json?upcoming=0").data)
    assert [item["title"] for item in every["items"]][0] == "Conférence passée"
    window = json.loads(web.get(f"/feeds/agenda.json?from={day(4)}&to={day(6)}").data)
    assert [item["title"] for item in window["items"]] == ["Exposition en cours",
                                                           "Forum de l’emploi"]
    assert web.get("/feeds/agenda.json?upcoming=yes").status_code == 400
    api = web.get("/api/items?feed=agenda&upcoming=1").json
    assert [item["title"] for item in api["items"]][:2] == titles[:2]
    assert api["items"][1]["event"]["status"] == "cancelled"


def test_rss_and_atom_start_with_a_french_line(web: Any, token: str) -> None:
    assert push(web, token, batch()).status_code == 200
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(web.get(f"/feeds/agenda.{fmt}").data)
        salon = next(e for e in parsed.entries if e.title == "Salon annulé")
        content = salon.content[0].value
        assert content.startswith("<p><strong>Annulé — ")
        assert "de 14 h à 17 h · Paris Expo" in content


def test_the_index_offers_an_agenda_subscription(web: Any) -> None:
    page = web.get("/").data.decode()
    assert 'href="http://localhost/feeds/agenda.ics"' in page
    assert 'href="webcal://localhost/feeds/agenda.ics"' in page
    assert 'webcal://localhost/feeds/actualites.ics' not in page
    feed_page = web.get("/feeds/agenda").data.decode()
    assert 'href="webcal://localhost/feeds/agenda.ics"' in feed_page
    assert 'value="http://localhost/feeds/agenda.ics"' in feed_page
    assert "webcal:" not in web.get("/feeds/actualites").data.decode()


def test_a_pushed_event_with_an_end_before_its_start_is_refused(web: Any, token: str) -> None:
    payload = batch()
    payload["items"][0]["event"]["end"] = at(4)
    payload["items"][1]["event"]["end"] = day(1)  # a date end before a date-time start
    payload["items"][2]["event"]["start"] = "2026-02-30"
    answer = push(web, token, payload)
    assert answer.status_code == 422
    fields = {problem["field"] for problem in answer.json["problems"]} if "problems" in \
        answer.json else set(json.dumps(answer.json).split('"'))
    assert {"items[0].event.end", "items[1].event.end", "items[2].event.start"} <= fields


def test_the_digest_gains_a_section_of_upcoming_events(web: Any, token: str) -> None:
    assert push(web, token, batch()).status_code == 200
    soup = BeautifulSoup(web.get("/digest/agenda.html").data, "html.parser")
    heading = next(h for h in soup.find_all("h2") if h.get_text() == "À venir")
    upcoming = heading.find_next_siblings("p")
    texts = [" ".join(p.get_text(" ").split()) for p in upcoming]
    assert texts[0].startswith("Exposition en cours")
    assert texts[1].startswith("Annulé : Salon annulé")
    assert "Conférence passée" not in " ".join(texts)
    document = json.loads(web.get("/digest/agenda.json").data)
    assert [event["title"] for event in document["upcoming"]][:3] == [
        "Exposition en cours", "Salon annulé", "Forum de l’emploi"]
    assert document["upcoming"][1]["badge"] == "Annulé"
    actualites = json.loads(web.get("/digest/actualites.json").data)
    assert actualites["upcoming"] == []


def test_near_and_within_keep_the_events_placed_around_a_point(web: Any, token: str) -> None:
    assert push(web, token, batch()).status_code == 200
    villette = "48.8915,2.3900"
    near = json.loads(web.get(f"/feeds/agenda.json?near={villette}&within=1").data)
    assert [item["title"] for item in near["items"]] == ["Forum de l’emploi"]
    provins = json.loads(web.get("/feeds/agenda.json?near=48.5597,3.2993&within=5").data)
    assert provins["items"] == []  # the forum is 80 km away; events without geo never match
    wide = json.loads(web.get("/feeds/agenda.json?near=48.5597,3.2993&within=100").data)
    assert [item["title"] for item in wide["items"]] == ["Forum de l’emploi"]
    assert web.get("/feeds/agenda.json?near=91,2").status_code == 400
    assert web.get("/feeds/agenda.json?near=48.8,2.3&within=-1").status_code == 400
    api = web.get(f"/api/items?near={villette}").json
    assert [item["title"] for item in api["items"]] == ["Forum de l’emploi"]


def test_the_feed_page_of_an_agenda_lists_the_next_events(web: Any, token: str) -> None:
    assert push(web, token, batch()).status_code == 200
    page = BeautifulSoup(web.get("/feeds/agenda").data, "html.parser").get_text(" ")
    text = " ".join(page.split())
    assert "Conférence passée" not in text
    assert text.index("Exposition en cours") < text.index("Salon annulé") < text.index(
        "Forum de l’emploi")
    assert "Annulé — " in text and "de 14 h à 18 h · Grande Halle de la Villette" in text


def test_kept_agenda_responses_expire_with_their_quarter_hour(web: Any, token: str) -> None:
    """The hot path (web/fastpath.py) sends a kept response again only until the agenda's
    quarter-hour ends: past events must leave a feed nobody edits."""
    assert push(web, token, batch()).status_code == 200
    for path in ("/feeds/agenda.json", "/feeds/agenda.ics", "/embed/agenda.html?layout=agenda",
                 "/feeds/actualites.json"):
        assert web.get(path).status_code == 200
    cache = web.application.extensions["syndication.cache"]
    kept = {key[0] + ("?" + key[1] if key[1] else ""): response.until
            for key, response in cache.responses.by_request.items()}
    soon = datetime.now(UTC) + timedelta(minutes=15)
    for path in ("/feeds/agenda.json", "/feeds/agenda.ics", "/embed/agenda.html?layout=agenda"):
        assert kept[path] is not None and kept[path] <= soon.timestamp(), path
    assert kept["/feeds/actualites.json"] is None  # no clock in a news feed
