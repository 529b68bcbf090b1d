"""Feeds say what the publisher published, no more: the photo credit travels with the photo, dates
are the page's own, and the Media RSS elements follow the rules the W3C Feed Validation Service
applies (its media.py, read rule by rule; tests/test_w3c_validation.py runs the validator itself
where it is installed).

The sample site's dossier ("Région solidaire") is the reference case: its photo is credited
"Andrea Piacquadio", and its page declares only `dateModified` (15 September 2026).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from redis import Redis

from syndication.app import create_app
from syndication.model import Image, Item, ItemKind
from syndication.render.feeds import full_content

from .conftest import filled_runtime

ATOM = "http://www.w3.org/2005/Atom"
MEDIA = "http://search.yahoo.com/mrss/"
NS = {"atom": ATOM, "media": MEDIA}
DOSSIER = "Région solidaire"
CREDIT = "Andrea Piacquadio"
MODIFIED = datetime.fromisoformat("2026-09-15T10:00:00+02:00")  # the page's dateModified
# What the validator's media.py accepts (media_content.validate, media_thumbnail.validate).
MEDIUMS = {"image", "audio", "video", "document", "executable"}
FULL_URL = re.compile(r"^(http|https)://(\d{1,3}\.\d{1,3}\.\d{1,3}\.|([A-Z0-9\-]+\.)+)"
                      r"[A-Z0-9][-A-Z0-9]*(:\d+)?(/|$)", re.IGNORECASE)
MIME = re.compile(r"^[a-z0-9!#$&.+\-^_]+/[a-z0-9!#$&.+\-^_]+$", re.IGNORECASE)
BASE = "http://127.0.0.1:8000"  # the demo's address: one the validator takes for a full URL


@pytest.fixture(scope="module")
def app(redis_client: Redis, sample_site: str) -> Iterator[Flask]:
    with filled_runtime(redis_client, sample_site) as (service, _):
        application = create_app(runtime=service)
        yield application
        application.extensions["syndication.cache"].close()


@pytest.fixture(scope="module")
def web(app: Flask) -> FlaskClient:
    return app.test_client()


def _get(web: FlaskClient, path: str) -> bytes:
    response = web.get(f"{BASE}{path}")
    assert response.status_code == 200, path
    return response.data


def _entry(root: etree._Element, title: str) -> etree._Element:
    entries = root.findall("channel/item") or root.findall("atom:entry", NS)
    [found] = [e for e in entries
               if (e.findtext("title") or e.findtext("atom:title", namespaces=NS)) == title]
    return found


def _documents(web: FlaskClient) -> dict[str, etree._Element]:
    return {f"{feed}.{fmt}": etree.fromstring(_get(web, f"/feeds/{feed}.{fmt}"))
            for feed in ("region-solidaire", "actualites") for fmt in ("rss", "atom")}


# --- credits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_media_credit_names_the_photographer_with_the_image(web: FlaskClient, fmt: str) -> None:
    data = _get(web, f"/feeds/region-solidaire.{fmt}")
    entry = _entry(etree.fromstring(data), DOSSIER)
    [content] = entry.findall("media:content", NS)
    assert [credit.text for credit in content.findall("media:credit", NS)] == [CREDIT]
    [parsed] = [e for e in feedparser.parse(data).entries if e.title == DOSSIER]
    assert parsed.media_credit == [{"content": CREDIT}]


def test_json_feed_carries_the_credit_with_the_image(web: FlaskClient) -> None:
    document = json.loads(_get(web, "/feeds/region-solidaire.json"))
    [item] = [i for i in document["items"] if i["title"] == DOSSIER]
    image = item["_syndication"]["image"]
    assert image["credit"] == CREDIT
    assert image["url"] == item["image"]
    assert image["alt"]


def test_api_items_carry_the_credit(web: FlaskClient) -> None:
    items = json.loads(_get(web, "/api/items?feed=region-solidaire"))["items"]
    [dossier] = [i for i in items if i["title"] == DOSSIER]
    assert dossier["image"]["credit"] == CREDIT


def test_the_content_credits_the_photo_once() -> None:
    image = Image(url="https://example.org/a.jpg", alt="", credit="Studio L'Été & Cie")
    item = Item(id="i", source="s", kind=ItemKind.ACTUALITE, url="https://example.org/a",
                title="A", summary="", content_html="<p>Texte.</p>", first_seen=MODIFIED,
                updated=MODIFIED, image=image)
    added = full_content(item)
    assert added.count("Crédit photo : © Studio L&#x27;Été &amp; Cie") == 1
    for written in ("Studio L'Été &amp; Cie", "Studio L&#x27;Été &amp; Cie"):
        carried = replace(item, content_html=f"<p>Texte.</p><p>Photo : {written}</p>")
        assert "<figcaption>" not in full_content(carried)
        assert full_content(carried).count("Studio") == 1


# --- dates -----------------------------------------------------------------------------------


def test_a_page_without_publication_date_gets_none_in_any_format(web: FlaskClient) -> None:
    rss = _entry(etree.fromstring(_get(web, "/feeds/region-solidaire.rss")), DOSSIER)
    assert rss.find("pubDate") is None
    atom = _entry(etree.fromstring(_get(web, "/feeds/region-solidaire.atom")), DOSSIER)
    assert atom.find("atom:published", NS) is None
    assert datetime.fromisoformat(atom.findtext("atom:updated", namespaces=NS)) == MODIFIED
    document = json.loads(_get(web, "/feeds/region-solidaire.json"))
    [item] = [i for i in document["items"] if i["title"] == DOSSIER]
    assert "date_published" not in item
    assert datetime.fromisoformat(item["date_modified"]) == MODIFIED


def test_an_undated_page_sorts_under_its_own_date_not_the_day_it_was_read() -> None:
    read = datetime(2026, 12, 6, 9, tzinfo=UTC)
    dossier = Item(id="d", source="s", kind=ItemKind.DOSSIER, url="https://example.org/d",
                   title="D", summary="", content_html="", first_seen=read, updated=MODIFIED)
    assert dossier.date == MODIFIED
    news = replace(dossier, published=datetime(2026, 10, 1, tzinfo=UTC), updated=read)
    assert sorted([dossier, news], key=lambda item: item.date, reverse=True) == [news, dossier]
    # A page that gives no date at all sorts under when it was first seen, even once edited.
    edited = replace(dossier, updated=read + timedelta(days=3))
    assert edited.date == read


def test_published_is_never_later_than_updated(web: FlaskClient) -> None:
    for name, root in _documents(web).items():
        for entry in root.findall("atom:entry", NS):
            published = entry.findtext("atom:published", namespaces=NS)
            updated = entry.findtext("atom:updated", namespaces=NS)
            assert updated, name  # RFC 4287: every entry has one
            if published:
                assert datetime.fromisoformat(published) <= datetime.fromisoformat(updated), name


def test_an_empty_feed_says_when_it_was_built(web: FlaskClient) -> None:
    """The real site's feeds are empty here (nothing refreshed them)."""
    before = datetime.now(UTC) - timedelta(seconds=1)
    rss = etree.fromstring(_get(web, "/feeds/iledefrance-actualites.rss"))
    assert rss.find("channel/item") is None
    built = parsedate_to_datetime(rss.findtext("channel/lastBuildDate"))
    atom = etree.fromstring(_get(web, "/feeds/iledefrance-actualites.atom"))
    updated = datetime.fromisoformat(atom.findtext("atom:updated", namespaces=NS))
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert before <= built <= after and before <= updated <= after


# --- Media RSS as the W3C validator reads it ---------------------------------------------------


def _positive(value: str | None) -> bool:
    return value is None or (value.isdigit() and int(value) > 0)


def test_media_elements_follow_the_validators_rules(web: FlaskClient) -> None:
    checked = 0
    for name, root in _documents(web).items():
        entries = root.findall("channel/item") or root.findall("atom:entry", NS)
        for entry in entries:
            # media_group.validate: a group holds at least two media:content (alternatives).
            for group in entry.iter(f"{{{MEDIA}}}group"):
                assert len(group.findall("media:content", NS)) >= 2, name
            for content in entry.iter(f"{{{MEDIA}}}content"):
                assert FULL_URL.match(content.get("url", "")), name
                assert content.get("medium") in MEDIUMS | {None}, name
                assert content.get("type") is None or MIME.match(content.get("type")), name
                for size in ("width", "height", "fileSize"):
                    assert _positive(content.get(size)), (name, size)
                checked += 1
            for thumbnail in entry.iter(f"{{{MEDIA}}}thumbnail"):
                assert FULL_URL.match(thumbnail.get("url", "")), name
                assert _positive(thumbnail.get("width")) and _positive(thumbnail.get("height"))
            for credit in entry.iter(f"{{{MEDIA}}}credit"):
                # media_credit: a role, if any, is one of the EBU roles in lower case.
                assert credit.get("role") in (None, "photographer"), name
                assert (credit.text or "").strip(), name
    assert checked
