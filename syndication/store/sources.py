"""What operators change at run time: sources added through the API, publishers' push tokens,
and refreshes asked for.

Key schema (every key starts with the configured prefix as a hash tag, written P below):

    P:api-sources                hash    source id → its definition as sent to the API (JSON):
                                         the fields of a [[sources]] table, publisher, feeds
    P:api-sources:version        string  int, +1 on every change of P:api-sources: processes
                                         compare it with the one their catalogue was built on
    P:push-tokens                hash    SHA-256 of a token (hex) → {"publisher", "created",
                                         "label"} as JSON
    P:refresh-requests           zset    source ids an operator asked to refresh now,
                                         score = when asked (epoch s)
    P:refresh-taken              zset    the same, once the leading scheduler took them and
                                         until their refresh has run (or been queued): a
                                         scheduler that takes over puts them back
    P:scheduler-started          string  epoch s when the running scheduler process began to
                                         lead: a source whose last check is older has not been
                                         checked since (/status must not call it "à jour")

Tokens are kept as digests only: a copy of the database gives no way to push. A token is looked
up by its digest; that lookup's timing tells nothing useful about a token, since the digest of a
guess reveals nothing about the digests stored.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .connection import Connection
from .keys import key_prefix
from .replies import text_hash


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class PushToken:
    digest: str
    publisher: str
    created: str
    label: str = ""


class SourceRegistry:
    def __init__(self, redis: Connection, prefix: str):
        self.redis = redis
        self.prefix = key_prefix(prefix)

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # --- sources added through the API ------------------------------------------------------

    def version(self) -> int:
        return int(self.redis.get(self._key("api-sources", "version")) or 0)

    def definitions(self) -> tuple[int, dict[str, dict[str, Any]]]:
        """The version and every definition, read together (one transaction)."""
        with self.redis.pipeline(transaction=True) as tx:
            tx.get(self._key("api-sources", "version"))
            tx.hgetall(self._key("api-sources"))
            version, raw = tx.execute()
        return int(version or 0), {source_id: json.loads(data) for source_id, data in raw.items()}

    def save(self, source_id: str, definition: dict[str, Any]) -> None:
        with self.redis.pipeline(transaction=True) as tx:
            tx.hset(self._key("api-sources"), source_id, json.dumps(definition))
            tx.incrby(self._key("api-sources", "version"), 1)
            tx.execute()

    def remove(self, source_id: str) -> bool:
        with self.redis.pipeline(transaction=True) as tx:
            tx.hdel(self._key("api-sources"), source_id)
            tx.incrby(self._key("api-sources", "version"), 1)
            removed, _ = tx.execute()
        return bool(removed)

    # --- publishers' push tokens ------------------------------------------------------------

    def issue_token(self, publisher: str, now: datetime, label: str = "") -> tuple[str, PushToken]:
        """A new random token for a publisher: returned once, kept as its digest only."""
        token = secrets.token_urlsafe(32)
        issued = PushToken(token_digest(token), publisher, now.isoformat(), label)
        self.redis.hset(self._key("push-tokens"), issued.digest, json.dumps(
            {"publisher": publisher, "created": issued.created, "label": label}))
        return token, issued

    def token(self, token: str) -> PushToken | None:
        digest = token_digest(token)
        raw = self.redis.hget(self._key("push-tokens"), digest)
        return PushToken(digest, **json.loads(raw)) if raw else None

    def tokens(self, publisher: str | None = None) -> list[PushToken]:
        found = [PushToken(digest, **json.loads(raw))
                 for digest, raw in text_hash(self.redis.hgetall(self._key("push-tokens"))).items()]
        return sorted((t for t in found if publisher is None or t.publisher == publisher),
                      key=lambda t: t.created)

    def revoke_token(self, digest: str) -> bool:
        return bool(self.redis.hdel(self._key("push-tokens"), digest))

    # --- the scheduler's start ---------------------------------------------------------------

    def record_scheduler_start(self, now: datetime) -> None:
        self.redis.set(self._key("scheduler-started"), repr(now.timestamp()))

    def scheduler_started(self) -> datetime | None:
        """When the scheduler now running began to lead; None if none ever did."""
        raw = self.redis.get(self._key("scheduler-started"))
        return datetime.fromtimestamp(float(raw), UTC) if raw else None

    # --- refreshes asked for ----------------------------------------------------------------

    def request_refresh(self, source_id: str, now: datetime) -> None:
        """Ask the scheduler to refresh a source soon; asking twice before it does is once."""
        self.redis.zadd(self._key("refresh-requests"), {source_id: now.timestamp()}, nx=True)

    def take_refresh_requests(self, limit: int = 100) -> list[str]:
        """The oldest requests, moved aside as they are taken (one scheduler runs each) until
        `done_refresh_request`: a scheduler killed in between leaves them to the next
        (`requeue_taken_requests`)."""
        taken = self.redis.eval(_TAKE_REQUESTS, 2, self._key("refresh-requests"),
                                self._key("refresh-taken"), limit)
        return [str(source_id) for source_id in taken]

    def done_refresh_request(self, source_id: str) -> None:
        self.redis.zrem(self._key("refresh-taken"), source_id)

    def requeue_taken_requests(self) -> None:
        """The requests a scheduler took and did not run, asked for again (at their first
        date): called by a scheduler as it begins to lead, when no other is running them."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.zunionstore(self._key("refresh-requests"),
                             [self._key("refresh-requests"), self._key("refresh-taken")],
                             aggregate="MIN")
            pipe.delete(self._key("refresh-taken"))
            pipe.execute()


# ZPOPMIN then ZADD in one step: a request is always in one of the two sets.
_TAKE_REQUESTS = """
local taken = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
local ids = {}
for i = 1, #taken, 2 do
  redis.call('ZADD', KEYS[2], taken[i + 1], taken[i])
  ids[#ids + 1] = taken[i]
end
return ids
"""
