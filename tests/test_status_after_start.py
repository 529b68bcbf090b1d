"""After a start, the status tells the truth: every source not backing off is checked within
moments (whatever plan a scheduler killed without a clean stop left in Redis), and until it is,
/status says "pas encore vérifié depuis le démarrage" instead of "à jour". Errors read as French
sentences keyed on their kind."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient

from syndication.app import create_app
from syndication.model import SourceType
from syndication.refresh import refresh
from syndication.runtime import Runtime
from syndication.schedule import run_scheduler
from syndication.schedule.scheduler import starting
from syndication.state import SourceState, SourceStatus
from syndication.web.labels import (
    STATE_LABELS,
    UNCHECKED,
    checked_since_start,
    error_sentence,
    shown_state,
)

from .faulty_site import FaultySite
from .waiting import wait_until

START = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
BEFORE, AFTER = START - timedelta(minutes=20), START + timedelta(seconds=2)


@pytest.fixture
def web(site_runtime: Runtime) -> Iterator[FlaskClient]:
    app = create_app(runtime=site_runtime)
    yield app.test_client()
    app.extensions["syndication.cache"].close()


def status_rows(web: FlaskClient) -> dict[str, BeautifulSoup]:
    soup = BeautifulSoup(web.get("/status").data, "html.parser")
    return {tr["id"].removeprefix("source-"): tr for tr in soup.find("table").tbody("tr")}


def sample_sources(runtime: Runtime, site: str) -> list[str]:
    return [s.id for s in runtime.catalogue.sources.values()
            if s.url.startswith(site) and s.type != SourceType.PUSH]


# --- the decisions, on times given ------------------------------------------------------------


def test_a_healthy_source_not_checked_since_the_start_is_not_called_up_to_date() -> None:
    ok = SourceStatus(state=SourceState.OK, last_attempt=BEFORE, last_success=BEFORE)
    assert shown_state(ok, START) == UNCHECKED
    assert STATE_LABELS[UNCHECKED] == "pas encore vérifié depuis le démarrage"
    assert checked_since_start(ok, START) is False
    unchanged = replace(ok, state=SourceState.NOT_MODIFIED)
    assert shown_state(unchanged, START) == UNCHECKED
    # Checked since: its state as it is.
    assert shown_state(replace(ok, last_attempt=AFTER), START) == "ok"
    assert checked_since_start(replace(ok, last_attempt=AFTER), START) is True
    # No scheduler ever started: nothing to compare with.
    assert shown_state(ok, None) == "ok" and checked_since_start(ok, None) is None
    # A pushed source is never checked: its publisher sends its items.
    assert shown_state(ok, START, pushed=True) == "ok"
    # A failing source (backing off) says it is failing: that is no claim of health.
    failing = replace(ok, state=SourceState.FAILING, consecutive_failures=2)
    assert shown_state(failing, START) == "failing"
    assert shown_state(SourceStatus(), START) == "never"


def test_a_process_that_leads_soon_after_its_start_is_starting() -> None:
    # It waited for the lease of the process it replaces, at most one lease period.
    assert starting(False, age=0.2, lease_seconds=15)
    assert starting(False, age=16, lease_seconds=15)
    # A standby that leads much later takes over the plan of a leader that died.
    assert not starting(False, age=600, lease_seconds=15)
    # A process leading again (after losing the lease) is not starting.
    assert not starting(True, age=1, lease_seconds=15)


def test_errors_are_french_sentences_keyed_on_their_kind() -> None:
    assert "nom de domaine" in error_sentence("dns")
    assert "refuse les connexions" in error_sentence("connection-refused")
    assert "trop de temps" in error_sentence("timeout")
    assert "HTTPS" in error_sentence("tls")
    assert "robots.txt" in error_sentence("robots")
    assert "trop volumineuse" in error_sentence("too-large")
    assert "aucun contenu" in error_sentence("extraction")
    assert error_sentence("http-status", 404) == (
        "La page n’existe plus à cette adresse (erreur 404).")
    assert "en panne" in error_sentence("http-status", 503)
    assert "refuse l’accès" in error_sentence("http-status", 403)
    for kind in ("dns", "connection-refused", "timeout", "http-status", "layout", "internal"):
        sentence = error_sentence(kind, 500)
        assert sentence.endswith(".") and sentence[0].isupper(), kind
    assert "cannot" not in error_sentence("unknown-kind")


# --- with Redis and the site ---------------------------------------------------------------


def test_status_and_api_say_a_source_was_not_checked_since_the_start(
        site_runtime: Runtime, web: FlaskClient) -> None:
    assert refresh(site_runtime.catalogue.sources["region-solidaire"], site_runtime).outcome == "ok"
    assert "à jour" in status_rows(web)["region-solidaire"].get_text(" ", strip=True)
    api = web.get("/api/sources").get_json()
    assert api["scheduler_started"] is None
    # A scheduler starts after that check.
    site_runtime.registry.record_scheduler_start(datetime.now(UTC) + timedelta(seconds=1))
    row = status_rows(web)["region-solidaire"]
    assert "pas encore vérifié depuis le démarrage" in row.get_text(" ", strip=True)
    assert "à jour" not in row.get_text(" ", strip=True)
    assert row["data-shown-state"] == UNCHECKED
    sources = {s["id"]: s for s in web.get("/api/sources").get_json()["sources"]}
    assert sources["region-solidaire"]["status"]["checked_since_start"] is False
    assert sources["agenda"]["status"]["checked_since_start"] is None  # pushed, never checked
    assert web.get("/api/sources").get_json()["scheduler_started"] is not None
    index = BeautifulSoup(web.get("/").data, "html.parser").get_text(" ", strip=True)
    assert "pas encore vérifié depuis le démarrage" in index


def test_after_a_start_every_source_not_backing_off_is_checked_at_once(
        site_runtime: Runtime, faulty_site: FaultySite, web: FlaskClient) -> None:
    """The demo restarted without its sample site, after a run that ended without a clean stop:
    the plan it left in Redis says "next run in an hour", yet every source is checked now."""
    store, sources = site_runtime.store, sample_sources(site_runtime, faulty_site.url)
    for source_id in ("region-solidaire", "actualites"):
        assert refresh(site_runtime.catalogue.sources[source_id], site_runtime).outcome == "ok"
    later = datetime.now(UTC) + timedelta(hours=1)
    for source_id in sources:
        store.record_next_run(source_id, later)
    # One source backing off: it stays so (a restart does not hammer a failing site).
    backing_off = SourceStatus(state=SourceState.FAILING, last_attempt=BEFORE,
                               last_error="HTTP 500 (x)", last_error_kind="http-status",
                               last_error_at=BEFORE, failing_since=BEFORE, consecutive_failures=3)
    store.record_status("plan-climat", backing_off)
    store.record_next_run("plan-climat", later)
    leadership = site_runtime.stores.leadership(site_runtime.settings.leader_lease_seconds)
    leadership.beat()  # the plan of a scheduler that died leading
    faulty_site.stop()  # DEMO_SITE=off

    stop = threading.Event()
    scheduling = threading.Thread(target=run_scheduler, args=(site_runtime, stop), daemon=True)
    scheduling.start()
    try:
        def failing() -> list[str]:
            return [s for s in sources if s != "plan-climat"
                    and store.source_status(s).state != "failing"]

        wait_until(lambda: not failing(), lambda: f"sources not failing yet: {failing()}")
    finally:
        stop.set()
        scheduling.join(timeout=30)
    assert store.source_status("plan-climat").last_attempt == BEFORE  # still backing off
    rows = status_rows(web)
    for source_id in sources:
        text = rows[source_id].get_text(" ", strip=True)
        assert "en échec" in text, (source_id, text)
        assert "à jour" not in text
    refused = rows["region-solidaire"]
    assert store.source_status("region-solidaire").last_error_kind == "connection-refused"
    assert "Le serveur du site refuse les connexions" in refused.get_text(" ", strip=True)
    # The technical detail is in a disclosure; the English text of the error nowhere.
    assert "connection-refused" in refused.find("details").get_text()
    assert "cannot reach" not in refused.get_text()
