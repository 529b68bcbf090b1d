"""normalise: French dates, key figures, canonical URLs, sanitising, ids, and `reconcile`.

Pure functions, so most properties are checked with Hypothesis against an independent formatter
(Babel writes the dates and amounts the way French pages do; the parser must read them back).
"""

from __future__ import annotations

import ipaddress
import string
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from babel.numbers import format_compact_currency, format_decimal
from bs4 import BeautifulSoup
from hypothesis import given
from hypothesis import strategies as st

from syndication.model import Figure, Image, Item, RawRecord, Source
from syndication.normalise import (
    canonical_url,
    clean_credit,
    content_hash,
    item_id,
    kind_from_label,
    normalise,
    parse_amount,
    parse_date,
    parse_figure,
    public_link,
    reconcile,
    sanitise_html,
)

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=6)
BASE = "http://sample.test/actualites/plan-velo-regional"


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def assert_paris_wall_clock(parsed: datetime | None, expected: datetime) -> None:
    """`parsed` is in Europe/Paris and shows the naive wall-clock time `expected`."""
    assert parsed is not None
    assert parsed.tzinfo is not None and parsed.utcoffset() is not None
    assert parsed.tzinfo == PARIS, parsed.tzinfo
    assert parsed.replace(tzinfo=None) == expected


# --- dates: examples ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Publié le 12 mars 2026", datetime(2026, 3, 12)),
    ("Publié le 1er septembre 2026", datetime(2026, 9, 1)),
    ("1er juillet 2026", datetime(2026, 7, 1)),
    ("Publié le 1ᵉʳ décembre 2025", datetime(2025, 12, 1)),
    ("Publié le 3 avril 2026 à 14h30", datetime(2026, 4, 3, 14, 30)),
    ("le 3 mars 2026 à 9h", datetime(2026, 3, 3, 9, 0)),
    ("12 mars 2026, 9:05", datetime(2026, 3, 12, 9, 5)),
    ("3 févr. 2026", datetime(2026, 2, 3)),
    ("3 sept. 2026", datetime(2026, 9, 3)),
    ("14 juil. 2025", datetime(2025, 7, 14)),
    ("5 aout 2025", datetime(2025, 8, 5)),
    ("5 août 2025", datetime(2025, 8, 5)),
    ("12 decembre 2025", datetime(2025, 12, 12)),
    ("12 MARS 2026", datetime(2026, 3, 12)),
    ("Mis à jour le 12 septembre 2026", datetime(2026, 9, 12)),
    ("12/03/2026", datetime(2026, 3, 12)),
    ("12.03.2026 à 8h", datetime(2026, 3, 12, 8, 0)),
    ("2026-03-12", datetime(2026, 3, 12)),
    ("2026-04-03T14:30:00", datetime(2026, 4, 3, 14, 30)),
])
def test_french_and_local_dates_are_read_as_paris_wall_clock(text: str,
                                                             expected: datetime) -> None:
    assert_paris_wall_clock(parse_date(text), expected)


@pytest.mark.parametrize(("text", "offset_hours"), [
    ("Publié le 12 janvier 2026", 1),
    ("Publié le 12 juillet 2026", 2),
    ("Publié le 3 avril 2026 à 14h30", 2),
    ("28/03/2026", 1),  # the day before the switch to summer time
    ("30/03/2026", 2),
    ("2026-12-18", 1),
])
def test_paris_dates_carry_the_winter_or_summer_offset(text: str, offset_hours: int) -> None:
    parsed = parse_date(text)
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(hours=offset_hours)


@pytest.mark.parametrize(("text", "instant"), [
    ("2026-04-03T14:30:00+02:00", datetime(2026, 4, 3, 12, 30, tzinfo=UTC)),
    ("2025-12-18T18:00:00+01:00", datetime(2025, 12, 18, 17, 0, tzinfo=UTC)),
    ("2026-01-05T10:00:00Z", datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
])
def test_iso_dates_with_an_offset_keep_their_instant(text: str, instant: datetime) -> None:
    parsed = parse_date(text)
    assert parsed is not None and parsed.tzinfo is not None
    assert parsed == instant
    assert parsed.utcoffset() == (datetime.fromisoformat(text.replace("Z", "+00:00"))
                                  .utcoffset())


@pytest.mark.parametrize("text", [
    "31 février 2026", "30 février 2026", "32 mars 2026", "31/02/2026", "12/13/2026",
    "2026-02-31", "2026-13-01",
])
def test_impossible_dates_give_none(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize("text", [
    None, "", "   ", "n'importe quoi", "Publié hier", "mars 2026", "12 brumaire 2026",
    "Publié le 12 mars", "2026", "le 12/03", "<p></p>",
])
def test_text_without_a_date_gives_none(text: str | None) -> None:
    assert parse_date(text) is None


# --- dates: properties (Babel writes the date as a French page would) ---------------------

DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
TIMES = st.times().map(lambda t: t.replace(second=0, microsecond=0))


def french(day: date) -> str:
    return format_date(day, "d MMMM y", locale="fr")


@given(DATES)
def test_babel_french_dates_parse_back_to_midnight_in_paris(day: date) -> None:
    assert_paris_wall_clock(parse_date(f"Publié le {french(day)}"),
                            datetime.combine(day, time(0, 0)))


@given(DATES.map(lambda d: d.replace(day=1)))
def test_first_of_the_month_written_1er_parses_back(day: date) -> None:
    text = french(day)
    assert text.startswith("1 ")
    assert_paris_wall_clock(parse_date("Publié le 1er" + text[1:]),
                            datetime.combine(day, time(0, 0)))


@given(DATES, TIMES, st.booleans())
def test_french_dates_with_a_time_parse_back(day: date, moment: time, first_as_1er: bool) -> None:
    text = french(day)
    if first_as_1er and day.day == 1:
        text = "1er" + text[1:]
    written = f"{text} à {moment.hour:02d}h{moment.minute:02d}"
    assert_paris_wall_clock(parse_date(written), datetime.combine(day, moment))


@given(DATES)
def test_numeric_dates_parse_back_day_first(day: date) -> None:
    assert_paris_wall_clock(parse_date(day.strftime("%d/%m/%Y")),
                            datetime.combine(day, time(0, 0)))


# --- key figures -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "amount", "unit"), [
    ("1,1 Md €", 1_100_000_000, "EUR"),
    ("3,2 Mds €", 3_200_000_000, "EUR"),
    ("7,7 Mds €", 7_700_000_000, "EUR"),
    ("500 M€", 500_000_000, "EUR"),
    ("2 millions", 2_000_000, None),
    ("40 %", 40, "percent"),
    ("10 000 bornes", 10_000, None),
    ("7,7 milliards d’euros", 7_700_000_000, "EUR"),
    ("5,1 milliards d'euros", 5_100_000_000, "EUR"),
    ("1,5 million d’euros", 1_500_000, "EUR"),
    ("3 000 €", 3_000, "EUR"),
    ("1\u202f500\u00a0€", 1_500, "EUR"),
    ("2,5 k€", 2_500, "EUR"),
    ("12,5 %", 12.5, "percent"),
    ("150 000 jeunes", 150_000, None),
])
def test_key_figures_are_scaled_with_their_unit(text: str, amount: int | float,
                                                 unit: str | None) -> None:
    assert parse_amount(text) == (amount, unit)
    assert type(parse_amount(text)[0]) is type(amount)


@pytest.mark.parametrize("text", ["", "beaucoup", "des milliards", "€"])
def test_text_without_a_number_has_no_amount(text: str) -> None:
    assert parse_amount(text) == (None, None)


@pytest.mark.parametrize(("text", "amount", "unit"), [
    ("-40 %", -40, "percent"),
    ("−40 %", -40, "percent"),  # U+2212 MINUS SIGN
    ("- 1,5 Md €", -1_500_000_000, "EUR"),
    (format_decimal(-1234, locale="fr"), -1234, None),
])
def test_negative_key_figures_keep_their_sign(text: str, amount: int, unit: str | None) -> None:
    assert parse_amount(text) == (amount, unit)


def test_parse_figure_keeps_label_and_value_text() -> None:
    figure = parse_figure("  1,1  Md €", " pour le pacte  rural ")
    assert figure == Figure(label="pour le pacte rural", value_text="1,1 Md €",
                            amount=1_100_000_000, unit="EUR")


MANTISSAS = st.integers(min_value=10, max_value=9999).map(lambda n: Decimal(n) / 10)
SCALES = st.sampled_from([10**3, 10**6, 10**9])  # k, M, Md


@given(MANTISSAS, SCALES)
def test_babel_compact_euro_amounts_parse_back_exactly(mantissa: Decimal, scale: int) -> None:
    value = mantissa * scale
    written = format_compact_currency(value, "EUR", locale="fr", fraction_digits=1)
    assert parse_amount(written) == (int(value), "EUR"), written


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_babel_french_integers_parse_back_as_counts(number: int) -> None:
    written = format_decimal(number, locale="fr")
    assert parse_amount(written) == (number, None), written


@given(st.text())
def test_parse_amount_never_raises(text: str) -> None:
    amount, unit = parse_amount(text)
    assert amount is None or isinstance(amount, int | float)
    assert unit in (None, "EUR", "percent")


# --- canonical URLs ----------------------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("https://www.iledefrance.fr/actualites/x?utm_source=nl&utm_medium=email&page=2",
     "https://www.iledefrance.fr/actualites/x?page=2"),
    ("https://www.iledefrance.fr/a?fbclid=IwAR2x&b=1&xtor=RSS-12&a=2&gclid=z&mc_cid=1&mc_eid=2",
     "https://www.iledefrance.fr/a?b=1&a=2"),
    ("https://www.iledefrance.fr/a?UTM_Campaign=x&_ga=1&pk_source=y&mtm_medium=z",
     "https://www.iledefrance.fr/a"),
    ("HTTPS://WWW.IleDeFrance.FR/Actualites/X#commentaires",
     "https://www.iledefrance.fr/Actualites/X"),
    ("https://www.iledefrance.fr", "https://www.iledefrance.fr/"),
    ("https://www.iledefrance.fr/a?q=&z=1", "https://www.iledefrance.fr/a?q=&z=1"),
])
def test_canonical_url_drops_tracking_parameters_and_fragment(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(("url", "base", "expected"), [
    ("../actualites/x?utm_source=a&page=2#top",
     "http://Sample.TEST/toutes-les-actualites/page-2", "http://sample.test/actualites/x?page=2"),
    ("actualites/plan-grand-froid", "http://sample.test/region-solidaire",
     "http://sample.test/actualites/plan-grand-froid"),
    ("/media/a.jpg", "http://sample.test/dossiers/plan-climat", "http://sample.test/media/a.jpg"),
    ("  /a  ", "http://sample.test/b", "http://sample.test/a"),
    ("https://other.example/x", "http://sample.test/b", "https://other.example/x"),
])
def test_canonical_url_resolves_relative_urls_against_the_base(url: str, base: str,
                                                               expected: str) -> None:
    assert canonical_url(url, base) == expected


TRACKING_KEYS = ["utm_source", "utm_medium", "UTM_Campaign", "utm_content", "fbclid", "gclid",
                 "xtor", "mc_cid", "mc_eid", "_ga", "msclkid", "igshid", "pk_campaign"]
# Names without "_" that the tracking list contains; random ordinary keys must avoid them.
_TRACKING_WORDS = {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "xtor", "igshid",
                   "yclid"}
ORDINARY_KEYS = st.one_of(
    st.sampled_from(["page", "q", "id", "lang", "sort", "theme", "utm", "ref"]),
    st.text(string.ascii_letters + string.digits + "-.~", min_size=1, max_size=8)
    .filter(lambda k: k.lower() not in _TRACKING_WORDS),
)
VALUES = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
PARAMS = st.lists(st.one_of(
    st.tuples(st.sampled_from(TRACKING_KEYS), VALUES).map(lambda kv: (*kv, True)),
    st.tuples(ORDINARY_KEYS, VALUES).map(lambda kv: (*kv, False)),
), max_size=8)


@given(PARAMS, st.sampled_from(["", "#haut", "#"]))
def test_canonical_url_keeps_ordinary_parameters_in_order_and_is_idempotent(
        params: list[tuple[str, str, bool]], fragment: str) -> None:
    query = urlencode([(key, value) for key, value, _ in params])
    url = f"https://WWW.IleDeFrance.fr/actualites/x?{query}{fragment}"
    canonical = canonical_url(url)
    parts = urlsplit(canonical)
    assert parts.netloc == "www.iledefrance.fr"
    assert parts.fragment == "" and "#" not in canonical
    kept = [(key, value) for key, value, tracking in params if not tracking]
    assert parse_qsl(parts.query, keep_blank_values=True) == kept
    assert canonical_url(canonical) == canonical
    assert canonical_url(canonical, "http://elsewhere.example/") == canonical


def test_canonical_url_is_idempotent_when_the_path_ends_with_a_space() -> None:
    canonical = canonical_url("https://www.iledefrance.fr/media/guide ?utm_source=x")
    assert canonical_url(canonical) == canonical


@pytest.mark.parametrize(("raw", "encoded"), [
    ("/media/mon guide.pdf", "/media/mon%20guide.pdf"),
    ("/actualités/été", "/actualit%C3%A9s/%C3%A9t%C3%A9"),
])
def test_one_resource_written_raw_or_percent_encoded_has_one_url(raw: str, encoded: str) -> None:
    raw, encoded = "https://www.iledefrance.fr" + raw, "https://www.iledefrance.fr" + encoded
    assert canonical_url(raw) == canonical_url(encoded) == encoded
    assert item_id(canonical_url(raw)) == item_id(canonical_url(encoded))


@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=30))
def test_canonical_url_is_idempotent_for_any_path(rest: str) -> None:
    try:
        canonical = canonical_url("https://www.iledefrance.fr/" + rest)
    except ValueError:  # e.g. an invalid IPv6 literal: not a URL at all
        return
    assert canonical_url(canonical) == canonical


# --- item ids --------------------------------------------------------------------------------


def test_item_id_is_the_stable_name_based_uuid_of_the_url() -> None:
    # Ids must never change: this literal pins the derivation (UUID 5 in the URL namespace).
    assert item_id("https://www.iledefrance.fr/region-solidaire") == \
        "aeffd35b-c0b4-5fc0-a21f-e969a8672f1d"
    parsed = uuid.UUID(item_id("http://sample.test/actualites/x"))
    assert parsed.version == 5


def test_item_id_depends_only_on_the_canonical_url() -> None:
    plain = "https://www.iledefrance.fr/actualites/plan-velo-regional"
    tracked = "https://WWW.iledefrance.fr/actualites/plan-velo-regional?utm_source=x&fbclid=y#h"
    assert item_id(canonical_url(tracked)) == item_id(canonical_url(plain)) == item_id(plain)
    assert item_id(plain) != item_id(plain + "-2")


# --- HTML ------------------------------------------------------------------------------------


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "lxml")


def test_sanitise_removes_scripts_and_styles_with_their_content() -> None:
    html = ("<p>avant<script>alert('x')</script><style>p{color:red}</style>après</p>"
            "<noscript><p>sans js</p></noscript><template><p>modèle</p></template>")
    cleaned = sanitise_html(html, BASE)
    assert cleaned == "<p>avantaprès</p>"


def test_sanitise_removes_handlers_style_attributes_and_javascript_urls() -> None:
    html = ('<p style="color:red" onclick="x()">texte</p>'
            '<a href="javascript:alert(1)" onmouseover="y()">lien</a>'
            '<img src="/media/a.jpg" onerror="z()" alt="a">')
    parsed = soup(sanitise_html(html, BASE))
    paragraph, image = parsed.find("p"), parsed.find("img")
    assert paragraph.attrs == {} and paragraph.get_text() == "texte"
    # A link whose only target was unsafe is no link any more; its text stays.
    assert parsed.find("a") is None and "lien" in parsed.get_text()
    assert image.attrs == {"src": "http://sample.test/media/a.jpg", "alt": "a"}


def test_sanitise_makes_relative_links_and_images_absolute() -> None:
    html = ('<p><a href="../toutes-les-actualites">tout</a> <a href="carte-imagine-r">carte</a>'
            ' <a href="mailto:contact@example.org">écrire</a></p><img src="/media/b.jpg">')
    parsed = soup(sanitise_html(html, BASE))
    assert [a["href"] for a in parsed.find_all("a")] == [
        "http://sample.test/toutes-les-actualites", "http://sample.test/actualites/carte-imagine-r",
        "mailto:contact@example.org"]
    assert parsed.find("img")["src"] == "http://sample.test/media/b.jpg"


def test_sanitise_keeps_allowed_structure() -> None:
    html = ("<h2>Titre</h2><ul><li><strong>un</strong></li><li><em>deux</em></li></ul>"
            "<blockquote><p>cité</p></blockquote>"
            "<table><tr><th scope=\"col\">a</th><td colspan=\"2\">b</td></tr></table>"
            '<p>le <time datetime="2026-03-12">12 mars</time>, <abbr title="Île-de-France">IDF'
            "</abbr></p>")
    parsed = soup(sanitise_html(html, BASE))
    for name in ("h2", "ul", "li", "strong", "em", "blockquote", "table", "th", "td", "time",
                 "abbr"):
        assert parsed.find(name) is not None, name
    assert parsed.find("td")["colspan"] == "2" and parsed.find("th")["scope"] == "col"
    assert parsed.find("time")["datetime"] == "2026-03-12"
    assert parsed.find("abbr")["title"] == "Île-de-France"


def test_sanitise_drops_embedded_frames_and_objects() -> None:
    html = ('<iframe src="https://evil.example"></iframe><object data="x.swf"><embed src="y">'
            "</object><form action=\"/x\"><input name=q></form><p>reste</p>")
    parsed = soup(sanitise_html(html, BASE))
    assert parsed.find(["iframe", "object", "embed", "form", "input"]) is None
    assert parsed.get_text() == "reste"


HOSTILE_URLS = st.sampled_from([
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "  javascript:alert(1)",
    "jav&#x09;ascript:alert(1)", "java\nscript:alert(1)", "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==",
    "/relatif", "../parent", "page-2", "#ancre", "?q=1", "", "//autre.example/x",
    "https://ok.example/", "http://ok.example/a?b=c", "mailto:contact@example.org",
])
HOSTILE_ATTRIBUTES = st.one_of(
    st.sampled_from(["onclick", "onerror", "onload", "onmouseover", "OnFocus", "style"])
    .map(lambda name: f'{name}="alert(1)"'),
    st.tuples(st.sampled_from(["href", "src", "xlink:href", "action", "formaction", "data"]),
              HOSTILE_URLS).map(lambda pair: f'{pair[0]}="{pair[1]}"'),
)
HOSTILE_PIECES = st.sampled_from([
    "<script>alert(1)</script>", '<script src="https://evil.example/x.js"></script>',
    "<style>body{display:none}</style>", '<iframe src="https://evil.example/"></iframe>',
    '<object data="x.swf"><param name="a" value="b"></object>', '<embed src="x.swf">',
    "<svg><script>alert(1)</script></svg>", "<scr<script>ipt>alert(1)</script>",
    "<noscript><img src=x onerror=alert(1)></noscript>", "texte ordinaire", "<br>",
    "</p>", "<!-- commentaire -->",
])


@st.composite
def hostile_element(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(st.sampled_from(["p", "a", "img", "div", "span", "strong", "iframe", "object",
                                "style", "script", "svg", "math", "form", "button", "td"]))
    attributes = " ".join(draw(st.lists(HOSTILE_ATTRIBUTES, max_size=3)))
    children = draw(st.lists(
        HOSTILE_PIECES if depth >= 2 else st.one_of(HOSTILE_PIECES,
                                                     hostile_element(depth + 1)),
        max_size=3))
    return f"<{tag} {attributes}>{''.join(children)}</{tag}>"


SAFE_URL_PREFIXES = ("http://", "https://", "mailto:")


@given(st.lists(st.one_of(HOSTILE_PIECES, hostile_element()), min_size=1, max_size=6))
def test_sanitised_hostile_fragments_hold_nothing_active(pieces: list[str]) -> None:
    cleaned = soup(sanitise_html("".join(pieces), BASE))
    assert cleaned.find(["script", "style", "iframe", "object", "embed", "svg", "math",
                         "form"]) is None
    for element in cleaned.find_all(True):
        for name, value in element.attrs.items():
            assert not name.lower().startswith("on"), (name, element)
            assert name.lower() != "style", element
            if name in ("href", "src"):
                assert value.startswith(SAFE_URL_PREFIXES), (name, value)


# --- credits and kinds ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Crédit photo : © Andrea Piacquadio", "Andrea Piacquadio"),
    ("CRÉDIT PHOTO : © Andrea Piacquadio", "Andrea Piacquadio"),
    ("Credits photos: (c) Sophie Garnier", "Sophie Garnier"),
    ("Crédits : Région Île-de-France", "Région Île-de-France"),
    ("Crédit image : Copyright Oksana Melnyk", "Oksana Melnyk"),
    ("© Région Île-de-France", "Région Île-de-France"),
    ("Crédit photo :  ©  Baptiste   Roux", "Baptiste Roux"),
    ("Crédit photo : © Andrea Piacquadio / Pexels", "Andrea Piacquadio / Pexels"),
    ("Antoine Giraud", "Antoine Giraud"),
])
def test_clean_credit_keeps_only_the_name(text: str, expected: str) -> None:
    assert clean_credit(text) == expected


@pytest.mark.parametrize("text", [None, "", "   ", "Crédit photo :", "Crédit photo : ©"])
def test_clean_credit_without_a_name_is_none(text: str | None) -> None:
    assert clean_credit(text) is None


@pytest.mark.parametrize(("label", "kind"), [
    ("Actualité", "actualite"), ("Actualités", "actualite"), ("ACTUALITÉ", "actualite"),
    ("Dossier", "dossier"), ("  Dossiers ", "dossier"), ("Dossier\n", "dossier"),
    ("Communiqué de presse", "actualite"), ("NewsArticle", "actualite"),
    ("BlogPosting", "actualite"), ("Événement", "evenement"), ("Agenda", "evenement"),
    ("Event", "evenement"),
    ("Vidéo", None), ("WebPage", None), ("", None), (None, None),
])
def test_kind_from_label(label: str | None, kind: str | None) -> None:
    assert kind_from_label(label) == kind


# --- normalise ------------------------------------------------------------------------------

SOURCE = Source(id="actualites", url="https://www.iledefrance.fr/toutes-les-actualites",
                publisher="idf", kind="page", tags=("Plan vélo",))
PAGE_URL = "https://www.iledefrance.fr/actualites/plan-velo-regional"


def raw_record(**changes: object) -> RawRecord:
    record = RawRecord(
        url=PAGE_URL + "?utm_source=newsletter&page=1#haut",
        title="  Plan vélo régional :\n 200 km de pistes ",
        summary="Le réseau cyclable  s’étend.",
        content_html=('<p onclick="x()">Texte <a href="/toutes-les-actualites">tout</a></p>'
                      "<script>bad()</script>"),
        published="Publié le 12 juin 2025 à 10h30",
        image_url="/media/plan-velo-regional.jpg",
        image_alt=" Des cyclistes ",
        image_credit="Crédit photo : © Baptiste Roux",
        image_width="960",
        image_height="540px",
        figures=(("200 km", "de pistes cyclables"), ("", "sans valeur"), ("5 000", "places")),
        tags=("Transports", "transports", " "),
        kind="Actualité",
        authors=("Région Île-de-France", "Région Île-de-France"),
        lang="fr-FR",
    )
    return replace(record, **changes)


def test_normalise_builds_the_item_from_a_raw_record() -> None:
    item = normalise(raw_record(), SOURCE, NOW)
    url = "https://www.iledefrance.fr/actualites/plan-velo-regional?page=1"
    assert item.url == url
    assert item.id == item_id(url)
    assert item.source == "actualites"
    assert item.kind == "actualite"
    assert item.title == "Plan vélo régional : 200 km de pistes"
    assert item.summary == "Le réseau cyclable s’étend."
    assert item.content_html == ('<p>Texte <a href="https://www.iledefrance.fr/toutes-les-'
                                 'actualites" rel="noopener noreferrer">tout</a></p>')
    assert item.published == paris(2025, 6, 12, 10, 30)
    assert item.updated == item.published  # no declared update: the publication date
    assert item.first_seen == NOW
    assert item.image == Image(url="https://www.iledefrance.fr/media/plan-velo-regional.jpg",
                               alt="Des cyclistes", credit="Baptiste Roux", width=960,
                               height=540)
    assert item.authors == ("Région Île-de-France",)
    assert item.tags == ("Transports", "Plan vélo")
    assert item.figures == (Figure("de pistes cyclables", "200 km", 200, None),
                            Figure("places", "5 000", 5000, None))
    assert item.lang == "fr"
    assert item.related == ()
    assert item.content_hash and item.content_hash == content_hash(item)


def test_normalise_prefers_the_declared_canonical_url() -> None:
    item = normalise(raw_record(canonical_url="/actualites/plan-velo?xtor=RSS-12"), SOURCE, NOW)
    assert item.url == "https://www.iledefrance.fr/actualites/plan-velo"
    assert item.id == item_id("https://www.iledefrance.fr/actualites/plan-velo")


def test_normalise_falls_back_to_the_source_kind_and_first_seen() -> None:
    item = normalise(raw_record(kind="WebPage", published=None, lang=None), SOURCE, NOW)
    assert item.kind == "page"
    assert item.published is None
    assert item.updated == NOW and item.date == NOW
    assert item.lang == "fr"


def test_normalise_drops_images_that_are_not_http() -> None:
    record = raw_record(image_url="data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAAB")
    assert normalise(record, SOURCE, NOW).image is None
    assert normalise(raw_record(image_url=None), SOURCE, NOW).image is None


@pytest.mark.parametrize("title", [None, "", "   ", "\x00\x01 \n"])
def test_normalise_rejects_a_record_without_title(title: str | None) -> None:
    with pytest.raises(ValueError, match="plan-velo-regional"):
        normalise(raw_record(title=title), SOURCE, NOW)


def test_declared_update_date_becomes_updated() -> None:
    record = raw_record(published="Publié le 10 septembre 2026",
                        updated="Mis à jour le 12 septembre 2026 à 9h45")
    item = normalise(record, SOURCE, NOW)
    assert item.updated == paris(2026, 9, 12, 9, 45)


def test_an_update_date_before_the_publication_date_never_makes_updated_earlier() -> None:
    record = raw_record(published="Publié le 6 décembre 2026",
                        updated="Mis à jour le 15 septembre 2026")
    item = normalise(record, SOURCE, NOW)
    assert item.published == paris(2026, 12, 6)
    assert item.updated == item.published  # published <= updated, whatever the page says


def test_a_page_without_dates_gets_no_publication_date() -> None:
    item = normalise(raw_record(published=None), SOURCE, NOW)
    assert item.published is None
    assert item.updated == item.first_seen == NOW == item.date


def test_reconcile_keeps_published_before_updated() -> None:
    old = normalise(raw_record(published=None), SOURCE, NOW)
    # The page now says it was published after the last update we know of.
    later = normalise(raw_record(summary="Nouveau.", published="Publié le 1er janvier 2027"),
                      SOURCE, LATER)
    result = reconcile(old, later)
    assert result is not None and result.published is not None
    assert result.published <= result.updated


# --- reconcile ------------------------------------------------------------------------------


def test_reconcile_keeps_a_new_item() -> None:
    new = normalise(raw_record(), SOURCE, NOW)
    assert reconcile(None, new) is new


def test_reconcile_same_content_seen_later_writes_nothing() -> None:
    old = normalise(raw_record(), SOURCE, NOW)
    again = normalise(raw_record(), SOURCE, LATER)
    assert again.first_seen != old.first_seen
    assert reconcile(old, again) is None


def test_reconcile_changed_summary_moves_updated_and_keeps_history() -> None:
    old = normalise(raw_record(), SOURCE, NOW)
    edited = normalise(raw_record(summary="Un nouveau chapô.", published=None), SOURCE, LATER)
    result = reconcile(old, edited)
    assert result is not None
    assert result.summary == "Un nouveau chapô."
    assert result.content_hash == edited.content_hash != old.content_hash
    assert result.first_seen == old.first_seen == NOW
    assert result.published == old.published == paris(2025, 6, 12, 10, 30)
    assert result.updated > old.updated
    assert result.updated == LATER


def test_reconcile_only_related_changed_keeps_the_old_item_and_dates() -> None:
    old = replace(normalise(raw_record(), SOURCE, NOW), related=("a",))
    new = replace(normalise(raw_record(), SOURCE, LATER), related=("a", "b"))
    result = reconcile(old, new)
    assert result == replace(old, related=("a", "b"))
    assert result is not None and result.updated == old.updated
    assert result.first_seen == NOW


def test_content_hash_ignores_dates_and_related_but_not_content() -> None:
    item = normalise(raw_record(), SOURCE, NOW)
    moved = replace(item, first_seen=LATER, updated=LATER, published=None, related=("x",))
    assert content_hash(moved) == content_hash(item)
    assert content_hash(replace(item, title="Autre titre")) != content_hash(item)
    assert content_hash(replace(item, tags=())) != content_hash(item)


def test_item_round_trips_through_its_dict() -> None:
    item = replace(normalise(raw_record(), SOURCE, NOW), related=("x",))
    assert Item.from_dict(item.to_dict()) == item


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00",
                                  "31/12/9999", "2999-01-01"])
def test_dates_no_output_could_convert_are_no_dates(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize("text", ["Réforme <enfin> votée", "&lt;img src=x onerror=alert(1)&gt;",
                                  "Tom & Jerry", "A &amp; B", "<b>gras</b>", "« guillemets »"])
def test_text_is_decoded_once_and_kept_as_written(text: str) -> None:
    """Extraction decoded the page once; normalising never reads text as HTML again, so markup
    in text is text ("<enfin>" stays) and an escaped entity stays escaped."""
    item = normalise(raw_record(title=text, summary=text), SOURCE, NOW)
    assert item.title == text and item.summary == text


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "ftp://example.org/a",
    "https://user:secret@www.iledefrance.fr/a", "http://127.0.0.1/admin",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://localhost:6379/",
    "http://10.0.0.5/", "http://[::ffff:127.0.0.1]/",
])
def test_only_public_http_links_leave_the_service(url: str) -> None:
    item = normalise(raw_record(canonical_url=url, image_url=url), SOURCE, NOW)
    assert item.url == "https://www.iledefrance.fr/actualites/plan-velo-regional?page=1"
    assert item.image is None


def test_an_item_with_no_publishable_link_points_to_its_source() -> None:
    item = normalise(raw_record(url="javascript:void(0)", canonical_url=None), SOURCE, NOW)
    assert item.url == SOURCE.url
    assert item.id == item_id("javascript:void(0)")  # its own id still


def test_admitted_networks_are_published() -> None:
    record = raw_record(url="http://127.0.0.1:8300/actualites/a", canonical_url=None,
                        image_url="/media/a.jpg")
    assert normalise(record, SOURCE, NOW).url == SOURCE.url
    admitted = normalise(record, SOURCE, NOW,
                         allowed_networks=((ipaddress.ip_network("127.0.0.0/8"), None),))
    assert admitted.url == "http://127.0.0.1:8300/actualites/a"
    assert admitted.image is not None and admitted.image.url.startswith("http://127.0.0.1:8300/")


# --- every spelling of a private address, in every place a link can be -------------------------

# What a browser reads as a private address (WHATWG URL's IPv4 parser: decimal, hexadecimal,
# octal, short forms; percent-encoded and full-width hosts), and the IPv6 wrappers of one.
PRIVATE_SPELLINGS = [
    "http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://127.1/",
    "http://0x7f000001:8080/", "http://%31%32%37.0.0.1/", "http://\uff11\uff12\uff17\uff0e0.0.1/",
    "http://0.0.0.0/", "http://LOCALHOST./", "http://0xA9FEA9FE/latest/meta-data/",
    "http://[64:ff9b::a9fe:a9fe]/", "http://[::7f00:1]/", "http://[2002:7f00:1::]/",
    "http://[::ffff:a00:1]/", "http://256.1.1.1/", "http://example.123/",
]


@pytest.mark.parametrize("url", PRIVATE_SPELLINGS)
def test_every_spelling_of_a_private_address_is_refused(url: str) -> None:
    assert public_link(url) is None
    record = raw_record(canonical_url=url, image_url=url,
                        content_html=f'<p><a href="{url}">lien</a> <img src="{url}" alt="i"></p>')
    item = normalise(record, SOURCE, NOW)
    assert item.url == "https://www.iledefrance.fr/actualites/plan-velo-regional?page=1"
    assert item.image is None
    assert item.content_html == "<p>lien </p>"


@pytest.mark.parametrize("url", [
    "http://1.2.3.4/", "http://8.8.8.8:8080/x", "https://www.iledefrance.fr/a",
    "http://[2001:4860:4860::8888]/", "http://123.example.org/", "http://0x.example.org/",
])
def test_public_addresses_and_names_are_links(url: str) -> None:
    assert public_link(url) == url


def test_content_links_and_images_to_private_addresses_are_removed_their_text_kept() -> None:
    html = ('<p><a href="http://169.254.169.254/latest/">métadonnées</a> '
            '<a href="http://[::1]:6379/">redis</a> '
            '<a href="http://user:secret@www.iledefrance.fr/">identifiants</a> '
            '<a href="//10.0.0.1/x">relatif au protocole</a> '
            '<a href="https://www.iledefrance.fr/a">publique</a> '
            '<a href="mailto:contact@iledefrance.fr">écrire</a> '
            '<img src="http://10.0.0.1/x.png" alt="privée"> '
            '<img src="https://www.iledefrance.fr/y.png" alt="publique"></p>')
    soup = BeautifulSoup(sanitise_html(html, BASE), "html.parser")
    assert [a["href"] for a in soup.find_all("a")] == ["https://www.iledefrance.fr/a",
                                                        "mailto:contact@iledefrance.fr"]
    assert [img["src"] for img in soup.find_all("img")] == ["https://www.iledefrance.fr/y.png"]
    assert soup.get_text().split()[:4] == ["métadonnées", "redis", "identifiants", "relatif"]
    # The site the operator admits, on its port, and no other service of that machine.
    admitted = sanitise_html('<p><a href="http://127.0.0.1:8300/a">site</a> '
                             '<a href="http://127.0.0.1:6379/">autre port</a> '
                             '<img src="http://127.0.0.1:8300/i.png" alt=""></p>', BASE,
                             allowed_networks=((ipaddress.ip_network("127.0.0.1/32"), 8300),))
    soup = BeautifulSoup(admitted, "html.parser")
    assert [a["href"] for a in soup.find_all("a")] == ["http://127.0.0.1:8300/a"]
    assert [img["src"] for img in soup.find_all("img")] == ["http://127.0.0.1:8300/i.png"]


def test_a_record_whose_url_is_no_url_resolves_its_content_against_the_item() -> None:
    """A feed entry without a link has its id for a URL ("0", "urn:x"): no base for nh3."""
    for page_url in ("0", "urn:uuid:1", "/relatif"):
        record = raw_record(url=page_url, canonical_url=None,
                            content_html='<p><a href="/a">relatif</a></p>')
        item = normalise(record, SOURCE, NOW)
        assert item.url == SOURCE.url
        assert item.content_html == '<p><a href="https://www.iledefrance.fr/a" ' \
                                    'rel="noopener noreferrer">relatif</a></p>'


def test_content_that_is_text_alone_stays_as_it_is() -> None:
    """Text that looks like a URL or a file name: BeautifulSoup would warn (an error here)."""
    for text in ("https://www.iledefrance.fr/a", "rapport.pdf", "a &lt; b"):
        assert sanitise_html(text, BASE) == text


@pytest.mark.parametrize(("tag", "lang"), [
    ("fr-FR", "fr"), ("en", "en"), ("EN_gb", "en"), ("brx", "brx"), ('"><script>', "fr"),
    ("", "fr"), (None, "fr"), ("123", "fr"), ("français", "fr"), ("x" * 50, "fr")])
def test_the_language_is_a_primary_subtag(tag: str | None, lang: str) -> None:
    assert normalise(raw_record(lang=tag), SOURCE, NOW).lang == lang


def test_sanitised_content_holds_no_character_xml_cannot_carry() -> None:
    """nh3 writes out what references stand for: "&#11;" became a control character."""
    assert sanitise_html("<p>a&#11;b&#x1;c&#1</p>", BASE) == "<p>abc</p>"


def test_sanitised_markup_is_written_as_stored_items_were() -> None:
    """Attributes in alphabetical order, void elements closed, indentation between tags one
    line break, whitespace in <pre> and no-break spaces kept: the hashes of items stored
    before still hold."""
    html = ('<div>\n    <p>Un\xa0<a href="https://example.org/a" title="t">lien</a></p>\n'
            '    <img src="https://example.org/i.jpg" alt="a">\n<pre>  x\n\n  y </pre>\n'
            '  <p>a<br>b</p></div>')
    assert sanitise_html(html, "https://example.org/") == (
        '<p>Un\xa0<a href="https://example.org/a" rel="noopener noreferrer" title="t">lien</a>'
        '</p>\n<img alt="a" src="https://example.org/i.jpg"/>\n<pre>  x\n  y </pre>\n'
        '<p>a<br/>b</p>')


def test_deeply_nested_markup_is_sanitised_without_recursion() -> None:
    html = "<div>" * 5000 + "<p>fond</p>" + "</div>" * 5000
    assert "fond" in sanitise_html(html, "https://example.org/")
