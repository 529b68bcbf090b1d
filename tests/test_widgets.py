"""The embeddable widgets, server side: sample site over loopback → refresh → real Redis → Flask
test client → /embed/{feed}.html, /frame, .js, /embed/resize.js, /embed/builder, read with
BeautifulSoup. What a browser does with them (Shadow DOM, resizing, hostile host CSS, axe) is in
test_widgets_browser.py; here: every option, every bad input, the headers, the French.

The module's store is filled once by the real pipeline (`region-solidaire`, `actualites`), like
test_digest.py; `plan-climat` is never refreshed, so its feed is empty.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import brotli
import pytest
from bs4 import BeautifulSoup, Tag
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis

from syndication.app import create_app
from syndication.errors import ConfigError, InvalidParameter
from syndication.model import Catalogue, Item
from syndication.refresh import refresh
from syndication.render.french import french_date
from syndication.render.widget import widget_script
from syndication.render.widget_options import (
    FONTS,
    LAYOUTS,
    MIN_CONTRAST,
    PALETTES,
    WidgetOptions,
    contrast_ratio,
    parse_widget_options,
)
from syndication.runtime import Runtime
from syndication.web.embed import frame_ancestors_policy

from .conftest import fast, filled_runtime, make_catalogue, make_runtime

PROBLEM = "application/problem+json"
NBSP = "\u00a0"
# As the page writes them ("Mds"), on every surface: amount and unit are for machines.
DOSSIER_FIGURES = [("1,1 Md €", "pour le pacte rural"),
                   ("3,2 Mds €", "pour le pacte avec les quartiers populaires"),
                   ("7,7 Mds €", "pour faire de l’Île-de-France une terre d’innovation "
                                 "sociale et d’engagements solidaires")]
FRENCH_DATE = re.compile(r"^(1er|[12]?\d|3[01]) (janvier|février|mars|avril|mai|juin|juillet|"
                         r"août|septembre|octobre|novembre|décembre) \d{4}$")
HOSTILE = '"><script>alert(1)</script><style>*{display:none}</style>'


# --- fixtures ------------------------------------------------------------------------------


@dataclass
class Filled:
    runtime: Runtime
    site: str
    prefix: str


@pytest.fixture(scope="module")
def filled(redis_client: Redis, sample_site: str) -> Iterator[Filled]:
    with filled_runtime(redis_client, sample_site) as (service, _):
        yield Filled(service, sample_site, service.settings.redis_prefix)


@pytest.fixture(scope="module")
def flask_app(filled: Filled, http_path: str) -> Iterator[Flask]:
    application = create_app(runtime=filled.runtime, fast_path=fast(http_path))
    yield application
    application.extensions["syndication.cache"].close()


@pytest.fixture(scope="module")
def web(flask_app: Flask) -> FlaskClient:
    return flask_app.test_client()


# --- helpers -------------------------------------------------------------------------------


def _get_ok(client: FlaskClient, url: str, **kwargs: Any) -> Any:
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code, response.get_data(True))
    return response


def _widget(client: FlaskClient, feed: str = "actualites", **options: object) -> Tag:
    """The fragment's root element, checked to be the only top-level element."""
    response = _get_ok(client, f"/embed/{feed}.html?{urlencode(options)}")
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    soup = BeautifulSoup(response.data, "html.parser")
    roots = [child for child in soup.children if isinstance(child, Tag)]
    assert len(roots) == 1
    return roots[0]


def _items(root: Tag) -> list[Tag]:
    return root.select("ul.syndication-widget__items > li.syndication-widget__item")


def _bad_request(client: FlaskClient, url: str, parameter: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 400, (url, response.status_code, response.get_data(True))
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["status"] == 400 and problem["parameter"] == parameter
    return problem


def _feed_items(filled: Filled, feed: str) -> list[Item]:
    return filled.runtime.store.feed_items(feed, limit=500)


# --- the fragment: structure and content ---------------------------------------------------


def test_fragment_root_is_the_documented_element_with_its_style_first(web: FlaskClient) -> None:
    root = _widget(web)
    assert root.name == "div"
    assert root["class"] == ["syndication-widget", "syndication-widget--list",
                             "syndication-widget--theme-light"]
    assert root["lang"] == "fr"
    assert root["data-syndication-widget"] == "actualites"
    first = next(child for child in root.children if isinstance(child, Tag))
    assert first.name == "style"
    # Scoped: every rule of the stylesheet names the widget (or the shadow host).
    css = re.sub(r"@media[^{]*\{", "", first.string)
    selectors = [s.strip() for s in re.findall(r"([^{}]+)\{", css)
                 if not s.strip().startswith("@") and s.strip() not in ("to", "from")]
    assert selectors and all(
        part.strip().startswith((".syndication-widget", ":host"))
        for selector in selectors for part in selector.split(","))


def test_list_items_are_the_newest_of_the_feed_with_linked_titles_and_french_dates(
        web: FlaskClient, filled: Filled) -> None:
    root = _widget(web)
    stored = _feed_items(filled, "actualites")[:5]
    items = _items(root)
    assert len(items) == 5  # the default count
    for li, item in zip(items, stored, strict=True):
        heading = li.find(["h3"])
        assert heading is not None and heading["class"] == ["syndication-widget__item-title"]
        link = heading.find("a", class_="syndication-widget__link")
        assert link["href"] == item.url and link.get_text() == item.title
        assert "target" not in link.attrs
        time = li.find("time")
        assert item.published is not None  # the news pages say when they were published
        assert datetime.fromisoformat(time["datetime"]) == item.published
        assert time.get_text() == french_date(item.published)
        assert FRENCH_DATE.match(time.get_text())
        summary = li.find("p", class_="syndication-widget__summary")
        assert summary is not None and summary.get_text().startswith(item.summary[:30])
    header = root.find("h2", class_="syndication-widget__title")
    assert header.get_text() == filled.runtime.catalogue.feeds["actualites"].title
    footer = root.find("a", class_="syndication-widget__all")
    assert footer.get_text(" ", strip=True).startswith("Toutes les actualités")
    assert footer["href"] == f"{filled.site}/toutes-les-actualites"


def test_first_of_the_month_is_written_1er(web: FlaskClient) -> None:
    dates = [time.get_text() for time in _widget(web, count=20).find_all("time")]
    assert any(text.startswith("1er ") for text in dates), dates


def test_images_are_decorative_resized_copies_with_their_size(web: FlaskClient) -> None:
    images = _widget(web).find_all("img")
    assert images
    for image in images:
        assert image["alt"] == ""
        assert re.fullmatch(r"http://localhost/images/[0-9a-f-]+/300\.(jpg|png)", image["src"])
        assert int(image["width"]) <= 300 and int(image["height"]) > 0
        assert image["loading"] == "lazy"


def test_cards_use_the_600px_copy_with_the_300px_one_in_srcset(web: FlaskClient) -> None:
    root = _widget(web, layout="cards", columns=2)
    assert "syndication-widget--cards" in root["class"]
    assert "--sw-columns: 2" in root["style"]
    image = root.find("img")
    assert image["src"].endswith("/600.jpg")
    assert re.fullmatch(r"\S+/300\.jpg 300w, \S+/600\.jpg \d+w", image["srcset"])


@pytest.mark.parametrize("layout", ["list", "cards", "headlines", "ticker"])
def test_the_photo_credit_is_shown_under_every_photo(web: FlaskClient, filled: Filled,
                                                      layout: str) -> None:
    stored = {item.url: item for item in _feed_items(filled, "region-solidaire")}
    for path in ("/embed/region-solidaire.html", "/embed/region-solidaire/frame"):
        response = _get_ok(web, f"{path}?{urlencode({'layout': layout, 'image': 1})}")
        items = _items(BeautifulSoup(response.data, "html.parser"))
        credited = 0
        for li in items:
            item = stored[li.find("a", class_="syndication-widget__link")["href"]]
            image = li.find("img")
            credit = li.find(class_="syndication-widget__credit")
            if image is None or not item.image or not item.image.credit:
                assert credit is None
                continue
            # Next to its photo, visible, and said by screen readers as a credit.
            assert image.find_parent("figure") is credit.find_parent("figure") is not None
            assert credit.get_text() == f"Crédit photo : © {item.image.credit}"
            assert credit.find(class_="syndication-widget__sr").get_text() == "Crédit photo : "
            credited += 1
        assert credited, f"no credited photo in {path} ({layout})"
    dossier = _widget(web, "region-solidaire", count=20)
    assert "© Andrea Piacquadio" in dossier.get_text()


def test_an_item_without_a_publication_date_says_when_it_was_updated(web: FlaskClient,
                                                                     filled: Filled) -> None:
    [li] = [li for li in _items(_widget(web, "region-solidaire", count=20))
            if li.find("a").get_text() == "Région solidaire"]
    time = li.find("time")
    # The dossier declares only dateModified: no "publication" on the day it was read.
    assert time.get_text() == "Mis à jour le 15 septembre 2026"
    assert time["datetime"].startswith("2026-09-15")


def test_headlines_have_neither_images_nor_summaries_unless_asked(web: FlaskClient) -> None:
    root = _widget(web, layout="headlines")
    assert _items(root) and not root.find("img")
    assert not root.find(class_="syndication-widget__summary")
    asked = _widget(web, layout="headlines", image=1, summary=1)
    assert asked.find("img") and asked.find(class_="syndication-widget__summary")


def test_figures_show_the_dossier_key_figures_in_french(web: FlaskClient,
                                                       filled: Filled) -> None:
    root = _widget(web, "region-solidaire", layout="figures")
    rows = root.select("ul.syndication-widget__figures > li")
    shown = [(li.find(class_="syndication-widget__figure-value").get_text(),
              li.find(class_="syndication-widget__figure-label").get_text()) for li in rows]
    assert shown == DOSSIER_FIGURES
    dossier = next(i for i in _feed_items(filled, "region-solidaire") if i.figures)
    assert [value for value, _ in shown] == [f.value_text for f in dossier.figures]
    assert root.find("a", class_="syndication-widget__all")["href"] == dossier.url
    assert len(_widget(web, "region-solidaire", layout="figures", count=2)
               .select(".syndication-widget__figures > li")) == 2


def test_figures_of_a_feed_without_any_say_so(web: FlaskClient) -> None:
    root = _widget(web, "actualites", layout="figures")
    assert not root.find(class_="syndication-widget__figures")
    assert "Aucun chiffre clé" in root.get_text()


def test_ticker_has_a_pause_button_revealed_by_the_script(web: FlaskClient) -> None:
    root = _widget(web, layout="ticker", count=4)
    button = root.find("button", class_="syndication-widget__pause")
    assert button["type"] == "button" and button["aria-pressed"] == "false"
    assert button.has_attr("hidden")  # without a script the ticker does not move
    assert "Mettre en pause" in button.get_text()
    assert len(_items(root)) == 4 and not root.find("img")
    assert "--sw-ticker-duration: 24s" in root["style"]
    css = root.find("style").string
    assert "prefers-reduced-motion: reduce" in css
    assert "syndication-widget--paused" in css and "animation-play-state: paused" in css


def test_an_empty_feed_says_so_in_french(web: FlaskClient) -> None:
    root = _widget(web, "plan-climat")
    assert not _items(root)
    assert "Aucune publication pour le moment." in root.get_text()


# --- options -------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 3, 20])
def test_count_caps_the_items(web: FlaskClient, filled: Filled, count: int) -> None:
    expected = min(count, len(_feed_items(filled, "actualites")))
    assert len(_items(_widget(web, count=count))) == expected


@pytest.mark.parametrize("name", ["image", "date", "summary"])
def test_each_part_of_an_item_can_be_hidden(web: FlaskClient, name: str) -> None:
    selector = {"image": "img", "date": "time", "summary": ".syndication-widget__summary"}[name]
    assert _widget(web).select(selector)
    assert not _widget(web, **{name: 0}).select(selector)


def test_summary_length_cuts_at_a_word_with_an_ellipsis(web: FlaskClient,
                                                        filled: Filled) -> None:
    root = _widget(web, summary_length=40)
    stored = _feed_items(filled, "actualites")[:5]
    for li, item in zip(_items(root), stored, strict=True):
        text = li.find(class_="syndication-widget__summary").get_text()
        assert len(text) <= 41
        if len(item.summary) > 40:
            assert text.endswith("…")
            assert item.summary.startswith(text[:-1].rstrip(" ,;:.–—-"))
            assert item.summary[len(text) - 1] in " ,;:.–—-" or text[-2] == " " or (
                item.summary[len(text[:-1])] == " ")


def test_title_replaces_the_feed_title_and_an_empty_title_hides_the_header(
        web: FlaskClient) -> None:
    root = _widget(web, title="Nos actualités")
    assert root.find("h2", class_="syndication-widget__title").get_text() == "Nos actualités"
    assert root.find("h3", class_="syndication-widget__item-title")
    hidden = _widget(web, title="")
    assert not hidden.find(class_="syndication-widget__title")
    # No header: items move up to the given level, so the outline has no gap.
    assert hidden.find("h2", class_="syndication-widget__item-title")


@pytest.mark.parametrize("heading", [2, 3, 4])
def test_heading_sets_the_level_of_the_header_and_items_sit_one_below(
        web: FlaskClient, heading: int) -> None:
    root = _widget(web, heading=heading)
    assert root.find(f"h{heading}", class_="syndication-widget__title")
    assert len(root.find_all(f"h{heading + 1}", class_="syndication-widget__item-title")) == 5


def test_new_tab_opens_links_in_a_new_window_and_says_so(web: FlaskClient) -> None:
    root = _widget(web, new_tab=1)
    links = root.find_all("a")
    assert links
    for link in links:
        assert link["target"] == "_blank" and link["rel"] == ["noopener"]
        hidden = link.find("span", class_="syndication-widget__sr", string=re.compile("fenêtre"))
        assert hidden is not None and hidden.get_text() == " (nouvelle fenêtre)"


@pytest.mark.parametrize("theme", ["light", "dark", "auto"])
def test_theme_is_a_class_of_the_root(web: FlaskClient, theme: str) -> None:
    assert f"syndication-widget--theme-{theme}" in _widget(web, theme=theme)["class"]


def test_colours_are_parsed_and_written_back_as_six_digit_hex(web: FlaskClient) -> None:
    root = _widget(web, color="#FFF", background="#102030", accent="#ffd700", theme="dark")
    declarations = dict(part.split(": ", 1) for part in root["style"].split("; "))
    assert declarations == {"--syndication-color": "#ffffff",
                            "--syndication-background": "#102030",
                            "--syndication-accent": "#ffd700"}
    # "#" is often left unencoded (then the browser drops it): bare hex digits are accepted.
    assert "--syndication-accent: #000091" in _widget(web, accent="000091")["style"]


@pytest.mark.parametrize("font", sorted(FONTS))
def test_font_keywords_become_fixed_stacks(web: FlaskClient, font: str) -> None:
    style = _widget(web, font=font).get("style", "")
    if font == "system":
        assert "--syndication-font" not in style  # the stylesheet's default
    else:
        assert f"--syndication-font: {FONTS[font]}" in style


def test_more_hides_the_items_after_the_first_ones_behind_a_button(web: FlaskClient) -> None:
    root = _widget(web, count=5, more=2)
    items = _items(root)
    assert ["syndication-widget__item--more" in li["class"] for li in items] == [
        False, False, True, True, True]
    button = root.find("button", class_="syndication-widget__more")
    assert button.get_text() == "Voir plus" and button["aria-expanded"] == "true"
    assert button.has_attr("hidden")  # every item shows until the script collapses them
    assert not _widget(web, count=5).find("button")


def test_tag_keeps_the_items_of_that_tag(web: FlaskClient, filled: Filled) -> None:
    tagged = {item.url for item in _feed_items(filled, "actualites") if "Solidarité" in item.tags}
    assert tagged
    links = [a["href"] for a in _widget(web, tag="solidarité", count=20)
             .select(".syndication-widget__link")]
    assert links and set(links) <= tagged and len(links) == min(20, len(tagged))


def test_default_options_have_an_empty_query_and_others_only_what_differs() -> None:
    assert WidgetOptions().query() == {}
    assert parse_widget_options({"layout": "headlines", "image": "0"}).query() == {
        "layout": "headlines"}
    options = parse_widget_options({"count": "7", "new_tab": "1", "title": "", "more": "3"})
    assert options.query() == {"count": "7", "title": "", "new_tab": "1", "more": "3"}
    assert parse_widget_options(options.query()) == options


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "parameter"), [
    ("layout=carousel", "layout"),
    ("layout=LIST", "layout"),
    ("count=0", "count"), ("count=21", "count"), ("count=-1", "count"), ("count=2.5", "count"),
    ("count=%EF%BC%95", "count"),  # a full-width digit
    ("count=99999999999999999999999", "count"),
    ("columns=0", "columns"), ("columns=5", "columns"),
    ("image=yes", "image"), ("date=true", "date"), ("summary=2", "summary"),
    ("summary_length=39", "summary_length"), ("summary_length=501", "summary_length"),
    ("heading=1", "heading"), ("heading=5", "heading"),
    ("new_tab=on", "new_tab"),
    ("theme=neon", "theme"),
    ("color=red", "color"), ("color=%2312345", "color"), ("color=%23gggggg", "color"),
    ("background=%23000000%3Bposition:fixed", "background"),
    ("accent=url(javascript:alert(1))", "accent"),
    ("color=%23fff%7D*%7Bdisplay:none", "color"),
    ("font=Comic%20Sans", "font"), ("font=serif;color:red", "font"),
    ("count=3&more=4", "more"), ("more=-1", "more"),
    ("title=" + "x" * 201, "title"), ("tag=" + "x" * 101, "tag"),
])
def test_bad_options_are_a_400_naming_the_parameter(web: FlaskClient, query: str,
                                                    parameter: str) -> None:
    value = parse_qs(query, keep_blank_values=True)[parameter][-1]
    problem = _bad_request(web, f"/embed/actualites.html?{query}", parameter)
    # The script reads it from another origin, and shows its French sentence.
    assert f"« {parameter} »" in problem["detail_fr"]
    if len(value) > 3:
        assert value not in problem["detail"]  # never repeated back
        assert value not in problem["detail_fr"]
    page = _frame_error(web, f"/embed/actualites/frame?{query}", 400)
    assert f"« {parameter} »" in page.select_one(".message").get_text()
    assert page.select_one(".allowed").get_text().startswith("Valeur attendue : ")
    if len(value) > 3:
        assert value not in str(page)


def _frame_error(client: FlaskClient, url: str, status: int) -> BeautifulSoup:
    """The iframe's error page: HTML in French, framable where the widgets are, nothing run."""
    response = client.get(url)
    assert response.status_code == status, (url, response.get_data(True))
    assert response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in policy and "'self'" not in policy
    assert "script-src 'none'" in policy
    page = BeautifulSoup(response.data, "html.parser")
    assert page.html["lang"] == "fr" and page.h1.get_text() == "Ce widget ne peut pas s’afficher"
    assert not page.find("script")
    return page


def test_the_frame_error_page_says_what_count_accepts(web: FlaskClient) -> None:
    page = _frame_error(web, "/embed/actualites/frame?count=50", 400)
    assert page.select_one(".allowed").get_text() == (
        "Valeur attendue : un nombre entier de 1 à 20.")
    assert page.find("a", href=re.compile(r"/embed/builder$"))


def test_the_frame_error_page_names_an_unknown_feed_escaped_and_lists_the_feeds(
        web: FlaskClient) -> None:
    page = _frame_error(web, "/embed/nope/frame", 404)
    assert page.select_one(".message").get_text() == "Le flux « nope » n’existe pas."
    assert "actualites" in page.select_one(".allowed").get_text()
    hostile = web.get("/embed/%3Cimg%20src=x%20onerror=alert(1)%3E/frame")
    assert hostile.status_code == 404 and b"<img" not in hostile.data
    assert b"&lt;img src=x onerror=alert(1)&gt;" in hostile.data


def test_widget_errors_are_readable_from_other_origins(web: FlaskClient) -> None:
    for url in ("/embed/actualites.html?count=50", "/embed/nope.html", "/embed/nope.js"):
        response = web.get(url, headers={"Origin": "https://mairie.example"})
        assert response.status_code in (400, 404), url
        assert response.headers["Access-Control-Allow-Origin"] == "*", url
        assert response.get_json()["detail_fr"], url


def test_unknown_feed_is_a_404_for_every_output(web: FlaskClient) -> None:
    for url in ("/embed/nope.html", "/embed/nope.js", "/embed/nope/go"):
        response = web.get(url)
        assert response.status_code == 404 and response.mimetype == PROBLEM, url
    assert web.get("/embed/nope/frame").status_code == 404  # a page: see _frame_error


def test_unknown_parameters_are_ignored(web: FlaskClient) -> None:
    assert _items(_widget(web, utm_source="mairie", v="3"))


@pytest.mark.parametrize(("options", "parameter"), [
    ({"color": "#777777"}, "color"),  # 4.48:1 on white
    ({"background": "#000000"}, "background"),  # the light theme's dark text on black
    ({"accent": "#ffff00"}, "accent"),
    ({"theme": "dark", "accent": "#000091"}, "accent"),
    ({"theme": "auto", "color": "#000000"}, "color"),  # fine in light, not on the dark background
    ({"color": "#123456", "background": "#123456"}, "color"),
])
def test_colour_pairs_under_4_5_to_1_are_refused(web: FlaskClient, options: dict[str, str],
                                                 parameter: str) -> None:
    problem = _bad_request(web, f"/embed/actualites.html?{urlencode(options)}", parameter)
    assert "contrast" in problem["detail"] and "4.5:1" in problem["detail"]


def test_contrast_ratio_is_the_wcag_formula() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#777777") == pytest.approx(1.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("scheme", sorted(PALETTES))
def test_every_theme_meets_the_contrast_minimum(scheme: str) -> None:
    palette = PALETTES[scheme]
    for name in ("color", "accent"):
        assert contrast_ratio(palette[name], palette["background"]) >= MIN_CONTRAST
    css = _widget_css()
    # The stylesheet's theme colours are the palettes the server checks against.
    if scheme == "light":
        block = re.search(r"\.syndication-widget \{([^}]*)\}", css)[1]
    else:
        block = re.search(r"\.syndication-widget--theme-dark \{([^}]*)\}", css)[1]
    for name, property_name in (("color", "--sw-color"), ("background", "--sw-background"),
                                ("accent", "--sw-accent")):
        assert f"{property_name}: {palette[name]}" in block


def _widget_css() -> str:
    from syndication.render.widget import WIDGET_CSS

    return WIDGET_CSS


OPTION_NAMES = ["layout", "count", "columns", "image", "date", "summary", "summary_length",
                "title", "heading", "new_tab", "theme", "color", "background", "accent", "font",
                "more", "tag"]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(OPTION_NAMES),
       value=st.one_of(st.text(max_size=60), st.sampled_from([
           HOSTILE, "</style><script>x</script>", "#fff;}*{x:y}", "1e3", "٣", " 3 ", "\x00",
           "javascript:alert(1)", "#0000", "ａ"])))
def test_any_option_value_is_a_page_or_a_400_never_a_500_nor_reflected(
        web: FlaskClient, name: str, value: str) -> None:
    response = web.get(f"/embed/actualites.html?{urlencode({name: value})}")
    assert response.status_code in (200, 400), response.get_data(True)
    body = response.get_data(as_text=True)
    if response.status_code == 400:
        assert response.get_json()["parameter"] == name
        if len(value.strip()) > 3:
            assert value.strip() not in response.get_json()["detail"]
        return
    # Accepted: free texts are escaped text, everything else a known keyword or number.
    soup = BeautifulSoup(body, "html.parser")
    assert not soup.find("script") and len(soup.find_all("style")) == 1
    for element in soup.find_all(True):
        for attribute, raw in element.attrs.items():
            text = " ".join(raw) if isinstance(raw, list) else raw
            assert "<" not in text and not text.lower().startswith("javascript:"), attribute
    style = soup.div.get("style", "")
    assert re.fullmatch(r"(--[a-z-]+: [^;<>{}]+)?(; --[a-z-]+: [^;<>{}]+)*", style), style
    if name == "title":
        shown = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", value).split())
        header = soup.find(class_="syndication-widget__title")
        assert (header.get_text() if header else "") == (
            shown if value != "" else ""), (header, shown)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(OPTION_NAMES), st.text(max_size=12), max_size=6))
def test_parse_widget_options_raises_only_invalid_parameter(args: dict[str, str]) -> None:
    try:
        options = parse_widget_options(args)
    except InvalidParameter as error:
        assert error.parameter in args
        return
    assert options.layout in LAYOUTS and 1 <= options.count <= 20
    assert parse_widget_options(options.query()) == options


# --- the frame -----------------------------------------------------------------------------


def test_frame_is_a_french_page_whose_links_leave_the_frame(web: FlaskClient,
                                                            filled: Filled) -> None:
    response = _get_ok(web, "/embed/actualites/frame?layout=cards&count=3")
    soup = BeautifulSoup(response.data, "html.parser")
    assert soup.html["lang"] == "fr"
    title = filled.runtime.catalogue.feeds["actualites"].title
    assert soup.title.get_text() == f"{title} : dernières publications"
    widget = soup.body.find("div", class_="syndication-widget")
    assert widget is not None and len(_items(widget)) == 3
    assert {a["target"] for a in widget.find_all("a")} == {"_top"}
    assert {a["target"] for a in BeautifulSoup(
        _get_ok(web, "/embed/actualites/frame?new_tab=1").data, "html.parser").select(
        ".syndication-widget a")} == {"_blank"}
    script = soup.body.find_all("script")[-1].string
    for needle in ("message: 'height'", "syndication:height", "#\\?(?:.*&)?secret=",
                   "ResizeObserver", "message: 'link'", "enhanceWidget"):
        assert needle in script


def test_frame_announces_its_oembed_answer(web: FlaskClient) -> None:
    response = _get_ok(web, "/embed/actualites/frame?layout=headlines")
    soup = BeautifulSoup(response.data, "html.parser")
    link = soup.find("link", type="application/json+oembed")
    expected = "http://localhost/oembed?" + urlencode({
        "url": "http://localhost/embed/actualites/frame?layout=headlines", "format": "json"})
    assert link["href"] == expected
    assert response.headers["Link"] == (f'<{expected}>; rel="alternate"; '
                                        'type="application/json+oembed"')
    assert _get_ok(web, expected.removeprefix("http://localhost")).get_json()["type"] == "rich"


def test_go_redirects_to_items_of_the_feed_and_nowhere_else(web: FlaskClient,
                                                           filled: Filled) -> None:
    item = _feed_items(filled, "actualites")[0]
    response = web.get(f"/embed/actualites/go?url={quote(item.url, safe='')}")
    assert response.status_code == 302 and response.headers["Location"] == item.url
    home = f"{filled.site}/toutes-les-actualites"
    assert web.get(f"/embed/actualites/go?url={quote(home)}").headers["Location"] == home
    for url in ("https://evil.example/", "javascript:alert(1)", "", "http://[x",
                _feed_items(filled, "region-solidaire")[0].url + "?x"):
        response = web.get(f"/embed/actualites/go?url={quote(url, safe='')}")
        assert response.status_code == 404 and "Location" not in response.headers, url


# --- the scripts ---------------------------------------------------------------------------


def test_script_is_one_small_file_for_every_feed(web: FlaskClient) -> None:
    first = _get_ok(web, "/embed/actualites.js")
    second = _get_ok(web, "/embed/region-solidaire.js")
    assert first.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert first.data == second.data == widget_script().encode()
    source = first.get_data(as_text=True)
    for needle in ("document.currentScript", "attachShadow({mode: 'open'})",
                   "credentials: 'omit'", "console.warn", ".catch(", "syndication-embed",
                   "/embed/' + found[2] + '.html?"):
        assert needle in source
    assert "console.error" not in source and "throw" not in source.split(".catch(")[1]
    gzipped = len(gzip.compress(first.data, compresslevel=9))
    assert gzipped < 2048, gzipped  # budget: a script pasted into every page must stay small


def test_resize_script_checks_origin_and_source(web: FlaskClient) -> None:
    response = _get_ok(web, "/embed/resize.js")
    source = response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert "iframe[data-syndication-frame]" in source
    assert "contentWindow !== event.source" in source
    assert "origin === event.origin" in source
    assert len(gzip.compress(response.data)) < 1024


def policy(response: Any) -> dict[str, str]:
    """A response's Content-Security-Policy, directive → its sources."""
    directives = (part.strip().split(" ", 1) for part in
                  response.headers["Content-Security-Policy"].split(";") if part.strip())
    return {name: value for name, value in directives}


# --- the configurator ----------------------------------------------------------------------


def test_builder_is_a_french_form_with_a_preview_and_the_three_codes(
        web: FlaskClient, filled: Filled) -> None:
    response = _get_ok(web, "/embed/builder")
    assert policy(response)["frame-ancestors"] == "'self'"
    assert policy(response)["script-src"] == "'self'"
    soup = BeautifulSoup(response.data, "html.parser")
    assert soup.html["lang"] == "fr" and "widget" in soup.title.get_text()
    feeds = [option["value"] for option in soup.find("select", id="feed").find_all("option")]
    assert feeds == list(filled.runtime.catalogue.feeds)
    assert [o["value"] for o in soup.find("select", id="layout").find_all("option")] == list(
        LAYOUTS)
    for control in soup.find_all(["input", "select", "textarea"]):
        assert control.get("aria-label") or soup.find("label", attrs={"for": control["id"]}), (
            control["id"])
    for code in ("code-script", "code-iframe", "code-html", "code-wordpress", "code-php"):
        assert soup.find("textarea", id=code) is not None
    preview = soup.find("iframe", id="preview")
    assert preview["title"] and preview.has_attr("data-syndication-frame")
    config = json.loads(soup.find("script", id="builder-config").string)
    assert config["min_contrast"] == 4.5 and config["palettes"] == PALETTES
    sources = [script.get("src") for script in soup.find_all("script") if script.get("src")]
    assert sources == ["/static/embed/builder.js", "/embed/resize.js"]
    static = _get_ok(web, "/static/embed/builder.js")
    builder_js = static.get_data(as_text=True)
    static.close()
    for needle in ("0.2126", "0.7152", "0.0722", "0.04045", "2.4", "min_contrast",
                   "/embed/' + feed + '/frame'", "data-syndication-frame"):
        assert needle in builder_js
    assert len(gzip.compress(builder_js.encode())) < 4096


# --- headers -------------------------------------------------------------------------------


EMBED_URLS = ["/embed/actualites.html", "/embed/actualites/frame", "/embed/actualites.js",
              "/embed/resize.js"]


@pytest.mark.parametrize("url", EMBED_URLS)
def test_widgets_may_be_framed_anywhere_are_cors_open_and_set_no_cookie(
        web: FlaskClient, url: str) -> None:
    response = _get_ok(web, url, headers={"Origin": "https://mairie.example"})
    assert policy(response)["frame-ancestors"] == "*"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Set-Cookie" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "public" in response.headers["Cache-Control"]


@pytest.mark.parametrize("url", ["/", "/embed/builder", "/feeds/actualites.rss", "/status",
                                 "/embed/nope.html"])
def test_other_pages_may_be_framed_by_this_service_only(web: FlaskClient, url: str) -> None:
    response = web.get(url)
    assert policy(response)["frame-ancestors"] == "'self'"
    assert policy(response)["script-src"] == "'self'"  # no inline script, no other origin
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_frame_runs_its_own_inline_script_and_nothing_else(web: FlaskClient) -> None:
    response = _get_ok(web, "/embed/actualites/frame")
    [source] = BeautifulSoup(response.data, "html.parser").find_all("script")
    digest = base64.b64encode(hashlib.sha256(source.string.encode()).digest()).decode()
    assert policy(response)["script-src"] == f"'sha256-{digest}'"
    assert policy(response)["object-src"] == "'none'"


def test_nothing_runs_in_a_digest(web: FlaskClient) -> None:
    response = _get_ok(web, "/digest/actualites.html")
    assert policy(response)["script-src"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(("method", "url", "allowed"), [
    ("POST", "/feeds/actualites.rss", {"GET", "HEAD", "OPTIONS"}),
    ("DELETE", "/embed/actualites/frame", {"GET", "HEAD", "OPTIONS"}),
    ("GET", "/hub", {"POST", "OPTIONS"}),
])
def test_a_405_says_which_methods_are_allowed(web: FlaskClient, method: str, url: str,
                                              allowed: set[str]) -> None:
    response = web.open(url, method=method)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("url", EMBED_URLS + ["/embed/actualites.html?layout=cards&count=3"])
def test_widgets_revalidate_with_etags_and_compress(web: FlaskClient, url: str) -> None:
    first = _get_ok(web, url)
    etag = first.headers["ETag"]
    again = web.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    assert policy(again)["frame-ancestors"] == "*"
    compressed = _get_ok(web, url, headers={"Accept-Encoding": "br, gzip"})
    assert compressed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(compressed.data) == first.data
    zipped = _get_ok(web, url, headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(zipped.data) == first.data


def test_options_are_part_of_the_cache_key(web: FlaskClient) -> None:
    three = _get_ok(web, "/embed/actualites.html?count=3")
    two = _get_ok(web, "/embed/actualites.html?count=2")
    assert three.headers["ETag"] != two.headers["ETag"]
    assert len(_items(BeautifulSoup(two.data, "html.parser"))) == 2
    # Equal options written differently share one entry.
    same = _get_ok(web, "/embed/actualites.html?count=3&layout=list&image=1")
    assert same.headers["ETag"] == three.headers["ETag"]


def test_frame_ancestors_setting_is_checked() -> None:
    assert frame_ancestors_policy("*") == "frame-ancestors *"
    assert frame_ancestors_policy("") == "frame-ancestors *"
    assert frame_ancestors_policy("https://www.mairie.example, https://*.agglo.example:8443"
                                  ) == ("frame-ancestors https://www.mairie.example "
                                        "https://*.agglo.example:8443")
    for bad in ("https://x.example; script-src *", "javascript:", "data:", "x.example"):
        with pytest.raises(ConfigError, match="embed_frame_ancestors"):
            frame_ancestors_policy(bad)


def test_the_frame_error_page_is_framed_where_the_widgets_are(
        redis_client: Redis, prefix: str, catalogue: Catalogue) -> None:
    service = make_runtime(redis_client, prefix, catalogue,
                           embed_frame_ancestors="https://www.mairie.example")
    app = create_app(runtime=service)
    try:
        response = app.test_client().get("/embed/actualites/frame?theme=neon")
        assert response.status_code == 400 and response.mimetype == "text/html"
        policy = response.headers["Content-Security-Policy"]
        assert policy.startswith("frame-ancestors https://www.mairie.example;")
        assert "« theme »" in response.get_data(as_text=True)
    finally:
        app.extensions["syndication.cache"].close()
        service.fetcher.close()


# --- faults --------------------------------------------------------------------------------


def test_a_failing_source_keeps_its_last_good_items_in_the_widget(
        web: FlaskClient, filled: Filled, redis_client: Redis) -> None:
    before = [a["href"] for a in _widget(web, "region-solidaire", count=20)
              .select(".syndication-widget__link")]
    assert before
    unreachable = make_runtime(redis_client, filled.prefix, make_catalogue("http://127.0.0.1:9"))
    try:
        result = refresh(unreachable.catalogue.sources["region-solidaire"], unreachable)
    finally:
        unreachable.fetcher.close()
    assert filled.runtime.store.source_status("region-solidaire").state == "failing", result
    after = [a["href"] for a in _widget(web, "region-solidaire", count=20)
             .select(".syndication-widget__link")]
    assert after == before


def test_widget_urls_use_the_configured_public_base(filled: Filled,
                                                    redis_client: Redis) -> None:
    behind_proxy = make_runtime(redis_client, filled.prefix, filled.runtime.catalogue,
                                base_url="https://flux.example/")
    app = create_app(runtime=behind_proxy)
    try:
        response = app.test_client().get("/embed/actualites/frame",
                                         base_url="http://internal:8000")
        assert response.status_code == 200
        soup = BeautifulSoup(response.data, "html.parser")
        images = soup.find_all("img")
        assert images and all(i["src"].startswith("https://flux.example/images/")
                              for i in images)
        assert soup.find("link", type="application/json+oembed")["href"].startswith(
            "https://flux.example/oembed?url=https%3A%2F%2Fflux.example%2Fembed%2F")
    finally:
        app.extensions["syndication.cache"].close()
        behind_proxy.fetcher.close()
