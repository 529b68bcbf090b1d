"""The demo's agenda, through the real pipeline: the sample site's event pages, the partner's
.ics and the pushed events land in one `agenda` feed, each event once; /feeds/agenda.ics opens in
icalendar and in vobject and imports into a real calendar store (Radicale, over CalDAV);
/feeds/agenda.json?upcoming=1 lists only events not ended, by start; the cancelled event shows
as cancelled everywhere."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx
import icalendar
import pytest
import vobject
from redis import Redis

from demo.sample_site import SITE_DIR
from syndication.app import create_app
from syndication.refresh import refresh
from syndication.runtime import Runtime

from .conftest import make_catalogue, make_runtime
from .processes import free_port
from .waiting import wait_until

ADMIN = "admin-secret-for-tests"
AGENDA = json.loads((SITE_DIR / "push" / "agenda.json").read_text(encoding="utf-8"))
FORUM = "Forum régional de l’emploi des jeunes"


@pytest.fixture(scope="module")
def agenda(redis_client: Redis, sample_site: str) -> Iterator[tuple[Runtime, Any]]:
    runtime = make_runtime(redis_client, "{test-events-demo}", make_catalogue(sample_site),
                           admin_token=ADMIN)
    app = create_app(runtime=runtime)
    client = app.test_client()
    try:
        for source in ("agenda-pages", "agenda-partenaires"):
            assert refresh(runtime.catalogue.sources[source], runtime).outcome == "ok"
        token = client.post("/api/publishers/sample-site/tokens", json={"label": "tests"},
                            headers={"Authorization": f"Bearer {ADMIN}"}).json["token"]
        answer = client.post("/api/items", json=AGENDA,
                             headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.json
        yield runtime, client
    finally:
        app.extensions["syndication.cache"].close()
        runtime.fetcher.close()
        keys = list(redis_client.scan_iter(match="{test-events-demo}:*"))
        if keys:
            redis_client.delete(*keys)


def test_three_routes_one_agenda_each_event_once(agenda: tuple[Runtime, Any]) -> None:
    runtime, web = agenda
    items = json.loads(web.get("/feeds/agenda.json?upcoming=1&limit=100").data)["items"]
    titles = [item["title"] for item in items]
    assert titles.count(FORUM) == 1  # page, .ics (same UID as the push) and push: one event
    assert titles.count("La Nuit des lycées : portes ouvertes en soirée") == 1  # page and push
    sources = {item["_syndication"]["source"] for item in items}
    assert {"agenda-pages", "agenda-partenaires"} <= sources
    assert len(items) >= 12
    now = datetime.now(UTC)
    starts = []
    for item in items:
        event = item["_syndication"]["event"]
        assert event is not None, item["title"]
        end = event["end"] or event["start"]
        assert (date.fromisoformat(end) >= now.date() if len(end) == 10
                else datetime.fromisoformat(end) > now) or event["rrule"], item["title"]
        if not event["rrule"]:  # a recurring one is listed at its next occurrence
            start = event["start"]
            starts.append(datetime.fromisoformat(start).astimezone(UTC) if len(start) > 10 else
                          datetime.fromisoformat(start + "T00:00:00+01:00").astimezone(UTC))
    assert starts == sorted(starts)  # by start, soonest first
    assert "Cérémonie des vœux aux associations" not in titles  # over: left by itself
    every = [item["title"] for item in json.loads(
        web.get("/feeds/agenda.json?upcoming=0&limit=100").data)["items"]]
    assert "Cérémonie des vœux aux associations" in every
    kinds = {(item["title"], item["_syndication"]["event"]["status"]) for item in items}
    assert ("Salon de l’orientation des lycéens (annulé)", "cancelled") in kinds
    assert ("Réunion publique sur le tramway T14 (reportée)", "postponed") in kinds
    festival = next(i for i in items if i["title"] == "Festival des jeunes talents franciliens")
    assert festival["_syndication"]["event"]["start"] == "2027-03-12"
    assert festival["_syndication"]["event"]["end"] == "2027-03-14"
    permanence = next(i for i in items if i["title"].startswith("Permanence des aides"))
    assert permanence["_syndication"]["event"]["rrule"] == "FREQ=WEEKLY;BYDAY=TU"
    call = next(i for i in items if i["title"].startswith("Appel à projets"))
    assert call["_syndication"]["event"]["registration_deadline"] == "2027-03-15T12:00:00+01:00"


def test_the_agenda_ics_opens_in_two_parsers_with_the_cancellation(
        agenda: tuple[Runtime, Any]) -> None:
    _, web = agenda
    body = web.get("/feeds/agenda.ics").data
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    by_uid = {str(event["uid"]): event for event in events}
    assert len(by_uid) == len(events) >= 12
    cancelled = [e for e in events if str(e["status"]) == "CANCELLED"]
    assert [str(e["summary"]) for e in cancelled] == [
        "Annulé : Salon de l’orientation des lycéens (annulé)"]
    parsed = vobject.readOne(body.decode())
    assert len(parsed.vevent_list) == len(events)
    rss = feedparser.parse(web.get("/feeds/agenda.rss").data)
    salon = next(e for e in rss.entries if e.title.startswith("Salon de l’orientation"))
    assert salon.content[0].value.startswith("<p><strong>Annulé — ")


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[str]:
    pytest.importorskip("radicale", reason="Radicale is not installed (pip install radicale)")
    port = free_port()
    config = tmp_path / "radicale.conf"
    config.write_text(f"""[server]
hosts = 127.0.0.1:{port}
[auth]
type = none
[rights]
type = authenticated
[storage]
filesystem_folder = {tmp_path / "collections"}
[logging]
level = warning
""", encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        try:
            return httpx.get(url + "/", timeout=2).status_code < 500
        except httpx.TransportError:
            return process.poll() is not None  # stop waiting: it died
    try:
        wait_until(answering, "Radicale answering")
        assert process.poll() is None, "Radicale exited"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_agenda_imports_into_a_caldav_store(agenda: tuple[Runtime, Any], radicale: str) -> None:
    _, web = agenda
    body = web.get("/feeds/agenda.ics").data
    calendar = f"{radicale}/mairie/agenda-region/"
    auth = ("mairie", "x")
    made = httpx.request("MKCALENDAR", calendar, auth=auth, timeout=30)
    assert made.status_code == 201, made.text
    count = 0
    for event in icalendar.Calendar.from_ical(body).walk("VEVENT"):  # one resource per event
        one = icalendar.Calendar()
        one.add("prodid", "-//test//FR")
        one.add("version", "2.0")
        one.add_component(event)
        one.add_missing_timezones()
        put = httpx.put(f"{calendar}{count}.ics", content=one.to_ical(), auth=auth, timeout=30,
                        headers={"Content-Type": "text/calendar; charset=utf-8"})
        assert put.status_code == 201, (str(event["summary"]), put.text)
        count += 1
    query = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:prop-filter name="STATUS"><C:text-match>CANCELLED</C:text-match></C:prop-filter>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""
    report = httpx.request("REPORT", calendar, content=query, auth=auth, timeout=30,
                           headers={"Depth": "1", "Content-Type": "application/xml"})
    assert report.status_code == 207, report.text
    assert report.text.count("BEGIN:VEVENT") == 1 and "Salon de l" in report.text
    listing = httpx.request("PROPFIND", calendar, auth=auth, timeout=30, headers={"Depth": "1"})
    # the collection itself, then one response per event stored
    assert len(re.findall(r"<(?:\w+:)?response>", listing.text)) == count + 1
