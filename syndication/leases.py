"""Leases that live as long as their holder: a redis-py Lock with a short expiry, renewed every
third of it by a thread of its own while held. A long refresh (a polite crawl of a hundred pages)
keeps its source's lease; a process that dies, even by SIGKILL, frees it within one lifetime. The
leading scheduler holds one too (leader.py)."""

from __future__ import annotations

import logging
import threading

from redis.exceptions import LockError, RedisError
from redis.lock import Lock

log = logging.getLogger(__name__)


class KeptLease:
    def __init__(self, lock: Lock, name: str, token: str | None = None):
        if lock.timeout is None:
            raise ValueError("a kept lease needs a lock with a timeout")
        self.lock, self.name, self.token = lock, name, token  # token: None for a random one
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

    def _renew(self) -> None:
        every = float(self.lock.timeout) / 3  # type: ignore[arg-type]
        while not self._stop.wait(every):
            try:
                self.lock.reacquire()
            except (LockError, RedisError) as error:
                log.warning("lease %s lost: %s", self.name, error)
                self.lost.set()
                return
