"""The operator API: sources added, changed and removed at run time (persisted in Redis beside
those of feeds/*.toml, seen by every process), refreshes asked for, and its guards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from redis import Redis

from syndication.app import create_app
from syndication.errors import TooManyRequests
from syndication.model import Catalogue
from syndication.refresh import refresh
from syndication.runtime import Runtime
from syndication.schedule import build_scheduler, sync_jobs
from syndication.schedule.scheduler import asked_tick, prepare
from syndication.web.auth import FAILURE_WINDOW, MAX_FAILURES, Failures

from .conftest import make_runtime

ADMIN = "admin-secret-for-tests"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def service(redis_client: Redis, prefix: str, catalogue: Catalogue) -> Iterator[Runtime]:
    runtime = make_runtime(redis_client, prefix, catalogue, admin_token=ADMIN,
                           api_source_domains="127.0.0.1")
    yield runtime
    runtime.fetcher.close()


@pytest.fixture
def web(service: Runtime):  # noqa: ANN201 - a Flask test client
    app = create_app(runtime=service)
    yield app.test_client()
    app.extensions["syndication.cache"].close()


@pytest.fixture
def scheduler(service: Runtime) -> Iterator[BackgroundScheduler]:
    """The scheduler, started paused: tests run sync_jobs and look at what it planned."""
    jobs = build_scheduler(service)
    jobs.start(paused=True)
    yield jobs
    jobs.shutdown(wait=False)


def climate(sample_site: str, **changes: Any) -> dict[str, Any]:
    """The climate dossier again, as an operator would add it: joined to the news feed."""
    return {"id": "climat-api", "publisher": "sample-site", "url":
            f"{sample_site}/dossiers/plan-climat", "kind": "dossier", "every": "20m",
            "tags": ["Ajouté par l’API"], "feeds": ["actualites"],
            "selectors": {"title": "h1.page-title", "summary": ".chapo",
                          "figures": ".key-figures .key-figure",
                          "figure_value": ".key-figure__value",
                          "figure_label": ".key-figure__label"}, **changes}


def test_an_added_source_is_refreshed_and_feeds_its_feed(web: Any, service: Runtime,
                                                         scheduler: BackgroundScheduler,
                                                         sample_site: str) -> None:
    answer = web.post("/api/sources", json=climate(sample_site), headers=AUTH)
    assert answer.status_code == 201, answer.json
    assert answer.headers["Location"].endswith("/api/sources/climat-api")
    assert answer.json["origin"] == "api" and answer.json["feeds"] == ["actualites"]
    assert answer.json["every_seconds"] == 1200

    sync_jobs(scheduler, service)  # the scheduler's watcher takes it in
    assert scheduler.get_job("climat-api").trigger.interval.total_seconds() == 1200
    assert scheduler.get_job("climat-api:asked") is not None  # its first refresh, at once

    result = refresh(service.catalogue.sources["climat-api"], service)
    assert result.outcome == "ok" and result.new == 1
    assert "actualites" in result.changed_feeds
    titles = [i["title"] for i in web.get("/feeds/actualites.json").json["items"]]
    assert "Plan régional pour le climat" in titles[0] or any("climat" in t for t in titles)
    items = web.get("/api/items?source=climat-api").json["items"]
    assert items[0]["tags"][-1] == "Ajouté par l’API" and items[0]["kind"] == "dossier"


def test_an_added_source_survives_a_restart_and_reaches_other_processes(
        web: Any, redis_client: Redis, prefix: str, catalogue: Catalogue,
        sample_site: str) -> None:
    web.post("/api/sources", json=climate(sample_site), headers=AUTH)
    other = make_runtime(redis_client, prefix, catalogue)  # another process, or a restart
    try:
        assert "climat-api" in other.catalogue.sources
        assert "climat-api" in other.catalogue.feeds["actualites"].sources
        assert other.catalogue.sources["climat-api"].tags == ("Ajouté par l’API",)
    finally:
        other.fetcher.close()


def test_a_scheduler_that_takes_over_keeps_the_added_sources_in_their_feeds(
        web: Any, service: Runtime, redis_client: Redis, prefix: str, catalogue: Catalogue,
        sample_site: str) -> None:
    standby = make_runtime(redis_client, prefix, catalogue)  # started before the source came
    try:
        web.post("/api/sources", json=climate(sample_site), headers=AUTH)
        assert refresh(service.catalogue.sources["climat-api"], service).new == 1
        prepare(standby)  # it leads now: feed indexes are brought in line first
        urls = [i["url"] for i in web.get("/feeds/actualites.json").json["items"]]
        assert f"{sample_site}/dossiers/plan-climat" in urls
    finally:
        standby.fetcher.close()


def test_a_changed_source_is_rescheduled_with_its_new_definition(
        web: Any, service: Runtime, scheduler: BackgroundScheduler, sample_site: str) -> None:
    web.post("/api/sources", json=climate(sample_site), headers=AUTH)
    sync_jobs(scheduler, service)
    answer = web.put("/api/sources/climat-api", json=climate(sample_site, every="2h",
                                                             feeds=["plan-climat"]),
                     headers=AUTH)
    assert answer.status_code == 200, answer.json
    assert answer.json["feeds"] == ["plan-climat"] and answer.json["every_seconds"] == 7200
    sync_jobs(scheduler, service)
    assert scheduler.get_job("climat-api").trigger.interval.total_seconds() == 7200
    assert "climat-api" not in service.catalogue.feeds["actualites"].sources


def test_a_removed_source_leaves_its_feeds_and_its_jobs(web: Any, service: Runtime,
                                                        scheduler: BackgroundScheduler,
                                                        sample_site: str) -> None:
    web.post("/api/sources", json=climate(sample_site), headers=AUTH)
    refresh(service.catalogue.sources["climat-api"], service)
    sync_jobs(scheduler, service)
    assert service.store.item_count("climat-api") == 1
    version = service.store.feed_state("actualites").version

    assert web.delete("/api/sources/climat-api", headers=AUTH).status_code == 204
    assert web.get("/api/sources/climat-api").status_code == 404
    assert service.store.item_count("climat-api") == 0
    assert service.store.feed_state("actualites").version == version + 1
    assert web.get("/api/items?feed=actualites").json["total"] == 0
    sync_jobs(scheduler, service)
    assert scheduler.get_job("climat-api") is None


def test_a_refresh_asked_for_runs_even_while_the_source_backs_off(
        web: Any, service: Runtime, scheduler: BackgroundScheduler) -> None:
    answer = web.post("/api/sources/actualites/refresh", headers=AUTH)
    assert answer.status_code == 202
    assert answer.headers["Location"].endswith("/api/sources/actualites")
    again = web.post("/api/sources/actualites/refresh", headers=AUTH)
    assert again.status_code == 202
    sync_jobs(scheduler, service)
    job = scheduler.get_job("actualites:asked")
    assert job is not None and job.func is asked_tick
    assert service.registry.take_refresh_requests() == []  # asking twice was once, and taken


def test_a_refresh_asked_for_survives_the_scheduler_that_took_it(
        web: Any, service: Runtime, scheduler: BackgroundScheduler) -> None:
    assert web.post("/api/sources/actualites/refresh", headers=AUTH).status_code == 202
    sync_jobs(scheduler, service)  # taken by this scheduler, which then dies before running it
    assert service.registry.take_refresh_requests() == []
    prepare(service)  # the scheduler that takes over
    assert service.registry.take_refresh_requests() == ["actualites"]
    asked_tick(service, service.catalogue.sources["actualites"])  # run: done, whatever came of it
    prepare(service)
    assert service.registry.take_refresh_requests() == []


@pytest.mark.parametrize("source_id, status, words", [
    ("agenda", 409, "push source"),
    ("nowhere", 404, "unknown source"),
])
def test_a_refresh_cannot_be_asked_for_a_push_or_unknown_source(web: Any, source_id: str,
                                                                status: int, words: str) -> None:
    answer = web.post(f"/api/sources/{source_id}/refresh", headers=AUTH)
    assert answer.status_code == status and words in answer.json["detail"]


@pytest.mark.parametrize("change, field, words", [
    ({"every": "1s"}, "every", "at least 10s"),
    ({"selectors": {"title": "h1[["}}, "selectors.title", "invalid CSS selector"),
    ({"feeds": ["nope"]}, "feeds", "unknown feed 'nope'"),
    ({"publisher": "nobody"}, "publisher", "unknown publisher"),
    ({"type": "ftp"}, "type", "must be one of"),
    ({"url": "ftp://127.0.0.1/x"}, "url", "not an http(s) URL"),
    ({"url": "http://[x"}, "url", "not a valid URL"),
    ({"url": "http://example.org/page"}, "url", "not on a domain open"),
    ({"id": "Bad Id"}, "id", "lowercase"),
    ({"colour": "red"}, "colour", "unknown field"),
    ({"listing": "yes"}, "listing", "true or false"),
])
def test_an_invalid_source_is_refused_with_its_field_named(web: Any, sample_site: str,
                                                           change: dict[str, Any], field: str,
                                                           words: str) -> None:
    answer = web.post("/api/sources", json=climate(sample_site, **change), headers=AUTH)
    assert answer.status_code == 422, answer.json
    [error] = answer.json["errors"]
    assert error["field"] == field and words in error["message"]
    assert web.get("/api/sources/climat-api").status_code == 404


def test_a_source_on_a_private_address_is_refused_unless_the_operator_allows_it(
        redis_client: Redis, prefix: str, catalogue: Catalogue, sample_site: str) -> None:
    strict = make_runtime(redis_client, prefix, catalogue, admin_token=ADMIN,
                          api_source_domains="127.0.0.1", fetch_allowed_networks="")
    app = create_app(runtime=strict)
    try:
        answer = app.test_client().post("/api/sources", json=climate(sample_site), headers=AUTH)
        assert answer.status_code == 422
        assert answer.json["errors"][0]["field"] == "url"
        assert "loopback" in answer.json["errors"][0]["message"]
    finally:
        app.extensions["syndication.cache"].close()
        strict.fetcher.close()


def test_without_allowed_domains_the_api_adds_push_sources_only(
        redis_client: Redis, prefix: str, catalogue: Catalogue, sample_site: str) -> None:
    closed = make_runtime(redis_client, prefix, catalogue, admin_token=ADMIN)
    app = create_app(runtime=closed)
    client = app.test_client()
    try:
        answer = client.post("/api/sources", json=climate(sample_site), headers=AUTH)
        assert answer.status_code == 422
        assert "SYNDICATION_API_SOURCE_DOMAINS" in answer.json["errors"][0]["message"]
        pushed = client.post("/api/sources", headers=AUTH, json={
            "id": "agenda-2", "type": "push", "publisher": "sample-site", "feeds": ["agenda"]})
        assert pushed.status_code == 201, pushed.json
        assert pushed.json["url"] == closed.catalogue.publishers["sample-site"].url
    finally:
        app.extensions["syndication.cache"].close()
        closed.fetcher.close()


@pytest.mark.parametrize("method, path", [
    ("put", "/api/sources/actualites"), ("delete", "/api/sources/actualites")])
def test_sources_declared_in_files_are_changed_in_their_files(web: Any, sample_site: str,
                                                              method: str, path: str) -> None:
    answer = getattr(web, method)(path, json=climate(sample_site, id="actualites"),
                                  headers=AUTH)
    assert answer.status_code == 409 and "feeds/*.toml" in answer.json["detail"]


def test_an_id_already_taken_is_a_conflict(web: Any, sample_site: str) -> None:
    assert web.post("/api/sources", json=climate(sample_site, id="actualites"),
                    headers=AUTH).status_code == 409
    assert web.post("/api/sources", json=climate(sample_site), headers=AUTH).status_code == 201
    assert web.post("/api/sources", json=climate(sample_site), headers=AUTH).status_code == 409


def test_changing_the_id_through_put_is_refused(web: Any, sample_site: str) -> None:
    web.post("/api/sources", json=climate(sample_site), headers=AUTH)
    answer = web.put("/api/sources/climat-api", json=climate(sample_site, id="autre"),
                     headers=AUTH)
    assert answer.status_code == 422 and answer.json["errors"][0]["field"] == "id"


@pytest.mark.parametrize("method, path", [
    ("post", "/api/sources"), ("put", "/api/sources/x"), ("delete", "/api/sources/x"),
    ("post", "/api/sources/actualites/refresh"), ("get", "/api/publishers/sample-site/tokens"),
    ("post", "/api/publishers/sample-site/tokens")])
def test_every_operator_route_needs_the_admin_token(web: Any, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        answer = getattr(web, method)(path, json={}, headers=headers)
        assert answer.status_code == 401, (method, path, headers)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_without_an_admin_token_the_operator_api_is_off(client: Any) -> None:
    answer = client.post("/api/sources", json={}, headers={"Authorization": "Bearer "})
    assert answer.status_code == 403
    assert "SYNDICATION_ADMIN_TOKEN" in answer.json["detail"]


def test_tokens_are_shown_once_and_kept_as_digests(web: Any, redis_client: Redis,
                                                   prefix: str) -> None:
    answer = web.post("/api/publishers/sample-site/tokens", headers=AUTH)
    assert answer.status_code == 201 and answer.headers["Cache-Control"] == "no-store"
    token = answer.json["token"]
    stored = " ".join(f"{k} {redis_client.dump(k)!r}" for k in redis_client.scan_iter(
        match=f"{prefix}:*"))
    assert token not in stored and answer.json["digest"] in stored
    assert web.post("/api/publishers/nobody/tokens", headers=AUTH).status_code == 404
    assert web.delete("/api/publishers/sample-site/tokens/" + "0" * 64,
                      headers=AUTH).status_code == 404


# --- who may use the operator token --------------------------------------------------------


def test_the_operator_token_works_from_operator_networks_only(web: Any) -> None:
    """The test client comes from 127.0.0.1, in the default SYNDICATION_ADMIN_NETWORKS."""
    assert web.get("/api/publishers/sample-site/tokens", headers=AUTH).status_code == 200
    elsewhere = web.get("/api/publishers/sample-site/tokens", headers=AUTH,
                        environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert elsewhere.status_code == 403
    assert "SYNDICATION_ADMIN_NETWORKS" in elsewhere.json["detail"]


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(
        redis_client: Redis, prefix: str, catalogue: Catalogue) -> None:
    service = make_runtime(redis_client, prefix, catalogue, admin_token=ADMIN,
                           trusted_proxies="10.0.0.0/8", admin_networks="192.0.2.0/24")
    app = create_app(runtime=service)
    web = app.test_client()
    try:
        def asks(remote: str, forwarded: str | None) -> int:
            headers = {**AUTH, **({"X-Forwarded-For": forwarded} if forwarded else {})}
            return web.get("/api/publishers/sample-site/tokens", headers=headers,
                           environ_base={"REMOTE_ADDR": remote}).status_code

        assert asks("10.1.2.3", "192.0.2.10") == 200  # the proxy says who the client is
        assert asks("10.1.2.3", "192.0.2.10, 10.9.9.9") == 200  # through two proxies
        assert asks("10.1.2.3", "198.51.100.1") == 403  # an outside client, forwarded
        # A client that is no proxy cannot choose its address by header.
        assert asks("198.51.100.1", "192.0.2.10") == 403
        assert asks("10.1.2.3", "192.0.2.10, 198.51.100.1") == 403  # the last untrusted hop
    finally:
        app.extensions["syndication.cache"].close()
        service.fetcher.close()


def test_failed_authentications_are_limited_and_counted(web: Any) -> None:
    wrong = {"Authorization": "Bearer not-the-token"}
    answers = [web.get("/api/publishers/sample-site/tokens", headers=wrong).status_code
               for _ in range(12)]
    assert answers[:10] == [401] * 10 and answers[10:] == [429, 429]
    limited = web.get("/api/publishers/sample-site/tokens", headers=AUTH)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    other = web.get("/api/publishers/sample-site/tokens", headers=AUTH,
                    environ_base={"REMOTE_ADDR": "::1"})
    assert other.status_code == 200  # another address is not held back
    metrics = web.get("/metrics").get_data(as_text=True)
    assert 'syndication_auth_failures_total{kind="operator"} 10.0' in metrics


def test_the_failure_window_moves_on() -> None:
    now = [1000.0]
    failures = Failures(clock=lambda: now[0])
    for _ in range(MAX_FAILURES):
        failures.record("192.0.2.1")
    with pytest.raises(TooManyRequests) as refused:
        failures.check("192.0.2.1")
    assert 0 < refused.value.retry_after <= FAILURE_WINDOW
    now[0] += FAILURE_WINDOW + 1
    failures.check("192.0.2.1")  # the window moved on: allowed again


def test_a_422_lists_every_bad_field_at_once(web: Any, sample_site: str) -> None:
    """One answer names every field to fix, not the first one alone."""
    bad = climate(sample_site, id="Bad Id", url="ftp://x", listing="yes", every="2 minutes",
                  colour="red", publisher="nobody", feeds=["no-such-feed"],
                  selectors={"title": "h1[", "summary": ".chapo"})
    answer = web.post("/api/sources", json=bad, headers=AUTH)
    assert answer.status_code == 422, answer.json
    fields = {error["field"]: error["message"] for error in answer.json["errors"]}
    assert {"id", "url", "listing", "every", "colour", "publisher", "feeds",
            "selectors.title"} <= set(fields), fields
    assert "lowercase" in fields["id"] and "unknown publisher" in fields["publisher"]
    assert "summary" not in " ".join(fields)  # a good field is not named
    assert web.get("/api/sources/climat-api").status_code == 404
    # Fixing them all is enough.
    assert web.post("/api/sources", json=climate(sample_site), headers=AUTH).status_code == 201
