"""Events on a page, as found (text, not yet dates): schema.org `Event` in JSON-LD or microdata,
else the conventions of French event pages ("Le 3 décembre 2026 de 14 h à 18 h", "Lieu : …",
"Date limite de dépôt : …", "Tarif : gratuit"). Normalise reads the text (eventdates.py); a
French phrase only makes an event of a page that is one (normalise decides, by its kind).

Entry point: `extract(page)` → {"event": ((field, text), …)} or {}.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from itertools import islice
from typing import Any

from lxml import etree

from .jsontext import load_json
from .tree import Node, text

_EVENT_TYPES = {"Event", "Festival", "Hackathon", "CourseInstance", "EventSeries"}
_DAYS = {"monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH", "friday": "FR",
         "saturday": "SA", "sunday": "SU"}
_FREQUENCIES = {"P1D": "DAILY", "P1W": "WEEKLY", "P7D": "WEEKLY", "P1M": "MONTHLY",
                "P1Y": "YEARLY"}
MAX_FIELD = 1000  # characters kept of one field as found
MAX_BLOCKS = 5000  # elements of a page looked at for French conventions
MAX_DESCENDANTS = 40  # an element with more is no line of its own


def extract(page: Node, phrases: bool = True) -> dict[str, Any]:
    """The event a page describes: schema.org Event (JSON-LD, microdata), else, when `phrases`,
    its French phrases ("Du 3 au 5 décembre", "Lieu :")."""
    fields = _json_ld(page) or _microdata(page) or (_conventions(page) if phrases else {})
    found = tuple((name, str(value)[:MAX_FIELD]) for name, value in fields.items()
                  if value not in (None, ""))
    return {"event": found} if found else {}


def is_event_type(value: Any) -> bool:
    types = value if isinstance(value, list) else [value]
    return any(isinstance(t, str) and (t.rsplit("/", 1)[-1] in _EVENT_TYPES or
                                       t.rsplit("/", 1)[-1].endswith("Event")) for t in types)


# --- JSON-LD ---------------------------------------------------------------------------------

_JSON_LD_SCRIPTS = etree.XPath("//script[@type='application/ld+json']")


def _json_ld_nodes(page: Node) -> Iterator[dict[str, Any]]:
    for script in _JSON_LD_SCRIPTS(page):
        try:
            data = load_json(script.text or "")
        except ValueError:
            continue
        for node in data if isinstance(data, list) else [data]:
            if isinstance(node, dict):
                yield node
                graph = node.get("@graph")
                yield from (n for n in (graph if isinstance(graph, list) else [])
                            if isinstance(n, dict))


def _json_ld(page: Node) -> dict[str, Any]:
    node = next((n for n in _json_ld_nodes(page) if is_event_type(n.get("@type"))), None)
    if node is None:
        return {}
    fields: dict[str, Any] = {"start": _scalar(node.get("startDate")),
                              "end": _scalar(node.get("endDate")),
                              "status": _scalar(node.get("eventStatus")),
                              "organiser": _name(node.get("organizer"))}
    for location in _list(node.get("location")):
        if isinstance(location, str):
            fields.setdefault("location_name", location)
        elif isinstance(location, dict) and "Virtual" in str(location.get("@type")):
            fields["online_url"] = _scalar(location.get("url"))
        elif isinstance(location, dict):
            fields["location_name"] = _scalar(location.get("name"))
            fields["location_address"] = _address(location.get("address"))
            geo: dict[str, Any] = location["geo"] if isinstance(location.get("geo"), dict) \
                else {}
            fields["latitude"], fields["longitude"] = (_scalar(geo.get("latitude")),
                                                       _scalar(geo.get("longitude")))
    offers = next((o for o in _list(node.get("offers")) if isinstance(o, dict)), {})
    price = _scalar(offers.get("price"))
    if node.get("isAccessibleForFree") in (True, "true", "True") or price in ("0", "0.0", "0.00"):
        fields["price"] = "gratuit"
    elif price:
        fields["price"] = f"{price} {_scalar(offers.get('priceCurrency')) or ''}".strip()
    fields["registration_url"] = _scalar(offers.get("url"))
    fields["registration_deadline"] = _scalar(offers.get("validThrough") or
                                              offers.get("availabilityEnds"))
    schedule = next((s for s in _list(node.get("eventSchedule")) if isinstance(s, dict)), None)
    if schedule is not None:
        fields["rrule"] = _rule(schedule)
        if not fields["start"] and schedule.get("startDate"):
            start_time = _scalar(schedule.get("startTime"))
            fields["start"] = f"{_scalar(schedule.get('startDate'))}" + (
                f"T{start_time}" if start_time else "")
    return fields


def _rule(schedule: dict[str, Any]) -> str | None:
    frequency = _FREQUENCIES.get(str(_scalar(schedule.get("repeatFrequency")) or "").upper())
    if frequency is None:
        return None
    days = [_DAYS.get(str(day).rsplit("/", 1)[-1].lower()) for day in
            _list(schedule.get("byDay"))]
    rule = f"FREQ={frequency}"
    if any(days):
        rule += ";BYDAY=" + ",".join(day for day in days if day)
    return rule


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _scalar(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@id") or value.get("@value") or value.get("url")
    if isinstance(value, bool) or value is None:
        return None
    return str(value).strip() or None


def _name(value: Any) -> str | None:
    value = value[0] if isinstance(value, list) and value else value
    return _scalar(value.get("name")) if isinstance(value, dict) else _scalar(value)


def _address(value: Any) -> str | None:
    if isinstance(value, dict):
        parts = [_scalar(value.get(key)) for key in ("streetAddress", "postalCode",
                                                     "addressLocality")]
        return " ".join(part for part in parts if part) or None
    return _scalar(value)


# --- microdata -------------------------------------------------------------------------------

_SCOPES = etree.XPath("//*[@itemscope][@itemtype]")


def _microdata(page: Node) -> dict[str, Any]:
    scope = next((s for s in _SCOPES(page) if is_event_type(
        [t.rsplit("/", 1)[-1] for t in str(s.get("itemtype")).split()])), None)
    if scope is None:
        return {}
    props = _props(scope)
    place = next((e for e in scope.iter() if e is not scope and e.get("itemprop") == "location"
                  and e.get("itemscope") is not None), None)
    place_props = _props(place) if place is not None else {}
    return {"start": props.get("startDate"), "end": props.get("endDate"),
            "status": props.get("eventStatus"),
            "location_name": place_props.get("name") or (None if place is not None
                                                          else props.get("location")),
            "location_address": place_props.get("address"),
            "latitude": place_props.get("latitude"), "longitude": place_props.get("longitude"),
            "organiser": props.get("organizer"), "price": props.get("price")}


def _props(scope: Node) -> dict[str, str]:
    """itemprop → value of a scope's own properties (a nested scope's inner ones excluded)."""
    found: dict[str, str] = {}
    for element in scope.iter():
        name = element.get("itemprop")
        if element is scope or not name:
            continue
        owner = next((a for a in element.iterancestors() if a.get("itemscope") is not None),
                     None)
        if owner is not scope:
            continue
        value = (element.get("content") or element.get("datetime") or element.get("href") or
                 text(element))
        for each in name.split():
            found.setdefault(each, value)
    return found


# --- French conventions -------------------------------------------------------------------

_BLOCKS = ("p", "li", "dd", "dt", "div", "span", "strong", "time", "h2", "h3", "td")
_LABELLED = [
    ("location_name", re.compile(r"^(?:lieu|adresse|ou)\s*:\s*(.+)$")),
    ("registration_deadline",
     re.compile(r"^(?:date limite(?: de (?:depot|candidature|dépôt|inscription)s?)?|"
                r"(?:inscriptions?|candidatures?) jusqu'(?:au|à|a))\s*:?\s*(.+)$")),
    ("price", re.compile(r"^(?:tarifs?|prix|entree)\s*:\s*(.+)$")),
    ("organiser", re.compile(r"^(?:organisateur|organise par|organisation)\s*:\s*(.+)$")),
    ("when", re.compile(r"^(?:dates?|quand|horaires?)\s*:\s*(.+)$")),
]
_WHEN = re.compile(r"^(?:le\s+(?:\w+\s+)?\d{1,2}(?:er)?\s|du\s+(?:\w+\s+)?\d{1,2}|"
                   r"jusqu'au\s|tous les\s)")
_FREE = re.compile(r"^(?:gratuit|entree libre|entree gratuite|acces libre)\b")
_STATUS = re.compile(r"^(?:(?:cet )?(?:evenement|rendez-vous|manifestation)"
                     r"(?: est)? )?(annule|annulee|reporte|reportee)\b")
# What every pattern above (and "inscription" for the registration link) can match at the start
# of a folded line: an element whose text begins with none of them is passed without reading
# its text (most of a page's blocks; reading and folding them all cost a tenth of extraction).
_STARTS = ("lieu", "adresse", "ou", "date", "inscription", "candidature", "tarif", "prix",
           "entree", "organis", "quand", "horaire", "le", "du", "jusqu'", "tous", "gratuit",
           "acces", "cet", "evenement", "rendez-vous", "manifestation", "annule", "reporte",
           "s'inscrire")
_STARTS_WITH_ONE = re.compile("|".join(map(re.escape, _STARTS)))
_BEGINNINGS = {word[:length] for word in _STARTS for length in range(len(word) + 1)}


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.lower().replace("’", "'"))
    if decomposed.isascii():  # no accent to take off
        return decomposed
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _may_start_a_line(element: Node) -> bool:
    """Whether the element's line (its text) may begin with one of _STARTS, from its first
    piece of text alone (a piece shorter than a word, "Ins", may begin one)."""
    head = element.text
    if not (head and head.strip()):
        head = _first_piece(element)
        if head is None:  # not known: the line is read
            return True
        if not head:  # no text: no line
            return False
    # As _fold, but every character outside ASCII taken out (accents and all): the words are
    # ASCII, so a line _fold would begin with one of them still begins with it here.
    folded = unicodedata.normalize("NFKD", head.strip()[:16].lower().replace("’", "'")).encode(
        "ascii", "ignore").decode("ascii")
    return folded in _BEGINNINGS or _STARTS_WITH_ONE.match(folded) is not None


def _first_piece(element: Node) -> str | None:
    """The element's first piece of text that is not blank, in document order, as `text`
    reads it: "" when it has none, None when a script, style or template comes first or when
    it is not within the first MAX_DESCENDANTS elements (a block that large is no line: work
    bounded per element, as the count in _conventions)."""
    walked = 0
    for event, node in etree.iterwalk(element, events=("start", "end")):
        if not isinstance(node.tag, str) or node.tag in ("script", "style", "template"):
            return None
        walked += event == "start"
        if walked > MAX_DESCENDANTS:
            return None
        if event == "end" and node is element:
            return ""
        piece = node.text if event == "start" else node.tail
        if piece and piece.strip():
            return piece
    return ""


def _conventions(page: Node) -> dict[str, Any]:
    body = page.find("body")
    fields: dict[str, Any] = {}
    for element in islice((body if body is not None else page).iter(*_BLOCKS), MAX_BLOCKS):
        if not _may_start_a_line(element):
            continue
        # a short line is a small element: one holding more is passed without reading its text
        # (reading every nested element's text would cost the square of a hostile page's depth)
        if sum(1 for _ in islice(element.iter(), MAX_DESCENDANTS)) >= MAX_DESCENDANTS:
            continue
        line = text(element)
        if not line or len(line) > 200:
            continue
        folded = _fold(line)
        for name, pattern in _LABELLED:
            match = pattern.match(folded)
            if match and name not in fields:
                # the original spelling (accents, capitals) of what follows the label
                fields[name] = line[len(line) - len(match.group(1)):].strip()
        if "when" not in fields and _WHEN.match(folded):
            fields["when"] = line
        if "price" not in fields and _FREE.match(folded):
            fields["price"] = "gratuit"
        if "status" not in fields and (status := _STATUS.match(folded)):
            fields["status"] = "annule" if status.group(1).startswith("annul") else "reporte"
        if "registration_url" not in fields and folded.startswith(("inscription", "s'inscrire")):
            link = element.find(".//a[@href]") if element.tag != "a" else element
            if link is not None:
                fields["registration_url"] = link.get("href")
    return fields if "when" in fields else {}
