"""What operators see: the /status page (read with BeautifulSoup) and /metrics (read with
prometheus-client's own parser), after real refreshes of the breakable copy of the sample site."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from syndication.app import create_app
from syndication.refresh import refresh
from syndication.render.french import french_datetime
from syndication.runtime import Runtime
from syndication.schedule import tick
from syndication.web.index import STATE_LABELS

from .conftest import FEEDS_DIR, ROOT, make_runtime
from .faulty_site import FaultySite

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def web(site_runtime: Runtime) -> Iterator[FlaskClient]:
    app = create_app(runtime=site_runtime)
    yield app.test_client()
    app.extensions["syndication.cache"].close()


def run(runtime: Runtime, source_id: str) -> str:
    return refresh(runtime.catalogue.sources[source_id], runtime).outcome


def status_page(web: FlaskClient) -> BeautifulSoup:
    response = web.get("/status")
    assert response.status_code == 200 and response.mimetype == "text/html"
    return BeautifulSoup(response.data, "html.parser")


def rows(soup: BeautifulSoup) -> dict[str, dict[str, str]]:
    """Each source's row, cell by column header."""
    table = soup.find("table")
    headers = [th.get_text(" ", strip=True) for th in table.thead.find_all("th")]
    found = {}
    for tr in table.tbody.find_all("tr"):
        cells = [cell.get_text(" ", strip=True) for cell in tr.find_all(["th", "td"])]
        found[cells[0]] = dict(zip(headers, cells, strict=True))
    return found


def scrape(web: FlaskClient) -> Samples:
    response = web.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(response.get_data(as_text=True))


def parse(text: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


# --- /status ------------------------------------------------------------------------------------


def test_the_status_page_shows_every_source_with_its_state_in_words(
        site_runtime: Runtime, faulty_site: FaultySite, web: FlaskClient) -> None:
    assert run(site_runtime, "region-solidaire") == "ok"
    faulty_site.fail_with("500")
    assert run(site_runtime, "plan-climat") == "failed"
    faulty_site.fail_with(None)

    soup = status_page(web)
    assert soup.html["lang"] == "fr"
    table = soup.find("table")
    assert table.caption and table.caption.get_text(strip=True)
    assert all(th.get("scope") == "col" for th in table.thead.find_all("th"))
    assert all(tr.th.get("scope") == "row" for tr in table.tbody.find_all("tr"))

    found = rows(soup)
    assert set(found) == set(site_runtime.catalogue.sources)
    for source_id, row in found.items():  # the state is written, not only coloured
        state = site_runtime.store.source_status(source_id).state
        assert STATE_LABELS[state] in row["État"], (source_id, row)

    failing = found["plan-climat"]
    assert "en échec" in failing["État"] and "depuis le" in failing["État"]
    assert "erreur HTTP" in failing["Dernière erreur"]
    assert "http-status" in failing["Dernière erreur"]
    assert "le " in failing["Dernière erreur"]  # when
    assert "HTTP 500" not in failing["Dernière erreur"]  # the kind, never the text: public
    assert failing["Échecs consécutifs"] == "1"
    assert failing["Dernière réussite"] == "jamais"
    assert failing["Éléments publiés"] == "0"

    good = found["region-solidaire"]
    assert "à jour" in good["État"] and good["Dernière erreur"].startswith("—")
    assert good["Éléments publiés"] == "4" and good["Échecs consécutifs"] == "0"
    assert good["Dernière réussite"] != "jamais"
    assert good["Durée de la dernière actualisation"].endswith(("ms", "s"))
    assert good["Prochaine actualisation"] == "inconnue"  # no scheduler ran

    # Problems first.
    order = list(found)
    assert order.index("plan-climat") < order.index("region-solidaire")
    # The index page leads here.
    index = BeautifulSoup(web.get("/").data, "html.parser")
    assert index.find("a", href="/status") is not None


def test_the_status_page_shows_a_degraded_source_and_the_next_planned_run(
        site_runtime: Runtime, faulty_site: FaultySite, web: FlaskClient) -> None:
    source = site_runtime.catalogue.sources["region-solidaire"]
    assert tick(site_runtime, source).outcome == "ok"
    faulty_site.edit("region-solidaire.html", 'class="latest-news"', 'class="a-la-une"')
    site_runtime.store.record_next_run(source.id, None)  # due now, without waiting for the tick
    assert tick(site_runtime, source).outcome == "degraded"

    row = rows(status_page(web))["region-solidaire"]
    assert "mise en page changée ?" in row["État"] and "depuis le" in row["État"]
    assert "mise en page changée" in row["Dernière erreur"] and "layout" in row["Dernière erreur"]
    assert "items expected" not in row["Dernière erreur"]
    assert row["Éléments publiés"] == "4"
    planned = site_runtime.store.source_status("region-solidaire").next_run
    assert planned is not None
    assert french_datetime(planned) in row["Prochaine actualisation"]
    assert "en retard" not in row["Prochaine actualisation"]


# --- /metrics -----------------------------------------------------------------------------------


def test_metrics_count_refreshes_items_and_durations(site_runtime: Runtime,
                                                     web: FlaskClient) -> None:
    before = scrape(web)
    assert value(before, "syndication_refresh_duration_seconds_count",
                 source="region-solidaire") is None
    assert run(site_runtime, "region-solidaire") == "ok"
    assert run(site_runtime, "region-solidaire") == "not_modified"

    samples = scrape(web)
    assert value(samples, "syndication_refresh_duration_seconds_count",
                 source="region-solidaire") == 2
    assert value(samples, "syndication_refresh_duration_seconds_bucket",
                 source="region-solidaire", le="+Inf") == 2
    buckets = sorted((float(dict(labels)["le"]), count) for (name, labels), count
                     in samples.items() if name == "syndication_refresh_duration_seconds_bucket"
                     and ("source", "region-solidaire") in labels)
    assert len(buckets) > 5 and [c for _, c in buckets] == sorted(c for _, c in buckets)
    assert value(samples, "syndication_refresh_duration_seconds_sum",
                 source="region-solidaire") >= 0
    assert value(samples, "syndication_items_ingested_total", source="region-solidaire",
                 change="new") == 4
    assert value(samples, "syndication_items_ingested_total", source="region-solidaire",
                 change="updated") is None
    assert value(samples, "syndication_refreshes_total", source="region-solidaire",
                 outcome="ok") == 1
    assert value(samples, "syndication_refreshes_total", source="region-solidaire",
                 outcome="not_modified") == 1
    assert value(samples, "syndication_source_items", source="region-solidaire") == 4
    assert value(samples, "syndication_source_state", source="region-solidaire",
                 state="not_modified") == 1
    assert value(samples, "syndication_source_state", source="region-solidaire",
                 state="failing") == 0
    assert value(samples, "syndication_source_state", source="plan-climat", state="never") == 1
    assert value(samples, "syndication_source_last_success_timestamp_seconds",
                 source="region-solidaire") > 0
    assert value(samples, "syndication_store_up") == 1


def test_metrics_count_errors_by_source_and_kind(site_runtime: Runtime,
                                                 faulty_site: FaultySite,
                                                 web: FlaskClient) -> None:
    assert run(site_runtime, "region-solidaire") == "ok"
    faulty_site.fail_with("500")
    faulty_site.edit("region-solidaire.html", "Partager la page", "Partager")  # no 304
    assert run(site_runtime, "region-solidaire") == "failed"
    assert run(site_runtime, "plan-climat") == "failed"
    faulty_site.fail_with("empty")
    assert run(site_runtime, "region-solidaire") == "degraded"

    samples = scrape(web)
    assert value(samples, "syndication_refresh_errors_total", source="region-solidaire",
                 kind="http-status") == 1
    assert value(samples, "syndication_refresh_errors_total", source="region-solidaire",
                 kind="layout") == 1
    assert value(samples, "syndication_refresh_errors_total", source="plan-climat",
                 kind="http-status") == 1
    assert value(samples, "syndication_refresh_errors_total", source="actualites",
                 kind="http-status") is None
    assert value(samples, "syndication_refreshes_total", source="region-solidaire",
                 outcome="degraded") == 1
    assert value(samples, "syndication_source_state", source="region-solidaire",
                 state="degraded") == 1
    assert value(samples, "syndication_source_consecutive_failures",
                 source="region-solidaire") == 2
    assert value(samples, "syndication_source_items", source="region-solidaire") == 4


def test_metrics_count_http_requests_by_endpoint_and_status(web: FlaskClient) -> None:
    for _ in range(3):
        assert web.get("/healthz").status_code == 200
    assert web.get("/feeds/nope.rss").status_code == 404
    assert web.get("/no/such/page").status_code == 404

    samples = scrape(web)
    requests = "syndication_http_requests_total"
    assert value(samples, requests, endpoint="health.healthz", method="GET", status="200") == 3
    assert value(samples, requests, endpoint="feeds.feed_document", method="GET",
                 status="404") == 1
    assert value(samples, requests, endpoint="unmatched", method="GET", status="404") == 1
    latency = "syndication_http_request_duration_seconds"
    assert value(samples, latency + "_count", endpoint="health.healthz") == 3
    assert value(samples, latency + "_bucket", endpoint="health.healthz", le="+Inf") == 3
    # The scrape itself is counted once it is answered.
    again = scrape(web)
    assert value(again, requests, endpoint="metrics.metrics", method="GET", status="200") == 1


def test_metrics_still_answer_when_redis_does_not(catalogue, prefix: str) -> None:  # noqa: ANN001
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = Redis(host="127.0.0.1", port=closed_port, socket_connect_timeout=0.5)
    service = make_runtime(unreachable, prefix, catalogue)
    app = create_app(runtime=service)
    try:
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        samples = scrape(client)
        assert value(samples, "syndication_store_up") == 0
        assert value(samples, "syndication_http_requests_total", endpoint="health.healthz",
                     method="GET", status="200") == 1
    finally:
        app.extensions["syndication.cache"].close()
        service.fetcher.close()


_WORKER = """
import sys
from syndication.app import create_app

app = create_app()
client = app.test_client()
for _ in range(int(sys.argv[1])):
    assert client.get("/healthz").status_code == 200
if sys.argv[2] == "scrape":
    sys.stdout.write(client.get("/metrics").get_data(as_text=True))
app.extensions["syndication.cache"].close()
"""


def test_in_multiprocess_mode_a_scrape_sums_every_worker(
        tmp_path: Path, redis_client: Redis, prefix: str, sample_site: str) -> None:
    """As under gunicorn: each process counts its own requests, any one of them answers the
    scrape with the sum (prometheus-client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR)."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    environ = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(shared),
                   SYNDICATION_REDIS_PREFIX=prefix, SAMPLE_SITE_URL=sample_site,
                   SYNDICATION_FEEDS_DIR=str(FEEDS_DIR),
                   SYNDICATION_REDIS_URL=os.environ.get("SYNDICATION_TEST_REDIS_URL") or
                   "unix://" + redis_client.connection_pool.connection_kwargs["path"])

    def worker(requests: int, then: str) -> str:
        done = subprocess.run([sys.executable, "-c", _WORKER, str(requests), then], env=environ,
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    worker(2, "exit")
    samples = parse(worker(3, "scrape"))
    assert value(samples, "syndication_http_requests_total", endpoint="health.healthz",
                 method="GET", status="200") == 5
    assert value(samples, "syndication_store_up") == 1
