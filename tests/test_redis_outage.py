"""Redis unreachable while a web process serves: feeds and widgets it rendered keep being served
from memory with an Age header, what it never rendered answers 503 (not 500), /readyz says not
ready, refreshes fail cleanly, one warning per outage; once Redis is back, versions are read
again, the pub/sub listener hears changes again, and fresh content is served.

A real redis-server of the test's own (tests/processes.py), stopped and started again on the
same port with its append-only file, and the generated loopback site. The web process's render
cache runs on a clock the test moves (tests/clocks.py): an Age is exact, the retry window after a
failure passes when the test says so, and catch-up never comes by itself. The test waits for the
cache's listener to have heard Redis go, or to have subscribed again: never for time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from syndication.app import create_app
from syndication.refresh import refresh
from syndication.runtime import Runtime, open_runtime
from syndication.schedule.jobs import run_refresh
from syndication.settings import load_settings
from syndication.store.keys import key_prefix
from syndication.web.caching import RenderCache

from .clocks import ManualClock
from .conftest import fast
from .processes import LoopbackSite, RedisServer, missing_redis_server, write_feeds_dir
from .waiting import wait_until


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if reason := missing_redis_server():
        pytest.skip(reason)
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    site = LoopbackSite(sources=2, articles=3)
    yield site
    site.stop()


def open_service(redis_server: RedisServer, site: LoopbackSite, directory: Path) -> Runtime:
    """A runtime as a process of the service opens it: its own client from the Redis URL."""
    feeds_dir = write_feeds_dir(directory / "feeds", site, every="10s")
    settings = load_settings({"redis_url": redis_server.url, "redis_prefix": "outage",
                              "feeds_dir": str(feeds_dir), "host_delay": 0.0,
                              "fetch_allowed_networks": "127.0.0.0/8"}, environ={})
    return open_runtime(settings)


@pytest.fixture
def web(redis_server: RedisServer, site: LoopbackSite, tmp_path: Path) -> Iterator[Runtime]:
    service = open_service(redis_server, site, tmp_path)
    yield service
    service.fetcher.close()


@pytest.fixture
def worker(redis_server: RedisServer, site: LoopbackSite, tmp_path: Path) -> Iterator[Runtime]:
    """Another process's runtime (its own connections): the one that refreshes."""
    service = open_service(redis_server, site, tmp_path)
    yield service
    service.fetcher.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def app(web: Runtime, clock: ManualClock, http_path: str) -> Iterator[Flask]:
    application = create_app(runtime=web, fast_path=fast(http_path))
    application.extensions["syndication.cache"].close()  # never used: no request yet
    # Catch-up would never come in these tests' time: only notifications move a version on.
    application.extensions["syndication.cache"] = RenderCache(web.store, clock=clock,
                                                              catch_up_seconds=3600)
    yield application
    application.extensions["syndication.cache"].close()


def cache_of(app: Flask) -> RenderCache:
    return app.extensions["syndication.cache"]


def after_each_retry_window(clock: ManualClock, cache: RenderCache,
                            check: Callable[[], bool]) -> Callable[[], bool]:
    """`check`, each time once the outage's retry window has passed: the web process asks
    Redis again at the next request."""
    def attempt() -> bool:
        clock.advance(cache.outage.retry_seconds)
        return check()

    return attempt


def stop_once_listening(redis_server: RedisServer, cache: RenderCache) -> None:
    """Stop Redis once the cache's version listener is subscribed, and return once it has heard
    the connection go: from then on the cache trusts no version it knows, and asks Redis."""
    wait_until(cache.listening.is_set, "the version listener subscribed")
    redis_server.stop()
    wait_until(lambda: not cache.listening.is_set(), "the version listener heard Redis go")


def item_ids(client: FlaskClient, feed: str = "s0") -> list[str]:
    answer = client.get(f"/feeds/{feed}.json")
    assert answer.status_code == 200, answer.data
    return [item["id"] for item in answer.json["items"]]


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "syndication.web.caching" and r.levelno >= logging.WARNING]


def test_cached_feeds_outlive_an_outage_and_fresh_content_follows_it(
        app: Flask, worker: Runtime, redis_server: RedisServer, site: LoopbackSite,
        clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    client, cache = app.test_client(), cache_of(app)
    source = worker.catalogue.sources["s0"]
    assert refresh(source, worker).outcome == "ok"
    before = client.get("/feeds/s0.json")
    widget = client.get("/embed/s0.html")
    assert before.status_code == 200 and widget.status_code == 200
    assert len(before.json["items"]) == 3 and "Age" not in before.headers

    stop_once_listening(redis_server, cache)
    clock.advance(42)  # since Redis last said the version was current
    for _ in range(20):  # many requests, one warning
        stale = client.get("/feeds/s0.json")
        assert stale.status_code == 200
        assert stale.data == before.data
        assert stale.headers["Age"] == "42"
        assert stale.headers["ETag"] == before.headers["ETag"]
    stale_widget = client.get("/embed/s0.html")
    assert stale_widget.status_code == 200 and stale_widget.data == widget.data
    assert stale_widget.headers["Age"] == "42"
    # Another representation of the same feed, never rendered here: no bytes to fall back on.
    for path in ("/feeds/s1.json", "/feeds/s0.rss", "/api/items?feed=s0", "/status"):
        unavailable = client.get(path)
        assert unavailable.status_code == 503, path
        assert unavailable.mimetype == "application/problem+json"
        assert int(unavailable.headers["Retry-After"]) > 0
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["status"] == "unavailable"
    assert client.get("/healthz").status_code == 200  # alive: nothing to restart
    assert len([line for line in outage_lines(caplog) if "unreachable" in line]) == 1

    failed = refresh(source, worker)  # a refresh meanwhile fails cleanly, and says why
    assert (failed.outcome, failed.error_kind) == ("failed", "redis")
    jobbed = run_refresh(worker, source)  # as a worker runs it: no exception either
    assert (jobbed.outcome, jobbed.error_kind) == ("failed", "redis")

    redis_server.start()  # the same port and data: a restart
    site.publish(0, more=2)
    assert refresh(source, worker).new == 2
    wait_until(after_each_retry_window(clock, cache, lambda: len(item_ids(client)) == 5),
               "the new items served")
    fresh = client.get("/feeds/s0.json")
    assert "Age" not in fresh.headers and fresh.headers["ETag"] != before.headers["ETag"]
    assert set(item["id"] for item in before.json["items"]) < set(item_ids(client))
    assert client.get("/readyz").status_code == 200
    assert client.get("/feeds/s1.json").status_code == 200  # renders now: an empty feed
    assert len([line for line in outage_lines(caplog) if "unreachable" in line]) == 1
    assert len([line for line in outage_lines(caplog) if "reachable again" in line]) == 1


def test_the_version_listener_hears_changes_again_after_a_restart(
        app: Flask, worker: Runtime, redis_server: RedisServer, site: LoopbackSite,
        clock: ManualClock) -> None:
    client, cache = app.test_client(), cache_of(app)
    source = worker.catalogue.sources["s0"]
    assert refresh(source, worker).outcome == "ok"
    assert len(item_ids(client)) == 3

    stop_once_listening(redis_server, cache)
    assert "Age" in client.get("/feeds/s0.json").headers
    redis_server.start()
    # Served fresh again once the retry window has passed (the version read again)…
    wait_until(after_each_retry_window(
        clock, cache, lambda: "Age" not in client.get("/feeds/s0.json").headers),
        "the feed served as current")
    # …and the listener subscribed anew, having forgotten what it may have missed meanwhile.
    wait_until(cache.listening.is_set, "the version listener subscribed again")
    channel = f"{key_prefix(worker.settings.redis_prefix)}:feed-versions"
    with redis_server.client() as redis:
        assert redis.pubsub_numsub(channel)[0][1] >= 1
    assert len(item_ids(client)) == 3  # now trusted: the clock stands still, no catch-up comes
    site.publish(0, more=1)
    assert refresh(source, worker).new == 1  # committed by another process: heard by pub/sub
    wait_until(lambda: len(item_ids(client)) == 4, "the change heard through pub/sub")
