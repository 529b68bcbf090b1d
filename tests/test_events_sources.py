"""Events found on pages: schema.org Event in JSON-LD and microdata, French conventions on an
event's page, and hostile pages (deep nesting, impossible years) costing bounded work."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from syndication.events import EventStatus
from syndication.extract import extract_page
from syndication.model import ItemKind, Source
from syndication.normalise import normalise

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 6, 10, tzinfo=UTC)
EVENTS = Source(id="agenda", url="https://example.org/agenda", publisher="p",
                kind=ItemKind.EVENEMENT)
NEWS = Source(id="news", url="https://example.org/news", publisher="p", kind=ItemKind.ACTUALITE)


def item(html: str, source: Source = EVENTS):  # noqa: ANN201 - an Item
    record = extract_page(html, "https://example.org/agenda/x", source).record
    assert record is not None
    return normalise(record, source, NOW)


def page(body: str, head: str = "") -> str:
    return (f'<!doctype html><html lang="fr"><head><title>Forum</title>{head}</head>'
            f'<body><h1>Forum des associations</h1>{body}</body></html>')


def test_json_ld_event_with_place_offers_and_schedule() -> None:
    data = {"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "name": "x"},
        {"@type": "MusicEvent", "name": "Concert", "startDate": "2027-02-04T20:00:00+01:00",
         "endDate": "2027-02-04T23:00:00+01:00",
         "eventStatus": "https://schema.org/EventRescheduled",
         "location": [{"@type": "Place", "name": "Salle Pleyel",
                       "address": {"streetAddress": "252 rue du Faubourg-Saint-Honoré",
                                   "postalCode": "75008", "addressLocality": "Paris"},
                       "geo": {"latitude": "48.8769", "longitude": "2.3003"}},
                      {"@type": "VirtualLocation", "url": "https://live.example.org/x"}],
         "offers": {"price": "12", "priceCurrency": "EUR", "url": "/billets",
                    "validThrough": "2027-02-03"},
         "eventSchedule": {"repeatFrequency": "P1W", "byDay": "https://schema.org/Thursday"}}]}
    found = item(page("<p>Texte.</p>", f'<script type="application/ld+json">{json.dumps(data)}'
                                       "</script>"), NEWS)
    event = found.event
    assert found.kind == ItemKind.EVENEMENT and event is not None
    assert found.published is None  # the start is no publication date
    assert event.start == datetime(2027, 2, 4, 20, tzinfo=PARIS)
    assert event.status == EventStatus.RESCHEDULED and event.geo == (48.8769, 2.3003)
    assert event.location_address == "252 rue du Faubourg-Saint-Honoré 75008 Paris"
    assert event.online_url == "https://live.example.org/x"
    assert event.price == "12 EUR" and event.registration_url == "https://example.org/billets"
    assert event.registration_deadline == date(2027, 2, 3)
    assert event.rrule == "FREQ=WEEKLY;BYDAY=TH"


def test_microdata_event() -> None:
    body = ('<div itemscope itemtype="https://schema.org/Event"><span itemprop="name">Atelier'
            '</span><time itemprop="startDate" datetime="2027-02-17T14:00:00+01:00">17 février'
            '</time><div itemprop="location" itemscope itemtype="https://schema.org/Place">'
            '<span itemprop="name">Médiathèque</span></div></div>')
    event = item(page(body), NEWS).event
    assert event is not None and event.location_name == "Médiathèque"
    assert event.start == datetime(2027, 2, 17, 14, tzinfo=PARIS)


def test_event_read_where_the_body_extractor_does_not_look() -> None:
    # What event pages write their practical details in, and what the body's extraction takes
    # out of the page it prunes: an aside, <meta itemprop> values, <time>, a sidebar's box.
    microdata = ('<div itemscope itemtype="https://schema.org/Event">'
                 '<meta itemprop="startDate" content="2027-03-02T09:30:00+01:00">'
                 '<link itemprop="url" href="/agenda/x">'
                 '<div itemprop="location" itemscope itemtype="https://schema.org/Place">'
                 '<meta itemprop="name" content="Hôtel de Région"></div></div>')
    event = item(page(microdata + "<p>" + "Une journée d'échanges. " * 20 + "</p>"), NEWS).event
    assert event is not None and event.location_name == "Hôtel de Région"
    assert event.start == datetime(2027, 3, 2, 9, 30, tzinfo=PARIS)
    practical = ("<p>" + "Le forum réunit les associations du territoire. " * 20 + "</p>"
                 "<aside class='sidebar infos-pratiques'><h2>Infos pratiques</h2><ul>"
                 "<li><time datetime='2027-03-04'>Le 4 mars 2027</time> de 10 h à 17 h</li>"
                 "<li>Lieu : Gymnase Colette, Bondy</li></ul></aside>")
    event = item(page(practical)).event
    assert event is not None and event.location_name == "Gymnase Colette, Bondy"
    assert event.start == datetime(2027, 3, 4, 10, tzinfo=PARIS)


def test_an_event_on_a_quebec_page_is_read_in_its_zone() -> None:
    # Times written without an offset, on a page in fr-CA: Montréal's wall clock, whether a
    # phrase or schema.org states them (as publication dates are, dates.zone_of_language).
    montreal = ZoneInfo("America/Toronto")
    quebec = page("<ul><li>Le 18 février 2027 de 18 h à 20 h</li><li>Lieu : Bibliothèque "
                  "Saint-Sulpice</li></ul>").replace('lang="fr"', 'lang="fr-CA"')
    event = item(quebec).event
    assert event is not None
    assert (event.start, event.end) == (datetime(2027, 2, 18, 18, tzinfo=montreal),
                                        datetime(2027, 2, 18, 20, tzinfo=montreal))
    data = {"@type": "Event", "name": "Conte", "startDate": "2027-02-20T10:30"}
    structured = page("<p>Texte.</p>", '<script type="application/ld+json">'
                      f"{json.dumps(data)}</script>").replace('lang="fr"', 'lang="fr-CA"')
    event = item(structured, NEWS).event
    assert event is not None and event.start == datetime(2027, 2, 20, 10, 30, tzinfo=montreal)


def test_french_conventions_on_an_event_page_only() -> None:
    body = ("<ul><li>Le 18 février 2027 de 18 h à 20 h</li><li>Lieu : Lycée Jean-Jaurès, "
            "Montreuil</li><li>Date limite d’inscription : 10 février 2027</li>"
            "<li>Tarif : gratuit</li><li>Organisé par : Région</li></ul>"
            "<p class='badge'>Événement annulé</p>")
    event = item(page(body)).event
    assert event is not None
    assert (event.start, event.end) == (datetime(2027, 2, 18, 18, tzinfo=PARIS),
                                        datetime(2027, 2, 18, 20, tzinfo=PARIS))
    assert event.location_name == "Lycée Jean-Jaurès, Montreuil"
    assert event.registration_deadline == date(2027, 2, 10)
    assert event.price == "gratuit" and event.organiser == "Région"
    assert event.status == EventStatus.CANCELLED
    assert item(page(body), NEWS).event is None  # a news page quoting a date is no event


def test_conventions_written_across_elements() -> None:
    # Lines whose first words sit in a child or after an image: the scan that passes most
    # blocks by their first words must still read these.
    body = ("<ul><li><a href='/x'><span>Le 18 février 2027</span> de 18 h à 20 h</a></li>"
            "<li><strong>Lieu</strong> : Salle des fêtes</li>"
            "<li><img src='/pin.png'> Tarif : 5 €</li></ul>")
    event = item(page(body)).event
    assert event is not None
    assert event.start == datetime(2027, 2, 18, 18, tzinfo=PARIS)
    assert event.location_name == "Salle des fêtes" and event.price == "5 €"


def test_impossible_years_make_no_event() -> None:
    data = {"@type": "Event", "name": "x", "startDate": "0001-01-01", "endDate": "9999-12-31"}
    found = item(page("", f'<script type="application/ld+json">{json.dumps(data)}</script>'))
    assert found.event is None


def test_a_deeply_nested_page_is_read_in_bounded_work() -> None:
    for depth in (200, 20_000):  # the parser keeps at most 256 levels; the text beyond is lost
        body = "<span>" * depth + "Le 3 mars 2027 de 9 h à 10 h" + "</span>" * depth
        found = item(page("<p>Lieu : Salle A</p>" + body))
        assert found.title == "Forum"
        if depth == 200:
            assert found.event is not None and found.event.location_name == "Salle A"
            assert found.event.start == datetime(2027, 3, 3, 9, tzinfo=PARIS)
