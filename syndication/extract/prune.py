"""The page pruned before trafilatura reads it: what it keeps but readers do not want is
taken out, and what it would drop or misread is made plain to it.

Taken out: what trafilatura deletes anyway, whatever its settings (scripts but JSON-LD, styles,
SVG, menus, footers, asides, form controls, embeds), so that its copies and searches of the tree
cost less and its fallbacks do not read a site's menus; figure captions; "À lire aussi" and
"Sur le même sujet" blocks; sharing, cross-sell, breadcrumb and sidebar blocks. Made plain:
<time> elements become text (trafilatura drops them, dates and all); the text a <div> or <td>
holds beside its blocks becomes paragraphs (trafilatura drops it); a frame named in French
(id="contenu") gets the English name trafilatura finds frames by; an article split into sibling
boxes of one kind is wrapped whole.

Entry point: `prune(page)`, which changes the page itself: the last layer to read it is
trafilatura (article.body), so every other layer has read it by then.
"""

from __future__ import annotations

import re

from lxml import etree

from .tree import Node, first, lines, text

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
