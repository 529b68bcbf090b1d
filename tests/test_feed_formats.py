"""The feed formats, end to end: the sample site over loopback → real refreshes → real
Redis → the Flask app, then each document checked the way its consumers read it.

- the XSLT page (syndication/static/feed.xsl) that a person sees on opening a feed in a browser:
  applied with lxml and read with BeautifulSoup, and loaded in a real headless Chromium through a
  real loopback HTTP server (skipped where Chromium is not installed);
- /feeds.opml (syndication/web/opml.py) and the index page's links to it;
- Atom against the RELAX NG schema of RFC 4287 (tests/schemas/atom.rng, from atom.rnc by trang),
  RSS against the structure of RSS 2.0 (it has no official schema);
- the element set: images (media:*, enclosure, image on top of the content), key figures,
  categories, dc:creator, language, logo, self and hub links, RFC 5005 paging, filters, HTTP
  (compression, HEAD, CORS, Cache-Control), and control characters in scraped text.

Most tests only read one store, filled once for the module by the real pipeline; tests that write
use conftest's per-test `prefix`, `runtime` and `client`.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import brotli
import feedparser
import jsonschema
import pytest
from bs4 import BeautifulSoup, Tag
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from redis import Redis

from syndication.app import create_app
from syndication.model import Catalogue, Derivative, Figure, Image, Item
from syndication.normalise import content_hash, fold
from syndication.render.publish import home_url
from syndication.runtime import Runtime
from syndication.state import SourceStatus
from syndication.web import opml

from .browser_harness import dump_dom, serving
from .conftest import fast, filled_runtime, make_runtime

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = Path(__file__).parent / "schemas"
STYLESHEET = ROOT / "syndication" / "static" / "feed.xsl"
ATOM = "http://www.w3.org/2005/Atom"
NS = {"atom": ATOM, "content": "http://purl.org/rss/1.0/modules/content/",
      "dc": "http://purl.org/dc/elements/1.1/", "media": "http://search.yahoo.com/mrss/"}
RFC822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
                    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                    r"\d{2}:\d{2}:\d{2} [+-]\d{4}$")
# RFC 3339 as RFC 4287 §3.3 restricts it: uppercase T and Z, a time zone always.
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
FRENCH_DATE = re.compile(r"^(1er|[12]?\d|3[01]) (janvier|février|mars|avril|mai|juin|juillet|"
                         r"août|septembre|octobre|novembre|décembre) \d{4}$")
FEED_LINK_RELS = {"self", "hub", "first", "previous", "next", "last"}
FIGURES = [
    ("pour le pacte rural", "1,1 Md €", 1_100_000_000),
    ("pour le pacte avec les quartiers populaires", "3,2 Mds €", 3_200_000_000),
    ("pour faire de l’Île-de-France une terre d’innovation sociale et d’engagements solidaires",
     "7,7 Mds €", 7_700_000_000),
]
FEEDS = ("region-solidaire", "actualites")
PUBLISHER = "Région Île-de-France (site de démonstration)"
PROBLEM = "application/problem+json"
# What Chromium sends when a person opens a URL.
BROWSER_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
                  "*/*;q=0.8")
# Every character XML 1.0 forbids that scraped text could carry (U+FFFE is a noncharacter).
CONTROL = "".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])) + "\ufffe"
RSS_CHANNEL_ELEMENTS = {"title", "link", "description", "language", "copyright", "managingEditor",
                        "webMaster", "pubDate", "lastBuildDate", "category", "generator", "docs",
                        "cloud", "ttl", "image", "rating", "textInput", "skipHours", "skipDays",
                        "item"}
RSS_ITEM_ELEMENTS = {"title", "link", "description", "author", "category", "comments",
                     "enclosure", "guid", "pubDate", "source"}


# --- fixtures ------------------------------------------------------------------------------


@dataclass
class Filled:
    runtime: Runtime
    site: str


@pytest.fixture(scope="module")
def filled(redis_client: Redis, sample_site: str) -> Iterator[Filled]:
    """One store for the read-only tests of this module, filled by real refreshes."""
    with filled_runtime(redis_client, sample_site, tuple(FEEDS)) as (service, results):
        assert {result.outcome for result in results.values()} == {"ok"}
        yield Filled(service, sample_site)


def with_opml(app: Flask) -> Flask:
    """The OPML blueprint, where app.py does not register it (yet)."""
    if "opml" not in app.blueprints:
        app.register_blueprint(opml.blueprint)
    return app


@pytest.fixture(scope="module")
def module_app(filled: Filled, http_path: str) -> Iterator[Flask]:
    application = with_opml(create_app(runtime=filled.runtime, fast_path=fast(http_path)))
    yield application
    application.extensions["syndication.cache"].close()


@pytest.fixture(scope="module")
def web(module_app: Flask) -> FlaskClient:
    return module_app.test_client()


@pytest.fixture
def opml_client(app: Flask) -> FlaskClient:
    """conftest's per-test app (an empty store), with the OPML blueprint."""
    return with_opml(app).test_client()


@pytest.fixture(scope="module")
def stylesheet() -> etree.XSLT:
    return etree.XSLT(etree.parse(str(STYLESHEET)))


@pytest.fixture(scope="module")
def atom_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMAS / "atom.rng")))


@pytest.fixture(scope="module")
def api(web: FlaskClient) -> dict[str, dict[str, dict[str, Any]]]:
    """Each feed's items as the JSON API gives them (the model), by item URL."""
    return {feed_id: {item["url"]: item for item in
                      _get_ok(web, f"/api/items?feed={feed_id}&limit=500").get_json()["items"]}
            for feed_id in FEEDS}


# --- helpers -------------------------------------------------------------------------------


def _get_ok(client: FlaskClient, url: str, **kwargs: Any) -> Any:
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code, response.get_data(True))
    return response


def _strict(data: bytes) -> etree._Element:
    """Parsed by lxml's strict parser: any well-formedness error raises."""
    return etree.fromstring(data, etree.XMLParser(recover=False, resolve_entities=False))


def _xml(client: FlaskClient, url: str) -> etree._Element:
    return _strict(_get_ok(client, url).data)


def _local(url: str) -> str:
    """An absolute URL of the app, as the test client wants it."""
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "localhost", url
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _links(parent: etree._Element) -> dict[str, str]:
    return {link.get("rel", "alternate"): link.get("href")
            for link in parent.iterfind("atom:link", NS)}


def _rss_items(root: etree._Element) -> list[etree._Element]:
    return root.findall("channel/item")


def _atom_entries(root: etree._Element) -> list[etree._Element]:
    return root.findall("atom:entry", NS)


def _entry_link(entry: etree._Element) -> str:
    return next(link.get("href") for link in entry.iterfind("atom:link", NS)
                if link.get("rel", "alternate") == "alternate")


def _first_tag(html: str) -> Tag:
    soup = BeautifulSoup(html, "html.parser")
    first = next(child for child in soup.children if isinstance(child, Tag))
    return first


def _contents(client: FlaskClient, feed_id: str, fmt: str) -> dict[str, str]:
    """Each item's full HTML content in one format, by item URL."""
    if fmt == "json":
        return {item["url"]: item["content_html"]
                for item in _get_ok(client, f"/feeds/{feed_id}.json").get_json()["items"]}
    root = _xml(client, f"/feeds/{feed_id}.{fmt}")
    if fmt == "rss":
        return {item.findtext("link"): item.findtext("content:encoded", namespaces=NS)
                for item in _rss_items(root)}
    return {_entry_link(entry): entry.findtext("atom:content", namespaces=NS)
            for entry in _atom_entries(root)}


def _assert_problem(response: Any, status: int, parameter: str) -> None:
    assert response.status_code == status, response.get_data(True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["parameter"] == parameter
    assert parameter in body["detail"]


def _transform(stylesheet: etree.XSLT, data: bytes) -> BeautifulSoup:
    result = stylesheet(_strict(data))
    assert not [entry for entry in stylesheet.error_log
                if entry.level >= etree.ErrorLevels.ERROR], stylesheet.error_log
    return BeautifulSoup(str(result), "html.parser")


def _text(tag: Tag | None) -> str:
    assert tag is not None
    return " ".join(tag.get_text().split())


# --- the XSLT page ---------------------------------------------------------------------------


def test_the_stylesheet_is_served_where_every_rss_and_atom_document_points(
        web: FlaskClient) -> None:
    with web.get("/static/feed.xsl") as response:  # a file response: closed after reading
        assert response.status_code == 200
        etree.XSLT(_strict(response.data))  # a valid XSLT 1.0 stylesheet
    for fmt in ("rss", "atom"):
        root = _xml(web, f"/feeds/region-solidaire.{fmt}")
        instruction = root.getprevious()
        assert isinstance(instruction, etree._ProcessingInstruction)
        assert instruction.target == "xml-stylesheet"
        assert instruction.get("type") == "text/xsl"
        assert instruction.get("href") == "http://localhost/static/feed.xsl"


def test_feed_readers_ignore_the_stylesheet(web: FlaskClient) -> None:
    for fmt, version in (("rss", "rss20"), ("atom", "atom10")):
        parsed = feedparser.parse(_get_ok(web, f"/feeds/region-solidaire.{fmt}").data)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.version == version
        assert parsed.feed.title == "Région solidaire"
        assert len(parsed.entries) == 4


@pytest.mark.parametrize("fmt", ["rss", "atom"])
@pytest.mark.parametrize("feed_id", FEEDS)
def test_the_stylesheet_makes_a_readable_french_page(web: FlaskClient, stylesheet: etree.XSLT,
                                                     feed_id: str, fmt: str) -> None:
    data = _get_ok(web, f"/feeds/{feed_id}.{fmt}").data
    feed = feedparser.parse(data)
    page = _transform(stylesheet, data)

    assert page.html is not None and page.html["lang"] == "fr"
    assert page.find("script") is None and page.find(attrs={"onclick": True}) is None
    assert _text(page.title).startswith(feed.feed.title)
    assert [_text(h1) for h1 in page.find_all("h1")] == [feed.feed.title]
    description = feed.feed.get("subtitle") or feed.feed.get("description")
    assert _text(page.find("p", class_="description")) == description
    # headings in order, none skipped
    levels = [int(heading.name[1]) for heading in page.find_all(re.compile(r"^h[1-6]$"))]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))
    # what a feed is, and how to subscribe
    headings = [_text(h2) for h2 in page.find_all("h2")]
    assert "Qu’est-ce qu’un flux ?" in headings and "Comment s’abonner" in headings
    help_text = _text(page.find("h2", string="Comment s’abonner").parent)
    for words in ("Feedly", "Inoreader", "NetNewsWire", "Thunderbird", "lettre d’information",
                  "Copiez l’adresse"):
        assert words in help_text, words
    field = page.find("input", id="adresse-flux")
    assert field is not None and field.has_attr("readonly")
    assert field["value"] == f"http://localhost/feeds/{feed_id}.{fmt}"
    label = page.find("label", attrs={"for": "adresse-flux"})
    assert label is not None and "Adresse du flux" in _text(label)
    # the items, in the feed's order, each linked to its page, dated in French
    articles = page.select("ul.contenus > li > article")
    root = _strict(data)
    elements = _rss_items(root) if fmt == "rss" else _atom_entries(root)
    assert len(articles) == len(feed.entries) == len(elements) > 0
    for article, entry, element in zip(articles, feed.entries, elements, strict=True):
        heading = article.find("h3")
        assert _text(heading) == entry.title
        page_link = element.findtext("link") if fmt == "rss" else _entry_link(element)
        assert heading.a["href"] == page_link and _absolute(page_link)
        time = article.find("time")
        published = element.findtext("pubDate") if fmt == "rss" else element.findtext(
            "atom:published", namespaces=NS)
        if fmt == "rss" and not published:  # RSS has no update date: no date at all
            assert time is None
        else:
            assert FRENCH_DATE.match(_text(time)), _text(time)
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", time["datetime"])
            # Only a page's own publication date is called one.
            label = "Publié le" if published else "Mis à jour le"
            assert _text(time.parent).startswith(label), _text(time.parent)
        credit = element.findtext(".//media:credit", namespaces=NS)
        caption = article.find("figcaption")
        assert _text(caption) == f"© {credit}" if credit else caption is None
        # the small image (media:thumbnail), else the full one
        candidates = [media.get("url") for media in
                      (*element.iterfind(".//media:thumbnail", NS),
                       *element.iterfind(".//media:content", NS))]
        image = article.find("img")
        if candidates:
            assert image is not None and image["src"] == candidates[0]
            assert image["alt"] == ""  # decorative: the title beside it says the same
        else:
            assert image is None
    # every link and image of the page is absolute (the page may be saved or shared)
    urls = [tag["href"] for tag in page.find_all(href=True) if tag["href"] != "#contenus"]
    urls += [tag["src"] for tag in page.find_all(src=True)]
    assert urls and all(_absolute(url) for url in urls), urls


def _luminance(hex_colour: str) -> float:
    digits = hex_colour[1:] if len(hex_colour) == 7 else "".join(c * 2 for c in hex_colour[1:])
    channels = [int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(one: str, other: str) -> float:
    high, low = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_page_has_sufficient_contrast_and_a_visible_focus(web: FlaskClient,
                                                              stylesheet: etree.XSLT) -> None:
    """WCAG 2.1 (RGAA 3.2, 10.7): text at least 4.5:1 on every background the page uses,
    focus outlines at least 3:1; a focused link or field is outlined, not left bare."""
    page = _transform(stylesheet, _get_ok(web, "/feeds/actualites.rss").data)
    css = page.find("style").get_text()
    colour = r"(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\b"
    texts = re.findall(r"(?<![-\w])color:\s*" + colour, css)
    backgrounds = re.findall(r"background:\s*" + colour, css)
    outlines = re.findall(r"outline:\s*\d+px solid " + colour, css)
    assert len(texts) >= 3 and len(backgrounds) >= 3 and outlines
    for background in backgrounds:
        for text in texts:
            assert _contrast(text, background) >= 4.5, (text, background)
        for outline in outlines:
            assert _contrast(outline, background) >= 3, (outline, background)
    for selector in ("a:focus-visible", "input:focus-visible", "a:focus", "input:focus"):
        rule = re.search(rf"{re.escape(selector)}[^{{]*{{([^}}]*)}}", css)
        assert rule and re.search(r"outline:\s*[2-9]px solid", rule[1]), selector
    # the skip link comes first and leads to the items
    first_link = page.body.find("a")
    assert first_link["href"] == "#contenus" and page.find(id="contenus") is not None


def test_the_page_shows_rss_summaries_and_dates_of_publication(
        web: FlaskClient, stylesheet: etree.XSLT) -> None:
    data = _get_ok(web, "/feeds/actualites.rss").data
    root = _strict(data)
    page = _transform(stylesheet, data)
    articles = page.select("ul.contenus > li > article")
    for article, item in zip(articles, _rss_items(root), strict=True):
        assert _text(article.find("p", class_="resume")) == " ".join(
            (item.findtext("description") or "").split())
        published = parsedate_to_datetime(item.findtext("pubDate") or "")
        assert article.find("time")["datetime"] == published.date().isoformat()


def test_the_page_of_a_later_page_offers_the_first_page_and_both_neighbours(
        web: FlaskClient, stylesheet: etree.XSLT) -> None:
    data = _get_ok(web, "/feeds/actualites.atom?limit=5&page=2").data
    links = _links(_strict(data))
    page = _transform(stylesheet, data)
    # one subscribes to the newest items (with the same filters), not to page 2
    assert page.find("input", id="adresse-flux")["value"] == links["first"] == \
        "http://localhost/feeds/actualites.atom?limit=5"
    nav = page.find("nav")
    assert nav is not None and nav["aria-label"] == "Pages du flux"
    targets = {_text(a): a["href"] for a in nav.find_all("a")}
    assert targets == {"Contenus plus récents": links["previous"],
                       "Contenus plus anciens": links["next"]}
    assert len(page.select("ul.contenus > li")) == 5


def test_the_page_of_an_empty_feed_says_so(web: FlaskClient, stylesheet: etree.XSLT) -> None:
    page = _transform(stylesheet, _get_ok(web, "/feeds/plan-climat.rss").data)
    assert _text(page.find("h1")) == "Plan régional pour le climat"
    assert page.find("ul", class_="contenus") is None
    assert "Ce flux ne contient encore aucun contenu." in _text(page.body)


@pytest.mark.parametrize(("document", "expected"), [
    ('<rss version="2.0"><channel><title>T</title><item><title>a</title>'
     "<pubDate>Tue, 01 Sep 2026 08:00:00 +0200</pubDate></item></channel></rss>",
     ("2026-09-01", "1er septembre 2026")),
    ('<rss version="2.0"><channel><title>T</title><item><title>a</title>'
     "<pubDate>9 Feb 2026 08:00:00 GMT</pubDate></item></channel></rss>",
     ("2026-02-09", "9 février 2026")),
    (f'<feed xmlns="{ATOM}"><title>T</title><entry><title>a</title>'
     "<updated>2026-12-31T10:00:00Z</updated><published>2026-08-15T10:00:00+02:00</published>"
     "</entry></feed>",
     ("2026-08-15", "15 août 2026")),
    (f'<feed xmlns="{ATOM}"><title>T</title><entry><title>a</title>'
     "<updated>2026-12-01T10:00:00Z</updated></entry></feed>",
     ("2026-12-01", "1er décembre 2026")),
], ids=["rss-first-of-month", "rss-no-weekday", "atom-published-wins", "atom-updated"])
def test_the_page_writes_dates_in_french(stylesheet: etree.XSLT, document: str,
                                         expected: tuple[str, str]) -> None:
    time = _transform(stylesheet, document.encode()).find("time")
    assert (time["datetime"], _text(time)) == expected


# --- the XSLT page in a real browser -------------------------------------------------------


@pytest.fixture(scope="module")
def served(module_app: Flask) -> Iterator[str]:
    """The app as it is, on a real loopback HTTP server."""
    with serving(module_app) as url:
        yield url


@pytest.fixture(scope="module")
def served_as_xml_to_browsers(module_app: Flask) -> Iterator[str]:
    """The app, where a feed asked for by a browser (Accept: text/html) is labelled
    application/xml, a type browsers render (and so apply XSLT to); same bytes otherwise."""

    def negotiated(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        browser = "text/html" in environ.get("HTTP_ACCEPT", "")

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if browser:
                headers = [(name, "application/xml; charset=utf-8")
                           if name.lower() == "content-type"
                           and value.split(";")[0] in ("application/rss+xml",
                                                       "application/atom+xml") else (name, value)
                           for name, value in headers]
            return start_response(status, headers, exc_info)

        return module_app(environ, start)

    with serving(negotiated) as url:
        yield url


def _assert_french_feed_page(dom: BeautifulSoup, title: str, items: int, address: str) -> None:
    assert dom.html is not None and dom.html.get("lang") == "fr", str(dom)[:500]
    assert _text(dom.find("h1")) == title
    assert dom.find("h2", string="Comment s’abonner") is not None
    assert dom.find("input", id="adresse-flux")["value"] == address
    assert len(dom.select("ul.contenus > li > article")) == items


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_chromium_shows_the_french_page_for_a_feed_served_as_xml(
        served_as_xml_to_browsers: str, tmp_path: Path, fmt: str) -> None:
    """The stylesheet in a real browser, fetched by it over HTTP from the app (same origin)."""
    url = f"{served_as_xml_to_browsers}/feeds/actualites.{fmt}?limit=5"
    dom = dump_dom(url, tmp_path / "profile")
    _assert_french_feed_page(dom, "Toutes les actualités de la Région", 5, url)
    assert dom.find("pre") is None  # not the XML source shown as text


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_chromium_shows_the_french_page_when_a_person_opens_a_feed_url(
        served: str, tmp_path: Path, fmt: str) -> None:
    url = f"{served}/feeds/region-solidaire.{fmt}"
    dom = dump_dom(url, tmp_path / "profile")
    _assert_french_feed_page(dom, "Région solidaire", 4, url)


# --- OPML ------------------------------------------------------------------------------------


def _outlines(root: etree._Element) -> list[etree._Element]:
    return root.findall(".//outline[@type='rss']")


def test_opml_lists_every_feed_once_with_its_rss_and_page(web: FlaskClient,
                                                          filled: Filled) -> None:
    response = _get_ok(web, "/feeds.opml")
    assert response.mimetype == "text/x-opml"
    assert response.mimetype_params.get("charset") == "utf-8"
    root = _strict(response.data)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title")
    catalogue = filled.runtime.catalogue
    outlines = _outlines(root)
    assert sorted(_local(o.get("xmlUrl")) for o in outlines) == \
        sorted(f"/feeds/{feed_id}.rss" for feed_id in catalogue.feeds)
    for outline in outlines:
        feed_id = _local(outline.get("xmlUrl")).removeprefix("/feeds/").removesuffix(".rss")
        feed = catalogue.feeds[feed_id]
        assert outline.get("text") == outline.get("title") == feed.title
        assert outline.get("htmlUrl") == home_url(filled.runtime, feed)
        assert not outline.get("htmlUrl").endswith(".xml")  # a page, never a feed or sitemap
        assert outline.getparent().get("text") == catalogue.publishers[feed.publisher].name
    # each outline is a feed a reader can subscribe to: the RSS is there, about that page
    for outline in outlines:
        if outline.get("xmlUrl").endswith(("/region-solidaire.rss", "/actualites.rss")):
            rss = _xml(web, _local(outline.get("xmlUrl")))
            assert rss.findtext("channel/title") == outline.get("title")
            assert rss.findtext("channel/link") == outline.get("htmlUrl")
    assert {o.get("htmlUrl") for o in outlines} >= {f"{filled.site}/region-solidaire",
                                                    f"{filled.site}/toutes-les-actualites"}


def test_opml_is_read_by_a_feed_reader_library(web: FlaskClient) -> None:
    """listparser-like readers take the outlines with an xmlUrl; there must be no duplicates."""
    root = _xml(web, "/feeds.opml")
    urls = [outline.get("xmlUrl") for outline in root.iter("outline") if outline.get("xmlUrl")]
    assert len(urls) == len(set(urls)) == len(_outlines(root))
    assert all(_absolute(url) for url in urls)


def test_opml_is_cacheable_and_answers_304_and_head(web: FlaskClient) -> None:
    first = _get_ok(web, "/feeds.opml")
    etag = first.headers["ETag"]
    assert etag and _get_ok(web, "/feeds.opml").headers["ETag"] == etag  # stable
    assert first.cache_control.max_age and first.cache_control.max_age > 0
    assert first.cache_control.public
    revalidated = web.get("/feeds.opml", headers={"If-None-Match": etag})
    assert revalidated.status_code == 304 and revalidated.data == b""
    assert web.get("/feeds.opml", headers={"If-None-Match": '"other"'}).status_code == 200
    head = web.head("/feeds.opml")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == etag and head.mimetype == "text/x-opml"


def test_opml_follows_the_public_base_url(redis_client: Redis, prefix: str,
                                          catalogue: Catalogue, web: FlaskClient) -> None:
    service = make_runtime(redis_client, prefix, catalogue, base_url="https://flux.example.org/")
    application = with_opml(create_app(runtime=service))
    try:
        response = _get_ok(application.test_client(), "/feeds.opml")
        urls = [o.get("xmlUrl") for o in _outlines(_strict(response.data))]
        assert urls and all(url.startswith("https://flux.example.org/feeds/") for url in urls)
        assert response.headers["ETag"] != _get_ok(web, "/feeds.opml").headers["ETag"]
    finally:
        application.extensions["syndication.cache"].close()
        service.fetcher.close()


def test_the_index_page_links_to_the_opml(opml_client: FlaskClient) -> None:
    page = BeautifulSoup(_get_ok(opml_client, "/").data, "html.parser")
    [discovery] = page.head.find_all("link", type="text/x-opml")
    assert discovery["rel"] == ["alternate"]
    assert discovery["href"] == "http://localhost/feeds.opml"
    visible = page.body.find("a", string="S’abonner à tous les flux (OPML)")
    assert visible is not None and visible["href"] == discovery["href"]
    assert _get_ok(opml_client, _local(visible["href"])).mimetype == "text/x-opml"


# --- Atom: the RELAX NG schema of RFC 4287 ---------------------------------------------------


ATOM_URLS = ["/feeds/region-solidaire.atom", "/feeds/actualites.atom",
             "/feeds/actualites.atom?limit=5&page=2", "/feeds/actualites.atom?limit=5&page=5",
             "/feeds/solidarite.atom", "/feeds/plan-climat.atom", "/feeds/actualites.atom?q=velo",
             "/feeds/actualites.atom?kind=dossier"]


@pytest.mark.parametrize("url", ATOM_URLS)
def test_atom_documents_are_valid_against_the_rfc4287_schema(web: FlaskClient,
                                                             atom_schema: etree.RelaxNG,
                                                             url: str) -> None:
    root = _xml(web, url)
    assert atom_schema.validate(root), atom_schema.error_log
    # The two Schematron rules of the schema, which RELAX NG validators do not run:
    if root.find("atom:author", NS) is None:
        assert all(entry.find("atom:author", NS) is not None for entry in _atom_entries(root))
    for entry in _atom_entries(root):
        assert entry.xpath("atom:link[@rel='alternate'] or atom:link[not(@rel)] "
                           "or atom:content", namespaces=NS)
    # What the schema lets through but RFC 4287 §3.3 does not: dates without a time zone.
    dates = root.xpath("//atom:updated | //atom:published", namespaces=NS)
    assert dates and all(RFC3339.match(date.text) for date in dates), \
        [date.text for date in dates]


def test_the_schema_accepts_our_media_extension_elements(web: FlaskClient,
                                                         atom_schema: etree.RelaxNG) -> None:
    """RFC 4287 §6.4: foreign elements are simple (text only) or structured (attributes or
    children) extension elements; media:group/content/thumbnail are structured ones."""
    root = _xml(web, "/feeds/region-solidaire.atom")
    media = root.xpath("//media:*", namespaces=NS)
    assert {etree.QName(element).localname for element in media} >= {"content", "thumbnail"}
    assert atom_schema.validate(root), atom_schema.error_log
    entry = _atom_entries(root)[0]
    simple = etree.SubElement(entry, "{urn:example:ext}note")
    simple.text = "texte"
    structured = etree.SubElement(entry, "{urn:example:ext}box", size="2")
    etree.SubElement(structured, "{urn:example:ext}inside")
    assert atom_schema.validate(root), atom_schema.error_log


def _break_feed_id(root: etree._Element) -> None:
    root.remove(root.find("atom:id", NS))


def _break_entry_title(root: etree._Element) -> None:
    entry = _atom_entries(root)[0]
    entry.remove(entry.find("atom:title", NS))


def _undefined_atom_element(root: etree._Element) -> None:
    etree.SubElement(_atom_entries(root)[0], f"{{{ATOM}}}figures")


def _french_date(root: etree._Element) -> None:
    root.find("atom:updated", NS).text = "26 novembre 2026"


def _link_without_href(root: etree._Element) -> None:
    del root.find("atom:link", NS).attrib["href"]


def _cdata_content_type(root: etree._Element) -> None:
    _atom_entries(root)[0].find("atom:content", NS).set("type", "CDATA")


def _category_without_term(root: etree._Element) -> None:
    del _atom_entries(root)[0].find("atom:category", NS).attrib["term"]


def _two_titles(root: etree._Element) -> None:
    etree.SubElement(root, f"{{{ATOM}}}title").text = "Deux"


@pytest.mark.parametrize("breakage", [
    _break_feed_id, _break_entry_title, _undefined_atom_element, _french_date,
    _link_without_href, _cdata_content_type, _category_without_term, _two_titles,
])
def test_the_schema_rejects_what_rfc4287_rejects(web: FlaskClient, atom_schema: etree.RelaxNG,
                                                 breakage: Callable[[etree._Element], None]
                                                 ) -> None:
    """The schema is not vacuous: each violation, made in a served document, is caught."""
    root = _xml(web, "/feeds/region-solidaire.atom")
    assert atom_schema.validate(root)
    breakage(root)
    assert not atom_schema.validate(root)


def test_where_the_rfc4287_schema_is_stricter_than_its_prose(web: FlaskClient,
                                                             atom_schema: etree.RelaxNG) -> None:
    """Appendix B is informative, and stricter than the text in two places that matter to a
    generator; our documents must stay clear of both.

    1. atomFeed is `element atom:feed { …metadata… & extensionElement*, atomEntry* }`: every
       entry after every feed-level element. §4.1.1 sets no order among the children of
       atom:feed, so a feed with a link after its entries is valid Atom that the schema rejects.
    2. atomLanguageTag requires at least one character, so xml:lang="" is rejected, though
       XML 1.0 §2.12 (which §2 of the RFC defers to) allows it to mean "no language"."""
    root = _xml(web, "/feeds/actualites.atom")
    children = [etree.QName(child).localname for child in root
                if isinstance(child.tag, str)]
    first_entry = children.index("entry")
    assert set(children[first_entry:]) == {"entry"}  # ours: entries last
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr-FR"  # ours: not empty

    moved = _xml(web, "/feeds/actualites.atom")
    moved.append(moved.find("atom:link", NS))  # the self link after the entries
    assert not atom_schema.validate(moved)
    feedparser_view = feedparser.parse(etree.tostring(moved))
    assert not feedparser_view.bozo  # …and yet a feed reader takes it as it is

    unlabelled = _xml(web, "/feeds/actualites.atom")
    unlabelled.set("{http://www.w3.org/XML/1998/namespace}lang", "")
    assert not atom_schema.validate(unlabelled)


def test_the_committed_rng_is_the_trang_conversion_of_the_rnc(tmp_path: Path) -> None:
    trang = shutil.which("trang")
    if trang is None:
        pytest.skip("trang is not installed (apt-get install -y trang)")
    converted = tmp_path / "atom.rng"
    subprocess.run([trang, str(SCHEMAS / "atom.rnc"), str(converted)], check=True,
                   capture_output=True, timeout=120)
    assert converted.read_bytes() == (SCHEMAS / "atom.rng").read_bytes()


# --- RSS: the structure of RSS 2.0 (no official schema) --------------------------------------


RSS_URLS = ["/feeds/region-solidaire.rss", "/feeds/actualites.rss",
            "/feeds/actualites.rss?limit=5&page=3", "/feeds/solidarite.rss",
            "/feeds/plan-climat.rss", "/feeds/actualites.rss?q=velo"]


@pytest.mark.parametrize("url", RSS_URLS)
def test_rss_documents_have_the_structure_of_rss_2(web: FlaskClient, url: str) -> None:
    root = _xml(web, url)
    assert root.tag == "rss" and root.get("version") == "2.0"
    [channel] = root.findall("channel")
    for name in ("title", "link", "description"):
        assert (channel.findtext(name) or "").strip(), name
    assert _absolute(channel.findtext("link"))
    assert channel.findtext("language") == "fr-FR"
    assert RFC822.match(channel.findtext("lastBuildDate") or "")
    plain = [child.tag for child in channel if isinstance(child.tag, str) and "{" not in child.tag]
    assert set(plain) <= RSS_CHANNEL_ELEMENTS, set(plain) - RSS_CHANNEL_ELEMENTS
    for name in ("title", "link", "description", "language", "lastBuildDate", "image"):
        assert plain.count(name) <= 1, name
    # atom:link: only the rels we mean, self and hub once each
    rels = [link.get("rel") for link in channel.iterfind("atom:link", NS)]
    assert set(rels) <= FEED_LINK_RELS, rels
    assert rels.count("self") == 1 and rels.count("hub") == 1
    assert all(_absolute(link.get("href")) for link in channel.iterfind("atom:link", NS))
    guids = []
    for item in _rss_items(root):
        children = [c.tag for c in item if isinstance(c.tag, str) and "{" not in c.tag]
        assert set(children) <= RSS_ITEM_ELEMENTS, set(children) - RSS_ITEM_ELEMENTS
        assert item.findtext("title") or item.findtext("description")
        assert _absolute(item.findtext("link") or "")
        date = item.findtext("pubDate")
        if date is not None:  # only when the page said when it was published
            assert RFC822.match(date), date
            assert parsedate_to_datetime(date).tzinfo is not None
        guid = item.find("guid")
        assert guid is not None and guid.get("isPermaLink") == "false"
        guids.append(guid.text)
        for enclosure in item.iterfind("enclosure"):
            assert _absolute(enclosure.get("url"))
            assert (enclosure.get("length") or "").isdigit()
            assert "/" in (enclosure.get("type") or "")
    assert len(guids) == len(set(guids))


# --- the element set --------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """The image a feed shows for a given width: the service's own resized copy when the image
    was probed (real size, length and type), else the original with what the page said of it."""

    url: str
    width: int | None
    height: int | None
    length: int | None
    type: str | None


def _shown(image: dict[str, Any], max_width: int = 600, base: str = "http://localhost") -> Shown:
    copy = next((d for d in image.get("derivatives", ()) if d["max_width"] == max_width), None)
    if copy is not None:
        return Shown(f"{base}/{copy['path']}", copy["width"], copy["height"], copy["length"],
                     copy["type"])
    return Shown(image["url"], image["width"], image["height"], image["length"], image["type"])


def _by_link(web: FlaskClient, feed_id: str, fmt: str) -> dict[str, etree._Element]:
    root = _xml(web, f"/feeds/{feed_id}.{fmt}")
    if fmt == "rss":
        return {item.findtext("link"): item for item in _rss_items(root)}
    return {_entry_link(entry): entry for entry in _atom_entries(root)}


@pytest.mark.parametrize("feed_id", FEEDS)
def test_images_are_where_every_consumer_looks(web: FlaskClient, feed_id: str,
                                               api: dict[str, dict[str, dict[str, Any]]]) -> None:
    """media:content at 600 px, media:thumbnail at 300 px, JSON `image`: each with its real
    size when the image was probed, the original's otherwise."""
    items = api[feed_id]
    assert any(item["image"] for item in items.values()), "else this proves nothing"
    rss, atom = _by_link(web, feed_id, "rss"), _by_link(web, feed_id, "atom")
    json_items = {item["url"]: item for item in
                  _get_ok(web, f"/feeds/{feed_id}.json").get_json()["items"]}
    assert set(rss) == set(atom) == set(json_items) == set(items)
    for url, item in items.items():
        image = item["image"]
        for element in (rss[url], atom[url]):
            contents = element.findall(".//media:content", NS)
            thumbnails = element.findall(".//media:thumbnail", NS)
            if image is None:
                assert contents == thumbnails == []
                continue
            [content], [thumbnail] = contents, thumbnails
            shown, small = _shown(image), _shown(image, 300)
            assert content.get("medium") == "image"
            assert (content.get("url"), content.get("width"), content.get("height"),
                    content.get("type"), content.get("fileSize")) == (
                shown.url, _attr(shown.width), _attr(shown.height), shown.type,
                _attr(shown.length))
            assert (thumbnail.get("url"), thumbnail.get("width"), thumbnail.get("height")) == (
                small.url, _attr(small.width), _attr(small.height))
        assert json_items[url].get("image") == (_shown(image).url if image else None)


def _attr(value: int | None) -> str | None:
    return str(value) if value else None


def test_the_images_feeds_announce_are_served_as_announced(
        web: FlaskClient, api: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Type, length and dimensions in the feed are those of the bytes a client gets."""
    from PIL import Image as Picture

    rss = _xml(web, "/feeds/actualites.rss")
    announced = [(content.get("url"), content.get("type"), content.get("fileSize"),
                  content.get("width"), content.get("height"))
                 for content in rss.iterfind(".//media:content", NS)
                 if content.get("url").startswith("http://localhost/")]
    announced += [(thumbnail.get("url"), None, None, thumbnail.get("width"),
                   thumbnail.get("height"))
                  for thumbnail in rss.iterfind(".//media:thumbnail", NS)
                  if thumbnail.get("url").startswith("http://localhost/")]
    if not announced:
        pytest.skip("no image of the sample items was probed: nothing served by the service")
    for url, media_type, length, width, height in announced[:12]:
        with web.get(_local(url)) as response:
            assert response.status_code == 200, url
            body = response.data
        if media_type:
            assert response.mimetype == media_type
        if length:
            assert len(body) == int(length)
        with Picture.open(io.BytesIO(body)) as picture:
            assert (str(picture.width), str(picture.height)) == (width, height)


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
@pytest.mark.parametrize("feed_id", FEEDS)
def test_the_image_is_at_the_top_of_the_full_content(web: FlaskClient, feed_id: str, fmt: str,
                                                     api: dict[str, dict[str, dict[str, Any]]]
                                                     ) -> None:
    contents = _contents(web, feed_id, fmt)
    for url, item in api[feed_id].items():
        first = _first_tag(contents[url])
        if item["image"] is None:
            assert first.name != "figure"
            continue
        assert first.name == "figure", contents[url][:200]
        img = first.find("img")
        shown = _shown(item["image"])
        assert img["src"] == shown.url
        assert img["alt"] == item["image"]["alt"]
        assert (img.get("width"), img.get("height")) == (_attr(shown.width), _attr(shown.height))
        if item["image"]["credit"]:
            assert _text(first.find("figcaption")) == \
                f"Crédit photo : © {item['image']['credit']}"


def _enclosure_rule(rss_item: etree._Element, image: dict[str, Any] | None) -> None:
    """An RSS enclosure exactly when the shown image's length and type are known, with those."""
    enclosures = rss_item.findall("enclosure")
    shown = _shown(image) if image else None
    known = bool(shown and shown.length and shown.type)
    assert len(enclosures) == int(known)
    if known:
        assert shown is not None
        assert (enclosures[0].get("url"), enclosures[0].get("length"),
                enclosures[0].get("type")) == (shown.url, str(shown.length), shown.type)


def _atom_enclosure_rule(entry: etree._Element, image: dict[str, Any] | None) -> None:
    """Atom's enclosure is a link rel="enclosure" with type and length (RFC 4287 §4.2.7.2), and
    an entry has one alternate link (§4.1.2: no two with the same type and hreflang)."""
    links = entry.findall("atom:link", NS)
    alternates = [link for link in links if link.get("rel", "alternate") == "alternate"]
    assert len(alternates) == 1, [etree.tostring(link) for link in links]
    enclosures = [link for link in links if link.get("rel") == "enclosure"]
    shown = _shown(image) if image else None
    known = bool(shown and shown.length and shown.type)
    assert len(enclosures) == int(known)
    if known:
        assert shown is not None
        assert (enclosures[0].get("href"), enclosures[0].get("length"),
                enclosures[0].get("type")) == (shown.url, str(shown.length), shown.type)


@pytest.mark.parametrize("feed_id", FEEDS)
def test_rss_enclosures_only_where_length_and_type_are_known(
        web: FlaskClient, feed_id: str, api: dict[str, dict[str, dict[str, Any]]]) -> None:
    rss = _by_link(web, feed_id, "rss")
    for url, item in api[feed_id].items():
        _enclosure_rule(rss[url], item["image"])




@pytest.mark.parametrize("feed_id", FEEDS)
def test_atom_enclosures_only_where_length_and_type_are_known(
        web: FlaskClient, feed_id: str, api: dict[str, dict[str, dict[str, Any]]]) -> None:
    atom = _by_link(web, feed_id, "atom")
    for url, item in api[feed_id].items():
        _atom_enclosure_rule(atom[url], item["image"])
    # what a feed reader makes of it: feedparser takes the last alternate link as the entry's
    parsed = feedparser.parse(_get_ok(web, f"/feeds/{feed_id}.atom").data)
    assert {entry.link for entry in parsed.entries} == set(api[feed_id])


def _commit(runtime: Runtime, items: Iterable[Item], source_id: str = "region-solidaire") -> None:
    source = runtime.catalogue.sources[source_id]
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    runtime.store.commit_refresh(source, runtime.catalogue.feeds_of(source.id), list(items), {},
                                 SourceStatus(state="ok", last_attempt=now, last_success=now),
                                 now)


def _item(runtime: Runtime, path: str, **fields: Any) -> Item:
    source = runtime.catalogue.sources["region-solidaire"]
    url = f"{source.url}/{path}"
    when = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    item = Item(id=str(uuid.uuid5(uuid.NAMESPACE_URL, url)), source=source.id, kind="actualite",
                url=url, title=f"Titre {path}", summary=f"Résumé {path}",
                content_html=f"<p>Corps {path}</p>", first_seen=when, updated=when,
                published=when, tags=("Région solidaire",))
    item = replace(item, **fields)
    return replace(item, content_hash=content_hash(item))


IMAGE_URL = "https://www.iledefrance.fr/media/{}.jpg"


@pytest.fixture
def probed(runtime: Runtime, client: FlaskClient) -> dict[str, dict[str, Any]]:
    """Items whose images were probed to every extent the probing may leave behind, stored in
    conftest's per-test store; the model of each, by URL."""
    copies = tuple(Derivative(max_width=width, width=width, height=width // 2,
                              length=width * 10, type="image/jpeg",
                              path=f"images/{'a' * 16}-{'b' * 12}/{width}.jpg")
                   for width in (300, 600, 1200))
    _commit(runtime, [
        _item(runtime, "known", image=Image(url=IMAGE_URL.format("known"), alt="a", width=600,
                                            height=400, type="image/jpeg", length=48213)),
        _item(runtime, "no-length", image=Image(url=IMAGE_URL.format("no-length"), alt="b",
                                                type="image/png")),
        _item(runtime, "no-type", image=Image(url=IMAGE_URL.format("no-type"), alt="c",
                                              length=1000)),
        _item(runtime, "none", image=Image(url=IMAGE_URL.format("none"), alt="d")),
        _item(runtime, "resized", image=Image(url=IMAGE_URL.format("resized"), alt="e",
                                              width=2400, height=1200, type="image/webp",
                                              length=90000, derivatives=copies)),
    ])
    model = {item["url"]: item for item in
             _get_ok(client, "/api/items?feed=region-solidaire").get_json()["items"]}
    assert len(model) == 5
    return model


def test_the_rss_enclosure_rule_whether_length_and_type_are_known_or_not(
        client: FlaskClient, probed: dict[str, dict[str, Any]]) -> None:
    rss = _by_link(client, "region-solidaire", "rss")
    assert set(rss) == set(probed)
    for url, item in probed.items():
        _enclosure_rule(rss[url], item["image"])
    enclosures = {url: item.find("enclosure") for url, item in rss.items()
                  if item.find("enclosure") is not None}
    assert {url.rsplit("/", 1)[1]: (e.get("length"), e.get("type"))
            for url, e in enclosures.items()} == {"known": ("48213", "image/jpeg"),
                                                  "resized": ("6000", "image/jpeg")}


def test_the_atom_enclosure_rule_whether_length_and_type_are_known_or_not(
        client: FlaskClient, probed: dict[str, dict[str, Any]]) -> None:
    atom = _by_link(client, "region-solidaire", "atom")
    assert set(atom) == set(probed)
    for url, item in probed.items():
        _atom_enclosure_rule(atom[url], item["image"])


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_the_dossier_content_ends_with_its_key_figures(web: FlaskClient, filled: Filled,
                                                       fmt: str) -> None:
    html = _contents(web, "region-solidaire", fmt)[f"{filled.site}/region-solidaire"]
    soup = BeautifulSoup(html, "html.parser")
    heading = soup.find("h2", string="Chiffres clés")
    assert heading is not None
    figures = heading.find_next_sibling("ul")
    assert [(_text(li.strong), _text(li)) for li in figures.find_all("li")] == \
        [(text, f"{text} {label}") for label, text, _ in FIGURES]
    assert not heading.find_next_siblings(["p", "h2", "figure"])  # the content's last part
    news = _contents(web, "region-solidaire", fmt)
    assert sum("Chiffres clés" in content for content in news.values()) == 1  # the dossier's only


def test_json_feed_carries_the_figures_as_structured_data(web: FlaskClient,
                                                          filled: Filled) -> None:
    items = {item["url"]: item for item in
             _get_ok(web, "/feeds/region-solidaire.json").get_json()["items"]}
    extension = items[f"{filled.site}/region-solidaire"]["_syndication"]
    assert [(f["label"], f["value_text"], f["amount"], f["unit"]) for f in
            extension["figures"]] == [(label, text, amount, "EUR")
                                      for label, text, amount in FIGURES]
    others = [item for url, item in items.items() if url != f"{filled.site}/region-solidaire"]
    assert others and all(item["_syndication"]["figures"] == [] for item in others)


@pytest.mark.parametrize("feed_id", FEEDS)
def test_categories_are_the_tags_in_every_format(web: FlaskClient, feed_id: str,
                                                 api: dict[str, dict[str, dict[str, Any]]]
                                                 ) -> None:
    tags = {url: item["tags"] for url, item in api[feed_id].items()}
    assert any(tags.values())
    rss = {item.findtext("link"): [c.text for c in item.iterfind("category")]
           for item in _rss_items(_xml(web, f"/feeds/{feed_id}.rss"))}
    atom = {_entry_link(entry): [c.get("term") for c in entry.iterfind("atom:category", NS)]
            for entry in _atom_entries(_xml(web, f"/feeds/{feed_id}.atom"))}
    json_tags = {item["url"]: item["tags"]
                 for item in _get_ok(web, f"/feeds/{feed_id}.json").get_json()["items"]}
    assert rss == atom == json_tags == tags


@pytest.mark.parametrize("feed_id", FEEDS)
def test_every_item_names_its_creator(web: FlaskClient, feed_id: str,
                                      api: dict[str, dict[str, dict[str, Any]]]) -> None:
    for item in _rss_items(_xml(web, f"/feeds/{feed_id}.rss")):
        expected = api[feed_id][item.findtext("link")]["authors"] or [PUBLISHER]
        assert [c.text for c in item.iterfind("dc:creator", NS)] == expected
    for entry in _atom_entries(_xml(web, f"/feeds/{feed_id}.atom")):
        expected = api[feed_id][_entry_link(entry)]["authors"] or [PUBLISHER]
        assert [a.findtext("atom:name", namespaces=NS)
                for a in entry.iterfind("atom:author", NS)] == expected


def test_channel_language_and_logo_in_every_format(web: FlaskClient, filled: Filled) -> None:
    logo = f"{filled.site}/media/logo.png"
    rss = _xml(web, "/feeds/region-solidaire.rss")
    assert rss.findtext("channel/language") == "fr-FR"
    image = rss.find("channel/image")
    assert image is not None
    assert image.findtext("url") == logo
    # RSS 2.0: the image's title and link are the channel's
    assert image.findtext("title") == rss.findtext("channel/title")
    assert image.findtext("link") == rss.findtext("channel/link")
    atom = _xml(web, "/feeds/region-solidaire.atom")
    assert atom.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr-FR"
    assert atom.findtext("atom:logo", namespaces=NS) == logo
    document = _get_ok(web, "/feeds/region-solidaire.json").get_json()
    assert document["language"] == "fr-FR"
    assert document["icon"] == logo


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_self_and_hub_links(web: FlaskClient, fmt: str) -> None:
    url = f"/feeds/actualites.{fmt}?limit=7&tag=Solidarit%C3%A9"
    response = _get_ok(web, url)
    header = response.headers["Link"]
    assert '<http://localhost/hub>; rel="hub"' in header
    if fmt == "json":
        document = response.get_json()
        assert document["feed_url"] == f"http://localhost{url}"
        assert document["hubs"] == [{"type": "WebSub", "url": "http://localhost/hub"}]
        return
    root = _strict(response.data)
    links = _links(root.find("channel") if fmt == "rss" else root)
    assert links["self"] == f"http://localhost{url}"
    assert links["hub"] == "http://localhost/hub"


def test_atom_entries_carry_the_plain_summary(web: FlaskClient, stylesheet: etree.XSLT) -> None:
    rss = {item.findtext("link"): item.findtext("description")
           for item in _rss_items(_xml(web, "/feeds/actualites.rss"))}
    data = _get_ok(web, "/feeds/actualites.atom").data
    root = _strict(data)
    for entry in _atom_entries(root):
        summary = entry.find("atom:summary", NS)
        assert summary is not None, "no atom:summary"
        assert summary.get("type", "text") == "text"
        assert summary.text == rss[_entry_link(entry)]
    page = _transform(stylesheet, data)  # and so the browser page shows it too
    assert all(article.find("p", class_="resume")
               for article in page.select("ul.contenus > li > article"))


# --- RFC 5005 paging -------------------------------------------------------------------------


def _walk_xml(web: FlaskClient, fmt: str, start: str) -> list[tuple[str, dict[str, str],
                                                                     list[str]]]:
    """Every page from `start` following rel="next": (URL, links, guids)."""
    pages = []
    url: str | None = start
    while url is not None:
        assert len(pages) < 50, "rel=next loops"
        root = _xml(web, _local(url))
        if fmt == "rss":
            links = _links(root.find("channel"))
            ids = [item.findtext("guid") for item in _rss_items(root)]
        else:
            links = _links(root)
            ids = [entry.findtext("atom:id", namespaces=NS) for entry in _atom_entries(root)]
        pages.append((url, links, ids))
        url = links.get("next")
    return pages


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_walking_next_visits_every_item_exactly_once(web: FlaskClient, fmt: str) -> None:
    everything = _xml(web, f"/feeds/actualites.{fmt}?limit=500")
    if fmt == "rss":
        expected = [item.findtext("guid") for item in _rss_items(everything)]
    else:
        expected = [e.findtext("atom:id", namespaces=NS) for e in _atom_entries(everything)]
    assert len(expected) > 10
    start = f"http://localhost/feeds/actualites.{fmt}?limit=5"
    pages = _walk_xml(web, fmt, start)
    visited = [guid for _, _, ids in pages for guid in ids]
    assert visited == expected  # each once, newest first, nothing skipped
    assert len(pages) == -(-len(expected) // 5)
    assert all(len(ids) == 5 for _, _, ids in pages[:-1]) and 1 <= len(pages[-1][2]) <= 5
    last_url = pages[-1][0]
    assert "next" not in pages[-1][1]
    for number, (url, links, _) in enumerate(pages):
        assert links["self"] == url
        assert links["first"] == start
        assert links["last"] == last_url
        if number == 0:
            assert "previous" not in links
        else:
            assert links["previous"] == pages[number - 1][0]
    assert parse_qs(urlsplit(last_url).query)["page"] == [str(len(pages))]


def test_json_feed_next_url_walks_every_item_once(web: FlaskClient) -> None:
    expected = [item["id"] for item in
                _get_ok(web, "/feeds/actualites.json?limit=500").get_json()["items"]]
    visited: list[str] = []
    url: str | None = "http://localhost/feeds/actualites.json?limit=5"
    documents = 0
    while url is not None:
        documents += 1
        assert documents < 50, "next_url loops"
        document = _get_ok(web, _local(url)).get_json()
        assert document["feed_url"] == url
        visited += [item["id"] for item in document["items"]]
        url = document.get("next_url")
    assert visited == expected
    assert documents == -(-len(expected) // 5)


def test_paging_links_keep_the_filters(web: FlaskClient) -> None:
    root = _xml(web, "/feeds/actualites.atom?limit=2&tag=solidarit%C3%A9")
    links = _links(root)
    for rel in ("self", "first", "next", "last"):
        query = parse_qs(urlsplit(links[rel]).query)
        assert query["limit"] == ["2"] and query["tag"] == ["solidarité"], (rel, links[rel])
    pages = _walk_xml(web, "atom", links["self"])
    matching = _atom_entries(_xml(web, "/feeds/actualites.atom?limit=500&tag=solidarit%C3%A9"))
    assert sum(len(ids) for _, _, ids in pages) == len(matching) >= 3


# --- filters ---------------------------------------------------------------------------------


def test_q_is_accent_and_case_insensitive(web: FlaskClient) -> None:
    def found(q: str) -> list[str]:
        return [item["url"] for item in
                _get_ok(web, "/feeds/actualites.json", query_string={"q": q}).get_json()["items"]]

    velo = found("velo")
    assert velo, "the sample news have a « vélo » item"
    assert found("VÉLO") == found("Vélo") == found("vElO") == velo
    everything = _get_ok(web, "/feeds/actualites.json?limit=500").get_json()["items"]
    assert len(velo) < len(everything)  # it filters
    for item in everything:
        text = fold(f"{item['title']} {item['summary']}")
        assert (item["url"] in velo) == ("velo" in text)
    assert any("vélo" in f"{item['title']} {item['summary']}".lower() for item in everything
               if item["url"] in velo)  # found through its accent
    # every word must appear
    assert set(found("velo region")) <= set(velo)
    assert found("velo xyzzyqqq") == []


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "2e3", " 2", "1001", "99999999999"])
def test_bad_page_values_are_400_problems_naming_page(web: FlaskClient, fmt: str,
                                                      value: str) -> None:
    response = web.get(f"/feeds/actualites.{fmt}", query_string={"page": value})
    _assert_problem(response, 400, "page")


def test_a_too_long_q_is_a_400_problem(web: FlaskClient) -> None:
    _assert_problem(web.get("/feeds/actualites.rss", query_string={"q": "v" * 201}), 400, "q")


# --- HTTP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/feeds/region-solidaire.rss", "/feeds/actualites.atom",
                                 "/feeds/actualites.json?limit=5&page=2"])
@pytest.mark.parametrize(("accept", "coding"), [
    ("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br", "br"), ("br;q=0, gzip", "gzip"),
    ("gzip;q=0, br", "br"), ("GZIP", "gzip"),
])
def test_compressed_bodies_decode_to_the_identity_body(web: FlaskClient, url: str, accept: str,
                                                       coding: str) -> None:
    identity = _get_ok(web, url, headers={"Accept-Encoding": "identity"})
    assert identity.headers.get("Content-Encoding") is None
    compressed = _get_ok(web, url, headers={"Accept-Encoding": accept})
    assert compressed.headers["Content-Encoding"] == coding
    decode = gzip.decompress if coding == "gzip" else brotli.decompress
    assert decode(compressed.data) == identity.data
    for response in (identity, compressed):
        assert "accept-encoding" in {v.strip().lower() for v in response.headers["Vary"].split(",")}
    assert compressed.headers["ETag"] == identity.headers["ETag"]
    assert int(compressed.headers["Content-Length"]) == len(compressed.data)


@pytest.mark.parametrize("accept", [
    "", ";;;", ",,,", "q=1", "identity", "*;q=0, identity", "compress", "deflate", "zstd",
    "gzip;q=0, br;q=0", "br;q=0, gzip;q=0.000", "\u00e9\u00e8", "gzip;q=abc", "br;q=-1",
    "x" * 5000,
])
def test_garbage_or_unsupported_accept_encoding_gets_identity(web: FlaskClient,
                                                              accept: str) -> None:
    identity = _get_ok(web, "/feeds/actualites.rss", headers={"Accept-Encoding": "identity"})
    response = web.get("/feeds/actualites.rss", headers={"Accept-Encoding": accept})
    assert response.status_code == 200, response.get_data(True)
    assert response.headers.get("Content-Encoding") is None
    assert response.data == identity.data


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_head_has_the_headers_and_no_body(web: FlaskClient, fmt: str) -> None:
    url = f"/feeds/region-solidaire.{fmt}"
    get = _get_ok(web, url)
    head = web.head(url)
    assert head.status_code == 200
    assert head.data == b""
    for name in ("Content-Type", "ETag", "Last-Modified", "Cache-Control", "Vary", "Link"):
        assert head.headers.get(name) == get.headers.get(name), name
    conditional = web.head(url, headers={"If-None-Match": get.headers["ETag"]})
    assert conditional.status_code == 304 and conditional.data == b""


def test_json_feeds_allow_cross_origin_reads(web: FlaskClient) -> None:
    response = _get_ok(web, "/feeds/actualites.json", headers={"Origin": "https://mairie.fr"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers.get("Access-Control-Expose-Headers", "")


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_cache_control_allows_reuse_and_stale_while_revalidate(web: FlaskClient,
                                                               fmt: str) -> None:
    control = _get_ok(web, f"/feeds/actualites.{fmt}").cache_control
    assert control.public
    assert control.max_age is not None and control.max_age > 0
    assert control.stale_while_revalidate is not None
    assert int(control.stale_while_revalidate) > 0


# --- invalid XML characters in scraped text ----------------------------------------------------


def _dirty(text: str) -> str:
    return f"{text}{CONTROL}fin"


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_control_characters_never_make_a_feed_invalid(runtime: Runtime, client: FlaskClient,
                                                      atom_schema: etree.RelaxNG,
                                                      fmt: str) -> None:
    """Items stored with characters XML forbids (as written before any cleaning rule, or by a
    source that bypasses normalise) still give documents that every parser reads."""
    item = _item(runtime, "sale", title=_dirty("Titre"), summary=_dirty("Résumé"),
                 content_html=f"<p>{_dirty('Corps')}</p>", tags=(_dirty("Étiquette"),),
                 authors=(_dirty("Autrice"),),
                 image=Image(url="https://www.iledefrance.fr/media/sale.jpg",
                             alt=_dirty("Texte"), credit=_dirty("Crédit")),
                 figures=(Figure(label=_dirty("pour"), value_text=_dirty("1 €"), amount=1,
                                 unit="EUR"),))
    _commit(runtime, [item])
    response = client.get(f"/feeds/region-solidaire.{fmt}")
    assert response.status_code == 200, response.get_data(True)
    if fmt == "json":
        document = json.loads(response.data)
        jsonschema.Draft202012Validator(json.loads(
            (SCHEMAS / "jsonfeed-1.1.json").read_text(encoding="utf-8"))).validate(document)
        [entry] = document["items"]
        assert entry["title"].startswith("Titre") and entry["title"].endswith("fin")
        return
    root = _strict(response.data)  # strict: one forbidden character fails the whole document
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    [entry] = parsed.entries
    assert entry.title == "Titrefin"  # the characters go, the text stays
    assert "Corpsfin" in entry.content[0].value
    assert [tag.term for tag in entry.tags] == ["Étiquettefin"]
    assert entry.author == "Autricefin"
    if fmt == "rss":
        assert entry.summary == "Résuméfin"
    else:
        assert atom_schema.validate(root), atom_schema.error_log
