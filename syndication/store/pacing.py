"""Per-host pacing shared by every process of a deployment (fetch/pacing.py says what pacing
is): a lock per host with an expiry, the end of the last request, and a hold key that expires
with the hold.

Key schema (P is the configured prefix):

    P:host:{host}:turn       string  redis-py Lock: the request under way to that host
    P:host:{host}:last-end   string  epoch seconds when the last request to it ended (1 day TTL)
    P:host:{host}:hold       string  the HTTP status that asked us to wait; expires with the hold
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..state import Hold
from .connection import Connection
from .leases import KeptLease


class RedisPacing:
    """HostPacing for every process of a deployment, through Redis. Times are wall-clock epoch
    seconds, the only clock that processes on several machines share."""

    def __init__(self, redis: Connection, prefix: str, *, turn_seconds: float = 60.0,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep):
        self.redis, self.prefix = redis, prefix  # as the store's keys start (store/keys.py)
        self.turn_seconds = turn_seconds  # lifetime of a turn's lock, renewed while held
        self._clock, self._sleep = clock, sleep

    def _key(self, host: str, name: str) -> str:
        return f"{self.prefix}:host:{host}:{name}"

    @contextmanager
    def turn(self, host: str, interval: float) -> Iterator[None]:
        # Renewed while held: a worker that dies mid-request frees the host within turn_seconds.
        lease = KeptLease(self.redis.lock(self._key(host, "turn"), timeout=self.turn_seconds,
                                          thread_local=False), f"host {host}")
        while not lease.acquire():  # another process's request to this host ends first
            self._sleep(0.05)
        try:
            last_end = self.redis.get(self._key(host, "last-end"))
            wait = float(last_end) + interval - self._clock() if last_end else 0.0
            if wait > 0:
                self._sleep(min(wait, interval))
            try:
                yield
            finally:
                self.redis.set(self._key(host, "last-end"), repr(self._clock()), ex=86_400)
        finally:
            lease.release()

    def hold(self, host: str, seconds: float, status: int) -> None:
        if seconds <= 0:
            return
        key = self._key(host, "hold")
        if self.redis.pttl(key) < seconds * 1000:  # a longer hold already set stays
            self.redis.set(key, str(status), px=int(seconds * 1000))

    def held(self, host: str) -> Hold | None:
        key = self._key(host, "hold")
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.pttl(key)
            status, remaining_ms = pipe.execute()
        if status is None or remaining_ms is None or remaining_ms <= 0:
            return None
        return Hold(int(status), remaining_ms / 1000)
