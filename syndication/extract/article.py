"""The general layers: the article's body, by trafilatura, and the publication date, by
htmldate, for pages whose selectors and metadata do not give them.

The body: trafilatura in its default mode (favor_precision drops paragraphs its default keeps),
on the page (the last layer to read it) from which what it keeps but readers do not want is
taken out first: figure captions, "À lire aussi" and "Sur le même sujet" blocks, sharing and
cross-sell blocks. <time> elements become plain text (trafilatura drops them, dates and all);
the text a <div> or <td> holds beside its blocks becomes paragraphs (trafilatura drops it); a
frame named in French (id="contenu") gets the English name trafilatura finds frames by; an
article split into sibling boxes of one kind is wrapped whole. From its result, the blocks that
are nothing but links (menus, quick links, other articles' titles: asked to keep links,
trafilatura keeps them as paragraphs) and the lists of teasers ("En savoir plus") are taken
out. A result made of layout tables more than paragraphs is asked again without images (their
alt text tips trafilatura towards its layout grab rather than the article its other
algorithms find). An empty result falls back to trafilatura favouring recall, then to the
block of the page with the most paragraph text: a page with text never comes out empty.
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

from .tree import Node, base_url, first, inner_html, lines, text

# trafilatura reports pages it finds too short at WARNING; for us that is a normal "not found".
logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("htmldate").setLevel(logging.ERROR)

MIN_BODY = 200  # characters of text: less is a teaser or a cookie notice, not an article

# Class and id words of blocks that are not the article: sharing, related links, cross-sell,
# breadcrumb trails ("fil d'Ariane"), sidebars. What trafilatura leaves: it removes comments,
# tags and menus itself, and breadcrumbs and sidebars too, but not at all when what it would
# remove is most of the page's text (a layout of cells classed "sidebar").
_CHROME_WORDS = ("share", "sharing", "social", "partage", "related", "lire-aussi", "lireaussi",
                 "read-more", "readmore", "see-also", "voir-aussi", "newsletter", "infolettre",
                 "cyberbulletin", "crosssell", "cross-sell", "upsell", "recommend", "outbrain",
                 "taboola", "subscribe", "abonnement", "breadcrumb", "breadcrumbs", "ariane",
                 "sidebar")
_CLASSES = etree.XPath("//body//*/@class | //body//*/@id")  # strings: no element proxies
_CHROME_CLASS = re.compile(r"(?:^|[\s_-])(?:" + "|".join(map(re.escape, _CHROME_WORDS))
                           + r")(?:$|[\s_-])", re.IGNORECASE)
# Headings that open a block of links to other articles.
_ELSEWHERE = re.compile(
    r"^\W*(?:(?:à |a )?lire aussi|(?:à |a )?voir aussi|sur le même sujet|dans la même rubrique"
    r"|lire également|aussi sur\b.*|read (?:more|also)|see also|related(?:\s+[\w&]+){0,3}"
    r"|you (?:may|might) also like)\W*$", re.IGNORECASE)
_KEEP = ("body", "html", "main", "article")


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


def prune(page: Node) -> None:
    """Take out of the page what trafilatura keeps but is not the article, and turn <time>
    elements into text it keeps."""
    _strip_inert(page)
    for words in filter(_CHROME_CLASS.search, _CLASSES(page)):  # the loop runs in C
        element = words.getparent()
        # Not the article itself, whatever its classes say ("article social-card"), nor a
        # wrapper of it ("content-sidebar-wrap"): a block that holds the title, the <main> or
        # <article> element or many paragraphs stays.
        if element is not None and element.tag not in _KEEP \
                and element.getparent() is not None and \
                first(element, "descendant::h1 | descendant::main | descendant::article") is None \
                and len(element.xpath("descendant::p")) < 5:
            element.drop_tree()
    _drop_elsewhere(page)
    for caption in list(page.iter("figcaption")):
        if caption.getparent() is not None:
            caption.drop_tree()
    for time in page.iter("time"):
        time.tag = "span"
    _loose_text_as_paragraphs(page)
    _name_frames_in_english(page)
    _join_split_frames(page)


# What trafilatura deletes from its copies of the page before its main algorithm reads them,
# whatever its settings: taken out of the page first, once, they cost nothing in its copies and
# searches of the tree (inline scripts and state blobs, SVG icons, menus: often most of a
# page's bytes and elements), and its fallbacks, which read the page as given, no longer meet
# a site's menus and footer. Scripts of JSON-LD stay: trafilatura reads them (an articleBody,
# a forum's posts). Measured on the corpus: the same scores, a quarter less time.
_INERT = ("nav", "footer", "aside", "style", "svg", "link", "meta", "template", "iframe",
          "object", "embed", "canvas", "button", "input", "select", "textarea")
_SCRIPTS = etree.XPath("//script[not(@type='application/ld+json')]")


def _strip_inert(page: Node) -> None:
    for script in _SCRIPTS(page):
        script.drop_tree()
    etree.strip_elements(page, *_INERT, with_tail=False)


_BOX_TAGS = ("div", "section", "article")


def _join_split_frames(page: Node) -> None:
    """An article split into adjacent sibling boxes of one kind (the same tag and first class
    word: "article box1" holding the title, "article box2"…) is wrapped in one element with
    the first box's classes: trafilatura takes the first element of a class it knows as the
    article's frame, and would read the title's box alone."""
    for title in list(page.iter("h1")):
        for titled in title.iterancestors(*_BOX_TAGS):
            run = [titled]
            while (previous := _same_kind(run[0].getprevious(), titled)) is not None:
                run.insert(0, previous)
            while (following := _same_kind(run[-1].getnext(), titled)) is not None:
                run.append(following)
            if len(run) > 1:
                wrapper = titled.makeelement(titled.tag, {"class": run[0].get("class") or ""})
                run[0].addprevious(wrapper)
                for box in run:
                    wrapper.append(box)  # moved, tail and all
                break  # the boxes nearest the title


def _same_kind(element: Node | None, box: Node) -> Node | None:
    """The element, if it is a box of the same kind: the same tag and first class word."""
    kind = (box.get("class") or "").split()[:1]
    if element is None or element.tag != box.tag or not kind or \
            (element.get("class") or "").split()[:1] != kind:
        return None
    return element


# French names of the article's frame, and the English ones trafilatura looks for.
_FRAME_NAMES = {"contenu": "content", "contenu-principal": "main-content",
                "contenu_principal": "main-content", "contenuprincipal": "main-content"}
_LOWER = "translate(normalize-space({}), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', " \
         "'abcdefghijklmnopqrstuvwxyz')"
# Only the frames so named, found in C: the boxes with an id or a class are most of a page's.
_NAMED_FRAMES = etree.XPath(
    "//body//*[self::div or self::section or self::article][" + " or ".join(
        f"{_LOWER.format(attribute)} = '{name}'" for attribute in ("@id", "@class")
        for name in _FRAME_NAMES) + "]")


def _name_frames_in_english(page: Node) -> None:
    """A frame named in French (id="contenu") is given the English name trafilatura finds
    frames by (id="content"); else, finding none, it gathers loose paragraphs, leaving out
    lists and headings."""
    for element in _NAMED_FRAMES(page):
        for attribute in ("id", "class"):
            english = _FRAME_NAMES.get((element.get(attribute) or "").strip().lower())
            if english:
                element.set(attribute, english)


_BLOCK_TAGS = frozenset(("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl",
                         "table", "blockquote", "pre", "section", "article", "aside", "nav",
                         "header", "footer", "form", "figure", "hr", "main"))
_LOOSE_DIVS = etree.XPath("//body//*[self::div or self::td][text()[normalize-space()]]")
MIN_LOOSE_TEXT = 40  # characters: less is a label or a separator, not a paragraph


def _loose_text_as_paragraphs(page: Node) -> None:
    """The runs of text and inline elements of a <div> that also holds blocks ("<div>Sentence.
    <h2>…</h2> Another.</div>") become paragraphs, as Readability does: trafilatura reads
    paragraphs, and drops such text."""
    for div in _LOOSE_DIVS(page):
        if not any(_is_block(child) for child in div):
            continue  # a div of text alone: trafilatura reads it as a paragraph
        runs: list[tuple[str | None, list[Node], Node | None]] = []  # text, inlines, block after
        loose: str | None = div.text
        inlines: list[Node] = []
        for child in list(div):
            if _is_block(child):
                runs.append((loose, inlines, child))
                loose, inlines = child.tail, []
            else:
                inlines.append(child)
        runs.append((loose, inlines, None))
        for loose, inlines, block in runs:
            words = (loose or "") + "".join(text(inline) + (inline.tail or "")
                                            for inline in inlines)
            if len(words.strip()) < MIN_LOOSE_TEXT:
                continue
            paragraph = div.makeelement("p", {})
            paragraph.text = loose
            for inline in inlines:
                paragraph.append(inline)  # moved, tail and all
            if block is None:
                div.append(paragraph)
            else:
                block.addprevious(paragraph)
            previous = paragraph.getprevious()
            if previous is None:
                div.text = None
            else:
                previous.tail = None


def _is_block(element: Node) -> bool:
    return isinstance(element.tag, str) and element.tag in _BLOCK_TAGS


def _drop_elsewhere(tree: Node) -> None:
    """ "À lire aussi" and its links: the heading's block when the block is small, else the
    heading and the list after it."""
    for found, _ in list(lines(tree, _ELSEWHERE, 60)):
        element: Node | None = found
        if found.tag in ("a", "span", "strong", "b", "em"):  # the heading is its parent
            element = found.getparent()
        parent = element.getparent() if element is not None else None
        if element is None or parent is None:
            continue
        if parent.tag in ("aside", "section", "div", "nav") and len(text(parent)) < 1000 and \
                first(parent, "descendant::h1") is None:
            if parent.getparent() is not None:
                parent.drop_tree()
            continue
        following = element.getnext()
        if following is not None and following.tag in ("ul", "ol", "div"):
            following.drop_tree()
        element.drop_tree()


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
