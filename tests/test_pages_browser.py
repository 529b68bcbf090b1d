"""The pages for people in a real browser (the system's Chromium through Playwright): a feed's
page renders its items, photo credits and subscribe instructions as plain HTML, with no XSLT
involved; the index leads to it; the e-mail digest holds in a 600 px window. Each page passes
axe-core with no serious or critical finding, and runs under the service's own CSP (a violation
would show as a console error)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from .browser_harness import axe_violations, describe_violations
from .test_widgets_browser import Visit, axe, expect, service, visit

__all__ = ["axe", "service", "visit"]  # fixtures, shared with the widgets' tests



def test_the_feed_page_renders_items_credits_and_how_to_subscribe_without_xslt(
        visit: Callable[..., Visit], service: str, axe: Path) -> None:
    opened = visit(f"{service}/feeds/actualites", width=320)
    page = opened.page
    assert page.evaluate("document.contentType") == "text/html"
    assert not any(url.endswith(".xsl") for url in opened.requests), opened.requests
    expect(page.locator("h1")).to_have_text("Toutes les actualités de la Région")
    items = page.locator("article.item")
    expect(items).to_have_count(10)
    expect(items.first.locator("h3 a")).to_be_visible()
    credit = page.locator("figcaption.credit").first
    expect(credit).to_be_visible()
    expect(credit).to_have_text(r"Crédit photo : © Julien Marchetti")
    expect(page.get_by_label("Adresse RSS")).to_have_value(f"{service}/feeds/actualites.rss")
    expect(page.get_by_role("link", name="S’abonner avec Feedly")).to_be_visible()
    expect(page.get_by_role("heading", name="S’abonner")).to_be_visible()
    # Nothing wider than a phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    violations = axe_violations(page)
    assert violations == [], describe_violations(violations)
    assert opened.errors == []


def test_the_index_leads_to_each_feed_page_the_builder_the_digest_and_the_status(
        visit: Callable[..., Visit], service: str, axe: Path) -> None:
    opened = visit(f"{service}/")
    page = opened.page
    expect(page.get_by_role("link", name="Créer un widget")).to_be_visible()
    expect(page.get_by_role("link", name="État des sources", exact=True)).to_be_visible()
    page.get_by_role("link", name="Toutes les actualités de la Région").first.click()
    expect(page).to_have_url(f"{service}/feeds/actualites")
    expect(page.locator("article.item").first).to_be_visible()
    violations = axe_violations(opened.page)
    assert violations == [], describe_violations(violations)
    assert opened.errors == []


def test_the_email_digest_fits_600_px_and_shows_its_news(
        visit: Callable[..., Visit], service: str, axe: Path) -> None:
    """What a newsletter tool sends as is, in a 600 px reading pane."""
    opened = visit(f"{service}/digest/actualites.html?full=1", width=600)
    page = opened.page
    expect(page).to_have_title("Toutes les actualités de la Région")
    expect(page.locator("h1")).to_have_text("Toutes les actualités de la Région")
    expect(page.locator("h2").first).to_be_visible()
    assert page.locator("h2").count() >= 5
    expect(page.get_by_text("Publications du ")).to_be_visible()
    expect(page.locator("body > div").first).to_be_hidden()  # the preheader
    page.evaluate("Promise.all([...document.images].map(i => i.decode().catch(() => null)))")
    assert page.evaluate("document.documentElement.scrollWidth") <= 600
    widest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('body *')]"
        ".map(e => e.getBoundingClientRect().right))")
    assert widest <= 600, widest
    violations = axe_violations(page)
    assert violations == [], describe_violations(violations)
    assert opened.errors == []


def test_the_builder_opened_from_a_feed_page_offers_that_feeds_tags(
        visit: Callable[..., Visit], service: str) -> None:
    opened = visit(f"{service}/feeds/actualites")
    page = opened.page
    page.get_by_role("link", name="Créer un widget de ce flux").click()
    expect(page.locator("#feed")).to_have_value("actualites")
    expect(page.frame_locator("#preview").locator(".syndication-widget__item").first
           ).to_be_visible()
    options = page.locator("#tag-list option")
    expect(options.first).to_be_attached()
    offered = options.evaluate_all("options => options.map(o => o.value)")
    assert "Solidarité" in offered
    page.locator("#feed").select_option("region-solidaire")
    expect(page.locator("#tag-list option[value='Région solidaire']")).to_be_attached()
    dossier = options.evaluate_all("options => options.map(o => o.value)")
    assert dossier != offered and len(dossier) < len(offered), (dossier, offered)
    page.locator("#feed").select_option("actualites")
    page.locator("#tag").fill("Solidarité")
    expect(page.locator("#code-iframe")).to_have_value(re.compile("tag=Solidarit%C3%A9"))
    assert opened.errors == []
