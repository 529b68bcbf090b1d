"""The page's one parsed tree, shared by every layer of extraction, and what they ask of it.

A page is parsed once, by lxml (about twenty times faster than BeautifulSoup over the same lxml
parser), and every layer reads that tree: the configured selectors, the metadata, and
trafilatura, which takes lxml trees as they are. CSS selectors are compiled to XPath once each
(cssselect, lxml's own CSS engine) and run in C.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from functools import lru_cache
from urllib.parse import urljoin

import lxml.html
from cssselect import HTMLTranslator, SelectorError
from lxml import etree

from ..errors import ConfigError

# As trafilatura parses (it reads this tree too): comments and processing instructions dropped,
# so no layer ever takes them for text.
_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False,
                               default_doctype=False, encoding="utf-8")
# Every element an HtmlElement, chosen in C: lxml.html's own lookup calls Python each time an
# element is handed to Python (to give forms and inputs their classes, which no layer uses),
# a tenth of the extraction's time.
_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
    pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity))
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_EMPTY_PAGE = b"<html><head></head><body></body></html>"
_TRANSLATOR = HTMLTranslator()
# The text a reader sees: as BeautifulSoup's get_text, scripts, styles and templates left out.
_TEXT = etree.XPath("descendant-or-self::text()"
                    "[not(ancestor::script or ancestor::style or ancestor::template)]")

Node = lxml.html.HtmlElement


def parse(page: str) -> Node:
    """The page's <html> element. The text is handed to lxml as UTF-8 bytes, so that an XML
    declaration naming another encoding (XHTML pages) or a <meta charset> cannot mislead it:
    the text is already decoded (fetch.decode_html). Characters XML cannot carry (control
    characters, lone surrogates, U+FFFE) are left out first: lxml's HTML parser would keep them
    in the tree, where no element can be given them again (trafilatura does: ValueError)."""
    if "&#" in page:  # references to those characters too: lxml would write them out
        page = _REFERENCE.sub(_xml_reference, page)
    try:
        return lxml.html.document_fromstring(_xml_bytes(page), parser=_PARSER)
    except etree.ParserError:  # nothing but blanks: an empty page, as BeautifulSoup would give
        return lxml.html.document_fromstring(_EMPTY_PAGE, parser=_PARSER)


# A numeric character reference, its ";" optional as in HTML.
_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?")


def _xml_reference(match: re.Match[str]) -> str:
    """A reference to a character XML cannot carry, as browsers show it: nothing for a control
    character, U+FFFD for NUL, a surrogate or beyond Unicode; any other left as written."""
    hexadecimal, decimal = match.groups()
    digits = (hexadecimal or decimal).lstrip("0") or "0"
    if len(digits) > 8:  # beyond Unicode, however many digits (no int() of them all)
        return "\ufffd"
    code = int(digits, 16 if hexadecimal else 10)
    if code > 0x10FFFF or code == 0 or 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return "" if _NOT_XML.match(chr(code)) else match[0]


# The control characters XML cannot carry, as UTF-8 bytes: no byte of another character's
# encoding is below 0x20, so they can be deleted from the bytes, several times faster than
# from the text; U+FFFE and U+FFFF are three bytes each.
_CONTROL_BYTES = bytes(range(0x09)) + b"\x0b\x0c" + bytes(range(0x0E, 0x20))
_NONCHARACTERS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")


def _xml_bytes(page: str) -> bytes:
    """The page as UTF-8, without the characters XML cannot carry (`without_control`)."""
    try:
        data = page.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return without_control(page).encode("utf-8")
    data = data.translate(None, _CONTROL_BYTES)
    for noncharacter in _NONCHARACTERS:
        if noncharacter in data:
            data = data.replace(noncharacter, b"")
    return data


def without_control(text: str) -> str:
    """The text without the characters XML cannot carry (no lxml element takes them)."""
    return _NOT_XML.sub("", text)


def select(node: Node, css: str) -> list[Node]:
    """The elements under `node` (the node itself excepted) that match `css`, in page order."""
    return _compiled(css)(node)


def select_one(node: Node, css: str) -> Node | None:
    found = select(node, css)
    return found[0] if found else None


def first(node: Node, xpath: str) -> Node | None:
    found = _xpath(xpath)(node)
    return found[0] if found else None


@lru_cache(maxsize=256)
def _xpath(expression: str) -> etree.XPath:
    """An XPath compiled once: `node.xpath(text)` compiles it again at each call."""
    return etree.XPath(expression)


def text(node: Node | None) -> str:
    """The node's text, its pieces stripped and joined by single spaces."""
    if node is None:
        return ""
    return " ".join(piece.strip() for piece in _TEXT(node) if piece.strip())


def inner_html(node: Node) -> str:
    """What the node holds, as HTML (its own tag left out)."""
    return html.escape(node.text or "", quote=False) + "".join(
        etree.tostring(child, encoding="unicode", method="html") for child in node)


# Every text node of the body, read once per page and shared by the convention scans (dates,
# credits, key figures, related-links headings): XPath's contains() copies a node's text for
# each test, so one read and Python's regular expressions cost several times less.
# Blank ones left out by XPath: each text node handed to Python costs more than the test.
_BODY_TEXTS = etree.XPath("//body//text()[normalize-space()]")
_CHROME = ("footer", "nav", "aside", "template", "script", "style", "noscript")
# Asked of the few elements that match, in C: walking their ancestors in Python cost more.
_IN_CHROME = etree.XPath("boolean(ancestor-or-self::*[" + " or ".join(f"self::{tag}"
                                                                   for tag in _CHROME) + "])")
_last = threading.local()  # the page last scanned, and its lines


def lines(page: Node, pattern: re.Pattern[str], max_length: int) -> Iterator[tuple[Node, str]]:
    """(element, its text node) for each text node of the page shorter than `max_length` that
    `pattern` finds something in, outside the page's chrome (footer, nav, aside) and scripts.
    The element is the one the text is in (for a tail, its parent's)."""
    if getattr(_last, "page", None) is not page:
        _last.page, _last.texts = page, _BODY_TEXTS(page)
        _last.shorter = {}
    if max_length not in _last.shorter:
        _last.shorter[max_length] = [t for t in _last.texts if len(t) < max_length]
    for piece in filter(pattern.search, _last.shorter[max_length]):  # the loop runs in C
        element = piece.getparent()
        if element is not None and piece.is_tail:
            element = element.getparent()
        if element is None or _IN_CHROME(element):
            continue
        yield element, str(piece)


@lru_cache(maxsize=1024)
def _compiled(css: str) -> etree.XPath:
    try:
        return etree.XPath(_TRANSLATOR.css_to_xpath(css, prefix="descendant::"))
    except SelectorError as error:
        raise ConfigError(f"CSS selector '{css}' is not supported: {error}",
                          field="selectors") from None


def base_url(page: Node, url: str) -> str:
    """What the page's relative links are relative to: its <base href>, else its address."""
    base = first(page, "descendant::base[@href]")
    href = base.get("href") if base is not None else None
    try:
        return urljoin(url, href) if isinstance(href, str) else url
    except ValueError:  # a <base> that is no URL is ignored, as browsers do
        return url
