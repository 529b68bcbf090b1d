"""Key figures found unaided, on pages whose source configures no figure selectors: a block of
numbers with units, each with its label ("1,1 Md €" / "pour le pacte rural"), as a list, a <dl>,
cards of <div>s, or a flat run of value and label elements.

How: XPath (in C) finds the text nodes that begin with a digit; those whose element reads as a
value ("1,1 Md €", "+ 20 %", "4 000 places") are the values. Each value's item is its highest
ancestor holding no other value (a card, an <li>); its label is the rest of the item's text, or,
when values sit side by side, the elements after it up to the next value (the <dd> after a
<dt>, the <dt> before a <dd>). Items sharing a parent form a block; the block taken is the one
a heading names ("… en chiffres", "Chiffres clés") or else the largest of at least two items
with units. Entry point: `find(page)` → ((value, label), …) as RawRecord.figures.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from .conventions import own_text
from .tree import Node, first, lines, text

MAX_VALUE = 30  # characters: more is a sentence that begins with a number
MAX_LABEL = 200
_NUMBER = (r"(?:\+|-|−|≈|~|plus de|près de|environ|over|about)?\s*"
           r"\d{1,3}(?:[ \u00a0\u202f.,]\d{3})*(?:[.,]\d+)?")
_SCALE = r"(?:milliards?|millions?|milliers?|mrds?|mds?|md|bn|billions?|k|m)"
_UNIT = (r"(?:€|%|\$|£|eur(?:os?)?|d['’]\s?euros|km|m²|m2|ha|hectares?|t|tonnes?|kg|mw|gw|kwh"
         r"|h|heures?|ans|jours?|fois|x|places?|emplois?|logements?|habitants?|personnes?"
         r"|bénéficiaires?|communes?|lycées?|élèves?|projets?|associations?|arbres?)")
VALUE = re.compile(rf"^{_NUMBER}\s*(?:{_SCALE}\.?)?\s*(?:{_UNIT}\.?)?(?:\s*{_UNIT})?\s*$",
                   re.IGNORECASE)
WITH_UNIT = re.compile(rf"\d\s*(?:{_SCALE}\b|{_UNIT})", re.IGNORECASE)
_INLINE = re.compile(rf"^(?P<value>{_NUMBER}\s*(?:{_SCALE}\.?)?\s*(?:€|%|d['’]\s?euros|euros?))"
                     r"\s+(?P<label>[^\d\s].{2,})$", re.IGNORECASE)
_YEAR = re.compile(r"^(?:19|20)\d{2}$")
_HEADING_WORDS = re.compile(r"en chiffres|chiffres[- ]cl[ée]s|key figures|in numbers|"
                            r"les chiffres|by the numbers", re.IGNORECASE)
_STARTS_WITH_A_DIGIT = re.compile(r"^\s*[\d+≈~]")
_HEADINGS = etree.XPath("preceding::*[self::h2 or self::h3 or self::h4 or self::strong]"
                        "[position() <= 3] | *[self::h2 or self::h3 or self::h4]")


def find(page: Node) -> tuple[tuple[str, str], ...]:
    values, inline = _values(page)
    if len(values) + len(inline) < 2:
        return ()
    chosen = set(values)
    counts: dict[Node, int] = {}
    for value in values:
        for ancestor in value.iterancestors():
            counts[ancestor] = counts.get(ancestor, 0) + 1
    blocks: dict[Node, list[tuple[str, str]]] = {}
    for value in values:
        item, container = value, value.getparent()
        while container is not None and counts.get(container, 0) == 1:
            item, container = container, container.getparent()
        label = _label(value, item, lambda e: e in chosen or e in counts)
        if container is not None and 0 < len(label) <= MAX_LABEL:
            blocks.setdefault(container, []).append((text(value), label))
    for element, value_text, label in inline:
        parent = element.getparent()
        if parent is not None:
            blocks.setdefault(parent, []).append((value_text, label))
    return _best(blocks)


def _values(page: Node) -> tuple[list[Node], list[tuple[Node, str, str]]]:
    """Elements that are a value; and items written as one line ("1,1 Md € pour …")."""
    found: dict[Node, None] = {}
    inline: list[tuple[Node, str, str]] = []
    for element, _ in lines(page, _STARTS_WITH_A_DIGIT, MAX_LABEL + 40):
        if element.tag == "time" or first(element, "ancestor::time") is not None:
            continue
        parent = element.getparent()  # "<p><b>1,1</b> Md €</p>": the value is the <p>
        if parent is not None and len(parent) <= 3 and VALUE.match(own_text(parent, MAX_VALUE)):
            element = parent
        if element in found:
            continue
        written = own_text(element, MAX_LABEL)
        if len(written) <= MAX_VALUE and VALUE.match(written) and not _YEAR.match(written):
            found[element] = None
        elif element.tag in ("li", "p", "dd") and len(written) <= MAX_LABEL:
            line = _INLINE.match(written)
            if line:
                inline.append((element, line["value"].strip(), line["label"].strip()))
    # A value inside another value's element counts once: the outer one ("<b>1,1</b> Md €").
    return [e for e in found if not any(a in found for a in e.iterancestors())], inline


def _label(value: Node, item: Node, holds_value: Callable[[Node], bool]) -> str:
    if item is not value:  # a card or an item of its own: the rest of its text
        label = text(item).replace(text(value), "", 1).strip(" :–-")
        if label:
            return label
    if item.tag == "dd":  # <dt>label</dt><dd>value</dd>
        before = item.getprevious()
        return text(before) if before is not None and before.tag == "dt" else ""
    parts = []  # side by side: what follows the value, up to the next value
    following = item.getnext()
    while following is not None and not holds_value(following):
        parts.append(text(following))
        if item.tag == "dt" or following.tag == "dd":
            break
        following = following.getnext()
    tail = (item.tail or "").strip()
    return " ".join(p for p in (tail, *parts) if p).strip(" :–-")


def _best(blocks: dict[Node, list[tuple[str, str]]]) -> tuple[tuple[str, str], ...]:
    best: tuple[tuple[str, str], ...] = ()
    best_score = 0.0
    for container, items in blocks.items():
        if len(items) < 2:  # before looking back for a heading, the page's longest search
            continue
        named = any(_HEADING_WORDS.search(text(h)) for h in _HEADINGS(container))
        with_unit = sum(1 for value, _ in items if WITH_UNIT.search(value))
        if not named and with_unit < 2:
            continue
        score = len(items) + with_unit + (10 if named else 0)
        if score > best_score:
            best, best_score = tuple(items), score
    return best
