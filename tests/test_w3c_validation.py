"""Every RSS and Atom document the demo serves, checked by the W3C Feed Validation Service's own
code (tests/w3c_feedvalidator.py says how to point the tests at it; skipped without it).

The store is filled as the demo fills it: every source of the sample site refreshed for real,
images probed, every feed of the catalogue served (those of the real site, unreachable here,
are empty feeds, which must validate too).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from redis import Redis

from syndication.app import create_app

from . import w3c_feedvalidator
from .conftest import filled_runtime, make_catalogue

pytestmark = pytest.mark.skipif(not w3c_feedvalidator.available(),
                                reason="FEEDVALIDATOR_SRC does not point at the W3C validator")


@pytest.fixture(scope="module")
def documents(redis_client: Redis, sample_site: str) -> Iterator[dict[str, bytes]]:
    catalogue = make_catalogue(sample_site)
    sources = tuple(source_id for source_id, source in catalogue.sources.items()
                    if source.url.startswith(sample_site))
    with filled_runtime(redis_client, sample_site, sources) as (service, results):
        assert {result.outcome for result in results.values()} <= {"ok", "not_modified"}
        application: Flask = create_app(runtime=service)
        client = application.test_client()
        served = {}
        # The demo's address: the validator wants a host with a dot (not "localhost").
        base = "http://127.0.0.1:8000/feeds"
        urls = [f"{base}/{feed_id}.{fmt}" for feed_id in service.catalogue.feeds
                for fmt in ("rss", "atom")]
        # and a later page, a tag filter and a filter that leaves nothing
        urls += [f"{base}/actualites.{fmt}?{query}" for fmt in ("rss", "atom")
                 for query in ("limit=5&page=2", "tag=solidarite", "q=introuvable")]
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            served[url] = response.data
        application.extensions["syndication.cache"].close()
        yield served


def test_every_rss_and_atom_document_has_no_error_and_no_warning(
        documents: dict[str, bytes]) -> None:
    assert len(documents) >= 2 * 9 + 6  # the demo's feeds (nine when written), RSS and Atom
    reports = w3c_feedvalidator.validate(documents)
    assert set(reports) == set(documents)
    assert {url: events for url, events in reports.items() if events} == {}
