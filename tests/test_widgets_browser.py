"""The embeddable widgets in a real browser (Playwright driving the system's Chromium).

The service runs for real on a loopback port with a store filled by refreshing the sample site;
a municipal website on another port (another origin) embeds the three outputs: the script
(`/embed/{feed}.js`, Shadow DOM), the iframe (`/embed/{feed}/frame` with `/embed/resize.js`, or
WordPress's side of the embed protocol) and the fragment (`/embed/{feed}.html`, included on the
host's server). The tests check what a reader of that website gets: the latest news and the key
figures in French, whatever the host's CSS; auto-height; visible focus; no horizontal scrolling
at 320 px; motion under control; no serious or critical axe-core finding in any layout or theme;
the fallback link when the service is down; and the configurator's code, pasted into a page.

One Chromium serves the whole session; each test opens its own browser context. Screenshots of
each layout at 320 and 1280 px are written to build/screenshots/ (UPDATE_SCREENSHOTS=1: to
docs/screenshots/, which the README shows).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest
from PIL import Image
from redis import Redis

from syndication.app import create_app

from . import waiting
from .browser_harness import (
    AXE_SCRIPT,
    CHROMIUM,
    HOSTILE_CSS,
    HostSite,
    Options,
    ScriptOnlyService,
    axe_violations,
    closed_port_url,
    describe_violations,
    fragment_url,
    frame_snippet,
    host_page,
    include,
    script_snippet,
    serving,
    wordpress_snippet,
)
from .conftest import filled_runtime

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the Python package playwright is not installed "
    "(pip install -e '.[test]')")
expect = sync_api.expect
# Other test runs share this machine's two cores: waiting conditions get room, never a deadline
# that a test asserts on.
expect.set_options(timeout=20_000)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FrameLocator, Locator, Page

# Every run writes them as artifacts under build/screenshots (ignored by git); UPDATE_SCREENSHOTS=1
# refreshes the copies committed in docs/screenshots, which the README shows (as UPDATE_GOLDEN=1
# does for golden files): another machine's fonts would otherwise rewrite them at every run.
SCREENSHOTS = Path(__file__).resolve().parent.parent / (
    "docs/screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else "build/screenshots")
LAYOUTS = ("list", "cards", "headlines", "figures", "ticker")
THEMES = ("light", "dark")
OUTPUTS = ("script", "frame", "fragment")
FEED_TITLES = {"actualites": "Toutes les actualités de la Région",
               "region-solidaire": "Région solidaire"}
# The key figures of the sample dossier, exactly as its page writes them.
FIGURES = [("1,1 Md €", "pour le pacte rural"),
           ("3,2 Mds €", "pour le pacte avec les quartiers populaires"),
           ("7,7 Mds €", "pour faire de l’Île-de-France une terre d’innovation "
                         "sociale et d’engagements solidaires")]
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")
FRENCH_DATE = re.compile(rf"^(1er|[2-9]|[12]\d|3[01]) ({'|'.join(MONTHS)}) \d{{4}}$")
PARIS = ZoneInfo("Europe/Paris")
NEW_WINDOW = re.compile("nouvelle fenêtre")

ITEM = ".syndication-widget__item"
LINK = "a.syndication-widget__link"


def feed_for(layout: str) -> str:
    """Key figures are the dossier's; every other layout shows the news."""
    return "region-solidaire" if layout == "figures" else "actualites"


# --- fixtures: one service, one host site, one browser --------------------------------------


@pytest.fixture(scope="module")
def service(redis_client: Redis, sample_site: str) -> Iterator[str]:
    """The service on a loopback port, its store filled by the real pipeline."""
    with filled_runtime(redis_client, sample_site) as (runtime, results):
        assert {result.outcome for result in results.values()} == {"ok"}, results
        app = create_app(runtime=runtime)
        try:
            with serving(app) as url:
                yield url
        finally:
            app.extensions["syndication.cache"].close()


@pytest.fixture(scope="module")
def host() -> Iterator[HostSite]:
    """The municipal website, on its own port: another origin than the service's."""
    site = HostSite()
    with serving(site) as url:
        site.url = url
        yield site


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium; .ci/run does it)")
    with sync_api.sync_playwright() as playwright:
        # The system's Chromium; Playwright's own browser builds are never downloaded.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def axe() -> Path:
    if not AXE_SCRIPT.is_file():
        pytest.skip("axe-core is not installed (npm ci --prefix tests/browser; make test does it)")
    return AXE_SCRIPT


@dataclass
class Visit:
    """A page in its own browser context, with what went wrong in it."""

    page: Page
    errors: list[str] = field(default_factory=list)  # uncaught exceptions, unhandled rejections
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def visit(browser: Browser) -> Iterator[Callable[..., Visit]]:
    contexts = []

    def open_page(url: str, *, width: int = 1280, height: int = 900,
                  reduced_motion: str = "no-preference", color_scheme: str = "light") -> Visit:
        context = browser.new_context(viewport={"width": width, "height": height},
                                      locale="fr-FR", timezone_id="Europe/Paris",
                                      reduced_motion=reduced_motion, color_scheme=color_scheme)
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        opened = Visit(page)
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        page.on("request", lambda request: opened.requests.append(request.url))
        page.goto(url, wait_until="load")
        return opened

    yield open_page
    for context in contexts:
        context.close()


# --- embedding -------------------------------------------------------------------------------


def publish(host: HostSite, service: str, output: str, feed: str, options: Options, *,
            style: str = "") -> str:
    """A host page embedding `feed` through `output` with `options`; its URL."""
    title = FEED_TITLES[feed]
    if output == "script":
        body = script_snippet(service, feed, options, link_text=title)
        return host.publish(host_page(body, title="Accueil de la commune", style=style))
    if output == "frame":
        body = frame_snippet(service, feed, options, title=title)
        return host.publish(host_page(body, title="Accueil de la commune", style=style))
    assert output == "fragment", output
    fallback = f'<p><a href="{service}/feeds/{feed}.rss">{title}</a></p>'
    return host.publish(lambda: host_page(include(fragment_url(service, feed, options), fallback),
                                          title="Accueil de la commune", style=style))


def scope(page: Page, output: str) -> Page | FrameLocator:
    """Where the widget's elements are found: the page (Playwright's CSS locators pierce open
    shadow roots) or the iframe."""
    return page.frame_locator("iframe[data-syndication-frame]") if output == "frame" else page


def widget_root(page: Page, output: str) -> Locator:
    root = scope(page, output).locator(".syndication-widget")
    expect(root).to_have_count(1)
    expect(root).to_be_visible()
    return root


def embed(visit: Callable[..., Visit], host: HostSite, service: str, output: str, feed: str,
          options: Options, *, style: str = "", **context: Any) -> tuple[Visit, Locator]:
    """Open a host page embedding the widget and wait until the widget is shown."""
    opened = visit(publish(host, service, output, feed, options, style=style), **context)
    root = widget_root(opened.page, output)
    wait_for_images(root)
    return opened, root


def wait_for_images(root: Locator) -> None:
    """Until the widget's shown images are loaded, or have failed (hidden ones never load); lazy
    ones far below the fold never start, so the wait also ends after a while (nothing is
    asserted on it)."""
    root.evaluate("""async root => {
        const pending = [...root.querySelectorAll('img')].filter(
            img => !img.complete && img.getClientRects().length > 0);
        const loaded = Promise.all(pending.map(img => new Promise(done => {
            img.addEventListener('load', done); img.addEventListener('error', done); })));
        await Promise.race([loaded, new Promise(done => setTimeout(done, 5000))]);
        await document.fonts.ready;
    }""")


def text(value: str) -> str:
    """Whitespace made plain, no-break spaces included, for comparing what readers see."""
    return " ".join(value.split())


def latest_titles(service: str, feed: str, count: int) -> list[str]:
    body = httpx.get(f"{service}/feeds/{feed}.json", timeout=30).json()
    return [text(item["title"]) for item in body["items"][:count]]


def wait_until(page: Page, condition: Callable[[], bool], message: Callable[[], str]) -> None:
    """Poll `condition` (which reads several frames, so cannot be one wait_for_function) with
    tests/waiting.py's wait_until, pausing through the page so that its events keep flowing."""
    waiting.wait_until(condition, message, pause=lambda seconds: page.wait_for_timeout(
        seconds * 1000))


# --- what a reader of the host site sees ----------------------------------------------------


@pytest.mark.parametrize("output", OUTPUTS)
def test_each_output_shows_the_latest_actualites_with_french_dates(
        visit: Callable[..., Visit], host: HostSite, service: str, output: str) -> None:
    opened, root = embed(visit, host, service, output, "actualites", {"layout": "list"})
    expect(root).to_have_attribute("lang", "fr")
    expect(root).to_have_attribute("data-syndication-widget", "actualites")
    expect(root).to_have_class(re.compile(r"\bsyndication-widget--list\b"))
    items = root.locator(f"ul.syndication-widget__items > li{ITEM}")
    expect(items).to_have_count(5)  # the default count
    titles = [text(link) for link in items.locator(LINK).all_text_contents()]
    assert titles == latest_titles(service, "actualites", 5)
    for time in items.locator("time[datetime]").all():
        shown = text(time.text_content() or "")
        assert FRENCH_DATE.match(shown), shown
        assert shown == french_day(time.get_attribute("datetime") or ""), shown
    assert opened.errors == []


def french_day(iso: str) -> str:
    """The day of an ISO 8601 date-time in Paris, written as French readers expect."""
    moment = datetime.fromisoformat(iso)
    day = moment.astimezone(PARIS) if moment.tzinfo else moment
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"


@pytest.mark.parametrize("output", OUTPUTS)
def test_each_output_shows_the_region_solidaire_key_figures(
        visit: Callable[..., Visit], host: HostSite, service: str, output: str) -> None:
    opened, root = embed(visit, host, service, output, "region-solidaire", {"layout": "figures"})
    figures = root.locator("ul.syndication-widget__figures > li")
    values = [value.strip() for value in
              figures.locator(".syndication-widget__figure-value").all_text_contents()]
    labels = [text(label) for label in
              figures.locator(".syndication-widget__figure-label").all_text_contents()]
    assert list(zip(values, labels, strict=True)) == FIGURES
    for figure in figures.all():
        expect(figure).to_be_visible()
        value = figure.locator(".syndication-widget__figure-value")
        assert value.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"  # one line
    assert opened.errors == []


@pytest.mark.parametrize("output", OUTPUTS)
def test_each_output_shows_the_photo_credit_under_the_photo(
        visit: Callable[..., Visit], host: HostSite, service: str, output: str) -> None:
    opened, root = embed(visit, host, service, output, "region-solidaire",
                         {"layout": "cards", "count": 10})
    [dossier] = [item for item in root.locator(f"ul.syndication-widget__items > li{ITEM}").all()
                 if text(item.locator(LINK).text_content() or "") == "Région solidaire"]
    credit = dossier.locator(".syndication-widget__credit")
    expect(credit).to_be_visible()
    expect(credit).to_have_text("Crédit photo : © Andrea Piacquadio")  # said by screen readers
    photo, line = (dossier.locator(".syndication-widget__image").bounding_box(),
                   credit.bounding_box())
    assert photo and line and line["y"] >= photo["y"] + photo["height"] - 1  # under the photo
    assert opened.errors == []


def test_the_script_renders_into_an_open_shadow_root_in_place_of_the_fallback_link(
        visit: Callable[..., Visit], host: HostSite, service: str) -> None:
    opened, _ = embed(visit, host, service, "script", "actualites", {"layout": "list"})
    inside = opened.page.evaluate("""() => {
        const host = document.querySelector('.syndication-embed');
        const shadow = host.shadowRoot;
        return {open: shadow !== null && shadow.mode === 'open',
                widget: shadow !== null && shadow.querySelector('.syndication-widget') !== null,
                light: document.querySelectorAll('body .syndication-widget').length};
    }""")
    assert inside == {"open": True, "widget": True, "light": 0}
    fallback = opened.page.locator(".syndication-embed > a")
    expect(fallback).to_have_count(1)  # kept in the light DOM for readers without scripts
    expect(fallback).to_be_hidden()  # and not shown twice
    assert opened.errors == []


def test_one_script_url_serves_several_widgets_on_one_page(
        visit: Callable[..., Visit], host: HostSite, service: str) -> None:
    body = (script_snippet(service, "actualites", {"layout": "headlines", "count": 3},
                           link_text=FEED_TITLES["actualites"])
            + script_snippet(service, "region-solidaire", {"layout": "figures"},
                             link_text=FEED_TITLES["region-solidaire"]))
    opened = visit(host.publish(host_page(body, title="Deux widgets")))
    roots = opened.page.locator(".syndication-embed .syndication-widget")
    expect(roots).to_have_count(2)
    expect(roots.nth(0)).to_have_class(re.compile(r"\bsyndication-widget--headlines\b"))
    expect(roots.nth(0).locator(ITEM)).to_have_count(3)
    expect(roots.nth(1)).to_have_class(re.compile(r"\bsyndication-widget--figures\b"))
    assert opened.errors == []


def test_one_page_shows_both_feeds_through_all_three_outputs(
        visit: Callable[..., Visit], host: HostSite, service: str) -> None:
    """The demo of the issue: a plain page of another origin with the news as a list and the
    dossier's key figures, each through the script, the iframe and the fragment, side by side
    (two iframes for one resize.js, two fragments' styles, two scripts)."""
    widgets = [("actualites", {"layout": "list", "count": 3}),
               ("region-solidaire", {"layout": "figures"})]

    def page() -> str:
        parts = []
        for feed, options in widgets:
            title = FEED_TITLES[feed]
            parts += [f"<section><h2>{output}</h2>{code}</section>" for output, code in (
                ("Script", script_snippet(service, feed, options, link_text=title)),
                ("Iframe", frame_snippet(service, feed, options, title=title)),
                ("Fragment", include(fragment_url(service, feed, options), "")))]
        return host_page("".join(parts), title="Démonstration")

    opened = visit(host.publish(page))
    frames = opened.page.locator("iframe[data-syndication-frame]")
    roots = [opened.page.locator(".syndication-embed .syndication-widget").nth(0),
             frames.nth(0).content_frame.locator(".syndication-widget"),
             opened.page.locator("section:nth-of-type(3) > .syndication-widget"),
             opened.page.locator(".syndication-embed .syndication-widget").nth(1),
             frames.nth(1).content_frame.locator(".syndication-widget"),
             opened.page.locator("section:nth-of-type(6) > .syndication-widget")]
    news = latest_titles(service, "actualites", 3)
    for root in roots[:3]:
        expect(root.locator(LINK)).to_have_text(news)
        for time in root.locator("time").all():
            assert FRENCH_DATE.match(text(time.text_content() or ""))
    for root in roots[3:]:
        expect(root.locator(".syndication-widget__figure-value").first).to_have_text(FIGURES[0][0])
        expect(root.locator(".syndication-widget__figure-label").first).to_have_text(FIGURES[0][1])
    for index in range(2):
        assert_frame_fits(opened.page, f"iframe[data-syndication-frame] >> nth={index}")
    assert opened.errors == []


# The computed styles that make the widget look as designed; a host's CSS must change none.
STYLE_PROPERTIES = ("display", "visibility", "opacity", "color", "background-color",
                    "font-family", "font-size", "font-style", "font-weight", "line-height",
                    "letter-spacing", "word-spacing", "text-transform", "text-align",
                    "list-style-type", "outline-style")
STYLED_PARTS = (".syndication-widget", "ul", ITEM, LINK, "h2, h3, h4, h5, h6", "time",
                ".syndication-widget__summary", ".syndication-widget__figure-value",
                ".syndication-widget__figure-label", "img", "button")


def looks(root: Locator) -> dict[str, Any]:
    return root.evaluate("""(root, [parts, properties]) => {
        const seen = {};
        for (const part of parts) {
            const element = root.matches(part) ? root : root.querySelector(part);
            if (!element) continue;
            const style = getComputedStyle(element);
            const box = element.getBoundingClientRect();
            seen[part] = Object.fromEntries(properties.map(name => [name,
                                                                    style.getPropertyValue(name)]));
            seen[part].shown = box.width > 0 && box.height > 0;
        }
        seen.itemsShown = [...root.querySelectorAll('li')].filter(item => {
            const box = item.getBoundingClientRect(); return box.width > 0 && box.height > 0;
        }).length;
        return seen;
    }""", [list(STYLED_PARTS), list(STYLE_PROPERTIES)])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_hostile_host_css_does_not_change_the_script_widget(
        visit: Callable[..., Visit], host: HostSite, service: str, layout: str) -> None:
    """`* { all: unset }`, a 40 px root font, hidden lists, transparent links …: the widget in
    such a page looks exactly as it does in a page without CSS."""
    options = {"layout": layout}
    _, plain = embed(visit, host, service, "script", feed_for(layout), options)
    hostile_visit, hostile = embed(visit, host, service, "script", feed_for(layout), options,
                                   style=HOSTILE_CSS)
    designed, attacked = looks(plain), looks(hostile)
    assert designed["itemsShown"] > 0
    differences = {part: {name: (designed[part][name], attacked.get(part, {}).get(name))
                          for name in designed[part]
                          if designed[part][name] != attacked.get(part, {}).get(name)}
                   for part in designed if part != "itemsShown"}
    assert {part: diff for part, diff in differences.items() if diff} == {}
    assert attacked["itemsShown"] == designed["itemsShown"]
    assert hostile_visit.errors == []


# --- the iframe: auto-height, resize.js, WordPress -------------------------------------------


def frame_fits(page: Page, selector: str) -> tuple[float, float]:
    """(iframe height in the host page, height of the content inside it). The content is the
    body's box, not the document's scroll height, which is never less than the iframe's own."""
    element = page.locator(selector)
    outer = element.evaluate("frame => frame.getBoundingClientRect().height")
    inner = element.content_frame.locator("body").evaluate(
        "body => body.getBoundingClientRect().height")
    return outer, inner


def assert_frame_fits(page: Page, selector: str) -> None:
    """Wait until the iframe is as tall as its content (to the pixel it is rounded to)."""
    def fits() -> bool:
        outer, inner = frame_fits(page, selector)
        return inner > 0 and 0 <= outer - inner < 1.5

    wait_until(page, fits, lambda: f"iframe vs content height: {frame_fits(page, selector)}")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_iframe_takes_the_height_of_its_content(
        visit: Callable[..., Visit], host: HostSite, service: str, layout: str) -> None:
    opened, _ = embed(visit, host, service, "frame", feed_for(layout), {"layout": layout})
    assert_frame_fits(opened.page, "iframe[data-syndication-frame]")
    assert opened.errors == []


def test_the_iframe_follows_its_content_when_voir_plus_opens_it(
        visit: Callable[..., Visit], host: HostSite, service: str) -> None:
    opened, root = embed(visit, host, service, "frame", "actualites",
                         {"layout": "list", "count": 6, "more": 2})
    page = opened.page
    assert_frame_fits(page, "iframe[data-syndication-frame]")
    before, _ = frame_fits(page, "iframe[data-syndication-frame]")
    root.locator("button[aria-expanded]").click()
    assert_frame_fits(page, "iframe[data-syndication-frame]")
    after, _ = frame_fits(page, "iframe[data-syndication-frame]")
    assert after > before
    assert opened.errors == []


def test_a_frame_that_loaded_before_resize_js_is_measured_when_it_arrives(
        visit: Callable[..., Visit], host: HostSite, service: str) -> None:
    """A slow or late resize.js (a tag manager, a deferred bundle) missed the frame's first
    report: it asks, and the frame tells its height again."""
    frame = (f'<iframe data-syndication-frame src="{service}/embed/actualites/frame?layout=list"'
             ' title="Actualités" height="150" style="display:block;width:100%;border:0">'
             "</iframe>")
    late = f"""<script>
      document.querySelector('iframe').addEventListener('load', function () {{
        setTimeout(function () {{
          var script = document.createElement('script');
          script.src = '{service}/embed/resize.js';
          document.body.appendChild(script);
        }}, 500);
      }});
    </script>"""
    opened = visit(host.publish(host_page(frame + late, title="Accueil de la commune")))
    assert_frame_fits(opened.page, "iframe[data-syndication-frame]")
    assert opened.errors == []


def test_resize_js_ignores_height_messages_from_other_windows_and_origins(
        visit: Callable[..., Visit], host: HostSite, service: str) -> None:
    """A page's own script, or a third-party frame, posting the widget's message: no effect."""
    forger = host.publish(host_page(
        "<script>parent.postMessage({type: 'syndication:height', height: 4321}, '*');</script>",
        title="Publicité"))
    opened, _ = embed(visit, host, service, "frame", "actualites", {"layout": "list"})
    page = opened.page
    selector = "iframe[data-syndication-frame]"
    assert_frame_fits(page, selector)
    fitted, _ = frame_fits(page, selector)
    # This listener comes after resize.js's, so when it has seen both forgeries resize.js has too.
    page.evaluate("""forger => {
        window.forgeriesSeen = 0;
        addEventListener('message', event => {
            if (event.data && event.data.height === 4321) window.forgeriesSeen++;
        });
        postMessage({type: 'syndication:height', height: 4321}, '*');
        const third = document.createElement('iframe');
        third.title = 'Publicité'; third.src = forger;
        document.body.append(third);
    }""", forger)
    page.wait_for_function("() => window.forgeriesSeen === 2")
    assert frame_fits(page, selector)[0] == fitted
    assert opened.errors == []


def wordpress_page(host: HostSite, service: str, options: Options) -> str:
    return host.publish(host_page(
        wordpress_snippet(service, "actualites", options, title=FEED_TITLES["actualites"]),
        title="Un article WordPress"))


def test_the_frame_speaks_wordpress_embed_protocol_with_the_secret(
        visit: Callable[..., Visit], host: HostSite, service: str) -> None:
    """In a WordPress post: sandboxed, secret in the fragment, height posted with it."""
    opened = visit(wordpress_page(host, service, {"layout": "list"}))
    page = opened.page
    frame = page.locator("iframe.wp-embedded-content")
    expect(frame.content_frame.locator(".syndication-widget")).to_be_visible()
    page.wait_for_function("() => wpMessages.some(m => m.message === 'height')")
    secret = page.evaluate("wpSecret")
    heights = page.evaluate("wpMessages.filter(m => m.message === 'height')")
    assert all(message["secret"] == secret for message in heights)

    def applied() -> bool:
        _, content = frame_fits(page, "iframe.wp-embedded-content")
        expected = min(max(math.ceil(content), 200), 1000)  # WordPress's clamp
        return frame.get_attribute("height") == str(expected)

    wait_until(page, applied, lambda: f"{frame.get_attribute('height')} vs "
               f"{frame_fits(page, 'iframe.wp-embedded-content')}")
    expect(page.locator("blockquote.wp-embedded-content")).to_be_hidden()
    expect(frame).to_be_visible()
    assert opened.errors == []


def test_a_click_in_the_wordpress_frame_takes_the_reader_to_the_article(
        visit: Callable[..., Visit], host: HostSite, service: str, sample_site: str) -> None:
    """The frame posts {message: 'link', value, secret}; WordPress follows it only to the
    iframe's own host, and its sandbox lets the frame neither navigate the page nor open a
    window: so the value is the link itself when on the service, else a service URL that
    redirects to it; either way the reader lands on the article."""
    opened = visit(wordpress_page(host, service, {"layout": "list"}))
    page = opened.page
    accepted: list[dict[str, Any]] = []  # logged by the receiver: the page goes, the log stays
    page.on("console", lambda message: accepted.append(json.loads(message.text[9:]))
            if message.text.startswith("wp-embed ") else None)
    link = page.locator("iframe.wp-embedded-content").content_frame.locator(LINK).first
    href, title = link.get_attribute("href") or "", text(link.text_content() or "")
    link.click()
    page.wait_for_url(href)
    assert text(page.locator("h1").first.text_content() or "") == title
    [(message, secret)] = [(entry["data"], entry["secret"]) for entry in accepted
                           if entry["data"]["message"] == "link"]
    assert message["secret"] == secret
    assert message["value"] in (href, f"{service}/embed/actualites/go?url={quote(href, safe='')}")


# --- accessibility --------------------------------------------------------------------------


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_axe_finds_nothing_serious_in_the_frame(
        visit: Callable[..., Visit], service: str, axe: Path, layout: str, theme: str) -> None:
    """The frame page on its own: a whole document of the service's."""
    feed = feed_for(layout)
    opened = visit(f"{service}/embed/{feed}/frame?layout={layout}&theme={theme}")
    wait_for_images(widget_root(opened.page, "document"))
    violations = axe_violations(opened.page)
    assert violations == [], describe_violations(violations)


@pytest.mark.parametrize(("theme", "scheme"),
                         [("light", "light"), ("dark", "dark"), ("auto", "dark")])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_axe_finds_nothing_serious_in_the_script_widget(
        visit: Callable[..., Visit], host: HostSite, service: str, axe: Path, layout: str,
        theme: str, scheme: str) -> None:
    """The widget in its shadow root, on a host page whose own markup is clean."""
    opened, _ = embed(visit, host, service, "script", feed_for(layout),
                      {"layout": layout, "theme": theme}, color_scheme=scheme)
    violations = axe_violations(opened.page)
    assert violations == [], describe_violations(violations)


@pytest.mark.parametrize("theme", THEMES)
def test_axe_finds_nothing_serious_in_the_fragment_with_new_tab_and_voir_plus(
        visit: Callable[..., Visit], host: HostSite, service: str, axe: Path, theme: str) -> None:
    opened, _ = embed(visit, host, service, "fragment", "actualites",
                      {"layout": "cards", "theme": theme, "new_tab": 1, "more": 2})
    violations = axe_violations(opened.page)
    assert violations == [], describe_violations(violations)


def test_theme_auto_follows_the_readers_colour_scheme(
        visit: Callable[..., Visit], host: HostSite, service: str) -> None:
    def colours(theme: str, scheme: str) -> tuple[str, str]:
        _, root = embed(visit, host, service, "script", "actualites",
                        {"layout": "list", "theme": theme}, color_scheme=scheme)
        return (root.evaluate("root => getComputedStyle(root).backgroundColor"),
                root.locator(LINK).first.evaluate("link => getComputedStyle(link).color"))

    light, dark = colours("light", "dark"), colours("dark", "light")
    assert light != dark
    assert colours("auto", "light") == light
    assert colours("auto", "dark") == dark


FOCUS_LOOK = """root => {
    const active = root.getRootNode().activeElement;
    if (!active || !root.contains(active)) return null;
    const look = () => {
        const style = getComputedStyle(active);
        return {outline: [style.outlineStyle, style.outlineWidth, style.outlineColor].join(' '),
                visible: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
                         || style.boxShadow !== 'none',
                boxShadow: style.boxShadow};
    };
    const focused = look();
    active.blur();
    return {element: active.tagName + ' ' + active.textContent.trim().slice(0, 40),
            focused, unfocused: look()};
}"""


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_keyboard_focus_on_the_first_widget_control_is_visible(
        visit: Callable[..., Visit], host: HostSite, service: str, layout: str,
        output: str) -> None:
    opened, root = embed(visit, host, service, output, feed_for(layout), {"layout": layout})
    opened.page.keyboard.press("Tab")
    seen = root.evaluate(FOCUS_LOOK)
    assert seen is not None, "Tab did not reach the widget"
    assert seen["focused"]["visible"], seen
    assert seen["focused"] != seen["unfocused"], seen


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_no_horizontal_scrolling_at_320_px(
        visit: Callable[..., Visit], host: HostSite, service: str, layout: str,
        output: str) -> None:
    options: dict[str, str | int] = {"layout": layout}
    if layout == "cards":
        options["columns"] = 4  # the widest cards must still fold to one column
    opened, root = embed(visit, host, service, output, feed_for(layout), options, width=320)
    page_width = opened.page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 320
    if output == "frame":
        inside = root.evaluate("root => root.ownerDocument.documentElement.scrollWidth")
        outside = opened.page.locator("iframe").evaluate("frame => frame.clientWidth")
        assert inside <= outside
    assert opened.errors == []


@pytest.mark.parametrize("output", OUTPUTS)
def test_new_tab_links_say_nouvelle_fenetre_in_their_accessible_name(
        visit: Callable[..., Visit], host: HostSite, service: str, output: str) -> None:
    _, root = embed(visit, host, service, output, "actualites", {"layout": "list", "new_tab": 1})
    links = root.locator(LINK)
    expect(links).to_have_count(5)
    for link in links.all():
        expect(link).to_have_attribute("target", "_blank")
        expect(link).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
        expect(link).to_have_accessible_name(NEW_WINDOW)
    _, same_tab = embed(visit, host, service, output, "actualites", {"layout": "list"})
    for link in same_tab.locator(LINK).all():
        expect(link).not_to_have_accessible_name(NEW_WINDOW)
        expect(link).not_to_have_attribute("target", "_blank")


@pytest.mark.parametrize("output", OUTPUTS)
def test_voir_plus_reveals_the_rest_and_says_so(
        visit: Callable[..., Visit], host: HostSite, service: str, output: str) -> None:
    """Two items first, then all six; without scripts (a fragment) all six from the start."""
    opened, root = embed(visit, host, service, output, "actualites",
                         {"layout": "list", "count": 6, "more": 2})
    items = root.locator(ITEM)
    expect(items).to_have_count(6)
    button = root.locator("button[aria-expanded]")
    if output == "fragment" and not button.is_visible():
        for item in items.all():
            expect(item).to_be_visible()
        return
    expect(button).to_have_text(re.compile("Voir plus", re.IGNORECASE))
    expect(button).to_have_attribute("aria-expanded", "false")
    assert [item.is_visible() for item in items.all()] == [True] * 2 + [False] * 4
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    for item in items.all():
        expect(item).to_be_visible()
    assert opened.errors == []


MOTION = """async root => {
    // A pause takes effect at the next frame (the animation's `ready`): measure after it.
    await Promise.all(root.getAnimations({subtree: true}).map(animation => animation.ready));
    const infinite = root.getAnimations({subtree: true}).filter(animation =>
        animation.playState === 'running'
        && animation.effect.getComputedTiming().iterations === Infinity).length;
    const where = () => [...root.querySelectorAll('*')].map(element => {
        const box = element.getBoundingClientRect();
        return [box.x, box.y, element.scrollLeft, element.scrollTop].join(',');
    }).join(';');
    const before = where();
    for (let frame = 0; frame < 20; frame++) await new Promise(requestAnimationFrame);
    return {infinite, moved: where() !== before};
}"""


@pytest.mark.parametrize("output", OUTPUTS)
def test_the_ticker_pause_button_stops_the_motion(
        visit: Callable[..., Visit], host: HostSite, service: str, output: str) -> None:
    opened, root = embed(visit, host, service, output, "actualites", {"layout": "ticker"})
    button = root.locator("button[aria-pressed]")
    moving = root.evaluate(MOTION)
    if output == "fragment" and not moving["moved"] and not button.is_visible():
        return  # a fragment without scripts may show the ticker still: nothing to pause then
    assert moving["moved"], moving
    expect(button).to_have_count(1)
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    assert root.evaluate(MOTION) == {"infinite": 0, "moved": False}
    button.click()
    expect(button).to_have_attribute("aria-pressed", "false")
    assert root.evaluate(MOTION)["moved"]
    assert opened.errors == []


@pytest.mark.parametrize("output", OUTPUTS)
def test_the_ticker_stands_still_under_prefers_reduced_motion(
        visit: Callable[..., Visit], host: HostSite, service: str, output: str) -> None:
    opened, root = embed(visit, host, service, output, "actualites", {"layout": "ticker"},
                         reduced_motion="reduce")
    assert root.evaluate(MOTION) == {"infinite": 0, "moved": False}
    expect(root.locator(LINK).first).to_be_visible()
    assert opened.errors == []


# --- when the service cannot be reached ------------------------------------------------------


def assert_fallback_only(opened: Visit, title: str) -> None:
    link = opened.page.locator(".syndication-embed > a")
    expect(link).to_be_visible()
    expect(link).to_have_text(title)
    assert opened.page.locator(".syndication-embed .syndication-widget").count() == 0
    assert opened.errors == []


def test_an_unreachable_service_leaves_the_fallback_link_and_no_error(
        visit: Callable[..., Visit], host: HostSite) -> None:
    down = closed_port_url()
    title = FEED_TITLES["actualites"]
    opened = visit(host.publish(host_page(
        script_snippet(down, "actualites", {"layout": "list"}, link_text=title),
        title="Accueil de la commune")))
    opened.page.wait_for_load_state("networkidle")
    assert_fallback_only(opened, title)


@pytest.mark.parametrize("failure", ["refused", "error"])
def test_a_script_that_cannot_reach_the_service_leaves_the_fallback_link_and_no_error(
        visit: Callable[..., Visit], host: HostSite, service: str, failure: str) -> None:
    """The script loads (from a cache, say) but the service behind it fails."""
    title = FEED_TITLES["actualites"]
    with serving(ScriptOnlyService(service, failure)) as half_down:
        opened = visit(host.publish(host_page(
            script_snippet(half_down, "actualites", {"layout": "list"}, link_text=title),
            title="Accueil de la commune")))
        opened.page.wait_for_load_state("networkidle")
        asked = [url for url in opened.requests
                 if url.startswith(half_down) and not url.split("?")[0].endswith(".js")]
        assert asked, f"the script asked the service nothing: {opened.requests}"
        assert_fallback_only(opened, title)


def test_a_mistake_in_the_iframe_code_shows_the_editor_a_french_message(
        visit: Callable[..., Visit], host: HostSite, service: str, axe: Path) -> None:
    """The frame's answer to a wrong option is a page the browser frames on the town's site,
    not a refused frame: it names the parameter and what it accepts."""
    opened = visit(host.publish(host_page(
        frame_snippet(service, "actualites", {"count": 50}, title="Actualités"),
        title="Accueil de la commune")))
    frame = opened.page.frame_locator("iframe[data-syndication-frame]")
    expect(frame.locator("h1")).to_have_text("Ce widget ne peut pas s’afficher")
    expect(frame.locator("main")).to_contain_text("Le paramètre « count » du widget")
    expect(frame.locator("main")).to_contain_text("un nombre entier de 1 à 20")
    unknown = visit(host.publish(host_page(
        frame_snippet(service, "nope", {}, title="Actualités"), title="Accueil de la commune")))
    expect(unknown.page.frame_locator("iframe[data-syndication-frame]").locator("main")
           ).to_contain_text("Le flux « nope » n’existe pas.")
    alone = visit(f"{service}/embed/actualites/frame?count=50")
    violations = axe_violations(alone.page)
    assert violations == [], describe_violations(violations)
    assert opened.errors == [] and unknown.errors == []


def test_a_mistake_in_the_script_code_shows_the_editor_a_french_message(
        visit: Callable[..., Visit], host: HostSite, service: str) -> None:
    """The script reads the service's 400 from the town's origin (CORS) and shows its French
    sentence where the widget would be, the fallback link below it."""
    title = FEED_TITLES["actualites"]
    opened = visit(host.publish(host_page(
        script_snippet(service, "actualites", {"count": 50}, link_text=title),
        title="Accueil de la commune")))
    message = opened.page.locator(".syndication-embed [role=alert]")
    expect(message).to_contain_text("Le paramètre « count » du widget n’est pas valable.")
    expect(message).to_contain_text("un nombre entier de 1 à 20")
    expect(opened.page.locator(".syndication-embed > a")).to_be_visible()
    assert opened.errors == []


# --- the configurator -----------------------------------------------------------------------

# Where /embed/builder shows the code of each output (templates/embed/builder.html): textareas.
# The fragment's code is its URL, for the host's server to include (#code-php wraps it in PHP).
CODE_SELECTORS = {"script": "#code-script", "frame": "#code-iframe", "fragment": "#code-html"}


def builder_code(page: Page, output: str) -> str:
    return page.locator(CODE_SELECTORS[output]).input_value()


def configure(page: Page, choices: dict[str, str]) -> None:
    """Choose options in the configurator's form as a person would."""
    for name, value in choices.items():
        control = page.locator(f"form [name={name}]")
        kind = control.evaluate("control => control.tagName + ' ' + (control.type || '')")
        if kind.startswith("SELECT"):
            control.select_option(value)
        elif kind.endswith("checkbox"):
            control.set_checked(value == "1")
        else:
            control.fill(value)


def open_builder(visit: Callable[..., Visit], service: str) -> Visit:
    opened = visit(f"{service}/embed/builder")
    expect(opened.page.locator("html")).to_have_attribute("lang", "fr")
    return opened


@pytest.mark.parametrize("output", OUTPUTS)
def test_the_configurator_code_works_when_pasted_into_a_page(
        visit: Callable[..., Visit], host: HostSite, service: str, output: str) -> None:
    opened = open_builder(visit, service)
    page = opened.page
    configure(page, {"feed": "actualites", "layout": "cards", "count": "3"})
    preview = page.frame_locator("#preview").locator(".syndication-widget")
    expect(preview).to_have_class(re.compile(r"\bsyndication-widget--cards\b"))
    expect(preview.locator(ITEM)).to_have_count(3)
    code = page.locator(CODE_SELECTORS[output])
    expect(code).to_have_value(re.compile(r'count="?3'))  # the code follows the form
    pasted_code = builder_code(page, output)
    assert pasted_code.startswith(service) if output == "fragment" else service in pasted_code
    if output == "fragment":  # the host's server includes the URL, as the PHP example does
        assert f"readfile('{pasted_code}')" in page.locator("#code-php").input_value()
        pasted = host.publish(lambda: host_page(include(pasted_code, ""), title="Code collé"))
    else:
        pasted = host.publish(host_page(pasted_code, title="Code collé"))
    pasted_visit = visit(pasted)
    if output == "frame":
        frame = pasted_visit.page.locator("iframe")
        expect(frame).to_have_attribute("title", re.compile(r"\w"))
        root = frame.content_frame.locator(".syndication-widget")
    else:
        root = pasted_visit.page.locator(".syndication-widget")
    expect(root).to_have_class(re.compile(r"\bsyndication-widget--cards\b"))
    expect(root.locator(ITEM)).to_have_count(3)
    assert [text(title) for title in root.locator(LINK).all_text_contents()] == \
        latest_titles(service, "actualites", 3)
    if output == "frame":
        assert_frame_fits(pasted_visit.page, "iframe")
    assert opened.errors == [] and pasted_visit.errors == []


def test_the_configurator_refuses_colours_under_4_5_to_1(
        visit: Callable[..., Visit], service: str) -> None:
    opened = open_builder(visit, service)
    page = opened.page
    configure(page, {"feed": "actualites", "layout": "list", "color": "#595959"})
    expect(page.locator("#code-script")).to_have_value(re.compile("595959"))  # 7:1, accepted
    configure(page, {"color": "#777777", "background": "#888888"})
    expect(page.locator("#contrast")).to_contain_text(re.compile("contraste insuffisant",
                                                                 re.IGNORECASE))
    expect(page.locator("#contrast")).to_contain_text("4,5:1")
    for output in OUTPUTS:
        code = builder_code(page, output)
        assert "777777" not in code and "888888" not in code, code
    assert "888888" not in (page.locator("#preview").get_attribute("src") or "")
    assert opened.errors == []


def test_the_configurator_never_writes_a_value_the_widget_refuses(
        visit: Callable[..., Visit], service: str) -> None:
    """Numbers out of range are brought within it: the code pasted is always accepted."""
    opened = open_builder(visit, service)
    page = opened.page
    configure(page, {"feed": "actualites", "layout": "cards", "count": "50", "more": "30",
                     "columns": "9", "summary_length": "3"})
    expect(page.locator("#code-iframe")).to_have_value(re.compile(r"summary_length=40\b"))
    expect(page.locator("form [name=count]")).to_have_value("20")
    frame = re.search(r'src="([^"]+/frame[^"]*)"', builder_code(page, "frame"))[1]
    frame = frame.replace("&amp;", "&")
    for name, value in (("more", "20"), ("columns", "4"), ("summary_length", "40")):
        assert f"{name}={value}" in frame, frame
    assert httpx.get(frame, timeout=30).status_code == 200, frame
    assert httpx.get(builder_code(page, "fragment"), timeout=30).status_code == 200
    assert opened.errors == []


def test_axe_finds_nothing_serious_in_the_configurator(
        visit: Callable[..., Visit], service: str, axe: Path) -> None:
    opened = open_builder(visit, service)
    expect(opened.page.frame_locator("#preview").locator(".syndication-widget")).to_be_visible()
    violations = axe_violations(opened.page)
    assert violations == [], describe_violations(violations)


# --- screenshots (artifacts; docs/screenshots, linked from the README) ------------------------


# The ticker's items enter from the right: at the start of its animation (where a screenshot
# with animations disabled would show it) the track is still empty. Show it as a reader sees it
# once the first item has reached the left edge, the animation held there.
POSE_TICKER = """root => {
    const track = root.querySelector('.syndication-widget__track');
    const items = root.querySelector('.syndication-widget__items');
    for (const animation of items.getAnimations()) {
        const duration = animation.effect.getComputedTiming().duration;
        animation.pause();
        animation.currentTime = duration * track.clientWidth / items.offsetWidth;
    }
}"""


@pytest.mark.parametrize("width", [320, 1280])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_screenshot_of_each_layout(
        visit: Callable[..., Visit], host: HostSite, service: str, layout: str,
        width: int) -> None:
    """Each layout with its default options, clipped to the widget; 256 colours keep the
    committed PNGs small."""
    opened, root = embed(visit, host, service, "script", feed_for(layout), {"layout": layout},
                         width=width, height=2400)  # every lazy image within the first screen
    if layout == "ticker":
        root.evaluate(POSE_TICKER)
    shot = opened.page.locator(".syndication-embed").screenshot(animations="allow", caret="hide")
    image = Image.open(io.BytesIO(shot))
    assert 0 < image.width <= width and image.height > 0
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 24) or []) > 2  # not blank
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) \
        .save(SCREENSHOTS / f"{layout}-{width}.png", optimize=True)
