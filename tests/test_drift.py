"""Drift: a page layout that changes under the scraper (the editable copy of the sample site,
refreshed into a real Redis) degrades its source instead of publishing the damage, and the source
recovers by itself; plus the decision itself, a pure function, and the back-off it gets."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from redis import Redis

from syndication.app import create_app
from syndication.drift import layout_drift
from syndication.refresh import RefreshResult, refresh
from syndication.runtime import Runtime
from syndication.schedule import tick
from syndication.state import ExtractionCounts

from .conftest import OPERATOR_AUTH
from .faulty_site import FaultySite

LISTING_PAGES = ["toutes-les-actualites/index.html", "toutes-les-actualites/page-2.html",
                 "toutes-les-actualites/page-3.html"]


@pytest.fixture
def web(site_runtime: Runtime) -> Iterator[FlaskClient]:
    app = create_app(runtime=site_runtime)
    yield app.test_client()
    app.extensions["syndication.cache"].close()


def run(runtime: Runtime, source_id: str, now: datetime | None = None) -> RefreshResult:
    return refresh(runtime.catalogue.sources[source_id], runtime, now)


def titles(runtime: Runtime, feed_id: str) -> list[str]:
    return [item.title for item in runtime.store.feed_items(feed_id, limit=500)]


def api_status(web: FlaskClient, source_id: str) -> dict[str, Any]:
    """The source's status as the operator reads it: the error's text too."""
    response = web.get(f"/api/sources/{source_id}", headers=OPERATOR_AUTH)
    assert response.status_code == 200
    return response.get_json()["status"]


def status_row(web: FlaskClient, source_id: str) -> str:
    response = web.get("/status")
    assert response.status_code == 200
    soup = BeautifulSoup(response.data, "html.parser")
    header = soup.find("th", scope="row", string=source_id)
    assert header is not None, source_id
    return header.find_parent("tr").get_text(" ", strip=True)


def edit(site: FaultySite, relative: str, old: str, new: str) -> None:
    """site.edit, with a Last-Modified second of its own even for a second edit of the page
    within a second (If-Modified-Since would get a 304 for the first one's)."""
    path = site.root / relative
    before = int(path.stat().st_mtime)
    site.edit(relative, old, new)
    if int(path.stat().st_mtime) <= before:
        os.utime(path, (before + 1, before + 1))


def rename_card_links(site: FaultySite, old: str, new: str) -> None:
    for page in LISTING_PAGES:
        edit(site, page, f'class="{old}"', f'class="{new}"')


# --- the listing's markup changes ---------------------------------------------------------------


def test_changed_listing_markup_degrades_the_source_which_keeps_its_items_and_recovers(
        site_runtime: Runtime, faulty_site: FaultySite, web: FlaskClient) -> None:
    assert run(site_runtime, "actualites").outcome == "ok"
    good = titles(site_runtime, "actualites")
    assert len(good) >= 20
    version = site_runtime.store.feed_state("actualites").version

    rename_card_links(faulty_site, "news-card__link", "card-link")  # a redesign
    broke_at = datetime.now(UTC)
    result = run(site_runtime, "actualites", broke_at)
    assert result.outcome == "degraded" and result.error_kind == "layout"
    assert f"{len(good)} items expected, none found" in (result.error or "")
    assert (result.new, result.updated) == (0, 0)

    # Subscribers keep every item; nothing was published.
    assert titles(site_runtime, "actualites") == good
    assert site_runtime.store.feed_state("actualites").version == version
    assert web.get("/feeds/actualites.json").get_json()["items"]

    status = api_status(web, "actualites")
    assert status["state"] == "degraded" and status["last_error_kind"] == "layout"
    assert "the page layout may have changed" in status["last_error"]
    assert f"{faulty_site.url}/toutes-les-actualites" in status["last_error"]
    assert datetime.fromisoformat(status["failing_since"]) == broke_at
    assert status["consecutive_failures"] == 1
    assert datetime.fromisoformat(status["last_success"]) < broke_at
    row = status_row(web, "actualites")  # public: the kind of the error, not its text
    assert "mise en page changée" in row and "items expected" not in row

    # Still broken: still degraded, since the first time.
    assert run(site_runtime, "actualites", broke_at + timedelta(minutes=15)).outcome == \
        "degraded"
    assert api_status(web, "actualites")["consecutive_failures"] == 2

    rename_card_links(faulty_site, "card-link", "news-card__link")  # restored
    recovered = run(site_runtime, "actualites")
    assert recovered.outcome in ("ok", "not_modified") and recovered.error is None
    status = api_status(web, "actualites")
    assert status["state"] in ("ok", "not_modified")
    assert status["consecutive_failures"] == 0 and status["failing_since"] is None
    assert titles(site_runtime, "actualites") == good
    assert "à jour" in status_row(web, "actualites") or "inchangée" in status_row(web,
                                                                                  "actualites")


def test_a_listing_that_loses_a_page_of_cards_is_a_normal_change(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    assert run(site_runtime, "actualites").outcome == "ok"
    before = site_runtime.store.item_count("actualites")
    # Page 2 no longer links to page 3: six cards fewer, well above half of the last count.
    edit(faulty_site, "toutes-les-actualites/page-2.html", 'rel="next"', 'rel="nofollow"')
    result = run(site_runtime, "actualites")
    assert result.outcome in ("ok", "not_modified"), result
    assert site_runtime.store.source_status("actualites").state in ("ok", "not_modified")
    assert site_runtime.store.item_count("actualites") == before  # nothing was removed


# --- a dossier ----------------------------------------------------------------------------------


def test_a_dossier_whose_news_links_vanish_is_degraded_then_recovers(
        site_runtime: Runtime, faulty_site: FaultySite, web: FlaskClient) -> None:
    assert run(site_runtime, "region-solidaire").outcome == "ok"
    good = titles(site_runtime, "region-solidaire")
    assert len(good) == 4

    edit(faulty_site, "region-solidaire.html", 'class="latest-news"', 'class="a-la-une"')
    result = run(site_runtime, "region-solidaire")
    assert result.outcome == "degraded"
    assert "4 items expected, 1 found" in (result.error or "")
    assert titles(site_runtime, "region-solidaire") == good
    [dossier] = [i for i in site_runtime.store.feed_items("region-solidaire", limit=10)
                 if i.kind == "dossier"]
    assert len(dossier.related) == 3  # the dossier item was not rewritten without its news
    assert "4 items expected, 1 found" in api_status(web, "region-solidaire")["last_error"]

    edit(faulty_site, "region-solidaire.html", 'class="a-la-une"', 'class="latest-news"')
    assert run(site_runtime, "region-solidaire").outcome == "ok"
    assert api_status(web, "region-solidaire")["state"] == "ok"


def test_a_small_source_is_not_flagged_for_a_normal_small_change(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    link = re.compile(r'<li><p class="type-label">Actualité</p><a class="latest-news__link" '
                      r'href="[^"]*">[^<]*</a></li>')
    page = faulty_site.root / "region-solidaire.html"
    first, second, third = link.findall(page.read_text(encoding="utf-8"))
    edit(faulty_site, "region-solidaire.html", first, "")  # the dossier and two news: 3 items
    assert run(site_runtime, "region-solidaire").outcome == "ok"
    assert site_runtime.store.item_count("region-solidaire") == 3

    edit(faulty_site, "region-solidaire.html", second + "\n" + third, "")  # 1 of 3 left
    result = run(site_runtime, "region-solidaire")
    assert result.outcome == "ok", result
    assert site_runtime.store.source_status("region-solidaire").state == "ok"


def test_a_source_refreshed_before_drift_detection_existed_gets_its_baseline_from_a_304(
        site_runtime: Runtime, faulty_site: FaultySite, redis_client: Redis, prefix: str) -> None:
    assert run(site_runtime, "region-solidaire").outcome == "ok"
    redis_client.delete(f"{prefix}:source:region-solidaire:baseline")  # data of an older version
    assert run(site_runtime, "region-solidaire").outcome == "not_modified"
    assert site_runtime.store.source_baseline("region-solidaire") == ExtractionCounts(4, 4, 3)
    edit(faulty_site, "region-solidaire.html", 'class="latest-news"', 'class="a-la-une"')
    assert run(site_runtime, "region-solidaire").outcome == "degraded"


# --- required fields ----------------------------------------------------------------------------


def _strip_titles(text: str) -> str:
    """Every place a title can come from: the configured h1, <title>, OpenGraph, JSON-LD."""
    text = re.sub(r"<h1[^>]*>.*?</h1>", "", text, flags=re.S)
    text = re.sub(r"<title>.*?</title>", "", text, flags=re.S)
    text = re.sub(r'<meta property="og:title"[^>]*>', "", text)
    return re.sub(r'"(headline|name)":\s*"[^"]*",?', "", text)


def test_titles_missing_from_most_detail_pages_degrade_the_source(
        site_runtime: Runtime, faulty_site: FaultySite, web: FlaskClient) -> None:
    assert run(site_runtime, "actualites").outcome == "ok"
    good = titles(site_runtime, "actualites")
    stripped = 0
    for path in sorted((faulty_site.root / "actualites").glob("*.html")):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # the windows-1252 page keeps its title
            continue
        edit(faulty_site, f"actualites/{path.name}", text, _strip_titles(text))
        stripped += 1
    assert stripped >= len(good) - 1

    result = run(site_runtime, "actualites")
    assert result.outcome == "degraded", result
    assert re.search(rf"title missing on {stripped} of {len(good)} pages \(before: 0 of "
                     rf"{len(good)}\)", result.error or ""), result.error
    assert titles(site_runtime, "actualites") == good
    assert "title missing on" in api_status(web, "actualites")["last_error"]
    row = status_row(web, "actualites")
    assert "mise en page changée" in row and "title missing on" not in row


# --- a redesign that empties every page; a source that never worked ----------------------------


def test_a_redesign_that_empties_every_page_degrades_a_source_that_had_items(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    assert run(site_runtime, "region-solidaire").outcome == "ok"
    faulty_site.fail_with("empty")
    edit(faulty_site, "region-solidaire.html", "Partager la page", "Partager")  # no 304
    result = run(site_runtime, "region-solidaire")
    assert result.outcome == "degraded"
    assert "4 items expected, none found" in (result.error or "")
    assert len(titles(site_runtime, "region-solidaire")) == 4


def test_a_source_that_never_gave_items_and_gives_none_is_failing(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    faulty_site.fail_with("empty")
    result = run(site_runtime, "plan-climat")
    assert (result.outcome, result.error_kind) == ("failed", "extraction")
    status = site_runtime.store.source_status("plan-climat")
    assert status.state == "failing" and status.last_error_kind == "extraction"


# --- back-off -----------------------------------------------------------------------------------


def test_a_degraded_source_backs_off_like_a_failing_one_and_its_next_run_is_recorded(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    source = site_runtime.catalogue.sources["region-solidaire"]
    before = datetime.now(UTC)
    assert tick(site_runtime, source).outcome == "ok"
    planned = site_runtime.store.source_status(source.id).next_run
    assert planned is not None
    assert before + timedelta(seconds=source.every_seconds) <= planned

    edit(faulty_site, "region-solidaire.html", 'class="latest-news"', 'class="a-la-une"')
    site_runtime.store.record_next_run(source.id, None)  # due now
    before = datetime.now(UTC)
    assert tick(site_runtime, source).outcome == "degraded"
    status = site_runtime.store.source_status(source.id)
    assert status.consecutive_failures == 1
    # Backed off: the interval with its ±10 % jitter, not the first-run spread of seconds.
    assert status.next_run >= before + timedelta(seconds=source.every_seconds * 0.9)
    assert tick(site_runtime, source).outcome == "skipped"


# --- the decision -------------------------------------------------------------------------------


def counts(pages: int, items: int | None = None, dated: int | None = None) -> ExtractionCounts:
    items = pages if items is None else items
    return ExtractionCounts(pages, items, items if dated is None else dated)


@pytest.mark.parametrize("last, now, expected", [
    (None, counts(0), None),  # nothing to compare with
    (counts(25), counts(25), None),
    (counts(25), counts(13), None),  # just above half
    (counts(25), counts(12), "25 items expected, 12 found"),
    (counts(25), counts(0), "25 items expected, none found"),
    (counts(1), counts(0), "1 item expected, none found"),  # small, but none at all
    (counts(3), counts(1), None),  # small sources vary
    (counts(4), counts(1), "4 items expected, 1 found"),
    (counts(25), counts(25, 3), "title missing on 22 of 25 pages (before: 0 of 25)"),
    (counts(25, 20), counts(25, 20), None),  # as many untitled pages as before
    (counts(25), counts(24, 24, 2), "date missing on 22 of 24 items (before: 0 of 25)"),
    (counts(25, 25, 10), counts(25, 25, 10), None),  # a source whose pages seldom have dates
    (counts(4, 4, 3), counts(4, 4, 2), None),  # half still dated
])
def test_layout_drift(last: ExtractionCounts | None, now: ExtractionCounts,
                      expected: str | None) -> None:
    reason = layout_drift(last, now)
    if expected is None:
        assert reason is None
    else:
        assert reason == f"{expected}: the page layout may have changed"


def test_the_ratio_is_configurable() -> None:
    assert layout_drift(counts(25), counts(10)) is not None
    assert layout_drift(counts(25), counts(10), min_ratio=0.25) is None
    assert layout_drift(counts(25), counts(5), min_ratio=0.25) is not None
