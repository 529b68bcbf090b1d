"""Per-host pacing: one request at a time to a host, a minimum delay between two, and a host that
asked us to wait (Retry-After) left alone until then.

`HostPacing` is what the fetcher relies on. `LocalPacing` keeps that state in this process, whose
threads share one Fetcher: enough when one scheduler runs every refresh. store/pacing.py's
`RedisPacing` shares it between every process (workers on several machines,
SYNDICATION_REFRESH_MODE=rq).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from ..state import Hold


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
