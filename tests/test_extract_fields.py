"""The generic extractor field by field, on pages no selector was written for: the forms of dates
pages use, titles with site names around them, leads, bodies without boilerplate, credits.
Each page here is small and written for one cause of failure; none is a copy of a real page."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import trafilatura
from lxml import etree

from syndication.dates import parse_date, zone_of_language
from syndication.extract import article, explain_page, extract_page
from syndication.extract.choose import strip_site
from syndication.extract.prune import prune
from syndication.extract.tree import parse, text
from syndication.model import RawRecord, Source
from syndication.normalise import normalise

URL = "https://www.example.org/actualites/plan-velo-regional"
SOURCE = Source(id="generic", url="https://www.example.org/", publisher="p")
PARAGRAPHS = "".join(f"<p>Paragraphe {n} du corps de l’article, qui dit quelque chose "
                     f"d’utile aux lecteurs du site, phrase numéro {n}.</p>" for n in range(8))


def page(head: str = "", body: str = "", *, title: str = "Plan vélo") -> str:
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title>'
            f"{head}</head><body>{body}</body></html>")


def record(html: str, url: str = URL) -> RawRecord:
    found = extract_page(html, url, SOURCE).record
    assert found is not None
    return found


def json_ld(*nodes: dict[str, object]) -> str:
    return f'<script type="application/ld+json">{json.dumps(list(nodes))}</script>'


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "instant"), [
    ("Wed, 04 May 2022 02:41:00 GMT", datetime(2022, 5, 4, 2, 41, tzinfo=UTC)),
    ("Fri Apr 28 19:20:36 CEST 2023", datetime(2023, 4, 28, 17, 20, 36, tzinfo=UTC)),
    ("2023-01-01T03:00:00 UTC", datetime(2023, 1, 1, 3, 0, tzinfo=UTC)),
    ("20200316T13:00:00Z", datetime(2020, 3, 16, 13, 0, tzinfo=UTC)),
    ("2016-08-15CEST10:01:00+0200", datetime(2016, 8, 15, 8, 1, tzinfo=UTC)),
    ("2021-05-04T10:00:00+0200", datetime(2021, 5, 4, 8, 0, tzinfo=UTC)),
    ("May 4, 2022 10:32 AM EDT", datetime(2022, 5, 4, 14, 32, tzinfo=UTC)),
    ("April 06, 2016 12:00 ET", datetime(2016, 4, 6, 16, 0, tzinfo=UTC)),  # daylight time
    ("January 06, 2016 12:00 ET", datetime(2016, 1, 6, 17, 0, tzinfo=UTC)),  # standard time
    ("Oct 31, 2025 9:15 PT", datetime(2025, 10, 31, 16, 15, tzinfo=UTC)),
])
def test_odd_date_forms_keep_their_instant(text: str, instant: datetime) -> None:
    assert parse_date(text) == instant


@pytest.mark.parametrize(("text", "day"), [
    ("Oct 31, 2025", "2025-10-31"), ("01-11-2023", "2023-11-01"), ("4 May 2022", "2022-05-04"),
    ("2025-10-31", "2025-10-31"), ("Publié le 1er novembre 2023", "2023-11-01"),
])
def test_a_date_alone_stays_that_day_in_its_own_zone(text: str, day: str) -> None:
    parsed = parse_date(text)
    assert parsed is not None and parsed.date().isoformat() == day
    assert (parsed.hour, parsed.minute) == (0, 0) and parsed.utcoffset() in (
        timedelta(hours=1), timedelta(hours=2))  # Paris wall clock, its offset written out


@pytest.mark.parametrize("text", ["March 2026", "12/13/2026", "2026-13-01", "Tuesday",
                                  "10:32 AM", "le 3", "Vol. 12 No. 2024"])
def test_what_states_no_whole_date_is_none(text: str) -> None:
    assert parse_date(text) is None


def test_an_unreadable_metadata_date_does_not_block_the_next() -> None:
    html = page(json_ld({"@type": "NewsArticle", "headline": "Plan vélo",
                         "datePublished": "le jour de la fête"})
                + '<meta property="article:published_time" content="Oct 31, 2025">',
                "<main><h1>Plan vélo</h1>" + PARAGRAPHS + "</main>")
    found, chosen = explain_page(html, URL, SOURCE)
    assert chosen["published"].value == "Oct 31, 2025"
    assert "json-ld article" in chosen["published"].why  # said to be unreadable


def test_published_and_updated_are_read_from_the_page_text() -> None:
    html = page(body="<main><article><h1>Plan vélo</h1><p class='meta'>Publié le 3 mars 2026 "
                     "à 14h30 | Mis à jour le 5 mars 2026</p>" + PARAGRAPHS + "</article></main>")
    found = record(html)
    assert parse_date(found.published) == parse_date("2026-03-03T14:30:00")
    assert parse_date(found.updated) == parse_date("2026-03-05")


def test_the_time_by_the_title_wins_over_a_related_articles_time() -> None:
    related = ('<aside><ul><li><a href="/a">Autre article</a>'
               '<time datetime="2019-01-01">1er janvier 2019</time></li></ul></aside>')
    html = page(body=f"{related}<main><article><header><h1>Plan vélo</h1>"
                     '<time datetime="2026-03-03T10:00:00+01:00">3 mars 2026</time></header>'
                     + PARAGRAPHS + "</article></main>")
    assert record(html).published == "2026-03-03T10:00:00+01:00"


def test_a_pages_own_date_is_kept_in_its_body_text() -> None:
    html = page(body="<main><article><h1>Plan vélo</h1>" + PARAGRAPHS
                     + '<p>Réunion prévue le <time datetime="2026-04-01">1er avril</time>.</p>'
                     "</article></main>")
    assert "1er avril" in (record(html).content_html or "")


# --- titles ------------------------------------------------------------------------------------


def test_an_articles_headline_wins_over_the_pages_name() -> None:
    html = page(json_ld({"@type": "WebPage", "name": "Actualités"},
                        {"@type": "NewsArticle", "headline": "Le plan vélo est voté"}),
                "<main>" + PARAGRAPHS + "</main>", title="Actualités")
    assert record(html).title == "Le plan vélo est voté"


@pytest.mark.parametrize(("title", "sites", "expected"), [
    ("Plan vélo | Région Île-de-France", ["regioniledefrance"], "Plan vélo"),
    ("Quartiers nord : la rénovation commence - Bondy Blog", ["bondyblog"],
     "Quartiers nord : la rénovation commence"),
    ("Merkel in Washington | DW | 23.05.2011", ["dw"], "Merkel in Washington"),
    ("Le Monde | Les retraites en débat", ["lemonde"], "Les retraites en débat"),
    ("Covid-19 - ce qui change", ["sante"], "Covid-19 - ce qui change"),
    ("Plan vélo", ["regioniledefrance"], "Plan vélo"),
])
def test_site_names_and_dates_around_a_headline_are_cut(title: str, sites: list[str],
                                                         expected: str) -> None:
    assert strip_site(title, sites) == expected


def test_the_site_name_is_cut_when_it_only_resembles_og_site_name() -> None:
    html = page('<meta property="og:site_name" content="Bondy Blog, le média">',
                "<main>" + PARAGRAPHS + "</main>",
                title="Quartiers nord : la rénovation commence - Bondy Blog")
    assert record(html, "https://www.bondyblog.fr/societe/x").title == (
        "Quartiers nord : la rénovation commence")


def test_the_h1_arbitrates_between_titles() -> None:
    html = page('<meta property="og:title" content="Actualités de la Région">',
                "<main><h1>Le plan vélo est voté</h1>" + PARAGRAPHS + "</main>",
                title="Le plan vélo est voté | Mobilités | Région")
    _, chosen = explain_page(html, URL, SOURCE)
    assert chosen["title"].value == "Le plan vélo est voté"
    assert "h1" in chosen["title"].why


@pytest.mark.parametrize(("body", "expected"), [
    ("<main><h2>Un titre de section</h2>" + PARAGRAPHS + "</main>", "Un titre de section"),
    ("<main>" + PARAGRAPHS + "</main>", "Plan velo regional"),
])
def test_a_page_without_a_title_is_not_dropped(body: str, expected: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    found = record(f"<html><body>{body}</body></html>")
    assert found.title == expected
    assert "no title by any layer" in caplog.text
    assert normalise(found, SOURCE, datetime(2026, 1, 1, tzinfo=UTC)).title == expected


# --- the lead ----------------------------------------------------------------------------------

LEAD = "La Région adopte un plan pour doubler les pistes cyclables d’ici 2030."


@pytest.mark.parametrize("head", [
    f'<meta name="Description" content="{LEAD}">',
    f'<meta name="description" content=""><meta name="DESCRIPTION" content="{LEAD}">',
    f'<meta property="og:description" content="{LEAD}">'
    + json_ld({"@type": "NewsArticle", "headline": "Plan vélo", "description": "Vélo."}),
    json_ld({"@type": "NewsArticle", "headline": "Plan vélo", "description": "Vélo et région"})
    + f'<meta property="og:description" content="{LEAD}"><meta name="description" '
      f'content="{LEAD}">',
])
def test_the_lead_is_the_description_the_layers_agree_on(head: str) -> None:
    assert record(page(head, "<main>" + PARAGRAPHS + "</main>")).summary == LEAD


# --- the body ----------------------------------------------------------------------------------


def test_the_body_leaves_out_captions_related_links_and_sharing() -> None:
    body = ("<main><article><h1>Plan vélo</h1>"
            '<figure><img src="/a.jpg" alt=""><figcaption>Une piste cyclable à Paris'
            "</figcaption></figure>" + PARAGRAPHS
            + '<div class="encart"><h3>À lire aussi</h3><ul><li><a href="/b">Le RER B '
              "change de rames</a></li></ul></div>"
            + '<div class="social-share"><a href="https://facebook.com/x">Facebook</a></div>'
            + '<section class="cross-sell"><p>Abonnez-vous à notre boutique</p></section>'
            + "</article></main>")
    content = record(page(body=body)).content_html or ""
    assert "Paragraphe 0" in content and "Paragraphe 7" in content
    for boilerplate in ("Une piste cyclable", "À lire aussi", "RER B", "Facebook", "boutique"):
        assert boilerplate not in content


def test_the_body_leaves_out_paragraphs_that_are_only_links() -> None:
    """Quick links, menus and cross-selling, as trafilatura keeps them once asked to keep
    links: each link a paragraph of its own, several in one line, or a label and a link."""
    found = ("<html><body>" + PARAGRAPHS
             + '<p>Courriel : <a href="mailto:velo@example.org">velo@example.org</a></p>'
             + "<h3>Accès rapide</h3>"
             + "".join(f'<p><a href="/{n}">{label}</a></p>' for n, label in
                       enumerate(("Plans et accès", "Formations à temps plein", "Visites")))
             + '<p><a href="/a">Agenda</a> • <a href="/b">Catalogue en ligne</a> • '
               '<a href="/c">Nous joindre</a></p>'
             + '<p>&gt;&gt; LIRE SUR LE SITE : <a href="/x">Les pistes cyclables de la région '
               "gagnent du terrain</a></p>"
             + "</body></html>")
    content = article.tidy(found) or ""
    assert "Paragraphe 0" in content and "Paragraphe 7" in content
    assert "velo@example.org" in content  # a label and a link to no other page stay
    for boilerplate in ("Accès rapide", "Formations à temps plein", "Catalogue en ligne",
                        "LIRE SUR LE SITE", "gagnent du terrain"):
        assert boilerplate not in content


def test_a_link_that_ends_a_split_sentence_stays() -> None:
    """trafilatura splits a sentence at a link in a <div>: the link's paragraph is no menu."""
    body = ('<main><article><h1>Plan vélo</h1><div><img src="/velo.jpg" alt=""><span>Nous '
            "sommes membres du réseau régional, et nos lecteurs empruntent donc ailleurs grâce "
            'au </span><a href="/pret">prêt entre bibliothèques</a><span>.</span></div>'
            + PARAGRAPHS + "</article></main>")
    content = record(page(body=body)).content_html or ""
    assert "prêt entre bibliothèques" in content and "Paragraphe 7" in content


def test_breadcrumbs_sidebars_and_newsletters_are_pruned_before_trafilatura() -> None:
    """trafilatura restores the blocks it discards when they are much of the page (layouts in
    cells), and knows newsletters by English words only: they are taken out before, by their
    class and id words."""
    tree = parse(page(body='<div class="l-sidebar-bg"><p>La vie nocturne...</p></div>'
                           '<div id="header-cyberbulletin"><p>Lire la dernière édition</p></div>'
                           '<div class="infolettre-wrap"><p>Abonnez-vous !</p></div>'
                           '<ul class="c-breadcrumb"><li>Vous êtes ici :</li><li><a href="/">'
                           'Accueil</a></li></ul><div id="fil-ariane">Accueil › Loisirs</div>'
                           '<div class="content"><h1>Plan vélo</h1>' + PARAGRAPHS + "</div>"))
    prune(tree)
    kept = text(tree)
    assert "Paragraphe 7" in kept
    for chrome in ("La vie nocturne", "dernière édition", "Abonnez-vous", "Vous êtes ici",
                   "Loisirs"):
        assert chrome not in kept
    wrapped = parse(page(body='<div class="content-sidebar-wrap"><main><p>Fermeture de la '
                              "médiathèque.</p></main><aside>Horaires</aside></div>"))
    prune(wrapped)
    assert "Fermeture" in text(wrapped)


def test_what_trafilatura_deletes_anyway_is_out_before_it_copies_the_page() -> None:
    """Scripts, styles, SVG, menus, footers and form controls: trafilatura's main algorithm
    deletes them from each copy it makes; a JSON-LD script stays (it reads an articleBody)."""
    tree = parse(page(
        head='<script type="application/ld+json">{"@type": "NewsArticle"}</script>'
             '<style>p {}</style><link rel="stylesheet" href="/s.css">',
        body='<nav><a href="/">Accueil</a></nav><script>var state = {};</script>'
             '<svg><path d="M0 0"/></svg><form><input name="q"><button>Chercher</button>'
             '</form><main><h1>Plan vélo</h1>' + PARAGRAPHS + '<p>Avant <iframe src="/v">'
             '</iframe>après.</p></main><aside>Horaires</aside><footer>Mentions</footer>'))
    prune(tree)
    for gone in ("nav", "style", "link", "svg", "input", "button", "iframe", "aside", "footer",
                 "script[not(@type='application/ld+json')]"):
        assert not tree.xpath(f"//{gone}"), gone
    assert tree.xpath("//script[@type='application/ld+json']")
    assert "Paragraphe 7" in text(tree) and "Avant après." in text(tree)  # tails kept


def test_a_body_of_layout_tables_is_told_from_an_article_with_a_table() -> None:
    layout = ("<table><tr><td><img src='/logo.png' alt='Logo'></td></tr></table>" * 3
              + "<table><tr><td><p>5151 rue Principale</p></td></tr></table>"
              + "<table><tr><td>Depuis 1914, les Archives recueillent…</td></tr></table>")
    assert article.table_layout(layout)
    assert not article.table_layout(PARAGRAPHS + "<table><tr><td>1</td><td>2</td></tr></table>"
                                    + PARAGRAPHS)


def test_a_divs_loose_text_before_its_blocks_is_kept() -> None:
    """trafilatura drops the text a <div> holds before or between its blocks; as paragraphs,
    it keeps them, and the blocks stay in their place."""
    body = ("<main><h1>Plan vélo</h1>" + PARAGRAPHS
            + "<div>La Région finance aussi un réseau de pistes pour relier les gares aux lycées."
              '<br><h3>Un nouveau réseau en 2027</h3><img src="/r.jpg" alt=""><br>Les travaux '
              "avancent sur les douze axes prévus, et les premières pistes ouvriront au printemps."
              "<ul><li>Axe nord</li><li>Axe sud</li></ul>Les communes traversées ont donné leur "
              "accord au tracé, après une longue concertation.<span>Fin</span></div></main>")
    content = record(page(body=body)).content_html or ""
    order = ("La Région finance aussi", "Un nouveau réseau", "Les travaux avancent", "Axe nord",
             "Les communes traversées")
    positions = [content.find(words) for words in order]
    assert -1 not in positions and positions == sorted(positions)
    assert "<h3>" in content and "<li>" in content


def test_a_frame_named_in_french_keeps_its_lists_and_headings() -> None:
    """trafilatura finds the article's frame by English names ("content"); finding none, it
    gathers loose paragraphs and leaves lists and headings out."""
    body = ('<div id="Entete"><div id="Menu"><a href="/a">La ville</a> <a href="/b">Loisirs</a>'
            '</div></div><div id="Corps"><div id="BlocGauche"><a href="/c">Culture</a></div>'
            '<div id="BlocDroite"><div id="Contenu"><h1>Plan vélo</h1>' + PARAGRAPHS
            + "<h3>Pour éviter des frais</h3><ul><li>Vérifiez l’état de votre vélo avant de "
              "partir.</li><li>Garez-le dans un endroit sec.</li></ul>"
            + PARAGRAPHS.replace("Paragraphe", "Suite") + "</div></div></div>")
    content = record(page(body=body)).content_html or ""
    assert "Paragraphe 0" in content and "Suite 7" in content
    assert "Pour éviter des frais" in content and "Vérifiez l’état de votre vélo" in content


def test_an_article_split_into_boxes_of_one_kind_is_read_whole() -> None:
    """trafilatura takes the first element of a class it knows ("article …") as the frame:
    the title's box alone, the others left to its fallbacks, which drop their headings."""
    boxes = [("Horaires", "Les ateliers ouvrent du mardi au samedi, de dix heures à dix-huit "
                          "heures, sauf les jours fériés."),
             ("Prêt de vélos", "La carte d’abonné est obligatoire pour emprunter un vélo ou "
                               "tout autre équipement.")]
    body = ('<div id="site"><section><div class="article box-title pos1"><h1>Plan vélo</h1>'
            "<p>Le plan vélo régional en bref, pour les habitants.</p></div>"
            + "".join(f'<div class="article box-text"><h2>{heading}</h2><p>{sentence}</p>'
                      f"<p>{sentence}</p></div>" for heading, sentence in boxes)
            + '<div class="article box-text"><h2>Services</h2>' + PARAGRAPHS
            + "</div></section></div>")
    content = record(page(body=body)).content_html or ""
    for heading, sentence in boxes:
        assert f"<h2>{heading}</h2>" in content and sentence in content
    assert "Paragraphe 7" in content


def test_lists_of_teasers_are_left_out() -> None:
    teasers = "".join(f'<li><h3>Actualité {n}</h3><p>Le conseil a voté le budget {n}. '
                      f'<a href="/n{n}">En savoir plus</a></p></li>' for n in range(4))
    steps = "".join(f'<li>Étape {n} : voir <a href="/e{n}">le guide {n}</a></li>'
                    for n in range(4))
    content = article.tidy(f"<html><body>{PARAGRAPHS}<ul>{teasers}</ul><ol>{steps}</ol>"
                           "</body></html>") or ""
    assert "Paragraphe 7" in content and "Étape 3" in content
    assert "Actualité" not in content and "En savoir plus" not in content


def test_a_short_page_still_has_a_body() -> None:
    """trafilatura refuses pages it finds too short; the largest block of text remains."""
    html = page(body="<div><div><p>Fermeture exceptionnelle de la médiathèque.</p>"
                     "<p>Réouverture lundi.</p></div></div>")
    content = record(html).content_html or ""
    assert "Fermeture exceptionnelle" in content


@pytest.mark.parametrize("recall", [False, True])
def test_trafilatura_leaves_the_tree_it_reads_as_it_was(recall: bool) -> None:
    # article.body hands trafilatura the page's one tree, with no copy of its own, twice, and
    # reads it again after (the largest block): a trafilatura pruning it in place would lose text.
    tree = parse(page(body="<header><nav><a href='/'>Accueil</a></nav></header><main>"
                           "<h1>Plan vélo</h1>" + PARAGRAPHS + "<div class='comments'><p>Un "
                           "commentaire</p></div></main><footer><p>Mentions</p></footer>"))
    before = etree.tostring(tree)
    assert trafilatura.extract(tree, url=URL, output_format="html", include_images=True,
                               include_links=True, include_tables=True, favor_recall=recall)
    assert etree.tostring(tree) == before


def test_a_relative_base_url_does_not_raise() -> None:
    html = page('<base href="/sous/dossier/">', '<main><h1>Plan vélo</h1><p><a href="a.html">'
                                                 "lien</a></p>" + PARAGRAPHS + "</main>")
    found = record(html, "/relative/page")
    item = normalise(found, SOURCE, datetime(2026, 1, 1, tzinfo=UTC))
    assert item.title == "Plan vélo" and "Paragraphe 3" in item.content_html


# --- credits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("markup", "credit"), [
    ('<figure><img src="/a.jpg" alt=""><figcaption>Une piste. © Jean Dupont</figcaption>'
     "</figure>", "© Jean Dupont"),
    ('<div class="visuel"><img src="/a.jpg" alt=""><small>© Région / J. Dupont</small></div>',
     "© Région / J. Dupont"),
    ('<p class="legende">Crédit photo : © Marie Curie</p>', "Crédit photo : © Marie Curie"),
])
def test_photo_credits_are_found_by_the_image(markup: str, credit: str) -> None:
    html = page(body=f"<main><h1>Plan vélo</h1>{markup}{PARAGRAPHS}</main>"
                     "<footer><p>© 2026 Région Île-de-France</p></footer>")
    assert record(html).image_credit == credit


def test_a_footer_copyright_is_no_photo_credit() -> None:
    html = page(body=f"<main><h1>Plan vélo</h1>{PARAGRAPHS}</main>"
                     "<div class='bas'><p>© 2026 Région Île-de-France</p></div>")
    assert record(html).image_credit is None


def test_json_ld_credit_text() -> None:
    html = page(json_ld({"@type": "NewsArticle", "headline": "Plan vélo", "image": {
        "@type": "ImageObject", "url": "https://www.example.org/a.jpg",
        "creditText": "Photo : J. Dupont", "copyrightHolder": {"name": "Région"}}}),
        "<main>" + PARAGRAPHS + "</main>")
    assert record(html).image_credit == "Photo : J. Dupont"


@pytest.mark.parametrize(("title", "expected"), [
    ("Bibliothèque | Collège Brébeuf", "Bibliothèque"),
    ("Loisirs et culture -- Municipalité de Sainte-Paule", "Loisirs et culture"),
    ("Programmes - - Heart and Stroke Foundation of P.E.I.", "Programmes"),
    ("Municipalité de Brigham > Loisirs > Bibliothèque", "Bibliothèque"),
    ("D.G. Ivey Library « New College", "D.G. Ivey Library"),
    ("Budget : un budget « vert » de 5,1 milliards d’euros",
     "Budget : un budget « vert » de 5,1 milliards d’euros"),
    ("Covid-19 - ce qui change", "Covid-19 - ce qui change"),
    ("2016", "Plan velo regional"),  # no letters: no title, the address's slug
])
def test_a_document_titles_trailing_site_name_is_cut(title: str, expected: str) -> None:
    assert record(page(body="<main>" + PARAGRAPHS + "</main>", title=title)).title == expected


@pytest.mark.parametrize(("markup", "image"), [
    ('<div class="visuel"><img src="/media/velo.jpg" alt=""></div>',
     "/media/velo.jpg"),
    ('<p>Une icône <img src="/media/velo.jpg" alt=""> dans le texte.</p>', None),
    ('<div><img src="/media/velo.jpg" width="16" height="16" alt=""></div>', None),
    ('<div><img src="x" alt=""></div>', None),
])
def test_the_picture_after_the_title_is_the_image_of_a_page_that_declares_none(
        markup: str, image: str | None) -> None:
    html = page(body=f"<main><h1>Plan vélo</h1>{markup}{PARAGRAPHS}</main>")
    assert record(html).image_url == image


@pytest.mark.parametrize(("title", "url", "expected"), [
    # the host's initials, or its letters in order, name the site before the page
    ("Credit Valley Hospital - Keith MacDonald Library", "https://www.cvh.on.ca/library/",
     "Keith MacDonald Library"),
    ("Exhibition Place | About Us | Records & Archives", "https://www.explace.on.ca/about/",
     "Records & Archives"),
    # after the site's name, a trail of sections ends on the page
    ("Mississauga.ca - Residents - Central Library", "https://www.mississauga.ca/central",
     "Central Library"),
    # a headline that merely shares letters with the host keeps its words
    ("Covid-19 - ce qui change", "https://www.cvh.on.ca/x", "Covid-19 - ce qui change"),
])
def test_a_leading_site_name_is_cut_from_the_document_title(title: str, url: str,
                                                            expected: str) -> None:
    assert record(page(body="<main>" + PARAGRAPHS + "</main>", title=title), url).title == expected


@pytest.mark.parametrize(("title", "head", "headings", "expected"), [
    # the part of the document's title that the page's heading shows, wherever it stands
    ("Collège Knox - Bibliothèque Caven", "", "<h1>Bibliothèque Caven</h1>",
     "Bibliothèque Caven"),
    ("Fédération des associations de la Loire - Centre de documentation", "",
     "<h2>Centre de documentation</h2>", "Centre de documentation"),
    # a heading that shows the site's name loses to the one where the page's title stands
    ("Lieux et services | Étudier | Conservatoire de musique", "",
     "<h1>Conservatoire de musique</h1><h1>Lieux et services</h1>", "Lieux et services"),
    # OpenGraph naming the site, which the document's title puts after the page's title
    ("À propos du Ballet national | Le Ballet national",
     '<meta property="og:title" content="Le Ballet national">',
     "<h1>Le Ballet national</h1><h1>À propos du Ballet national</h1>",
     "À propos du Ballet national"),
    # a document title that is the site's name alone, and the page's one <h1>
    ("Municipalité de Saint-Bernard-des-Prés", "", "<h1>Bibliothèque municipale</h1>",
     "Bibliothèque municipale"),
    # "Home", "Accueil", "Welcome" name no page
    ("Accueil - Archives départementales de la Loire", "",
     "<h1>Archives départementales de la Loire</h1><h1>Accueil</h1>",
     "Archives départementales de la Loire"),
    # an acronym and what it stands for are one title
    ("DRSP - Direction régionale de santé publique", "", "",
     "DRSP - Direction régionale de santé publique"),
])
def test_the_pages_headings_say_which_part_of_its_title_names_it(
        title: str, head: str, headings: str, expected: str) -> None:
    html = page(head, f"<main>{headings}{PARAGRAPHS}</main>", title=title)
    assert record(html, "https://www.saintbernarddespres.fr/bibliotheque").title == expected


def test_a_site_named_title_stays_when_the_page_has_several_h1s() -> None:
    """Several <h1>s are a menu's or a list's headings: none of them names the page."""
    html = page("", "<main><h1>À propos</h1><h1>Programmes</h1><h1>Actualités</h1>"
                    f"{PARAGRAPHS}</main>", title="Municipalité de Saint-Bernard-des-Prés")
    assert record(html, "https://www.saintbernarddespres.fr/").title == (
        "Municipalité de Saint-Bernard-des-Prés")


@pytest.mark.parametrize(("lang", "zone"), [
    ("fr", "Europe/Paris"), ("fr-FR", "Europe/Paris"), ("fr-CA", "America/Toronto"),
    ("en_GB", "Europe/London"), ("en-US", "America/New_York"), ("de", "Europe/Berlin"),
    ("de-CH", "Europe/Zurich"), ("it", "Europe/Rome"),
    # a language written in many countries, or none, says nothing: Paris
    ("en", "Europe/Paris"), ("es", "Europe/Paris"), ("xx-YY", "Europe/Paris"),
    (None, "Europe/Paris"), ("not a tag!", "Europe/Paris"),
])
def test_the_pages_language_and_country_give_its_zone(lang: str | None, zone: str) -> None:
    assert str(zone_of_language(lang)) == zone


def test_a_date_without_offset_is_read_in_the_pages_zone() -> None:
    at = datetime(2026, 3, 4, 14, 30)
    html = page(f'<meta property="article:published_time" content="{at.isoformat()}">'
                '<meta property="article:modified_time" content="2026-03-05">',
                "<main>" + PARAGRAPHS + "</main>").replace('lang="fr"', 'lang="fr-CA"')
    item = normalise(record(html), SOURCE, datetime(2026, 6, 1, tzinfo=UTC))
    assert item.published == at.replace(tzinfo=ZoneInfo("America/Toronto"))
    assert item.published.astimezone(UTC).hour == 19  # not 13, as it would be in Paris
    assert item.updated.date().isoformat() == "2026-03-05"  # a date alone: that day, there
    # an offset the page writes wins over its language
    stated = html.replace(at.isoformat(), at.isoformat() + "+01:00")
    assert normalise(record(stated), SOURCE, datetime(2026, 6, 1, tzinfo=UTC)).published == \
        at.replace(tzinfo=timezone(timedelta(hours=1)))


def test_microdata_itemprops_are_read_as_lists_of_names() -> None:
    html = page("", '<article itemscope itemtype="https://schema.org/BlogPosting">'
                    '<div itemprop="image" itemscope itemtype="https://schema.org/ImageObject">'
                    '<meta itemprop="url" content="https://www.example.org/a.jpg"></div>'
                    '<h1 itemprop="name headline">Le plan vélo est voté</h1>'
                    f"{PARAGRAPHS}</article>")
    found, _ = explain_page(html, URL, SOURCE)
    assert ("microdata", "Le plan vélo est voté") in found["title"]
    assert ("microdata", "https://www.example.org/a.jpg") in found["image_url"]


@pytest.mark.parametrize(("head", "day"), [
    # month first, as the page's other metadata shows
    ('<meta property="article:published_time" content="4/6/2016 4:00 PM">'
     '<meta itemprop="datePublished" content="April 06, 2016">', "2016-04-06"),
    # day first, as in French, when nothing says otherwise
    ('<meta property="article:published_time" content="4/6/2016">', "2016-06-04"),
    ('<meta property="article:published_time" content="4/6/2016">'
     '<meta itemprop="datePublished" content="2016-06-04">', "2016-06-04"),
])
def test_an_ambiguous_numeric_date_is_read_as_the_pages_other_dates_state_it(
        head: str, day: str) -> None:
    item = normalise(record(page(head, "<main>" + PARAGRAPHS + "</main>")), SOURCE,
                     datetime(2026, 6, 1, tzinfo=UTC))
    assert item.published is not None and item.published.date().isoformat() == day


def test_a_date_after_its_label_in_its_own_element_is_read() -> None:
    html = page("", '<div class="masthead">Dimanche 24 février 2013</div><main><h1>Plan vélo</h1>'
                    '<ul class="meta"><li><span> Mise à jour </span> : vendredi 30 mars 2012 '
                    f"09h24</li></ul>{PARAGRAPHS}</main>")
    found, chosen = explain_page(html, URL, SOURCE)
    assert str(parse_date(chosen["updated"].value).date()) == "2012-03-30"
    # the masthead's "today" is no publication date: it comes after the stated update
    assert "published" not in chosen, chosen.get("published")


def test_a_published_value_that_says_it_is_an_update_is_not_the_publication_date() -> None:
    html = page('<meta property="article:published_time" content="mise à jour le 9/10/2012 - '
                '08h02"><meta itemprop="datePublished" content="2012-10-08T18:29:00+02:00">',
                "<main>" + PARAGRAPHS + "</main>")
    _, chosen = explain_page(html, URL, SOURCE)
    assert chosen["published"].value == "2012-10-08T18:29:00+02:00"


STANDFIRST = ("La Région lance un plan vélo de 300 millions d’euros. Les pistes relieront les "
              "gares aux lycées d’ici 2028. Les communes seront associées au tracé.")


@pytest.mark.parametrize(("description", "block", "expected"), [
    # a description cut short with an ellipsis: the block it opens, whole
    ("La Région lance un plan vélo de 300 millions d’euros. Les pistes relieront les ...",
     f"<div><b>{STANDFIRST}</b></div>", STANDFIRST),
    # the first sentence of a block marked as the standfirst
    ("La Région lance un plan vélo de 300 millions d’euros.",
     f'<p class="chapo">{STANDFIRST}</p>', STANDFIRST),
    # the first sentence of the article's first paragraph, unmarked: the description stays
    ("La Région lance un plan vélo de 300 millions d’euros.",
     f"<section><h2>Le plan</h2><p>{STANDFIRST}</p></section>",
     "La Région lance un plan vélo de 300 millions d’euros."),
])
def test_a_description_that_opens_the_standfirst_gives_way_to_it_whole(
        description: str, block: str, expected: str) -> None:
    html = page(f'<meta name="description" content="{description}">',
                f"<main><h1>Plan vélo</h1><p>Par la rédaction</p>{block}{PARAGRAPHS}</main>")
    assert record(html).summary == expected


def test_a_standfirst_that_opens_in_bold_is_found_whole() -> None:
    bold = STANDFIRST.replace("La Région lance", "<b>La Région</b> lance", 1)
    html = page('<meta name="description" content="La Région lance un plan vélo de 300 millions '
                'd’euros. Les pistes…">', f"<main><h1>Plan vélo</h1><p>{bold}</p>{PARAGRAPHS}"
                                         "</main>")
    assert record(html).summary == STANDFIRST


def test_a_title_of_thousands_of_parts_costs_what_a_real_one_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Work, not time: how many characters the title's comparisons read."""
    choose = sys.modules["syndication.extract.choose"]  # the module, not its function
    read = [0]
    key = choose._key

    def counting(text: str) -> str:
        read[0] += len(text)
        return key(text)

    monkeypatch.setattr(choose, "_key", counting)
    parts = " | ".join(f"Partie {n}" for n in range(3_000))
    headings = "".join(f"<h1>Partie {n}</h1>" for n in range(40))
    found = record(page(f'<meta property="og:title" content="{parts}">',
                        f"<main>{headings}{PARAGRAPHS}</main>", title=parts))
    assert found.title and len(found.title) <= 1000
    assert read[0] < 300_000, read[0]  # before the bound: 3 million, and minutes of work


def test_the_bodys_links_resolve_as_a_browser_resolves_them() -> None:
    html = page('<base href="https://www.example.org/">',
                '<main><h1>Plan vélo</h1><p>Le détail des pistes et de leur calendrier est dans '
                '<a href="docs/plan.pdf">le plan</a>, et leur tracé sur <a href="#carte">la '
                'carte</a> publiée avec lui.</p><img src="//cdn.example.org/a.jpg" alt="">'
                f"{PARAGRAPHS}</main>")
    body = record(html, "https://www.example.org/actualites/2026/plan-velo").content_html or ""
    assert 'href="https://www.example.org/docs/plan.pdf"' in body  # the <base>, not the page
    assert 'href="https://www.example.org/#carte"' in body
    assert 'src="https://cdn.example.org/a.jpg"' in body  # the page's scheme, not http


def test_event_phrases_are_read_on_event_pages_only() -> None:
    phrases = "<p>Le 3 décembre 2026 de 14 h à 18 h</p><p>Lieu : Hôtel de Région</p>"
    news = page("", f"<main><h1>Plan vélo</h1>{phrases}{PARAGRAPHS}</main>")
    assert record(news).event == ()
    agenda = Source(id="agenda", url="https://www.example.org/", publisher="p", kind="evenement")
    found = extract_page(news, URL, agenda).record
    assert found is not None and dict(found.event).get("location_name") == "Hôtel de Région"
