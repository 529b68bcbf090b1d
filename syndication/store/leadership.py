"""Which scheduler leads (schedule/scheduler.py runs the leader).

Any number of `syndication scheduler` processes may run; the one
holding the leader lease (a KeptLease: renewed every third of SYNDICATION_LEADER_LEASE_SECONDS)
plans and dispatches refreshes, the others wait to take over. A leader that dies (SIGKILL, a
machine lost) stops renewing, and another leads within one lease period.

Redis keys (P is the configured prefix):

    P:scheduler:leader    string  redis-py Lock of the leader; its token names the process
                                  ("host:pid:random"), for operators
    P:scheduler:plan      string  present while a leader is at work (3 lease periods TTL,
                                  refreshed as it works), deleted when it stops cleanly: a new
                                  leader that finds it takes over a plan (each source's next-run
                                  date is kept), one that does not starts cold (every source
                                  refreshes at once)
"""

from __future__ import annotations

import os
import socket
import uuid

from .connection import Connection
from .keys import key_prefix
from .leases import KeptLease
from .replies import optional_text


class Leadership:
    def __init__(self, redis: Connection, prefix: str, seconds: int):
        self.redis = redis
        self.seconds = seconds
        prefix = key_prefix(prefix)
        self.key, self.plan_key = f"{prefix}:scheduler:leader", f"{prefix}:scheduler:plan"
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        lock = redis.lock(self.key, timeout=self.seconds, thread_local=False)
        self.lease = KeptLease(lock, "scheduler leader", token=self.token)
        self.lost = self.lease.lost
        self.takes_over = False  # whether the last try_lead found a plan to continue

    def try_lead(self) -> bool:
        """Lead if nobody does (never waits). Raises RedisError."""
        if not self.lease.acquire():
            return False
        try:
            self.takes_over = bool(self.redis.exists(self.plan_key))
            self.beat()
        except BaseException:  # not leading after all: free the lease for the next try
            self.lease.release()
            raise
        return True

    def beat(self) -> None:
        """Say that a leader is at work (called as it works)."""
        self.redis.set(self.plan_key, self.token, ex=3 * self.seconds)

    def resign(self, *, clean: bool) -> None:
        """Stop leading; `clean`: the service is stopping, the next leader starts cold."""
        try:
            if clean:
                self.redis.delete(self.plan_key)
        finally:
            self.lease.release()

    def current(self) -> str | None:
        """The token of the process that leads now, if any."""
        return optional_text(self.redis.get(self.key))
