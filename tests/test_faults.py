"""The fault matrix: each way a source's site can misbehave, met by a full refresh of a source
that had refreshed well before, on the breakable copy of the sample site (tests/faulty_site.py)
into a real Redis.

For each fault: the refresh's outcome and error kind; the error in the source's status, in the
store and at /api/sources/<id>; every item of the earlier good refresh still there; memory
bounded (tracemalloc peak); time bounded by the fetcher's own limits (a refresh that hung would
fail the test at HANG_GUARD, not time it); and another source, on another host of the same
runtime, refreshing fine right after. Faults that a good service copes with (wrong or missing
charsets, a sitemap of 100 000 URLs) have the outcome ok (or not_modified) and the right text.
"""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from redis import Redis

from demo.sample_site import SITE_DIR, site_url, start_sample_site
from syndication.app import create_app
from syndication.model import Source
from syndication.refresh import RefreshResult, refresh
from syndication.runtime import Runtime

from .browser_harness import dump_dom, serving
from .conftest import OPERATOR_AUTH, OPERATOR_TOKEN, make_catalogue, make_runtime
from .faulty_site import BILLION_LAUGHS, FaultySite

FEED = "partenaires/restos-solidaires/feed.xml"
FEED_TEXT = (SITE_DIR / FEED).read_text(encoding="utf-8")
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
NEWS_PAGE = "actualites/ordre-de-malte-partenariat-solidarite.html"  # linked from the dossier

FETCH_TIMEOUT = 2.0  # seconds per request in all (connect to last byte): the faults' time bound
PEAK_BYTES = 10_000_000  # Python memory one refresh may hold at once, whatever the site sends
HANG_GUARD = 120.0  # a refresh still running then has hung: the test fails instead of hanging
OTHER_SOURCE = "plan-climat"  # refreshed on another host after each fault


@dataclass(frozen=True)
class Fault:
    """One row of the matrix: what the site does, which source meets it, what must come out."""

    fault: str | None  # the FaultySite fault while the source refreshes (None: healthy)
    source: str
    outcome: str  # of the refresh: failed, degraded, ok or not_modified
    kind: str | None  # the error's kind (errors.py, "layout"); None: no error
    says: str = ""  # in the error (or, with no error, in a warning)
    setup: Callable[[FaultySite], None] = lambda site: None  # after the good refresh
    changes: dict[str, Any] = field(default_factory=dict)  # to the source, for both refreshes


def _write(relative: str, body: str | bytes) -> Callable[[FaultySite], None]:
    return lambda site: site.write(relative, body)


def _edit(relative: str, old: str, new: str) -> Callable[[FaultySite], None]:
    return lambda site: site.edit(relative, old, new)


def _slower_than(seconds: float) -> Callable[[FaultySite], None]:
    def setup(site: FaultySite) -> None:
        site.server.slow_seconds = 2 * seconds

    return setup


def _served_as(relative: str, body: bytes, content_type: str) -> Callable[[FaultySite], None]:
    """The document's bytes replaced, and its suffix served with this Content-Type."""

    def setup(site: FaultySite) -> None:
        site.write(relative, body)
        site.server.content_types = {Path(relative).suffix: content_type}

    return setup


FAILURES = [
    pytest.param(Fault("slow", "region-solidaire", "failed", "timeout",
                       setup=_slower_than(FETCH_TIMEOUT)), id="slow"),
    pytest.param(Fault("stall", "region-solidaire", "failed", "timeout"), id="never-finishes"),
    pytest.param(Fault("trickle", "region-solidaire", "failed", "timeout",
                       "no complete answer within 2 s"), id="trickles-forever"),
    pytest.param(Fault("429", "region-solidaire", "failed", "rate-limited", "HTTP 429"),
                 id="429-retry-after"),
    pytest.param(Fault("500", "region-solidaire", "failed", "http-status", "HTTP 500"), id="500"),
    pytest.param(Fault("truncated", "region-solidaire", "failed", "unreachable",
                       "without sending complete message body"), id="truncated"),
    pytest.param(Fault("50mb", "region-solidaire", "failed", "too-large",
                       "body of 52428800 bytes exceeds"), id="50mb-declared"),
    pytest.param(Fault("50mb-undeclared", "region-solidaire", "failed", "too-large",
                       "body exceeds 5000000 bytes"), id="50mb-streamed"),
    pytest.param(Fault("gzip-bomb", "region-solidaire", "failed", "too-large",
                       "body exceeds 5000000 bytes"), id="gzip-bomb"),
    pytest.param(Fault("redirect-loop", "region-solidaire", "failed", "unreachable",
                       "too many redirects"), id="redirect-loop"),
    pytest.param(Fault("redirect-private", "region-solidaire", "failed", "refused-address",
                       "redirect to http://10.0.0.1/"), id="redirect-to-private-address"),
    pytest.param(Fault(None, "partenaires", "failed", "malformed-feed",
                       "XML entity declarations are refused", _write(FEED, BILLION_LAUGHS)),
                 id="entity-expansion-feed"),
    pytest.param(Fault(None, "partenaires", "failed", "malformed-feed", "not a readable feed",
                       _write(FEED, "<html><body>Maintenance en cours")), id="malformed-feed"),
    pytest.param(Fault(None, "region-solidaire", "degraded", "layout",
                       "4 items expected, 1 found",
                       _edit("region-solidaire.html", 'class="latest-news"',
                             'class="a-la-une"')), id="listing-markup-changed"),
]

COPED_WITH = [
    pytest.param(Fault("charset", "partenaires", "ok", None, setup=_served_as(
        FEED, (XML_DECLARATION + FEED_TEXT.removeprefix(XML_DECLARATION)).encode("cp1252"),
        "application/rss+xml; charset=utf-8")), id="feed-declared-utf8-sent-as-windows-1252"),
    pytest.param(Fault("charset", "partenaires", "ok", None, setup=_served_as(
        FEED, FEED_TEXT.removeprefix(XML_DECLARATION).lstrip().encode("utf-8"), "text/xml")),
        id="feed-with-no-declaration"),
    pytest.param(Fault("charset", "partenaires", "ok", None, setup=_served_as(
        FEED, FEED_TEXT.encode("utf-8"), "application/rss+xml; charset=windows-1252")),
        id="feed-charset-contradicts-xml-declaration"),
    pytest.param(Fault("charset", "region-solidaire", "ok", None, setup=_served_as(
        NEWS_PAGE, (SITE_DIR / NEWS_PAGE).read_text(encoding="utf-8").encode("cp1252"),
        "text/html; charset=utf-8")), id="page-declared-utf8-sent-as-windows-1252"),
    pytest.param(Fault("gzipped", "region-solidaire", "ok", None), id="gzipped-pages"),
    pytest.param(Fault("big-sitemap", "plan-du-site", "not_modified", None,
                       "more than 10000 URLs, the rest was not read",
                       changes={"max_urls": 10_000}), id="sitemap-of-100000-urls"),
]


# --- the matrix ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def other_host() -> Iterator[str]:
    """The sample site, healthy, on another loopback address: another host for the fetcher."""
    server = start_sample_site(host="127.0.0.3")
    yield site_url(server)
    server.shutdown()
    server.server_close()


@pytest.fixture
def site_runtime(redis_client: Redis, prefix: str, faulty_site: FaultySite) -> Iterator[Runtime]:
    service = make_runtime(redis_client, prefix, make_catalogue(faulty_site.url),
                           fetch_timeout=FETCH_TIMEOUT,  # the page limit stays at its 5 MB
                           admin_token=OPERATOR_TOKEN)
    yield service
    service.fetcher.close()


@pytest.fixture
def web(site_runtime: Runtime) -> Iterator[FlaskClient]:
    app = create_app(runtime=site_runtime)
    yield app.test_client()
    app.extensions["syndication.cache"].close()


@pytest.mark.parametrize("case", FAILURES + COPED_WITH)
def test_fault(case: Fault, site_runtime: Runtime, faulty_site: FaultySite, web: FlaskClient,
               other_host: str) -> None:
    source = replace(site_runtime.catalogue.sources[case.source], **case.changes)
    good = _refresh(source, site_runtime)
    assert good.outcome == "ok" and good.new > 0, good
    kept = _items(site_runtime, source.id)
    version = site_runtime.store.feed_state(source.id).version

    case.setup(faulty_site)
    faulty_site.fail_with(case.fault)
    broke_at = datetime.now(UTC)
    tracemalloc.start()
    try:
        result = _refresh(source, site_runtime, broke_at)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.outcome == case.outcome, result
    assert result.error_kind == case.kind, result
    assert peak < PEAK_BYTES, f"{peak:,} bytes at the peak"
    stored = site_runtime.store.source_status(source.id)
    shown = _api_status(web, source.id)
    if case.kind is None:
        assert result.error is None and stored.last_error is None and shown["last_error"] is None
        assert stored.state == shown["state"] == case.outcome
        assert (result.new, result.updated) == (0, 0), "the same items, the same text"
        if case.says:
            assert any(case.says in warning for warning in result.warnings), result.warnings
            assert list(stored.warnings) == shown["warnings"] == list(result.warnings)
    else:
        state = "degraded" if case.outcome == "degraded" else "failing"
        assert stored.state == shown["state"] == state
        assert stored.last_error_kind == shown["last_error_kind"] == case.kind
        assert stored.last_error == shown["last_error"] == result.error
        assert case.says in (result.error or "") and faulty_site.url in (result.error or "")
        assert stored.failing_since == broke_at and stored.consecutive_failures == 1
        assert stored.last_success is not None and stored.last_success < broke_at
        assert site_runtime.store.feed_state(source.id).version == version  # nothing published
    if case.kind == "rate-limited":
        assert result.retry_after == 120
    assert _items(site_runtime, source.id) == kept  # every earlier item, word for word

    other = replace(site_runtime.catalogue.sources[OTHER_SOURCE],
                    url=f"{other_host}/dossiers/plan-climat")
    healthy = _refresh(other, site_runtime)
    assert (healthy.outcome, healthy.error) == ("ok", None) and healthy.new > 0, healthy
    assert _api_status(web, OTHER_SOURCE)["state"] == "ok"


def test_the_feed_charset_cases_keep_their_french_accents(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    """The matrix checks that nothing changed against a good refresh; this checks the text
    itself when the first refresh already meets the wrong declaration."""
    body = (XML_DECLARATION + FEED_TEXT.removeprefix(XML_DECLARATION)).encode("cp1252")
    _served_as(FEED, body, "application/rss+xml; charset=utf-8")(faulty_site)
    faulty_site.fail_with("charset")
    assert _refresh(site_runtime.catalogue.sources["partenaires"], site_runtime).outcome == "ok"
    items = {item.title: item for item in site_runtime.store.source_items("partenaires",
                                                                           limit=50)}
    winter = items["Collecte d’hiver : 12 tonnes de denrées réunies en Seine-Saint-Denis"]
    assert winter.summary is not None and "Les bénévoles des Restos solidaires" in winter.summary
    assert not any("Ã" in title or "\ufffd" in title for title in items)


# --- /status in a real browser -------------------------------------------------------------


def test_chromium_shows_the_failing_source_first_on_the_status_page(
        site_runtime: Runtime, faulty_site: FaultySite, tmp_path: Path) -> None:
    assert _refresh(site_runtime.catalogue.sources["plan-climat"], site_runtime).outcome == "ok"
    faulty_site.fail_with("500")
    failed = _refresh(site_runtime.catalogue.sources["region-solidaire"], site_runtime)
    assert failed.outcome == "failed"
    app = create_app(runtime=site_runtime)
    try:
        with serving(app) as url:
            page = dump_dom(f"{url}/status", tmp_path / "profile")
    finally:
        app.extensions["syndication.cache"].close()
    rows = page.select("tbody tr")
    assert rows and rows[0]["id"] == "source-region-solidaire"  # problems first
    assert rows[0]["data-state"] == "failing"
    text = rows[0].get_text(" ", strip=True)
    assert "en échec" in text.lower() or "échec" in text.lower(), text
    assert "erreur HTTP" in text and "http-status" in text
    assert "HTTP 500" not in text and faulty_site.url not in text  # the kind, not the text
    assert page.find("tr", id="source-plan-climat")["data-state"] == "ok"


# --- helpers -------------------------------------------------------------------------------


def _refresh(source: Source, runtime: Runtime, now: datetime | None = None) -> RefreshResult:
    """refresh(), in a thread of its own so that a hang fails this test instead of the run."""
    results: list[RefreshResult] = []
    worker = threading.Thread(target=lambda: results.append(refresh(source, runtime, now)),
                              daemon=True)
    worker.start()
    worker.join(HANG_GUARD)
    assert not worker.is_alive(), f"the refresh of {source.id} hung"
    return results[0]


def _items(runtime: Runtime, source_id: str) -> list[dict[str, Any]]:
    return [item.to_dict() for item in runtime.store.source_items(source_id, limit=500)]


def _api_status(web: FlaskClient, source_id: str) -> dict[str, Any]:
    """The source's status as the operator reads it; the public one is the same without the
    text of the error and of the warnings."""
    response = web.get(f"/api/sources/{source_id}", headers=OPERATOR_AUTH)
    assert response.status_code == 200
    status = response.get_json()["status"]
    public = web.get(f"/api/sources/{source_id}").get_json()["status"]
    assert public == {name: value for name, value in status.items()
                      if name not in ("last_error", "warnings")}
    assert status["warning_count"] == len(status["warnings"])
    return status
