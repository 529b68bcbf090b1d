"""The hot path (web/fastpath.py) as a black box: for every public read it answers, the same
status, headers and bytes as the Flask path, for GET and HEAD, each encoding, conditional
requests; and never a stale representation once a change is committed, in this process or in
another.

Two apps share one store, filled once by the real pipeline: one with the hot path in front of
Flask, one without. Each request is made three times on the first app (the first goes through
Flask and is kept, the next ones are answered by the hot path) and once on the second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import ConnectionPool, Redis
from werkzeug.test import EnvironBuilder, TestResponse

from syndication.app import create_app
from syndication.runtime import Runtime
from syndication.state import SourceStatus
from syndication.store import FeedStore
from syndication.web.caching import RenderCache
from syndication.web.fastpath import MAX_KEY_CHARS, request_key

from .clocks import ManualClock
from .conftest import filled_runtime
from .test_store import make_item
from .waiting import wait_until

# Every public read that is served from the render cache, with options and filters; and
# /api/items, which is not (Flask answers it on both apps).
URLS = [
    "/feeds/actualites.rss", "/feeds/actualites.atom", "/feeds/actualites.json",
    "/feeds/region-solidaire.rss?limit=2&kind=actualite",
    "/feeds/actualites.atom?q=solidarit%C3%A9&page=1",
    "/embed/actualites.html", "/embed/actualites.html?layout=cards&count=3&theme=dark&new_tab=1",
    "/embed/region-solidaire.html?layout=figures&title=Chiffres%20cl%C3%A9s&color=%23102030",
    "/embed/actualites.js", "/embed/resize.js",
    "/embed/actualites/frame", "/embed/actualites/frame?layout=headlines&count=2&more=1",
    "/digest/actualites.html", "/digest/actualites.json?since=2020-01-01&limit=5",
    "/digest/region-solidaire.html?window=30d&tag=solidarit%C3%A9",
    "/oembed?url=http%3A%2F%2Flocalhost%2Ffeeds%2Factualites.rss&format=json",
    "/oembed?url=http%3A%2F%2Flocalhost%2Fembed%2Factualites%2Fframe%3Flayout%3Dcards"
    "&format=xml&maxwidth=400",
    "/api/items?feed=actualites&limit=3",
    "/feeds/nope.rss", "/embed/actualites.html?layout=nope",  # errors: Flask's, never kept
]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
HEADER_SETS = [{}, {"Accept-Encoding": "gzip"}, {"Accept-Encoding": "gzip, deflate, br"},
               {"Accept-Encoding": "identity;q=1, *;q=0"}, {"Accept": BROWSER}]


@pytest.fixture(scope="module")
def service(redis_client: Redis, sample_site: str) -> Iterator[Runtime]:
    with filled_runtime(redis_client, sample_site) as (runtime, _results):
        yield runtime


def make_app(runtime: Runtime, fast_path: bool) -> Iterator[Flask]:
    app = create_app(runtime=runtime, fast_path=fast_path)
    yield app
    app.extensions["syndication.cache"].close()


@pytest.fixture(scope="module")
def fast_app(service: Runtime) -> Iterator[Flask]:
    yield from make_app(service, True)


@pytest.fixture(scope="module")
def flask_app(service: Runtime) -> Iterator[Flask]:
    yield from make_app(service, False)


def compared(response: TestResponse) -> tuple[str, list[tuple[str, str]], bytes]:
    """What a client sees: the status, every header in order (servers add Date), the bytes."""
    return response.status, [(k, v) for k, v in response.headers if k != "Date"], response.data


def kept(app: Flask, url: str, method: str, headers: dict[str, str]) -> bool:
    """Whether the hot path holds a current response for this request."""
    path, _, query = url.partition("?")
    environ = EnvironBuilder(path=path, query_string=query, method=method,
                             headers=headers).get_environ()
    cache: RenderCache = app.extensions["syndication.cache"]
    found = cache.responses.by_request.get(request_key(environ))
    return found is not None and cache.current(found.representation)


def same_answers(fast: FlaskClient, flask: FlaskClient, url: str, method: str,
                 headers: dict[str, str]) -> TestResponse:
    expected = flask.open(url, method=method, headers=headers)
    for _ in range(3):
        assert compared(fast.open(url, method=method, headers=headers)) == compared(expected), (
            url, method, headers)
    return expected


@pytest.mark.parametrize("url", URLS)
def test_the_hot_path_answers_as_flask_does(fast_app: Flask, flask_app: Flask, url: str) -> None:
    fast, flask = fast_app.test_client(), flask_app.test_client()
    cacheable = not url.startswith("/api/") and "nope" not in url
    for headers in HEADER_SETS:
        for method in ("GET", "HEAD"):
            response = same_answers(fast, flask, url, method, headers)
            assert response.status_code == (200 if cacheable else response.status_code)
            assert kept(fast_app, url, method, headers) == cacheable
        if not cacheable:
            continue
        # Conditional requests: a match, a date, a stale ETag, both validators.
        etag, modified = response.headers["ETag"], response.headers.get("Last-Modified")
        conditions = [{"If-None-Match": etag}, {"If-None-Match": f'"other", {etag}'},
                      {"If-None-Match": '"other"'}, {"If-None-Match": "*"},
                      {"If-None-Match": '"other"', "If-Modified-Since": modified or ""}]
        if modified:
            conditions += [{"If-Modified-Since": modified},
                           {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
                           {"If-Modified-Since": "not a date"}]
        for condition in conditions:
            for method in ("GET", "HEAD"):
                answer = same_answers(fast, flask, url, method, headers | condition)
                assert answer.status_code in (200, 304)
    if cacheable:
        assert same_answers(fast, flask, url, "GET", {"If-None-Match": etag}).status_code == 304


def test_other_hosts_and_schemes_are_answered_for_themselves(fast_app: Flask,
                                                             flask_app: Flask) -> None:
    """Links follow the request's host when no base_url is set: one host's response is never
    sent to another, nor an http one over https."""
    fast, flask = fast_app.test_client(), flask_app.test_client()
    for base in ("http://localhost", "http://127.0.0.1:8000", "https://localhost"):
        expected = flask.get("/feeds/actualites.rss", base_url=base)
        for _ in range(2):
            got = fast.get("/feeds/actualites.rss", base_url=base)
            assert compared(got) == compared(expected)
            assert base.encode() in got.data


@pytest.fixture
def changing(redis_client: Redis, sample_site: str) -> Iterator[tuple[Runtime, Flask, Flask]]:
    """A store of this test's own, and the two apps on it."""
    with filled_runtime(redis_client, sample_site, sources=("actualites",)) as (runtime, _):
        fast, flask = make_app(runtime, True), make_app(runtime, False)
        yield runtime, next(fast), next(flask)
        for rest in (fast, flask):
            next(rest, None)


def publish(store: FeedStore, runtime: Runtime, title: str) -> None:
    source = runtime.catalogue.sources["actualites"]
    item = make_item(1, source="actualites", title=title)
    item = replace(item, published=datetime.now(UTC), first_seen=datetime.now(UTC))
    store.commit_refresh(source, runtime.catalogue.feeds_of(source.id), [item], {},
                         SourceStatus(state="ok"), datetime.now(UTC))


WATCHED = ["/feeds/actualites.rss", "/embed/actualites.html?count=10", "/digest/actualites.json"]


def test_a_change_in_this_process_is_served_at_once(
        changing: tuple[Runtime, Flask, Flask]) -> None:
    runtime, fast_app, flask_app = changing
    fast, flask = fast_app.test_client(), flask_app.test_client()
    before = {url: same_answers(fast, flask, url, "GET", {}) for url in WATCHED}
    assert all(kept(fast_app, url, "GET", {}) for url in WATCHED)
    publish(runtime.store, runtime, "Une nouvelle publication")
    for url in WATCHED:  # no wait: the commit itself told this process's cache
        assert not kept(fast_app, url, "GET", {})
        now = same_answers(fast, flask, url, "GET", {})
        assert "Une nouvelle publication" in now.get_data(as_text=True)
        assert now.data != before[url].data
        # The old validators no longer match: the new representation is sent.
        assert fast.get(url, headers={"If-None-Match": before[url].headers["ETag"]}
                        ).status_code == 200


def test_a_change_in_another_process_is_served_once_heard(
        changing: tuple[Runtime, Flask, Flask], redis_client: Redis) -> None:
    runtime, fast_app, _ = changing
    # Time stands still: only the notification can tell the cache that the version moved.
    fast_app.extensions["syndication.cache"].close()
    fast_app.extensions["syndication.cache"] = RenderCache(runtime.store, clock=ManualClock(),
                                                           catch_up_seconds=3600)
    fast = fast_app.test_client()
    url = "/feeds/actualites.json"
    first = fast.get(url)
    assert fast.get(url).data == first.data and kept(fast_app, url, "GET", {})
    cache: RenderCache = fast_app.extensions["syndication.cache"]
    wait_until(cache.listening.is_set, "the listener subscribed")
    pool = redis_client.connection_pool
    other = Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class,
                                                 **pool.connection_kwargs))
    try:  # another connection: as the scheduler's process would commit
        publish(FeedStore(other, runtime.settings.redis_prefix, runtime.settings.retention),
                runtime, "Publiée par un autre processus")
        # The change stream's notification reaches the listener: the kept response goes.
        wait_until(lambda: not kept(fast_app, url, "GET", {}), "the notification heard")
        assert "Publiée par un autre processus" in fast.get(url).get_data(as_text=True)
    finally:
        other.close()


def test_a_digest_window_is_asked_of_flask_again_on_the_hour(fast_app: Flask) -> None:
    """A window's start moves on the hour, and with it the variant a request gets: a kept
    response of a window is sent until then only; one of a fixed `since`, as long as current."""
    fast = fast_app.test_client()
    cache: RenderCache = fast_app.extensions["syndication.cache"]
    window, since = "/digest/actualites.html?window=24h", "/digest/actualites.json?since=2020-01-01"
    for url in (window, since):
        fast.get(url)
    found = {url: cache.responses.by_request[request_key(EnvironBuilder(
        path=url.partition("?")[0], query_string=url.partition("?")[2]).get_environ())]
        for url in (window, since)}
    next_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert found[since].until is None
    assert found[window].until is not None
    assert 0 <= found[window].until - next_hour.timestamp() <= 3600  # the hour may turn meanwhile
    # As if the hour had come: the kept response is not sent, Flask answers and is kept again.
    key = next(k for k, v in cache.responses.by_request.items() if v is found[window])
    cache.responses.by_request[key] = replace(found[window], until=time.time() - 1)
    assert fast.get(window).status_code == 200
    assert cache.responses.by_request[key].until is not None
    assert cache.responses.by_request[key].until > time.time()


def test_requests_too_long_to_keep_are_still_answered_as_flask_does(fast_app: Flask,
                                                                    flask_app: Flask) -> None:
    """Unknown widget options are ignored (hosts add cache-busting parameters): a request
    padded with them gets the widget, from Flask each time, and is never kept."""
    url = "/embed/actualites.html?layout=cards&junk=" + "x" * MAX_KEY_CHARS
    fast, flask = fast_app.test_client(), flask_app.test_client()
    answer = same_answers(fast, flask, url, "GET", {})
    assert answer.status_code == 200
    assert not kept(fast_app, url, "GET", {})
