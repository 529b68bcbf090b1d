"""Feed and sitemap sources over real HTTP (the sample site, or its breakable copy) into Redis:
the same content model as html sources, conditional GET, full pages, JSON Feed, malformed and
hostile feeds, sitemaps filtered by path and read only where <lastmod> changed."""

from __future__ import annotations

import json
import os
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from redis import Redis

from syndication.catalogue import load_catalogue
from syndication.errors import ConfigError
from syndication.extract.feeds import parse_feed, parse_sitemap
from syndication.normalise import item_id
from syndication.refresh import refresh
from syndication.runtime import Runtime

from .conftest import make_catalogue, make_runtime
from .faulty_site import BILLION_LAUGHS, FaultySite

SITE = Path(__file__).resolve().parent.parent / "demo" / "site"
MANIFEST = json.loads((SITE / "MANIFEST.json").read_text(encoding="utf-8"))
NEWS_PATHS = {p["path"] for p in MANIFEST["pages"] if p["kind"] == "actualite"}
PARTNER = "/partenaires/restos-solidaires"
PARTNER_FEED = (SITE / "partenaires" / "restos-solidaires" / "feed.xml").read_text("utf-8")



@pytest.fixture
def site_runtime(redis_client: Redis, prefix: str, faulty_site: FaultySite) -> Iterator[Runtime]:
    service = make_runtime(redis_client, prefix, make_catalogue(faulty_site.url),
                           fetch_timeout=2.0, max_page_bytes=1_000_000)
    yield service
    service.fetcher.close()


def run(runtime: Runtime, source_id: str, **changes: object):  # noqa: ANN201
    source = replace(runtime.catalogue.sources[source_id], **changes)
    return refresh(source, runtime)


def paths(site: FaultySite) -> list[str]:
    """Pages, feeds and sitemaps asked for (item images, fetched once each, left aside)."""
    return [path for path, _ in site.requests if not path.startswith("/media/")]


def write(site: FaultySite, relative: str, text: str | bytes) -> None:
    path = site.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    stamp = time.time() + 2  # a new Last-Modified
    os.utime(path, (stamp, stamp))


# --- feed sources ------------------------------------------------------------------------------


def test_a_feed_source_lands_its_entries_in_the_content_model(runtime: Runtime) -> None:
    result = run(runtime, "partenaires")
    assert (result.outcome, result.new, result.warnings) == ("ok", 6, ())
    items = runtime.store.feed_items("partenaires", limit=50)
    assert len(items) == 6
    first = items[0]  # newest first
    assert first.title == "Collecte d’hiver : 12 tonnes de denrées réunies en Seine-Saint-Denis"
    assert first.url.endswith(f"{PARTNER}/collecte-hiver-2026")
    assert first.id == item_id(first.url)  # stable: from the entry's link
    assert first.kind == "actualite"
    assert first.authors == ("Camille Martin",)
    assert first.tags == ("Collecte", "Seine-Saint-Denis", "Partenaires")
    assert first.image is not None and first.image.url.endswith("plan-grand-froid-associations.jpg")
    assert first.published is not None and first.published.utcoffset() is not None
    assert first.published.isoformat() == "2026-11-20T08:30:00+00:00"
    for item in items:
        assert item.published is not None and item.published.tzinfo is not None
        assert item.summary and "<" not in item.summary


def test_an_unchanged_feed_costs_one_conditional_request(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    assert run(site_runtime, "partenaires").outcome == "ok"
    faulty_site.requests.clear()
    result = run(site_runtime, "partenaires")
    assert (result.outcome, result.unchanged) == ("not_modified", 6)
    assert paths(faulty_site) == [f"{PARTNER}/feed.xml"]
    assert "If-Modified-Since" in faulty_site.requests[0][1]
    assert site_runtime.store.item_count("partenaires") == 6


def test_full_page_takes_each_entry_content_from_its_page(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    result = run(site_runtime, "partenaires", full_page=True)
    assert (result.outcome, result.new) == ("ok", 6)
    assert len(paths(faulty_site)) == 7  # the feed and its six pages
    item = next(i for i in site_runtime.store.feed_items("partenaires", limit=100)
                if i.url.endswith("collecte-hiver-2026"))
    assert "2 500 bénévoles" in item.content_html  # only the page has this
    assert "Partager" not in item.content_html  # the source's exclude selectors apply
    assert item.authors == ("Camille Martin",)  # what the page lacks comes from the feed
    # Second run: the feed changed (one entry edited), pages are asked "changed since?".
    faulty_site.edit(f"{PARTNER[1:]}/feed.xml", "Collecte d’hiver", "Grande collecte d’hiver")
    faulty_site.requests.clear()
    again = run(site_runtime, "partenaires", full_page=True)
    assert again.outcome == "not_modified" and again.unchanged == 6
    assert all("If-Modified-Since" in headers for path, headers in faulty_site.requests
               if not path.endswith("feed.xml"))


JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Agence régionale de l’eau",
    "home_page_url": "/agence/",
    "items": [
        {"id": "1", "url": "/agence/secheresse-2026", "title": "Sécheresse : restrictions levées",
         "summary": "Les restrictions d’usage de l’eau sont levées dans <b>trois</b> départements.",
         "content_html": "<p>Les nappes ont retrouvé un niveau normal.</p><script>x()</script>",
         "date_published": "2026-10-02T10:00:00+02:00", "tags": ["Eau"],
         "authors": [{"name": "Service presse"}], "image": "/media/budget-2026-vote.jpg"},
        {"id": "2", "url": "/agence/rivieres-propres", "title": "Des rivières plus propres",
         "content_text": "Baignade autorisée dans la Marne cet été.",
         "date_published": "2026-06-15T08:00:00Z"},
    ],
}


def test_a_json_feed_source(site_runtime: Runtime, faulty_site: FaultySite) -> None:
    write(faulty_site, "agence/feed.json", json.dumps(JSON_FEED))
    result = run(site_runtime, "partenaires", url=f"{faulty_site.url}/agence/feed.json")
    assert (result.outcome, result.new) == ("ok", 2)
    items = site_runtime.store.feed_items("partenaires", limit=100)
    first, second = items
    assert first.url == f"{faulty_site.url}/agence/secheresse-2026"
    # JSON Feed's summary is plain text (jsonfeed.org): what it says is shown as written.
    assert first.summary == ("Les restrictions d’usage de l’eau sont levées dans <b>trois</b> "
                             "départements.")
    assert "<script" not in first.content_html and "niveau normal" in first.content_html
    assert first.published is not None and first.published.utcoffset() is not None
    assert first.tags == ("Eau", "Partenaires") and first.authors == ("Service presse",)
    assert first.image is not None and first.image.width == 960
    assert second.summary == "Baignade autorisée dans la Marne cet été."
    assert str(second.published) == "2026-06-15 08:00:00+00:00"
    assert [path for path, _ in faulty_site.requests][0] == "/agence/feed.json"


def test_a_malformed_feed_fails_clearly_and_keeps_the_items(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    assert run(site_runtime, "partenaires").outcome == "ok"
    write(faulty_site, f"{PARTNER[1:]}/feed.xml", "<html><body>Maintenance en cours")
    result = run(site_runtime, "partenaires")
    assert result.outcome == "failed" and result.error_kind == "malformed-feed"
    assert "not a readable feed" in (result.error or "") and "feed.xml" in (result.error or "")
    status = site_runtime.store.source_status("partenaires")
    assert status.state == "failing" and "not a readable feed" in (status.last_error or "")
    assert site_runtime.store.item_count("partenaires") == 6
    # A JSON body that is no JSON Feed, and an HTML page where the feed should be, too.
    write(faulty_site, "agence/feed.json", '{"items": 3}')
    result = run(site_runtime, "partenaires", url=f"{faulty_site.url}/agence/feed.json")
    assert result.outcome == "failed" and "JSON Feed" in (result.error or "")
    result = run(site_runtime, "partenaires", url=f"{faulty_site.url}/region-solidaire")
    assert result.outcome == "failed" and result.error_kind == "content-type"
    assert site_runtime.store.item_count("partenaires") == 6


def test_an_entity_expansion_feed_is_refused_without_expanding_it(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    # Its time is measured in bench/ingest.py: tests assert no speed.
    assert run(site_runtime, "partenaires").outcome == "ok"
    write(faulty_site, f"{PARTNER[1:]}/feed.xml", BILLION_LAUGHS)
    tracemalloc.start()
    result = run(site_runtime, "partenaires")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.outcome == "failed" and "entit" in (result.error or "")
    assert peak < 20_000_000  # nothing expanded
    assert site_runtime.store.item_count("partenaires") == 6
    # Spelled in UTF-16, or inside a sitemap: refused the same way.
    utf16 = BILLION_LAUGHS.decode().replace('<?xml version="1.0"?>', "").encode("utf-16")
    with pytest.raises(Exception, match="entit"):
        parse_feed(utf16, "application/xml", "http://x.test/feed")
    with pytest.raises(Exception, match="entit"):
        parse_sitemap(BILLION_LAUGHS, "http://x.test/sitemap.xml", 100)


def test_feedparser_alone_does_not_expand_entities_unboundedly() -> None:
    """Even without our refusal, the parser stays bounded (expat's amplification limit, or
    feedparser's own handling): belt and braces."""
    import feedparser

    tracemalloc.start()
    parsed = feedparser.parse(BILLION_LAUGHS)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 200_000_000
    assert len(str(parsed.get("feed", {}).get("title", ""))) < 10_000_000


# --- sitemap sources ---------------------------------------------------------------------------


def test_a_sitemap_source_reads_only_the_news_pages(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    result = run(site_runtime, "plan-du-site")
    assert (result.outcome, result.new, result.warnings) == ("ok", len(NEWS_PATHS), ())
    fetched = paths(faulty_site)
    assert fetched[0] == "/sitemap.xml"
    assert set(fetched[1:]) == NEWS_PATHS  # no dossier, no home page, no legal notice
    items = site_runtime.store.feed_items("plan-du-site", limit=100)
    assert {i.title for i in items} == {p["title"] for p in MANIFEST["pages"]
                                       if p["kind"] == "actualite"}
    assert all(i.kind == "actualite" and i.published and i.published.tzinfo for i in items)
    assert not site_runtime.store.feed_items("actualites", limit=100)  # no duplicates elsewhere


def test_a_sitemap_refetches_only_pages_whose_lastmod_changed(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    assert run(site_runtime, "plan-du-site").outcome == "ok"
    faulty_site.requests.clear()
    unchanged = run(site_runtime, "plan-du-site")
    assert unchanged.outcome == "not_modified" and paths(faulty_site) == ["/sitemap.xml"]
    # One page edited, its lastmod moved; another page edited, lastmod left alone.
    faulty_site.edit("actualites/plan-velo-regional.html", "</h1>", " (mis à jour)</h1>")
    faulty_site.edit("actualites/pass-navigo-tarif-unique.html", "<title>", "<title>Modifié ")
    faulty_site.edit("sitemap.xml", "<loc>/actualites/plan-velo-regional</loc>\n"
                     "    <lastmod>2025-06-12</lastmod>",
                     "<loc>/actualites/plan-velo-regional</loc>\n"
                     "    <lastmod>2026-11-25T10:00:00+01:00</lastmod>")
    faulty_site.requests.clear()
    result = run(site_runtime, "plan-du-site")
    assert paths(faulty_site) == ["/sitemap.xml", "/actualites/plan-velo-regional"]
    assert (result.outcome, result.updated, result.unchanged) == ("ok", 1, len(NEWS_PATHS) - 1)
    titles = [i.title for i in site_runtime.store.feed_items("plan-du-site", limit=100)]
    assert any(t.endswith("(mis à jour)") for t in titles)


SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
{}
</urlset>"""


def test_a_sitemap_index_and_its_child_sitemaps(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    news = sorted(NEWS_PATHS)
    write(faulty_site, "sitemaps/a.xml", SITEMAP.format("".join(
        f"<url><loc>{p}</loc><lastmod>2026-01-01</lastmod></url>" for p in news[:3])))
    write(faulty_site, "sitemaps/b.xml", SITEMAP.format("".join(
        f"<url><loc>{p}</loc></url>" for p in [*news[3:5], "/region-solidaire"])))
    write(faulty_site, "sitemaps/index.xml", """<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>/sitemaps/a.xml</loc><lastmod>2026-11-01</lastmod></sitemap>
  <sitemap><loc>/sitemaps/b.xml</loc></sitemap>
  <sitemap><loc>http://elsewhere.invalid/sitemap.xml</loc></sitemap>
</sitemapindex>""")
    result = run(site_runtime, "plan-du-site", url=f"{faulty_site.url}/sitemaps/index.xml")
    assert (result.outcome, result.new) == ("ok", 5)
    fetched = paths(faulty_site)
    assert fetched[:3] == ["/sitemaps/index.xml", "/sitemaps/a.xml", "/sitemaps/b.xml"]
    assert set(fetched[3:]) == set(news[:5])
    # Again: three 304s for the sitemaps; the pages without lastmod asked "changed since?".
    faulty_site.requests.clear()
    again = run(site_runtime, "plan-du-site", url=f"{faulty_site.url}/sitemaps/index.xml")
    assert again.outcome == "not_modified" and again.unchanged == 5
    fetched = paths(faulty_site)
    assert fetched[:3] == ["/sitemaps/index.xml", "/sitemaps/a.xml", "/sitemaps/b.xml"]
    assert set(fetched[3:]) == set(news[3:5])
    assert all("If-Modified-Since" in headers for path, headers in faulty_site.requests
               if not path.startswith("/media/"))


def test_sitemap_caps_on_urls_read_and_pages_fetched(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    many = "".join(f"<url><loc>/actualites/page-{n}</loc><lastmod>2026-01-01</lastmod></url>"
                   for n in range(5000))
    news = "".join(f"<url><loc>{p}</loc><lastmod>2026-02-01</lastmod></url>"
                   for p in sorted(NEWS_PATHS))
    write(faulty_site, "big.xml", SITEMAP.format(news + many))
    result = run(site_runtime, "plan-du-site", url=f"{faulty_site.url}/big.xml",
                 max_urls=1000, max_items=4)
    assert result.outcome == "ok" and result.new == 4
    assert len(paths(faulty_site)) == 1 + 4  # the sitemap and four pages, no more
    assert any("more than 1000 URLs" in w for w in result.warnings)
    # The next refresh goes on with the next pages, keeping the first ones.
    faulty_site.requests.clear()
    again = run(site_runtime, "plan-du-site", url=f"{faulty_site.url}/big.xml",
                max_urls=1000, max_items=4)
    assert again.new == 4 and site_runtime.store.item_count("plan-du-site") == 8


def test_a_malformed_sitemap_fails_and_keeps_the_items(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    assert run(site_runtime, "plan-du-site").outcome == "ok"
    write(faulty_site, "sitemap.xml", "<urlset><url><loc>/a</loc></url")
    result = run(site_runtime, "plan-du-site")
    assert result.outcome == "failed" and "not a readable sitemap" in (result.error or "")
    assert site_runtime.store.item_count("plan-du-site") == len(NEWS_PATHS)


# --- configuration -------------------------------------------------------------------------------


BASE = """\
[publisher]
name = "Ville test"
url = "https://ville.test/"

[[sources]]
id = "flux"
type = "feed"
url = "https://ville.test/feed.xml"
full_page = true

[[sources]]
id = "plan"
type = "sitemap"
url = "https://ville.test/sitemap.xml"
include = ["/actualites/*"]
max_urls = 1000
"""


def test_feed_and_sitemap_options_load(tmp_path: Path) -> None:
    (tmp_path / "ville.toml").write_text(BASE, encoding="utf-8")
    catalogue = load_catalogue(tmp_path, environ={})
    assert catalogue.sources["flux"].full_page and catalogue.sources["flux"].type == "feed"
    plan = catalogue.sources["plan"]
    assert (plan.type, plan.include, plan.max_urls) == ("sitemap", ("/actualites/*",), 1000)


@pytest.mark.parametrize(("old", "new", "line", "field"), [
    ('type = "feed"', 'type = "atom"', 7, "sources[0].type"),
    ("full_page = true", 'full_page = "oui"', 9, "sources[0].full_page"),
    ("full_page = true", 'follow = "a"', 9, "sources[0].follow"),
    ('include = ["/actualites/*"]', 'include = ["actualites"]', 15, "sources[1].include"),
    ('include = ["/actualites/*"]', "include = [3]", 15, "sources[1].include"),
    ("max_urls = 1000", "max_urls = 100000", 16, "sources[1].max_urls"),
    ('type = "sitemap"', 'type = "feed"', 15, "sources[1].include"),
    ('type = "feed"', 'type = "html"', 9, "sources[0].full_page"),
])
def test_invalid_feed_and_sitemap_options_are_named(tmp_path: Path, old: str, new: str,
                                                    line: int, field: str) -> None:
    (tmp_path / "ville.toml").write_text(BASE.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_catalogue(tmp_path, environ={})
    assert (caught.value.line, caught.value.field) == (line, field), str(caught.value)
    assert f"ville.toml:{line}:" in str(caught.value)
