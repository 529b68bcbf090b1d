"""The HTTP surface, end to end: sample site over loopback → refresh → real Redis → Flask test
client. Feeds are read with feedparser, JSON Feed is validated against tests/schemas, HTML pages
are read with BeautifulSoup.

Most tests only read: they share one store, filled once per module by the real pipeline
(`refresh` of the sample sources `region-solidaire` and `actualites`) under a module prefix that is
deleted afterwards. Tests that change things (edited pages, failing sites, injected items) use the
per-test `prefix` of conftest.
"""

from __future__ import annotations

import json
import os
import re
import socket
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import jsonschema
import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from syndication.app import create_app
from syndication.errors import ConfigError
from syndication.model import Catalogue, Item
from syndication.refresh import RefreshResult, refresh
from syndication.runtime import Runtime
from syndication.state import SourceStatus

from .conftest import (
    FEEDS_DIR,
    OPERATOR_AUTH,
    OPERATOR_TOKEN,
    fast,
    filled_runtime,
    make_catalogue,
    make_runtime,
)
from .faulty_site import FaultySite

SCHEMA_PATH = Path(__file__).parent / "schemas" / "jsonfeed-1.1.json"
NS = {"atom": "http://www.w3.org/2005/Atom",
      "content": "http://purl.org/rss/1.0/modules/content/"}
RFC822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
                    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                    r"\d{2}:\d{2}:\d{2} [+-]\d{4}$")
FIGURES = [
    ("pour le pacte rural", "1,1 Md €", 1_100_000_000),
    ("pour le pacte avec les quartiers populaires", "3,2 Mds €", 3_200_000_000),
    ("pour faire de l’Île-de-France une terre d’innovation sociale et d’engagements solidaires",
     "7,7 Mds €", 7_700_000_000),
]
# The dossier's "latest news", in page order (MANIFEST.json), as canonical paths.
DOSSIER_NEWS = ["/actualites/ordre-de-malte-partenariat-solidarite",
                "/actualites/plan-grand-froid-associations",
                "/actualites/ukraine-solidarite-soutien"]
PROBLEM = "application/problem+json"


# --- fixtures ------------------------------------------------------------------------------


@dataclass
class Filled:
    runtime: Runtime
    site: str
    results: dict[str, RefreshResult]


@pytest.fixture(scope="module")
def filled(redis_client: Redis, sample_site: str) -> Iterator[Filled]:
    """One store for the read-only tests of this module, filled by the real pipeline."""
    with filled_runtime(redis_client, sample_site) as (service, results):
        yield Filled(service, sample_site, results)


@pytest.fixture(scope="module")
def web(filled: Filled, http_path: str) -> FlaskClient:
    return create_app(runtime=filled.runtime, fast_path=fast(http_path)).test_client()


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    document = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(document)
    return document


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- helpers -------------------------------------------------------------------------------


def _get_ok(client: FlaskClient, url: str, headers: dict[str, str] | None = None) -> Any:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code, response.get_data(True))
    return response


def _parse(client: FlaskClient, url: str) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(_get_ok(client, url).data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def _json_items(client: FlaskClient, url: str) -> list[dict[str, Any]]:
    return _get_ok(client, url).get_json()["items"]


def _api_items(client: FlaskClient, query: str) -> list[dict[str, Any]]:
    body = _get_ok(client, f"/api/items?{query}").get_json()
    assert body["count"] == len(body["items"])
    return body["items"]


def _assert_problem(response: Any, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"]
    for word in words:
        assert word in body["detail"], (word, body)
    return body


def _path(url: str) -> str:
    return urlsplit(url).path


def _dossier(items: list[dict[str, Any]]) -> dict[str, Any]:
    [dossier] = [item for item in items if item.get("title") == "Région solidaire"]
    return dossier


# --- the pipeline filled the store as expected (so that the rest means something) ----------


def test_the_module_store_was_filled_by_both_refreshes(filled: Filled) -> None:
    assert filled.results["region-solidaire"].outcome == "ok"
    assert filled.results["region-solidaire"].new == 4  # the dossier and its 3 latest news
    assert filled.results["actualites"].outcome == "ok"
    assert filled.results["actualites"].new >= 20


# --- RSS -----------------------------------------------------------------------------------


def test_rss_is_valid_with_the_dossier_and_its_news(web: FlaskClient) -> None:
    response = _get_ok(web, "/feeds/region-solidaire.rss")
    assert response.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.title == "Région solidaire"
    assert parsed.feed.language == "fr-FR"
    titles = [entry.title for entry in parsed.entries]
    assert "Région solidaire" in titles
    news = [entry for entry in parsed.entries if entry.title != "Région solidaire"]
    assert len(news) >= 3
    assert {_path(entry.link) for entry in news} >= set(DOSSIER_NEWS)
    for entry in parsed.entries:  # tracking parameters are gone from item links
        assert "utm_" not in entry.link


def test_rss_guids_are_urn_uuids_of_the_item_ids_and_stable_across_requests(
        web: FlaskClient) -> None:
    first = [entry.id for entry in _parse(web, "/feeds/region-solidaire.rss").entries]
    second = [entry.id for entry in _parse(web, "/feeds/region-solidaire.rss").entries]
    assert first == second
    api_ids = {item["id"] for item in _api_items(web, "feed=region-solidaire")}
    assert {guid.removeprefix("urn:uuid:") for guid in first} == api_ids
    for guid in first:
        assert guid.startswith("urn:uuid:")
        assert str(uuid.UUID(guid.removeprefix("urn:uuid:"))) == guid.removeprefix("urn:uuid:")
    raw = ET.fromstring(_get_ok(web, "/feeds/region-solidaire.rss").data)
    for element in raw.iterfind("channel/item/guid"):
        assert element.get("isPermaLink") == "false"  # an urn is not a link


def test_guids_do_not_change_when_a_fresh_store_scrapes_the_same_pages(
        web: FlaskClient, runtime: Runtime, client: FlaskClient) -> None:
    """Ids derive from canonical URLs, not from the store: a rebuilt store keeps every guid."""
    assert refresh(runtime.catalogue.sources["region-solidaire"], runtime).outcome == "ok"
    before = {entry.link: entry.id for entry in _parse(web, "/feeds/region-solidaire.rss").entries}
    after = {entry.link: entry.id
             for entry in _parse(client, "/feeds/region-solidaire.rss").entries}
    assert after == before


def test_rss_dates_are_rfc822_in_english(web: FlaskClient) -> None:
    text = _get_ok(web, "/feeds/region-solidaire.rss").get_data(as_text=True)
    raw = ET.fromstring(text)
    dates = [element.text or "" for element in raw.iterfind("channel/item/pubDate")]
    assert len(dates) == 3  # the news; the dossier's page says no publication date
    for value in [*dates, raw.findtext("channel/lastBuildDate") or ""]:
        assert RFC822.match(value), value
    # and they say the same instant as the API
    published = {item["url"]: datetime.fromisoformat(item["published"])
                 for item in _api_items(web, "feed=region-solidaire") if item["published"]}
    for element in raw.iterfind("channel/item"):
        link = element.findtext("link")
        if link in published:
            assert parsedate_to_datetime(element.findtext("pubDate") or "") == published[link]
        else:
            assert element.find("pubDate") is None


def test_rss_content_encoded_holds_the_html_with_absolute_urls(web: FlaskClient) -> None:
    raw = ET.fromstring(_get_ok(web, "/feeds/region-solidaire.rss").data)
    items = raw.findall("channel/item")
    contents = [item.findtext("content:encoded", namespaces=NS) for item in items]
    assert all(contents), "every item carries content:encoded"
    links = []
    for html in contents:
        soup = BeautifulSoup(html or "", "html.parser")
        assert soup.find(["p", "h2", "ul"]) is not None
        assert soup.find(["script", "style", "iframe"]) is None
        for tag in soup.find_all(href=True):
            links.append(tag["href"])
        for tag in soup.find_all(src=True):
            links.append(tag["src"])
    assert links, "some content has links (else the check below proves nothing)"
    for url in links:
        assert urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc, url


def test_rss_categories_are_the_item_tags(web: FlaskClient) -> None:
    tags = {item["url"]: item["tags"] for item in _api_items(web, "feed=region-solidaire")}
    raw = ET.fromstring(_get_ok(web, "/feeds/region-solidaire.rss").data)
    for element in raw.iterfind("channel/item"):
        categories = [category.text for category in element.iterfind("category")]
        assert categories == tags[element.findtext("link")]
        assert "Région solidaire" in categories  # the source's own tag
    malte = [element for element in raw.iterfind("channel/item")
             if (element.findtext("link") or "").endswith(DOSSIER_NEWS[0])]
    assert "Solidarité" in [category.text for category in malte[0].iterfind("category")]


def test_rss_has_an_atom_self_link(web: FlaskClient) -> None:
    raw = ET.fromstring(_get_ok(web, "/feeds/region-solidaire.rss").data)
    selves = [link for link in raw.iterfind("channel/atom:link", NS) if link.get("rel") == "self"]
    assert len(selves) == 1
    assert selves[0].get("href") == "http://localhost/feeds/region-solidaire.rss"


def test_rss_channel_link_is_the_page_the_feed_is_about(web: FlaskClient,
                                                        filled: Filled) -> None:
    """feedgen makes the LAST link added the RSS <channel><link> (it once was the feed itself)."""
    raw = ET.fromstring(_get_ok(web, "/feeds/region-solidaire.rss").data)
    assert raw.findtext("channel/link") == f"{filled.site}/region-solidaire"


def test_actualites_rss_has_at_least_20_items(web: FlaskClient) -> None:
    parsed = _parse(web, "/feeds/actualites.rss")
    assert parsed.feed.title == "Toutes les actualités de la Région"
    assert len(parsed.entries) >= 20
    assert len({entry.id for entry in parsed.entries}) == len(parsed.entries)
    # newest first
    dates = [parsedate_to_datetime(entry.published) for entry in parsed.entries]
    assert dates == sorted(dates, reverse=True)


def test_tag_feed_admits_only_items_of_its_tag(web: FlaskClient) -> None:
    parsed = _parse(web, "/feeds/solidarite.rss")
    assert len(parsed.entries) >= 3
    for entry in parsed.entries:
        assert "Solidarité" in [tag.term for tag in entry.tags]


def test_a_feed_never_refreshed_is_valid_and_empty(web: FlaskClient,
                                                   schema: dict[str, Any]) -> None:
    for fmt in ("rss", "atom"):
        parsed = _parse(web, f"/feeds/plan-climat.{fmt}")
        assert parsed.feed.title == "Plan régional pour le climat"
        assert parsed.entries == []
    response = _get_ok(web, "/feeds/plan-climat.json")
    assert response.headers["ETag"]
    document = response.get_json()
    _validator(schema).validate(document)
    assert document["items"] == []


# --- Atom ----------------------------------------------------------------------------------


def test_atom_is_valid_with_the_dossier_news_and_self_link(web: FlaskClient,
                                                           filled: Filled) -> None:
    response = _get_ok(web, "/feeds/region-solidaire.atom")
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Région solidaire"
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"] == "http://localhost/feeds/region-solidaire.atom"
    assert links["alternate"] == f"{filled.site}/region-solidaire"
    titles = [entry.title for entry in parsed.entries]
    assert "Région solidaire" in titles and len(titles) >= 4
    rss_ids = [entry.id for entry in _parse(web, "/feeds/region-solidaire.rss").entries]
    assert [entry.id for entry in parsed.entries] == rss_ids  # same guids in both formats
    for entry in parsed.entries:
        assert entry.updated_parsed is not None
        assert entry.tags and "Région solidaire" in [tag.term for tag in entry.tags]


def test_atom_content_is_declared_as_html(web: FlaskClient) -> None:
    """RFC 4287 §4.1.3.1: text, html, xhtml or a MIME type (type="CDATA" was once written)."""
    response = _get_ok(web, "/feeds/region-solidaire.atom")
    raw = ET.fromstring(response.data)
    types = {content.get("type") for content in raw.iterfind("atom:entry/atom:content", NS)}
    assert types == {"html"}
    parsed = feedparser.parse(response.data)
    assert {entry.content[0].type for entry in parsed.entries} == {"text/html"}


# --- JSON Feed -----------------------------------------------------------------------------


def test_json_feed_validates_against_the_json_feed_schema(web: FlaskClient,
                                                          schema: dict[str, Any]) -> None:
    response = _get_ok(web, "/feeds/region-solidaire.json")
    assert response.headers["Content-Type"] == "application/feed+json; charset=utf-8"
    document = json.loads(response.data)
    _validator(schema).validate(document)
    assert document["title"] == "Région solidaire"
    assert document["feed_url"] == "http://localhost/feeds/region-solidaire.json"
    assert len(document["items"]) == 4
    for item in document["items"]:
        assert item["id"].startswith("urn:uuid:")


@pytest.mark.parametrize("feed_id", ["actualites", "solidarite"])
def test_other_json_feeds_validate_too(web: FlaskClient, schema: dict[str, Any],
                                       feed_id: str) -> None:
    document = _get_ok(web, f"/feeds/{feed_id}.json").get_json()
    _validator(schema).validate(document)
    assert document["items"]


@pytest.mark.parametrize("breakage", [
    lambda d: d.pop("title"),
    lambda d: d["items"][0].pop("id"),
    lambda d: d["items"][0].pop("content_html"),
    lambda d: d["items"][0].update(date_published="15 septembre 2026"),
    lambda d: d["items"][0].update(figures=[]),  # not a spec key, not an _extension
    lambda d: d["items"][0].update(authors=[{}]),
    lambda d: d.update(version="https://jsonfeed.org/version/1"),
], ids=["no-title", "no-item-id", "no-content", "bad-date", "unknown-key", "empty-author",
        "wrong-version"])
def test_the_schema_rejects_what_the_spec_rejects(web: FlaskClient, schema: dict[str, Any],
                                                  breakage: Any) -> None:
    """The schema is not vacuous: each spec violation of a real document is caught."""
    document = _get_ok(web, "/feeds/region-solidaire.json").get_json()
    breakage(document)
    assert not _validator(schema).is_valid(document)


def test_json_feed_dossier_carries_its_figures_in_the_extension(web: FlaskClient,
                                                                filled: Filled) -> None:
    dossier = _dossier(_json_items(web, "/feeds/region-solidaire.json"))
    extension = dossier["_syndication"]
    assert extension["kind"] == "dossier"
    assert extension["source"] == "region-solidaire"
    assert [(f["label"], f["value_text"], f["amount"], f["unit"])
            for f in extension["figures"]] == [(label, text, amount, "EUR")
                                               for label, text, amount in FIGURES]
    assert extension["image_credit"] == "Andrea Piacquadio"
    # The service's own 600 px copy of the page's image.
    assert re.fullmatch(r"http://localhost/images/[0-9a-f]+-[0-9a-f]+/600\.jpg", dossier["image"])
    assert dossier["summary"].startswith("Un plan en 3 axes")


def test_json_feed_fallback_content_escapes_the_plain_text_summary(
        runtime: Runtime, client: FlaskClient) -> None:
    """An item without content_html gets its plain-text summary as HTML: escaped, not live."""
    source = runtime.catalogue.sources["region-solidaire"]
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    summary = "Tom & Jerry <script>alert(1)</script>"
    item = Item(id=str(uuid.uuid5(uuid.NAMESPACE_URL, source.url + "/x")), source=source.id,
                kind="actualite", url=source.url + "/x", title="Sans corps", summary=summary,
                content_html="", first_seen=now, updated=now, published=now)
    runtime.store.commit_refresh(source, runtime.catalogue.feeds_of(source.id), [item], {},
                                 SourceStatus(state="ok", last_attempt=now, last_success=now),
                                 now)
    [entry] = _json_items(client, "/feeds/region-solidaire.json")
    soup = BeautifulSoup(entry["content_html"], "html.parser")
    assert soup.find("script") is None
    assert soup.get_text() == summary


# --- query filters -------------------------------------------------------------------------


def test_limit_keeps_the_newest_items(web: FlaskClient) -> None:
    everything = _json_items(web, "/feeds/actualites.json")
    two = _json_items(web, "/feeds/actualites.json?limit=2")
    assert [item["id"] for item in two] == [item["id"] for item in everything[:2]]
    assert len(_parse(web, "/feeds/actualites.rss?limit=3").entries) == 3


def test_kind_filter(web: FlaskClient) -> None:
    dossiers = _json_items(web, "/feeds/region-solidaire.json?kind=dossier")
    assert [item["title"] for item in dossiers] == ["Région solidaire"]
    news = _json_items(web, "/feeds/region-solidaire.json?kind=actualite")
    assert len(news) == 3
    assert {item["_syndication"]["kind"] for item in news} == {"actualite"}
    assert _json_items(web, "/feeds/region-solidaire.json?kind=evenement") == []
    # limit counts matching items, not scanned ones
    assert len(_json_items(web, "/feeds/region-solidaire.json?kind=actualite&limit=2")) == 2


def test_tag_filter_ignores_case_and_accents(web: FlaskClient) -> None:
    everything = _json_items(web, "/feeds/actualites.json")
    expected = [item["id"] for item in everything if "Solidarité" in item["tags"]]
    assert len(expected) >= 3
    tagged = _json_items(web, "/feeds/actualites.json?tag=Solidarité")
    assert [item["id"] for item in tagged] == expected
    assert [item["id"] for item in _json_items(web, "/feeds/actualites.json?tag=solidarité")
            ] == expected
    assert _json_items(web, "/feeds/actualites.json?tag=Inexistant") == []
    assert len(_parse(web, "/feeds/actualites.rss?tag=Solidarit%C3%A9").entries) == len(expected)
    # As typed on a keyboard without accents, in the feeds, the API, widgets and digests.
    for typed in ("solidarite", "SOLIDARITE", "Solidarite"):
        assert [item["id"] for item in _json_items(web, f"/feeds/actualites.json?tag={typed}")
                ] == expected
    api = web.get("/api/items?feed=actualites&tag=solidarite&limit=100").get_json()["items"]
    assert [f"urn:uuid:{item['id']}" for item in api] == expected
    widget = BeautifulSoup(web.get("/embed/actualites.html?tag=solidarite&count=20").data,
                           "html.parser")
    assert len(widget.select(".syndication-widget__item")) == len(expected)
    digest = web.get("/digest/actualites.json?tag=solidarite&since=2000-01-01").get_json()
    assert [f"urn:uuid:{item['id']}" for item in digest["items"]] == expected


@pytest.mark.parametrize("since", [
    "2026-09-05",  # a date is midnight in Paris
    "2026-09-05T00:00:00%2B02:00",
    "2026-09-05T00:00:00+02:00",  # an unencoded '+' arrives as a space
    "2026-09-04T22:00:00Z",
])
def test_since_filter(web: FlaskClient, since: str) -> None:
    cut = datetime(2026, 9, 4, 22, 0, tzinfo=UTC)
    everything = _json_items(web, "/feeds/actualites.json")
    expected = [item["id"] for item in everything
                if datetime.fromisoformat(item["date_published"]) >= cut]
    assert 0 < len(expected) < len(everything)
    recent = _json_items(web, f"/feeds/actualites.json?since={since}")
    assert [item["id"] for item in recent] == expected


@pytest.mark.parametrize("url", ["/feeds/region-solidaire.rss", "/feeds/region-solidaire.json",
                                 "/api/items"])
@pytest.mark.parametrize(("query", "parameter"), [
    ("limit=0", "limit"), ("limit=abc", "limit"), ("limit=501", "limit"), ("limit=-3", "limit"),
    ("kind=blog", "kind"), ("since=yesterday", "since"), ("since=2026-13-01", "since"),
    ("tag=" + "x" * 101, "tag"),
])
def test_bad_filter_values_are_400_problems_naming_the_parameter(
        web: FlaskClient, url: str, query: str, parameter: str) -> None:
    separator = "&" if "?" in url else "?"
    body = _assert_problem(web.get(f"{url}{separator}{query}"), 400, f"'{parameter}'")
    assert body["parameter"] == parameter
    assert body["title"] == "Invalid parameter"


def test_unknown_feed_is_a_404_problem_naming_it(web: FlaskClient) -> None:
    for fmt in ("rss", "atom", "json"):
        _assert_problem(web.get(f"/feeds/nope.{fmt}"), 404, "unknown feed 'nope'")


def test_unknown_format_is_a_404_problem(web: FlaskClient) -> None:
    _assert_problem(web.get("/feeds/region-solidaire.xml"), 404, "format", "xml")


# --- HTTP caching --------------------------------------------------------------------------


def test_feeds_carry_validators_and_answer_304_to_a_matching_etag(web: FlaskClient) -> None:
    for fmt in ("rss", "atom", "json"):
        response = _get_ok(web, f"/feeds/region-solidaire.{fmt}")
        etag = response.headers["ETag"]
        assert etag and response.headers.get("Last-Modified")
        assert response.cache_control.public and response.cache_control.max_age
        again = web.get(f"/feeds/region-solidaire.{fmt}", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.data == b""
        assert again.headers["ETag"] == etag
        strong = etag.removeprefix("W/")
        same = web.get(f"/feeds/region-solidaire.{fmt}", headers={"If-None-Match": strong})
        assert same.status_code == 304  # If-None-Match compares weakly (RFC 9110 §13.1.2)
        other = web.get(f"/feeds/region-solidaire.{fmt}", headers={"If-None-Match": '"other"'})
        assert other.status_code == 200 and other.data == response.data


def test_feeds_answer_304_to_if_modified_since(web: FlaskClient) -> None:
    response = _get_ok(web, "/feeds/region-solidaire.atom")
    last_modified = response.headers["Last-Modified"]
    again = web.get("/feeds/region-solidaire.atom", headers={"If-Modified-Since": last_modified})
    assert again.status_code == 304 and again.data == b""
    older = web.get("/feeds/region-solidaire.atom",
                    headers={"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"})
    assert older.status_code == 200 and older.data == response.data


def test_etags_differ_by_format_and_by_query(web: FlaskClient) -> None:
    etags = {web.get(url).headers["ETag"] for url in (
        "/feeds/region-solidaire.rss", "/feeds/region-solidaire.atom",
        "/feeds/region-solidaire.json", "/feeds/region-solidaire.rss?limit=1",
        "/feeds/actualites.rss")}
    assert len(etags) == 5
    limited = web.get("/feeds/region-solidaire.rss?limit=1")
    unlimited_etag = web.get("/feeds/region-solidaire.rss").headers["ETag"]
    # a validator of the full feed does not validate the limited one
    assert web.get("/feeds/region-solidaire.rss?limit=1",
                   headers={"If-None-Match": unlimited_etag}).status_code == 200
    assert len(feedparser.parse(limited.data).entries) == 1


def _edit(site: FaultySite, relative: str, old: str, new: str) -> None:
    """site.edit, with a Last-Modified surely later than the previous edit's, even when two
    edits fall within the same second."""
    path = site.root / relative
    before = path.stat().st_mtime
    site.edit(relative, old, new)
    stamp = max(path.stat().st_mtime, before + 5)
    os.utime(path, (stamp, stamp))


@pytest.fixture
def faulty(redis_client: Redis, prefix: str, faulty_site: FaultySite) -> Iterator[Runtime]:
    service = make_runtime(redis_client, prefix, make_catalogue(faulty_site.url))
    yield service
    service.fetcher.close()


def test_etag_changes_when_the_feed_content_changes_and_not_otherwise(
        faulty: Runtime, faulty_site: FaultySite) -> None:
    client = create_app(runtime=faulty).test_client()
    source = faulty.catalogue.sources["region-solidaire"]
    assert refresh(source, faulty).outcome == "ok"
    first = _get_ok(client, "/feeds/region-solidaire.rss")
    etag = first.headers["ETag"]

    # nothing changed, and the site says so (304 on the dossier page)
    assert refresh(source, faulty).outcome == "not_modified"
    assert client.get("/feeds/region-solidaire.rss").headers["ETag"] == etag
    assert client.get("/feeds/region-solidaire.rss",
                      headers={"If-None-Match": etag}).status_code == 304

    # the page is served again (newer Last-Modified) but says the same: still nothing changed
    _edit(faulty_site, "region-solidaire.html", "Un plan en 3 axes", "Un plan en 3 axes")
    result = refresh(source, faulty)
    assert result.outcome == "ok" and result.updated == 0 and result.new == 0
    assert client.get("/feeds/region-solidaire.rss").headers["ETag"] == etag
    assert client.get("/feeds/region-solidaire.rss").data == first.data

    # an editor changes the dossier's lead: new content, new validator
    _edit(faulty_site, "region-solidaire.html", "Un plan en 3 axes", "Un plan en trois axes")
    assert refresh(source, faulty).updated >= 1
    changed = client.get("/feeds/region-solidaire.rss", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert "Un plan en trois axes" in changed.get_data(as_text=True)
    # every format moved on
    for fmt in ("atom", "json"):
        assert client.get(f"/feeds/region-solidaire.{fmt}").headers["ETag"] != etag.replace(
            "-rss-", f"-{fmt}-")


def test_etag_changes_when_a_followed_news_page_of_the_feed_is_edited(
        faulty: Runtime, faulty_site: FaultySite) -> None:
    """The dossier page is unchanged (304), one of the news pages it links to is edited."""
    client = create_app(runtime=faulty).test_client()
    source = faulty.catalogue.sources["region-solidaire"]
    assert refresh(source, faulty).outcome == "ok"
    etag = client.get("/feeds/region-solidaire.rss").headers["ETag"]
    _edit(faulty_site, "actualites/ordre-de-malte-partenariat-solidarite.html",
          "une convention de trois ans", "une convention de quatre ans")
    result = refresh(source, faulty)
    assert (result.outcome, result.updated) == ("ok", 1)
    response = client.get("/feeds/region-solidaire.rss")
    assert "une convention de quatre ans" in response.get_data(as_text=True)
    assert response.headers["ETag"] != etag


# --- /api/items ----------------------------------------------------------------------------


def test_api_items_of_the_dossier_feed(web: FlaskClient, filled: Filled) -> None:
    items = _api_items(web, "feed=region-solidaire")
    assert len(items) == 4
    dossier = _dossier(items)
    assert dossier["kind"] == "dossier"
    assert dossier["source"] == "region-solidaire"
    assert dossier["url"] == f"{filled.site}/region-solidaire"
    assert [(f["label"], f["value_text"], f["amount"], f["unit"]) for f in dossier["figures"]
            ] == [(label, text, amount, "EUR") for label, text, amount in FIGURES]
    assert dossier["image"]["credit"] == "Andrea Piacquadio"
    assert dossier["image"]["url"] == f"{filled.site}/media/region-solidaire.jpg"
    assert dossier["image"]["alt"]
    assert "Région solidaire" in dossier["tags"]
    assert dossier["lang"] == "fr"
    assert "content_hash" not in dossier
    datetime.fromisoformat(dossier["first_seen"])


def test_api_dossier_relates_its_news_in_page_order(web: FlaskClient) -> None:
    items = _api_items(web, "feed=region-solidaire")
    dossier = _dossier(items)
    by_id = {item["id"]: item for item in items}
    news_ids = {item["id"] for item in items if item["kind"] == "actualite"}
    assert len(news_ids) == 3
    assert set(dossier["related"]) == news_ids
    assert [_path(by_id[related]["url"]) for related in dossier["related"]] == DOSSIER_NEWS
    assert all(not item["related"] for item in items if item["kind"] == "actualite")


def test_api_items_by_source_and_kind(web: FlaskClient) -> None:
    news = _api_items(web, "source=actualites")
    assert len(news) >= 20
    assert {item["source"] for item in news} == {"actualites"}
    dates = [datetime.fromisoformat(item["published"] or item["first_seen"]) for item in news]
    assert dates == sorted(dates, reverse=True)
    assert len(_api_items(web, "source=actualites&limit=5")) == 5

    dossiers = _api_items(web, "kind=dossier")
    assert [item["title"] for item in dossiers] == ["Région solidaire"]
    news_of_dossier = _api_items(web, "feed=region-solidaire&kind=actualite")
    assert len(news_of_dossier) == 3
    assert _api_items(web, "feed=region-solidaire&source=region-solidaire")
    assert _api_items(web, "feed=region-solidaire&source=actualites") == []

    everything = _api_items(web, "limit=500")
    assert {item["source"] for item in everything} == {"region-solidaire", "actualites"}


def test_api_items_of_every_source_list_a_page_two_sources_reach_once(
        web: FlaskClient) -> None:
    body = web.get("/api/items?limit=100").get_json()
    ids = [item["id"] for item in body["items"]]
    shared = {item["id"] for item in web.get("/api/items?source=region-solidaire&limit=100")
              .get_json()["items"]} & {item["id"] for item in web.get(
                  "/api/items?source=actualites&limit=100").get_json()["items"]}
    assert shared, "the dossier links news of the listing"
    assert len(ids) == len(set(ids)) == body["total"]


def test_api_items_unknown_feed_or_source_is_404(web: FlaskClient) -> None:
    _assert_problem(web.get("/api/items?feed=nope"), 404, "unknown feed 'nope'")
    _assert_problem(web.get("/api/items?source=nope"), 404, "unknown source 'nope'")


def test_api_items_unknown_source_within_a_feed_is_404(web: FlaskClient) -> None:
    """?source= is checked against the catalogue with ?feed= too, not silently empty."""
    _assert_problem(web.get("/api/items?feed=region-solidaire&source=nope"), 404,
                    "unknown source 'nope'")


# --- /api/feeds and /api/sources -----------------------------------------------------------


def test_api_feeds_lists_every_feed_with_links_and_version(web: FlaskClient,
                                                           filled: Filled) -> None:
    feeds = {feed["id"]: feed for feed in _get_ok(web, "/api/feeds").get_json()["feeds"]}
    assert set(feeds) == set(filled.runtime.catalogue.feeds)
    for feed_id, feed in feeds.items():
        assert feed["title"] == filled.runtime.catalogue.feeds[feed_id].title
        assert feed["links"] == {fmt: f"http://localhost/feeds/{feed_id}.{fmt}"
                                 for fmt in ("rss", "atom", "json")}
    assert feeds["region-solidaire"]["sources"] == ["region-solidaire"]
    assert feeds["region-solidaire"]["version"] >= 1
    assert datetime.fromisoformat(feeds["region-solidaire"]["changed_at"]).tzinfo is not None
    assert feeds["solidarite"]["tags"] == ["Solidarité"]
    assert feeds["plan-climat"]["version"] == 0 and feeds["plan-climat"]["changed_at"] is None


def test_api_sources_after_good_refreshes(web: FlaskClient) -> None:
    sources = {s["id"]: s for s in _get_ok(web, "/api/sources").get_json()["sources"]}
    assert sources["region-solidaire"]["status"]["state"] == "ok"
    assert sources["region-solidaire"]["item_count"] == 4
    assert sources["actualites"]["item_count"] >= 20
    assert sources["plan-climat"]["status"]["state"] == "never"
    one = _get_ok(web, "/api/sources/region-solidaire").get_json()
    assert one == sources["region-solidaire"]
    _assert_problem(web.get("/api/sources/nope"), 404, "unknown source 'nope'")


def test_a_failing_source_is_reported_and_keeps_serving_its_items(
        redis_client: Redis, prefix: str, faulty_site: FaultySite, sample_site: str) -> None:
    """region-solidaire on a site that breaks; actualites on the healthy sample site."""
    broken = make_catalogue(faulty_site.url)
    healthy = make_catalogue(sample_site)
    catalogue = Catalogue(publishers=broken.publishers, feeds=broken.feeds,
                          sources={**broken.sources, "actualites": healthy.sources["actualites"]})
    service = make_runtime(redis_client, prefix, catalogue, admin_token=OPERATOR_TOKEN)
    try:
        client = create_app(runtime=service).test_client()
        dossier, news = catalogue.sources["region-solidaire"], catalogue.sources["actualites"]
        assert refresh(dossier, service).outcome == "ok"
        assert refresh(news, service).outcome == "ok"
        before = [entry.id for entry in _parse(client, "/feeds/region-solidaire.rss").entries]

        faulty_site.fail_with("500")
        assert refresh(dossier, service).outcome == "failed"
        assert refresh(news, service).outcome in ("ok", "not_modified")

        sources = {s["id"]: s for s in _get_ok(client, "/api/sources", headers=OPERATOR_AUTH)
                   .get_json()["sources"]}
        status = sources["region-solidaire"]["status"]
        assert status["state"] == "failing"
        assert "HTTP 500" in status["last_error"] and f"{faulty_site.url}/region-solidaire" in \
            status["last_error"]
        assert status["last_error_kind"] == "http-status"
        since = datetime.fromisoformat(status["failing_since"])
        assert since.tzinfo is not None
        assert status["last_success"] is not None and status["consecutive_failures"] == 1
        assert sources["region-solidaire"]["item_count"] == 4
        other = sources["actualites"]["status"]
        assert other["state"] in ("ok", "not_modified")
        assert other["failing_since"] is None and other["last_error"] is None

        # a second failure: still failing, since the first one
        assert refresh(dossier, service).outcome == "failed"
        again = _get_ok(client, "/api/sources/region-solidaire").get_json()["status"]
        assert again["consecutive_failures"] == 2 and again["last_error_kind"] == "http-status"
        assert "last_error" not in again  # without the operator's token
        assert datetime.fromisoformat(again["failing_since"]) == since

        # subscribers keep the last good items
        assert [entry.id for entry in _parse(client, "/feeds/region-solidaire.rss").entries
                ] == before
        assert len(_api_items(client, "feed=region-solidaire")) == 4

        # and the index page says so
        soup = BeautifulSoup(_get_ok(client, "/").data, "html.parser")
        row = soup.find("th", string="region-solidaire").find_parent("tr")
        assert "state-failing" in row["class"]
        assert "en échec" in row.get_text()
        assert "erreur HTTP" in row.get_text()  # the error's kind; its text is the operator's
        assert "HTTP 500" not in row.get_text()
    finally:
        service.fetcher.close()


# --- index page ----------------------------------------------------------------------------


def test_index_page_has_discovery_links_for_every_feed_and_format(web: FlaskClient,
                                                                  filled: Filled) -> None:
    response = _get_ok(web, "/")
    assert response.mimetype == "text/html"
    soup = BeautifulSoup(response.data, "html.parser")
    assert soup.html["lang"] == "fr"
    alternates = [link for link in soup.head.find_all("link", rel="alternate")
                  if link["type"] not in ("text/x-opml", "application/json+oembed",
                                          "text/xml+oembed")]
    [opml] = soup.head.find_all("link", rel="alternate", type="text/x-opml")
    assert opml["href"] == "http://localhost/feeds.opml"
    found = {(link["type"], link["href"]) for link in alternates}
    feeds = filled.runtime.catalogue.feeds
    expected = {(media_type, f"http://localhost/feeds/{feed_id}.{fmt}")
                for feed_id in feeds
                for fmt, media_type in (("rss", "application/rss+xml"),
                                        ("atom", "application/atom+xml"),
                                        ("json", "application/feed+json"))}
    assert found == expected
    assert len(alternates) == 3 * len(feeds)
    for link in alternates:
        assert link.get("title")
    # and the discovered links work
    for _, href in sorted(expected)[:3]:
        assert web.get(urlsplit(href).path).status_code == 200


def test_index_page_has_a_row_per_source(web: FlaskClient, filled: Filled) -> None:
    soup = BeautifulSoup(_get_ok(web, "/").data, "html.parser")
    rows = soup.find("table").find("tbody").find_all("tr")
    catalogue = filled.runtime.catalogue
    assert [row.find("th", scope="row").get_text(strip=True) for row in rows] == list(
        catalogue.sources)
    by_id = {row.find("th").get_text(strip=True): row for row in rows}
    for source_id, source in catalogue.sources.items():
        assert by_id[source_id].find("a")["href"] == source.url
    dossier_cells = [td.get_text(strip=True) for td in by_id["region-solidaire"].find_all("td")]
    assert dossier_cells[0] == "à jour"
    assert dossier_cells[1] == "4"
    assert "state-ok" in by_id["region-solidaire"]["class"]
    assert "state-never" in by_id["plan-climat"]["class"]
    assert by_id["plan-climat"].find_all("td")[0].get_text(strip=True) == "jamais actualisée"


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(2026, 11, 26, 8, 30, tzinfo=UTC), "26 novembre 2026 à 09:30"),
    (datetime(2026, 12, 1, 9, 0, tzinfo=UTC), "1er décembre 2026 à 10:00"),
], ids=["26-novembre", "1er-decembre"])
def test_index_page_dates_are_french_in_paris_time(runtime: Runtime, client: FlaskClient,
                                                   moment: datetime, expected: str) -> None:
    assert refresh(runtime.catalogue.sources["region-solidaire"], runtime,
                   now=moment).outcome == "ok"
    soup = BeautifulSoup(_get_ok(client, "/").data, "html.parser")
    row = soup.find("th", string="region-solidaire").find_parent("tr")
    last_success = row.find_all("td")[2].get_text(strip=True)
    assert last_success == expected


def test_base_url_setting_makes_every_self_link(redis_client: Redis, prefix: str,
                                                catalogue: Catalogue) -> None:
    service = make_runtime(redis_client, prefix, catalogue,
                           base_url="https://flux.example.org/")
    try:
        client = create_app(runtime=service).test_client()
        parsed = _parse(client, "/feeds/region-solidaire.atom")
        assert {link.rel: link.href for link in parsed.feed.links}["self"] == \
            "https://flux.example.org/feeds/region-solidaire.atom"
        raw = ET.fromstring(_get_ok(client, "/feeds/region-solidaire.rss").data)
        links = {link.get("rel"): link.get("href")
                 for link in raw.iterfind("channel/atom:link", NS)}
        assert links["self"] == "https://flux.example.org/feeds/region-solidaire.rss"
        assert links["hub"] == "https://flux.example.org/hub"
        assert all(href.startswith("https://flux.example.org/") for href in links.values())
        assert _get_ok(client, "/feeds/region-solidaire.json").get_json()["feed_url"] == \
            "https://flux.example.org/feeds/region-solidaire.json"
        soup = BeautifulSoup(_get_ok(client, "/").data, "html.parser")
        hrefs = [link["href"] for link in soup.head.find_all("link", rel="alternate")]
        assert hrefs and all(h.startswith(("https://flux.example.org/feeds",
                                           "https://flux.example.org/oembed?")) for h in hrefs)
        feeds = _get_ok(client, "/api/feeds").get_json()["feeds"]
        assert all(feed["links"]["rss"].startswith("https://flux.example.org/feeds/")
                   for feed in feeds)
    finally:
        service.fetcher.close()


# --- health --------------------------------------------------------------------------------


def test_healthz_and_readyz(web: FlaskClient) -> None:
    assert _get_ok(web, "/healthz").get_json() == {"status": "ok"}
    assert _get_ok(web, "/readyz").get_json() == {"status": "ready", "redis": "ok"}


def test_readyz_is_503_when_redis_is_unreachable(prefix: str, catalogue: Catalogue) -> None:
    unreachable = Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=2,
                        retry=Retry(NoBackoff(), 0))
    service = make_runtime(unreachable, prefix, catalogue)
    try:
        client = create_app(runtime=service).test_client()
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["status"] == "unavailable"
        assert response.get_json()["redis"]
        assert client.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        service.close()


def test_requests_that_need_redis_fail_as_problems_when_it_is_unreachable(
        prefix: str, catalogue: Catalogue) -> None:
    unreachable = Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=2,
                        retry=Retry(NoBackoff(), 0))
    service = make_runtime(unreachable, prefix, catalogue)
    try:
        client = create_app(runtime=service).test_client()
        for url in ("/feeds/region-solidaire.rss", "/api/items", "/api/sources"):
            response = client.get(url)
            assert response.status_code >= 500, url
            assert response.mimetype == PROBLEM
            assert "Traceback" not in response.get_data(as_text=True)
    finally:
        service.close()


# --- the app factory -----------------------------------------------------------------------


def test_create_app_registers_the_given_runtime(runtime: Runtime) -> None:
    app = create_app(runtime=runtime)
    assert isinstance(app, Flask)
    assert app.extensions["syndication"] is runtime
    assert {"index", "feeds", "api", "health"} <= set(app.blueprints)
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/", "/feeds/<feed_id>.<fmt>", "/api/items", "/api/feeds", "/api/sources",
            "/healthz", "/readyz"} <= rules


def test_unknown_route_and_wrong_method_are_problems(client: FlaskClient) -> None:
    body = _assert_problem(client.get("/no/such/page"), 404)
    assert body["title"] == "Not Found"
    _assert_problem(client.post("/feeds/region-solidaire.rss"), 405)


def test_create_app_without_runtime_opens_one_from_settings(
        redis_client: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("SYNDICATION_")
                 and n != "SYNDICATION_TEST_REDIS_URL"] + ["REDIS_URL"]:
        monkeypatch.delenv(name, raising=False)
    kwargs = redis_client.connection_pool.connection_kwargs
    url = (f"unix://{kwargs['path']}" if kwargs.get("path")
           else os.environ["SYNDICATION_TEST_REDIS_URL"])
    app = create_app({"redis_url": url, "redis_prefix": prefix, "feeds_dir": str(FEEDS_DIR)})
    try:
        service = app.extensions["syndication"]
        assert service.settings.redis_prefix == prefix
        assert set(service.catalogue.feeds) >= {"region-solidaire", "actualites"}
        client = app.test_client()
        assert client.get("/readyz").status_code == 200
        feeds = client.get("/api/feeds").get_json()["feeds"]
        assert {feed["id"] for feed in feeds} == set(service.catalogue.feeds)
    finally:
        app.extensions["syndication"].close()


def test_create_app_rejects_an_unknown_setting() -> None:
    with pytest.raises(ConfigError) as raised:
        create_app({"redis_urll": "redis://localhost"})
    assert raised.value.field == "redis_urll"


def test_requests_naming_an_untrusted_host_are_refused(
        redis_client: Redis, prefix: str, catalogue: Catalogue) -> None:
    """With trusted hosts set, a forged Host header gets 400: links never point to it."""
    service = make_runtime(redis_client, prefix, catalogue,
                           trusted_hosts="flux.example.org, .mairie.example")
    app = create_app(runtime=service)
    client = app.test_client()
    try:
        assert client.get("/feeds/actualites.rss", headers={"Host": "evil.example"}
                          ).status_code == 400
        trusted = client.get("/feeds/actualites.rss", headers={"Host": "flux.example.org"})
        assert trusted.status_code == 200 and b"evil.example" not in trusted.data
        assert b"http://flux.example.org/feeds/actualites.rss" in trusted.data
        assert client.get("/healthz", headers={"Host": "www.mairie.example"}).status_code == 200
    finally:
        app.extensions["syndication.cache"].close()
        service.fetcher.close()
