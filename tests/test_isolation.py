"""One hostile page never stops its source, and the public pages never show an error's text.

A detail page, a feed entry or a sitemap that raises anything while it is read or normalised
(TypeError, RecursionError, KeyError…) is skipped alone: it is named in the source's warnings,
the item it gave before stays, and the rest is published. Only the source's own entry point
(its page, its feed, its sitemap) failing fails the source. /status and / say the kind of an
error and when; its text, and the warnings, go to the operator's token alone (/api/sources).

The known crashers, each fixed at its root as well: JSON-LD whose "@type" is an object, JSON-LD
and JSON Feeds nested thousands of levels deep, HTML nested 50 000 levels deep.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from redis import Redis

from demo.sample_site import SITE_DIR
from syndication import normalise as normalise_stage
from syndication.app import create_app
from syndication.decide import normalise_harvest
from syndication.errors import MalformedFeed
from syndication.extract import extract_page, feeds, metadata
from syndication.extract.feeds import parse_feed
from syndication.extract.jsontext import MAX_DEPTH, TooDeep, load_json
from syndication.extract.tree import Node, parse
from syndication.harvest.pages import as_detail_page
from syndication.model import RawRecord, Source
from syndication.refresh import RefreshResult, refresh
from syndication.runtime import Runtime
from syndication.state import Harvest, PageState, Validators

from .conftest import OPERATOR_AUTH, make_catalogue, make_runtime
from .faulty_site import FaultySite

NOW = datetime(2026, 2, 2, 12, 0, tzinfo=UTC)
DEEP = 5000  # levels of JSON nesting: json.loads alone raised RecursionError
NESTED = 50_000  # levels of HTML nesting
DOSSIER = "region-solidaire.html"
LAST_LINK = "au peuple ukrainien</a></li>\n</ul></section>"  # the dossier's last linked news
LINKED = {  # the news the sample dossier links to: path → title
    "actualites/ordre-de-malte-partenariat-solidarite":
        "La Région Île-de-France et l’Ordre de Malte France partenaires pour la solidarité",
    "actualites/plan-grand-froid-associations":
        "Plan Grand Froid : la Région aux côtés d'associations franciliennes",
    "actualites/ukraine-solidarite-soutien":
        "La Région Île-de-France exprime sa solidarité et tout son soutien au peuple ukrainien",
}
TRAP_ID = "piege-cle"  # a page holding this id makes an extractor raise KeyError (`trap`)
LEAKS = ("RecursionError", "KeyError", "TypeError", "maximum recursion", "internal error",
         "page skipped", "Traceback")


# --- hostile pages ---------------------------------------------------------------------------


def news_page(title: str, *, head: str = "", body: str = "<p>Un paragraphe.</p>",
              marker: str = "") -> str:
    """A news page of the sample site's template."""
    content = f'<div class="article-body">{body}</div>'
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title>'
            f'{head}</head><body><main><article{marker}><p class="type-label">Actualité</p>'
            f'<h1 class="page-title">{title}</h1><p class="date">Publié le 2 février 2026</p>'
            f'<p class="chapo">Le chapô de la page « {title} ».</p>{content}</article></main>'
            "</body></html>")


def json_ld(text: str) -> str:
    return f'<script type="application/ld+json">{text}</script>'


TYPE_OBJECT = news_page("JSON-LD au type objet",
                        head=json_ld('{"@type": {"x": 1}, "headline": "Titre ignoré"}'))
DEEP_JSON_LD = news_page("JSON-LD trop profond", head=json_ld(
    '{"@type": "NewsArticle", "headline": "Titre ignoré", "about": '
    + "[" * DEEP + "]" * DEEP + "}"))
NESTED_DIVS = news_page("Cinquante mille div", body="<div>" * NESTED + "Au fond."
                        + "</div>" * NESTED)
# Read by trafilatura (no .article-body), then sanitised: RecursionError under `recursion_trap`.
NESTED_QUOTES = ('<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Cinquante '
                 'mille citations</title></head><body><article><h1 class="page-title">'
                 "Cinquante mille citations</h1>" + "<blockquote>" * NESTED + "texte " * 100
                 + "</blockquote>" * NESTED + "</article></body></html>")
KEY_ERROR = news_page("Une clé manquante", marker=f' id="{TRAP_ID}"')
# Fed as it is to normalise: RecursionError under `recursion_trap`.
QUOTES_HTML = "<blockquote>\n" * 1000 + "texte" + "</blockquote>\n" * 1000

HOSTILE_LINKS = {  # path → (page, title, skipped as)
    "actualites/piege-type-objet": (TYPE_OBJECT, "JSON-LD au type objet", None),
    "actualites/piege-json-ld-profond": (DEEP_JSON_LD, "JSON-LD trop profond", None),
    "actualites/piege-divs": (NESTED_DIVS, "Cinquante mille div", None),
    "actualites/piege-citations": (NESTED_QUOTES, "Cinquante mille citations", "RecursionError"),
    "actualites/piege-cle": (KEY_ERROR, "Une clé manquante", "KeyError"),
}


@pytest.fixture
def trap(monkeypatch: pytest.MonkeyPatch) -> None:
    """An extractor that raises KeyError on the pages holding TRAP_ID: a bug not found yet."""
    conventions = metadata._conventions

    def raising(page: Node) -> dict[str, Any]:
        if page.xpath(f'//*[@id="{TRAP_ID}"]'):
            raise KeyError("image_credit")
        return conventions(page)

    monkeypatch.setattr(metadata, "_conventions", raising)


@pytest.fixture
def recursion_trap(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sanitiser that raises RecursionError on blockquotes nested a hundred deep, as the
    sanitiser's tidying once did (it no longer recurses): a bug in normalise not found yet."""
    sanitise = normalise_stage.sanitise_html

    def raising(html: str, *args: Any, **kwargs: Any) -> str:
        if html.count("<blockquote") >= 100:
            raise RecursionError("maximum recursion depth exceeded")
        return sanitise(html, *args, **kwargs)

    monkeypatch.setattr(normalise_stage, "sanitise_html", raising)


@pytest.fixture
def web(site_runtime: Runtime) -> Iterator[FlaskClient]:
    app = create_app(runtime=site_runtime)
    yield app.test_client()
    app.extensions["syndication.cache"].close()


def link_from_dossier(site: FaultySite, paths: list[str]) -> None:
    more = "".join(f'<li><a class="latest-news__link" href="/{path}">{path}</a></li>'
                   for path in paths)
    site.edit(DOSSIER, LAST_LINK, LAST_LINK.replace("</ul>", more + "</ul>"))


def rewrite(site: FaultySite, relative: str, body: str) -> None:
    """site.write, with a Last-Modified second of its own even for a second write of the file
    within a second (If-Modified-Since would get a 304 for the first one's)."""
    path = site.root / relative
    before = int(path.stat().st_mtime) if path.exists() else 0
    site.write(relative, body)
    if int(path.stat().st_mtime) <= before:
        os.utime(path, (before + 1, before + 1))


def run(runtime: Runtime, source: str | Source) -> RefreshResult:
    found = runtime.catalogue.sources[source] if isinstance(source, str) else source
    return refresh(found, runtime)


def stored(runtime: Runtime, source_id: str) -> dict[str, dict[str, Any]]:
    return {item.url: item.to_dict() for item in runtime.store.source_items(source_id,
                                                                             limit=500)}


def skipped(site: FaultySite, path: str, error: str) -> str:
    return f"page skipped (internal error: {error}): {site.url}/{path}"


def status_text(web: FlaskClient, path: str = "/status") -> str:
    response = web.get(path)
    assert response.status_code == 200
    return BeautifulSoup(response.data, "html.parser").get_text(" ", strip=True)


def status_row(web: FlaskClient, source_id: str) -> str:
    soup = BeautifulSoup(web.get("/status").data, "html.parser")
    row = soup.find("tr", id=f"source-{source_id}")
    assert row is not None
    return row.get_text(" ", strip=True)


def assert_no_leak(text: str, *also: str) -> None:
    for leak in (*LEAKS, *also):
        assert leak not in text, leak


# --- an html source with follow: every clean page published ----------------------------------


@pytest.mark.usefixtures("trap")
@pytest.mark.usefixtures("recursion_trap")
def test_a_dossier_linking_hostile_pages_publishes_every_clean_one(
        site_runtime: Runtime, faulty_site: FaultySite, web: FlaskClient) -> None:
    for path, (page, _, _) in HOSTILE_LINKS.items():
        faulty_site.write(f"{path}.html", page)
    link_from_dossier(faulty_site, list(HOSTILE_LINKS))

    result = run(site_runtime, "region-solidaire")

    assert (result.outcome, result.error) == ("ok", None), result
    titles = {item["title"] for item in stored(site_runtime, "region-solidaire").values()}
    published = {title for _, title, fails in HOSTILE_LINKS.values() if fails is None}
    assert titles == {"Région solidaire", *LINKED.values(), *published}
    assert sorted(result.warnings) == sorted(
        skipped(faulty_site, path, fails) for path, (_, _, fails) in HOSTILE_LINKS.items()
        if fails)
    status = site_runtime.store.source_status("region-solidaire")
    assert status.state == "ok" and status.warnings == result.warnings
    dossier = next(item for item in site_runtime.store.source_items("region-solidaire", limit=50)
                   if item.kind == "dossier")
    assert len(dossier.related) == len(LINKED) + len(published)  # the skipped ones are not

    # /status and / count the skipped pages, and say nothing of what they raised.
    row = status_row(web, "region-solidaire")
    assert "2 pages non lues" in row and "à jour" in row
    assert_no_leak(status_text(web), "piege-")
    assert_no_leak(status_text(web, "/"), "piege-")
    # Anyone sees how many; the operator sees which, and why.
    public = web.get("/api/sources/region-solidaire").get_json()["status"]
    assert public["warning_count"] == 2 and "warnings" not in public
    assert_no_leak(json.dumps(web.get("/api/sources").get_json()))
    operator = web.get("/api/sources/region-solidaire", headers=OPERATOR_AUTH).get_json()
    assert operator["status"]["warnings"] == list(result.warnings)


@pytest.mark.usefixtures("trap")
@pytest.mark.usefixtures("recursion_trap")
def test_a_page_that_turns_hostile_keeps_the_item_it_gave(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    assert run(site_runtime, "region-solidaire").outcome == "ok"
    before = stored(site_runtime, "region-solidaire")
    version = site_runtime.store.feed_state("region-solidaire").version
    quotes, trapped = list(LINKED)[:2]
    original = (SITE_DIR / f"{quotes}.html").read_text(encoding="utf-8")
    faulty_site.write(f"{quotes}.html", NESTED_QUOTES)  # raises in normalise
    faulty_site.write(f"{trapped}.html", KEY_ERROR)  # raises in extraction

    result = run(site_runtime, "region-solidaire")

    assert (result.outcome, result.error) == ("not_modified", None), result
    assert set(result.warnings) == {skipped(faulty_site, quotes, "RecursionError"),
                                    skipped(faulty_site, trapped, "KeyError")}
    assert result.unchanged == 4  # the dossier and a news page unchanged, the two kept
    assert stored(site_runtime, "region-solidaire") == before  # word for word
    assert site_runtime.store.feed_state("region-solidaire").version == version

    # Still hostile: still skipped (read again each time), still kept.
    again = run(site_runtime, "region-solidaire")
    assert again.outcome == "not_modified" and set(again.warnings) == set(result.warnings)
    # Healed: read again, and nothing is left to warn about.
    rewrite(faulty_site, f"{quotes}.html", original)
    healed = run(site_runtime, "region-solidaire")
    assert healed.outcome in ("ok", "not_modified") and healed.error is None
    assert healed.warnings == (skipped(faulty_site, trapped, "KeyError"),)
    assert stored(site_runtime, "region-solidaire") == before


@pytest.mark.usefixtures("trap")
def test_the_entry_page_raising_fails_the_source_and_shows_only_its_kind(
        site_runtime: Runtime, faulty_site: FaultySite, web: FlaskClient) -> None:
    assert run(site_runtime, "region-solidaire").outcome == "ok"
    before = stored(site_runtime, "region-solidaire")
    faulty_site.edit(DOSSIER, '<body class="page-dossier">',
                     f'<body class="page-dossier" id="{TRAP_ID}">')

    result = run(site_runtime, "region-solidaire")

    assert (result.outcome, result.error_kind) == ("failed", "internal"), result
    assert "image_credit" in (result.error or "")
    assert stored(site_runtime, "region-solidaire") == before
    row = status_row(web, "region-solidaire")
    assert "en échec" in row and "erreur interne" in row
    assert_no_leak(row, "image_credit")
    assert_no_leak(status_text(web, "/"), "image_credit")
    public = web.get("/api/sources/region-solidaire").get_json()["status"]
    assert public["last_error_kind"] == "internal" and "last_error" not in public
    assert public["last_error_at"] is not None
    operator = web.get("/api/sources/region-solidaire", headers=OPERATOR_AUTH).get_json()
    assert operator["status"]["last_error"] == result.error


@pytest.mark.usefixtures("recursion_trap")
def test_normalise_raising_skips_the_page_and_keeps_its_earlier_item() -> None:
    source = make_catalogue("http://site.test").sources["region-solidaire"]
    hostile, fresh = "http://site.test/actualites/a", "http://site.test/actualites/b"
    earlier = PageState(Validators(etag='"v1"'), member="region-solidaire/earlier-a")
    harvest = Harvest(
        records=[(hostile, RawRecord(url=hostile, title="A", content_html=QUOTES_HTML)),
                 (fresh, RawRecord(url=fresh, title="B", content_html=QUOTES_HTML)),
                 ("http://site.test/actualites/c", RawRecord(url="http://site.test/actualites/c",
                                                             title="C"))],
        pages={url: PageState(Validators(etag='"v2"')) for url in (
            hostile, fresh, "http://site.test/actualites/c")},
        earlier={hostile: earlier})

    normalised = normalise_harvest(source, harvest, NOW)

    assert [item.title for item in normalised.items] == ["C"]
    assert normalised.kept == ["region-solidaire/earlier-a"]
    assert normalised.pages[hostile] == earlier  # read again next time, with its old validators
    assert fresh not in normalised.pages  # it gave nothing before: forgotten, read again
    assert normalised.warnings == (f"page skipped (internal error: RecursionError): {hostile}",
                                   f"page skipped (internal error: RecursionError): {fresh}")
    assert normalised.counts.items == 2  # C, and A kept: no drift for one hostile page

    entry = Harvest(records=[(source.url, RawRecord(url=source.url, title="Dossier",
                                                    content_html=QUOTES_HTML))],
                    pages={source.url: PageState(Validators())})
    with pytest.raises(RecursionError):  # the source's own page: the source fails
        normalise_harvest(source, entry, NOW)


# --- a feed source: one entry skipped, the others published ----------------------------------

FEED = "partenaires/piege/feed.json"


def json_feed(items: list[dict[str, Any]]) -> str:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Partenaire",
                       "home_page_url": "/partenaires/piege/", "items": items})


def entry(n: int, **fields: Any) -> dict[str, Any]:
    return {"id": f"e{n}", "url": f"/partenaires/piege/e{n}", "title": f"Entrée {n}",
            "content_html": f"<p>Texte {n}.</p>", "date_published": "2026-02-01T10:00:00+01:00",
            **fields}


def feed_source(runtime: Runtime, site: FaultySite) -> Source:
    return replace(runtime.catalogue.sources["partenaires"], url=f"{site.url}/{FEED}")


@pytest.mark.usefixtures("recursion_trap")
def test_a_feed_publishes_every_entry_but_the_hostile_ones(
        site_runtime: Runtime, faulty_site: FaultySite, web: FlaskClient) -> None:
    faulty_site.write(FEED, json_feed([
        entry(1), entry(2, tags=5),  # TypeError while the entry is read
        entry(3, url="http://[piege/"),  # ValueError: no URL
        entry(4, content_html=QUOTES_HTML),  # RecursionError while it is normalised
        entry(5)]))

    result = run(site_runtime, feed_source(site_runtime, faulty_site))

    assert (result.outcome, result.error, result.new) == ("ok", None, 2), result
    assert {item["title"] for item in stored(site_runtime, "partenaires").values()} == \
        {"Entrée 1", "Entrée 5"}
    base = f"{faulty_site.url}/partenaires/piege"
    assert sorted(result.warnings) == sorted([
        f"page skipped (internal error: TypeError): {base}/e2",
        "page skipped (internal error: ValueError): http://[piege/",
        f"page skipped (internal error: RecursionError): {base}/e4"])
    assert "3 pages non lues" in status_row(web, "partenaires")
    assert_no_leak(status_text(web))

    # Entry 1 turns hostile: the item it gave stays as it was.
    before = stored(site_runtime, "partenaires")
    rewrite(faulty_site, FEED, json_feed([entry(1, authors=7), entry(5)]))
    again = run(site_runtime, feed_source(site_runtime, faulty_site))
    assert (again.outcome, again.new, again.updated, again.unchanged) == ("ok", 0, 0, 2)
    assert again.warnings == (f"page skipped (internal error: TypeError): {base}/e1",)
    assert stored(site_runtime, "partenaires") == before


def test_parse_feed_reads_the_entries_around_a_hostile_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    entry_image = feeds._entry_image

    def raising(entry: Any) -> tuple[str | None, str | None]:  # a bug not found yet
        if entry.get("title") == "Deux":
            raise TypeError("'NoneType' object is not subscriptable")
        return entry_image(entry)

    monkeypatch.setattr(feeds, "_entry_image", raising)
    rss = ('<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
           "<link>http://site.test/</link><description>d</description>"
           "<item><title>Un</title><link>http://site.test/1</link></item>"
           "<item><title>Deux</title><link>/2</link></item>"
           "<item><title>Trois</title><link>http://site.test/3</link></item>"
           "</channel></rss>")
    parsed = parse_feed(rss.encode(), "application/rss+xml", "http://site.test/feed.xml")
    assert [record.title for record in parsed.records] == ["Un", "Trois"]
    [hostile] = parsed.skipped
    assert hostile.where == hostile.link == "http://site.test/2"
    assert isinstance(hostile.error, TypeError)


def test_a_json_feed_nested_too_deeply_is_a_malformed_feed(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    deep = json_feed([entry(1, tags="@")]).replace('"@"', "[" * DEEP + "]" * DEEP)
    with pytest.raises(MalformedFeed, match=f"nested more than {MAX_DEPTH} levels deep"):
        parse_feed(deep.encode(), "application/feed+json", "http://site.test/feed.json")

    faulty_site.write(FEED, json_feed([entry(1)]))
    assert run(site_runtime, feed_source(site_runtime, faulty_site)).outcome == "ok"
    rewrite(faulty_site, FEED, deep)
    result = run(site_runtime, feed_source(site_runtime, faulty_site))
    assert (result.outcome, result.error_kind) == ("failed", "malformed-feed"), result
    assert f"nested more than {MAX_DEPTH} levels deep" in (result.error or "")
    assert site_runtime.store.item_count("partenaires") == 1


# --- a sitemap source: a child sitemap or a page skipped -------------------------------------


@pytest.mark.usefixtures("recursion_trap")
def test_a_sitemap_publishes_every_page_but_the_hostile_ones(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    clean = list(LINKED)[:2]
    faulty_site.write("actualites/piege-citations.html", NESTED_QUOTES)
    urls = "".join(f"<url><loc>{faulty_site.url}/{path}</loc></url>"
                   for path in [*clean, "actualites/piege-citations"])
    faulty_site.write("piege/pages.xml", '<?xml version="1.0"?><urlset xmlns='
                      f'"http://www.sitemaps.org/schemas/sitemap/0.9">{urls}'
                      "<url><loc>http://[piege/actualites/x</loc></url></urlset>")
    faulty_site.write("piege/casse.xml", "<urlset><url><loc>")
    faulty_site.write("piege/index.xml", '<?xml version="1.0"?><sitemapindex xmlns='
                      '"http://www.sitemaps.org/schemas/sitemap/0.9">'
                      f"<sitemap><loc>{faulty_site.url}/piege/casse.xml</loc></sitemap>"
                      f"<sitemap><loc>{faulty_site.url}/piege/pages.xml</loc></sitemap>"
                      "</sitemapindex>")
    source = replace(site_runtime.catalogue.sources["plan-du-site"],
                     url=f"{faulty_site.url}/piege/index.xml")

    result = run(site_runtime, source)

    assert (result.outcome, result.error, result.new) == ("ok", None, 2), result
    assert {item["title"] for item in stored(site_runtime, "plan-du-site").values()} == \
        {LINKED[path] for path in clean}
    [broken, *pages] = sorted(result.warnings, key=lambda warning: warning.startswith("page"))
    assert broken.startswith("sitemap: not a readable sitemap") and "casse.xml" in broken
    assert sorted(pages) == sorted([
        "page skipped (internal error: ValueError): http://[piege/actualites/x",
        skipped(faulty_site, "actualites/piege-citations", "RecursionError")])


# --- the known crashers, at their root -------------------------------------------------------


def test_json_ld_types_are_strings_only() -> None:
    ignored = metadata.extract(parse(TYPE_OBJECT))
    assert ignored["title"] == "JSON-LD au type objet"  # from <title>: the JSON-LD is no article
    mixed = metadata.extract(parse(news_page("Page", head=json_ld(
        '{"@type": [{"x": 1}, ["Article"], "NewsArticle"], "headline": "Titre JSON-LD"}'))))
    assert mixed["title"] == "Titre JSON-LD" and mixed["kind"] == "NewsArticle"


@pytest.mark.parametrize("deep", ["[" * DEEP + "]" * DEEP, '{"a": ' * DEEP + "1" + "}" * DEEP,
                                  '{"@type": "NewsArticle", "headline": "Titre JSON-LD", '
                                  '"about": ' + "[" * DEEP + "]" * DEEP + "}"])
def test_json_ld_nested_too_deeply_is_read_as_none(deep: str) -> None:
    page = parse(news_page("Titre de la page", head=json_ld(deep)
                           + '<meta property="og:title" content="Titre OpenGraph">'))
    found = metadata.extract(page)
    assert found["title"] == "Titre OpenGraph"  # the next layer, not the JSON-LD's headline
    assert "kind" not in found


def test_load_json_measures_depth_outside_strings() -> None:
    assert load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(TooDeep):
        load_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    brackets = '"' + '[[[{{{\\"' * 100 + '"'  # a string of 600 brackets and quotes
    assert load_json(f'{{"a": [{brackets}, {brackets}]}}') == {"a": [json.loads(brackets)] * 2}
    assert load_json(json.dumps({"é": "ü"}).encode("utf-16")) == {"é": "ü"}
    with pytest.raises(ValueError):
        load_json(b"\xff\xfe\x00")


@pytest.mark.parametrize(("page", "title"), [
    (NESTED_DIVS, "Cinquante mille div"),  # the content selector's path
    (NESTED_QUOTES, "Cinquante mille citations"),  # trafilatura's
    ("<title>Au fond</title>" + "<div>" * NESTED + "Au fond.", "Au fond")])  # not even <body>
def test_html_nested_50000_deep_is_extracted(page: str, title: str) -> None:
    """lxml stops nesting at 256 levels; the selectors, the metadata and trafilatura read the
    tree it gives without recursing (what recurses later, in normalise, is caught per page)."""
    source = make_catalogue("http://site.test").sources["region-solidaire"]
    extraction = extract_page(page, "http://site.test/actualites/x", as_detail_page(source))
    assert extraction.record is not None and extraction.record.title == title


# --- what the public sees of an error --------------------------------------------------------


def test_a_refused_address_is_shown_by_its_kind_not_its_text(
        redis_client: Redis, prefix: str, faulty_site: FaultySite) -> None:
    """The error's text would be a DNS oracle: "its host 'localhost' resolves to a private…
    address (127.0.0.1)". Loopback is not admitted here, as in production."""
    service = make_runtime(redis_client, prefix, make_catalogue(faulty_site.url),
                           fetch_allowed_networks="", admin_token="jeton")
    app = create_app(runtime=service)
    try:
        client = app.test_client()
        port = faulty_site.url.rsplit(":", 1)[1]
        source = replace(service.catalogue.sources["region-solidaire"],
                         url=f"http://localhost:{port}/region-solidaire")
        result = refresh(source, service)
        assert (result.outcome, result.error_kind) == ("failed", "refused-address"), result
        assert "resolves to a private" in (result.error or "")

        row = status_row(client, "region-solidaire")
        assert "adresse refusée" in row and "le " in row  # its kind, in French, and when
        for page in ("/status", "/"):
            text = client.get(page).get_data(as_text=True)
            assert "adresse refusée" in text
            assert "resolves" not in text and "allowed networks" not in text, page
        public = client.get("/api/sources/region-solidaire")
        assert "Authorization" in public.headers["Vary"]
        assert public.get_json()["status"]["last_error_kind"] == "refused-address"
        listed = client.get("/api/sources", headers={"Authorization": "Bearer autre"})
        assert "resolves" not in listed.get_data(as_text=True)  # another token: the public view
        operator = client.get("/api/sources", headers={"Authorization": "Bearer jeton"})
        sources = {s["id"]: s for s in operator.get_json()["sources"]}
        assert sources["region-solidaire"]["status"]["last_error"] == result.error
    finally:
        app.extensions["syndication.cache"].close()
        service.fetcher.close()


# --- crashers and misreadings the hostile suite and the fuzz tests found ----------------------


@pytest.mark.parametrize("characters", ["\x0b\x1d\x01", "\ufffe\uffff", "\ud800", "\x00",
                                        "&#11;&#x1D;&#1", "&#xFFFE;&#00000011;"])
def test_a_page_with_characters_xml_cannot_carry_is_extracted(characters: str) -> None:
    """lxml's HTML parser keeps control characters in its tree, written or referred to, where
    trafilatura (which copies text between elements) raised ValueError; a lone surrogate could
    not even be encoded for the parser."""
    source = make_catalogue("http://site.test").sources["region-solidaire"]
    page = (f"<html><head><title>Titre {characters}</title></head><body>{characters}"
            + "<p>Un paragraphe assez long pour trafilatura. " * 20 + "</p></body></html>")
    extraction = extract_page(page, "http://site.test/actualites/x", as_detail_page(source))
    assert extraction.record is not None and extraction.record.title == "Titre"
    assert "paragraphe" in (extraction.record.content_html or "")


@pytest.mark.parametrize(("reference", "shown"), [
    ("&#0;", "\ufffd"), ("&#xD800;", "\ufffd"), ("&#x110000;", "\ufffd"),
    ("&#1" + "0" * 5000, "\ufffd"), ("&#0000000065;", "A"), ("&#233;", "é"),
    ("&#x1F600;", "😀"), ("&#11;", "")])
def test_references_to_characters_xml_cannot_carry_are_read_as_browsers_show_them(
        reference: str, shown: str) -> None:
    found = metadata.extract(parse(f"<title>a{reference}b</title>"))
    assert found["title"] == f"a{shown}b"


def test_json_ld_urls_and_names_are_text_never_numbers() -> None:
    found = metadata.extract(parse(news_page("Page", head=json_ld(json.dumps({
        "@type": "NewsArticle", "headline": "Titre", "image": [1, 2, 3], "url": 5,
        "mainEntityOfPage": [{"@id": 7}], "author": [1, {"name": 2}, {"name": "Léa"}]})))))
    assert "image_url" not in found or found["image_url"] is None
    assert found.get("canonical_url") is None  # not "5" nor "7": the page's own URL is kept
    assert found["authors"] == ("Léa",)
    mixed = metadata.extract(parse(news_page("Page", head=json_ld(json.dumps({
        "@type": "NewsArticle", "headline": "Titre", "image": [1, None, "/i.jpg", "/j.jpg"],
        "mainEntityOfPage": [3, {"@id": "https://example.org/a"}]})))))
    assert mixed["image_url"] == "/i.jpg"
    assert mixed["canonical_url"] == "https://example.org/a"


@pytest.mark.parametrize("order", [("WebPage", "NewsArticle"), ("NewsArticle", "WebPage"),
                                   ("Event", "Article", "BlogPosting"),
                                   ("BlogPosting", "Event", "Article")])
def test_the_json_ld_kind_is_its_first_article_type(order: tuple[str, ...]) -> None:
    """In the document's order: a set's order changes from one process to the next, and with
    it the item's kind and content hash (an edit no one made, as processes alternate)."""
    found = metadata.extract(parse(news_page("Page", head=json_ld(json.dumps({
        "@type": [*order], "headline": "Titre"})))))
    assert found["kind"] == order[0]


RSS_HEAD = ('<?xml version="1.0"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>F</title>'
            "<link>{link}</link><description>d</description>")


@pytest.mark.parametrize(("references", "title"), [
    ("&#xD83D;&#xDE00;", "Un 😀"), ("&#55357;&#56832;", "Un 😀"), ("&#xD800;", "Un \ufffd"),
    ("&#x110000;", "Un \ufffd"), ("&#99999999999;", "Un \ufffd"), ("&#0;", "Un \ufffd"),
    ("&#xDE00;&#xD83D;", "Un \ufffd\ufffd"), ("&#233;&#x20AC;", "Un é€")])
def test_numeric_references_no_character_answers_are_read_as_a_browser_reads_them(
        references: str, title: str) -> None:
    """feedparser's lenient parser raised (UnicodeEncodeError, ValueError, OverflowError) on
    them, failing the whole feed: a surrogate pair is the character it encodes, anything else
    U+FFFD."""
    rss = (RSS_HEAD.format(link="http://site.test/") + f"<item><title>Un {references}</title>"
           "<link>http://site.test/1</link></item><item><title>Deux</title>"
           "<link>http://site.test/2</link></item></channel></rss>")
    parsed = parse_feed(rss.encode(), "application/rss+xml", "http://site.test/feed.xml")
    assert [record.title for record in parsed.records] == [title, "Deux"]


def test_an_entry_without_a_summary_has_its_contents_text_for_one() -> None:
    """feedparser copies the content into a missing summary, without saying it is markup."""
    rss = (RSS_HEAD.format(link="http://site.test/") + "<item><title>Un</title>"
           "<link>http://site.test/1</link><content:encoded><![CDATA[<p>Corps <b>gras</b>"
           "</p><script>alert(1)</script>]]></content:encoded></item></channel></rss>")
    [record] = parse_feed(rss.encode(), "application/rss+xml", "http://site.test/f").records
    assert record.summary == "Corps gras"
    assert record.content_html == "<p>Corps <b>gras</b></p><script>alert(1)</script>"


@pytest.mark.parametrize("link", ["javascript:alert(1)", "http://[piege/", "data:text/html,x",
                                  ""])
def test_relative_entry_links_resolve_against_the_feed_when_its_link_is_no_http_url(
        link: str) -> None:
    rss = (RSS_HEAD.format(link=link) + "<item><title>Un</title><link>/actualites/1</link>"
           "</item></channel></rss>")
    [record] = parse_feed(rss.encode(), "application/rss+xml",
                          "http://site.test/flux/feed.xml").records
    assert record.url == "http://site.test/actualites/1"
    feed = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "F",
                       "home_page_url": link, "items": [{"id": "1", "url": "/actualites/1",
                                                         "title": "Un"}]})
    [entry] = parse_feed(feed.encode(), "application/feed+json",
                         "http://site.test/flux/feed.json").records
    assert entry.url == "http://site.test/actualites/1"
