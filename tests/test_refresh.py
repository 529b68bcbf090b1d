"""refresh(source) over real HTTP (the sample site on loopback) into a real Redis."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis

from syndication.refresh import refresh
from syndication.runtime import Runtime

from .conftest import make_catalogue, make_runtime
from .faulty_site import FaultySite

MANIFEST = json.loads(
    (__import__("pathlib").Path(__file__).parent.parent / "demo" / "site" / "MANIFEST.json")
    .read_text(encoding="utf-8"))
NEWS_PAGES = [p for p in MANIFEST["pages"] if p["kind"] == "actualite"]


@pytest.fixture
def site_runtime(redis_client: Redis, prefix: str, faulty_site: FaultySite) -> Iterator[Runtime]:
    """A runtime on the editable, breakable copy of the sample site, with a short timeout."""
    service = make_runtime(redis_client, prefix, make_catalogue(faulty_site.url),
                           fetch_timeout=1.0, max_page_bytes=1_000_000)
    yield service
    service.fetcher.close()


def run(runtime: Runtime, source_id: str, now: datetime | None = None):  # noqa: ANN201
    return refresh(runtime.catalogue.sources[source_id], runtime, now)


def titles(runtime: Runtime, feed_id: str) -> list[str]:
    return [item.title for item in runtime.store.feed_items(feed_id, limit=500)]


def test_the_dossier_source_gives_the_dossier_and_the_news_it_links_to(runtime: Runtime) -> None:
    result = run(runtime, "region-solidaire")
    assert result.outcome == "ok" and result.new == 4 and result.warnings == ()
    items = {item.title: item for item in runtime.store.feed_items("region-solidaire", limit=50)}
    dossier = items.pop("Région solidaire")
    assert dossier.kind == "dossier"
    assert [f.amount for f in dossier.figures] == [1100000000, 3200000000, 7700000000]
    assert {f.unit for f in dossier.figures} == {"EUR"}
    assert dossier.image is not None and dossier.image.credit == "Andrea Piacquadio"
    assert set(dossier.related) == {item.id for item in items.values()}
    assert len(items) == 3 and {item.kind for item in items.values()} == {"actualite"}
    assert all("Région solidaire" in item.tags for item in items.values())
    assert all("utm_" not in item.url for item in items.values())


def test_a_page_two_sources_reach_keeps_one_identity_and_one_set_of_dates(
        runtime: Runtime) -> None:
    """The news listing reads a week after the dossier (a later first sight) the news pages the
    dossier links to: each keeps the id and the dates of its first sight."""
    week = timedelta(days=7)
    first = datetime.now(UTC) - week
    assert refresh(runtime.catalogue.sources["region-solidaire"], runtime, first).outcome == "ok"
    assert run(runtime, "actualites").outcome == "ok"
    by_dossier = {item.id: item for item in runtime.store.source_items("region-solidaire",
                                                                       limit=50)}
    shared = [item for item in runtime.store.source_items("actualites", limit=50)
              if item.id in by_dossier]
    assert len(shared) == 3
    for item in shared:
        held = by_dossier[item.id]
        assert held.first_seen == first
        assert (item.published, item.updated, item.first_seen) == (
            held.published, held.updated, held.first_seen), item.title


def test_the_listing_is_followed_across_its_pages(runtime: Runtime) -> None:
    result = run(runtime, "actualites")
    assert result.outcome == "ok"
    assert sorted(titles(runtime, "actualites")) == sorted(p["title"] for p in NEWS_PAGES)
    assert len(NEWS_PAGES) >= 20
    # The one dead link is reported, not fatal.
    assert len(result.warnings) == 1 and "404" in result.warnings[0]
    assert MANIFEST["missing_path"] in result.warnings[0]
    status = runtime.store.source_status("actualites")
    assert status.state == "ok" and status.warnings == result.warnings
    solidarity = titles(runtime, "solidarite")
    assert solidarity and len(solidarity) < len(NEWS_PAGES)


def test_an_unchanged_source_costs_a_conditional_request_and_changes_nothing(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    assert run(site_runtime, "region-solidaire").outcome == "ok"
    version = site_runtime.store.feed_state("region-solidaire").version
    faulty_site.requests.clear()
    result = run(site_runtime, "region-solidaire")
    assert (result.outcome, result.unchanged) == ("not_modified", 4)
    # The dossier page and its three news pages, each asked "changed since?", nothing more.
    assert len(faulty_site.requests) == 4
    assert all("If-Modified-Since" in headers for _, headers in faulty_site.requests)
    assert site_runtime.store.feed_state("region-solidaire").version == version


@pytest.mark.parametrize("source_id", ["partenaires", "agenda-partenaires"])
def test_an_unchanged_feed_or_calendar_keeps_every_item_it_gave(
        site_runtime: Runtime, faulty_site: FaultySite, source_id: str) -> None:
    first = run(site_runtime, source_id)
    assert first.outcome == "ok" and first.new > 0
    faulty_site.requests.clear()
    again = run(site_runtime, source_id)
    assert (again.outcome, again.unchanged) == ("not_modified", first.new)
    assert len(faulty_site.requests) == 1  # the document alone, asked "changed since?"
    assert site_runtime.store.item_count(source_id) == first.new


def test_an_edited_news_page_is_seen_even_when_its_listing_is_unchanged(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    run(site_runtime, "actualites")
    faulty_site.edit("actualites/plan-velo-regional.html", "<h1", "<h1 data-edited")
    faulty_site.edit("actualites/plan-velo-regional.html", "</h1>", " (mis à jour)</h1>")
    result = run(site_runtime, "actualites")
    assert (result.outcome, result.new, result.updated) == ("ok", 0, 1)
    assert any(t.endswith("(mis à jour)") for t in titles(site_runtime, "actualites"))


def test_updated_moves_only_for_the_page_that_changed(site_runtime: Runtime,
                                                      faulty_site: FaultySite) -> None:
    first = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    run(site_runtime, "region-solidaire", first)
    before = {i.title: i for i in site_runtime.store.feed_items("region-solidaire", limit=50)}
    faulty_site.edit("actualites/plan-grand-froid-associations.html",
                     "</div>\n", "<p>Un nouveau paragraphe ajouté par la rédaction.</p></div>\n")
    faulty_site.edit("region-solidaire.html", "Partager la page", "Partager cette page")
    later = first + timedelta(days=1)
    result = run(site_runtime, "region-solidaire", later)
    assert result.outcome == "ok" and result.updated == 1, result
    after = {i.title: i for i in site_runtime.store.feed_items("region-solidaire", limit=50)}
    edited = "Plan Grand Froid : la Région aux côtés d'associations franciliennes"
    assert after[edited].updated == later
    assert after[edited].published == before[edited].published
    assert after[edited].first_seen == before[edited].first_seen == first
    assert "nouveau paragraphe" in after[edited].content_html
    # The dossier's page changed only outside its content (the share block): not an edit.
    assert after["Région solidaire"].updated == before["Région solidaire"].updated


@pytest.mark.parametrize("fault, kind", [
    ("slow", "timeout"), ("500", "http-status"), ("429", "http-status"),
    ("pdf", "content-type"), ("huge", "too-large"), ("binary", "undecodable"),
    ("redirect-loop", "unreachable"), ("gzip-bomb", "too-large"),
])  # "empty" (a redesign: pages answer, nothing we know in them) degrades: see test_drift.py
def test_a_failing_source_keeps_its_items_and_says_what_is_wrong(
        site_runtime: Runtime, faulty_site: FaultySite, fault: str, kind: str) -> None:
    assert run(site_runtime, "region-solidaire").outcome == "ok"
    good = titles(site_runtime, "region-solidaire")
    faulty_site.fail_with(fault)
    faulty_site.server.slow_seconds = 2.0
    faulty_site.server.retry_after = None  # with Retry-After, see tests/test_politeness.py
    broke_at = datetime.now(UTC)
    # A page that answers 304 would hide the fault: force a full fetch.
    faulty_site.edit("region-solidaire.html", "Partager la page", "Partager")
    result = run(site_runtime, "region-solidaire", broke_at)
    assert result.outcome == "failed"
    assert titles(site_runtime, "region-solidaire") == good
    status = site_runtime.store.source_status("region-solidaire")
    assert status.state == "failing" and status.last_error_kind == kind
    assert faulty_site.url in (status.last_error or "")
    assert status.failing_since == broke_at and status.consecutive_failures == 1
    assert status.last_success is not None and status.last_success < broke_at

    run(site_runtime, "region-solidaire", broke_at + timedelta(minutes=30))
    assert site_runtime.store.source_status("region-solidaire").failing_since == broke_at
    faulty_site.fail_with(None)
    assert run(site_runtime, "region-solidaire").outcome in ("ok", "not_modified")
    recovered = site_runtime.store.source_status("region-solidaire")
    assert recovered.state in ("ok", "not_modified") and recovered.consecutive_failures == 0
    assert recovered.failing_since is None and recovered.last_error_kind == kind


def test_an_unreachable_site_fails_only_its_own_sources(runtime: Runtime,
                                                        site_runtime: Runtime) -> None:
    # `runtime` points at the healthy sample site; the real iledefrance.fr is out of reach here.
    assert run(runtime, "region-solidaire").outcome == "ok"
    failed = run(runtime, "iledefrance-region-solidaire")
    assert failed.outcome == "failed" and failed.error
    assert runtime.store.source_status("iledefrance-region-solidaire").state == "failing"
    assert runtime.store.source_status("region-solidaire").state == "ok"


def test_a_held_lease_skips_the_refresh(runtime: Runtime) -> None:
    lease = runtime.store.lease("region-solidaire", 30)
    assert lease.acquire(blocking=False)
    try:
        assert run(runtime, "region-solidaire").outcome == "skipped"
        assert runtime.store.item_count("region-solidaire") == 0
    finally:
        lease.release()
    assert run(runtime, "region-solidaire").outcome == "ok"


def test_refreshing_twice_without_validators_writes_nothing_new(
        site_runtime: Runtime, redis_client: Redis, prefix: str) -> None:
    run(site_runtime, "region-solidaire")
    version = site_runtime.store.feed_state("region-solidaire").version
    redis_client.delete(f"{prefix}:source:region-solidaire:pages")  # forget the validators
    result = run(site_runtime, "region-solidaire")
    assert (result.outcome, result.new, result.updated, result.unchanged) == ("ok", 0, 0, 4)
    assert site_runtime.store.feed_state("region-solidaire").version == version


def test_without_redis_a_refresh_fails_cleanly(catalogue, prefix: str) -> None:  # noqa: ANN001
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = Redis(host="127.0.0.1", port=closed_port, socket_connect_timeout=0.5)
    service = make_runtime(unreachable, prefix, catalogue)
    try:
        result = run(service, "region-solidaire")
    finally:
        service.fetcher.close()
    assert result.outcome == "failed" and "Redis unavailable" in (result.error or "")


def test_a_linked_page_that_fails_once_keeps_its_item_and_the_dossier_unchanged(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    """A passing 500 on one of the dossier's linked pages: its item stays, the dossier still
    relates it, and nothing subscribers see changes (no new feed version, no rewrite)."""
    dossier = next(page for page in MANIFEST["pages"] if page["path"] == "/region-solidaire")
    failing = dossier["latest_news"][0]["path"]
    assert run(site_runtime, "region-solidaire").outcome == "ok"
    before = {item.url: item for item in site_runtime.store.feed_items("region-solidaire",
                                                                       limit=50)}
    version = site_runtime.store.feed_state("region-solidaire").version
    faulty_site.fail_with(None)
    faulty_site.fail_path(failing, 500)
    result = run(site_runtime, "region-solidaire")
    assert result.outcome == "not_modified" and result.updated == 0 and result.new == 0
    assert len(result.warnings) == 1 and "500" in result.warnings[0]
    assert failing in result.warnings[0]
    after = {item.url: item for item in site_runtime.store.feed_items("region-solidaire",
                                                                      limit=50)}
    assert after == before  # the failing page's item included, the dossier's related intact
    assert any(url.endswith(failing) for url in after)
    assert site_runtime.store.feed_state("region-solidaire").version == version
    faulty_site.fail_path(failing, None)  # healed: read again (conditionally) next time
    assert run(site_runtime, "region-solidaire").outcome == "not_modified"
    assert site_runtime.store.feed_state("region-solidaire").version == version
