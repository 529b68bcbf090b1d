"""The agenda widget on a town's page in headless Chromium, through its three outputs: date
blocks and badges shown, no serious or critical axe-core finding, and its "Ajouter à mon agenda"
link serving a valid single-event .ics."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import icalendar
import pytest
from redis import Redis

from syndication.app import create_app
from syndication.model import Catalogue

from .browser_harness import (
    HostSite,
    axe_violations,
    describe_violations,
    fragment_url,
    frame_snippet,
    host_page,
    include,
    script_snippet,
    serving,
)
from .conftest import make_catalogue, make_runtime
from .test_events_outputs import ADMIN, batch, push
from .test_widgets_browser import Visit, axe, host, scope, visit  # noqa: F401

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

OPTIONS = {"layout": "agenda", "count": 10}


@pytest.fixture(scope="module")
def service(redis_client: Redis, sample_site: str) -> Iterator[str]:
    catalogue: Catalogue = make_catalogue(sample_site)
    runtime = make_runtime(redis_client, "{test-events-browser}", catalogue, admin_token=ADMIN)
    app = create_app(runtime=runtime)
    client = app.test_client()
    token = client.post("/api/publishers/sample-site/tokens", json={"label": "tests"},
                        headers={"Authorization": f"Bearer {ADMIN}"}).json["token"]
    assert push(client, token, batch()).status_code == 200
    try:
        with serving(app) as url:
            yield url
    finally:
        app.extensions["syndication.cache"].close()
        runtime.fetcher.close()
        keys = list(redis_client.scan_iter(match="{test-events-browser}:*"))
        if keys:
            redis_client.delete(*keys)


def town_page(site: HostSite, service: str, output: str) -> str:
    if output == "script":
        body = script_snippet(service, "agenda", OPTIONS, link_text="Agenda de la Région")
    elif output == "frame":
        body = frame_snippet(service, "agenda", OPTIONS, title="Agenda de la Région")
    else:
        body = include(fragment_url(service, "agenda", OPTIONS),
                       f'<p><a href="{service}/feeds/agenda">Agenda</a></p>')
    return site.publish(host_page(body, title="Agenda de la commune"))


@pytest.mark.parametrize("output", ["script", "frame", "fragment"])
def test_the_agenda_widget_on_a_town_page(visit: Callable[..., Visit], host: HostSite,  # noqa: F811
                                          service: str, output: str, axe: object) -> None:  # noqa: F811
    opened = visit(town_page(host, service, output))
    page = opened.page
    where = scope(page, output)
    events = where.locator(".syndication-widget__event")
    expect(events.first).to_be_visible()
    assert events.count() == 4
    blocks = where.locator(".syndication-widget__dateblock")
    expect(blocks.first).to_be_visible()
    assert re.fullmatch(r"(1er|\d{1,2}) [A-ZÉÛ]+\.?", " ".join(blocks.first.inner_text().split()))
    badge = where.locator(".syndication-widget__event--cancelled .syndication-widget__badge")
    expect(badge).to_have_text("Annulé")
    expect(badge).to_be_visible()
    link = where.locator("a.syndication-widget__ics").first
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    assert href is not None
    answer = httpx.get(href, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/calendar")
    assert len(icalendar.Calendar.from_ical(answer.content).walk("VEVENT")) == 1
    if output == "frame":  # the frame page on its own: a whole document of the service's
        page = visit(f"{service}/embed/agenda/frame?layout=agenda&count=10").page
    violations = axe_violations(page)
    assert violations == [], describe_violations(violations)
    assert opened.errors == []
