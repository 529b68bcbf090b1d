"""The general layers: the article's body, by trafilatura, and the publication date, by
htmldate, for pages whose selectors and metadata do not give them.

The body: trafilatura in its default mode (favor_precision drops paragraphs its default keeps),
on the page (the last layer to read it) once pruned (prune.py: what trafilatura deletes anyway,
captions, "À lire aussi", sharing and cross-sell blocks taken out; <time> and loose text made
plain to it). From its result, the blocks that are nothing but links (menus, quick links, other
articles' titles: asked to keep links, trafilatura keeps them as paragraphs) and the lists of
teasers ("En savoir plus") are taken out. A result made of layout tables more than paragraphs
is asked again without images (their alt text tips trafilatura towards its layout grab rather
than the article its other algorithms find). An empty result falls back to trafilatura
favouring recall, then to the block of the page with the most paragraph text: a page with text
never comes out empty.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from urllib.parse import urljoin

import lxml.html
import trafilatura
from htmldate import find_date
from lxml import etree
from trafilatura.htmlprocessing import build_html_output
from trafilatura.settings import Document

from .prune import prune
from .tree import Node, base_url, first, inner_html, text

# trafilatura reports pages it finds too short at WARNING; for us that is a normal "not found".
logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("htmldate").setLevel(logging.ERROR)

MIN_BODY = 200  # characters of text: less is a teaser or a cookie notice, not an article


def body(page: Node, url: str) -> tuple[str | None, str]:
    """The article's body as HTML, and which extractor gave it: the first of trafilatura,
    trafilatura favouring recall and the largest block to give MIN_BODY characters of text,
    else the longest they gave. Prunes `page` itself: the last layer to read it."""
    prune(page)
    base = base_url(page, url)
    scheme = base.split(":", 1)[0] if base.startswith(("http:", "https:")) else "https"
    for image in _PROTOCOL_RELATIVE(page):  # trafilatura writes "//host/a.jpg" as http:
        for name in ("src", "data-src"):
            if (image.get(name) or "").startswith("//"):
                image.set(name, f"{scheme}:{image.get(name)}")
    found: list[tuple[int, str, str]] = []
    for label, recall in (("trafilatura", False), ("trafilatura, favouring recall", True)):
        html = _trafilatura(page, url, recall, images=True)
        if html and table_layout(html):
            # Images' alt text made a grab of the page's layout tables look longer than the
            # article trafilatura's other algorithms found: asked again without images.
            html = _trafilatura(page, url, recall, images=False) or html
        if html:
            length = len(text(lxml.html.fragment_fromstring(html, create_parent="div")))
            if length >= MIN_BODY:
                return _absolute_links(html, base), label
            found.append((length, html, label))
    block = _largest_block(page)
    if block:
        found.append((len(text(lxml.html.fragment_fromstring(block, create_parent="div"))),
                      block, "the block with the most paragraph text"))
    if not found:
        return None, "none"
    _, html, label = max(found, key=lambda f: f[0])
    return _absolute_links(html, base), label


def _trafilatura(page: Node, url: str, recall: bool, images: bool) -> str | None:
    # No copy of ours: trafilatura prunes a copy of the tree it is given (a test checks).
    # Not given the URL: it would resolve links against the site's root, not the page, and
    # normalise each through courlan, an eighth of its time (`_absolute_links` does it right).
    # bare_extraction, then its HTML: extract() would also fingerprint the text (a tenth of
    # its time), for deduplication we do not ask of it. Comments are not the article.
    document = trafilatura.bare_extraction(page, output_format="html", include_comments=False,
                                           include_images=images, include_links=True,
                                           include_tables=True, favor_recall=recall)
    if not isinstance(document, Document):  # None: nothing found
        return None
    html = build_html_output(document)
    # Composed characters, as extract() gives (the check is several times faster than the
    # normalisation, and nearly every page passes it).
    return tidy(html if unicodedata.is_normalized("NFC", html) else
                unicodedata.normalize("NFC", html))


_LINKS = etree.XPath("descendant::*/@href | descendant::*/@src")
_ABSOLUTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # a scheme: http:, mailto:, data:…
_PROTOCOL_RELATIVE = etree.XPath("//img[starts-with(@src, '//') or starts-with(@data-src, '//')]")


def _absolute_links(html: str, base: str) -> str:
    """The body's links and images resolved as a browser would, against the page's base (its
    <base href>, else its address)."""
    fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    for link in _LINKS(fragment):
        if not _ABSOLUTE.match(link):
            try:
                link.getparent().set(link.attrname, urljoin(base, link.strip()))
            except ValueError:  # no URL ("http://[x"): the sanitiser drops it
                continue
    return inner_html(fragment)


def table_layout(html: str) -> bool:
    """Whether more tables than paragraphs make the body: the page's layout, not its text."""
    return html.count("<table") > html.count("<p>") + html.count("<p ")


def date(page: Node) -> str | None:
    """The publication date htmldate finds (never the modification date instead)."""
    return find_date(page, original_date=True, extensive_search=False, outputformat="%Y-%m-%d")


def tidy(found: str) -> str | None:
    """trafilatura's result without its document wrapper, the title (the item has it) and the
    blocks that are only links."""
    container = lxml.html.fragment_fromstring(found, create_parent="div")
    inner = first(container, "descendant::body")  # trafilatura writes a whole document
    root = container if inner is None else inner
    heading = first(root, "descendant::h1")
    if heading is not None:  # the title is already the item's title
        heading.drop_tree()
    _drop_link_blocks(root)
    _drop_teaser_lists(root)
    return inner_html(root).strip() or None


def _drop_teaser_lists(root: Node) -> None:
    """Lists whose every item ends on a link of the same words ("Read more", "En savoir
    plus"): teasers of other pages (a carousel, a list of news), not the article."""
    for listing in list(root.iter("ul", "ol")):
        items = [item for item in listing if item.tag == "li"]
        if len(items) < 3 or listing.getparent() is None:
            continue
        last_links = [(item.xpath("descendant::a") or [None])[-1] for item in items]
        words = {text(link).lower() for link in last_links if link is not None}
        if None not in last_links and len(words) == 1 and words != {""}:
            listing.drop_tree()


_LINK_BLOCKS = ("p", "li", "dd", "dt", "td", "th")
_HEADINGS = ("h2", "h3", "h4", "h5", "h6")
MAX_LINK_BLOCK = 120  # characters: a menu entry or another article's title, not a paragraph
MAX_LABEL = 40  # characters: "Read on the site:", not a sentence introducing a link


def _drop_link_blocks(root: Node) -> None:
    """Blocks that are nothing but links (menus, quick links, another article's title), or a
    label and a link (">> READ ON THE SITE: <a>Another article</a>"): what trafilatura keeps
    of a page's navigation and cross-selling once it is asked to keep links. Then the headings
    that only announced them ("Quick links")."""
    announced = []
    for block in list(root.iter(*_LINK_BLOCKS)):
        if block.getparent() is None:
            continue
        words = _WORD.sub("", text(block))
        if not words or len(words) > MAX_LINK_BLOCK:
            continue
        linked = _WORD.sub("", " ".join(text(a) for a in block.iter("a")))
        if (len(linked) >= 0.9 * len(words) or _labelled_link(block)) and \
                not _continues_sentence(block):
            previous = block.getprevious()
            if previous is not None and previous.tag in _HEADINGS:
                announced.append(previous)
            if block.tag in ("td", "th"):  # emptied, not dropped: the table keeps its columns
                tail = block.tail
                block.clear()
                block.tail = tail
            else:
                block.drop_tree()
    for heading in announced:
        following = heading.getnext()
        if heading.getparent() is not None and (following is None or following.tag in _HEADINGS):
            heading.drop_tree()


def _labelled_link(block: Node) -> bool:
    """Whether the block is a short label ending in a colon, then one link to another page
    whose words read as a title, and nothing more: ">> Read on the site: <a>…</a>", "À lire :
    <a>…</a>"; not "Email: <a>…</a>" nor "Twitter: <a>@name</a>"."""
    links = list(block.iter("a"))
    if len(links) != 1 or links[0].getparent() is not block or _WORD.sub("", links[0].tail or "") \
            or links[0].get("href", "").startswith(("mailto:", "tel:")) \
            or len(text(links[0]).split()) < 4:
        return False
    label = (block.text or "") + "".join(text(child) + (child.tail or "") for child in block
                                         if child is not links[0] and
                                         child.getparent() is block and
                                         block.index(child) < block.index(links[0]))
    return label.strip().endswith(":") and len(label.strip()) <= MAX_LABEL


def _continues_sentence(block: Node) -> bool:
    """Whether the text just before the block runs into it ("… through <p><a>loans</a>.</p>":
    trafilatura splits a sentence at a link in a <div>): then the link is part of a sentence."""
    previous, parent = block.getprevious(), block.getparent()
    before = (previous.tail if previous is not None else parent.text if parent is not None
              else None) or ""
    return bool(before.strip()) and not before.rstrip().endswith((".", "!", "?", ":", "»", '"'))


_WORD = re.compile(r"\W+")


_PARAGRAPH_PARENTS = etree.XPath("//body//p/..")


def _largest_block(tree: Node) -> str | None:
    """The element whose own paragraphs hold the most text: a body when nothing else found
    one (trafilatura refuses pages it finds too short)."""
    best, best_length = None, 0
    for parent in _PARAGRAPH_PARENTS(tree):
        length = sum(len(text(p)) for p in parent if p.tag == "p")
        if length > best_length:
            best, best_length = parent, length
    if best is None:
        return None
    for unwanted in best.xpath("descendant::script | descendant::style | descendant::nav"):
        unwanted.drop_tree()
    return inner_html(best).strip() or None
