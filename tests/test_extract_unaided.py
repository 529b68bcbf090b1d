"""The iledefrance.fr dossier read with the selectors of feeds/iledefrance.toml as they are (a title
selector, nothing for figures, credit or lead): its title, lead, photo credit, three key figures
with their labels, and its linked news, found unaided.

The pages are built from the dossier's text (/work/shared/seed/region-solidaire.txt, copied
below) in markup the extractor was never tuned to: generic class names, no metadata in one
variant, and the figures block written four ways (a <ul>, <div> cards, a <dl>, a flat run).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syndication.extract import explain_page, extract_page
from syndication.harvest.pages import as_detail_page
from syndication.normalise import normalise

from .conftest import make_catalogue

URL = "https://www.iledefrance.fr/region-solidaire"
SOURCE = make_catalogue("http://unused.test").sources["iledefrance-region-solidaire"]
LEAD = ("Un plan en 3 axes pour réduire les fractures sociales et territoriales a été mis en place "
        "en Île-de-France : un pacte rural, un pacte avec les quartiers populaires, et un "
        "ensemble d’actions pour faire de l’Île-de-France une terre d’innovation sociale et "
        "d’engagements solidaires. L'objectif : être une Région solidaire.")
FIGURES = [("1,1 Md €", "pour le pacte rural"),
           ("3,2 Mds €", "pour le pacte avec les quartiers populaires"),
           ("7,7 Mds €", "pour faire de l’Île-de-France une terre d’innovation sociale et "
                         "d’engagements solidaires")]
NEWS = [("/actualites/ordre-de-malte-partenaires",
         "La Région Île-de-France et l’Ordre de Malte France partenaires pour la solidarité"),
        ("/actualites/plan-grand-froid", "Plan Grand Froid : la Région aux côtés d'associations "
                                         "franciliennes"),
        ("/actualites/solidarite-ukraine", "La Région Île-de-France exprime sa solidarité et tout "
                                           "son soutien au peuple ukrainien")]


def figures_as_list() -> str:
    return ('<h2 class="c-heading">La Région solidaire en chiffres</h2><ul class="c-list">'
            + "".join(f'<li class="c-list__item"><span class="c-big">{value}</span>'
                      f'<span class="c-small">{label}</span></li>' for value, label in FIGURES)
            + "</ul>")


def figures_as_cards() -> str:
    return ('<div class="row"><h3 class="title-3">La Région solidaire en chiffres</h3>'
            '<div class="row__inner">'
            + "".join(f'<div class="col-4"><div class="box"><p class="box-top">{value}</p>'
                      f'<p class="box-text">{label}</p></div></div>' for value, label in FIGURES)
            + "</div></div>")


def figures_as_definitions() -> str:
    return ('<section><h2>La Région solidaire en chiffres</h2><dl class="grid">'
            + "".join(f"<dt>{value}</dt><dd>{label}</dd>" for value, label in FIGURES)
            + "</dl></section>")


def figures_side_by_side() -> str:
    """No heading, no item elements: value, label, value, label… in one block."""
    return ('<div class="wysiwyg">' + "".join(
        f"<p><strong>{value}</strong></p><p>{label}</p>" for value, label in FIGURES) + "</div>")


def dossier(figures: str, *, metadata: bool) -> str:
    head = ('<meta name="Description" content="">'  # an empty first description, then a good one
            f'<meta property="og:description" content="{LEAD}">'
            '<meta property="og:site_name" content="Région Île-de-France">'
            ) if metadata else ""
    news = "".join(f'<li class="teaser"><span class="tag">Actualité</span>'
                   f'<a href="{path}"><h3>{title}</h3></a>'
                   f'<time datetime="2026-0{n + 1}-10">10/0{n + 1}/2026</time></li>'
                   for n, (path, title) in enumerate(NEWS))
    return f"""<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>Région solidaire | Région Île-de-France</title>{head}</head><body>
<header class="top"><a href="/"><img src="/logo.svg" alt="Région Île-de-France"></a>
<ul class="menu"><li><a href="/toutes-les-actualites">Actualités</a></li></ul></header>
<main><div class="wrapper">
<p class="kicker">Dossier</p>
<h1 class="big-title">Région solidaire</h1>
<p class="intro">{LEAD}</p>
<div class="visual"><img src="/sites/default/files/solidaire.jpg" alt="Une bénévole">
<span class="visual-caption">Crédit photo : © Andrea Piacquadio</span></div>
<h2>Une nouvelle approche de l'action sociale de l'Île-de-France</h2>
<p>C’est une politique inédite en France par l’ampleur des mesures mises en œuvre depuis 2016,
ainsi que par les moyens envisagés pour l’avenir : un programme qui repense complètement l'action
sociale de la Région.</p>
<p>Le projet Région solidaire, c’est un programme complètement transversal entre les différentes
compétences de la Région.</p>
<h2>Les 3 volets de la Région solidaire</h2>
<ul><li>Le Pacte rural, adopté en 2016, pour améliorer la qualité de vie des 2 millions de
Franciliens qui vivent dans les territoires ruraux.</li>
<li>Un Pacte pour les quartiers populaires en 3 axes – réussite, autorité et mixité.</li>
<li>Faire de l’Île-de-France une terre d’engagements et d’innovations.</li></ul>
{figures}
<h2>Les dernières actualités pour une Région solidaire</h2><ul class="teasers">{news}</ul>
<div class="share-this">Partager la page</div>
</div></main><footer><p>© 2026 Région Île-de-France</p></footer></body></html>"""


VARIANTS = {"list": figures_as_list, "cards": figures_as_cards,
            "definitions": figures_as_definitions, "side-by-side": figures_side_by_side}


@pytest.mark.parametrize("metadata", [True, False], ids=["with-metadata", "without-metadata"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_the_dossier_yields_its_fields_unaided(variant: str, metadata: bool) -> None:
    extraction = extract_page(dossier(VARIANTS[variant](), metadata=metadata), URL, SOURCE)
    record = extraction.record
    assert record is not None
    assert record.title == "Région solidaire"
    assert record.summary == LEAD
    assert record.image_credit == "Crédit photo : © Andrea Piacquadio"
    assert list(record.figures) == FIGURES
    assert list(extraction.links) == ["https://www.iledefrance.fr" + path for path, _ in NEWS]
    item = normalise(record, SOURCE, datetime(2026, 9, 1, tzinfo=UTC))
    assert item.image is not None and item.image.credit == "Andrea Piacquadio"
    assert [(f.amount, f.unit) for f in item.figures] == [
        (1_100_000_000, "EUR"), (3_200_000_000, "EUR"), (7_700_000_000, "EUR")]
    assert "Partager la page" not in item.content_html
    assert "pacte rural" in item.content_html.lower()


def test_a_news_page_without_a_figures_block_has_no_figures() -> None:
    """Numbers in prose, dates and a footer's phone number are no key figures."""
    page = ("<html><body><main><h1>Plan Grand Froid</h1><p>Publié le 12/01/2026</p>"
            "<p>La Région consacre 2 millions d'euros aux associations, soit 15 % de plus.</p>"
            "<ul><li>12 janvier 2026</li><li>14 janvier 2026</li></ul>"
            "<p>Depuis 2016, 300 associations.</p></main>"
            "<footer><ul><li>01 53 85 53 85</li><li>75007 Paris</li></ul></footer></body></html>")
    record = extract_page(page, "https://www.iledefrance.fr/actualites/x",
                          as_detail_page(SOURCE)).record
    assert record is not None and record.figures == ()


def test_the_arbitration_says_which_candidate_won_and_why() -> None:
    found, chosen = explain_page(dossier(figures_as_list(), metadata=True), URL, SOURCE)
    assert chosen["title"].origin == "selector"
    assert ("page", "Région solidaire | Région Île-de-France") in found["title"]
    assert chosen["summary"].value == LEAD and chosen["summary"].origin == "og"
    assert chosen["figures"].origin == "figures block"
    assert chosen["image_credit"].origin == "credit line"
