"""Fuzzing the three stages that read what strangers write: `extract_page` (HTML pages),
`parse_feed` (RSS, Atom, RDF and JSON Feeds) and `normalise` (raw records → items).

The documents are built from strategies of the pieces hostile and broken pages are made of:
tags (those of pages, of SVG and MathML, scripts, templates, noscript), attributes with URLs of
every scheme and every private address, entities (named, numeric, out of range, surrogates,
double-escaped), comments and CDATA, JSON-LD blocks of every type where a string is expected,
and random text. What must hold, whatever the document:

- `extract_page` never raises; `parse_feed` raises nothing but MalformedFeed (an entry that
  raises is skipped, not raised); `normalise` raises nothing but the ValueError of a record
  without a title;
- an item normalised from what was extracted links only to public http(s) URLs, and its
  content holds no script, no event handler and no link of another scheme (mailto aside).

Bounded: 200 examples in all, no deadline, derandomized (the same examples on every run), so
that the whole module runs in seconds and a failure is reproduced by running it again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from syndication.errors import MalformedFeed
from syndication.extract import extract_page
from syndication.extract.feeds import JSON_TYPES, parse_feed
from syndication.harvest.pages import as_detail_page
from syndication.model import Item, RawRecord
from syndication.normalise import normalise, plain_text, public_link

from .conftest import make_catalogue

NOW = datetime(2026, 2, 2, 12, 0, tzinfo=UTC)
PAGE_URL = "http://site.test/actualites/page"
FEED_URL = "http://site.test/feed"
SOURCE = make_catalogue("http://site.test").sources["region-solidaire"]
DETAIL = as_detail_page(SOURCE)
LISTING = make_catalogue("http://site.test").sources["actualites"]


def bounded(examples: int) -> Any:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# --- the pieces ------------------------------------------------------------------------------

URLS = st.sampled_from([
    "http://site.test/a", "https://example.org/b?utm_source=x#frag", "/relative", "relative",
    "//example.org/protocol-relative", "javascript:window.__pwned=1", " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)", "jav&#x09;ascript:alert(1)", "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>", "data:image/svg+xml;base64,PHN2Zz4=",
    "http://127.0.0.1/", "http://127.0.0.1:6379/", "http://[::1]/", "http://[::ffff:7f00:1]/",
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x.jpg", "http://localhost/",
    "http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://127.1/",
    "http://[2002:7f00:1::]/", "http://user:pw@example.org/", "http://[x", "http://a b/",
    "https://example.org:99999/", "mailto:a@example.org", "file:///etc/passwd", "", " ", "#top",
    "http://example.org/\x00", "http://exa\u200bmple.org/", "http://例え.テスト/", "x" * 300])
ENTITIES = st.sampled_from([
    "&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&nbsp;", "&eacute;", "&amp;lt;", "&amp;amp;",
    "&#0;", "&#x0;", "&#xD800;", "&#x110000;", "&#99999999999;", "&#x1F600;", "&unknown;",
    "&lt;script&gt;alert(1)&lt;/script&gt;", "&", "&#", "&#x;", "&#12"])
TEXT = st.one_of(st.text(max_size=30), ENTITIES, st.sampled_from([
    "Réforme « votée » l’été", "<![CDATA[ x ]]>", "]]>", "<!-- c -->", "<!--", "--!>",
    "</script>", "</noscript><img src=x onerror=window.__pwned=1>", "\x00\x0b\ufffe\ud800",
    "Publié le 1er mars 2026 à 14h30", "12/03/2026", "2026-02-30", "9999-12-31T23:59:59-14:00",
    "1,1 Md €", "Crédit photo : © Quelqu'un", "\u202e\u200f", "x" * 1000]))
TAGS = st.sampled_from([
    "div", "p", "a", "img", "span", "h1", "h2", "article", "main", "section", "figure",
    "figcaption", "time", "ul", "li", "table", "tr", "td", "blockquote", "script", "style",
    "noscript", "template", "svg", "math", "mtext", "mglyph", "foreignObject", "iframe", "object",
    "embed", "form", "input", "select", "option", "textarea", "title", "meta", "link", "base",
    "source", "picture", "video", "xmp", "plaintext", "listing", "noembed", "frameset", "body",
    "head", "html", "x-custom"])
ATTRIBUTES = st.sampled_from([
    "href", "src", "srcset", "data-src", "content", "property", "name", "rel", "datetime",
    "class", "id", "style", "onerror", "onload", "onclick", "type", "title", "alt", "width",
    "height", "xlink:href", "formaction", "action", "poster", "background", "lang", "charset"])
ATTRIBUTE_VALUES = st.one_of(URLS, TEXT, st.sampled_from([
    "canonical", "og:url", "og:image", "og:title", "article:published_time", "description",
    "application/ld+json", "page-title", "chapo", "article-body", "window.__pwned=1",
    "x 1x, javascript:alert(1) 2x", "latest-news__link", "news-card__link"]))

JSON_LD_KEYS = st.sampled_from([
    "@type", "@graph", "@id", "@context", "headline", "name", "description", "datePublished",
    "startDate", "dateModified", "image", "url", "contentUrl", "width", "height", "caption",
    "creditText", "copyrightHolder", "author", "articleSection", "keywords", "mainEntityOfPage",
    "inLanguage"])
JSON_LD_STRINGS = st.one_of(URLS, TEXT, st.sampled_from([
    "NewsArticle", "Article", "Event", "WebPage", "BlogPosting", "Person", "ImageObject"]))
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                         st.floats(allow_nan=False), JSON_LD_STRINGS)
JSON_VALUES = st.recursive(
    JSON_SCALARS, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(JSON_LD_KEYS, inner, max_size=5)),
    max_leaves=20)
JSON_LD = st.one_of(
    st.dictionaries(JSON_LD_KEYS, JSON_VALUES, max_size=8).map(json.dumps),
    st.lists(st.dictionaries(JSON_LD_KEYS, JSON_VALUES, max_size=6), max_size=3).map(json.dumps),
    st.integers(60, 300).map(lambda depth: "[" * depth + "]" * depth),  # deeper than allowed
    TEXT)


def element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`<tag attr="value"…>children</tag>`, or its opening tag alone (left open)."""
    return st.builds(
        lambda tag, attributes, inner, closed: (
            f"<{tag}" + "".join(f' {name}="{value.replace(chr(34), "&quot;")}"'
                                for name, value in attributes)
            + ">" + "".join(inner) + (f"</{tag}>" if closed else "")),
        TAGS, st.lists(st.tuples(ATTRIBUTES, ATTRIBUTE_VALUES), max_size=4),
        st.lists(children, max_size=4), st.booleans())


JSON_LD_SCRIPT = JSON_LD.map(lambda data: f'<script type="application/ld+json">{data}</script>')
FRAGMENTS = st.recursive(st.one_of(TEXT, JSON_LD_SCRIPT), element, max_leaves=25)
HTML_DOCUMENTS = st.one_of(
    st.builds(lambda head, body: f"<!doctype html><html lang=\"fr\"><head>{head}</head>"
                                 f"<body>{body}</body></html>",
              st.lists(st.one_of(FRAGMENTS, JSON_LD_SCRIPT), max_size=4).map("".join),
              st.lists(FRAGMENTS, max_size=5).map("".join)),
    st.lists(FRAGMENTS, max_size=6).map("".join),
    st.text(max_size=200))


# --- what an item may carry --------------------------------------------------------------------


def assert_publishable(item: Item) -> None:
    """Links only to public http(s) URLs; content without scripts, handlers or other schemes."""
    assert public_link(item.url) == item.url, item.url
    if item.image is not None:
        assert public_link(item.image.url) == item.image.url, item.image.url
    if not item.content_html:
        return
    content = lxml.html.fragment_fromstring(item.content_html, create_parent="div")
    assert not content.xpath("//script | //style | //iframe | //object | //embed | //svg | "
                             "//math | //noscript | //template"), item.content_html
    for node in content.iter():
        if not isinstance(node.tag, str):
            continue
        for name, value in node.attrib.items():
            assert not name.lower().startswith("on"), item.content_html
            if name in ("href", "src", "srcset"):
                scheme = urlsplit(value).scheme
                assert scheme in ("http", "https") or (name == "href" and scheme == "mailto"), \
                    value
                if scheme != "mailto":
                    assert public_link(value) == value, value


# --- extract_page ------------------------------------------------------------------------------


@bounded(80)
@given(HTML_DOCUMENTS, st.booleans())
# What fuzzing found once, kept: control characters written or referred to, a lone surrogate.
@example('<div href="\x00\x0b\ufffe\ud800">', False)
@example("<H1>&#11", False)
def test_extract_page_never_raises(document: str, listing: bool) -> None:
    extraction = extract_page(document, PAGE_URL, LISTING if listing else DETAIL)
    assert (extraction.record is None) == listing
    for link in extraction.links:
        assert isinstance(link, str) and link
    if extraction.record is None:
        return
    try:
        item = normalise(extraction.record, SOURCE, NOW)
    except ValueError:
        assert not plain_text(extraction.record.title)
        return
    assert_publishable(item)


# --- parse_feed --------------------------------------------------------------------------------

RSS_FIELDS = st.sampled_from([
    "title", "link", "description", "guid", "pubDate", "author", "category",
    "content:encoded", "dc:creator", "dc:date", "media:content", "media:thumbnail",
    "enclosure", "source", "comments", "xi:include"])
ATOM_FIELDS = st.sampled_from([
    "title", "link", "id", "updated", "published", "summary", "content", "author", "category",
    "media:content", "xi:include"])
NAMESPACES = ('xmlns:content="http://purl.org/rss/1.0/modules/content/" '
              'xmlns:dc="http://purl.org/dc/elements/1.1/" '
              'xmlns:media="http://search.yahoo.com/mrss/" '
              'xmlns:xi="http://www.w3.org/2001/XInclude"')
XML_TEXT = st.one_of(TEXT, URLS.map(lambda url: url.replace("&", "&amp;").replace("<", "&lt;")),
                     FRAGMENTS.map(lambda html: f"<![CDATA[{html.replace(']]>', '')}]]>"))
XML_ATTRIBUTES = st.lists(st.tuples(st.sampled_from(
    ["url", "href", "type", "medium", "rel", "length", "xml:base", "parse", "isPermaLink"]),
    st.one_of(URLS, st.sampled_from(["image/jpeg", "text/html", "html", "xhtml", "enclosure",
                                     "image", "text", "alternate"]))), max_size=3)


def xml_element(name: str, attributes: list[tuple[str, str]], text: str) -> str:
    escaped = "".join(f' {key}="{value.replace("&", "&amp;").replace(chr(34), "&quot;")}"'
                      .replace("<", "&lt;") for key, value in attributes)
    return f"<{name}{escaped}>{text}</{name}>"


XML_FIELDS = st.builds(xml_element, st.one_of(RSS_FIELDS, ATOM_FIELDS), XML_ATTRIBUTES, XML_TEXT)
ENTRIES = st.lists(st.lists(XML_FIELDS, max_size=6).map("".join), max_size=4)
PROLOGUES = st.sampled_from([
    '<?xml version="1.0" encoding="utf-8"?>', "", '<?xml version="1.0" encoding="utf-16"?>',
    '<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd">',
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "y">]>',
    '<?xml version="1.0"?><?xml-stylesheet href="javascript:alert(1)"?>'])
XML_FEEDS = st.one_of(
    st.builds(lambda prologue, channel, items: (
        f'{prologue}<rss version="2.0" {NAMESPACES}><channel>{channel}'
        + "".join(f"<item>{item}</item>" for item in items) + "</channel></rss>"),
        PROLOGUES, st.lists(XML_FIELDS, max_size=3).map("".join), ENTRIES),
    st.builds(lambda prologue, head, entries: (
        f'{prologue}<feed xmlns="http://www.w3.org/2005/Atom" {NAMESPACES}>{head}'
        + "".join(f"<entry>{entry}</entry>" for entry in entries) + "</feed>"),
        PROLOGUES, st.lists(XML_FIELDS, max_size=3).map("".join), ENTRIES),
    st.builds(lambda entries: (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/"><channel><title>t</title></channel>'
        + "".join(f"<item>{entry}</item>" for entry in entries) + "</rdf:RDF>"), ENTRIES),
    FRAGMENTS, st.binary(max_size=100).map(lambda data: data.decode("latin-1")))
JSON_FEED_KEYS = st.sampled_from([
    "id", "url", "external_url", "title", "content_html", "content_text", "summary", "image",
    "banner_image", "date_published", "date_modified", "authors", "author", "tags", "language",
    "name"])
JSON_FEED_VALUES = st.recursive(
    st.one_of(JSON_SCALARS, FRAGMENTS),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(JSON_FEED_KEYS, inner, max_size=4)),
    max_leaves=15)
JSON_FEEDS = st.builds(
    lambda version, home, items, language: json.dumps({
        "version": version, "title": "F", "home_page_url": home, "language": language,
        "items": items}),
    st.sampled_from(["https://jsonfeed.org/version/1.1", "https://jsonfeed.org/version/1",
                     "1.1"]),
    st.one_of(URLS, JSON_SCALARS),
    st.one_of(st.lists(st.one_of(st.dictionaries(JSON_FEED_KEYS, JSON_FEED_VALUES, max_size=8),
                                 JSON_SCALARS), max_size=4), JSON_SCALARS),
    JSON_SCALARS)
MEDIA_TYPES = st.sampled_from(["application/rss+xml", "application/atom+xml", "application/xml",
                               "text/xml", "application/rdf+xml", *JSON_TYPES, ""])


@bounded(70)
@given(st.one_of(XML_FEEDS, JSON_FEEDS), MEDIA_TYPES, st.sampled_from(["utf-8", "utf-16"]))
@example('<rss version="2.0"><channel><item><title>&#xD83D;&#xDE00; &#99999999999;</title>'
         "</item></channel></rss>", "application/rss+xml", "utf-8")
@example('{"version": "https://jsonfeed.org/version/1.1", "home_page_url": "http://[x", '
         '"items": [{"id": "1", "url": "/a", "title": "t"}]}', "application/feed+json", "utf-8")
def test_parse_feed_raises_only_malformed_feed(document: str, media_type: str,
                                               encoding: str) -> None:
    body = document.encode(encoding, "surrogatepass")
    try:
        entries = parse_feed(body, media_type, FEED_URL)
    except MalformedFeed:
        return
    for record in entries.records:
        assert isinstance(record, RawRecord) and isinstance(record.url, str)
        try:
            item = normalise(record, SOURCE, NOW)
        except ValueError:
            assert not plain_text(record.title)
            continue
        assert_publishable(item)


# --- normalise ---------------------------------------------------------------------------------

MAYBE_TEXT = st.one_of(st.none(), TEXT, URLS)
RECORDS = st.builds(
    RawRecord,
    url=st.one_of(URLS, st.just(PAGE_URL)),
    canonical_url=MAYBE_TEXT,
    title=MAYBE_TEXT,
    summary=MAYBE_TEXT,
    content_html=st.one_of(st.none(), FRAGMENTS, TEXT),
    published=MAYBE_TEXT,
    updated=MAYBE_TEXT,
    image_url=MAYBE_TEXT,
    image_alt=MAYBE_TEXT,
    image_credit=MAYBE_TEXT,
    image_width=MAYBE_TEXT,
    image_height=MAYBE_TEXT,
    figures=st.lists(st.tuples(TEXT, TEXT), max_size=3).map(tuple),
    tags=st.lists(TEXT, max_size=3).map(tuple),
    kind=MAYBE_TEXT,
    authors=st.lists(TEXT, max_size=3).map(tuple),
    lang=MAYBE_TEXT,
)


@bounded(50)
@given(RECORDS)
@example(RawRecord(url="0", title="0", content_html="&#1<a href='/relative'>x</a>"))
@example(RawRecord(url=PAGE_URL, title="t", content_html="http://127.0.0.1/x"))
@example(RawRecord(url=PAGE_URL, title="t",
                   content_html='<a href="http://2130706433/">x</a><img src="http://127.1/">'))
def test_normalise_raises_only_for_a_record_without_a_title(record: RawRecord) -> None:
    try:
        item = normalise(record, SOURCE, NOW)
    except ValueError:
        assert not plain_text(record.title)
        return
    assert item.title == plain_text(record.title)
    assert_publishable(item)
    json.dumps(item.to_dict())  # storable
