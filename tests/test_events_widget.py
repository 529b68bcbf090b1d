"""The agenda widget: date blocks, time range, place, status badges, an "Ajouter à mon agenda"
link that serves a valid single-event .ics, and schema.org Event JSON-LD that extruct reads back
with the same fields; in the builder too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import extruct
import icalendar
import pytest
from bs4 import BeautifulSoup
from redis import Redis

from syndication.app import create_app
from syndication.model import Catalogue
from syndication.runtime import Runtime

from .conftest import make_runtime
from .test_events_outputs import ADMIN, at, batch, day, push


@pytest.fixture
def web(redis_client: Redis, prefix: str, catalogue: Catalogue) -> Iterator[Any]:
    runtime: Runtime = make_runtime(redis_client, prefix, catalogue, admin_token=ADMIN)
    app = create_app(runtime=runtime)
    client = app.test_client()
    token = client.post("/api/publishers/sample-site/tokens", json={"label": "tests"},
                        headers={"Authorization": f"Bearer {ADMIN}"}).json["token"]
    assert push(client, token, batch()).status_code == 200
    yield client
    app.extensions["syndication.cache"].close()
    runtime.fetcher.close()


def test_the_agenda_fragment_shows_date_blocks_badges_and_places(web: Any) -> None:
    answer = web.get("/embed/agenda.html?layout=agenda&count=10")
    assert answer.status_code == 200
    soup = BeautifulSoup(answer.data, "html.parser")
    events = soup.select(".syndication-widget__event")
    titles = [e.select_one(".syndication-widget__item-title").get_text(" ", strip=True)
              for e in events]
    assert titles[:3] == ["Exposition en cours", "Annulé Salon annulé", "Forum de l’emploi"]
    assert "Conférence passée" not in " ".join(titles)
    forum = events[2]
    block = forum.select_one(".syndication-widget__dateblock").get_text(" ", strip=True)
    day_number, month = block.split()
    assert day_number.rstrip("er").isdigit() and month.endswith(".") or month.isupper()
    assert month == month.upper()
    assert forum.select_one(".syndication-widget__when").get_text().endswith("de 14 h à 18 h")
    assert "Grande Halle de la Villette" in forum.select_one(".syndication-widget__place").text
    assert forum.select_one("time")["datetime"] == at(5)[:16] + at(5)[19:]
    cancelled = events[1]
    assert cancelled.select_one(".syndication-widget__badge").text == "Annulé"
    assert "syndication-widget__event--cancelled" in cancelled["class"]
    assert cancelled.select_one(".syndication-widget__ics") is None  # nothing to add
    ics = forum.select_one("a.syndication-widget__ics")
    assert ics.get_text(" ", strip=True).startswith("Ajouter à mon agenda")
    single = web.get(ics["href"].replace("http://localhost", ""))
    assert single.status_code == 200 and single.content_type.startswith("text/calendar")
    parsed = icalendar.Calendar.from_ical(single.data).walk("VEVENT")
    assert [str(e["summary"]) for e in parsed] == ["Forum de l’emploi"]


def test_the_fragment_json_ld_is_schema_org_events_that_extruct_reads_back(web: Any) -> None:
    html = web.get("/embed/agenda.html?layout=agenda&count=10").data.decode()
    found = extruct.extract(html, base_url="http://localhost/", syntaxes=["json-ld"])
    graph = found["json-ld"][0]["@graph"]
    by_name = {event["name"]: event for event in graph}
    forum = by_name["Forum de l’emploi"]
    assert forum["@type"] == "Event"
    assert forum["startDate"] == at(5)[:16] + at(5)[19:]
    assert forum["eventStatus"] == "https://schema.org/EventScheduled"
    assert forum["location"]["name"] == "Grande Halle de la Villette"
    assert forum["location"]["geo"] == {"@type": "GeoCoordinates", "latitude": 48.8913,
                                        "longitude": 2.3903}
    assert forum["offers"]["validThrough"] == day(3) and forum["isAccessibleForFree"] is True
    assert by_name["Salon annulé"]["eventStatus"] == "https://schema.org/EventCancelled"
    hostile = by_name["Piège BEGIN:VEVENT<script>"]
    assert hostile["location"]["name"] == "Salle;A, END:VCALENDAR"
    script = BeautifulSoup(html, "html.parser").select_one('script[type="application/ld+json"]')
    assert "<" not in script.string  # nothing in the data can close its element
    assert json.loads(script.string)["@graph"] == graph


def test_the_frame_and_the_builder_offer_the_agenda(web: Any) -> None:
    frame = web.get("/embed/agenda/frame?layout=agenda")
    assert frame.status_code == 200
    assert b"syndication-widget--agenda" in frame.data and b"Ajouter \xc3\xa0 mon agenda" in \
        frame.data
    builder = BeautifulSoup(web.get("/embed/builder?feed=agenda").data, "html.parser")
    assert builder.select_one('#layout option[value="agenda"]') is not None
    assert web.get("/embed/agenda.html?layout=nope").status_code == 400
