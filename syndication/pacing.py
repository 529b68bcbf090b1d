"""Per-host pacing: one request at a time to a host, a minimum delay between two, and a host that
asked us to wait (Retry-After) left alone until then.

`HostPacing` is what the fetcher relies on. `LocalPacing` keeps that state in this process, whose
threads share one Fetcher: enough when one scheduler runs every refresh. `RedisPacing` shares it
between every process (workers on several machines, SYNDICATION_REFRESH_MODE=rq): a lock per
host with an expiry, the end of the last request, and a hold key that expires with the hold.

Redis keys (P is the configured prefix):

    P:host:{host}:turn       string  redis-py Lock: the request under way to that host
    P:host:{host}:last-end   string  epoch seconds when the last request to it ended (1 day TTL)
    P:host:{host}:hold       string  the HTTP status that asked us to wait; expires with the hold
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from redis import Redis

from .leases import KeptLease


@dataclass(frozen=True, slots=True)
class Hold:
    """A host that answered `status` with Retry-After: not contacted for `remaining` seconds."""

    status: int
    remaining: float


class HostPacing(Protocol):
    def turn(self, host: str, interval: float) -> AbstractContextManager[None]:
        """Wait until no other request to `host` is under way and `interval` seconds have
        passed since the previous one ended; the request is made inside the block."""
        ...

    def hold(self, host: str, seconds: float, status: int) -> None:
        """Leave `host` alone for `seconds` (it answered `status` with Retry-After)."""
        ...

    def held(self, host: str) -> Hold | None:
        """The hold on `host`, while it lasts."""
        ...


@dataclass
class _Host:
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_end: float = float("-inf")
    hold_until: float = float("-inf")
    hold_status: int = 0


class LocalPacing:
    """HostPacing for the threads of one process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self._clock, self._sleep = clock, sleep
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    @contextmanager
    def turn(self, host: str, interval: float) -> Iterator[None]:
        state = self._host(host)
        with state.lock:
            wait = state.last_end + interval - self._clock()
            if wait > 0:
                self._sleep(wait)
            try:
                yield
            finally:
                state.last_end = self._clock()

    def hold(self, host: str, seconds: float, status: int) -> None:
        if seconds <= 0:
            return
        state = self._host(host)
        with self._lock:
            until = self._clock() + seconds
            if until > state.hold_until:
                state.hold_until, state.hold_status = until, status

    def held(self, host: str) -> Hold | None:
        state = self._host(host)
        with self._lock:
            remaining = state.hold_until - self._clock()
            return Hold(state.hold_status, remaining) if remaining > 0 else None

    def _host(self, host: str) -> _Host:
        with self._lock:
            return self._hosts.setdefault(host, _Host())


class RedisPacing:
    """HostPacing for every process of a deployment, through Redis. Times are wall-clock epoch
    seconds, the only clock that processes on several machines share."""

    def __init__(self, redis: Redis, prefix: str, *, turn_seconds: float = 60.0,
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
