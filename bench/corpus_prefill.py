"""Pre-fill ground-truth candidates for a saved page, for a person to check.

Not part of the bench: a helper for growing `bench/corpus/`. It reads only what a reader of the
page can see or what the page declares, with tools independent of the extractors the bench
measures (no trafilatura, no syndication code):

- title: the visible <h1> when it agrees with a declared title (og:title, <title>, JSON-LD
  headline), else the declared title;
- dates: the raw declared values (JSON-LD datePublished/dateModified, article:published_time…,
  <time datetime>), reduced to the calendar day the value itself states;
- lead: og:description, else <meta name=description> (any case), else JSON-LD description;
- image: og:image / twitter:image / JSON-LD image (each one acceptable);
- body sentences: from JSON-LD articleBody when the page has one, else from jusText's "good"
  paragraphs outside navigation, headers, footers and asides; each must be visible page text;
- boilerplate: short texts of <footer>, <nav>, <header>, <aside> and sharing/cookie/related
  blocks that appear nowhere in the body candidates.

Usage (as a library): `candidates(html, url, lang)` returns a dict in the corpus's format.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import justext
import lxml.html

CHROME = ("//footer | //nav | //header | //aside | //*[@role='navigation' or @role='banner' or "
          "@role='contentinfo' or @role='complementary']")
CHROME_CLASSES = re.compile(r"(^|[\s_-])(footer|nav|navbar|menu|breadcrumb|cookie|share|sharing|"
                            r"social|related|newsletter|sidebar|comments?|subscribe|promo|"
                            r"header|masthead|banner|outbrain|taboola|recommend)", re.I)
SENTENCE = re.compile(r"(?<=[.!?…»\"”])\s+(?=[A-ZÀ-ÖØ-Þ«\"“0-9])")
STOPLISTS = {"fr": "French", "en": "English", "es": "Spanish", "de": "German", "it": "Italian",
             "pt": "Portuguese", "nl": "Dutch", "ru": "Russian"}


def norm(text: str) -> str:
    """The bench's normalisation: NFKC, lower case, words only (see bench/extract.py)."""
    text = unicodedata.normalize("NFKC", text).replace("\xad", "").lower()
    return " ".join(re.findall(r"\w+", text))


def clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def tree_of(html: str) -> Any:
    """lxml refuses a str that declares its encoding; the declaration says nothing once decoded."""
    return lxml.html.document_fromstring(re.sub(r"^\s*<\?xml[^>]*>", "", html))


def candidates(html: str, url: str, lang: str | None = None) -> dict[str, Any]:
    tree = tree_of(html)
    for bad in tree.xpath("//script[not(@type='application/ld+json')] | //style | //noscript"):
        bad.drop_tree()
    lang = lang or page_lang(tree) or guess_lang(tree.text_content())
    ld = json_ld(tree)
    declared = [v for v in (meta(tree, "og:title"), clean(first_text(tree, "//title")),
                            ld.get("headline")) if v]
    h1s = [clean(h.text_content()) for h in tree.xpath("//h1")]
    h1s = [h for h in h1s if 3 <= len(h) <= 300]
    title = next((h for h in h1s if any(agrees(h, d) for d in declared)), None)
    titles = [t for t in dict.fromkeys([title, *declared[:1]]) if t]
    if title is None and not declared and h1s:
        titles = h1s[:1]
    published_raw = (ld.get("datePublished") or meta(tree, "article:published_time")
                     or meta(tree, "datePublished") or meta(tree, "date")
                     or meta(tree, "pubdate") or meta(tree, "DC.date.issued")
                     or meta(tree, "parsely-pub-date") or meta(tree, "sailthru.date")
                     or time_attr(tree))
    updated_raw = (ld.get("dateModified") or meta(tree, "article:modified_time")
                   or meta(tree, "og:updated_time"))
    lead = (meta(tree, "og:description") or meta(tree, "description")
            or meta(tree, "twitter:description") or ld.get("description"))
    images = [urljoin(url, i) for i in dict.fromkeys(
        [meta(tree, "og:image"), meta(tree, "og:image:url"), meta(tree, "twitter:image"),
         meta(tree, "twitter:image:src"), ld.get("image")]) if i]
    page_text = norm(tree.text_content())
    sentences, main_text = body_sentences(html, tree, ld.get("articleBody"), lang, page_text)
    return {
        "url": url, "lang": lang,
        "title": titles,
        "published": day(published_raw), "published_raw": published_raw,
        "updated": day(updated_raw) if day(updated_raw) != day(published_raw) else None,
        "updated_raw": updated_raw,
        "lead": clean(lead) or None,
        "image": images,
        "body": sentences,
        "boilerplate": boilerplate(tree, main_text, [*titles, lead or ""]),
    }


def agrees(h1: str, declared: str) -> bool:
    """The same headline, give or take a site name or rubric around it."""
    a, b = norm(h1), norm(declared)
    shorter, longer = sorted((a, b), key=len)
    return bool(a) and shorter in longer and len(shorter) >= 0.6 * len(longer)


def page_lang(tree: Any) -> str | None:
    value = tree.get("lang") or meta(tree, "og:locale") or meta(tree, "content-language")
    return value.replace("_", "-").split("-")[0].lower() if value else None


@functools.cache
def stoplist(name: str) -> frozenset[str]:
    return frozenset(justext.get_stoplist(name))


def guess_lang(text: str) -> str | None:
    """For a page that does not say: the language whose stop words are most of its words."""
    words = norm(text).split()
    if not words:
        return None
    shares = {code: sum(w in stoplist(name) for w in words) / len(words)
              for code, name in STOPLISTS.items()}
    best = max(shares, key=lambda code: shares[code])
    return best if shares[best] > 0.2 else None


def meta(tree: Any, name: str) -> str | None:
    lowered = name.lower()
    for element in tree.xpath("//meta"):
        key = (element.get("property") or element.get("name") or element.get("itemprop") or "")
        if key.strip().lower() == lowered:
            value = clean(element.get("content"))
            if value:
                return value
    return None


def first_text(tree: Any, xpath: str) -> str | None:
    found = tree.xpath(xpath)
    return found[0].text_content() if found else None


def time_attr(tree: Any) -> str | None:
    for element in tree.xpath("//article//time[@datetime] | //time[@pubdate]"):
        return clean(element.get("datetime")) or None
    return None


def json_ld(tree: Any) -> dict[str, Any]:
    """The first article-like JSON-LD node: headline, dates, description, image, articleBody."""
    for script in tree.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        for node in nodes(data):
            kinds = node.get("@type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            if any(isinstance(k, str) and ("Article" in k or k in ("BlogPosting", "Report"))
                   for k in kinds):
                image = node.get("image")
                while isinstance(image, list) and image:
                    image = image[0]
                if isinstance(image, dict):
                    image = image.get("url") or image.get("contentUrl")
                return {"headline": text(node.get("headline")),
                        "datePublished": text(node.get("datePublished")),
                        "dateModified": text(node.get("dateModified")),
                        "description": text(node.get("description")),
                        "image": image if isinstance(image, str) else None,
                        "articleBody": text(node.get("articleBody"))}
    return {}


def nodes(data: Any) -> Any:
    if isinstance(data, list):
        for element in data:
            yield from nodes(element)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from nodes(data["@graph"])


def text(value: Any) -> str | None:
    return clean(value) if isinstance(value, str) and value.strip() else None


def day(raw: str | None) -> str | None:
    """The calendar day a declared date states, in its own offset (ISO forms only)."""
    if not raw:
        return None
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", raw.strip())
    if match:
        return "-".join(match.groups())
    try:
        return datetime.fromtimestamp(int(raw)).date().isoformat() if raw.isdigit() else None
    except (ValueError, OverflowError):
        return None


def in_chrome(element: Any) -> bool:
    for ancestor in element.iterancestors():
        if ancestor.tag in ("footer", "nav", "header", "aside"):
            return True
        marks = f"{ancestor.get('class', '')} {ancestor.get('id', '')}"
        if CHROME_CLASSES.search(marks) and ancestor.tag not in ("body", "html"):
            return True
    return False


def body_sentences(html: str, tree: Any, article_body: str | None, lang: str | None,
                   page_text: str) -> tuple[list[str], str]:
    """3-5 sentences spread over the body, and the whole main text (to keep boilerplate out)."""
    # The page is decoded already: its own charset declaration no longer applies.
    paragraphs = justext.justext(html.encode("utf-8"),
                                 stoplist(STOPLISTS.get(lang or "en", "English")),
                                 encoding="utf-8")
    good = [p.text for p in paragraphs if p.class_type in ("good", "near-good")]
    main_text = norm(" ".join([*good, article_body or ""]))
    if article_body and len(article_body) > 300:
        pool = split(article_body)
    else:
        good = [p.text for p in paragraphs if p.class_type == "good" and not p.is_heading]
        chrome = {norm(e.text_content()) for e in tree.xpath(CHROME)}
        pool = [s for p in good for s in split(p)
                if not any(norm(s) in c for c in chrome if c)]
        pool = [s for s in pool if not sentence_in_chrome(tree, s)]
    # Whole sentences only: captions and "Read more:" teasers seldom end like one.
    pool = [s for s in pool if 50 <= len(s) <= 260 and norm(s) in page_text
            and s[-1] in ".!?…\"»”)" and not s.endswith(":")]
    pool = list(dict.fromkeys(pool))
    if len(pool) <= 5:
        return pool, main_text
    step = (len(pool) - 1) / 4
    return [pool[round(i * step)] for i in range(5)], main_text


def sentence_in_chrome(tree: Any, sentence: str) -> bool:
    probe = norm(sentence)[:60]
    for element in tree.xpath("//p | //li | //div[not(div)]"):
        if probe in norm(element.text_content()):
            return in_chrome(element)
    return False


def split(paragraph: str) -> list[str]:
    return [clean(s) for s in SENTENCE.split(clean(paragraph)) if clean(s)]


def boilerplate(tree: Any, main_text: str, own: list[str]) -> list[str]:
    body = " ".join([main_text, *(norm(s) for s in own)])
    found: list[str] = []
    containers = tree.xpath("//footer | //*[@role='contentinfo'] | //nav | //aside | //header")
    containers += [e for e in tree.iter()
                   if isinstance(e.tag, str) and e.tag in ("div", "ul", "section")
                   and CHROME_CLASSES.search(f"{e.get('class', '')} {e.get('id', '')}")]
    for container in containers:
        for element in container.xpath(".//a | .//p | .//li | .//span | .//h2 | .//h3 | "
                                       ".//div[not(.//div or .//p or .//li)]"):
            value = clean(element.text_content())
            words = norm(value)
            if not (15 <= len(value) <= 90) or len(words.split()) < 3 or words in body:
                continue
            if any(words in norm(f) or norm(f) in words for f in found):
                continue
            found.append(value)
            if len(found) == 3:
                return found
    return found
