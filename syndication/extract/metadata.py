"""Page metadata as candidates: schema.org JSON-LD (by type), microdata, OpenGraph, Twitter cards,
<meta> (names in any case), <title>, <link rel="canonical">; then the page conventions of
`conventions.py`. Every value found is kept with where it was found (`Candidates`), and
`choose.py` decides between them; `extract` is metadata alone, each field from the first, most
reliable, place that has it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

from ..dates import fold
from ..model import ItemKind
from . import conventions
from .conventions import CREDIT_LINE as CREDIT_LINE  # normalise reads it here
from .jsontext import load_json
from .tree import Node, first, text

Candidates = dict[str, list[tuple[str, Any]]]  # field → [(origin, value)], as found

# Types whose node is the page's item; the kind is the first of them in the document's order.
ARTICLE_TYPES = {"NewsArticle", "Article", "BlogPosting", "Report", "WebPage", "Event",
                 "CollectionPage", "AnalysisNewsArticle", "ReportageNewsArticle"}
# Types that describe the page around an item rather than the item: their "name" is right about
# a third of the time, against four times in five for an article's "headline".
PAGE_TYPES = re.compile(r"^(?:WebPage|\w+Page|WebSite|BreadcrumbList|Organization|"
                        r"Corporation|GovernmentOrganization|Person|ImageObject|SiteNavigation"
                        r"Element|WPHeader|WPFooter|WPSideBar)$")

# <meta> names (lowercased) by field, most reliable first.
META_NAMES: dict[str, tuple[str, ...]] = {
    "title": ("og:title", "twitter:title", "dc.title", "dcterms.title", "parsely-title",
              "sailthru.title"),
    "summary": ("og:description", "description", "twitter:description", "dc.description",
                "dcterms.description", "dcterms.abstract"),
    "published": ("article:published_time", "og:article:published_time", "published_time",
                  "datepublished", "date", "dc.date", "dc.date.issued", "dcterms.date",
                  "dcterms.issued", "dcterms.created", "pubdate", "publish-date",
                  "publish_date", "publication_date", "publishdate", "article.published",
                  "sailthru.date", "parsely-pub-date", "citation_publication_date",
                  "original-publish-date"),
    "updated": ("article:modified_time", "og:updated_time", "modified_time", "datemodified",
                "dcterms.modified", "dc.date.modified", "last-modified", "article.updated"),
    "image_url": ("og:image", "og:image:url", "og:image:secure_url", "twitter:image",
                  "twitter:image:src"),
    "image_alt": ("og:image:alt", "twitter:image:alt"),
    "image_width": ("og:image:width",),
    "image_height": ("og:image:height",),
    "authors": ("article:author", "author", "dc.creator", "parsely-author", "sailthru.author"),
    "site_name": ("og:site_name", "application-name", "publisher"),
}


def extract(page: Node) -> dict[str, Any]:
    """Metadata alone: each field from the first place that has it."""
    return {field: values[0][1] for field, values in candidates(page).items() if values}


def candidates(page: Node) -> Candidates:
    """Every value of every layer, by field, most reliable layer first: an article's JSON-LD,
    OpenGraph, Twitter cards, microdata, other <meta>, the document's <title> and links, the page's
    conventions, and last the JSON-LD of the page around the article and of the site."""
    json_ld, meta = _json_ld(page), _meta(page)
    layers = [*(layer for layer in json_ld if layer[0] == "json-ld article"), *meta[:2],
              ("microdata", _microdata(page)), meta[2], ("page", _page(page))]
    found: Candidates = {}
    for origin, layer in layers:
        for field, value in layer.items():
            if value:
                found.setdefault(field, []).append((origin, value))
    for field, values in _conventions(page).items():
        found.setdefault(field, []).extend(values)
    for origin, layer in json_ld:
        if origin != "json-ld article":
            for field, value in layer.items():
                if value:
                    found.setdefault(field, []).append((origin, value))
    return found


def _conventions(page: Node) -> Candidates:
    """The page's own conventions (credit lines, "Publié le", <time> near the title)."""
    return conventions.extract(page)


# --- JSON-LD -------------------------------------------------------------------------------


def _json_ld(page: Node) -> list[tuple[str, dict[str, Any]]]:
    """One layer per node with a known type: articles first (in the document's order), then the
    pages around them, whose values count for less (see `candidates`)."""
    articles: list[tuple[str, dict[str, Any]]] = []
    pages: list[tuple[str, dict[str, Any]]] = []
    site: dict[str, Any] = {}
    for node in _json_ld_nodes(page):
        types = [t for t in _as_list(node.get("@type")) if isinstance(t, str)]
        kind = next((t for t in types if t in ARTICLE_TYPES), None)
        if types and types[0] in ("WebSite", "Organization", "GovernmentOrganization"):
            site.setdefault("site_name", _text(node.get("name")))
        if kind is None:
            continue
        fields = _json_ld_fields(node, kind)
        if all(PAGE_TYPES.match(t) for t in types):
            pages.append(("json-ld page", fields))
        else:
            articles.append(("json-ld article", fields))
    return [*articles, *pages, ("json-ld site", site)]


def _json_ld_fields(node: dict[str, Any], kind: str) -> dict[str, Any]:
    image = _first(node.get("image") or node.get("thumbnailUrl"), (str, dict))
    image = image if isinstance(image, dict) else {"url": image} if image else {}
    section = node.get("articleSection")
    keywords = node.get("keywords")
    if isinstance(keywords, str):
        keywords = [k for k in keywords.split(",")]
    tags = [*(_as_list(section)), *(_as_list(keywords))]
    publisher = _first(node.get("publisher"), (dict,)) or _first(node.get("isPartOf"), (dict,))
    return {
        "title": _text(node.get("headline")) or _text(node.get("name")),
        "summary": _text(node.get("description")),
        # an event's startDate is when it takes place, not when it was published
        "published": _string(node.get("datePublished") or node.get("dateCreated")),
        "updated": _string(node.get("dateModified")),
        "image_url": _url(image.get("url") or image.get("contentUrl")),
        "image_width": _string(image.get("width")),
        "image_height": _string(image.get("height")),
        "image_alt": _text(image.get("caption") or image.get("description")),
        "image_credit": _text(image.get("creditText") or _name(image.get("copyrightHolder"))
                              or _name(image.get("author"))),
        "authors": tuple(a for a in (_name(x) for x in _as_list(node.get("author"))) if a),
        "tags": tuple(dict.fromkeys(t.strip() for t in tags if isinstance(t, str) and
                                    t.strip())),
        "kind": kind,
        "canonical_url": _url(node.get("url") or _first(node.get("mainEntityOfPage"),
                                                        (str, dict))),
        "lang": _text(node.get("inLanguage")),
        "site_name": _name(publisher) if publisher else None,
    }


_JSON_LD_SCRIPTS = etree.XPath("//script[@type='application/ld+json']")


def _json_ld_nodes(page: Node) -> Iterator[dict[str, Any]]:
    for script in _JSON_LD_SCRIPTS(page):
        try:
            data = load_json(script.text or "")
        except ValueError:  # broken JSON-LD is common, nested too deeply is hostile: either
            continue  # way it is read as none, and the other layers still apply
        stack = data if isinstance(data, list) else [data]
        for node in stack:
            if isinstance(node, dict):
                yield node
                yield from (n for n in _as_list(node.get("@graph")) if isinstance(n, dict))


# --- microdata -------------------------------------------------------------------------------

# Every itemprop, its names tested in Python ("name headline" is a list of names): comparing
# each element's attribute with five names in XPath costs four times more.
_ITEMPROPS = etree.XPath("//*[@itemprop]")
_MICRODATA_FIELDS = {"headline": "title", "datePublished": "published",
                     "dateModified": "updated", "description": "summary", "image": "image_url"}


def _microdata(page: Node) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for element in _ITEMPROPS(page):
        field = next((_MICRODATA_FIELDS[n] for n in str(element.get("itemprop")).split()
                      if n in _MICRODATA_FIELDS), None)
        if field is None or field in found:
            continue
        if field == "image_url":  # an <img>, a link, or an ImageObject with its url inside
            value = (element.get("src") or element.get("content") or element.get("href")
                     or _attribute(first(element, "descendant::*[@itemprop='url' or "
                                                  "@itemprop='contentUrl']"), "content")
                     or _attribute(first(element, "descendant::img"), "src"))
        else:
            value = element.get("content") or element.get("datetime") or text(element)
        found[field] = _text(value)
    return found


def _attribute(element: Node | None, name: str) -> str | None:
    return element.get(name) if element is not None else None


# --- OpenGraph, Twitter cards and <meta>, read in one pass -----------------------------------


def _meta(page: Node) -> list[tuple[str, dict[str, Any]]]:
    """Three layers: OpenGraph (og:, article:), Twitter cards, and every other <meta>."""
    by_name: dict[str, list[str]] = {}
    for meta in page.iter("meta"):  # OpenGraph says property=, many sites write name=
        key = meta.get("property") or meta.get("name") or meta.get("itemprop")
        value = _text(meta.get("content"))
        if isinstance(key, str) and value:
            by_name.setdefault(key.strip().lower(), []).append(value)
    layers: dict[str, dict[str, Any]] = {"og": {}, "twitter": {}, "meta": {}}
    for field, names in META_NAMES.items():
        for name in names:
            values = by_name.get(name)
            layer = layers["og" if name.startswith(("og:", "article:")) else
                           "twitter" if name.startswith("twitter:") else "meta"]
            if not values or field in layer:
                continue
            if field == "authors":
                layer[field] = tuple(dict.fromkeys(v for v in values
                                                   if not v.startswith("http")))
            else:
                layer[field] = values[0]
    layers["og"]["tags"] = tuple(dict.fromkeys([*by_name.get("article:section", ()),
                                                *by_name.get("article:tag", ())]))
    layers["og"]["canonical_url"] = by_name.get("og:url", [None])[0]
    return list(layers.items())


def _page(page: Node) -> dict[str, Any]:
    """What the document itself declares: its <title>, canonical link, language, image link."""
    title_element = first(page, "//title")
    canonical = image = None
    for link in page.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        if "canonical" in rel and canonical is None:
            canonical = _string(link.get("href"))
        elif "image_src" in rel and image is None:
            image = _string(link.get("href"))
    return {"title": text(title_element) or None if title_element is not None else None,
            "canonical_url": canonical, "image_url": image,
            "lang": page.get("lang") if page.tag == "html" else None}


# --- small JSON-LD value helpers -------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first(value: Any, kinds: tuple[type, ...] = (object,)) -> Any:
    """The first of the values that is one of `kinds` ("image": [1, "x.jpg"] → "x.jpg")."""
    return next((v for v in _as_list(value) if isinstance(v, kinds)), None)


def _name(value: Any) -> str | None:
    """A person's or organisation's name: text, or an object's "name" (never a number)."""
    if isinstance(value, dict):
        value = value.get("name")
    return _text(value)


def _url(value: Any) -> str | None:
    """A URL: text, or an object's "@id" or "url" as text; a number or a list is no URL."""
    if isinstance(value, dict):
        value = value.get("@id") or value.get("url")
    return _text(value)


def _text(value: Any) -> str | None:
    """Text with its runs of whitespace collapsed; None for anything else, or only blanks."""
    return (" ".join(value.split()) or None) if isinstance(value, str) else None


def _string(value: Any) -> str | None:
    """Text, or a number written out (a width, a date as digits)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return _url(value)
    return _text(value)


# --- the page's kind ----------------------------------------------------------------------

_KINDS = {"dossier": ItemKind.DOSSIER, "dossiers": ItemKind.DOSSIER,
          "actualite": ItemKind.ACTUALITE, "actualites": ItemKind.ACTUALITE,
          "communique de presse": ItemKind.ACTUALITE,
          "newsarticle": ItemKind.ACTUALITE, "blogposting": ItemKind.ACTUALITE,
          "reportagenewsarticle": ItemKind.ACTUALITE,
          "analysisnewsarticle": ItemKind.ACTUALITE,
          "evenement": ItemKind.EVENEMENT, "agenda": ItemKind.EVENEMENT,
          "event": ItemKind.EVENEMENT}


def kind_from_label(label: str | None) -> ItemKind | None:
    """The page's own label ("Actualité", "Dossier") or schema.org type → an item kind."""
    return _KINDS.get(fold(" ".join(label.split()))) if label else None
