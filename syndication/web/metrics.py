"""/metrics: Prometheus metrics (text exposition format).

Two kinds of numbers, kept where they are made:

- HTTP requests served (a counter by endpoint, method and status, a latency histogram by
  endpoint) are counted in each web process, by before/after-request hooks on the whole app and
  by the hot path (web/fastpath.py). Counting is cheap: a dictionary under a lock, moved into
  prometheus-client's metrics at scrape time and, within FLUSH_SECONDS of any request, by a
  timer (prometheus-client's own counting, a labelled child looked up under a lock per metric,
  costs more than a cached hit's other work). Under several worker processes, set
  PROMETHEUS_MULTIPROC_DIR (an empty directory, wiped before the server starts, shared by its
  workers) and prometheus-client's multiprocess mode sums them at scrape time, whichever worker
  answers (the others' numbers are at most FLUSH_SECONDS old). Without it (one process:
  `syndication serve`, the demo, the tests) the app's own registry is read.
- Refreshes happen in the scheduler, another process and often another container, which no
  multiprocess directory reaches: their counters and duration histogram live in Redis
  (store/metrics.py), and source states and item counts are read from Redis too, all at scrape
  time by `SourceCollector`. Those are the service's totals, the same from every web process.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from bisect import bisect_left
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, current_app, g, request
from flask.blueprints import BlueprintSetupState
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from ..runtime import Runtime
from ..state import SOURCE_STATES
from ..store import StoreUnavailable
from . import runtime

log = logging.getLogger(__name__)

blueprint = Blueprint("metrics", __name__)

_EXTENSION = "syndication.metrics"
# Seconds: a cached feed is served in about a millisecond, a first rendering in tens of them.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


FLUSH_SECONDS = 1.0
_UNFLUSHED: weakref.WeakSet[HttpMetrics] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for metrics in list(_UNFLUSHED):
        metrics.flush()


class HttpMetrics:
    """The HTTP metrics of one app, in a registry of its own (read when not in multiprocess
    mode; in multiprocess mode the values are also written to PROMETHEUS_MULTIPROC_DIR)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str], int] = {}
        # By endpoint: the sum of the durations, then a count per bucket (+Inf last).
        self._latency: dict[str, list[float]] = {}
        self._flush_scheduled = False
        _UNFLUSHED.add(self)  # a worker that ends leaves no request uncounted
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("syndication_http_requests", "HTTP requests served.",
                                ["endpoint", "method", "status"], registry=self.registry)
        self.auth_failures = Counter("syndication_auth_failures",
                                     "Requests refused for an unknown token, by the token's "
                                     "kind (operator, push).", ["kind"], registry=self.registry)
        self.latency = Histogram("syndication_http_request_duration_seconds",
                                 "Time to answer an HTTP request, by endpoint.", ["endpoint"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)

    def count(self, endpoint: str, method: str, status: str, seconds: float | None) -> None:
        """One request served (in `seconds`, if timed): a few dictionary updates, no
        prometheus-client call."""
        with self._lock:
            key = (endpoint, method, status)
            self._counts[key] = self._counts.get(key, 0) + 1
            latency = self._latency.get(endpoint) if seconds is not None else None
            if seconds is not None:
                if latency is None:
                    latency = self._latency[endpoint] = [0.0] * (len(LATENCY_BUCKETS) + 2)
                latency[0] += seconds
                latency[bisect_left(LATENCY_BUCKETS, seconds) + 1] += 1  # buckets are `<=`
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        timer = threading.Timer(FLUSH_SECONDS, self.flush)
        timer.daemon = True
        timer.start()

    def flush(self) -> None:
        """Move the requests counted so far into prometheus-client's metrics (and, in
        multiprocess mode, its files): at scrape time, and by a timer after a request."""
        with self._lock:
            counts, self._counts = self._counts, {}
            latencies, self._latency = self._latency, {}
            self._flush_scheduled = False
        for labels, number in counts.items():
            self.requests.labels(*labels).inc(number)
        for endpoint, latency in latencies.items():
            child = self.latency.labels(endpoint)
            # prometheus-client observes one value at a time; these are its own per-bucket
            # values (not cumulative), which observe() itself increments.
            child._sum.inc(latency[0])
            for value, observed in zip(child._buckets, latency[1:], strict=True):
                if observed:
                    value.inc(observed)


@blueprint.record_once
def _install(state: BlueprintSetupState) -> None:
    state.app.extensions[_EXTENSION] = HttpMetrics()


@blueprint.before_app_request
def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


@blueprint.after_app_request
def _count_request(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    # An unknown URL has no endpoint: one label value for all of them keeps the series bounded.
    endpoint = request.endpoint or "unmatched"
    http: HttpMetrics = current_app.extensions[_EXTENSION]
    seconds = time.perf_counter() - started if started is not None else None
    http.count(endpoint, request.method, str(response.status_code), seconds)
    return response


@blueprint.get("/metrics")
def metrics() -> Response:
    http_metrics(current_app).flush()  # this process's latest, wherever they are read from
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # every worker's HTTP metrics, summed
    else:
        registry.register(_Registered(current_app))
    registry.register(SourceCollector(runtime()))
    # The text format Prometheus has always read, or OpenMetrics when the scraper asks for it.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(registry), content_type=content_type,
                    headers={"Cache-Control": "no-store"})


def http_metrics(app: Flask) -> HttpMetrics:
    return app.extensions[_EXTENSION]


class _Registered(Collector):
    """The app's own HTTP metrics, for a one-process server."""

    def __init__(self, app: Flask):
        self.registry: CollectorRegistry = app.extensions[_EXTENSION].registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


class SourceCollector(Collector):
    """Read from Redis at scrape time: the refresh counters and duration histograms written by
    whichever process refreshed, each source's state and item count."""

    def __init__(self, service: Runtime):
        self.service = service

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("syndication_store_up",
                               "Whether Redis answered while these metrics were read.")
        try:
            families = list(self._families())
        except StoreUnavailable as error:
            log.warning("metrics: Redis is unavailable (%s)", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterator[Metric]:
        store, sources = self.service.store, list(self.service.catalogue.sources)
        counters = self.service.stores.metrics.read(sources)

        durations = HistogramMetricFamily("syndication_refresh_duration_seconds",
                                          "Time a refresh of a source took.", labels=["source"])
        for source_id, histogram in counters.durations.items():
            durations.add_metric([source_id], list(histogram.buckets), histogram.sum)
        yield durations
        for name, help_text, labels, values in (
            ("syndication_refreshes", "Refreshes by outcome (ok, not_modified, degraded, "
             "failed, skipped).", ["source", "outcome"], counters.refreshes),
            ("syndication_items_ingested", "Items stored by refreshes, new or updated.",
             ["source", "change"], counters.ingested),
            ("syndication_refresh_errors", "Refreshes that failed or were degraded, by error "
             "kind.", ["source", "kind"], counters.errors),
        ):
            family = CounterMetricFamily(name, help_text, labels=labels)
            for label_values, value in sorted(values.items()):
                family.add_metric(list(label_values), value)
            yield family

        state = GaugeMetricFamily("syndication_source_state",
                                  "1 for the source's current state, 0 for the others.",
                                  labels=["source", "state"])
        items = GaugeMetricFamily("syndication_source_items", "Items a source holds.",
                                  labels=["source"])
        failures = GaugeMetricFamily("syndication_source_consecutive_failures",
                                     "Failed or degraded refreshes since the last good one.",
                                     labels=["source"])
        success = GaugeMetricFamily("syndication_source_last_success_timestamp_seconds",
                                    "When the source last refreshed well (Unix time).",
                                    labels=["source"])
        for source_id in sources:
            status = store.source_status(source_id)
            for name in SOURCE_STATES:
                state.add_metric([source_id, name], 1 if status.state == name else 0)
            items.add_metric([source_id], store.item_count(source_id))
            failures.add_metric([source_id], status.consecutive_failures)
            if status.last_success is not None:
                success.add_metric([source_id], status.last_success.timestamp())
        yield from (state, items, failures, success)
