"""Arbitration: of the candidates every layer found for a field, which one the item takes, and
why. A configured selector always wins; otherwise each field has its rule:

- title: the site's name, a rubric, a date or "Accueil" around the headline is cut off
  ("… | Site", "… - Bondy Blog", "… | DW | 23.05.2011"); then the page's own headings (<h1>s,
  then <h2>s) are the witnesses: a candidate, or a part of a document's title, that a heading
  shows wins; else the most reliable (an article's headline, OpenGraph, Twitter, microdata, the
  <h1>, <title>, a page's name, in that order);
- dates: the most reliable candidate that is a readable date (an unreadable one never blocks
  the next);
- lead: the description most layers agree on, weighed by how reliable each layer is;
- everything else: the most reliable candidate.

Entry point: `choose(found, url)` → {field: Choice}.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

from ..dates import parse_date
from .conventions import UPDATE_WORDS
from .metadata import Candidates

DATE_FIELDS = ("published", "updated")
# How much each layer's title counts, from how often each is right (a WebPage's name about a
# third of the time, an article's headline four times in five).
# The <h1> is a witness above all: alone, it loses to the document's <title>, as old sites'
# <h1> is often "Welcome", a logo's text or a menu's heading.
TITLE_WEIGHTS = {"selector": 100.0, "json-ld article": 3.0, "og": 2.5, "twitter": 1.5,
                 "microdata": 1.5, "page": 1.5, "h1": 1.4, "meta": 1.0, "json-ld page": 0.5}
SUMMARY_WEIGHTS = {"og": 3, "meta": 3, "json-ld article": 2, "twitter": 2, "microdata": 2,
                   "json-ld page": 1}
# Separators between a headline and the site's name or rubric, as titles write them.
_SEPARATORS = re.compile(r"\s+(?:-\s+)+|\s+--\s+|\s+[|–—:·•»/]\s+|\s*[|•»]\s*|\s+::\s+")
# The last part of a document's title after one of these is, on most sites, the site's name or
# its section ("Bibliothèque | Collège Brébeuf", "Programmes - CAW Family Education Centre").
_TRAILING_NAME = re.compile(r"^(?P<title>.+?)(?:\s+(?:-\s+)+|\s+--\s+|\s*\|\s*|\s+[–—«]\s+"
                            r"|\s+::\s+)(?P<name>[^|]+)$")
DOCUMENT_TITLES = ("page", "og", "twitter", "meta")
MAX_PARTS = 12  # of a title's parts read for runs a heading shows: a real title has a few
MAX_TITLE = 1000  # characters of a candidate title read: a real one has a few hundred at most
# What a home page calls itself instead of a title: a part of a title that is one of these is
# cut off like the site's name ("Home - Provincial Archives" → "Provincial Archives").
GENERIC_TITLES = frozenset({
    "home", "homepage", "welcome", "index", "untitled", "untitleddocument", "accueil",
    "pagedaccueil", "bienvenue", "bienvenuesurnotresite", "sanstitre", "startseite", "inicio",
    "portada", "benvenuti"})


@dataclass(frozen=True, slots=True)
class Choice:
    value: Any
    origin: str
    why: str


def choose(found: Candidates, url: str) -> dict[str, Choice]:
    chosen: dict[str, Choice] = {}
    for field, values in found.items():
        values = [(origin, value) for origin, value in values if value]
        if not values or field in ("site_name", "headings"):
            continue
        if values[0][0] == "selector":
            chosen[field] = Choice(values[0][1], "selector", "the source's selector")
        elif field == "title":
            headings = found.get("headings", [("headings", ((), ()))])[0][1]
            choice = _title(values, _site_names(found, url), headings)
            if choice is not None:
                chosen[field] = choice
        elif field in DATE_FIELDS:
            if field == "published":  # "mise à jour le 9/10/2012": not when it was published
                values = [(o, v) for o, v in values if not UPDATE_WORDS.search(str(v))]
            choice = _date(values)
            if choice is not None:
                chosen[field] = choice
        elif field == "summary":
            chosen[field] = _summary(values)
        else:
            chosen[field] = Choice(values[0][1], values[0][0], "the most reliable layer")
    return chosen


# --- titles ------------------------------------------------------------------------------------


def _title(values: list[tuple[str, Any]], sites: list[str],
           headings: tuple[tuple[str, ...], tuple[str, ...]]) -> Choice | None:
    raw = [(origin, " ".join(_decoded(str(value)[:MAX_TITLE]).split()))
           for origin, value in values]
    cleaned = [(origin, strip_site(value, sites)) for origin, value in raw]
    cleaned = [(origin, _page_part(raw_value, value) if origin in DOCUMENT_TITLES else value)
               for (origin, value), (_, raw_value) in zip(cleaned, raw, strict=False)
               if re.search(r"[^\W\d_]", value)]  # letters
    if not cleaned:
        return None
    h1s, h2s = ([h for h in found if not _not_a_title(h, sites)] for found in headings)
    # What the document's titles put around the page's title, and no heading shows, is the
    # site's name ("Bibliothèque | Ville de X"), and so is "Welcome": a layer whose whole title
    # is one of those names no page. So does a title that is the site's name alone when the
    # page names itself in its one <h1> (several <h1>s are a menu's or a list's).
    names = _names_around(raw, cleaned, h1s + h2s)
    names |= {_key(v) for _, v in cleaned if _key(v) in GENERIC_TITLES
              or len(h1s) == 1 and _is_site_or_date(v, sites)}
    cleaned = [(origin, value) for origin, value in cleaned if _key(value) not in names] \
        or cleaned
    ranked = sorted(cleaned, key=lambda c: -TITLE_WEIGHTS.get(c[0], 0.1))
    # A candidate a heading shows, whole or one part of a document's title ("Site - Page"):
    # where the page's title stands in the document's title (not where its site's name does)
    # first, then an <h1> before an <h2>, then the longest (titles hold their site's name more
    # often than the reverse).
    kept = [_key(value) for origin, value in cleaned if origin != "h1"]
    shown = [(value, origin, f"agrees with the page's {tag}", tag)
             for witnesses, tag in ((h1s, "<h1>"), (h2s, "<h2>")) for origin, value in ranked
             if origin != "h1" and any(_same(value, h) for h in witnesses)]
    shown += [(part, "h1", f"the part of {origin}'s title the page's {tag} shows", tag)
              for witnesses, tag in ((h1s, "<h1>"), (h2s, "<h2>"))
              for origin, value in raw if origin in DOCUMENT_TITLES
              for part in _parts_shown(value, witnesses)]
    if shown:
        value, origin, why, _ = max(shown, key=lambda s: (
            any(_key(s[0]) in k for k in kept), s[3] == "<h1>", len(_key(s[0]))))
        return Choice(value, origin, why)
    heading = next((value for origin, value in cleaned if origin == "h1"), None)
    if heading:
        for origin, value in ranked:  # "<h1> | Rubric", "<h1> (Published 2009)", "<h1 cut…"
            if origin != "h1" and _overlaps(value, heading):
                return Choice(heading, "h1", f"the <h1>, which {origin}'s title begins with")
    votes: dict[str, float] = {}
    for origin, value in cleaned:
        votes[_key(value)] = votes.get(_key(value), 0) + TITLE_WEIGHTS.get(origin, 0.1)
    best = max(votes, key=lambda k: votes[k])
    origin, value = next((o, v) for o, v in ranked if _key(v) == best)
    agreeing = [o for o, v in cleaned if _key(v) == best]
    return Choice(value, origin, f"{' and '.join(agreeing)} agree" if len(agreeing) > 1
                  else "the most reliable layer, no other agreeing")


def _names_around(raw: list[tuple[str, str]], cleaned: list[tuple[str, str]],
                  headings: list[str]) -> set[str]:
    """The parts of the document's titles that their page part leaves out and no heading
    shows."""
    kept = {_key(part) for origin, value in cleaned if origin in DOCUMENT_TITLES
            for part in _parts(value)} | {_key(h) for h in headings}
    return {_key(part) for origin, value in raw if origin in DOCUMENT_TITLES
            for part in _parts(value) if _key(part) and _key(part) not in kept}


def _parts_shown(title: str, witnesses: list[str]) -> list[str]:
    """The headings that show a run of a title's parts ("Site - Page": "Page")."""
    keys = [_key(part) for part in _parts(title)[:MAX_PARTS]]
    shown = {_key(h): h for h in witnesses}
    runs = ("".join(keys[start:end]) for start in range(len(keys))
            for end in range(start + 1, len(keys) + 1) if end - start < len(keys))
    return [shown[run] for run in runs if run in shown]


def _not_a_title(title: str, sites: list[str]) -> bool:
    """ "Welcome", "Accueil", or the site's name alone: what a page calls itself when it does not
    say what it holds."""
    return _key(title) in GENERIC_TITLES or _is_site_or_date(title, sites)


def _decoded(title: str) -> str:
    """Titles escaped twice ("guerra&#58; la propaganda", "A &amp;amp; B") as the page meant."""
    return html.unescape(title) if "&" in title else title


def strip_site(title: str, sites: list[str]) -> str:
    """The headline without the site's name, a rubric named like the site, or a date, on
    either side of it: "Plan vélo | Région Île-de-France" → "Plan vélo"."""
    title = " ".join(title.split())
    parts = _SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    separators = _SEPARATORS.findall(title)
    start, end = 0, len(parts)
    while end - start > 1 and _is_site_or_date(parts[end - 1], sites):
        end -= 1
    while end - start > 1 and _is_site_or_date(parts[start], sites):
        start += 1
    kept = parts[start]
    for index in range(start + 1, end):
        kept += separators[index - 1] + parts[index]
    return kept.strip()


def _parts(title: str) -> list[str]:
    return [part.strip() for part in _SEPARATORS.split(title)]


def _page_part(raw: str, stripped: str) -> str:
    """What a document's title names: after a leading site's name, a trail ("Site - Section -
    Page") ends on the page; else the headline without a trailing name."""
    if stripped != raw and raw.endswith(stripped) and len(_parts(stripped)) > 1:
        separators = set(_SEPARATORS.findall(raw))
        if len({s.strip() for s in separators}) == 1:
            return _parts(stripped)[-1]
    return _without_trailing_name(stripped)


def _without_trailing_name(title: str) -> str:
    """ "Headline | Anything" → "Headline"; "Headline - Name Of Site" → "Headline" when what
    follows the dash reads as a name (capitalised, a few words, no sentence punctuation):
    "Covid-19 - ce qui change" stays whole."""
    quoted = "«" in title and "»" in title  # « French quotes », no separators
    crumbs = re.split(r"\s+>\s+" if quoted else r"\s+[>»]\s+", title)
    if len(crumbs) > 1:  # a trail, "Site > Section > Page": the page is last
        return crumbs[-1].strip()
    match = None if quoted and not re.search(r"\s(?:\||--|-|–|—|::)\s", title) else \
        _TRAILING_NAME.match(title)
    if not match:
        return title
    name = match["name"].strip()
    if _expands(match["title"].strip(), name):  # "DRSP - Direction régionale de santé publique"
        return title
    if "|" in title or re.search(r"\s(?:--|::)\s", title):
        return match["title"].strip()
    if name[:1].isupper() and len(name.split()) <= 8 and not re.search(r"[:?!,;]", name):
        return match["title"].strip()
    return title


def _expands(acronym: str, name: str) -> bool:
    """Whether the name spells the acronym out: its letters are the initials of the name's
    words, in order, some words skipped ("DRSP", "Direction régionale de santé publique")."""
    if not re.fullmatch(r"[A-ZÀ-Ý]{2,8}", acronym):
        return False
    initials = iter(_key("".join(word[:1] for word in re.findall(r"\w+", name))))
    return all(letter in initials for letter in _key(acronym))


def _is_site_or_date(part: str, sites: list[str]) -> bool:
    key = _key(part)
    if not key or key in GENERIC_TITLES:
        return True
    if re.fullmatch(r"[\d\s./-]+", part.strip()) or (len(part) < 40 and parse_date(part)):
        return True
    for site in sites:
        if key == site or (len(key) >= 2 and len(site) >= 2 and (
                key in site or site in key and len(key) < 2 * len(site))):
            return True
        similar = SequenceMatcher(None, key, site)
        if similar.real_quick_ratio() >= 0.8 and similar.ratio() >= 0.8:  # bound first: cheap
            return True
        if _abbreviates(site, key, part):
            return True
    return False


def _abbreviates(site: str, key: str, part: str) -> bool:
    """A host name short for the part: its initials ("cvh", "Credit Valley Hospital"), or its
    letters in order from the first ("explace", "Exhibition Place"; "villestoneham", "Ville de
    Stoneham-et-Tewkesbury")."""
    initials = _key("".join(word[:1] for word in re.findall(r"\w+", part)))
    if len(site) >= 3 and initials == site:
        return True
    if len(site) < 5 or key[:1] != site[:1] or len(key) > 3 * len(site):
        return False
    letters = iter(key)
    return all(letter in letters for letter in site)


def _site_names(found: Candidates, url: str) -> list[str]:
    """The site's name as its metadata gives it, and as its host name spells it."""
    names = [_key(str(value)) for _, value in found.get("site_name", ())]
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        host = ""
    labels = [label for label in host.split(".") if label not in ("www", "m", "fr", "com",
                                                                    "org", "net", "gouv")]
    names += [_key(label) for label in labels[:2]]
    return [name for name in dict.fromkeys(names) if name]


def reset_caches() -> None:
    """Forget the keys of texts seen so far (a bench times every page as first seen)."""
    _key.cache_clear()


@lru_cache(maxsize=4096)
def _key(text: str) -> str:
    """Letters and digits only, lowercase, accents off: how two spellings are compared."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKD", text.casefold()))


_NOT_ALNUM = re.compile(r"[\W_]+")  # accents, once decomposed, are not word characters


def _same(one: str, other: str) -> bool:
    return _key(one) == _key(other)


def _overlaps(title: str, heading: str) -> bool:
    """One begins with the other, and they share most of their letters: the same headline,
    one with a rubric, a site's name or "(Published 2009)" after it, or cut short."""
    key, other = _key(title), _key(heading)
    shorter, longer = sorted((key, other), key=len)
    return len(shorter) >= 8 and longer.startswith(shorter.rstrip("…")) and (
        len(shorter) >= 0.6 * len(longer) or bool(_SEPARATORS.search(title)))


def title_from_url(url: str) -> str | None:
    """ "…/actualites/plan-velo-regional.html" → "Plan velo regional"."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    slug = next((p for p in reversed(path.split("/")) if p), "")
    slug = re.sub(r"\.\w{2,5}$", "", unquote(slug))
    words = " ".join(w for w in re.split(r"[-_+\s]+", slug) if w)
    return words[:1].upper() + words[1:] if words else None


# --- dates and the lead ------------------------------------------------------------------------


_NUMERIC_DAY_MONTH = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{4}\b")


def _date(values: list[tuple[str, Any]]) -> Choice | None:
    unread: list[str] = []
    for index, (origin, value) in enumerate(values):
        parsed = parse_date(str(value))
        if parsed is not None:
            why = "the most reliable readable date"
            swapped = _read_month_first(str(value), parsed, values[index + 1:])
            if swapped:
                return swapped
            return Choice(value, origin, why + (f" ({', '.join(unread)} unreadable)"
                                                if unread else ""))
        unread.append(origin)
    return None


def _read_month_first(value: str, parsed: Any, others: list[tuple[str, Any]]) -> Choice | None:
    """ "4/6/2016" is read day first, as in French; when a less reliable layer states the
    other reading unambiguously ("April 06, 2016", "2016-04-06"), the page writes month first."""
    match = _NUMERIC_DAY_MONTH.match(value)
    if not match or int(match[1]) > 12 or match[1].lstrip("0") == match[2].lstrip("0"):
        return None
    for origin, other in others:
        stated = parse_date(str(other))
        if stated is not None and not _NUMERIC_DAY_MONTH.match(str(other)) and \
                (stated.year, stated.month, stated.day) == (parsed.year, parsed.day, parsed.month):
            return Choice(other, origin, f"{origin} states the day that the numeric date "
                                         f"{value!r} means, month first")
    return None


def _summary(values: list[tuple[str, Any]]) -> Choice:
    """The description the most reliable layers agree on: a JSON-LD description that says
    something else than OpenGraph and <meta> loses to them."""
    votes: dict[str, float] = {}
    spelled: dict[str, tuple[str, str]] = {}
    for rank, (origin, value) in enumerate(values):
        key = _key(str(value))
        if len(key) < 10:  # "…", a site's name: no lead
            continue
        votes[key] = votes.get(key, 0) + SUMMARY_WEIGHTS.get(origin, 1) - rank / 100
        spelled.setdefault(key, (origin, value))
    if not votes:
        return Choice(values[0][1], values[0][0], "the only description")
    best = max(votes, key=lambda k: votes[k])
    origin, value = spelled[best]
    agreeing = sum(1 for o, v in values if _key(str(v)) == best)
    return Choice(value, origin, f"{agreeing} layer(s) agree" if agreeing > 1
                  else "the most reliable layer")
