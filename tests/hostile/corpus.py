"""The hostile documents, built for one run: the site's own origin and the private services'
ports are known only once they listen (`Targets`). `corpus(targets)` gives every document with
what must become of it; README.md lists the cases.

Paths are those of the faulty site's copy of the sample site (tests/faulty_site.py), under
/pieges/; catalogue/pieges.toml declares the sources that read them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import escape

from ..faulty_site import BILLION_LAUGHS
from .payloads import (
    CANARY,
    DOUBLE_ESCAPED,
    DOUBLE_ESCAPED_TEXT,
    ESCAPED_MARKUP,
    ESCAPED_MARKUP_TEXT,
    MXSS,
    SCHEME_URLS,
    XSS,
)

DEEP = 5000  # levels of JSON nesting
NESTED = 50_000  # levels of HTML nesting
LOGO = "/media/logo.png"  # an image of the site, to check that images still work
# A request out of time: the fetcher's budget for the whole request, or, when its timer thread
# runs late on a busy machine, httpx's timeout for one read (both the same bound).
TIMED_OUT = "no complete answer within|timed out"


@dataclass(frozen=True)
class Targets:
    """Where the hostile documents point: the site itself (admitted by its port), and private
    services on this machine that must never receive a request (the traps)."""

    site: str  # http://127.0.0.1:P
    trap_port: int  # a service on 127.0.0.1
    other_port: int  # a service on 127.0.0.2
    v6_port: int | None  # a service on [::1], where the machine has IPv6 loopback

    @property
    def trap(self) -> str:
        return f"http://127.0.0.1:{self.trap_port}"

    def private_urls(self, path: str = "/") -> list[str]:
        """Every spelling of a private address a browser or a resolver reads: loopback (dotted,
        decimal, hexadecimal, octal, short, named, IPv4-mapped, percent-encoded, 0.0.0.0),
        cloud metadata, private networks, link-local, unique local, 6to4 and NAT64 wrappers."""
        port = self.trap_port
        urls = [
            f"http://127.0.0.1:{port}{path}", f"http://2130706433:{port}{path}",
            f"http://0x7f.1:{port}{path}", f"http://0177.0.0.1:{port}{path}",
            f"http://127.1:{port}{path}", f"http://localhost:{port}{path}",
            f"http://LOCALHOST.:{port}{path}", f"http://[::ffff:127.0.0.1]:{port}{path}",
            f"http://0.0.0.0:{port}{path}", f"http://%31%32%37.0.0.1:{port}{path}",
            f"http://127.0.0.2:{self.other_port}{path}",
            f"http://169.254.169.254/latest/meta-data{path}", f"http://10.0.0.1{path}",
            f"http://192.168.1.1{path}", f"http://100.64.0.1{path}", f"http://[fe80::1]{path}",
            f"http://[fd00::1]{path}", f"http://[2002:7f00:1::]:{port}{path}",
            f"http://[64:ff9b::a9fe:a9fe]{path}",
        ]
        if self.v6_port:
            urls.append(f"http://[::1]:{self.v6_port}{path}")
        return urls


@dataclass(frozen=True)
class Page:
    """A page linked from the hostile listing, and what must become of it."""

    path: str  # under the site's root, without .html
    body: str | bytes = b""  # written to path.html (nothing for a fault or a redirect)
    title: str | None = None  # the item's title once published; None: not published
    warning: str | None = None  # a pattern of the source's warning for it (not published)
    fault: str | None = None  # a FaultySite fault answering this path
    redirect: str | None = None  # a 302 to this URL
    image: bool = False  # whether the item keeps an image (the site's own)
    checks: dict[str, str] = field(default_factory=dict)  # item field → exact value


@dataclass(frozen=True)
class Document:
    """A feed or a sitemap file, or a fault at its path."""

    path: str
    body: str | bytes = b""
    fault: str | None = None


@dataclass(frozen=True)
class Corpus:
    pages: list[Page]
    listing: Document
    documents: list[Document]  # feeds and sitemaps
    feed_titles: dict[str, set[str]]  # source → titles of the items it must publish
    feed_failures: dict[str, str]  # source → what its error says (the source fails)
    sitemap_warnings: list[str]  # what the sitemap source's warnings say, one each
    accepted_push: dict[str, object]  # a batch stored, sanitised
    refused_push: list[tuple[dict[str, object], str]]  # batches refused whole: (batch, field)


def news_page(title: str, *, head: str = "", body: str = "<p>Un paragraphe.</p>",
              chapo: str = "Le chapô de la page.", extra: str = "") -> str:
    """A news page of the hostile site's template (catalogue/pieges.toml's selectors)."""
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title>'
            f'{head}</head><body><main><article><p class="type-label">Actualité</p>'
            f'<h1 class="page-title">{title}</h1><p class="date">Publié le 2 février 2026</p>'
            f'<p class="chapo">{chapo}</p>{extra}<div class="article-body">{body}</div>'
            "</article></main></body></html>")


def json_ld(data: object) -> str:
    text = data if isinstance(data, str) else json.dumps(data)
    return f'<script type="application/ld+json">{text}</script>'


def links(urls: list[str]) -> str:
    """Each URL as a link and as an image, in every attribute a link can be in."""
    return "".join(
        f'<p><a href="{escape(url)}">lien {n}</a> <img src="{escape(url)}" alt="image {n}">'
        f' <img src="{LOGO}" srcset="{escape(url)} 2x" alt="srcset {n}">'
        f' <img data-src="{escape(url)}" alt="paresseuse {n}"></p>'
        for n, url in enumerate(urls))


def pages(targets: Targets) -> list[Page]:
    site, trap = targets.site, targets.trap
    privates = targets.private_urls("/piege.jpg")
    figures = ('<ul class="key-figures">'
               f'<li class="key-figure"><span class="key-figure__value">1,1 Md € '
               f'<img src=x onerror="{CANARY}"></span><span class="key-figure__label">pour '
               "&lt;script&gt;alert(1)&lt;/script&gt;</span></li></ul>")
    return [
        Page("pieges/xss", news_page(
            f"Vecteurs XSS &lt;script&gt;{CANARY}&lt;/script&gt;",
            chapo=f"Résumé <img src=x onerror=\"{CANARY}\"> &lt;b&gt;gras&lt;/b&gt;",
            body="".join(XSS), extra=figures
            + f'<ul><li class="thematique">Thème <script>{CANARY}</script>&lt;i&gt;</li></ul>'
            + f'<p class="auteur">Auteur <img src=x onerror="{CANARY}"></p>'),
            title=f"Vecteurs XSS <script>{CANARY}</script>",
            checks={"summary": "Résumé <b>gras</b>"}),
        Page("pieges/mxss", news_page("Mutations du DOM", body="".join(MXSS)),
             title="Mutations du DOM"),
        Page("pieges/double-echappement", news_page(DOUBLE_ESCAPED, chapo=ESCAPED_MARKUP),
             title=DOUBLE_ESCAPED_TEXT, checks={"summary": ESCAPED_MARKUP_TEXT}),
        Page("pieges/liens-javascript", news_page(
            "Liens javascript partout",
            head=(f'<link rel="canonical" href="javascript:{CANARY}">'
                  f'<meta property="og:url" content="data:text/html,x">'
                  f'<meta property="og:image" content="javascript:{CANARY}">'),
            body=links(SCHEME_URLS)), title="Liens javascript partout",
            checks={"url": f"{site}/pieges/liens-javascript"}),
        Page("pieges/liens-json-ld", news_page(
            "Liens vbscript dans le JSON-LD", head=json_ld({
                "@type": "NewsArticle", "headline": "Liens vbscript dans le JSON-LD",
                "url": "vbscript:msgbox(1)", "mainEntityOfPage": f"javascript:{CANARY}",
                "image": {"url": "data:image/png;base64,AAAA"}})),
            title="Liens vbscript dans le JSON-LD",
            checks={"url": f"{site}/pieges/liens-json-ld"}),
        Page("pieges/json-ld-types", news_page(
            "JSON-LD aux types faux", head=json_ld({"@type": {"x": 1}, "headline": "ignoré"})
            + json_ld({"@type": 5, "headline": "ignoré"})
            + json_ld({"@type": [5, {"x": 1}, "NewsArticle", "WebPage"], "headline": ["x"],
                       "image": [1, 2, 3], "url": 5, "mainEntityOfPage": [{"@id": 7}],
                       "author": [1, {"name": 2}], "datePublished": {}, "inLanguage": 3,
                       "keywords": [1, None]})),
            title="JSON-LD aux types faux", checks={"url": f"{site}/pieges/json-ld-types"}),
        Page("pieges/json-ld-profond", news_page("JSON-LD trop profond", head=json_ld(
            '{"@type": "NewsArticle", "headline": "ignoré", "about": '
            + "[" * DEEP + "]" * DEEP + "}")), title="JSON-LD trop profond"),
        Page("pieges/html-profond", news_page(
            "Cinquante mille div", body="<div>" * NESTED + "Au fond." + "</div>" * NESTED),
            title="Cinquante mille div"),
        Page("pieges/adresses-privees", news_page(
            "Adresses privées", head=(
                f'<link rel="canonical" href="http://10.0.0.1/pieges/adresses-privees">'
                f'<meta property="og:image" content="{privates[11]}">'),
            body=links(privates + ["http://user:motdepasse@example.org/"])),
            title="Adresses privées", checks={"url": f"{site}/pieges/adresses-privees"}),
        Page("pieges/image-decimale", news_page(
            "Image en adresse décimale",
            head=f'<meta property="og:image" content="http://2130706433:{targets.trap_port}'
                 '/image.jpg">'), title="Image en adresse décimale"),
        Page("pieges/image-redirigee", news_page(
            "Image redirigée vers une adresse privée",
            extra='<figure class="article-image"><img src="/pieges/media/redirigee.jpg" '
                  'alt="redirigée"></figure>'), title="Image redirigée vers une adresse privée"),
        Page("pieges/image-du-site", news_page(
            "Une image du site", extra=f'<figure class="article-image"><img src="{LOGO}" '
                                       f'alt="Logo &lt;script&gt;"></figure>' + figures),
            title="Une image du site", image=True),
        # Pages whose fetching fails: a warning each, nothing published, nothing sent where
        # a redirect points.
        Page("pieges/bombe-gzip", fault="gzip-bomb", warning="body exceeds"),
        # Either limit may end an endless body first on a busy machine; both bound it.
        Page("pieges/sans-fin", fault="50mb-undeclared", warning=f"body exceeds|{TIMED_OUT}"),
        Page("pieges/goutte-a-goutte", fault="trickle", warning=TIMED_OUT),
        Page("pieges/muette", fault="stall", warning=TIMED_OUT),
        Page("pieges/lente", fault="slow", warning=TIMED_OUT),
        Page("pieges/vers-metadonnees", redirect="http://169.254.169.254/latest/meta-data/",
             warning=r"URL refused: redirect to http://169\.254\.169\.254/"),
        Page("pieges/vers-boucle-locale", redirect=f"{trap}/admin",
             warning=f"URL refused: redirect to {re.escape(trap)}/admin"),
        Page("pieges/vers-decimale", redirect=f"http://2130706433:{targets.trap_port}/",
             warning="URL refused: redirect to http://2130706433"),
        Page("pieges/vers-localhost", redirect=f"http://localhost:{targets.trap_port}/",
             warning="URL refused: redirect to http://localhost"),
        Page("pieges/vers-prive", redirect="http://10.0.0.1/",
             warning=r"URL refused: redirect to http://10\.0\.0\.1/"),
        Page("pieges/vers-javascript", redirect=f"javascript:{CANARY}",
             warning=r"to a URL that is not http\(s\)"),
        *([Page("pieges/vers-ipv6", redirect=f"http://[::1]:{targets.v6_port}/",
                warning=r"URL refused: redirect to http://\[::1\]")] if targets.v6_port
          else []),
    ]


# Links on the listing that must never be followed to a request.
def listing(targets: Targets, linked: list[Page]) -> Document:
    items = "".join(f'<li><a class="piege" href="/{page.path}">{page.path}</a></li>'
                    for page in linked)
    refused = "".join(f'<li><a class="piege" href="{escape(url)}">privée {n}</a></li>'
                      for n, url in enumerate(targets.private_urls("/suivi")[:12]))
    schemes = "".join(f'<li><a class="piege" href="{escape(url)}">schéma {n}</a></li>'
                      for n, url in enumerate(SCHEME_URLS))
    return Document("pieges/index.html", '<!doctype html><html lang="fr"><head><meta '
                    'charset="utf-8"><title>Pièges</title></head><body><main><h1>Pièges</h1>'
                    f"<ul>{items}{refused}{schemes}</ul></main></body></html>")


# --- feeds -------------------------------------------------------------------------------------

NAMESPACES = ('xmlns:content="http://purl.org/rss/1.0/modules/content/" '
              'xmlns:media="http://search.yahoo.com/mrss/" '
              'xmlns:xi="http://www.w3.org/2001/XInclude" '
              'xmlns:atom="http://www.w3.org/2005/Atom"')


def cdata(html: str) -> str:
    return "<![CDATA[" + html.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def rss(targets: Targets) -> str:
    site, trap = targets.site, targets.trap
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<!DOCTYPE rss SYSTEM "{trap}/rss.dtd">'
        f'<?xml-stylesheet type="text/xsl" href="{trap}/vol.xsl"?>'
        f'<rss version="2.0" {NAMESPACES}><channel><title>Flux piégé</title>'
        f"<link>javascript:{CANARY}</link><description>Un flux.</description>"
        f'<xi:include href="{trap}/xinclude.xml" parse="text"/>'
        # Read as text: the markup a title holds is shown as written.
        f"<item><title>&lt;img src=x onerror={CANARY}&gt; Entrée XSS</title>"
        f"<link>{site}/pieges/flux/xss</link>"
        f"<description>{escape(''.join(XSS[:6]))}</description>"
        f"<content:encoded>{cdata(''.join(XSS + MXSS))}</content:encoded>"
        f'<media:content url="javascript:{CANARY}" medium="image"/>'
        '<enclosure url="data:image/png;base64,AAAA" type="image/png" length="4"/>'
        f'<media:thumbnail url="{targets.private_urls("/vignette.jpg")[11]}"/></item>'
        # Relative: resolved against the feed's own URL, its channel link being javascript:.
        f"<item><title>Entrée relative</title><link>/pieges/flux/relative</link></item>"
        f"<item><title>Entrée javascript</title><link>javascript:{CANARY}</link>"
        "<guid>piege-javascript</guid></item>"
        "<item><title>Entrée data</title><link>data:text/html,&lt;script&gt;alert(1)"
        "&lt;/script&gt;</link><guid>piege-data</guid></item>"
        "<item><title>Entrée privée</title>"
        "<link>http://169.254.169.254/latest/meta-data/</link>"
        '<media:content url="http://10.0.0.1/image.jpg" medium="image"/></item>'
        # A UTF-16 surrogate pair written as two references: one emoji.
        f"<item><title>Entrée emoji &#xD83D;&#xDE00;</title><link>{site}/pieges/flux/emoji"
        "</link></item>"
        f"<item><title>Entrée hors plage &#x110000; &#99999999999;</title>"
        f"<link>{site}/pieges/flux/hors-plage</link></item>"
        f"<item><title>Entrée XInclude</title><link>{site}/pieges/flux/xinclude</link>"
        f'<description><xi:include href="{trap}/xinclude.xml" parse="text"/></description>'
        "</item>"
        f"<item><title>{DOUBLE_ESCAPED}</title><link>{site}/pieges/flux/echappement</link>"
        "</item>"
        # No description: the summary is the content's text, not its markup.
        f"<item><title>Entrée sans résumé</title><link>{site}/pieges/flux/sans-resume</link>"
        f"<content:encoded>{cdata(f'<p>Corps <b>gras</b></p><script>{CANARY}</script>')}"
        "</content:encoded></item>"
        "</channel></rss>")


# An RSS title holding entities is read as HTML (feedparser's reading, and most readers'):
# the double-escaped title is decoded twice, XML then HTML, and stays text.
RSS_DOUBLE_ESCAPED_TEXT = "A & B <script>alert(1)</script>"
RSS_TITLES = {f"<img src=x onerror={CANARY}> Entrée XSS", "Entrée relative",
              "Entrée javascript", "Entrée data", "Entrée privée", "Entrée emoji 😀",
              "Entrée hors plage \ufffd \ufffd", "Entrée XInclude", RSS_DOUBLE_ESCAPED_TEXT,
              "Entrée sans résumé"}


def atom(targets: Targets) -> str:
    site = targets.site
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<feed xmlns="http://www.w3.org/2005/Atom" {NAMESPACES} '
        f'xml:base="javascript:{CANARY}//"><title>Atom piégé</title><id>urn:pieges:atom</id>'
        "<updated>2026-02-01T10:00:00Z</updated>"
        '<entry xml:base="http://10.0.0.1/"><id>urn:pieges:base</id>'
        "<title>Entrée à la base privée</title><link href=\"relative\"/>"
        "<updated>2026-02-01T10:00:00Z</updated></entry>"
        "<entry><id>urn:pieges:xhtml</id><title type=\"xhtml\"><div "
        f'xmlns="http://www.w3.org/1999/xhtml">Titre <img src="x" onerror="{CANARY}"/>'
        f"<script>{CANARY}</script>XHTML</div></title>"
        f'<link href="{site}/pieges/atom/xhtml"/>'
        f'<link rel="enclosure" type="image/png" href="javascript:{CANARY}"/>'
        '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        f'<script>{CANARY}</script><a href="javascript:{CANARY}">x</a>'
        f'<img src="{targets.trap}/x.png"/><p>Corps.</p></div></content>'
        "<updated>2026-02-01T10:00:00Z</updated></entry>"
        '<entry><id>urn:pieges:html</id><title type="html">'
        f"{escape(DOUBLE_ESCAPED)}</title><link href=\"data:text/html,x\"/>"
        f'<summary type="html">{escape(ESCAPED_MARKUP)}</summary>'
        "<updated>2026-02-01T10:00:00Z</updated></entry>"
        "</feed>")


ATOM_TITLES = {"Entrée à la base privée", "Titre XHTML", DOUBLE_ESCAPED_TEXT}


def json_feed(targets: Targets) -> str:
    site = targets.site
    return json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "JSON piégé",
        "home_page_url": f"javascript:{CANARY}", "language": '"><script>alert(1)</script>',
        "items": [
            {"id": "j1", "url": f"javascript:{CANARY}", "external_url": "data:text/html,x",
             "title": "JSON javascript", "content_html": "".join(XSS + MXSS),
             "image": "vbscript:msgbox(1)", "banner_image": targets.private_urls()[11],
             "summary": ESCAPED_MARKUP_TEXT, "language": '"><img src=x onerror=alert(1)>'},
            {"id": "j2", "url": f"{site}/pieges/json/types", "title": "JSON aux types faux",
             "authors": [{"name": {"x": 1}}, 5], "tags": ["ok", 5, None],
             "image": [1, 2], "date_published": 20260101},
            {"id": "j3", "url": f"{site}/pieges/json/liste", "title": "JSON étiquettes",
             "tags": 5},  # tags that are no list: this entry alone is skipped
            {"id": "j4", "url": f"{site}/pieges/json/sans-titre", "title": 12},
            {"id": "j5", "url": targets.private_urls()[0], "title": "JSON privé",
             "image": targets.private_urls("/x.jpg")[1]},
            "pas un objet", 7, None,
        ]})


JSON_TITLES = {"JSON javascript", "JSON aux types faux", "JSON privé"}


def deep_json_feed() -> str:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Profond",
                       "items": [{"id": "p", "title": "Profond", "tags": "@"}]}).replace(
        '"@"', "[" * DEEP + "]" * DEEP)


def entity_feed(targets: Targets) -> str:
    """External entities (XXE) and an entity bomb: refused before any parser reads them."""
    return (BILLION_LAUGHS.decode().replace(
        '<!ENTITY lol "lol">', f'<!ENTITY lol "lol"><!ENTITY xxe SYSTEM "{targets.trap}/xxe">'
        '<!ENTITY passwd SYSTEM "file:///etc/passwd">').replace(
        "<description>&lol9;</description>", "<description>&xxe;&passwd;</description>"))


# --- sitemaps ----------------------------------------------------------------------------------

SITEMAP_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def sitemap_index(targets: Targets) -> str:
    children = ["pieges/plan-pages.xml", "pieges/plan-entites.xml", "pieges/plan-bombe.xml",
                "pieges/plan-goutte.xml"]
    foreign = [*targets.private_urls("/sitemap.xml")[:12], f"javascript:{CANARY}"]
    entries = "".join(f"<sitemap><loc>{escape(url)}</loc></sitemap>" for url in
                      [f"{targets.site}/{child}" for child in children] + foreign)
    return f'<?xml version="1.0"?><sitemapindex {SITEMAP_NS}>{entries}</sitemapindex>'


SITEMAP_PAGES = ("pieges/xss", "pieges/double-echappement", "pieges/adresses-privees")


def sitemap_pages(targets: Targets) -> str:
    trap = targets.trap
    own = "".join(f"<url><loc>{targets.site}/{path}</loc><lastmod>2026-02-02</lastmod></url>"
                  for path in SITEMAP_PAGES)
    others = "".join(f"<url><loc>{escape(url)}</loc></url>" for url in
                     [*targets.private_urls("/page")[:12], *SCHEME_URLS])
    return (f'<?xml version="1.0"?><!DOCTYPE urlset SYSTEM "{trap}/sitemap.dtd">'
            f'<urlset {SITEMAP_NS} xmlns:xi="http://www.w3.org/2001/XInclude">'
            f'<xi:include href="{trap}/xinclude.xml"/>'
            f'<xi:include href="file:///etc/passwd" parse="text"/>{own}{others}'
            f"<url><loc>http://[piege/actualites/x</loc></url></urlset>")


def sitemap_entities(targets: Targets) -> str:
    return (f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY xxe SYSTEM "{targets.trap}/x">]>'
            f"<urlset {SITEMAP_NS}><url><loc>&xxe;</loc></url></urlset>")


# --- pushed items ------------------------------------------------------------------------------


def pushed_item(targets: Targets, n: int, **fields: object) -> dict[str, object]:
    return {"id": f"p{n}", "url": f"{targets.site}/pieges/pousse/{n}",
            "title": f"Poussé {n}", "published": "2026-02-01T10:00:00+01:00", **fields}


def accepted_push(targets: Targets) -> dict[str, object]:
    """Markup everywhere text goes, scripts in the content: stored, as text and sanitised."""
    return {"source": "pieges-push", "items": [
        pushed_item(targets, 1, title=f"<img src=x onerror={CANARY}> Poussé",
                    summary=ESCAPED_MARKUP_TEXT, content_html="".join(XSS + MXSS),
                    tags=[f"<script>{CANARY}</script>"],
                    authors=[f'"><img src=x onerror={CANARY}>'],
                    figures=[{"value": f"3 <b onmouseover={CANARY}>M€</b>",
                              "label": "</span><script>alert(1)</script>"}],
                    image={"url": f"{targets.site}{LOGO}",
                           "alt": f'"><img src=x onerror={CANARY}>',
                           "credit": f"<script>{CANARY}</script>"}),
        pushed_item(targets, 2, title=DOUBLE_ESCAPED,
                    content_html=links(targets.private_urls() + SCHEME_URLS))]}


PUSHED_TITLES = {f"<img src=x onerror={CANARY}> Poussé", DOUBLE_ESCAPED}


def refused_pushes(targets: Targets) -> list[tuple[dict[str, object], str]]:
    """Batches refused whole (422, nothing stored), with the field each names."""
    private = targets.private_urls()
    batches = [({"url": url}, "items[0].url") for url in
               [*SCHEME_URLS[:2], SCHEME_URLS[4], SCHEME_URLS[5], private[0], private[1],
                private[2], private[5], private[11], private[12],
                "http://user:motdepasse@example.org/"]]
    batches += [({"image": {"url": url}}, "items[0].image.url")
                for url in (private[1], private[11], SCHEME_URLS[4])]
    return [({"source": "pieges-push", "items": [pushed_item(targets, 9, **fields)]}, field)
            for fields, field in batches]


def corpus(targets: Targets) -> Corpus:
    linked = pages(targets)
    documents = [
        Document("pieges/flux.xml", rss(targets)),
        Document("pieges/flux-atom.xml", atom(targets)),
        Document("pieges/flux.json", json_feed(targets)),
        Document("pieges/flux-profond.json", deep_json_feed()),
        Document("pieges/flux-entites.xml", entity_feed(targets)),
        Document("pieges/plan-index.xml", sitemap_index(targets)),
        Document("pieges/plan-pages.xml", sitemap_pages(targets)),
        Document("pieges/plan-entites.xml", sitemap_entities(targets)),
        Document("pieges/plan-bombe.xml", fault="gzip-bomb"),
        Document("pieges/plan-goutte.xml", fault="trickle"),
    ]
    titles = {page.path: page.title for page in linked if page.title}
    return Corpus(
        pages=linked, listing=listing(targets, linked), documents=documents,
        feed_titles={"pieges-rss": RSS_TITLES, "pieges-atom": ATOM_TITLES,
                     "pieges-json": JSON_TITLES,
                     "pieges-plan": {titles[path] for path in SITEMAP_PAGES},
                     "pieges-push": PUSHED_TITLES},
        feed_failures={"pieges-json-profond": "nested more than 64 levels deep",
                       "pieges-entites": "XML entity declarations are refused"},
        sitemap_warnings=["XML entity declarations are refused", "body exceeds",
                          "no complete answer", "http://[piege/actualites/x"],
        accepted_push=accepted_push(targets), refused_push=refused_pushes(targets))
