"""WebSub content distribution (#content-distribution). Entry points: `announce_changes(runtime,
feed_ids)`, called for every committed change of a feed (runtime.py wires it to the store's
change stream), and `tick(runtime)`, the scheduler's periodic job.

- `announce_changes`: every active subscriber to one of the feeds gets a delivery queued.
- `deliver_due`: a POST of the full feed document, signed with the subscriber's secret
  (#authenticated-content-distribution); failures are retried with exponential back-off, and a
  subscriber still failing after MAX_ATTEMPTS loses its subscription, as the spec says a hub does
  when its retry limits are reached.
- `tick`: verify_pending (protocol.py), then deliver_due.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from ..render.publish import render_feed
from ..runtime import Runtime
from ..store import StoreUnavailable, SubscriptionStore
from ..store.subscriptions import Subscription
from .protocol import (
    CallbackRefused,
    HubPolicy,
    check_callback,
    drop_expired,
    http_client,
    in_parallel,
    origin,
    pinned_request,
    verify_pending,
)

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 60  # then 2, 4, 8… minutes
RETRY_CEILING_SECONDS = 3600
MAX_ATTEMPTS = 10  # about five hours of trying before a subscription is terminated
DELIVERY_BATCH = 64
RENDER_RETRY_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Delivery:
    """What came of one attempt to deliver a feed to a subscriber."""

    subscription_id: str
    delivered: bool
    reason: str  # "delivered", or why not
    retry_at: datetime | None = None  # when the next attempt is due, after a failure


def announce_changes(runtime: Runtime, feed_ids: Iterable[str],
                     now: datetime | None = None) -> int:
    """Queue a delivery for every active subscriber of these feeds; returns how many were newly
    queued (one already waiting is brought forward instead). Never raises for Redis trouble: a
    refresh must not fail because of its subscribers."""
    now = now or datetime.now(UTC)
    feed_ids = sorted(set(feed_ids))
    try:
        store = runtime.stores.subscriptions
        drop_expired(store, now.timestamp())
        queued = 0
        for feed_id in feed_ids:
            queued += store.enqueue_deliveries(store.active_ids(feed_id, now.timestamp()),
                                               now.timestamp())
    except StoreUnavailable as error:
        log.warning("hub: deliveries for %s not queued, Redis is unavailable (%s)",
                    ", ".join(feed_ids), error)
        return 0
    if queued:
        log.info("hub: %d deliveries queued for %s", queued, ", ".join(feed_ids))
    return queued


def deliver_due(runtime: Runtime, now: datetime | None = None) -> list[Delivery]:
    """Send the deliveries that are due; schedule retries for the ones that fail."""
    now = now or datetime.now(UTC)
    store, policy = runtime.stores.subscriptions, HubPolicy.of(runtime.settings)
    drop_expired(store, now.timestamp())
    ready: list[tuple[Subscription, float, tuple[bytes, str]]] = []
    documents: dict[tuple[str, str, str], tuple[bytes, str]] = {}
    for sub_id, claim in store.claim_deliveries(now.timestamp(), DELIVERY_BATCH):
        sub = store.subscription(sub_id)
        if sub is None or sub.expires_at <= now.timestamp():
            store.delivered(sub_id, claim)  # nobody to deliver to any more
            continue
        if sub.feed not in runtime.catalogue.feeds:
            log.warning("hub: feed %s is no longer declared; subscription of %s ended",
                        sub.feed, origin(sub.callback))
            store.remove(sub_id)
            continue
        key = (sub.feed, sub.format, sub.base_url)
        if key not in documents:
            try:
                documents[key] = _render(runtime, sub)
            except Exception:  # noqa: BLE001 - our failure, not the subscriber's: retry later
                log.exception("hub: feed %s.%s could not be rendered for delivery", sub.feed,
                              sub.format)
                store.retry_at(sub_id, now.timestamp() + RENDER_RETRY_SECONDS)
                continue
        ready.append((sub, claim, documents[key]))
    if not ready:
        return []
    with http_client(policy) as client:
        outcomes = in_parallel(lambda entry: _post(client, policy, entry[0], *entry[2]), ready)
    results = [_record(store, sub, claim, ok, reason, now)
               for (sub, claim, _), (ok, reason) in zip(ready, outcomes, strict=True)]
    delivered = sum(1 for result in results if result.delivered)
    log.info("hub: %d deliveries sent, %d failed", delivered, len(results) - delivered)
    return results


def _render(runtime: Runtime, sub: Subscription) -> tuple[bytes, str]:
    feed = runtime.catalogue.feeds[sub.feed]
    return render_feed(runtime, feed, sub.format, sub.base_url)


def _post(client: httpx.Client, policy: HubPolicy, sub: Subscription, body: bytes,
          content_type: str) -> tuple[bool, str]:
    headers = {"Content-Type": content_type,
               "Link": f'<{hub_url(sub.base_url)}>; rel="hub", <{sub.topic}>; rel="self"'}
    if sub.secret:
        headers["X-Hub-Signature"] = "sha256=" + signature(sub.secret, body)
    try:
        address = check_callback(sub.callback, policy)
        response = client.send(pinned_request(client, "POST", sub.callback, address,
                                               headers=headers, content=body), stream=True)
        response.close()  # the spec: the hub ignores the body of the answer
    except CallbackRefused as error:
        return False, f"callback refused: {error}"
    except httpx.TimeoutException:
        return False, "the callback did not answer in time"
    except httpx.HTTPError as error:
        return False, f"the callback could not be reached ({type(error).__name__})"
    if not 200 <= response.status_code < 300:
        return False, f"the callback answered HTTP {response.status_code}"
    return True, "delivered"


def _record(store: SubscriptionStore, sub: Subscription, claim: float, ok: bool, reason: str,
            now: datetime) -> Delivery:
    if ok:
        store.delivered(sub.id, claim)
        return Delivery(sub.id, True, reason)
    failures = store.record_failure(sub.id)
    if failures >= MAX_ATTEMPTS:
        store.remove(sub.id)
        log.warning("hub: delivery of %s to %s failed %d times (%s); subscription terminated",
                    sub.topic, origin(sub.callback), failures, reason)
        return Delivery(sub.id, False, f"{reason}; subscription terminated")
    due = now.timestamp() + retry_delay(failures)
    store.retry_at(sub.id, due)
    log.info("hub: delivery of %s to %s failed (%s); attempt %d in %d s", sub.topic,
             origin(sub.callback), reason, failures + 1, retry_delay(failures))
    return Delivery(sub.id, False, reason, datetime.fromtimestamp(due, UTC))


def retry_delay(failures: int) -> int:
    """Seconds before the next attempt after `failures` failed ones: 1 min, 2, 4… capped."""
    return min(FIRST_RETRY_SECONDS * 2 ** (max(1, failures) - 1), RETRY_CEILING_SECONDS)


def signature(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of the exact body sent, keyed with the subscriber's hub.secret."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def hub_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/hub"


# --- the scheduler's job -----------------------------------------------------------------------


def tick(runtime: Runtime) -> None:
    """Verify pending requests, then send due deliveries. Redis trouble waits for the next tick."""
    try:
        verify_pending(runtime)
        deliver_due(runtime)
    except StoreUnavailable as error:
        log.warning("hub: verification and delivery postponed, Redis is unavailable (%s)", error)
