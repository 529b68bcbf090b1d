"""Redis unreachable while a web process serves: feeds and widgets it rendered keep being served
from memory with an Age header, what it never rendered answers 503 (not 500), /readyz says not
ready, refreshes fail cleanly, one warning per outage; once Redis is back, versions are read
again, the pub/sub listener hears changes again, and fresh content is served.

A real redis-server of the test's own (tests/processes.py), stopped and started again on the
same port with its append-only file, and the generated loopback site."""

from __future__ import annotations

import logging
from collections.abc import Iterator
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

from .processes import LoopbackSite, RedisServer, wait_until, write_feeds_dir


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
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
def app(web: Runtime) -> Iterator[Flask]:
    application = create_app(runtime=web)
    yield application
    application.extensions["syndication.cache"].close()


def item_ids(client: FlaskClient, feed: str = "s0") -> list[str]:
    answer = client.get(f"/feeds/{feed}.json")
    assert answer.status_code == 200, answer.data
    return [item["id"] for item in answer.json["items"]]


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "syndication.web.caching" and r.levelno >= logging.WARNING]


def test_cached_feeds_outlive_an_outage_and_fresh_content_follows_it(
        app: Flask, worker: Runtime, redis_server: RedisServer, site: LoopbackSite,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    client = app.test_client()
    source = worker.catalogue.sources["s0"]
    assert refresh(source, worker).outcome == "ok"
    before = client.get("/feeds/s0.json")
    widget = client.get("/embed/s0.html")
    assert before.status_code == 200 and widget.status_code == 200
    assert len(before.json["items"]) == 3 and "Age" not in before.headers

    redis_server.stop()
    for _ in range(20):  # many requests, one warning
        stale = client.get("/feeds/s0.json")
        assert stale.status_code == 200
        assert stale.data == before.data
        assert int(stale.headers["Age"]) >= 0
        assert stale.headers["ETag"] == before.headers["ETag"]
    stale_widget = client.get("/embed/s0.html")
    assert stale_widget.status_code == 200 and stale_widget.data == widget.data
    assert "Age" in stale_widget.headers
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
    wait_until(lambda: len(item_ids(client)) == 5, 15, "the new items served")
    fresh = client.get("/feeds/s0.json")
    assert "Age" not in fresh.headers and fresh.headers["ETag"] != before.headers["ETag"]
    assert set(item["id"] for item in before.json["items"]) < set(item_ids(client))
    assert client.get("/readyz").status_code == 200
    assert client.get("/feeds/s1.json").status_code == 200  # renders now: an empty feed
    assert len([line for line in outage_lines(caplog) if "unreachable" in line]) == 1
    assert len([line for line in outage_lines(caplog) if "reachable again" in line]) == 1


def test_the_version_listener_hears_changes_again_after_a_restart(
        app: Flask, worker: Runtime, redis_server: RedisServer, site: LoopbackSite) -> None:
    cache: RenderCache = app.extensions["syndication.cache"]
    cache.catch_up_seconds = 3600  # only a notification can tell it a version moved
    client = app.test_client()
    source = worker.catalogue.sources["s0"]
    assert refresh(source, worker).outcome == "ok"
    assert len(item_ids(client)) == 3

    redis_server.stop()
    assert "Age" in client.get("/feeds/s0.json").headers
    redis_server.start()
    # Served fresh again (the version re-read), then the listener subscribed anew.
    wait_until(lambda: "Age" not in client.get("/feeds/s0.json").headers, 15,
               "the feed served as current")
    channel = f"{key_prefix(worker.settings.redis_prefix)}:feed-versions"
    wait_until(lambda: worker.redis.pubsub_numsub(channel)[0][1] >= 1, 15,
               "the version listener subscribed again")
    site.publish(0, more=1)
    assert refresh(source, worker).new == 1  # committed by another process: heard by pub/sub
    wait_until(lambda: len(item_ids(client)) == 4, 15, "the change heard through pub/sub")
