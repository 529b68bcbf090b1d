"""Leases. `KeptLease` for long holders (a refresh, the leading scheduler), `brief_lease` for a
short write (a push, a withdrawal, a source removed).

Leases that live as long as their holder: a redis-py Lock with a short expiry, renewed every
third of it by a thread of its own while held. A long refresh (a polite crawl of a hundred pages)
keeps its source's lease; a process that dies, even by SIGKILL, frees it within one lifetime. The
leading scheduler holds one too (leadership.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from redis.exceptions import LockError, RedisError
from redis.lock import Lock

log = logging.getLogger(__name__)


class KeptLease:
    """`clock` (seconds, monotonic) times how long renewals have failed: past one lifetime
    since the last success, the lease is given up as lost. Tests pass their own."""

    def __init__(self, lock: Lock, name: str, token: str | None = None,
                 clock: Callable[[], float] = time.monotonic):
        if lock.timeout is None:
            raise ValueError("a kept lease needs a lock with a timeout")
        self.lifetime = float(lock.timeout)  # seconds; renewed every third of it
        self.lock, self.name, self.token = lock, name, token  # token: None for a random one
        self.clock = clock
        self.lost = threading.Event()  # set when a renewal failed: another may hold it now
        self._stop = threading.Event()
        self._keeper: threading.Thread | None = None

    def acquire(self) -> bool:
        """Take the lease if free (never waits); renewals start at once."""
        if not self.lock.acquire(blocking=False, token=self.token):
            return False
        self.lost.clear()
        self._stop.clear()
        self._keeper = threading.Thread(target=self._renew, name=f"lease {self.name}",
                                        daemon=True)
        self._keeper.start()
        return True

    def release(self) -> None:
        self._stop.set()
        if self._keeper is not None:
            self._keeper.join()
            self._keeper = None
        try:
            self.lock.release()
        except LockError:  # expired (or taken over) while we worked: nothing of ours to free
            log.warning("lease %s had expired before its release", self.name)
        except RedisError:  # it expires by itself
            log.warning("could not release lease %s: it will expire", self.name)

    def held(self) -> bool:
        """Whether the lease is still ours (one round trip): checked before a commit, so that a
        holder that lost it (paused past its expiry) writes nothing over a newer holder's work."""
        try:
            return not self.lost.is_set() and self.lock.owned()
        except RedisError:
            return False

    def _renew(self) -> None:
        lifetime = self.lifetime
        renewed_at = self.clock()
        while not self._stop.wait(lifetime / 3):
            try:
                self.lock.reacquire()
                renewed_at = self.clock()
            except LockError as error:  # expired and perhaps taken: it is gone
                self._give_up(error)
                return
            except Exception as error:  # noqa: BLE001 - a Redis blip: retry while it may live
                if self.clock() - renewed_at >= lifetime:
                    self._give_up(error)
                    return
                log.warning("lease %s not renewed yet: %s", self.name, error)

    def _give_up(self, error: Exception) -> None:
        log.warning("lease %s lost: %s", self.name, error)
        self.lost.set()


class LeaseBusy(Exception):
    """Another process held the lease for longer than a brief write waits."""


@contextmanager
def brief_lease(lock: Lock, name: str, wait: float) -> Iterator[None]:
    """Hold a lease for a short write, waiting up to `wait` seconds for its holder (a refresh,
    another push) to finish; LeaseBusy if it does not."""
    if not lock.acquire(blocking=True, blocking_timeout=wait):
        raise LeaseBusy(name)
    try:
        yield
    finally:
        try:
            lock.release()
        except LockError:  # expired meanwhile: nothing of ours to free
            log.warning("lease %s expired during a write", name)
