"""The oEmbed provider (/oembed) and its discovery: the JSON and XML answers, their limits and
errors, the HTML WordPress keeps from a provider outside its allow-list, and a real consumer
library (oembedpy) discovering and reading our answers over loopback HTTP.

The store is filled once by the real pipeline, as in test_widgets.py.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit
from xml.etree import ElementTree as ET  # noqa: N817 - the usual name

import nh3
import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from oembedpy import types as oembed_types
from oembedpy.consumer import fetch_content
from oembedpy.discovery import find_from_content
from redis import Redis
from werkzeug.serving import make_server

from syndication.app import create_app
from syndication.runtime import Runtime

from .conftest import fast, filled_runtime

PROBLEM = "application/problem+json"
BASE = "http://localhost"
FEED_URL = f"{BASE}/feeds/actualites.rss"
RICH_FIELDS = {"version", "type", "title", "provider_name", "provider_url", "cache_age", "html",
               "width", "height"}
THUMBNAIL_FIELDS = {"thumbnail_url", "thumbnail_width", "thumbnail_height"}
CREDITED = THUMBNAIL_FIELDS | {"thumbnail_credit"}  # an extra parameter (oEmbed 2.3.4)

# What WordPress's wp_filter_oembed_result() keeps of a provider outside its allow-list: these
# tags and attributes (wp_kses), then the first blockquote and the iframe found by this pattern.
WORDPRESS_TAGS = {"a", "blockquote", "iframe"}
WORDPRESS_ATTRIBUTES = {"a": {"href"}, "blockquote": set(),
                        "iframe": {"src", "width", "height", "frameborder", "marginwidth",
                                   "marginheight", "scrolling", "title"}}
WORDPRESS_PATTERN = re.compile(r"(<blockquote>.*?</blockquote>)?.*(<iframe.*?></iframe>)",
                               re.DOTALL)


@pytest.fixture(scope="module")
def service(redis_client: Redis, sample_site: str) -> Iterator[Runtime]:
    with filled_runtime(redis_client, sample_site) as (runtime, _):
        yield runtime


@pytest.fixture(scope="module")
def flask_app(service: Runtime, http_path: str) -> Iterator[Flask]:
    application = create_app(runtime=service, fast_path=fast(http_path))
    yield application
    application.extensions["syndication.cache"].close()


@pytest.fixture(scope="module")
def web(flask_app: Flask) -> FlaskClient:
    return flask_app.test_client()


@pytest.fixture(scope="module")
def live(flask_app: Flask) -> Iterator[str]:
    """The app on a loopback port, for a consumer library that speaks HTTP."""
    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _oembed(client: FlaskClient, **params: object) -> dict[str, Any]:
    response = client.get(f"/oembed?{urlencode(params)}")
    assert response.status_code == 200, response.get_data(True)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.get_json()


def _problem(client: FlaskClient, status: int, **params: object) -> dict[str, Any]:
    response = client.get(f"/oembed?{urlencode(params)}")
    assert response.status_code == status, response.get_data(True)
    assert response.mimetype == PROBLEM
    return response.get_json()


# --- the JSON answer -----------------------------------------------------------------------


@pytest.mark.parametrize("url", [FEED_URL, f"{BASE}/feeds/actualites.atom",
                                 f"{BASE}/feeds/actualites.json",
                                 f"{BASE}/embed/actualites/frame",
                                 f"{BASE}/embed/actualites.html"])
def test_feed_and_widget_urls_get_a_rich_answer(web: FlaskClient, service: Runtime,
                                                url: str) -> None:
    data = _oembed(web, url=url)
    assert RICH_FIELDS | CREDITED == set(data)
    assert data["version"] == "1.0" and data["type"] == "rich"
    feed = service.catalogue.feeds["actualites"]
    assert data["title"] == feed.title
    assert data["provider_name"] == service.catalogue.publishers[feed.publisher].name
    assert data["provider_url"] == f"{BASE}/"
    assert data["cache_age"] == 3600
    assert data["width"] == 600 and 100 < data["height"] <= 1000
    assert re.fullmatch(rf"{BASE}/images/[0-9a-f-]+/300\.jpg", data["thumbnail_url"])
    assert data["thumbnail_width"] == 300 and data["thumbnail_height"] > 0


def test_the_photo_credit_travels_with_the_thumbnail_and_in_the_frame(web: FlaskClient) -> None:
    data = _oembed(web, url=f"{BASE}/feeds/region-solidaire.rss")
    assert data["thumbnail_credit"] == "Andrea Piacquadio"  # the dossier's photo, the newest
    frame = BeautifulSoup(data["html"], "html.parser").iframe
    page = web.get(frame["src"])
    assert page.status_code == 200
    credits = [tag.get_text() for tag in BeautifulSoup(page.data, "html.parser").find_all(
        class_="syndication-widget__credit")]
    assert "Crédit photo : © Andrea Piacquadio" in credits


def test_html_is_a_blockquote_link_and_a_sandboxed_frame(web: FlaskClient,
                                                         service: Runtime) -> None:
    data = _oembed(web, url=FEED_URL)
    soup = BeautifulSoup(data["html"], "html.parser")
    assert [tag.name for tag in soup.find_all(True, recursive=False)] == ["blockquote", "iframe"]
    link = soup.blockquote.find("a")
    assert link.get_text() == data["title"]
    assert link["href"] == service.catalogue.sources["actualites"].url
    frame = soup.iframe
    assert frame["class"] == ["wp-embedded-content"] == soup.blockquote["class"]
    assert frame["sandbox"] == ["allow-scripts"] and frame["security"] == "restricted"
    assert frame["src"] == f"{BASE}/embed/actualites/frame"
    assert (int(frame["width"]), int(frame["height"])) == (data["width"], data["height"])
    assert frame["title"] == f"{data['title']} : dernières publications"
    assert not soup.find("script")


def test_wordpress_keeps_the_link_and_the_frame(web: FlaskClient) -> None:
    """WordPress's filter for unlisted providers, replayed: kses with its allow-list, then its
    pattern must find both the blockquote and the iframe, the iframe with its src and title."""
    html = _oembed(web, url=f"{BASE}/embed/region-solidaire/frame?layout=figures")["html"]
    kept = nh3.clean(html, tags=WORDPRESS_TAGS, attributes=WORDPRESS_ATTRIBUTES,
                     url_schemes={"http", "https"}, link_rel=None)
    found = WORDPRESS_PATTERN.search(kept)
    assert found and found[1] and found[2]
    frame = BeautifulSoup(found[2], "html.parser").iframe
    assert frame["src"] == f"{BASE}/embed/region-solidaire/frame?layout=figures"
    assert frame["title"] and frame["height"] and frame["width"]


def test_widget_options_in_the_url_reach_the_frame(web: FlaskClient) -> None:
    data = _oembed(web, url=f"{FEED_URL}?tag=Solidarit%C3%A9&limit=3&layout=headlines&count=3")
    src = BeautifulSoup(data["html"], "html.parser").iframe["src"]
    assert urlsplit(src).path == "/embed/actualites/frame"
    # Widget options are kept; the feed's own parameters (limit) are not widget options.
    assert parse_qs(urlsplit(src).query) == {"tag": ["Solidarité"], "layout": ["headlines"],
                                             "count": ["3"]}


def test_title_option_renames_the_embed(web: FlaskClient) -> None:
    data = _oembed(web, url=f"{BASE}/embed/actualites/frame?title=Nos%20actualit%C3%A9s")
    assert data["title"] == "Nos actualités"


# --- sizes ---------------------------------------------------------------------------------


def test_maxwidth_and_maxheight_are_respected(web: FlaskClient) -> None:
    data = _oembed(web, url=FEED_URL, maxwidth=400, maxheight=250)
    assert (data["width"], data["height"]) == (400, 250)
    frame = BeautifulSoup(data["html"], "html.parser").iframe
    assert (frame["width"], frame["height"]) == ("400", "250")
    assert data["thumbnail_width"] <= 400 and data["thumbnail_height"] <= 250


def test_a_large_maxwidth_is_clamped_to_the_default(web: FlaskClient) -> None:
    for huge in (601, 5000, "9" * 40):
        data = _oembed(web, url=FEED_URL, maxwidth=huge, maxheight=huge)
        assert data["width"] == 600
        assert data["height"] == _oembed(web, url=FEED_URL)["height"]


def test_the_thumbnail_is_left_out_when_it_does_not_fit(web: FlaskClient) -> None:
    narrow = _oembed(web, url=FEED_URL, maxwidth=200)
    assert narrow["width"] == 200 and not CREDITED & set(narrow)
    low = _oembed(web, url=FEED_URL, maxheight=100)
    assert low["height"] == 100 and not CREDITED & set(low)


@pytest.mark.parametrize(("name", "value"), [("maxwidth", "abc"), ("maxwidth", "-5"),
                                             ("maxwidth", "0"), ("maxheight", "1.5"),
                                             ("maxheight", "000"), ("maxwidth", "１２")])
def test_a_size_that_is_not_a_positive_integer_is_a_400(web: FlaskClient, name: str,
                                                        value: str) -> None:
    problem = _problem(web, 400, url=FEED_URL, **{name: value})
    assert problem["parameter"] == name


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://localhost/feeds/nope.rss",
    "http://elsewhere.example/feeds/actualites.rss",
    "https://localhost.evil.example/feeds/actualites.rss",
    "http://localhost/feeds/actualites.xml",
    "http://localhost/digest/actualites.html",
    "http://localhost/",
    "javascript:alert(1)//localhost/feeds/actualites.rss",
    "ftp://localhost/feeds/actualites.rss",
    "http://localhost/embed/actualites/frame/extra",
])
def test_an_unknown_url_is_a_404(web: FlaskClient, url: str) -> None:
    problem = _problem(web, 404, url=url)
    assert url not in problem["detail"]


def test_a_missing_url_is_a_400(web: FlaskClient) -> None:
    assert _problem(web, 400)["parameter"] == "url"
    assert _problem(web, 400, url=" ")["parameter"] == "url"


@pytest.mark.parametrize("fmt", ["yaml", "html", "JSON", "<script>"])
def test_an_unsupported_format_is_a_501(web: FlaskClient, fmt: str) -> None:
    problem = _problem(web, 501, url=FEED_URL, format=fmt)
    assert fmt not in problem["detail"] or fmt in ("json", "xml")


def test_bad_widget_options_in_the_url_are_a_400_naming_url(web: FlaskClient) -> None:
    problem = _problem(web, 400, url=f"{FEED_URL}?layout=carousel")
    assert problem["parameter"] == "url" and "layout" in problem["detail"]


# --- XML -----------------------------------------------------------------------------------


def test_xml_carries_the_same_fields_as_json(web: FlaskClient) -> None:
    as_json = _oembed(web, url=FEED_URL, maxwidth=500)
    response = web.get(f"/oembed?{urlencode({'url': FEED_URL, 'maxwidth': 500, 'format': 'xml'})}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    root = etree.fromstring(response.data)
    assert root.tag == "oembed"
    values = {child.tag: child.text for child in root}
    assert values == {name: str(value) for name, value in as_json.items()}
    assert response.data.startswith(b"<?xml version='1.0' encoding='utf-8' standalone='yes'?>")


# --- caching and headers -------------------------------------------------------------------


def test_answers_are_cached_revalidated_and_cors_open(web: FlaskClient) -> None:
    url = f"/oembed?{urlencode({'url': FEED_URL})}"
    first = web.get(url)
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in first.headers
    again = web.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    other = web.get(f"/oembed?{urlencode({'url': FEED_URL, 'maxwidth': 300})}")
    assert other.headers["ETag"] != first.headers["ETag"]


# --- discovery -----------------------------------------------------------------------------


def _link_header(value: str) -> dict[str, str]:
    """type → URL of the rel="alternate" links of an HTTP Link header."""
    found = {}
    for target, params in re.findall(r"<([^>]+)>((?:\s*;\s*[a-z]+=\"[^\"]*\")+)", value):
        attributes = dict(re.findall(r'([a-z]+)="([^"]*)"', params))
        if attributes.get("rel") == "alternate" and "type" in attributes:
            found[attributes["type"]] = target
    return found


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_feeds_announce_their_oembed_answers_in_the_link_header(web: FlaskClient,
                                                                fmt: str) -> None:
    response = web.get(f"/feeds/actualites.{fmt}")
    links = _link_header(response.headers["Link"])
    url = f"{BASE}/feeds/actualites.{fmt}"
    assert links["application/json+oembed"] == f"{BASE}/oembed?" + urlencode(
        {"url": url, "format": "json"})
    assert links["text/xml+oembed"] == f"{BASE}/oembed?" + urlencode({"url": url, "format": "xml"})
    assert 'rel="hub"' in response.headers["Link"] and 'rel="self"' in response.headers["Link"]
    answer = web.get(links["application/json+oembed"].removeprefix(BASE))
    assert answer.status_code == 200 and answer.get_json()["type"] == "rich"


def test_the_index_page_links_every_feed_to_its_oembed_answer(web: FlaskClient,
                                                               service: Runtime) -> None:
    soup = BeautifulSoup(web.get("/").data, "html.parser")
    links = soup.find_all("link", type="application/json+oembed")
    assert len(links) == len(service.catalogue.feeds)
    for link, feed_id in zip(links, service.catalogue.feeds, strict=True):
        resource = parse_qs(urlsplit(link["href"]).query)["url"][0]
        assert resource == f"{BASE}/feeds/{feed_id}.rss"
        assert web.get(link["href"].removeprefix(BASE)).status_code == 200
    assert len(soup.find_all("link", type="text/xml+oembed")) == len(links)


# --- a consumer library --------------------------------------------------------------------


def test_a_consumer_discovers_and_reads_the_json_answer(live: str) -> None:
    page = f"{live}/embed/region-solidaire/frame?layout=figures"
    endpoint, params = find_from_content(page)
    assert endpoint == f"{live}/oembed" and params.url == page
    params.max_width = 480
    content = fetch_content(endpoint, params)
    assert isinstance(content, oembed_types.Rich)
    assert content.version == "1.0" and content.width == 480 and content.height > 0
    assert content.title == "Région solidaire" and content.cache_age == 3600
    assert 'src="' + page.replace("&", "&amp;") + '"' in content.html or page in content.html
    assert content.thumbnail_url.startswith(f"{live}/images/")


def test_a_consumer_reads_the_xml_answer(live: str) -> None:
    endpoint, params = find_from_content(f"{live}/embed/actualites/frame")
    params.format = "xml"
    content = fetch_content(endpoint, params)
    assert isinstance(content, oembed_types.Rich)
    assert content.type == "rich" and "<iframe" in content.html
    assert str(content.width) == "600"


def test_malformed_urls_and_titles_xml_cannot_carry_are_answered_cleanly(
        web: FlaskClient) -> None:
    assert web.get("/oembed?url=http://[x").status_code == 404
    answer = web.get("/oembed?format=xml&url=" + quote(
        "http://localhost/embed/actualites/frame?title=A%EF%BF%BEB", safe=""))
    assert answer.status_code == 200
    assert ET.fromstring(answer.data).findtext("title").startswith("A")
