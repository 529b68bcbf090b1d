"""What pages say without metadata, found by convention: the title in <h1>, "Publié le …" and
"Mis à jour le …", the <time> next to the title, and photo credits ("Crédit photo : © …",
"© …" by an image, in a <figcaption>).

Each scan asks XPath (in C) for the few text nodes that could hold what it looks for, then reads
those alone: reading the text of every element costs a quarter of a page's extraction.
Entry point: `extract(page)`, candidates by field as metadata.Candidates.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from ..dates import parse_date
from .selectors import image_fields
from .tree import Node, first, lines, text

CREDIT_LINE = re.compile(r"Cr[ée]dits?\s*(?:photos?|images?)?\s*:\s*©?\s*[^\n]+", re.IGNORECASE)
_COPYRIGHT = re.compile(r"(?:©|\(c\)|copyright\b|photo\s*:)\s*\S.*", re.IGNORECASE)


def own_text(element: Node, limit: int = 300) -> str:
    """The element's text when it is a line (few children, short), else its own text alone:
    a large block that holds a matching line is not read whole."""
    if len(element) <= 8:
        line = text(element)
        if len(line) <= limit:
            return line
    return " ".join(t.strip() for t in element.xpath("text()") if t.strip())


OUTSIDE = ("[not(ancestor::script or ancestor::style or ancestor::footer or ancestor::nav "
           "or ancestor::aside or ancestor::template)]")

_MAIN_H1 = etree.XPath("//main//h1 | //article//h1 | //*[@role='main']//h1")
_ANY_H1 = etree.XPath("//h1")
_HEADING = etree.XPath("//body//*[self::h1 or self::h2 or self::h3]" + OUTSIDE)
# The page's visible headings: witnesses of which part of a document's title names the page.
# Not the site's banner: a heading in the page's <header> (not an article's), in a logo's or a
# masthead's block, or that links to the home page ("<h1><a href="/">Ville X</a></h1>"), names
# the site.
_BANNER = ("ancestor-or-self::*[self::header[not(ancestor::article or ancestor::main)]"
           " or contains(@class, 'logo') or contains(@id, 'logo')"
           " or contains(@class, 'brand') or contains(@class, 'masthead') or "
           "contains(@id, 'masthead') or contains(@class, 'site-title') or "
           "contains(@id, 'site-title') or contains(@class, 'site-name')]")
_HOME_LINK = ("descendant::a[@href='/' or @href='./' or @href='#' or starts-with(@href, 'index.')"
              " or starts-with(@href, '/index.')]")
_WITNESSES = etree.XPath("(//body//*[self::h1 or self::h2]" + OUTSIDE + f"[not({_BANNER})]"
                         f"[not({_HOME_LINK})])[position() <= 30]")
_CREDIT_HINT = re.compile(r"©|cr[ée]dit|copyright|photo", re.IGNORECASE)
# The first picture after the title: an image in a block of its own (not in a paragraph's
# text, a teaser, a link such as a logo, or the page's chrome), not a small icon.
_IMAGE_AFTER = ("following::img[not(ancestor::li or ancestor::a or ancestor::p or ancestor::span "
                "or ancestor::footer or ancestor::aside or ancestor::nav or ancestor::button)]"
                "[not(@width < 100 or @height < 100)][1]")
_PICTURE_FILE = re.compile(r"/[^?#]*\.(?:jpe?g|png|webp|avif|gif)(?:[?#]|$)", re.IGNORECASE)
_DATE_HINT = re.compile(r"publi|jour|modifi|updated|posted", re.IGNORECASE)
# "Publié le", "Mis à jour le": what follows, up to the next of them, is the date.
_DATE_WORDS = re.compile(
    r"(?P<updated>mise?s? à jour(?: le)?|modifiée? le|dernière (?:mise à jour|modification)"
    r"|updated(?: on)?|last modified(?: on)?)"
    r"|(?P<published>publiée? le|publiée?|date de publication|mise? en ligne le"
    r"|published(?: on)?|posted(?: on)?)", re.IGNORECASE)


def extract(page: Node) -> dict[str, list[tuple[str, Any]]]:
    found: dict[str, list[tuple[str, Any]]] = {}
    heading = _title_heading(page)
    if heading is not None:
        found["title"] = [("h1", text(heading))]
        found["summary"] = [("first paragraph", _lead(heading))]
        image = image_fields(first(heading, _IMAGE_AFTER))
        if _PICTURE_FILE.search(str(image.get("image_url") or "")):
            for field, value in image.items():
                found[field] = [("image by the title", value)]
    found["headings"] = [("headings", _headings(page))]
    for field, origin, value in (*_stated_dates(page), *_time_by_title(heading),
                                 *_credits(page)):
        found.setdefault(field, []).append((origin, value))
    return {field: values for field, values in found.items() if values and values[0][1]}


def first_heading(page: Node) -> str | None:
    """The text of the first heading outside the page's chrome: a title for a page with none."""
    return next((t for t in (text(h) for h in _HEADING(page)) if t), None)


def _headings(page: Node) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The texts of the page's <h1>s and of its <h2>s, outside its chrome, in page order."""
    found: tuple[list[str], list[str]] = ([], [])
    for heading in _WITNESSES(page):
        words = text(heading)
        if words and len(words) <= 300:
            found[heading.tag == "h2"].append(words)
    return tuple(found[0]), tuple(found[1])


def _title_heading(page: Node) -> Node | None:
    """The first <h1> with text in the main content, else on the page."""
    for headings in (_MAIN_H1(page), _ANY_H1(page)):
        found = next((h for h in headings if text(h)), None)
        if found is not None:
            return found
    return None


# Blocks that open with the text a description gives: candidates for the whole standfirst.
# Text nodes, not elements: an element's text is its whole subtree's, read for every block.
_OPENING_WITH = etree.XPath("//body//text()[starts-with(normalize-space(.), $opening) or "
                            "string-length(normalize-space(.)) >= 8 and "
                            "starts-with($opening, normalize-space(.))]"
                            "[not(ancestor::script or ancestor::style or ancestor::footer or "
                            "ancestor::nav or ancestor::aside)]")
_BLOCKS = ("p", "div", "b", "strong", "span", "h2", "section")
_STANDFIRST_CLASS = re.compile(r"chap[oô]|chapeau|lead|intro|standfirst|summary|excerpt|"
                               r"description|accroche|resume", re.IGNORECASE)
_ELLIPSIS = re.compile(r"\s*(?:…|\.\.\.|\[\.\.\.\]|\[…\])\s*$")
MAX_LEAD = 600


def whole_lead(page: Node, description: str, first_paragraph: str | None) -> str | None:
    """The standfirst a description cuts short ("… continue à faire ...") or gives the first
    sentence of, as the page shows it whole: the smallest block that opens with the
    description and says more, when the description ends with an ellipsis or the block is
    marked as a standfirst (class "chapo", "lead", "intro"…, or the paragraph right after the
    title). None when there is no such block."""
    opening = _ELLIPSIS.sub("", " ".join(description.split()))
    cut = opening != " ".join(description.split())
    if len(opening) < 40:
        return None
    best: str | None = None
    for piece in _OPENING_WITH(page, opening=opening[:30]):
        # Up from the text ("<p><b>La Région</b> lance…") to the first block that holds more
        # than the description.
        block, whole = piece.getparent(), ""
        for _ in range(4):
            if block is None or block.tag == "body":
                break
            whole = text(block)
            if block.tag in _BLOCKS and len(whole) > len(opening):
                break
            block = block.getparent()
        if block is None or not (len(opening) < len(whole) <= MAX_LEAD and
                                 whole.startswith(opening)):
            continue
        marked = whole == first_paragraph or any(
            _STANDFIRST_CLASS.search(str(e.get("class") or ""))
            for e in (block, block.getparent()) if e is not None)
        if (cut or marked) and (best is None or len(whole) < len(best)):
            best = whole
    return best


def _lead(heading: Node) -> str | None:
    """The paragraph right after the title, when it is long enough to be a lead (chapô):
    what a page without a description shows first."""
    for sibling in heading.itersiblings():
        if sibling.tag in ("h2", "h3", "section", "article"):
            return None
        if sibling.tag == "p":
            lead = text(sibling)
            if len(lead) >= 80:
                return lead
    return None


# --- dates -----------------------------------------------------------------------------------


def _stated_dates(page: Node) -> list[tuple[str, str, str]]:
    """ "Publié le 3 mars 2026 | Mis à jour le 4 mars 2026": each date with what it says it is,
    the first of each on the page."""
    found: dict[str, tuple[str, str, str]] = {}
    for element, _ in lines(page, _DATE_HINT, 300):
        if len(found) == 2:
            break
        line = own_text(element)
        parent = element.getparent()
        if _DATE_WORDS.fullmatch(line.strip(" :")) and parent is not None:
            line = own_text(parent)  # "<span>Mis à jour</span> : 4 mars 2026"
        words = list(_DATE_WORDS.finditer(line))
        times = element.xpath("descendant-or-self::time[@datetime]/@datetime")
        for index, match in enumerate(words):
            field = "updated" if match["updated"] else "published"
            end = words[index + 1].start() if index + 1 < len(words) else len(line)
            stated = line[match.end():end].strip(" :,|-–—")
            if field in found or not stated:
                continue
            if parse_date(stated) is not None:
                found[field] = (field, "text", stated)
            elif index < len(times) and parse_date(str(times[index])) is not None:
                found[field] = (field, "text", str(times[index]))
    return list(found.values())


# Words that say a date is an update ("Mis à jour le", "modifié", "updated").
UPDATE_WORDS = re.compile(r"mis[e]? à jour|modifi|updated", re.IGNORECASE)


def _time_by_title(heading: Node | None) -> list[tuple[str, str, str]]:
    """The <time> next to the title: in the title's own block (the article's header), not
    the first on the page, which often dates a related article or the footer's news."""
    if heading is None:
        return []
    block = heading.getparent()
    for _ in range(4):
        if block is None or block.tag in ("body", "html"):
            return []
        times = block.xpath("descendant::time[@datetime or normalize-space()]"
                            "[not(ancestor::aside or ancestor::li or ancestor::nav)]")
        if times:
            found: list[tuple[str, str, str]] = []
            for time in times[:2]:
                value = str(time.get("datetime") or text(time))
                context = text(time.getparent()) if time.getparent() is not None else ""
                field = "updated" if UPDATE_WORDS.search(context[:80]) else "published"
                if not any(f == field for f, _, _ in found):
                    found.append((field, "time", value))
            return found
        if block.tag in ("article", "main"):
            return []
        block = block.getparent()
    return []


# --- credits -----------------------------------------------------------------------------------


def _credits(page: Node) -> list[tuple[str, str, str]]:
    """Credit lines anywhere but the page's chrome; "©" lines only by an image or in a caption
    (elsewhere "© 2026 Ville de …" is the site's copyright, not a photo's)."""
    stated: list[tuple[str, str, str]] = []
    captions: list[tuple[str, str, str]] = []
    for element, _ in lines(page, _CREDIT_HINT, 300):
        line = own_text(element)
        if len(line) >= 200:
            continue
        if CREDIT_LINE.fullmatch(line):
            stated.append(("image_credit", "credit line", line))
        elif _by_an_image(element):
            match = _COPYRIGHT.search(line) or CREDIT_LINE.search(line)
            if match:
                captions.append(("image_credit", "caption", match.group().strip()))
        if stated:
            break
    return (stated or captions)[:1]


def _by_an_image(element: Node) -> bool:
    """In a figure or caption, or in the same block as an image."""
    if first(element, "ancestor-or-self::*[self::figure or self::figcaption]") is not None:
        return True
    parent = element.getparent()
    for block in (element, parent, parent.getparent() if parent is not None else None):
        if block is not None and first(block, "descendant::img | descendant::picture") is not None:
            return True
    return False
