"""extract + normalise over every page of the bundled sample site.

Two independent checks:
- against demo/site/MANIFEST.json, written by hand as the truth of what each page says;
- against golden files (tests/golden/<slug>.json): the whole normalised item, so that any change
  of extraction shows up as a diff. Regenerate them with `UPDATE_GOLDEN=1` and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup

from demo.sample_site import SITE_DIR
from syndication.extract import Extraction, extract_page
from syndication.fetch import decode_html
from syndication.model import Item, Source
from syndication.normalise import canonical_url, normalise

from .conftest import make_catalogue

SITE = "http://sample.test"
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # "when we saw it": fixed, for golden files
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
REGENERATE = "UPDATE_GOLDEN=1 python -m pytest tests/test_extract.py (then review the diff)"

MANIFEST: dict[str, Any] = json.loads((SITE_DIR / "MANIFEST.json").read_text(encoding="utf-8"))
PAGES: list[dict[str, Any]] = MANIFEST["pages"]
CATALOGUE = make_catalogue(SITE)
# A news page on its own: the listing's selectors, but the page is an item, not a listing.
NEWS_SOURCE = replace(CATALOGUE.sources["actualites"], listing=False, follow=None, paginate=None)

# Navigation, header, footer and share-box text that must never leak into an item's content.
PAGE_CHROME = ("Aller au contenu", "cookies techniques", "J’ai compris", "Rechercher",
               "Menu principal", "Mentions légales", "Données personnelles", "Partager la page",
               "Facebook", "LinkedIn", "Site de démonstration", "Hôtel de Région, 93400",
               "Page suivante", "Toutes les actualités", "À lire aussi")


# --- helpers --------------------------------------------------------------------------------


def slug(page: dict[str, Any]) -> str:
    return page["path"].rstrip("/").rsplit("/", 1)[-1]


def url_of(path: str) -> str:
    return SITE + path


def source_for(page: dict[str, Any]) -> Source:
    """The dossier's own source, or the news source whose selectors apply to news pages."""
    for source in CATALOGUE.sources.values():
        if source.url == url_of(page["path"]):
            return source
    return NEWS_SOURCE


@cache
def decoded(file: str) -> tuple[str, str]:
    return decode_html(file, (SITE_DIR / file).read_bytes())


def page_at(path: str) -> dict[str, Any]:
    return next(page for page in PAGES if page["path"] == path)


@cache
def _extraction(path: str) -> Extraction:
    page = page_at(path)
    return extract_page(decoded(page["file"])[0], url_of(path), source_for(page))


def extract(page: dict[str, Any]) -> Extraction:
    return _extraction(page["path"])


@cache
def _item(path: str) -> Item:
    page = page_at(path)
    record = extract(page).record
    assert record is not None, f"{path}: no record extracted"
    return normalise(record, source_for(page), NOW)


def item_of(page: dict[str, Any]) -> Item:
    return _item(page["path"])


def in_paris(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)


def midnight_in_paris(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(0, 0), tzinfo=PARIS)


def content_soup(page: dict[str, Any]) -> BeautifulSoup:
    return BeautifulSoup(item_of(page).content_html, "lxml")


def pages(where: Callable[[dict[str, Any]], object] = lambda page: True,
          bugs: dict[str, str] | None = None) -> list[Any]:
    """Manifest pages as test parameters (id: the slug), known bugs marked as strict xfails."""
    params = []
    for page in PAGES:
        if not where(page):
            continue
        reason = (bugs or {}).get(slug(page))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(page, id=slug(page), marks=marks))
    return params


def is_dossier(page: dict[str, Any]) -> bool:
    return page["kind"] == "dossier"


def is_news(page: dict[str, Any]) -> bool:
    return page["kind"] == "actualite"


def older_template(page: dict[str, Any]) -> bool:
    return page["template"] == "older"




# --- against the manifest: every page -----------------------------------------------------


@pytest.mark.parametrize("page", pages())
def test_title_kind_and_url(page: dict[str, Any]) -> None:
    item = item_of(page)
    assert item.title == page["title"]
    assert item.kind == page["kind"]
    assert item.url == url_of(page["path"])
    assert item.source == source_for(page).id
    assert item.lang == "fr"


def expected_published(page: dict[str, Any]) -> datetime:
    """What the page's own date says. The configured `.date` selector wins over metadata, so a
    visible "Publié le 12 mars 2026" without a time means midnight in Paris; the exact time of
    `published_datetime` is only expected when the visible date shows it, or when there is no
    visible date and the metadata (with its time) is all there is."""
    date_text = page.get("date_text")
    if date_text is None or " à " in date_text:
        return datetime.fromisoformat(page["published_datetime"])
    return midnight_in_paris(page["published"])


@pytest.mark.parametrize("page", pages(is_news))
def test_news_publication_date(page: dict[str, Any]) -> None:
    published = item_of(page).published
    assert published is not None
    assert in_paris(published).date() == date.fromisoformat(page["published"])
    assert published == expected_published(page)
    assert published.utcoffset() == expected_published(page).utcoffset()


@pytest.mark.parametrize("page", pages(is_dossier))
def test_dossier_without_a_visible_date_has_no_publication_date(page: dict[str, Any]) -> None:
    assert page["published"] is None
    item = item_of(page)
    assert item.published is None
    # Listed under the date it shows (its dateModified), not when we first saw it.
    assert item.date == item.updated == datetime.fromisoformat(page["date_modified"]) < NOW


def expected_updated_day(page: dict[str, Any]) -> date:
    """The page's "Mis à jour le" day, a dossier's dateModified, or else its publication day."""
    if is_dossier(page):
        return in_paris(datetime.fromisoformat(page["date_modified"])).date()
    return date.fromisoformat(page.get("updated") or page["published"])


@pytest.mark.parametrize("page", pages())
def test_updated_is_the_pages_own_date_not_when_we_saw_it(page: dict[str, Any]) -> None:
    item = item_of(page)
    assert item.updated != NOW
    assert in_paris(item.updated).date() == expected_updated_day(page)
    if item.published is not None:
        assert item.updated >= item.published


@pytest.mark.parametrize("page", pages())
def test_theme_and_dossier_name_are_tags(page: dict[str, Any]) -> None:
    item = item_of(page)
    if page["theme"] is not None:
        assert page["theme"] in item.tags
    for tag in source_for(page).tags:
        assert tag in item.tags
    assert len({tag.casefold() for tag in item.tags}) == len(item.tags)


@pytest.mark.parametrize("page", pages())
def test_image_path_alt_and_credit(page: dict[str, Any]) -> None:
    image = item_of(page).image
    assert image is not None
    assert image.url.startswith(SITE + "/")
    assert urlsplit(image.url).path == page["image"]
    assert image.alt == page["image_alt"]
    assert image.credit == page["credit"]


@pytest.mark.parametrize("page", pages(lambda page: page["lazy_image"]))
def test_lazy_images_are_resolved(page: dict[str, Any]) -> None:
    raw = extract(page).record
    assert raw is not None and raw.image_url is not None
    assert not raw.image_url.startswith("data:")
    image = item_of(page).image
    assert image is not None and urlsplit(image.url).path == page["image"]


@pytest.mark.parametrize("page", pages(lambda page: page.get("lead")))
def test_summary_is_the_lead(page: dict[str, Any]) -> None:
    assert item_of(page).summary == " ".join(page["lead"].split())


@pytest.mark.parametrize("page", pages())
def test_content_is_the_article_body_without_page_chrome(page: dict[str, Any]) -> None:
    item = item_of(page)
    text = content_soup(page).get_text(" ", strip=True)
    assert len(text) > 300, text
    for chrome in PAGE_CHROME:
        assert chrome not in text, chrome
    # The title is the item's title, not the first line of its body.
    assert not text.startswith(item.title)
    assert content_soup(page).find("h1") is None
    assert "data:" not in item.content_html


@pytest.mark.parametrize("page", pages())
def test_content_urls_are_absolute(page: dict[str, Any]) -> None:
    for element in content_soup(page).find_all(["a", "img"]):
        for attribute in ("href", "src"):
            value = element.get(attribute)
            if value is not None:
                assert value.startswith(("http://", "https://", "mailto:")), value


@pytest.mark.parametrize("page", pages())
def test_content_has_no_empty_links(page: dict[str, Any]) -> None:
    for link in content_soup(page).find_all("a"):
        assert link.get_text(strip=True) or link.find("img"), link


# --- particular pages ------------------------------------------------------------------------


def test_windows_1252_page_is_decoded_right() -> None:
    page = next(p for p in PAGES if p["encoding"] == "windows-1252")
    body = (SITE_DIR / page["file"]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    text, encoding = decoded(page["file"])
    assert encoding == "windows-1252"
    for character in ("€", "«", "»", "’", "é"):
        assert character in text, character
    item = item_of(page)
    assert "«" in item.title and "’" in item.title
    assert "€" in item.content_html and "«" in item.content_html
    assert "\ufffd" not in item.content_html + item.title + item.summary


def test_hostile_page_content_is_defused() -> None:
    page = next(p for p in PAGES if p.get("hostile_markup"))
    raw = extract(page).record
    assert raw is not None and raw.content_html is not None
    assert "<script" in raw.content_html and "onclick" in raw.content_html  # it was hostile
    html = item_of(page).content_html
    for needle in ("<script", "onclick", "style=", "javascript:", "widgets.js"):
        assert needle not in html.lower(), needle
    parsed = content_soup(page)
    assert parsed.find(["script", "style"]) is None
    assert all(not name.startswith("on") and name != "style"
               for element in parsed.find_all(True) for name in element.attrs)
    # The harmless parts stay: the tweet's text and the event link.
    assert "J-15 avant le Forum régional de l’emploi" in parsed.get_text()
    assert parsed.find("a", href="https://www.example.org/forum-emploi-idf") is not None


@pytest.mark.parametrize(("path", "figures"), [
    ("/region-solidaire", [
        (1_100_000_000, "EUR", "pour le pacte rural"),
        (3_200_000_000, "EUR", "pour le pacte avec les quartiers populaires"),
        (7_700_000_000, "EUR", "pour faire de l’Île-de-France une terre d’innovation sociale "
                               "et d’engagements solidaires"),
    ]),
    ("/dossiers/plan-climat", [
        (500_000_000, "EUR", "pour la rénovation énergétique de 150 lycées"),
        (2_000_000, None, "d’arbres plantés dans les forêts régionales d’ici 2030"),
        (40, "percent", "de réduction des émissions de gaz à effet de serre d’ici 2030"),
        (10_000, None, "de recharge supplémentaires pour les véhicules électriques"),
    ]),
], ids=["region-solidaire", "plan-climat"])
def test_dossier_key_figures(path: str, figures: list[tuple[int, str | None, str]]) -> None:
    page = page_at(path)
    item = item_of(page)
    assert [(f.value_text, f.label) for f in item.figures] == [
        (figure["value"], figure["label"]) for figure in page["key_figures"]]
    assert [(f.amount, f.unit, f.label) for f in item.figures] == figures


@pytest.mark.parametrize("page", pages(is_news))
def test_news_pages_have_no_key_figures_or_links_to_follow(page: dict[str, Any]) -> None:
    assert item_of(page).figures == ()
    assert extract(page).links == () and extract(page).next_page is None


@pytest.mark.parametrize("page", pages(is_dossier))
def test_dossier_latest_news_links(page: dict[str, Any]) -> None:
    result = extract(page)
    assert result.next_page is None
    assert len(result.links) == len(page["latest_news"])
    assert all(link.startswith(SITE + "/") for link in result.links)
    assert [canonical_url(link) for link in result.links] == [
        url_of(news["path"]) for news in page["latest_news"]]


# --- listing pages -----------------------------------------------------------------------------


def listing_params() -> list[Any]:
    listings = MANIFEST["listing_pages"]
    return [pytest.param(path, listings[i + 1] if i + 1 < len(listings) else None,
                         id=path.rsplit("/", 1)[-1]) for i, path in enumerate(listings)]


@cache
def listing_extraction(path: str) -> Extraction:
    """A listing page read with the listing source as configured (listing, follow, paginate)."""
    relative = path.strip("/")
    file = relative + ".html" if (SITE_DIR / (relative + ".html")).is_file() \
        else relative + "/index.html"
    return extract_page(decoded(file)[0], url_of(path), CATALOGUE.sources["actualites"])


@pytest.mark.parametrize(("path", "next_path"), listing_params())
def test_listing_pages_yield_card_links_and_the_next_page(path: str,
                                                          next_path: str | None) -> None:
    result = listing_extraction(path)
    cards = [card for card in MANIFEST["listing_cards"] if card["listing_page"] == path]
    assert result.record is None  # a listing is not an item
    assert len(result.links) == len(cards) > 0
    assert all(link.startswith(SITE + "/") for link in result.links)
    assert [canonical_url(link) for link in result.links] == [
        url_of(card["path"]) for card in cards]
    assert result.next_page == (url_of(next_path) if next_path else None)


def test_listing_pages_cover_every_news_page_once() -> None:
    listed = [canonical_url(link) for path in MANIFEST["listing_pages"]
              for link in listing_extraction(path).links]
    assert len(listed) == len(set(listed)) == len(MANIFEST["listing_cards"])
    news = {url_of(page["path"]) for page in PAGES if is_news(page)}
    assert news <= set(listed)
    assert set(listed) - news == {url_of(MANIFEST["missing_path"])}


# --- golden files ----------------------------------------------------------------------------


def golden_view(item: Item) -> dict[str, Any]:
    """The item as JSON, without what only says when the test ran."""
    data = item.to_dict()
    del data["first_seen"]
    if data["updated"] == NOW.isoformat():
        del data["updated"]
    return json.loads(json.dumps(data))


@pytest.mark.parametrize("page", pages())
def test_golden_file(page: dict[str, Any]) -> None:
    path = GOLDEN_DIR / f"{slug(page)}.json"
    actual = golden_view(item_of(page))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN_DIR.mkdir(exist_ok=True)
        path.write_text(json.dumps(actual, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                        encoding="utf-8")
    if not path.is_file():
        pytest.fail(f"golden file {path.name} is missing; create it with {REGENERATE}")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert actual == expected, f"{page['path']} differs from {path.name}; if intended: {REGENERATE}"
