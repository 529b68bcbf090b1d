"""The WebSub hub at /hub, end to end: a real subscriber on loopback (tests/websub_subscriber.py),
real Redis, the sample site copy that tests may edit, and the real refresh pipeline.

Time is injected (`now=`) wherever leases and back-off are concerned: nothing here sleeps to
see time pass.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
from collections.abc import Iterator
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis

from syndication import websub
from syndication.app import create_app
from syndication.errors import ConfigError
from syndication.refresh import refresh
from syndication.runtime import Runtime
from syndication.settings import Settings
from syndication.store.subscriptions import CLAIM_SECONDS, SubscriptionStore, subscription_id
from syndication.web import hub

from .conftest import make_catalogue, make_runtime
from .faulty_site import FaultySite
from .websub_subscriber import Subscriber

HOST = "http://localhost"  # the Flask test client's host
TOPIC = f"{HOST}/feeds/region-solidaire.rss"
# Requests to /hub are queued at the real time; the injected time starts a day later.
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
LOOPBACK_ALLOWED = {"hub_allowed_networks": "127.0.0.0/8", "hub_timeout": 0.5}


class _SettingsOverlay:
    """Settings plus hub settings that config.Settings may not declare yet."""

    def __init__(self, settings: Any, extra: dict[str, Any]):
        self._settings, self._extra = settings, extra

    def __getattr__(self, name: str) -> Any:
        return self._extra[name] if name in self._extra else getattr(self._settings, name)


def set_settings(runtime: Runtime, **values: Any) -> None:
    """Change settings of a runtime, the hub's ones included, declared in Settings or not."""
    declared = {spec.name for spec in fields(Settings)}
    base = getattr(runtime.settings, "_settings", runtime.settings)
    base = replace(base, **{k: v for k, v in values.items() if k in declared})
    extra = {**getattr(runtime.settings, "_extra", {}),
             **{k: v for k, v in values.items() if k not in declared}}
    runtime.settings = _SettingsOverlay(base, extra) if extra else base  # type: ignore[assignment]


@pytest.fixture
def hub_runtime(redis_client: Redis, prefix: str, faulty_site: FaultySite) -> Iterator[Runtime]:
    """A runtime on the editable sample site, its hub allowed to call loopback subscribers."""
    service = make_runtime(redis_client, prefix, make_catalogue(faulty_site.url),
                           fetch_timeout=2.0)
    set_settings(service, **LOOPBACK_ALLOWED)
    yield service
    service.fetcher.close()


@pytest.fixture
def hub_app(hub_runtime: Runtime) -> Flask:
    app = create_app(runtime=hub_runtime)
    if "hub" not in app.blueprints:  # until app.py registers it
        app.register_blueprint(hub.blueprint)
    return app


@pytest.fixture
def hub_client(hub_app: Flask) -> FlaskClient:
    return hub_app.test_client()


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    server = Subscriber(slow_seconds=2.0)
    yield server
    server.stop()


@pytest.fixture
def store(hub_runtime: Runtime) -> SubscriptionStore:
    return hub_runtime.stores.subscriptions


def ask(client: FlaskClient, **params: str):  # noqa: ANN201 - a test response
    return client.post("/hub", data={f"hub.{k}": v for k, v in params.items()})


def subscribe(client: FlaskClient, callback: str, topic: str = TOPIC, **params: str) -> None:
    response = ask(client, mode="subscribe", topic=topic, callback=callback, **params)
    assert response.status_code == 202, response.text


def unsubscribe(client: FlaskClient, callback: str, topic: str = TOPIC) -> None:
    response = ask(client, mode="unsubscribe", topic=topic, callback=callback)
    assert response.status_code == 202, response.text


def refresh_dossier(runtime: Runtime, now: datetime) -> frozenset[str]:
    result = refresh(runtime.catalogue.sources["region-solidaire"], runtime, now)
    assert result.outcome == "ok", result
    return result.changed_feeds


def edit_dossier(site: FaultySite) -> None:
    site.edit("region-solidaire.html", '<h1 class="page-title">Région solidaire</h1>',
              '<h1 class="page-title">Région solidaire : le bilan 2026</h1>')


def expected_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- subscription and verification of intent --------------------------------------------------


def test_a_subscription_is_accepted_then_verified_with_a_challenge(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber,
        store: SubscriptionStore) -> None:
    callback = subscriber.url("/alice?list=solidarite")
    response = ask(hub_client, mode="subscribe", topic=TOPIC, callback=callback,
                   lease_seconds="86400")
    assert response.status_code == 202
    assert response.mimetype == "text/plain" and "hub.challenge" in response.text
    # Accepted is not active: nothing happens before verification.
    assert subscriber.verifications == []
    assert store.subscription(subscription_id(TOPIC, callback)) is None

    [result] = websub.verify_pending(hub_runtime, now=T0)
    assert result.verified and result.mode == "subscribe"
    [check] = subscriber.verified("/alice")
    assert check.params["hub.mode"] == "subscribe"
    assert check.params["hub.topic"] == TOPIC
    assert check.params["hub.lease_seconds"] == "86400"
    assert len(check.params["hub.challenge"]) >= 32
    assert check.params["list"] == "solidarite"  # the callback's own query string is kept
    active = store.subscription(result.subscription_id)
    assert active is not None and (active.feed, active.format) == ("region-solidaire", "rss")
    assert active.expires_at == (T0 + timedelta(seconds=86400)).timestamp()
    assert store.active_ids("region-solidaire", T0.timestamp()) == [active.id]
    assert store.pending_intents() == 0


def test_each_verification_uses_a_new_random_challenge(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber) -> None:
    subscribe(hub_client, subscriber.url("/a"))
    subscribe(hub_client, subscriber.url("/b"))
    assert all(r.verified for r in websub.verify_pending(hub_runtime, now=T0))
    challenges = {v.params["hub.challenge"] for v in subscriber.verifications}
    assert len(challenges) == 2


@pytest.mark.parametrize("asked, granted", [
    (None, Settings().hub_lease_seconds),
    ("3600", 3600),
    ("1", websub.MIN_LEASE_SECONDS),
    (str(10**12), Settings().hub_max_lease_seconds),
    ("9" * 5000, Settings().hub_max_lease_seconds),
])
def test_the_lease_is_the_one_asked_within_the_hubs_limits(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber,
        asked: str | None, granted: int) -> None:
    extra = {"lease_seconds": asked} if asked is not None else {}
    subscribe(hub_client, subscriber.url("/lease"), **extra)
    [result] = websub.verify_pending(hub_runtime, now=T0)
    assert result.verified
    assert subscriber.verified("/lease")[0].params["hub.lease_seconds"] == str(granted)


@pytest.mark.parametrize("behaviour, reason", [
    ("wrong-challenge", "did not echo hub.challenge"),
    ("refuse", "HTTP 404"),
    ("redirect", "HTTP 302"),  # redirects are not followed
    ("slow", "did not answer in time"),
])
def test_a_callback_that_does_not_confirm_gets_no_subscription(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber,
        store: SubscriptionStore, behaviour: str, reason: str) -> None:
    subscriber.behave("/bob", behaviour)
    subscribe(hub_client, subscriber.url("/bob"))
    [result] = websub.verify_pending(hub_runtime, now=T0)
    assert not result.verified and reason in result.reason
    assert store.subscription(subscription_id(TOPIC, subscriber.url("/bob"))) is None
    assert store.active_ids("region-solidaire", T0.timestamp()) == []
    assert store.pending_intents() == 0  # decided, not retried
    assert subscriber.verified("/elsewhere") == []


def test_a_renewal_replaces_lease_and_secret_once_verified(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber,
        store: SubscriptionStore) -> None:
    callback = subscriber.url("/renew")
    subscribe(hub_client, callback, lease_seconds="3600", secret="first secret")
    websub.verify_pending(hub_runtime, now=T0)
    sub_id = subscription_id(TOPIC, callback)
    first = store.subscription(sub_id)
    assert first is not None and first.secret == "first secret"

    # A renewal the subscriber does not confirm leaves the subscription as it was.
    subscriber.behave("/renew", "wrong-challenge")
    subscribe(hub_client, callback, lease_seconds="7200")
    websub.verify_pending(hub_runtime, now=T0 + timedelta(minutes=10))
    assert store.subscription(sub_id) == first

    subscriber.behave("/renew", "ok")
    subscribe(hub_client, callback, lease_seconds="7200")  # and without hub.secret
    later = T0 + timedelta(minutes=20)
    websub.verify_pending(hub_runtime, now=later)
    renewed = store.subscription(sub_id)
    assert renewed is not None and renewed.secret == ""
    assert renewed.expires_at == (later + timedelta(seconds=7200)).timestamp()
    assert store.active_ids("region-solidaire", later.timestamp()) == [sub_id]


def test_an_unsubscription_takes_effect_only_when_the_subscriber_confirms_it(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber,
        store: SubscriptionStore) -> None:
    callback = subscriber.url("/carol")
    subscribe(hub_client, callback)
    websub.verify_pending(hub_runtime, now=T0)
    sub_id = subscription_id(TOPIC, callback)

    # Someone else asks to unsubscribe Carol; she does not confirm (404): nothing changes.
    subscriber.behave("/carol", "refuse")
    unsubscribe(hub_client, callback)
    [refused] = websub.verify_pending(hub_runtime, now=T0)
    assert not refused.verified and store.subscription(sub_id) is not None

    subscriber.behave("/carol", "ok")
    unsubscribe(hub_client, callback)
    [done] = websub.verify_pending(hub_runtime, now=T0)
    assert done.verified and done.mode == "unsubscribe"
    assert subscriber.verified("/carol")[-1].params["hub.mode"] == "unsubscribe"
    assert store.subscription(sub_id) is None
    assert websub.announce_changes(hub_runtime, {"region-solidaire"}, now=T0) == 0


def test_a_lease_ends_the_subscription_when_it_runs_out(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber,
        store: SubscriptionStore) -> None:
    callback = subscriber.url("/dave")
    subscribe(hub_client, callback, lease_seconds="3600")
    websub.verify_pending(hub_runtime, now=T0)
    sub_id = subscription_id(TOPIC, callback)

    within = T0 + timedelta(seconds=3599)
    assert store.active_ids("region-solidaire", within.timestamp()) == [sub_id]
    after = T0 + timedelta(seconds=3601)
    assert websub.announce_changes(hub_runtime, {"region-solidaire"}, now=after) == 0
    assert store.subscription(sub_id) is None
    assert store.active_ids("region-solidaire", after.timestamp()) == []


# --- callbacks are untrusted -------------------------------------------------------------------


def test_a_loopback_callback_is_refused_unless_the_operator_allows_it(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber,
        store: SubscriptionStore) -> None:
    set_settings(hub_runtime, hub_allowed_networks="")
    for callback in (subscriber.url("/eve"), subscriber.url("/eve").replace("127.0.0.1",
                                                                             "localhost")):
        response = ask(hub_client, mode="subscribe", topic=TOPIC, callback=callback)
        assert response.status_code == 400
        assert "hub.callback" in response.text and "loopback" in response.text
    assert store.pending_intents() == 0

    set_settings(hub_runtime, hub_allowed_networks="10.0.0.0/8, 127.0.0.0/8")
    subscribe(hub_client, subscriber.url("/eve"))
    assert websub.verify_pending(hub_runtime, now=T0)[0].verified


def test_the_callback_is_checked_again_before_each_request(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber,
        store: SubscriptionStore) -> None:
    refresh_dossier(hub_runtime, T0)
    subscribe(hub_client, subscriber.url("/frank"))
    subscribe(hub_client, subscriber.url("/frank-verified"))
    [frank, verified] = websub.verify_pending(hub_runtime, now=T0)
    assert frank.verified and verified.verified
    subscribe(hub_client, subscriber.url("/frank"), lease_seconds="7200")  # a renewal

    # The operator changed their mind (or the callback's name now resolves elsewhere).
    set_settings(hub_runtime, hub_allowed_networks="")
    [renewal] = websub.verify_pending(hub_runtime, now=T0)
    assert not renewal.verified and "callback refused" in renewal.reason
    websub.announce_changes(hub_runtime, {"region-solidaire"}, now=T0)
    deliveries = websub.deliver_due(hub_runtime, now=T0)
    assert len(deliveries) == 2
    assert all(not d.delivered and "callback refused" in d.reason for d in deliveries)
    # Neither the verification nor the deliveries were sent.
    assert len(subscriber.verifications) == 2 and subscriber.notifications == []


@pytest.mark.parametrize("address", [
    "10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.1.1", "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1",
    "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::1",
])
def test_private_loopback_link_local_multicast_and_reserved_addresses_are_refused(
        address: str) -> None:
    policy = websub.HubPolicy((), 1, 1, 1.0, "test")
    assert not policy.admits(ipaddress.ip_address(address))


def test_public_addresses_and_allowed_networks_are_admitted() -> None:
    policy = websub.HubPolicy(websub.parse_networks("127.0.0.0/8, ::1/128"), 1, 1, 1.0, "test")
    for address in ("93.184.216.34", "2606:4700:4700::1111", "127.0.0.1", "::1",
                    "::ffff:127.0.0.2"):
        assert policy.admits(ipaddress.ip_address(address)), address
    assert not policy.admits(ipaddress.ip_address("10.0.0.1"))


def test_an_invalid_allow_list_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="hub_allowed_networks"):
        websub.parse_networks("127.0.0.0/8, loopback")


# --- malformed requests ------------------------------------------------------------------------


@pytest.mark.parametrize("params, parameter", [
    ({"topic": TOPIC, "callback": "http://127.0.0.1:9/cb"}, "hub.mode"),
    ({"mode": "publish", "topic": TOPIC, "callback": "http://127.0.0.1:9/cb"}, "hub.mode"),
    ({"mode": "subscribe", "callback": "http://127.0.0.1:9/cb"}, "hub.topic"),
    ({"mode": "subscribe", "topic": "/feeds/region-solidaire.rss",
      "callback": "http://127.0.0.1:9/cb"}, "hub.topic"),
    ({"mode": "subscribe", "topic": "http://elsewhere.example/feeds/region-solidaire.rss",
      "callback": "http://127.0.0.1:9/cb"}, "hub.topic"),
    ({"mode": "subscribe", "topic": f"{HOST}/feeds/no-such-feed.rss",
      "callback": "http://127.0.0.1:9/cb"}, "hub.topic"),
    ({"mode": "subscribe", "topic": f"{HOST}/feeds/region-solidaire.xml",
      "callback": "http://127.0.0.1:9/cb"}, "hub.topic"),
    ({"mode": "subscribe", "topic": f"{TOPIC}?tag=Solidarité",
      "callback": "http://127.0.0.1:9/cb"}, "hub.topic"),
    ({"mode": "subscribe", "topic": f"{HOST}/api/items", "callback": "http://127.0.0.1:9/cb"},
     "hub.topic"),
    ({"mode": "subscribe", "topic": "http://[::1/feeds/region-solidaire.rss",
      "callback": "http://127.0.0.1:9/cb"}, "hub.topic"),
    ({"mode": "subscribe", "topic": TOPIC}, "hub.callback"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "http://[::1/cb"}, "hub.callback"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "http://127.0.0.1:99999/cb"},
     "hub.callback"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "http:///cb"}, "hub.callback"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "ftp://127.0.0.1/cb"}, "hub.callback"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "javascript:alert(1)"}, "hub.callback"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "/relative/cb"}, "hub.callback"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "http://user:pw@127.0.0.1:9/cb"},
     "hub.callback"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "http://callback.invalid/cb"},
     "hub.callback"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "http://127.0.0.1:9/" + "x" * 3000},
     "hub.callback"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "http://127.0.0.1:9/cb",
      "lease_seconds": "abc"}, "hub.lease_seconds"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "http://127.0.0.1:9/cb",
      "lease_seconds": "-5"}, "hub.lease_seconds"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "http://127.0.0.1:9/cb",
      "lease_seconds": "0"}, "hub.lease_seconds"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "http://127.0.0.1:9/cb",
      "lease_seconds": "1.5"}, "hub.lease_seconds"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "http://127.0.0.1:9/cb",
      "secret": "s" * 200}, "hub.secret"),
    ({"mode": "subscribe", "topic": TOPIC, "callback": "http://127.0.0.1:9/cb",
      "secret": "é" * 100}, "hub.secret"),  # 100 characters, 200 bytes
])
def test_a_malformed_request_is_refused_naming_the_parameter(
        hub_client: FlaskClient, store: SubscriptionStore, params: dict[str, str],
        parameter: str) -> None:
    response = ask(hub_client, **params)
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert f"'{parameter}'" in response.text
    assert store.pending_intents() == 0


def test_the_boundaries_of_the_spec_are_accepted(hub_client: FlaskClient,
                                                 store: SubscriptionStore) -> None:
    callback = "http://127.0.0.1:9/cb"
    subscribe(hub_client, callback, secret="s" * 199)  # "less than 200 bytes"
    # Unsubscribing ignores lease and secret, as the spec says, even malformed ones.
    response = ask(hub_client, mode="unsubscribe", topic=TOPIC, callback=callback,
                   lease_seconds="soon", secret="s" * 500)
    assert response.status_code == 202
    # Percent-encoded unreserved characters are decoded.
    subscribe(hub_client, callback, topic=f"{HOST}/feeds/region%2Dsolidaire.atom")
    assert store.pending_intents() == 3


def test_a_request_that_is_not_form_encoded_is_refused(hub_client: FlaskClient,
                                                       store: SubscriptionStore) -> None:
    response = hub_client.post("/hub", json={"hub.mode": "subscribe", "hub.topic": TOPIC,
                                             "hub.callback": "http://127.0.0.1:9/cb"})
    assert response.status_code == 415 and "x-www-form-urlencoded" in response.text
    assert store.pending_intents() == 0


def test_topics_are_accepted_on_the_configured_base_url(hub_client: FlaskClient,
                                                        hub_runtime: Runtime,
                                                        subscriber: Subscriber,
                                                        store: SubscriptionStore) -> None:
    set_settings(hub_runtime, base_url="https://example.org/syndication")
    topic = "https://example.org/syndication/feeds/region-solidaire.json"
    subscribe(hub_client, subscriber.url("/grace"), topic=topic)
    subscribe(hub_client, subscriber.url("/grace"))  # and on the request's own host
    websub.verify_pending(hub_runtime, now=T0)
    on_base = store.subscription(subscription_id(topic, subscriber.url("/grace")))
    assert on_base is not None and on_base.base_url == "https://example.org/syndication"
    assert on_base.format == "json"
    on_host = store.subscription(subscription_id(TOPIC, subscriber.url("/grace")))
    assert on_host is not None and on_host.base_url == HOST


def test_parse_topic_keeps_the_services_root_path() -> None:
    assert websub.parse_topic("https://example.org/s/feeds/plan-climat.atom",
                              ["https://example.org/s/"]) == \
        ("plan-climat", "atom", "https://example.org/s")
    assert websub.parse_topic("HTTPS://Example.org:443/feeds/actualites.json",
                              ["https://example.org"])[:2] == ("actualites", "json")


# --- distribution ------------------------------------------------------------------------------


def test_a_feed_change_reaches_its_subscribers_signed(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber,
        faulty_site: FaultySite, store: SubscriptionStore) -> None:
    from syndication.render.publish import render_feed

    refresh_dossier(hub_runtime, T0)
    secret = "a secret shared with the hub"
    subscribe(hub_client, subscriber.url("/rss"), secret=secret)
    subscribe(hub_client, subscriber.url("/json"), topic=f"{HOST}/feeds/region-solidaire.json")
    subscribe(hub_client, subscriber.url("/other"), topic=f"{HOST}/feeds/actualites.atom")
    assert all(r.verified for r in websub.verify_pending(hub_runtime, now=T0))

    edit_dossier(faulty_site)
    later = T0 + timedelta(hours=1)
    changed = refresh_dossier(hub_runtime, later)
    assert changed == {"region-solidaire"}
    # The commit queued both deliveries itself: announcing again queues nothing more.
    assert websub.announce_changes(hub_runtime, changed, now=later) == 0
    deliveries = websub.deliver_due(hub_runtime, now=later)
    assert [d.delivered for d in deliveries] == [True, True]

    feed = hub_runtime.catalogue.feeds["region-solidaire"]
    [rss] = subscriber.received("/rss")
    body, content_type = render_feed(hub_runtime, feed, "rss", HOST)
    assert rss.body == body and b"le bilan 2026" in rss.body
    assert rss.headers["Content-Type"] == content_type
    assert rss.headers["Link"] == (f'<{HOST}/hub>; rel="hub", <{TOPIC}>; rel="self"')
    assert rss.headers["X-Hub-Signature"] == expected_signature(secret, rss.body)

    [as_json] = subscriber.received("/json")
    assert "X-Hub-Signature" not in as_json.headers  # no secret, no signature
    assert as_json.headers["Content-Type"].startswith("application/feed+json")
    document = json.loads(as_json.body)
    assert "Région solidaire : le bilan 2026" in [i["title"] for i in document["items"]]
    assert subscriber.received("/other") == []
    # Delivered once: the queue is empty.
    assert websub.deliver_due(hub_runtime, now=later + timedelta(hours=1)) == []


def test_after_unsubscribing_nothing_more_is_delivered(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber,
        faulty_site: FaultySite) -> None:
    refresh_dossier(hub_runtime, T0)
    subscribe(hub_client, subscriber.url("/henry"))
    websub.verify_pending(hub_runtime, now=T0)
    websub.announce_changes(hub_runtime, {"region-solidaire"}, now=T0)
    assert websub.deliver_due(hub_runtime, now=T0)[0].delivered
    assert len(subscriber.received("/henry")) == 1

    unsubscribe(hub_client, subscriber.url("/henry"))
    assert websub.verify_pending(hub_runtime, now=T0)[0].verified
    edit_dossier(faulty_site)
    changed = refresh_dossier(hub_runtime, T0 + timedelta(hours=1))
    assert websub.announce_changes(hub_runtime, changed, now=T0 + timedelta(hours=1)) == 0
    assert websub.deliver_due(hub_runtime, now=T0 + timedelta(hours=1)) == []
    assert len(subscriber.received("/henry")) == 1


def test_a_failing_subscriber_is_retried_with_growing_delays_then_dropped(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber,
        store: SubscriptionStore) -> None:
    refresh_dossier(hub_runtime, T0)
    callback = subscriber.url("/ivan")
    subscribe(hub_client, callback, lease_seconds=str(Settings().hub_max_lease_seconds))
    websub.verify_pending(hub_runtime, now=T0)
    sub_id = subscription_id(TOPIC, callback)
    subscriber.behave("/ivan", "fail")
    websub.announce_changes(hub_runtime, {"region-solidaire"}, now=T0)

    now, delays = T0, []
    for attempt in range(1, websub.MAX_ATTEMPTS):
        [delivery] = websub.deliver_due(hub_runtime, now=now)
        assert not delivery.delivered and "HTTP 500" in delivery.reason
        assert len(subscriber.received("/ivan")) == attempt
        assert delivery.retry_at is not None
        assert store.delivery_due_at(sub_id) == delivery.retry_at.timestamp()
        # Not before it is due.
        assert websub.deliver_due(hub_runtime, now=delivery.retry_at - timedelta(seconds=1)) == []
        delays.append((delivery.retry_at - now).total_seconds())
        now = delivery.retry_at
    assert delays[:4] == [60, 120, 240, 480]
    assert all(a < b or b == websub.RETRY_CEILING_SECONDS
               for a, b in zip(delays, delays[1:], strict=False))
    assert max(delays) == websub.RETRY_CEILING_SECONDS

    [last] = websub.deliver_due(hub_runtime, now=now)  # attempt MAX_ATTEMPTS fails too
    assert "subscription terminated" in last.reason
    assert store.subscription(sub_id) is None and store.delivery_due_at(sub_id) is None
    assert len(subscriber.received("/ivan")) == websub.MAX_ATTEMPTS


@pytest.mark.parametrize("behaviour, reason", [
    ("fail", "HTTP 500"),
    ("redirect", "HTTP 307"),  # not followed: the spec forbids moving subscriptions so
    ("slow", "did not answer in time"),
    ("gone", "could not be reached"),  # connection refused
])
def test_every_kind_of_failure_counts_as_a_failed_attempt(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber,
        store: SubscriptionStore, behaviour: str, reason: str) -> None:
    refresh_dossier(hub_runtime, T0)
    callback = subscriber.url("/kim")
    subscribe(hub_client, callback)
    websub.verify_pending(hub_runtime, now=T0)
    if behaviour == "gone":
        subscriber.stop()
    else:
        subscriber.behave("/kim", behaviour)
    websub.announce_changes(hub_runtime, {"region-solidaire"}, now=T0)
    [delivery] = websub.deliver_due(hub_runtime, now=T0)
    assert not delivery.delivered and reason in delivery.reason
    sub_id = subscription_id(TOPIC, callback)
    assert store.failed_attempts(sub_id) == 1
    assert store.delivery_due_at(sub_id) == T0.timestamp() + websub.FIRST_RETRY_SECONDS
    assert subscriber.received("/elsewhere") == []


def test_the_scheduler_tick_verifies_and_delivers_at_the_real_time(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber) -> None:
    refresh_dossier(hub_runtime, datetime.now(UTC))
    subscribe(hub_client, subscriber.url("/liz"), secret="tick")
    websub.tick(hub_runtime)
    assert len(subscriber.verified("/liz")) == 1
    assert websub.announce_changes(hub_runtime, {"region-solidaire"}) == 1
    websub.tick(hub_runtime)
    [notification] = subscriber.received("/liz")
    assert notification.headers["X-Hub-Signature"] == expected_signature("tick",
                                                                         notification.body)


def test_a_subscriber_that_recovers_gets_the_content_and_a_clean_slate(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber,
        store: SubscriptionStore) -> None:
    refresh_dossier(hub_runtime, T0)
    callback = subscriber.url("/judy")
    subscribe(hub_client, callback)
    websub.verify_pending(hub_runtime, now=T0)
    sub_id = subscription_id(TOPIC, callback)
    subscriber.behave("/judy", "slow")  # times out
    websub.announce_changes(hub_runtime, {"region-solidaire"}, now=T0)
    [failed] = websub.deliver_due(hub_runtime, now=T0)
    assert not failed.delivered and "in time" in failed.reason
    assert store.failed_attempts(sub_id) == 1

    subscriber.behave("/judy", "ok")
    assert failed.retry_at is not None
    [retried] = websub.deliver_due(hub_runtime, now=failed.retry_at)
    assert retried.delivered and store.failed_attempts(sub_id) == 0
    assert store.delivery_due_at(sub_id) is None


def test_no_secret_and_no_capability_url_reaches_the_logs(
        hub_client: FlaskClient, hub_runtime: Runtime, subscriber: Subscriber,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    refresh_dossier(hub_runtime, T0)
    secret, path = "never-log-this-secret", "/capability-7f3a9c"
    subscribe(hub_client, subscriber.url(path), secret=secret)
    websub.verify_pending(hub_runtime, now=T0)
    subscriber.behave(path, "fail")
    websub.announce_changes(hub_runtime, {"region-solidaire"}, now=T0)
    websub.deliver_due(hub_runtime, now=T0)
    assert subscriber.received(path), "the delivery was attempted"
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("syndication"))
    assert "hub:" in ours  # the hub did log what it did…
    assert path not in ours  # …naming callbacks by their origin only…
    # …and no logger, httpx's own included, ever sees the secret. (httpx does log request URLs
    # at INFO: the CLI keeps it at WARNING unless the log level is DEBUG.)
    assert secret not in caplog.text


# --- the queues survive a crash ----------------------------------------------------------------


def test_a_claimed_delivery_left_unfinished_is_due_again(store: SubscriptionStore) -> None:
    now = T0.timestamp()
    assert store.enqueue_deliveries(["sub-1"], now) == 1
    [(sub_id, claim)] = store.claim_deliveries(now, 10)
    assert sub_id == "sub-1"
    # The process holding it dies: nobody else takes it until the claim runs out…
    assert store.claim_deliveries(now + 1, 10) == []
    # …then it is due again.
    assert [s for s, _ in store.claim_deliveries(now + CLAIM_SECONDS + 1, 10)] == ["sub-1"]


def test_a_version_announced_during_a_delivery_is_delivered_next(
        store: SubscriptionStore) -> None:
    now = T0.timestamp()
    store.enqueue_deliveries(["sub-1"], now)
    [(_, claim)] = store.claim_deliveries(now, 10)
    store.enqueue_deliveries(["sub-1"], now + 5)  # a new version, while the old one is sent
    store.delivered("sub-1", claim)
    assert store.delivery_due_at("sub-1") == now + 5
    [(_, claim)] = store.claim_deliveries(now + 5, 10)
    store.delivered("sub-1", claim)
    assert store.delivery_due_at("sub-1") is None


# --- the blueprint -----------------------------------------------------------------------------


def test_the_hub_only_takes_posts(hub_client: FlaskClient) -> None:
    assert hub_client.get("/hub").status_code == 405
