"""The "site" link of a feed (RSS <link>, Atom alternate, JSON Feed home_page_url, OPML htmlUrl)
is a page for people: for a feed source, the site its feed names (its <link>), else the
publisher's site; for a sitemap, the publisher's site. Never the .xml the source reads."""

from __future__ import annotations

from collections.abc import Iterator

import feedparser
import pytest
from flask.testing import FlaskClient
from lxml import etree
from redis import Redis

from syndication.app import create_app
from syndication.runtime import Runtime

from .conftest import filled_runtime


@pytest.fixture(scope="module")
def filled(redis_client: Redis, sample_site: str) -> Iterator[tuple[Runtime, str]]:
    with filled_runtime(redis_client, sample_site,
                        ("region-solidaire", "partenaires", "plan-du-site")) as (service, results):
        assert {result.outcome for result in results.values()} == {"ok"}, results
        yield service, sample_site


@pytest.fixture(scope="module")
def web(filled: tuple[Runtime, str]) -> Iterator[FlaskClient]:
    app = create_app(runtime=filled[0])
    yield app.test_client()
    app.extensions["syndication.cache"].close()


def site_links(web: FlaskClient, feed_id: str) -> dict[str, str]:
    rss = feedparser.parse(web.get(f"/feeds/{feed_id}.rss").data)
    atom = etree.fromstring(web.get(f"/feeds/{feed_id}.atom").data)
    alternate = atom.find("{http://www.w3.org/2005/Atom}link[@rel='alternate']")
    opml = etree.fromstring(web.get("/feeds.opml").data)
    outline = next(o for o in opml.iter("outline")
                   if (o.get("xmlUrl") or "").endswith(f"/feeds/{feed_id}.rss"))
    return {"rss": rss.feed.link, "atom": alternate.get("href"),
            "json": web.get(f"/feeds/{feed_id}.json").get_json()["home_page_url"],
            "opml": outline.get("htmlUrl")}


def test_a_feed_sources_feed_links_to_the_site_its_feed_names(web: FlaskClient,
                                                              filled: tuple[Runtime, str]) -> None:
    _, site = filled
    # The partner's feed says <link>/partenaires/restos-solidaires/</link>.
    assert set(site_links(web, "partenaires").values()) == {
        f"{site}/partenaires/restos-solidaires/"}


def test_a_sitemap_sources_feed_links_to_the_publishers_site(web: FlaskClient,
                                                             filled: tuple[Runtime, str]) -> None:
    runtime, _ = filled
    publisher = runtime.catalogue.publishers[runtime.catalogue.feeds["plan-du-site"].publisher]
    assert set(site_links(web, "plan-du-site").values()) == {publisher.url}


def test_an_html_sources_feed_still_links_to_its_page(web: FlaskClient,
                                                      filled: tuple[Runtime, str]) -> None:
    _, site = filled
    assert set(site_links(web, "region-solidaire").values()) == {f"{site}/region-solidaire"}
