"""One decoding, one escaping: a plain-text field (title, summary) is text from extraction to
every output. Whatever string is stored, each output shows exactly that string to its reader:
RSS as readers that take <description> as HTML see it, Atom, JSON Feed, the widget and the
digest. No output turns text into live markup, and none loses a "<" or a "&"."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import lxml.html
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree

from syndication.extract.feeds import parse_feed
from syndication.model import Feed, Item, ItemKind
from syndication.normalise import item_id, plain_text
from syndication.render.digest import DigestContext, render_digest_html, render_digest_json
from syndication.render.feeds import FeedContext, render_atom, render_json_feed, render_rss
from syndication.render.widget import WidgetSource, render_widget_fragment
from syndication.render.widget_options import parse_widget_options

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
FEED = Feed(id="actualites", title="Actualités", publisher="region", sources=("actualites",))
ATOM = "{http://www.w3.org/2005/Atom}"
TRICKY = ["Réforme <enfin> votée", "&lt;img src=x onerror=alert(1)&gt;", "Tom & Jerry",
          "A &amp;amp; B", "<script>alert(1)</script>", "« l’été » \"quoted\" 'single'",
          "]]> <![CDATA[ x", "&#60;b&#62;", "x\x00y\x1fz"]


def item_with(text: str) -> Item:
    return Item(id=item_id("https://example.org/a"), source="actualites",
                kind=ItemKind.ACTUALITE, url="https://example.org/a", title=text, summary=text,
                content_html="<p>Corps.</p>", first_seen=NOW, updated=NOW, published=NOW)


def shown(text: str) -> str:
    """Text as a reader sees it: runs of whitespace are one space."""
    return " ".join(text.split())


def html_text(markup: str) -> str:
    """What a browser shows for an HTML fragment."""
    return lxml.html.fragment_fromstring(markup, create_parent="div").text_content()


texts = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40).map(plain_text).filter(
    bool)


@settings(max_examples=150, deadline=None)
@given(texts)
@example("Réforme <enfin> votée")
@example("&lt;img src=x onerror=alert(1)&gt;")
@example("A &amp;amp; B")
def test_every_output_shows_the_text_as_stored(text: str) -> None:
    item = item_with(text)
    context = FeedContext(feed=FEED, self_url="https://s.example/feeds/actualites.rss",
                          home_url="https://example.org/", publisher="Région", updated=NOW)

    rss = etree.fromstring(render_rss(context, [item])).find("channel/item")
    assert rss is not None
    assert shown(rss.findtext("title") or "") == text
    description = rss.findtext("description") or ""
    assert shown(html_text(description)) == text  # read as HTML, as readers do
    assert not lxml.html.fragment_fromstring(description, create_parent="div").xpath("*")

    atom = etree.fromstring(render_atom(context, [item])).find(f"{ATOM}entry")
    assert atom is not None
    assert shown(atom.findtext(f"{ATOM}title") or "") == text
    summary = atom.find(f"{ATOM}summary")
    assert summary is not None and summary.get("type", "text") == "text"
    assert shown(summary.text or "") == text

    entry = json.loads(render_json_feed(context, [item]))["items"][0]
    assert entry["title"] == text and entry["summary"] == text

    widget = render_widget_fragment(
        WidgetSource("actualites", "Actualités", "https://example.org/", "https://s.example"),
        parse_widget_options({}), [item])
    page = lxml.html.fragment_fromstring(widget, create_parent="div")
    assert not page.xpath("//script[not(@type)] | //img[@onerror] | //*[@onclick]")
    assert text in shown(page.text_content())

    digest = DigestContext(title="Actualités", home_url="https://example.org/", since=NOW)
    letter = lxml.html.document_fromstring(render_digest_html(digest, [item]).decode())
    assert text in shown(letter.text_content())
    assert not letter.xpath("//script | //img[@onerror]")
    assert json.loads(render_digest_json(digest, [item]))["items"][0]["title"] == text


def test_feed_entries_are_decoded_once() -> None:
    """An RSS title is text; an Atom title of type html is markup, read once."""
    rss = ("<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
           "<link>https://example.org/</link><description>d</description>"
           "<item><title>Réforme &lt;enfin&gt; votée</title>"
           "<link>https://example.org/a</link>"
           "<description>&amp;lt;img src=x onerror=alert(1)&amp;gt;</description></item>"
           "</channel></rss>").encode()
    [record] = parse_feed(rss, "application/rss+xml", "https://example.org/feed.xml").records
    assert record.title == "Réforme <enfin> votée"
    assert record.summary == "<img src=x onerror=alert(1)>"  # decoded once: the text itself
    atom = (b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>t</title>"
            b"<id>urn:x</id><updated>2026-12-01T00:00:00Z</updated><entry><id>urn:a</id>"
            b"<title type='html'>&lt;b&gt;Gras&lt;/b&gt; &amp;amp; maigre</title>"
            b"<link href='https://example.org/a'/><updated>2026-12-01T00:00:00Z</updated>"
            b"</entry></feed>")
    [entry] = parse_feed(atom, "application/atom+xml", "https://example.org/feed.atom").records
    assert entry.title == "Gras & maigre"


def test_tricky_texts_survive_every_output() -> None:
    for text in map(plain_text, TRICKY):
        test_every_output_shows_the_text_as_stored.hypothesis.inner_test(text)  # type: ignore[attr-defined]
