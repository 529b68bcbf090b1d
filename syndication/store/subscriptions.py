"""WebSub hub state: subscriptions with their leases, intents waiting for verification, and
content deliveries waiting to be sent (or retried).

Key schema (every key starts with the configured prefix as a hash tag, written P below):

    P:websub:subscription:{id}   hash    topic, callback, feed, format, base_url (the service's
                                         root as the topic spells it), secret (may be empty),
                                         lease_seconds, expires_at (epoch s)
    P:websub:leases              zset    subscription ids, score = lease end (epoch s)
    P:websub:feed:{feed}         set     ids of the subscriptions to one feed's topics
    P:websub:intent:{intent}     hash    mode and the fields of a subscription but expires_at:
                                         a request waiting for verification
    P:websub:intents             zset    intent ids, score = when to verify (epoch s)
    P:websub:deliveries          zset    subscription ids with content to deliver,
                                         score = when to (re)try (epoch s)
    P:websub:attempts            hash    subscription id → failed delivery attempts so far
    P:websub:host:{host}:intents set     intent ids waiting for verification, by callback host
    P:websub:host:{host}:subscriptions  set  subscription ids, by callback host
    P:websub:requests:{who}      zset    (un)subscription requests of the last window, score =
                                         when (epoch s); who = "client:{address}" or
                                         "host:{callback host}" (expires with the window)

A subscription's id is derived from its topic and callback: the spec makes that pair the
identity of a subscription, so a renewal overwrites it. A subscription has at most one pending
delivery: the feed is rendered when the delivery is sent, so a subscriber that missed several
versions gets the newest, once.

Both queues are claimed by pushing the members' scores CLAIM_SECONDS into the future in one Lua
call: two scheduler processes never take the same work, and work held by a process that died is
due again once its claim runs out, so a restart loses nothing. A delivery is removed only if its
score is still the claim's: a new version announced while the old one was being sent brings the
score back to now, and the new version goes out at the next run.

Secrets are stored as given (the hub needs them to sign); they are never logged, and
`Subscription` keeps them out of its repr.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .connection import Connection
from .keys import key_prefix
from .replies import fields, text, text_hash, texts

CLAIM_SECONDS = 300  # longer than one batch of verifications or deliveries can take

# Members of KEYS[1] due by ARGV[1], at most ARGV[2] of them, re-scored to ARGV[3].
_CLAIM_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[3], member)
end
return due
"""

# Clear the failure count of subscription ARGV[1]; remove it from queue KEYS[1] if its score is
# still the claim ARGV[2].
_FINISH_DELIVERY = """
redis.call('HDEL', KEYS[2], ARGV[1])
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class SubscriptionRequest:
    """A subscriber's request as the hub accepted it, before or after verification."""

    mode: str  # subscribe | unsubscribe
    topic: str
    callback: str
    feed: str
    format: str
    base_url: str  # the service's root URL, as the topic spells it
    lease_seconds: int
    secret: str = field(default="", repr=False)

    @property
    def subscription_id(self) -> str:
        return subscription_id(self.topic, self.callback)


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    topic: str
    callback: str
    feed: str
    format: str
    base_url: str
    lease_seconds: int
    expires_at: float  # epoch seconds
    secret: str = field(default="", repr=False)


def subscription_id(topic: str, callback: str) -> str:
    return hashlib.sha256(f"{topic}\n{callback}".encode()).hexdigest()[:32]


# A request from client KEYS[1] for callback host KEYS[2], admitted unless a limit is reached:
# requests within the last ARGV[2] seconds per client (ARGV[3]) and per host (ARGV[4]),
# intents pending for the host (KEYS[3], ARGV[5]), and, for a new subscription ARGV[8] when
# ARGV[9] is '1', the host's active subscriptions (KEYS[4], ARGV[6]). Returns '0' (admitted and
# counted as ARGV[7]) or the seconds to wait, as text.
_ADMIT = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, 2 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window) end
local function wait(key)
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return wait(KEYS[1]) end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return wait(KEYS[2]) end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[5]) then return tostring(window) end
if ARGV[9] == '1' and redis.call('SISMEMBER', KEYS[4], ARGV[8]) == 0
    and redis.call('SCARD', KEYS[4]) >= tonumber(ARGV[6]) then
  return tostring(60 * window)
end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], now, ARGV[7])
  redis.call('EXPIRE', KEYS[i], math.ceil(window))
end
return '0'
"""


@dataclass(frozen=True, slots=True)
class HubLimits:
    """What one client, and one callback host, may ask of the hub."""

    window: float = 60.0  # seconds
    requests_per_client: int = 20  # (un)subscription requests within the window
    requests_per_host: int = 20  # requests naming callbacks on one host, within the window
    pending_per_host: int = 20  # requests waiting for verification, per callback host
    active_per_host: int = 200  # subscriptions, per callback host


def callback_host(callback: str) -> str:
    return (urlsplit(callback).hostname or "").lower()


class SubscriptionStore:
    def __init__(self, redis: Connection, prefix: str):
        self.redis = redis
        self.prefix = key_prefix(prefix)
        self._claim_due = redis.register_script(_CLAIM_DUE)
        self._finish_delivery = redis.register_script(_FINISH_DELIVERY)
        self._admit = redis.register_script(_ADMIT)

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, "websub", *parts))

    # --- intents: requests waiting for verification ---------------------------------------

    def admit(self, client: str, request: SubscriptionRequest, now: float,
              limits: HubLimits) -> float:
        """0 when the request is within the limits (it is counted then), else the seconds the
        client should wait."""
        host = callback_host(request.callback)
        waited = self._admit(
            keys=[self._key("requests", f"client:{client}"),
                  self._key("requests", f"host:{host}"),
                  self._key("host", host, "intents"), self._key("host", host, "subscriptions")],
            args=[now, limits.window, limits.requests_per_client, limits.requests_per_host,
                  limits.pending_per_host, limits.active_per_host, uuid.uuid4().hex,
                  request.subscription_id, "1" if request.mode == "subscribe" else "0"])
        return max(0.0, float(text(waited)))

    def add_intent(self, request: SubscriptionRequest, due: float) -> str:
        intent_id = uuid.uuid4().hex
        with self.redis.pipeline(transaction=True) as tx:
            tx.hset(self._key("intent", intent_id), mapping=fields(_request_fields(request)))
            tx.zadd(self._key("intents"), {intent_id: due})
            tx.sadd(self._key("host", callback_host(request.callback), "intents"), intent_id)
            tx.execute()
        return intent_id

    def claim_intents(self, now: float, limit: int) -> list[tuple[str, SubscriptionRequest]]:
        """Intents due by `now`, claimed for this process (see the module docstring)."""
        claimed = self._claim_due(keys=[self._key("intents")],
                                  args=[now, limit, now + CLAIM_SECONDS])
        intents = []
        for intent_id in claimed:
            raw = text_hash(self.redis.hgetall(self._key("intent", intent_id)))
            if raw:
                intents.append((intent_id, _request_from(raw)))
            else:  # its hash is gone (finished elsewhere): nothing left to do
                self.redis.zrem(self._key("intents"), intent_id)
        return intents

    def finish_intent(self, intent_id: str, request: SubscriptionRequest) -> None:
        with self.redis.pipeline(transaction=True) as tx:
            tx.delete(self._key("intent", intent_id))
            tx.zrem(self._key("intents"), intent_id)
            tx.srem(self._key("host", callback_host(request.callback), "intents"), intent_id)
            tx.execute()

    def pending_intents(self) -> int:
        return int(self.redis.zcard(self._key("intents")))

    # --- subscriptions ----------------------------------------------------------------------

    def activate(self, request: SubscriptionRequest, expires_at: float) -> Subscription:
        """Create or renew a verified subscription; a renewal replaces secret and lease."""
        sub_id = request.subscription_id
        key = self._key("subscription", sub_id)
        with self.redis.pipeline(transaction=True) as tx:
            tx.delete(key)  # a renewal without hub.secret must not keep the old one
            values = _request_fields(request)
            del values["mode"]  # a subscription has no mode; its intent had one
            tx.hset(key, mapping=fields({**values, "expires_at": expires_at}))
            tx.zadd(self._key("leases"), {sub_id: expires_at})
            tx.sadd(self._key("feed", request.feed), sub_id)
            tx.sadd(self._key("host", callback_host(request.callback), "subscriptions"), sub_id)
            tx.execute()
        subscription = self.subscription(sub_id)
        assert subscription is not None  # written by the transaction above
        return subscription

    def subscription(self, sub_id: str) -> Subscription | None:
        raw = text_hash(self.redis.hgetall(self._key("subscription", sub_id)))
        if not raw:
            return None
        return Subscription(id=sub_id, topic=raw["topic"], callback=raw["callback"],
                            feed=raw["feed"], format=raw["format"], base_url=raw["base_url"],
                            lease_seconds=int(raw["lease_seconds"]),
                            expires_at=float(raw["expires_at"]), secret=raw.get("secret", ""))

    def remove(self, sub_id: str) -> bool:
        """Forget a subscription and whatever was waiting to be delivered to it."""
        sub = self.subscription(sub_id)
        with self.redis.pipeline(transaction=True) as tx:
            tx.delete(self._key("subscription", sub_id))
            tx.zrem(self._key("leases"), sub_id)
            if sub is not None:
                tx.srem(self._key("feed", sub.feed), sub_id)
                tx.srem(self._key("host", callback_host(sub.callback), "subscriptions"), sub_id)
            tx.zrem(self._key("deliveries"), sub_id)
            tx.hdel(self._key("attempts"), sub_id)
            tx.execute()
        return sub is not None

    def active_ids(self, feed_id: str, now: float) -> list[str]:
        """Subscriptions to a feed's topics whose lease has not ended."""
        ids = sorted(texts(self.redis.smembers(self._key("feed", feed_id))))
        if not ids:
            return []
        leases = self.redis.zmscore(self._key("leases"), ids)
        return [sub_id for sub_id, end in zip(ids, leases, strict=True)
                if end is not None and end > now]

    def drop_expired(self, now: float) -> list[Subscription]:
        """Remove every subscription whose lease ended by `now`; returns them."""
        expired = texts(self.redis.zrangebyscore(self._key("leases"), "-inf", now))
        dropped = []
        for sub_id in expired:
            sub = self.subscription(sub_id)
            # Renewed between the two reads: its lease moved on, keep it.
            if sub is not None and sub.expires_at > now:
                continue
            self.remove(sub_id)
            if sub is not None:
                dropped.append(sub)
        return dropped

    # --- deliveries -------------------------------------------------------------------------

    def enqueue_deliveries(self, sub_ids: Iterable[str], due: float) -> int:
        """New content is waiting for these subscribers, from `due`. A delivery already queued
        for later (a retry, or one being sent) is brought forward; returns how many were new."""
        mapping = {sub_id: due for sub_id in sub_ids}
        if not mapping:
            return 0
        added = self.redis.zadd(self._key("deliveries"), mapping, lt=True)
        return int(added or 0)  # a count (only ZADD INCR answers a score or nil)

    def claim_deliveries(self, now: float, limit: int) -> list[tuple[str, float]]:
        """(subscription id, claim) of the deliveries due by `now`; give the claim back to
        `delivered`."""
        claim = now + CLAIM_SECONDS
        members = self._claim_due(keys=[self._key("deliveries")], args=[now, limit, claim])
        return [(sub_id, claim) for sub_id in members]

    def delivered(self, sub_id: str, claim: float) -> None:
        """Done with a delivery: it leaves the queue unless new content was queued meanwhile."""
        self._finish_delivery(keys=[self._key("deliveries"), self._key("attempts")],
                              args=[sub_id, claim])

    def record_failure(self, sub_id: str) -> int:
        """Count a failed attempt; returns the number of failed attempts so far."""
        failures = int(self.redis.hincrby(self._key("attempts"), sub_id, 1))
        if self.redis.zscore(self._key("deliveries"), sub_id) is None:  # unsubscribed meanwhile
            self.redis.hdel(self._key("attempts"), sub_id)
        return failures

    def retry_at(self, sub_id: str, due: float) -> None:
        self.redis.zadd(self._key("deliveries"), {sub_id: due}, xx=True)

    def delivery_due_at(self, sub_id: str) -> float | None:
        """When the pending delivery to a subscriber is due (None: nothing pending)."""
        return self.redis.zscore(self._key("deliveries"), sub_id)

    def failed_attempts(self, sub_id: str) -> int:
        return int(self.redis.hget(self._key("attempts"), sub_id) or 0)


def _request_fields(request: SubscriptionRequest) -> dict[str, str | int]:
    return {"mode": request.mode, "topic": request.topic, "callback": request.callback,
            "feed": request.feed, "format": request.format, "base_url": request.base_url,
            "lease_seconds": request.lease_seconds, "secret": request.secret}


def _request_from(raw: dict[str, str]) -> SubscriptionRequest:
    return SubscriptionRequest(mode=raw["mode"], topic=raw["topic"], callback=raw["callback"],
                               feed=raw["feed"], format=raw["format"],
                               base_url=raw["base_url"], lease_seconds=int(raw["lease_seconds"]),
                               secret=raw.get("secret", ""))
