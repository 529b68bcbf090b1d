"""WebSub protocol (W3C Recommendation, https://www.w3.org/TR/websub/): what the hub accepts
and how it checks it. Entry points: `handle_request(runtime, form, base_url)` for a subscriber's
POST /hub, `verify_pending(runtime)` for verification of intent.

- `handle_request`: checks a (un)subscription request (#subscriber-sends-subscription-request)
  and queues it for verification; returns what happens next, raises InvalidParameter naming the
  parameter. Its answer never depends on the verification, as the spec requires.
- `verify_pending`: verification of intent (#hub-verifies-intent): a GET to the callback with a
  random hub.challenge; only a 2xx answer echoing exactly the challenge makes the
  (un)subscription take effect.

Topics are exactly our feed URLs, …/feeds/{feed}.{rss,atom,json}, on SYNDICATION_BASE_URL or on
the host the request came to. Query strings are refused: a delivery carries the feed as its URL
serves it by default, so a filtered topic (?tag=…) would promise content the hub does not send.

Callback URLs are untrusted: http(s) only, and their host must resolve to public addresses unless
the operator admits networks (setting hub_allowed_networks, CIDRs). The check, shared with the
fetcher, lives in fetch/addresses.py. It runs when the request comes in and again before every
request to the callback, and each request goes to the very address that passed the check (no
second DNS lookup that could answer differently). Redirects are not followed. Secrets are never
logged, and callbacks only by their origin: a callback is often a capability URL, whose path is as
good as a password.
"""
from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlencode, urlsplit

import httpx

from ..errors import InvalidParameter, TooManyRequests
from ..fetch import addresses
from ..fetch.addresses import Address, Allowed, URLRefused, default_port, pinned_request
from ..fetch.pacing import HostPacing
from ..runtime import Runtime
from ..settings import Settings
from ..store.subscriptions import (
    HubLimits,
    SubscriptionRequest,
    SubscriptionStore,
    callback_host,
)

log = logging.getLogger(__name__)

FORMATS = ("rss", "atom", "json")
MODES = ("subscribe", "unsubscribe")

MIN_LEASE_SECONDS = 60  # shorter requests are lengthened: a lease is not a polling interval

MAX_SECRET_BYTES = 199  # the spec: "MUST be less than 200 bytes"
MAX_CALLBACK_LENGTH = 2048


LIMITS = HubLimits()  # what one client, and one callback host, may ask of the hub
VERIFY_BATCH = 32
CONCURRENCY = 8  # one slow callback must not hold up the others

_FEED_PATH = re.compile(r"/feeds/(?P<feed>[a-z0-9][a-z0-9-]*)\.(?P<format>[a-z]+)")


class CallbackRefused(URLRefused):
    """A callback URL this hub will not call (scheme, host, or where its host resolves)."""


# --- policy: what the operator decided ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HubPolicy:
    allowed_networks: tuple[Allowed, ...]
    default_lease_seconds: int
    max_lease_seconds: int
    timeout: float
    user_agent: str

    @classmethod
    def of(cls, settings: Settings) -> HubPolicy:
        return cls(
            allowed_networks=parse_networks(settings.hub_allowed_networks),
            default_lease_seconds=min(settings.hub_lease_seconds, settings.hub_max_lease_seconds),
            max_lease_seconds=settings.hub_max_lease_seconds,
            timeout=settings.hub_timeout,
            user_agent=settings.user_agent,
        )

    def admits(self, address: Address) -> bool:
        """Whether the hub may send requests to this address."""
        return addresses.is_admitted(address, self.allowed_networks)


def parse_networks(value: str) -> tuple[Allowed, ...]:
    """'127.0.0.0/8, [::1]:8300' → what callbacks may reach; raises ConfigError naming
    hub_allowed_networks."""
    return addresses.parse_networks(value, "hub_allowed_networks")


# --- subscriber requests -----------------------------------------------------------------------


def handle_request(runtime: Runtime, form: Mapping[str, str], base_url: str, client: str,
                   now: datetime | None = None) -> str:
    """A subscription or unsubscription request from `client` (its address); `base_url` is the
    root URL the request came to. Returns what happens next (the request is accepted: 202 on
    the web); raises InvalidParameter naming the parameter, TooManyRequests past LIMITS (one
    client, or one callback host, must not turn the hub against a third party), or
    StoreUnavailable when it cannot be queued."""
    now = now or datetime.now(UTC)
    request = parse_request(runtime, form, base_url)
    store = runtime.stores.subscriptions
    waited = store.admit(client, request, now.timestamp(), LIMITS)
    if waited:
        log.info("hub: %s request for %s from %s refused: over the limits", request.mode,
                 request.topic, origin(request.callback))
        raise TooManyRequests("too many subscription requests from this address or for this "
                              "callback host; try again later", waited)
    store.add_intent(request, due=now.timestamp())
    log.info("hub: %s request for %s from %s queued for verification", request.mode,
             request.topic, origin(request.callback))
    return (f"{request.mode} request accepted: the hub will confirm it with a GET to the "
            f"callback carrying hub.challenge")


def parse_request(runtime: Runtime, form: Mapping[str, str], base_url: str) -> SubscriptionRequest:
    """Check every parameter; raises InvalidParameter naming the first wrong one."""
    policy = HubPolicy.of(runtime.settings)
    mode = form.get("hub.mode")
    if not mode:
        raise InvalidParameter("hub.mode", "required: 'subscribe' or 'unsubscribe'")
    if mode not in MODES:
        # 'publish' included: the hub learns of changes to its own feeds by itself.
        raise InvalidParameter("hub.mode", f"must be 'subscribe' or 'unsubscribe', not "
                                           f"{_quote(mode)}")
    topic = form.get("hub.topic")
    if not topic:
        raise InvalidParameter("hub.topic", "required: the URL of one of our feeds")
    bases = [b for b in (runtime.settings.base_url, base_url) if b]
    feed_id, fmt, topic_base = parse_topic(topic, bases)
    if feed_id not in runtime.catalogue.feeds:
        raise InvalidParameter("hub.topic", f"there is no feed '{feed_id}' here")
    callback = form.get("hub.callback")
    if not callback:
        raise InvalidParameter("hub.callback", "required: the URL to notify")
    lease, secret = policy.default_lease_seconds, ""
    if mode == "subscribe":  # for unsubscribe, the spec says to ignore both
        lease = _lease(form.get("hub.lease_seconds"), policy)
        secret = form.get("hub.secret") or ""
        if len(secret.encode("utf-8")) > MAX_SECRET_BYTES:
            raise InvalidParameter("hub.secret", "must be less than 200 bytes")
    try:  # last: it asks DNS
        check_callback(callback, policy)
    except CallbackRefused as error:
        raise InvalidParameter("hub.callback", str(error)) from None
    return SubscriptionRequest(mode=mode, topic=topic, callback=callback, feed=feed_id,
                               format=fmt, base_url=topic_base, lease_seconds=lease,
                               secret=secret)


def parse_topic(topic: str, bases: Iterable[str]) -> tuple[str, str, str]:
    """(feed id, format, root URL of the service as the topic spells it) of a topic URL on one
    of `bases`; raises InvalidParameter('hub.topic') otherwise."""
    try:
        parts = urlsplit(topic)
    except ValueError:  # an unbalanced [ in the host, for one
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidParameter("hub.topic", "must be the absolute http(s) URL of one of our feeds")
    if parts.query or parts.fragment or topic.endswith(("?", "#")):
        raise InvalidParameter("hub.topic", "query strings are not accepted: subscribe to the "
                                            "feed's own URL, …/feeds/{feed}.rss, .atom or .json")
    for base in bases:
        base_parts = urlsplit(base)
        root = base_parts.path.rstrip("/")
        if not _same_origin(parts, base_parts) or not parts.path.startswith(root + "/"):
            continue
        # The spec asks hubs to decode percent-encoded unreserved characters.
        match = _FEED_PATH.fullmatch(unquote(parts.path[len(root):]))
        if match is None:
            break
        if match["format"] not in FORMATS:
            raise InvalidParameter("hub.topic", f"unknown feed format '{match['format']}' "
                                                f"(rss, atom or json)")
        return match["feed"], match["format"], f"{parts.scheme}://{parts.netloc}{root}"
    where = " or ".join(b.rstrip("/") for b in bases)
    raise InvalidParameter("hub.topic", f"not a feed of this hub: topics are "
                                        f"{where}/feeds/{{feed}}.rss, .atom or .json")


def _same_origin(a: Any, b: Any) -> bool:
    try:
        return (a.scheme == b.scheme and (a.hostname or "") == (b.hostname or "")
                and (a.port or default_port(a.scheme)) == (b.port or default_port(b.scheme)))
    except ValueError:  # a port that is not a number
        return False


def _lease(raw: str | None, policy: HubPolicy) -> int:
    """The lease granted: the one asked for, within [MIN_LEASE_SECONDS, max]."""
    if raw is None or raw == "":
        return policy.default_lease_seconds
    if not raw.isascii() or not raw.isdigit() or not raw.strip("0"):
        raise InvalidParameter("hub.lease_seconds", f"must be a positive whole number of "
                                                    f"seconds, not {_quote(raw)}")
    if len(raw.lstrip("0")) > 12:  # far beyond any maximum (and int() refuses 4,300 digits)
        return policy.max_lease_seconds
    return max(MIN_LEASE_SECONDS, min(int(raw), policy.max_lease_seconds))


def _quote(value: str) -> str:
    return repr(value[:40] + ("…" if len(value) > 40 else ""))


# --- callbacks: untrusted URLs -----------------------------------------------------------------


def check_callback(url: str, policy: HubPolicy) -> Address:
    """The address to send requests for `url` to; raises CallbackRefused when the URL is too
    long, not http(s), names credentials, or its host resolves to no address the policy admits
    (fetch/addresses.py)."""
    if len(url) > MAX_CALLBACK_LENGTH:
        raise CallbackRefused(f"longer than {MAX_CALLBACK_LENGTH} characters")
    try:
        return addresses.check_url(url, policy.allowed_networks)
    except URLRefused as error:
        raise CallbackRefused(str(error)) from None


def origin(url: str) -> str:
    """scheme://host:port of a URL: what logs may say of a callback."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def http_client(policy: HubPolicy) -> httpx.Client:
    # No environment proxies (they would bypass the address check), no redirects, and no
    # kept-alive connections: each request goes to the address just checked for its host.
    return httpx.Client(timeout=policy.timeout, follow_redirects=False, trust_env=False,
                        headers={"User-Agent": policy.user_agent},
                        limits=httpx.Limits(max_keepalive_connections=0))


# --- verification of intent --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verification:
    """What came of one verification of intent."""

    subscription_id: str
    mode: str
    verified: bool
    reason: str  # why not, or "verified"


def verify_pending(runtime: Runtime, now: datetime | None = None) -> list[Verification]:
    """Verify the requests waiting for it; apply the verified ones."""
    now = now or datetime.now(UTC)
    store, policy = runtime.stores.subscriptions, HubPolicy.of(runtime.settings)
    drop_expired(store, now.timestamp())
    intents = store.claim_intents(now.timestamp(), VERIFY_BATCH)
    if not intents:
        return []
    with http_client(policy) as client:
        # Paced per host like every fetch: a callback host gets one request at a time.
        pacing, interval = runtime.fetcher.pacing, runtime.settings.host_delay
        outcomes = in_parallel(
            lambda intent: _verify(client, policy, intent[1], pacing, interval), intents)
    results = []
    for (intent_id, request), (verified, reason) in zip(intents, outcomes, strict=True):
        if verified and request.mode == "subscribe":
            store.activate(request, expires_at=now.timestamp() + request.lease_seconds)
        elif verified:
            store.remove(request.subscription_id)
        store.finish_intent(intent_id, request)
        log.info("hub: %s of %s to %s %s", request.mode, origin(request.callback), request.topic,
                 "verified" if verified else f"not verified: {reason}")
        results.append(Verification(request.subscription_id, request.mode, verified, reason))
    return results


def _verify(client: httpx.Client, policy: HubPolicy, request: SubscriptionRequest,
            pacing: HostPacing, interval: float) -> tuple[bool, str]:
    challenge = secrets.token_urlsafe(32)
    params = {"hub.mode": request.mode, "hub.topic": request.topic, "hub.challenge": challenge}
    if request.mode == "subscribe":
        params["hub.lease_seconds"] = str(request.lease_seconds)
    # The spec: keep the callback's own query string, append ours with "&".
    base = request.callback.split("#", 1)[0]
    url = base + ("&" if "?" in base else "?") + urlencode(params)
    expected = challenge.encode("ascii")
    try:
        address = check_callback(url, policy)
        sent = pinned_request(client, "GET", url, address,
                               headers={"Accept-Encoding": "identity"})
        with pacing.turn(callback_host(request.callback), interval):
            response = client.send(sent, stream=True)
            try:
                if not 200 <= response.status_code < 300:
                    return False, f"the callback answered HTTP {response.status_code}"
                body = read_at_most(response, len(expected) + 1)
            finally:
                response.close()
    except CallbackRefused as error:
        return False, f"callback refused: {error}"
    except httpx.TimeoutException:
        return False, "the callback did not answer in time"
    except httpx.HTTPError as error:
        return False, f"the callback could not be reached ({type(error).__name__})"
    if body != expected:
        return False, "the callback did not echo hub.challenge"
    return True, "verified"


def read_at_most(response: httpx.Response, limit: int) -> bytes:
    """Up to `limit` bytes of the body as sent: an answer longer than a challenge is wrong
    anyway, and an endless one must not be read to its end."""
    body = b""
    for chunk in response.iter_raw():
        body += chunk
        if len(body) >= limit:
            break
    return body[:limit]


# --- shared by verification and delivery -------------------------------------------------------


def drop_expired(store: SubscriptionStore, now: float) -> None:
    for sub in store.drop_expired(now):
        log.info("hub: lease of %s to %s ended", origin(sub.callback), sub.topic)


_T = TypeVar("_T")
_R = TypeVar("_R")


def in_parallel(work: Callable[[_T], _R], items: list[_T]) -> list[_R]:
    """work(item) for every item, CONCURRENCY at a time, results in the items' order."""
    if len(items) == 1:
        return [work(items[0])]
    with ThreadPoolExecutor(max_workers=min(CONCURRENCY, len(items)),
                            thread_name_prefix="websub") as pool:
        return list(pool.map(work, items))
