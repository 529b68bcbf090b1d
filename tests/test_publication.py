"""One publication path: every committed change of a feed, whoever makes it, reaches the feed's
WebSub subscribers through the store's change stream (wired once, in runtime.py). No code path
announces by hand, so none can forget to: these tests make each kind of change and only then run
the hub's delivery, as the scheduler's WebSub job does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from flask.testing import FlaskClient
from redis import Redis

from demo.sample_site import SITE_DIR
from syndication import websub
from syndication.app import create_app
from syndication.model import Catalogue
from syndication.refresh import refresh
from syndication.runtime import Runtime
from syndication.schedule import build_scheduler, sync_jobs

from .conftest import make_runtime
from .websub_subscriber import Subscriber

ADMIN = "admin-secret-for-tests"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
HOST = "http://localhost"  # the Flask test client's host
AGENDA = json.loads((SITE_DIR / "push" / "agenda.json").read_text(encoding="utf-8"))


@pytest.fixture
def service(redis_client: Redis, prefix: str, catalogue: Catalogue) -> Iterator[Runtime]:
    runtime = make_runtime(redis_client, prefix, catalogue, admin_token=ADMIN,
                           api_source_domains="127.0.0.1", hub_allowed_networks="127.0.0.0/8",
                           hub_timeout=5.0)
    yield runtime
    runtime.fetcher.close()


@pytest.fixture
def web(service: Runtime) -> Iterator[FlaskClient]:
    app = create_app(runtime=service)
    yield app.test_client()
    app.extensions["syndication.cache"].close()


@pytest.fixture
def scheduler(service: Runtime) -> Iterator[BackgroundScheduler]:
    """The leader's scheduler, paused: a test runs a job's function as the scheduler would."""
    jobs = build_scheduler(service)
    jobs.start(paused=True)
    yield jobs
    jobs.shutdown(wait=False)


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    server = Subscriber()
    yield server
    server.stop()


def subscribed(web: FlaskClient, service: Runtime, subscriber: Subscriber, feed: str) -> str:
    """A verified subscription of a loopback callback to the feed's RSS; returns its path."""
    path = f"/{feed}"
    answer = web.post("/hub", data={"hub.mode": "subscribe", "hub.callback": subscriber.url(path),
                                    "hub.topic": f"{HOST}/feeds/{feed}.rss"})
    assert answer.status_code == 202, answer.text
    assert [result.verified for result in websub.verify_pending(service)] == [True]
    return path


def delivered(service: Runtime, subscriber: Subscriber, path: str) -> list[Any]:
    """What the hub's periodic job sends now, as the subscriber received it."""
    results = websub.deliver_due(service)
    assert all(result.delivered for result in results), results
    return subscriber.received(path)


def run_job(scheduler: BackgroundScheduler, job_id: str) -> Any:
    job = scheduler.get_job(job_id)
    assert job is not None, job_id
    return job.func(*job.args, **job.kwargs)


def test_a_scheduled_refresh_reaches_subscribers(
        web: FlaskClient, service: Runtime, scheduler: BackgroundScheduler,
        subscriber: Subscriber) -> None:
    path = subscribed(web, service, subscriber, "region-solidaire")
    assert delivered(service, subscriber, path) == []  # nothing changed yet: nothing sent
    result = run_job(scheduler, "region-solidaire")  # the source's periodic job
    assert result.outcome == "ok" and "region-solidaire" in result.changed_feeds
    [notification] = delivered(service, subscriber, path)
    assert "Région solidaire" in notification.body.decode()


def test_an_operators_refresh_reaches_subscribers(
        web: FlaskClient, service: Runtime, scheduler: BackgroundScheduler,
        subscriber: Subscriber) -> None:
    path = subscribed(web, service, subscriber, "actualites")
    assert web.post("/api/sources/actualites/refresh", headers=AUTH).status_code == 202
    sync_jobs(scheduler, service)  # the watcher takes the request in: a job of its own
    result = run_job(scheduler, "actualites:asked")
    assert result.outcome == "ok" and "actualites" in result.changed_feeds
    assert len(delivered(service, subscriber, path)) == 1


def test_a_push_reaches_subscribers(web: FlaskClient, service: Runtime,
                                    subscriber: Subscriber) -> None:
    path = subscribed(web, service, subscriber, "agenda")
    token = web.post("/api/publishers/sample-site/tokens", json={}, headers=AUTH).json["token"]
    answer = web.post("/api/items", json=AGENDA,
                      headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.json
    [notification] = delivered(service, subscriber, path)
    assert AGENDA["items"][0]["title"] in notification.body.decode()
    # A withdrawal is a change too.
    first = AGENDA["items"][0]["id"]
    assert web.delete(f"/api/items/agenda/{first}",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert len(delivered(service, subscriber, path)) == 2
    assert AGENDA["items"][0]["title"] not in subscriber.received(path)[-1].body.decode()


def test_a_source_removed_through_the_api_reaches_subscribers(
        web: FlaskClient, service: Runtime, subscriber: Subscriber, sample_site: str) -> None:
    added = {"id": "climat-api", "publisher": "sample-site", "kind": "dossier",
             "url": f"{sample_site}/dossiers/plan-climat", "feeds": ["actualites"],
             "selectors": {"title": "h1.page-title", "summary": ".chapo"}}
    assert web.post("/api/sources", json=added, headers=AUTH).status_code == 201
    assert refresh(service.catalogue.sources["climat-api"], service).outcome == "ok"
    path = subscribed(web, service, subscriber, "actualites")
    assert delivered(service, subscriber, path) == []
    assert web.delete("/api/sources/climat-api", headers=AUTH).status_code == 204
    [notification] = delivered(service, subscriber, path)
    assert "climat" not in notification.body.decode().lower()


def test_a_change_without_subscribers_queues_nothing(web: FlaskClient,
                                                     service: Runtime) -> None:
    assert refresh(service.catalogue.sources["region-solidaire"], service).outcome == "ok"
    assert websub.deliver_due(service) == []
