"""The newsletter digest, end to end: sample site over loopback → refresh → real Redis → Flask
test client → /digest/{feed}.html and .json, read with BeautifulSoup and json. The pure renderer
(render/digest.py) and the query parsing are also checked alone, with fixed clocks and items.

The module's store is filled once by the real pipeline (refreshes of `region-solidaire` and
`actualites`) at the real current time: the dossier, which shows no date, is listed under the
time it was first seen (now), news under their publication dates (MANIFEST.json). Selections are
checked with `since` (deterministic); windows, which depend on the clock, only with bounds that
hold whatever the time.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import brotli
import pytest
from bs4 import BeautifulSoup, Tag
from flask.testing import FlaskClient
from redis import Redis

from syndication.app import create_app
from syndication.errors import InvalidParameter
from syndication.model import Figure, Image, Item
from syndication.normalise import PARIS
from syndication.refresh import RefreshResult
from syndication.render.digest import (
    DIGEST_WIDTH,
    DigestContext,
    period_text,
    render_digest_html,
    render_digest_json,
    truncate_summary,
)
from syndication.render.french import french_date
from syndication.runtime import Runtime
from syndication.web.digest import MIN_DEFAULT_ITEMS, parse_digest_query, window_start

from .conftest import fast, filled_runtime

MANIFEST = json.loads((Path(__file__).resolve().parent.parent / "demo" / "site" / "MANIFEST.json")
                      .read_text(encoding="utf-8"))
PROBLEM = "application/problem+json"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$")
FORBIDDEN_TAGS = ["script", "style", "link", "form", "input", "button", "select", "textarea",
                  "iframe", "object", "embed", "meta", "html", "head", "body", "noscript"]
NBSP = "\u00a0"
# As the page writes them ("Mds"): no surface rewrites a figure.
DOSSIER_FIGURES = [("1,1 Md €", "pour le pacte rural"),
                   ("3,2 Mds €", "pour le pacte avec les quartiers populaires"),
                   ("7,7 Mds €", "pour faire de l’Île-de-France une terre d’innovation sociale et "
                                "d’engagements solidaires")]


# --- fixtures ------------------------------------------------------------------------------


@dataclass
class Filled:
    runtime: Runtime
    results: dict[str, RefreshResult]
    before: datetime  # the refreshes ran between these two instants
    after: datetime


@pytest.fixture(scope="module")
def filled(redis_client: Redis, sample_site: str) -> Iterator[Filled]:
    """One store for this module's read-only tests, filled by the real pipeline, now."""
    before = datetime.now(UTC)
    with filled_runtime(redis_client, sample_site) as (service, results):
        yield Filled(service, results, before, datetime.now(UTC))


@pytest.fixture(scope="module")
def web(filled: Filled, http_path: str) -> Iterator[FlaskClient]:
    app = create_app(runtime=filled.runtime, fast_path=fast(http_path))
    yield app.test_client()
    cache = app.extensions.get("syndication.cache")
    if cache is not None:
        cache.close()


# --- helpers -------------------------------------------------------------------------------


def _get_ok(client: FlaskClient, url: str, **kwargs: Any) -> Any:
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code, response.get_data(True))
    return response


def _soup(client: FlaskClient, url: str) -> BeautifulSoup:
    response = _get_ok(client, url)
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    return BeautifulSoup(response.data, "html.parser")


def _digest_json(client: FlaskClient, url: str) -> dict[str, Any]:
    response = _get_ok(client, url)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.data)


def _api_items(client: FlaskClient, query: str) -> list[dict[str, Any]]:
    return _get_ok(client, f"/api/items?{query}").get_json()["items"]


def _text(tag: Tag) -> str:
    return " ".join(tag.get_text(" ", strip=True).replace(NBSP, " ").split())


def _item_links(soup: BeautifulSoup) -> list[str]:
    return [h2.find("a")["href"] for h2 in soup.find_all("h2")]


def _stored_news_since(client: FlaskClient, since: datetime) -> list[str]:
    """Paths of the `actualites` items listed from `since` on, newest first, by the dates the
    pipeline stored (a page may show a day where MANIFEST.json knows the hour too)."""
    items = _api_items(client, "feed=actualites&limit=500")
    dated = [(datetime.fromisoformat(item["published"] or item["first_seen"]),
              urlsplit(item["url"]).path) for item in items]
    return [path for moment, path in sorted(dated, reverse=True) if moment >= since]


def _q(moment: datetime) -> str:
    return quote(moment.isoformat())


def _assert_problem(response: Any, status: int, parameter: str | None = None) -> None:
    assert response.status_code == status, response.get_data(True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    if parameter is not None:
        assert body["parameter"] == parameter
        assert parameter in body["detail"]


SINCE_ALL = datetime(2025, 1, 1, tzinfo=PARIS)  # before every sample news item
SINCE_JUNE = datetime(2026, 6, 1, tzinfo=PARIS)


# --- the pipeline filled the store (so that the rest means something) ----------------------


def test_the_module_store_was_filled_by_both_refreshes(filled: Filled, web: FlaskClient) -> None:
    assert filled.results["region-solidaire"].outcome == "ok"
    assert filled.results["region-solidaire"].new == 4
    assert filled.results["actualites"].outcome == "ok"
    listed = {card["path"] for card in MANIFEST["listing_cards"] if card["exists"]}
    assert set(_stored_news_since(web, SINCE_ALL)) == listed
    assert len(listed) == 25


# --- the HTML fragment is e-mail safe -------------------------------------------------------


def test_html_digest_is_one_600px_table_with_inlined_styles_and_nothing_unsafe(
        web: FlaskClient) -> None:
    url = f"/digest/actualites.html?since={_q(SINCE_ALL)}&limit=100"
    soup = _soup(web, url)
    top = [node for node in soup.contents if isinstance(node, Tag)]
    assert [tag.name for tag in top] == ["table"]
    outer = top[0]
    assert outer["width"] == "600"
    assert "max-width:600px" in outer["style"].replace(" ", "")
    assert outer.get("lang") == "fr"
    for name in FORBIDDEN_TAGS:
        assert soup.find(name) is None, name
    for tag in soup.find_all(True):
        assert not tag.has_attr("class"), tag
        assert not tag.has_attr("id"), tag
        assert not [a for a in tag.attrs if a.startswith("on")], tag
    # the styles are inlined where the template's classes were
    assert len(soup.find_all("h2")) == 25
    for tag in [soup.find("h1"), *soup.find_all(["h2", "p", "a", "img"])]:
        assert tag.get("style"), tag
    assert "font-family:Arial" in outer["style"].replace(" ", "")
    text = str(soup)
    for marker in ("@font-face", "@import", "<!--", "javascript:"):
        assert marker not in text


def test_every_table_and_image_has_its_size_and_every_image_an_alt(web: FlaskClient) -> None:
    soup = _soup(web, f"/digest/actualites.html?since={_q(SINCE_ALL)}&limit=100")
    tables = soup.find_all("table")
    assert len(tables) >= 26  # the outer one and one per item
    for table in tables:
        assert table["width"].isdigit() and int(table["width"]) <= DIGEST_WIDTH, table.attrs
    images = soup.find_all("img")
    assert len(images) == 25  # every sample news page has an image
    alts = {page["image_alt"] for page in MANIFEST["pages"]}
    for image in images:
        assert image.has_attr("alt")
        assert image["alt"] in alts  # the page's own alt text
        assert image["width"] == "600"
        assert image["height"].isdigit()
        assert image["height"] == "338"  # 960×540 and 1200×675 images at 600 px wide


def test_every_url_is_absolute(web: FlaskClient, filled: Filled) -> None:
    soup = _soup(web, f"/digest/actualites.html?since={_q(SINCE_ALL)}&limit=100")
    urls = [a["href"] for a in soup.find_all("a")] + [img["src"] for img in soup.find_all("img")]
    assert len(urls) == 1 + 25 + 25  # the heading, each title, each image
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https") and parts.netloc, url
    assert soup.find("h1").find("a")["href"] == filled.runtime.catalogue.sources["actualites"].url


def test_digest_of_every_sample_news_item_is_under_100_kb(web: FlaskClient) -> None:
    for feed_id in ("actualites", "region-solidaire"):
        response = _get_ok(web, f"/digest/{feed_id}.html?since={_q(SINCE_ALL)}&limit=100")
        assert len(BeautifulSoup(response.data, "html.parser").find_all("h2")) >= 4
        assert len(response.data) < 100_000, (feed_id, len(response.data))


# --- what each item says --------------------------------------------------------------------


def test_items_have_title_link_french_date_and_summary_and_1er_on_the_first(
        web: FlaskClient) -> None:
    soup = _soup(web, f"/digest/actualites.html?since={_q(SINCE_JUNE)}")
    assert _text(soup.find("h1")) == "Toutes les actualités de la Région"
    period = _text(soup.find("h1").find_next("p"))
    assert period == f"Publications du 1er juin 2026 au {french_date(datetime.now(UTC))}" or \
        period.startswith("Publications du 1er juin au ")  # the same year, said once
    pages = {page["path"]: page for page in MANIFEST["pages"]}
    dates = {}
    for h2 in soup.find_all("h2"):
        path = urlsplit(h2.find("a")["href"]).path
        page = pages[path]
        assert _text(h2) == page["title"]
        date, summary = h2.find_next_siblings("p")[:2]
        dates[path] = _text(date)
        assert dates[path] == french_date(datetime.fromisoformat(page["published_datetime"]))
        assert _text(summary)
    assert dates["/actualites/ordinateurs-portables-lyceens-rentree-2026"] == "1er septembre 2026"
    assert dates["/actualites/formation-20000-places-metiers-en-tension"] == "1er juillet 2026"
    assert dates["/actualites/centres-sante-zones-rurales"] == "13 novembre 2026"


def test_dossier_shows_its_key_figures_in_french_and_a_truncated_summary(
        web: FlaskClient) -> None:
    soup = _soup(web, f"/digest/region-solidaire.html?since={_q(SINCE_ALL)}")
    [heading] = [h2 for h2 in soup.find_all("h2") if _text(h2) == "Région solidaire"]
    body = heading.find_parent("td")
    rows = [[_text(cell) for cell in row.find_all("td")] for row in body.find_all("tr")]
    assert rows == [list(pair) for pair in DOSSIER_FIGURES]
    value = body.find("table").find("td")
    assert value.get_text() == "1,1 Md €"  # exactly as the page wrote it
    assert "white-space: nowrap" in value["style"]  # and never broken across lines
    [dossier] = [item for item in _api_items(web, "feed=region-solidaire")
                 if item["title"] == "Région solidaire"]
    full = " ".join(dossier["summary"].split())
    shown = _text(heading.find_next_siblings("p")[1])
    assert len(full) > 280  # else nothing was truncated
    assert shown.endswith("…") and len(shown) <= 281
    assert full.startswith(shown[:-1])
    assert full[len(shown) - 1] in " ,;:."  # cut at a word boundary


# --- selection: since, window, limit, filters ------------------------------------------------


RER_B = "/actualites/rer-b-nouvelles-rames-mi20"  # stored as 2026-04-03T14:30:00+02:00
COMPUTERS = "/actualites/ordinateurs-portables-lyceens-rentree-2026"  # stored as 2026-09-01


@pytest.mark.parametrize(("since", "included", "excluded"), [
    (datetime(2026, 9, 1, tzinfo=PARIS), COMPUTERS, RER_B),
    (datetime(2026, 9, 1, 9, 0, tzinfo=PARIS), None, COMPUTERS),
    (SINCE_JUNE, COMPUTERS, RER_B),
    (datetime(2026, 4, 3, 14, 30, tzinfo=PARIS), RER_B, None),  # exactly its instant
    (datetime(2026, 4, 3, 14, 31, tzinfo=PARIS), None, RER_B),
], ids=["2026-09-01", "2026-09-01T09", "2026-06-01", "exact-instant", "a-minute-later"])
def test_since_selects_exactly_the_items_published_from_then(
        web: FlaskClient, since: datetime, included: str | None, excluded: str | None) -> None:
    expected = _stored_news_since(web, since)
    assert 0 < len(expected) < 20
    assert included is None or included in expected
    assert excluded is None or excluded not in expected
    soup = _soup(web, f"/digest/actualites.html?since={_q(since)}")
    assert [urlsplit(url).path for url in _item_links(soup)] == expected
    document = _digest_json(web, f"/digest/actualites.json?since={_q(since)}")
    assert [urlsplit(item["url"]).path for item in document["items"]] == expected
    assert datetime.fromisoformat(document["since"]) == since


def test_since_accepts_a_date_in_paris_time_and_utc_forms(web: FlaskClient) -> None:
    expected = _stored_news_since(web, SINCE_JUNE)
    for value in ("2026-06-01", "2026-05-31T22:00:00Z", "2026-06-01T00:00:00%2B02:00"):
        document = _digest_json(web, f"/digest/actualites.json?since={value}")
        assert [urlsplit(item["url"]).path for item in document["items"]] == expected, value


def _date_of(item: dict[str, Any]) -> datetime:
    """What an item is listed under (Item.date): never when we read an undated page."""
    if item["published"]:
        return datetime.fromisoformat(item["published"])
    return min(datetime.fromisoformat(item["updated"]),
               datetime.fromisoformat(item["first_seen"]))


@pytest.mark.parametrize(("window", "span"), [
    ("24h", timedelta(hours=24)), ("7d", timedelta(days=7)), ("30d", timedelta(days=30)),
    ("90d", timedelta(days=90)), ("12w", timedelta(weeks=12)), ("1y", timedelta(days=365)),
    ("2h", timedelta(hours=2)),
])
def test_window_keeps_items_of_the_window_and_drops_older_ones(
        web: FlaskClient, filled: Filled, window: str | None, span: timedelta) -> None:
    """The window ends at the request's now: bounds taken before and after the request hold
    whatever the clock says (the start is rounded down to the hour, so up to an hour more)."""
    query = f"?window={window}"
    earliest = datetime.now(UTC) - span - timedelta(hours=1)
    document = _digest_json(web, f"/digest/region-solidaire.json{query}")
    latest = datetime.now(UTC) - span
    assert document["window"] == window
    assert earliest <= datetime.fromisoformat(document["since"]) <= latest
    shown = [item["id"] for item in document["items"]]
    stored = _api_items(web, "feed=region-solidaire")
    dossier = next(item for item in stored if item["title"] == "Région solidaire")
    # Dated by its page's dateModified (15 September 2026), not by when the refresh read it.
    assert dossier["published"] is None
    assert _date_of(dossier) == datetime.fromisoformat(dossier["updated"])
    older = [item["id"] for item in stored if _date_of(item) < earliest]
    if span < timedelta(days=90):
        assert older, "the dossier's news (2025–2026) are older than a month"
    for item in stored:
        date = _date_of(item)
        if date >= latest:
            assert item["id"] in shown, item["title"]
        if date < earliest:
            assert item["id"] not in shown, item["title"]


def test_limit_caps_the_newest_items_and_defaults_to_20(web: FlaskClient) -> None:
    expected = _stored_news_since(web, SINCE_ALL)
    default = _digest_json(web, f"/digest/actualites.json?since={_q(SINCE_ALL)}")
    assert [urlsplit(i["url"]).path for i in default["items"]] == expected[:20]
    three = _soup(web, f"/digest/actualites.html?since={_q(SINCE_ALL)}&limit=3")
    assert [urlsplit(url).path for url in _item_links(three)] == expected[:3]
    hundred = _digest_json(web, f"/digest/actualites.json?since={_q(SINCE_ALL)}&limit=100")
    assert len(hundred["items"]) == 25


def test_tag_filter_of_the_feeds_applies_to_the_digest(web: FlaskClient) -> None:
    query = f"since={_q(SINCE_ALL)}&tag=solidarit%C3%A9"
    document = _digest_json(web, f"/digest/actualites.json?{query}")
    api = _api_items(web, f"feed=actualites&{query}&limit=100")
    assert 0 < len(document["items"]) < 25
    assert [item["id"] for item in document["items"]] == [item["id"] for item in api]


def test_an_empty_period_says_so(web: FlaskClient) -> None:
    soup = _soup(web, "/digest/actualites.html?since=2030-01-01")
    assert soup.find("h2") is None
    assert "Rien de nouveau" in _text(soup)
    assert soup.find("table")["width"] == "600"
    assert _digest_json(web, "/digest/actualites.json?since=2030-01-01")["items"] == []


# --- the JSON twin -------------------------------------------------------------------------


@pytest.mark.parametrize("query", [
    f"since={_q(SINCE_ALL)}&limit=100", f"since={_q(SINCE_JUNE)}", "window=30d", "",
    f"since={_q(SINCE_ALL)}&limit=5&q=r%C3%A9gion",
])
def test_json_twin_has_the_same_items_in_the_same_order(web: FlaskClient, query: str) -> None:
    for feed_id in ("actualites", "region-solidaire"):
        soup = _soup(web, f"/digest/{feed_id}.html?{query}")
        document = _digest_json(web, f"/digest/{feed_id}.json?{query}")
        assert [item["url"] for item in document["items"]] == _item_links(soup)
        assert [item["title"] for item in document["items"]] == [
            _text(h2) for h2 in soup.find_all("h2")]


def test_json_items_carry_ids_dates_images_and_figures(web: FlaskClient) -> None:
    query = f"since={_q(SINCE_ALL)}&limit=100"
    document = _digest_json(web, f"/digest/region-solidaire.json?{query}")
    assert document["title"] == "Région solidaire"
    api = _api_items(web, f"feed=region-solidaire&{query}")
    assert [item["id"] for item in document["items"]] == [item["id"] for item in api]
    by_id = {item["id"]: item for item in api}
    for item in document["items"]:
        stored = by_id[item["id"]]
        assert set(item) == {"id", "url", "title", "summary", "date", "date_text", "image",
                             "figures", "published", "updated"}
        assert RFC3339.match(item["date"]), item["date"]
        moment = datetime.fromisoformat(item["date"])
        # Only the dates the page gave: never when we read it.
        assert item["published"] == stored["published"]
        assert moment == datetime.fromisoformat(stored["published"] or stored["updated"])
        assert item["date_text"] == (french_date(moment) if stored["published"]
                                     else f"Mis à jour le {french_date(moment)}")
        assert item["url"] == stored["url"]
        # Our own 600 px copy (newsletter tools cannot resize), with its real size and credit.
        [copy] = [d for d in stored["image"]["derivatives"] if d["max_width"] == 600]
        assert item["image"] == {"url": f"http://localhost/{copy['path']}",
                                 "alt": stored["image"]["alt"], "width": 600, "height": 338,
                                 "credit": stored["image"]["credit"]}
    [dossier] = [item for item in document["items"] if item["title"] == "Région solidaire"]
    assert [(f["value"], f["label"]) for f in dossier["figures"]] == DOSSIER_FIGURES
    assert dossier["figures"][0]["value_text"] == "1,1 Md €"
    assert dossier["published"] is None  # the page declares only dateModified
    assert dossier["date_text"] == "Mis à jour le 15 septembre 2026"
    assert dossier["image"]["credit"] == "Andrea Piacquadio"
    assert dossier["figures"][0]["amount"] == 1_100_000_000
    assert dossier["figures"][0]["unit"] == "EUR"


# --- HTTP: caching, compression, errors ------------------------------------------------------


@pytest.mark.parametrize("fmt", ["html", "json"])
def test_etag_and_304_and_cache_headers(web: FlaskClient, filled: Filled, fmt: str) -> None:
    url = f"/digest/actualites.{fmt}?since={_q(SINCE_JUNE)}"
    response = _get_ok(web, url)
    etag = response.headers["ETag"]
    version = filled.runtime.store.feed_state("actualites").version
    assert etag.startswith(f'W/"actualites-{version}-')
    assert response.cache_control.public and response.cache_control.max_age
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.last_modified is not None
    again = web.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert _get_ok(web, url).headers["ETag"] == etag  # same version, same query: same ETag
    other = _get_ok(web, f"/digest/actualites.{fmt}?since={_q(SINCE_ALL)}")
    assert other.headers["ETag"] != etag
    assert web.get(url, headers={"If-None-Match": other.headers["ETag"]}).status_code == 200


def test_html_and_json_of_one_query_have_different_etags(web: FlaskClient) -> None:
    query = f"since={_q(SINCE_JUNE)}"
    html = _get_ok(web, f"/digest/actualites.html?{query}").headers["ETag"]
    assert _get_ok(web, f"/digest/actualites.json?{query}").headers["ETag"] != html


@pytest.mark.parametrize(("encoding", "decompress"), [("br", brotli.decompress),
                                                      ("gzip", gzip.decompress)])
def test_gzip_and_brotli_by_accept_encoding(web: FlaskClient, encoding: str,
                                            decompress: Any) -> None:
    url = f"/digest/actualites.html?since={_q(SINCE_ALL)}&limit=100"
    plain = _get_ok(web, url)
    assert plain.headers.get("Content-Encoding") is None
    compressed = _get_ok(web, url, headers={"Accept-Encoding": encoding})
    assert compressed.headers["Content-Encoding"] == encoding
    assert compressed.headers["ETag"] == plain.headers["ETag"]
    assert len(compressed.data) < len(plain.data)
    assert decompress(compressed.data) == plain.data


def test_head_answers_without_a_body(web: FlaskClient) -> None:
    response = web.head("/digest/actualites.html")
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["ETag"]


@pytest.mark.parametrize(("query", "parameter"), [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=-1", "limit"), ("limit=abc", "limit"),
    ("limit=1e3", "limit"), ("window=0h", "window"), ("window=7", "window"),
    ("window=30D", "window"), ("window=367d", "window"), ("window=53w", "window"),
    ("window=2y", "window"), ("window=1m", "window"), ("window=-7d", "window"),
    ("window=7d%20", "window"), ("window=999999999d", "window"), ("full=yes", "full"),
    ("since=hier", "since"), ("since=2026-13-01", "since"),
    ("since=2026-06-01&window=7d", "window"), ("kind=blog", "kind"),
])
@pytest.mark.parametrize("fmt", ["html", "json"])
def test_bad_parameters_are_400_problems_naming_the_parameter(
        web: FlaskClient, fmt: str, query: str, parameter: str) -> None:
    _assert_problem(web.get(f"/digest/actualites.{fmt}?{query}"), 400, parameter)


@pytest.mark.parametrize("path", ["/digest/no-such-feed.html", "/digest/no-such-feed.json",
                                  "/digest/actualites.xml", "/digest/actualites.rss",
                                  "/digest/actualites"])
def test_unknown_feed_or_format_is_404(web: FlaskClient, path: str) -> None:
    _assert_problem(web.get(path), 404)


# --- the pure parts: query, window rounding, rendering ---------------------------------------


def test_window_start_is_rounded_down_to_the_hour_so_the_variant_holds_for_an_hour() -> None:
    def variant(now: datetime, args: dict[str, str]) -> str:
        return parse_digest_query(args, now).variant("html")

    at = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert window_start("24h", at + timedelta(minutes=5)) == datetime(2026, 11, 25, 10,
                                                                      tzinfo=UTC)
    assert window_start("7d", at + timedelta(minutes=59, seconds=59)) == datetime(
        2026, 11, 19, 10, tzinfo=UTC)
    assert window_start("30d", at) == datetime(2026, 10, 27, 10, tzinfo=UTC)
    for args in ({}, {"window": "7d"}, {"window": "24h", "limit": "5"}):
        assert variant(at, args) == variant(at + timedelta(minutes=59, seconds=59), args)
        assert variant(at, args) != variant(at + timedelta(hours=1), args)
    # The default is 7 days that may reach further back: not the same as asking for 7 days.
    assert variant(at, {}) != variant(at, {"window": "7d"})
    assert variant(at, {"full": "1"}) != variant(at, {})
    assert variant(at, {"window": "7d"}) != variant(at, {"window": "30d"})
    assert variant(at, {"limit": "5"}) != variant(at, {})
    # one start, reached by two windows (the JSON names its window) or by `since`
    earlier = at - timedelta(days=6)
    assert window_start("24h", earlier) == window_start("7d", at)
    assert variant(earlier, {"window": "24h"}) != variant(at, {"window": "7d"})
    assert variant(at, {"since": window_start("7d", at).isoformat()}) != variant(at, {})
    # `since` does not move with the clock; equal instants share one variant
    since = {"since": "2026-11-01T00:00:00+01:00"}
    assert variant(at, since) == variant(at + timedelta(days=3), since)
    assert variant(at, since) == variant(at, {"since": "2026-10-31T23:00:00Z"})
    assert variant(at, since) == variant(at, {"since": "2026-11-01"})
    assert parse_digest_query(since, at).variant("html") != \
        parse_digest_query(since, at).variant("json")


def test_parse_digest_query_names_the_bad_parameter() -> None:
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    for args, parameter in (({"window": "1x"}, "window"), ({"limit": "0"}, "limit"),
                            ({"since": "2026-01-01", "window": "24h"}, "window"),
                            ({"since": "demain"}, "since")):
        with pytest.raises(InvalidParameter) as raised:
            parse_digest_query(args, now)
        assert raised.value.parameter == parameter
    query = parse_digest_query({"window": "", "limit": ""}, now)
    assert (query.window, query.filters.limit) == ("7d", 20)


NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _item(**changes: Any) -> Item:
    values: dict[str, Any] = {
        "id": "00000000-0000-0000-0000-000000000001", "source": "s", "kind": "actualite",
        "url": "https://www.example.org/actualites/a?x=1&y=2", "title": "Un titre",
        "summary": "Un chapô.", "content_html": "<p>CONTENT-MARKER</p>", "first_seen": NOW,
        "updated": NOW, "published": NOW,
        "image": Image(url="https://www.example.org/media/a.jpg", alt="Une image",
                       width=1200, height=800)}
    values.update(changes)
    return Item(**values)


def _render(*items: Item) -> BeautifulSoup:
    context = DigestContext(title="Flux <test>", home_url="https://www.example.org/",
                            since=NOW - timedelta(days=7), window="7d")
    return BeautifulSoup(render_digest_html(context, list(items)), "html.parser")


def test_scraped_text_is_escaped_and_content_html_is_left_out() -> None:
    hostile = _item(title='<script>alert("t")</script> & co',
                    summary='<img src=x onerror="alert(1)"> class="x" fin',
                    image=Image(url="https://www.example.org/i.jpg",
                                alt='"><script>alert(2)</script>', width=600, height=400))
    soup = _render(hostile)
    assert soup.find("script") is None
    assert len(soup.find_all("img")) == 1
    assert _text(soup.find("h1")) == "Flux <test>"
    assert _text(soup.find("h2")) == '<script>alert("t")</script> & co'
    assert _text(soup.find("h2").find_next_siblings("p")[1]) == \
        '<img src=x onerror="alert(1)"> class="x" fin'
    assert soup.find("img")["alt"] == '"><script>alert(2)</script>'
    assert "CONTENT-MARKER" not in str(soup)
    assert not [tag for tag in soup.find_all(True) if tag.has_attr("class")]


def test_urls_that_are_not_absolute_http_are_dropped() -> None:
    soup = _render(_item(url="javascript:alert(1)",
                         image=Image(url="data:image/png;base64,AAAA", alt="x")),
                   _item(url="/relative", image=Image(url="//cdn.example.org/i.jpg")))
    assert [_text(h2) for h2 in soup.find_all("h2")] == ["Un titre", "Un titre"]
    assert soup.find("h2").find("a") is None
    assert soup.find("img") is None
    assert "javascript:" not in str(soup)


def test_images_get_width_height_and_an_empty_alt_when_decorative() -> None:
    soup = _render(_item(image=Image(url="https://www.example.org/a.jpg", alt="",
                                     width=1200, height=800)),
                   _item(image=Image(url="https://www.example.org/b.jpg", alt="Petite",
                                     width=300, height=200)),
                   _item(image=Image(url="https://www.example.org/c.jpg", alt="Sans taille")))
    big, small, unknown = soup.find_all("img")
    assert (big["alt"], big["width"], big["height"]) == ("", "600", "400")
    assert (small["alt"], small["width"], small["height"]) == ("Petite", "300", "200")
    assert (unknown["width"], unknown.get("height")) == ("600", None)  # proportions unknown
    assert "height:auto" in unknown["style"].replace(" ", "")


def test_json_renderer_matches_the_html_one() -> None:
    items = [_item(id=f"id-{n}", title=f"Titre {n}",
                   published=NOW - timedelta(days=n)) for n in range(3)]
    context = DigestContext(title="F", home_url="https://www.example.org/", since=NOW,
                            window=None)
    document = json.loads(render_digest_json(context, items))
    soup = BeautifulSoup(render_digest_html(context, items), "html.parser")
    assert [item["id"] for item in document["items"]] == ["id-0", "id-1", "id-2"]
    assert [item["title"] for item in document["items"]] == [_text(h) for h in
                                                             soup.find_all("h2")]
    assert document["items"][0]["date_text"] == "1er décembre 2026"
    assert document["items"][1]["date_text"] == "30 novembre 2026"
    assert document["since"] == "2026-12-01T09:00:00+00:00"


@pytest.mark.parametrize(("text", "expected"), [
    ("Court.", "Court."),
    ("  des   espaces\n partout ", "des espaces partout"),
    ("mot " * 100, ("mot " * 70).strip() + "…"),
    ("a" * 300, "a" * 280 + "…"),
    ("Un plan, " * 40, None),
])
def test_truncate_summary_cuts_at_a_word_boundary(text: str, expected: str | None) -> None:
    result = truncate_summary(text)
    if expected is not None:
        assert result == expected
    assert len(result) <= 281
    if len(" ".join(text.split())) > 280:
        assert result.endswith("…")
        kept = result[:-1]
        assert " ".join(text.split()).startswith(kept)
        assert not kept.endswith((",", " "))


@pytest.mark.parametrize("written", ["1,1 Md €", "3,2 Mds €", "500 M€", "1 500 €", "40 %",
                                     "130000", "10 000 bornes", "beaucoup"])
def test_figures_are_shown_as_the_page_wrote_them(written: str) -> None:
    item = _item(figures=(Figure("l", written, 3_200_000_000, "EUR"),))
    context = DigestContext(title="F", home_url="https://www.example.org/", since=NOW)
    [entry] = json.loads(render_digest_json(context, [item]))["items"]
    assert entry["figures"][0]["value"] == written
    cells = BeautifulSoup(render_digest_html(context, [item]), "html.parser").find_all("td")
    assert written in [cell.get_text() for cell in cells]


def test_the_photo_credit_travels_with_the_image_and_undated_items_say_updated() -> None:
    undated = _item(published=None, updated=datetime(2026, 9, 15, 10, tzinfo=UTC),
                    image=Image(url="https://www.example.org/a.jpg", alt="",
                                credit="Andrea Piacquadio", width=1200, height=800))
    soup = _render(undated, _item())
    first, second = soup.find_all("img")
    credit = first.find_next_sibling("p")
    assert _text(credit) == "© Andrea Piacquadio"
    assert second.find_next_sibling("p") is None  # no credit known: none shown
    dates = [_text(h2.find_next_sibling("p")) for h2 in soup.find_all("h2")]
    assert dates == ["Mis à jour le 15 septembre 2026", "1er décembre 2026"]
    context = DigestContext(title="F", home_url="https://www.example.org/", since=NOW)
    entry = json.loads(render_digest_json(context, [undated]))["items"][0]
    assert entry["image"]["credit"] == "Andrea Piacquadio"
    assert (entry["published"], entry["date"]) == (None, "2026-09-15T10:00:00+00:00")


# --- the default period, and the whole e-mail (full=1) ----------------------------------------


def test_the_default_digest_holds_the_latest_news_even_on_a_quiet_week(
        web: FlaskClient) -> None:
    """The sample news are older than a week: the default reaches back to the latest five,
    and says from when to when."""
    latest = _stored_news_since(web, SINCE_ALL)[:MIN_DEFAULT_ITEMS]
    week_ago = datetime.now(UTC) - timedelta(days=7)
    assert len(_stored_news_since(web, week_ago)) < MIN_DEFAULT_ITEMS, "not a quiet week"
    document = _digest_json(web, "/digest/actualites.json")
    assert [urlsplit(item["url"]).path for item in document["items"]] == latest
    since = datetime.fromisoformat(document["since"])
    assert since == min(datetime.fromisoformat(item["date"]) for item in document["items"])
    assert document["window"] is None  # not the 7 days any more
    assert document["period_text"] == period_text(DigestContext(
        "", "", since, until=datetime.fromisoformat(document["until"])))
    soup = _soup(web, "/digest/actualites.html")
    assert [urlsplit(url).path for url in _item_links(soup)] == latest
    assert _text(soup.find("h1").find_next("p")) == document["period_text"]
    assert "Rien de nouveau" not in _text(soup)


def test_an_asked_window_or_since_never_widens(web: FlaskClient) -> None:
    dossier = _digest_json(web, "/digest/region-solidaire.json?window=7d")
    assert dossier["items"] == []  # the dossier and its news are all older than a week
    assert dossier["window"] == "7d"
    assert len(_digest_json(web, "/digest/region-solidaire.json")["items"]) == 4  # widened
    assert _digest_json(web, "/digest/actualites.json?since=2030-01-01")["items"] == []


@pytest.mark.parametrize(("since", "until", "expected"), [
    (datetime(2026, 11, 3, 9, tzinfo=UTC), datetime(2026, 12, 6, 9, tzinfo=UTC),
     "Publications du 3 novembre au 6 décembre 2026"),
    (datetime(2025, 12, 1, 9, tzinfo=UTC), datetime(2026, 1, 6, 9, tzinfo=UTC),
     "Publications du 1er décembre 2025 au 6 janvier 2026"),
    (datetime(2026, 12, 6, 1, tzinfo=UTC), datetime(2026, 12, 6, 9, tzinfo=UTC),
     "Publications du 6 décembre 2026"),
])
def test_the_period_is_said_in_french(since: datetime, until: datetime, expected: str) -> None:
    assert period_text(DigestContext("", "", since, until=until)) == expected


def test_full_gives_a_whole_email_document(web: FlaskClient) -> None:
    response = _get_ok(web, "/digest/actualites.html?full=1")
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    body = response.get_data(as_text=True)
    assert body.lower().startswith("<!doctype html>")
    soup = BeautifulSoup(body, "html.parser")
    assert soup.html["lang"] == "fr"
    assert soup.head.find("meta", charset="utf-8")
    assert _text(soup.title) == "Toutes les actualités de la Région"
    preheader = soup.body.find("div")
    assert "display:none" in preheader["style"].replace(" ", "")
    first = _digest_json(web, "/digest/actualites.json")["items"][0]["title"]
    assert _text(preheader) == f"{MIN_DEFAULT_ITEMS} publications : {first}"
    assert soup.find("style") is None  # inlined
    digest = soup.find("table", width="600")
    assert digest is not None and digest.find("h1")
    # The same items as the fragment.
    assert _item_links(soup) == _item_links(_soup(web, "/digest/actualites.html"))
    _assert_problem(web.get("/digest/actualites.json?full=1"), 400, "full")
