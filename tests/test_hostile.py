"""The hostile suite: a site built to attack the service (tests/hostile/, README.md there lists
every case), ingested through every source type, then every output read back.

The faulty site serves the documents; private services listen on this machine's loopback
addresses (the traps) and every hostile document points at them. The service admits the site
by its port only (fetch_allowed_networks = 127.0.0.1:PORT), as an operator admits one local
site, so every other private address is refused as it would be in production.

What must hold:
- ingestion: every clean page and entry is published, each hostile part neutralised; each page
  that cannot be fetched (bombs, endless or slow bodies, redirects to private addresses) is a
  warning; unreadable feeds fail their source as malformed; hostile pushed batches are refused
  whole; no request reaches a trap, no connection goes to any private address but the site's;
- every output (feeds, API, widgets, digests, oEmbed, status and index pages, Link headers)
  carries no link of another scheme than http(s) (mailto: inside sanitised content) and none
  to a private address but the site's or the service's own;
- in Chromium, the iframe page, the digest, a host page embedding the script widget, the
  fragment and the oEmbed iframe, and the feeds opened in the browser (XSLT) run no script of
  the corpus: the canary `window.__pwned` stays undefined in every frame, no dialog opens, no
  element carries an event handler, and the browser requests no private address.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from flask import Flask
from redis import Redis

from demo.sample_site import SITE_DIR
from syndication.app import create_app
from syndication.catalogue import load_catalogue
from syndication.model import Item, Source
from syndication.refresh import RefreshResult, refresh
from syndication.runtime import Runtime, open_runtime
from syndication.settings import load_settings

from .browser_harness import HostSite, frame_snippet, host_page, include, serving
from .browser_harness import script_snippet as _script_snippet
from .conftest import OPERATOR_AUTH, OPERATOR_TOKEN, delete_prefix
from .faulty_site import FaultySite
from .hostile.checks import (
    Connections,
    Trap,
    forbidden_link,
    links_in_header,
    links_in_html,
    links_in_response,
)
from .hostile.corpus import LOGO, RSS_DOUBLE_ESCAPED_TEXT, Corpus, Targets, corpus
from .hostile.payloads import CANARY, DOUBLE_ESCAPED_TEXT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CATALOGUE = Path(__file__).parent / "hostile" / "catalogue"
FETCH_TIMEOUT = 2.0  # seconds per request: the bound of the slow, stalled and endless pages
HANG_GUARD = 120.0  # a refresh still running then has hung
FEEDS = ("pieges", "pieges-pages", "pieges-flux", "pieges-plan", "pieges-push")
LAYOUTS = ({"layout": "list"}, {"layout": "cards", "count": 20}, {"layout": "headlines"},
           {"layout": "ticker"}, {"layout": "figures"}, {"layout": "list", "more": 2})


@dataclass
class Hostile:
    """The service after ingesting the hostile site, and what ingesting it did."""

    site: FaultySite
    targets: Targets
    corpus: Corpus
    runtime: Runtime
    app: Flask
    traps: list[Trap]
    results: dict[str, RefreshResult]
    connections: list[tuple[str, int]]
    allowed_connections: set[tuple[str, int]]
    push_answers: list[tuple[int, Any]] = field(default_factory=list)

    def items(self, source: str) -> dict[str, Item]:
        return {item.title: item for item in self.runtime.store.source_items(source, limit=500)}


@pytest.fixture(scope="module")
def hostile(redis_client: Redis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    site = FaultySite(SITE_DIR, tmp_path_factory.mktemp("hostile") / "site")
    traps = [Trap("127.0.0.1"), Trap("127.0.0.2")]
    v6 = Trap.maybe("::1")
    targets = Targets(site=site.url, trap_port=traps[0].port, other_port=traps[1].port,
                      v6_port=v6.port if v6 else None)
    traps += [v6] if v6 else []
    found = corpus(targets)
    for page in found.pages:
        if page.body:
            site.write(f"{page.path}.html", page.body)
        site.fault_path(f"/{page.path}", page.fault)
        site.redirect_path(f"/{page.path}", page.redirect)
    site.write(found.listing.path, found.listing.body)
    for document in found.documents:
        if document.body:
            site.write(document.path, document.body)
        site.fault_path(f"/{document.path}", document.fault)
    site.redirect_path("/pieges/media/redirigee.jpg", f"{targets.trap}/image.jpg")
    site.server.slow_seconds = 3 * FETCH_TIMEOUT
    site_port = urlsplit(site.url).port
    prefix = f"{{test-{uuid.uuid4().hex[:12]}}}"
    settings = load_settings({
        "redis_prefix": prefix, "fetch_allowed_networks": f"127.0.0.1:{site_port}",
        "host_delay": 0.0, "fetch_timeout": FETCH_TIMEOUT, "max_page_bytes": 1_000_000,
        "admin_token": OPERATOR_TOKEN}, environ={})
    runtime = open_runtime(settings, redis=redis_client, catalogue=load_catalogue(
        CATALOGUE, environ={"HOSTILE_SITE_URL": site.url}))
    app = create_app(runtime=runtime)
    allowed = {("127.0.0.1", int(site_port or 0))}
    state = Hostile(site, targets, found, runtime, app, traps, {}, [], allowed)
    try:
        connections = Connections()
        with connections.watching():
            for source in runtime.catalogue.sources.values():
                if source.id != "pieges-push":
                    state.results[source.id] = _refresh(source, runtime)
            client = app.test_client()
            for batch in [found.accepted_push, *(batch for batch, _ in found.refused_push)]:
                answer = client.post("/api/items", json=batch, headers=OPERATOR_AUTH)
                state.push_answers.append((answer.status_code, answer.get_json()))
            deep = '{"source": "pieges-push", "items": ' + "[" * 100_000 + "]" * 100_000 + "}"
            answer = client.post("/api/items", data=deep, headers=OPERATOR_AUTH,
                                 content_type="application/json")
            state.push_answers.append((answer.status_code, answer.get_json()))
            state.results["pieges-push"] = _refresh(runtime.catalogue.sources["pieges-push"],
                                                    runtime)
        state.connections = list(connections.opened)
        yield state
    finally:
        app.extensions["syndication.cache"].close()
        runtime.fetcher.close()
        delete_prefix(redis_client, prefix)
        for trap in traps:
            trap.stop()
        site.stop()


def _refresh(source: Source, runtime: Runtime) -> RefreshResult:
    """refresh(), in a thread of its own so that a hang fails the test instead of the run."""
    results: list[RefreshResult] = []
    worker = threading.Thread(target=lambda: results.append(refresh(source, runtime)),
                              daemon=True)
    worker.start()
    worker.join(HANG_GUARD)
    assert not worker.is_alive(), f"the refresh of {source.id} hung"
    return results[0]


# --- ingestion ---------------------------------------------------------------------------------


def test_every_clean_page_is_published_and_every_failing_one_is_a_warning(
        hostile: Hostile) -> None:
    result = hostile.results["pieges-pages"]
    assert (result.outcome, result.error) == ("ok", None), result
    items = hostile.items("pieges-pages")
    expected = {page.title for page in hostile.corpus.pages if page.title}
    assert set(items) == expected
    site = hostile.site.url
    for page in hostile.corpus.pages:
        if page.title is None:
            said = [w for w in result.warnings if f"{site}/{page.path}" in w]
            assert len(said) == 1 and re.search(page.warning or "^$", said[0]), (
                page.path, result.warnings)
            continue
        item = items[page.title]
        for name, value in page.checks.items():
            assert getattr(item, name) == value, (page.path, name)
        if page.image:
            assert item.image is not None and item.image.url == f"{site}{LOGO}"
            assert item.image.derivatives, "the site's own image is measured and resized"
        else:
            assert item.image is None, (page.path, item.image)
        assert item.lang == "fr"
    # Not one warning for a page that was published: its hostile parts were neutralised.
    published = {f"{site}/{page.path}" for page in hostile.corpus.pages if page.title}
    assert not [w for w in result.warnings
                if any(re.search(re.escape(url) + r"\)?$", w) for url in published)]


def test_the_json_ld_of_wrong_types_gives_no_url_nor_image(hostile: Hostile) -> None:
    item = hostile.items("pieges-pages")["JSON-LD aux types faux"]
    assert item.url == f"{hostile.site.url}/pieges/json-ld-types"  # not …/5 nor …/7
    assert item.image is None  # not …/1
    assert item.kind == "actualite" and not item.authors


def test_feed_entries_are_published_with_their_hostile_parts_neutralised(
        hostile: Hostile) -> None:
    site = hostile.site.url
    for source, titles in hostile.corpus.feed_titles.items():
        result = hostile.results[source]
        # The push source's refresh only completes images: its logo was measured already.
        expected = ("ok", "not_modified") if source == "pieges-push" else ("ok",)
        assert result.outcome in expected and result.error is None, result
        assert set(hostile.items(source)) == titles, source
    rss = hostile.items("pieges-rss")
    feed_url = hostile.runtime.catalogue.sources["pieges-rss"].url
    assert rss["Entrée relative"].url == f"{site}/pieges/flux/relative"
    for title in ("Entrée javascript", "Entrée data", "Entrée privée"):
        assert rss[title].url == feed_url, title
    assert rss["Entrée sans résumé"].summary == "Corps gras"
    assert rss[RSS_DOUBLE_ESCAPED_TEXT].url == f"{site}/pieges/flux/echappement"
    assert all(item.image is None for item in rss.values())
    atom = hostile.items("pieges-atom")
    assert atom["Entrée à la base privée"].url == hostile.runtime.catalogue.sources[
        "pieges-atom"].url
    json_items = hostile.items("pieges-json")
    assert {item.lang for item in json_items.values()} == {"fr"}
    assert all(item.image is None for item in json_items.values())
    warnings = hostile.results["pieges-json"].warnings
    assert any("TypeError" in w and w.endswith("/pieges/json/liste") for w in warnings)
    assert any(w.startswith("no title found") for w in warnings), warnings


def test_unreadable_feeds_fail_as_malformed(hostile: Hostile) -> None:
    for source, says in hostile.corpus.feed_failures.items():
        result = hostile.results[source]
        assert (result.outcome, result.error_kind) == ("failed", "malformed-feed"), result
        assert says in (result.error or ""), result.error
        assert hostile.runtime.store.item_count(source) == 0


def test_the_sitemap_reads_its_own_pages_and_warns_of_the_rest(hostile: Hostile) -> None:
    warnings = hostile.results["pieges-plan"].warnings
    for says in hostile.corpus.sitemap_warnings:
        assert len([w for w in warnings if says in w]) == 1, (says, warnings)


def test_hostile_pushed_batches_are_refused_whole_and_the_rest_sanitised(
        hostile: Hostile) -> None:
    (status, answer), *refused = hostile.push_answers
    assert status == 200 and answer["created"] == 2, answer
    *batches, (deep_status, deep) = refused
    for (status, answer), (_, field_name) in zip(batches, hostile.corpus.refused_push,
                                                 strict=True):
        assert status == 422, answer
        assert [e["field"] for e in answer["errors"]] == [field_name], answer
    assert deep_status == 400 and deep["parameter"] == "body", deep
    pushed = hostile.items("pieges-push")
    assert set(pushed) == hostile.corpus.feed_titles["pieges-push"]
    first = pushed[f"<img src=x onerror={CANARY}> Poussé"]
    assert first.tags[0] == f"<script>{CANARY}</script>"  # text, shown as text
    assert "onerror" not in first.content_html and "<script" not in first.content_html
    assert first.image is not None and first.image.derivatives  # the site's logo, measured


def test_no_request_reaches_a_private_address(hostile: Hostile) -> None:
    for trap in hostile.traps:
        assert trap.caught == [], trap.caught
    assert hostile.connections, "the connections were watched"
    assert set(hostile.connections) <= hostile.allowed_connections, hostile.connections
    # Every request the site received was for the site: nothing was sent on to another host.
    site = urlsplit(hostile.site.url)
    for path, headers in hostile.site.requests:
        assert headers.get("Host") == site.netloc, (path, headers.get("Host"))


# --- every output ------------------------------------------------------------------------------


def output_paths(service: str) -> list[str]:
    paths = ["/", "/status", "/feeds.opml", "/api/feeds", "/api/sources",
             "/api/items?limit=500"]
    for feed in FEEDS:
        paths += [f"/feeds/{feed}.{fmt}" for fmt in ("rss", "atom", "json")]
        paths += [f"/feeds/{feed}", f"/digest/{feed}.html?full=1",
                  f"/api/items?feed={feed}&limit=500",
                  f"/digest/{feed}.html?since=2000-01-01&limit=100",
                  f"/digest/{feed}.json?since=2000-01-01&limit=100", f"/embed/{feed}.js"]
        for options in LAYOUTS:
            query = "&".join(f"{name}={value}" for name, value in options.items())
            paths += [f"/embed/{feed}.html?{query}", f"/embed/{feed}/frame?{query}"]
        for fmt in ("json", "xml"):
            resource = quote(f"{service}/feeds/{feed}.rss?layout=cards", safe="")
            paths.append(f"/oembed?url={resource}&format={fmt}")
    return paths


@pytest.fixture(scope="module")
def service(hostile: Hostile) -> Iterator[str]:
    with serving(hostile.app) as url:
        yield url


def test_no_output_carries_a_link_of_another_scheme_or_to_a_private_address(
        hostile: Hostile, service: str) -> None:
    admitted = (_origin(hostile.site.url), _origin(service))
    checked, bad = 0, []
    with httpx.Client(base_url=service, timeout=30) as client:
        for path in output_paths(service):
            response = client.get(path, headers={"Accept": "*/*"})
            assert response.status_code == 200, (path, response.status_code, response.text)
            found = list(links_in_response(str(response.url), response.headers["Content-Type"],
                                           response.content))
            found += list(links_in_header(response.headers.get("Link", "")))
            for where, url in found:
                checked += 1
                if url.startswith("webcal://"):  # an agenda's subscription: held to http's rules
                    url = "http://" + url.removeprefix("webcal://")
                why = forbidden_link(url, admitted, mailto="content" in where
                                     or "encoded" in where or "description" in where)
                if why:
                    bad.append(f"{path} {where}: {url!r} ({why})")
    assert not bad, "\n".join(bad)
    assert checked > 1000  # the outputs were read, and hold links


def test_outputs_show_text_decoded_once(hostile: Hostile, service: str) -> None:
    feed = httpx.get(f"{service}/feeds/pieges.json", timeout=30).json()
    titles = {entry["title"] for entry in feed["items"]}
    assert DOUBLE_ESCAPED_TEXT in titles and f"Vecteurs XSS <script>{CANARY}</script>" in titles
    fragment = httpx.get(f"{service}/embed/pieges.html?count=20", timeout=30).text
    assert "A &amp;amp; B &amp;lt;script&amp;gt;" in fragment  # escaped once, in HTML
    assert f"&lt;script&gt;{CANARY}&lt;/script&gt;" in fragment


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 80}"


# --- in a browser ------------------------------------------------------------------------------

# Every element in the document, open shadow roots included: none may carry a handler, a script
# of the corpus, or a javascript: link.
_DOM_PROBLEMS = """() => {
  const problems = [];
  const visit = root => {
    for (const element of root.querySelectorAll('*')) {
      for (const attribute of element.attributes) {
        if (attribute.name.startsWith('on')) problems.push(element.outerHTML.slice(0, 200));
        if (/^\\s*(javascript|vbscript|data):/i.test(attribute.value) &&
            /^(href|src|action|formaction|poster|data|srcset|xlink:href)$/.test(attribute.name))
          problems.push(element.outerHTML.slice(0, 200));
      }
      if (element.tagName === 'SCRIPT' && element.textContent.includes('__pwned'))
        problems.push(element.outerHTML.slice(0, 200));
      if (['IFRAME', 'OBJECT', 'EMBED', 'BASE'].includes(element.tagName) &&
          !element.hasAttribute('data-syndication-frame') &&
          !element.classList.contains('wp-embedded-content'))
        problems.push(element.outerHTML.slice(0, 200));
      // Chromium's own banner on XSLT pages (XSLT is being deprecated): the browser's UI.
      if (element.shadowRoot && element.localName !== 'xslt-warning-banner')
        visit(element.shadowRoot);
    }
  };
  visit(document);
  return problems;
}"""


@dataclass
class Visit:
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # outside the admitted origins (aborted)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def host() -> Iterator[HostSite]:
    site = HostSite()
    with serving(site) as url:
        site.url = url
        yield site


def open_page(browser: Browser, url: str, admitted: tuple[str, ...],
              wait_for: str | None = None) -> tuple[Page, Visit]:
    """`url` in a context of its own; requests outside the admitted origins are recorded and
    aborted (a reader's browser must not be sent to a private address, and the test must not
    reach the Internet); dialogs are recorded and dismissed."""
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
    context.set_default_timeout(30_000)
    page = context.new_page()
    visit = Visit()
    page.on("dialog", lambda dialog: (visit.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: visit.errors.append(str(error)))

    def route(route: Any, request: Any) -> None:
        if request.url.startswith(("about:", "data:")) or _origin(request.url) in admitted:
            route.continue_()
        else:
            visit.requests.append(request.url)
            route.abort()

    context.route("**/*", route)
    page.goto(url, wait_until="load")
    if wait_for:
        page.locator(wait_for).first.wait_for(state="attached")
    return page, visit


def assert_nothing_ran(page: Page, visit: Visit, admitted: tuple[str, ...]) -> None:
    for frame in page.frames:
        if frame.is_detached():
            continue
        assert frame.evaluate("() => typeof window.__pwned") == "undefined", frame.url
        problems = frame.evaluate(_DOM_PROBLEMS)
        assert problems == [], (frame.url, problems)
    assert visit.dialogs == [], visit.dialogs
    private = [url for url in visit.requests if forbidden_link(url, admitted)]
    assert private == [], private
    page.context.close()


def script_snippet(service: str, feed: str, options: dict[str, Any]) -> str:
    return _script_snippet(service, feed, options, link_text="Pièges")


def test_no_script_of_the_corpus_runs_in_the_widgets(browser: Browser, host: HostSite,
                                                      hostile: Hostile, service: str) -> None:
    admitted = (_origin(service), _origin(host.url), _origin(hostile.site.url))
    for options in LAYOUTS:
        feed = "pieges-pages" if options["layout"] == "figures" else "pieges"
        query = "&".join(f"{name}={value}" for name, value in options.items())
        page, visit = open_page(browser, f"{service}/embed/{feed}/frame?{query}", admitted,
                                ".syndication-widget")
        assert_nothing_ran(page, visit, admitted)
        fragment = include(f"{service}/embed/{feed}.html?{query}", "")
        assert "syndication-widget" in fragment
        oembed = httpx.get(f"{service}/oembed", params={
            "url": f"{service}/feeds/{feed}.rss?{query}", "format": "json"}, timeout=30).json()
        body = (script_snippet(service, feed, options) + fragment
                + frame_snippet(service, feed, options, title="Pièges") + oembed["html"])
        page, visit = open_page(browser, host.publish(host_page(body, title="Commune")),
                                admitted, ".syndication-embed .syndication-widget__title, "
                                          ".syndication-widget__empty")
        # The script's widget is in its shadow root, the frames are loaded: all is rendered.
        page.locator(".syndication-embed .syndication-widget").wait_for(state="attached")
        for frame_element in page.locator("iframe").all():
            frame = frame_element.content_frame
            assert frame is not None
            frame.locator(".syndication-widget").wait_for(state="attached")
        assert_nothing_ran(page, visit, admitted)


def test_no_script_of_the_corpus_runs_in_the_digest_nor_the_feeds_in_a_browser(
        browser: Browser, hostile: Hostile, service: str) -> None:
    admitted = (_origin(service), _origin(hostile.site.url))
    for feed in FEEDS:
        page, visit = open_page(browser, f"{service}/digest/{feed}.html?since=2000-01-01",
                                admitted, "table")
        assert_nothing_ran(page, visit, admitted)
        for fmt in ("rss", "atom"):
            page, visit = open_page(browser, f"{service}/feeds/{feed}.{fmt}", admitted,
                                    "#adresse-flux")  # the stylesheet's page, in French
            assert page.locator("h1").count() == 1
            assert_nothing_ran(page, visit, admitted)
    for path in ("/", "/status", "/embed/builder", *(f"/feeds/{feed}" for feed in FEEDS)):
        page, visit = open_page(browser, f"{service}{path}", admitted, "h1")
        assert_nothing_ran(page, visit, admitted)


def test_the_oembed_answer_links_nowhere_else(hostile: Hostile, service: str) -> None:
    answer = httpx.get(f"{service}/oembed", params={
        "url": f"{service}/feeds/pieges.rss", "format": "json"}, timeout=30).json()
    admitted = (_origin(service), _origin(hostile.site.url))
    for where, url in [*links_in_html(answer["html"]),
                       *(("thumbnail", answer[key]) for key in ("thumbnail_url",)
                         if key in answer)]:
        assert forbidden_link(url, admitted) is None, (where, url)
    assert json.dumps(answer).count("<iframe") == 1
