"""Refresh metrics: counters and a duration histogram per source, kept in Redis.

Refreshes run in the scheduler process; /metrics is served by the web processes (several gunicorn
workers, maybe several replicas). prometheus-client's multiprocess mode shares values through a
directory, which only works for processes of one host and container, so it cannot carry the
scheduler's numbers to the web tier. Redis, which every process already shares, can: refresh()
adds to these counters (one pipelined round trip per refresh) and /metrics reads them at scrape
time (web/metrics.py). They are the service's totals: every web process reports the same values,
so aggregate them across instances with max(), not sum().

Key schema (every key starts with the configured prefix as a hash tag, written P below):

    P:metrics:refreshes          hash  "{source}|{outcome}" → refreshes
    P:metrics:ingested           hash  "{source}|{change}" → items (change: new | updated)
    P:metrics:errors             hash  "{source}|{kind}" → refreshes that ended on that error
    P:metrics:duration:{source}  hash  bucket upper bound ("0.5", "+Inf") → refreshes that took
                                       at most that long and longer than the bound below;
                                       "sum" → seconds in all, "count" → refreshes
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..state import Outcome
from .connection import Connection
from .keys import key_prefix

# Seconds: a re-poll answered by 304s takes tens of milliseconds, a listing with its detail pages
# several seconds, a slow site up to the fetch timeout for each page.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_INF = "+Inf"


@dataclass(frozen=True, slots=True)
class DurationHistogram:
    buckets: tuple[tuple[str, int], ...]  # (upper bound, cumulative count), +Inf last
    sum: float
    count: int


@dataclass(frozen=True, slots=True)
class RefreshMetrics:
    """Every counter, as read at one moment."""

    refreshes: dict[tuple[str, str], int] = field(default_factory=dict)  # (source, outcome)
    ingested: dict[tuple[str, str], int] = field(default_factory=dict)  # (source, new|updated)
    errors: dict[tuple[str, str], int] = field(default_factory=dict)  # (source, kind)
    durations: dict[str, DurationHistogram] = field(default_factory=dict)  # by source


class MetricsStore:
    def __init__(self, redis: Connection, prefix: str):
        self.redis = redis
        self.prefix = key_prefix(prefix)

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, "metrics", *parts))

    def record_refresh(self, source_id: str, outcome: Outcome, *, seconds: float | None,
                       new: int = 0, updated: int = 0, error_kind: str | None = None) -> None:
        """Count one refresh: its outcome, the items it brought, its error, its duration (None
        for a refresh that did not run: another process held the lease)."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(self._key("refreshes"), f"{source_id}|{outcome}", 1)
            for change, count in (("new", new), ("updated", updated)):
                if count:
                    pipe.hincrby(self._key("ingested"), f"{source_id}|{change}", count)
            if error_kind:
                pipe.hincrby(self._key("errors"), f"{source_id}|{error_kind}", 1)
            if seconds is not None:
                histogram = self._key("duration", source_id)
                pipe.hincrby(histogram, _bucket(seconds), 1)
                pipe.hincrbyfloat(histogram, "sum", seconds)
                pipe.hincrby(histogram, "count", 1)
            pipe.execute()

    def read(self, source_ids: Iterable[str]) -> RefreshMetrics:
        """Every counter, and the duration histograms of these sources, in one round trip."""
        source_ids = list(source_ids)
        with self.redis.pipeline(transaction=False) as pipe:
            for name in ("refreshes", "ingested", "errors"):
                pipe.hgetall(self._key(name))
            for source_id in source_ids:
                pipe.hgetall(self._key("duration", source_id))
            refreshes, ingested, errors, *histograms = pipe.execute()
        return RefreshMetrics(
            refreshes=_pairs(refreshes), ingested=_pairs(ingested), errors=_pairs(errors),
            durations={source_id: _histogram(raw)
                       for source_id, raw in zip(source_ids, histograms, strict=True) if raw})


def _bucket(seconds: float) -> str:
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            return str(bound)
    return _INF


def _pairs(raw: dict[str, str]) -> dict[tuple[str, str], int]:
    pairs = {}
    for name, value in raw.items():
        first, _, second = name.partition("|")
        pairs[(first, second)] = int(value)
    return pairs


def _histogram(raw: dict[str, str]) -> DurationHistogram:
    cumulative, buckets = 0, []
    for bound in (*map(str, DURATION_BUCKETS), _INF):
        cumulative += int(raw.get(bound, 0))
        buckets.append((bound, cumulative))
    return DurationHistogram(tuple(buckets), float(raw.get("sum", 0)), int(raw.get("count", 0)))
