"""The change stream: every committed change of a feed, announced once. The store announces it
right after the transaction that made it (a refresh, a push, a withdrawal, a feed rebuilt);
this process's listeners hear it at once (the render cache, the WebSub hub: runtime.py wires
the hub), and other processes through a pub/sub channel (P:feed-versions, feeds.py's schema).

Announcing is no part of the transaction (Redis Cluster takes no PUBLISH there): a process that
dies in between leaves other processes' caches to catch up by themselves, as they do after any
message they missed (`watch` reports a reconnection as on_change(None)).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from redis.exceptions import RedisError

from .connection import Connection

log = logging.getLogger(__name__)


class ChangeStream:
    def __init__(self, redis: Connection, channel: str):
        self.redis, self.channel = redis, channel
        self._listeners: list[Callable[[str | None], None]] = []

    def add_listener(self, on_change: Callable[[str | None], None]) -> None:
        """Call on_change(feed_id) in this process right after a commit changes a feed; other
        processes learn it through watch."""
        self._listeners.append(on_change)

    def remove_listener(self, on_change: Callable[[str | None], None]) -> None:
        if on_change in self._listeners:
            self._listeners.remove(on_change)

    def announce(self, feed_ids: Iterable[str]) -> None:
        """Announce committed changes: to other processes (watch), then to this
        one's listeners."""
        feed_ids = list(feed_ids)
        try:
            for feed_id in feed_ids:
                self.redis.publish(self.channel, feed_id)
        except RedisError as error:  # the change is committed: listeners catch up by themselves
            log.warning("feed changes not announced: %s", error)
        for feed_id in feed_ids:
            for listener in list(self._listeners):
                listener(feed_id)

    def watch(self, on_change: Callable[[str | None], None], stop: threading.Event,
              on_subscribed: Callable[[], None] | None = None) -> None:
        """Block until `stop` is set, calling on_change(feed_id) whenever a feed's version
        changes, and on_change(None) on every (re)connection, once Redis has confirmed the
        subscription, and on every loss of it: changes may have been missed. `on_subscribed`
        follows the on_change(None) of a (re)connection: from then on, until the next
        on_change(None), every change is heard."""
        while not stop.is_set():
            pubsub = self.redis.pubsub()
            try:
                pubsub.subscribe(self.channel)
                while not stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":  # also after a reconnection in redis-py
                        on_change(None)
                        if on_subscribed is not None:
                            on_subscribed()
                    elif message["type"] == "message":
                        on_change(str(message["data"]))
            except (RedisError, OSError, ValueError):  # ValueError: a socket closed under us
                on_change(None)
                stop.wait(1.0)
            finally:
                try:
                    pubsub.close()
                except (RedisError, OSError, ValueError):
                    pass
