"""The pages for people: a feed's own page (/feeds/{feed}, plain HTML in French, no XSLT), the
index that leads to it, the OPML's order, and the configurator's starting point.

The store is filled once per module by the real pipeline (sample site over loopback → refresh →
real Redis); pages are read with BeautifulSoup.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from redis import Redis

from syndication.app import create_app
from syndication.normalise import fold
from syndication.refresh import refresh
from syndication.runtime import Runtime

from .conftest import filled_runtime
from .faulty_site import FaultySite


@pytest.fixture(scope="module")
def filled(redis_client: Redis, sample_site: str) -> Iterator[Runtime]:
    with filled_runtime(redis_client, sample_site) as (runtime, results):
        assert {result.outcome for result in results.values()} == {"ok"}, results
        yield runtime


@pytest.fixture(scope="module")
def web(filled: Runtime) -> Iterator[FlaskClient]:
    app = create_app(runtime=filled)
    yield app.test_client()
    app.extensions["syndication.cache"].close()


def _page(client: FlaskClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.get_data(True))
    assert response.mimetype == "text/html"
    soup = BeautifulSoup(response.data, "html.parser")
    assert soup.html["lang"] == "fr"
    return soup


# --- the feed's page -------------------------------------------------------------------------


def test_feed_page_says_what_the_feed_is_and_shows_its_latest_items(
        web: FlaskClient, filled: Runtime) -> None:
    soup = _page(web, "/feeds/actualites")
    feed = filled.catalogue.feeds["actualites"]
    assert soup.h1.get_text(strip=True) == feed.title
    publisher = filled.catalogue.publishers[feed.publisher]
    assert soup.find("a", href=publisher.url, string=publisher.name)
    titles = [article.h3.get_text(strip=True) for article in soup.select("article.item")]
    expected = [item.title for item in filled.store.feed_items("actualites", limit=10)]
    assert titles == expected and len(titles) == 10
    for article in soup.select("article.item"):
        assert article.select_one(".date").get_text().startswith(("Publié le", "Mis à jour le"))
    assert soup.select("article.item img[alt]")  # the news have their images


def test_feed_page_shows_each_photo_credit_readably(web: FlaskClient, filled: Runtime) -> None:
    soup = _page(web, "/feeds/region-solidaire")
    credited = [item for item in filled.store.feed_items("region-solidaire", limit=10)
                if item.image and item.image.credit]
    assert credited, "the sample dossier credits its photo"
    captions = [caption.get_text(" ", strip=True) for caption in soup.select("figcaption.credit")]
    for item in credited:
        assert f"Crédit photo : © {item.image.credit}" in captions


def test_feed_page_tells_how_to_subscribe(web: FlaskClient) -> None:
    soup = _page(web, "/feeds/actualites")
    for fmt, label in (("rss", "Adresse RSS"), ("atom", "Adresse Atom"),
                       ("json", "Adresse JSON Feed")):
        field = soup.find("input", id=f"address-{fmt}")
        assert field["value"] == f"http://localhost/feeds/actualites.{fmt}"
        assert soup.find("label", attrs={"for": f"address-{fmt}"}).get_text() == label
        assert web.get(urlsplit(field["value"]).path).status_code == 200
    readers = soup.select("ul.readers li")
    assert [li.get_text().split(" : ")[0].removeprefix("S’abonner avec ") for li in readers] == [
        "Feedly", "Inoreader", "NetNewsWire", "Thunderbird"]
    feedly = soup.find("a", string="S’abonner avec Feedly")["href"]
    assert unquote(feedly.rsplit("/feed/", 1)[1]) == "http://localhost/feeds/actualites.rss"
    inoreader = soup.find("a", string="S’abonner avec Inoreader")["href"]
    assert parse_qs(urlsplit(inoreader).query)["add_feed"] == [
        "http://localhost/feeds/actualites.rss"]


def test_feed_page_links_its_widget_and_its_digest(web: FlaskClient) -> None:
    soup = _page(web, "/feeds/actualites")
    builder = soup.find("a", string="Créer un widget de ce flux")["href"]
    assert builder == "http://localhost/embed/builder?feed=actualites"
    digest = soup.find("a", string="Le résumé pour une lettre d’information")["href"]
    assert digest == "http://localhost/digest/actualites.html"
    assert web.get("/digest/actualites.html").status_code == 200


def test_feed_page_is_also_at_html_and_unknown_feeds_are_404(web: FlaskClient) -> None:
    assert _page(web, "/feeds/actualites.html").h1 == _page(web, "/feeds/actualites").h1
    assert web.get("/feeds/nope").status_code == 404
    assert web.get("/feeds/actualites.rss").mimetype == "application/rss+xml"


def test_the_feed_page_never_sends_people_to_xml(web: FlaskClient, filled: Runtime) -> None:
    """A feed read from another feed or from a sitemap is about the publisher's site."""
    for feed_id in ("partenaires", "plan-du-site"):
        feed = filled.catalogue.feeds[feed_id]
        soup = _page(web, f"/feeds/{feed_id}")
        site = soup.find("a", string="cette page de son site")["href"]
        assert site == filled.catalogue.publishers[feed.publisher].url
        assert not site.endswith(".xml")
    assert _page(web, "/feeds/actualites").find("a", string="cette page de son site")[
        "href"] == filled.catalogue.sources["actualites"].url


def test_an_empty_feed_page_says_so(web: FlaskClient, filled: Runtime) -> None:
    empty = [feed_id for feed_id in filled.catalogue.feeds
             if not filled.store.feed_items(feed_id, limit=1)]
    assert empty
    soup = _page(web, f"/feeds/{empty[0]}")
    assert not soup.select("article.item")
    assert "n’a encore rien publié" in soup.get_text()


# --- finding things: the index, the OPML, the builder ---------------------------------------


def test_the_index_links_each_feed_page_its_digest_the_builder_and_the_status(
        web: FlaskClient, filled: Runtime) -> None:
    soup = _page(web, "/")
    assert soup.find("a", href="/embed/builder", string="Créer un widget")
    assert soup.find("a", href="/status")
    for feed_id, feed in filled.catalogue.feeds.items():
        title = soup.find("a", href=f"http://localhost/feeds/{feed_id}", string=feed.title)
        assert title is not None, feed_id
        entry = title.find_parent("li")
        assert entry.find("a", href=f"http://localhost/digest/{feed_id}.html"), feed_id
    for link in soup.find_all("a", href=True):
        assert link["href"] != "/feeds/actualites.rss" or "RSS" in link.get_text()


def test_healthy_feeds_come_first_and_failing_ones_are_marked_on_the_index_and_in_the_opml(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    catalogue = site_runtime.catalogue
    assert refresh(catalogue.sources["region-solidaire"], site_runtime).outcome == "ok"
    assert refresh(catalogue.sources["actualites"], site_runtime).outcome == "ok"
    faulty_site.fail_with("500")
    assert refresh(catalogue.sources["region-solidaire"], site_runtime).outcome == "failed"
    assert refresh(catalogue.sources["plan-climat"], site_runtime).outcome == "failed"
    app = create_app(runtime=site_runtime)
    try:
        client = app.test_client()
        entries = _page(client, "/").select("ul.feeds > li")
        order = [entry.h3.get_text(strip=True) for entry in entries]
        titles = {feed_id: feed.title for feed_id, feed in catalogue.feeds.items()}
        # Working feeds with items, then the failing dossier that still has its items, then
        # the empty ones, the failing one last; every feed is listed.
        assert order[:3] == [titles["actualites"], titles["solidarite"],
                             titles["region-solidaire"]]
        assert order[-1] == titles["plan-climat"] and sorted(order) == sorted(titles.values())
        marks = {entry.h3.get_text(strip=True): entry.select_one(".failing") for entry in entries}
        assert "En échec : region-solidaire" in marks[titles["region-solidaire"]].get_text()
        assert "restent disponibles" in marks[titles["region-solidaire"]].get_text()
        assert marks[titles["plan-climat"]] is not None and marks[titles["actualites"]] is None
        # The OPML groups feeds by publisher; within each group, the same order.
        opml = BeautifulSoup(client.get("/feeds.opml").data, "xml")
        for group in opml.body.find_all("outline", recursive=False):
            outlines = [outline["title"] for outline in group.find_all("outline", type="rss")]
            assert outlines == [title for title in order if title in outlines]
        first_group = opml.body.find("outline").find_all("outline", type="rss")
        assert [outline["title"] for outline in first_group][:3] == order[:3]
    finally:
        app.extensions["syndication.cache"].close()


def test_the_builder_opens_on_a_feed_with_items_and_offers_its_tags(
        runtime: Runtime) -> None:
    """Only the news are refreshed: the catalogue's first feed (the dossier) is empty."""
    assert refresh(runtime.catalogue.sources["actualites"], runtime).outcome == "ok"
    app = create_app(runtime=runtime)
    try:
        client = app.test_client()
        soup = _page(client, "/embed/builder")
        assert soup.select_one("#feed option[selected]")["value"] == "actualites"
        assert soup.find("input", id="title")["value"] == runtime.catalogue.feeds[
            "actualites"].title
        tag_field = soup.find("input", id="tag")
        offered = [option["value"] for option in soup.find("datalist",
                                                           id=tag_field["list"]).find_all("option")]
        stored = {tag for item in runtime.store.feed_items("actualites", limit=500)
                  for tag in item.tags}
        assert "Solidarité" in offered and set(offered) == stored
        assert offered == sorted(offered, key=lambda tag: fold(tag))
        by_feed = {option["value"]: json.loads(option["data-tags"])
                   for option in soup.select("#feed option")}
        assert by_feed["actualites"] == offered and by_feed["region-solidaire"] == []
        # A feed's page opens the builder on that feed.
        chosen = _page(client, "/embed/builder?feed=solidarite")
        assert chosen.select_one("#feed option[selected]")["value"] == "solidarite"
        assert _page(client, "/embed/builder?feed=nope").select_one(
            "#feed option[selected]")["value"] == "actualites"
    finally:
        app.extensions["syndication.cache"].close()
