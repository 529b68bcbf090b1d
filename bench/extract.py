"""Extraction quality bench: the service's generic path, trafilatura alone and page metadata
alone, scored field by field on the development corpus (`bench/corpus/`), with their speed.

    PYTHONPATH=$PWD python bench/extract.py [--lang fr] [--limit N] [--only ID]
                                            [--failures FIELD] [--extractor NAME] [--rounds N]

About three minutes for the whole corpus and the three extractors at the default three rounds;
`--rounds 1` for a quick look (the scores do not change, only the speeds' noise).

Extractors
- `service`: `syndication.extract.extract_page(html, url, source)` for an `html` source with no
  selectors (what a page no one configured goes through), then `normalise`, as items are stored.
  A page the service drops (no title: `normalise` raises) fails every field.
- `trafilatura`: `trafilatura.bare_extraction(html, url=url, with_metadata=True)`, defaults.
- `metadata`: the service's metadata layer alone (`syndication.extract.metadata.extract`, JSON-LD,
  OpenGraph, <meta>, conventions), its dates read by the service's `parse_date`. No body.

Ground truth (`bench/corpus/truth.jsonl`, one page a line; see bench/corpus/README.md): `title`
and `image` are lists of acceptable values; `published`/`updated` are calendar days
(YYYY-MM-DD) as the page means them; `lead` a string; `body` 3-5 sentences the body must contain;
`boilerplate` 2-3 strings it must not. A field whose truth is empty (null, []) is not scored for
that page; the table's last line says on how many pages each field was scored (for body and
boilerplate: on how many sentences and strings). trafilatura gives no update date: "–".

Matching rules. Text is normalised first: Unicode NFKC, soft hyphens removed, lower case, then
only its words (\\w+) joined by single spaces, so punctuation, quotes, dashes and whitespace never
decide.
- title: equal to one accepted title, or one contains the other and the shorter is at least 90 %
  of the longer (a stray "…" or a very short rubric passes; "Title | Site Name" does not).
- date (published), updated: the same calendar day. The service's date is its publication
  date, else the update date the page states (what its surfaces show, "Mis à jour le …"). A
  value with a time and an offset is read in its own offset (2017-06-11T01:00+02:00 is the
  11th); a UTC value whose instant is the page's own declared instant (`published_raw`) within
  two minutes also passes.
- lead: similarity ratio (difflib) >= 0.8, or the value truncated with an ellipsis is a prefix
  of the expected lead and keeps 80 % of it, or (the reference being cut short with an ellipsis)
  the value opens with it and is at most three times as long.
- image: the same URL once normalised: scheme dropped (http = https), host lower-cased, query
  string and fragment dropped (resizing parameters), percent-encoding unified.
- body sentences found: each expected sentence is a normalised substring of the body's text; the
  score is the share of sentences found, over all scored pages.
- boilerplate absent: each string is not a normalised substring of the body's text (an empty
  body passes nothing: it is scored as failing, else an extractor returning nothing would win).

Speed: pages per second per core is pages / CPU seconds of this process spent in the extractor
(`time.process_time`), so other load on the machine matters little. It is the speed of a
long-running process, as the service is: every extractor first reads every page once, untimed,
so what a process does once and never again (trafilatura compiles each language's date
patterns as it first meets the language, justext builds its stop-word set) is not counted as a
page's cost. Then every run starts with cold caches, as for a page first seen: the date, text and
URL caches of trafilatura, htmldate, justext and courlan, and the service's own, are emptied
before it (untimed). The extractors take turns page by page, the order rotating, so a change in
the machine's speed falls on all of them alike. `--rounds N` (default 3) times every page N
times per extractor and keeps each page's least CPU time: noise only ever adds time. The line
under each table is the service's speed over trafilatura's, the ratio the target is stated in.
"""

from __future__ import annotations

import argparse
import difflib
import gc
import gzip
import json
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import justext.core
import lxml.html
import trafilatura
import trafilatura.meta

from syndication.dates import zone_of_language
from syndication.extract import extract_page
from syndication.extract import metadata as metadata_layer
from syndication.extract.choose import reset_caches as reset_service_caches
from syndication.extract.tree import parse
from syndication.model import Source
from syndication.normalise import normalise, parse_date

CORPUS = Path(__file__).parent / "corpus"
FIELDS = ("title", "date", "updated", "lead", "image", "body", "boilerplate")
NOW = datetime(2030, 1, 1, tzinfo=UTC)  # when the bench "saw" the pages: after any of them


@dataclass
class Got:
    """What one extractor found on one page, in comparable form."""

    title: str | None = None
    published: Any = None  # datetime, date or ISO string
    updated: Any = None
    lead: str | None = None
    image: str | None = None
    body_html: str | None = None
    body_text: str | None = None
    error: str | None = None


# --- the extractors ------------------------------------------------------------------------


def run_service(html: str, url: str) -> Got:
    source = Source(id="bench", url=url, publisher="bench")
    record = extract_page(html, url, source).record
    assert record is not None
    try:
        item = normalise(record, source, NOW)
    except ValueError as error:  # no title: the page is dropped
        return Got(error=str(error))
    # A page that states only when it was updated is dated by that day ("Mis à jour le …" on
    # every surface), as its reference is; the item's published stays empty.
    updated = parse_date(record.updated, zone_of_language(record.lang))
    return Got(title=item.title, published=item.published or updated,
               updated=updated, lead=item.summary,
               image=item.image.url if item.image else None, body_html=item.content_html)


def run_trafilatura(html: str, url: str) -> Got:
    document = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    if document is None:
        return Got(error="nothing extracted")
    return Got(title=document.title, published=document.date, lead=document.description,
               image=document.image, body_text=document.text)


def run_metadata(html: str, url: str) -> Got:
    found = metadata_layer.extract(parse(html))
    return Got(title=found.get("title"), published=parse_date(found.get("published")),
               updated=parse_date(found.get("updated")), lead=found.get("summary"),
               image=found.get("image_url"))


EXTRACTORS: dict[str, Callable[[str, str], Got]] = {
    "service": run_service, "trafilatura": run_trafilatura, "metadata": run_metadata}
NO_BODY = {"metadata"}
NO_UPDATED = {"trafilatura"}  # bare_extraction gives one date, the publication's


# --- matching ------------------------------------------------------------------------------


def norm(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", text or "").replace("\xad", "").lower()
    return " ".join(re.findall(r"\w+", text))


def title_ok(got: str | None, accepted: list[str]) -> bool:
    value = norm(got)
    for expected in map(norm, accepted):
        if not value or not expected:
            continue
        if value == expected:
            return True
        shorter, longer = sorted((value, expected), key=len)
        if shorter in longer and len(shorter) >= 0.9 * len(longer):
            return True
    return False


def as_day(value: Any) -> date | None:
    """The calendar day a value states, in its own offset."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = re.match(r"\s*(\d{4})-(\d{2})-(\d{2})", str(value))
    if match:
        try:
            return date(*map(int, match.groups()))
        except ValueError:
            return None
    parsed = parse_date(str(value))
    return parsed.date() if parsed else None


def as_instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else None
    return None


def date_ok(got: Any, expected: str, expected_raw: str | None) -> bool:
    if as_day(got) == date.fromisoformat(expected):
        return True
    got_instant, raw_instant = as_instant(got), as_instant(expected_raw)
    return bool(got_instant and raw_instant and
                abs(got_instant - raw_instant) <= timedelta(minutes=2))


def lead_ok(got: str | None, expected: str) -> bool:
    value, wanted = norm(got), norm(expected)
    if not value or not wanted:
        return False
    if difflib.SequenceMatcher(None, value, wanted, autojunk=False).ratio() >= 0.8:
        return True
    truncated = (got or "").rstrip().endswith(("…", "..."))
    if truncated and wanted.startswith(value) and len(value) >= 0.8 * len(wanted):
        return True
    # a reference cut short by its origin, and the standfirst the page shows whole
    cut = expected.rstrip().endswith(("…", "..."))
    return cut and value.startswith(wanted) and len(value) <= 3 * len(wanted)


def url_key(url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url.strip())
    return f"{parts.netloc.lower()}{unquote(parts.path)}"


def image_ok(got: str | None, accepted: list[str]) -> bool:
    return bool(got) and url_key(got) in {url_key(u) for u in accepted}


BLOCKS = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "td",
          "th", "table", "blockquote", "figure", "figcaption", "section", "article", "dd", "dt",
          "pre", "header", "footer", "aside", "main"}


def html_text(markup: str | None) -> str:
    """The text of an HTML fragment, blocks apart, inline elements joined as a reader sees them."""
    if not markup or not markup.strip():
        return ""
    root = lxml.html.fragment_fromstring(markup, create_parent="div")
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag in BLOCKS:
            element.tail = "\n" + (element.tail or "")
    return root.text_content()


# --- scoring -------------------------------------------------------------------------------


@dataclass
class Score:
    passed: float = 0.0
    total: int = 0
    failures: list[tuple[str, Any, Any]] = field(default_factory=list)

    def add(self, ok: float, weight: int, page: str, expected: Any, got: Any) -> None:
        self.passed += ok
        self.total += weight
        if ok < weight:
            self.failures.append((page, expected, got))

    def percent(self) -> str:
        return f"{100 * self.passed / self.total:.1f}" if self.total else "–"


def score_page(page: dict[str, Any], got: Got, scores: dict[str, Score], body: bool,
               updated: bool = True) -> None:
    pid = page["id"]
    if page.get("title"):
        scores["title"].add(title_ok(got.title, page["title"]), 1, pid, page["title"][0],
                            got.title or got.error)
    if page.get("published"):
        scores["date"].add(date_ok(got.published, page["published"], page.get("published_raw")),
                           1, pid, page["published"], got.published)
    if page.get("updated") and updated:
        scores["updated"].add(date_ok(got.updated, page["updated"], page.get("updated_raw")),
                              1, pid, page["updated"], got.updated)
    if page.get("lead"):
        scores["lead"].add(lead_ok(got.lead, page["lead"]), 1, pid, page["lead"], got.lead)
    if page.get("image"):
        scores["image"].add(image_ok(got.image, page["image"]), 1, pid, page["image"][0],
                            got.image)
    if not body:
        return
    text = norm(got.body_text if got.body_text is not None else html_text(got.body_html))
    if page.get("body"):
        missing = [s for s in page["body"] if norm(s) not in text]
        scores["body"].add(len(page["body"]) - len(missing), len(page["body"]), pid, missing,
                           text[:300] if missing else None)
    if page.get("boilerplate"):
        present = [s for s in page["boilerplate"] if not text or norm(s) in text]
        scores["boilerplate"].add(len(page["boilerplate"]) - len(present),
                                  len(page["boilerplate"]), pid, present,
                                  "(empty body)" if not text else "present")


def load(lang: str | None, limit: int | None, only: str | None) -> list[dict[str, Any]]:
    pages = [json.loads(line) for line in (CORPUS / "truth.jsonl").read_text().splitlines()
             if line.strip()]
    if only:
        pages = [p for p in pages if p["id"] == only]
    if lang:
        pages = [p for p in pages if p.get("lang") == lang]
    return pages[:limit] if limit else pages


def read_html(page: dict[str, Any]) -> str:
    with gzip.open(CORPUS / page["file"], "rt", encoding="utf-8") as handle:
        return handle.read()


Run = dict[str, tuple[Got, float]]  # page id → (what an extractor found, CPU seconds)


def bench(pages: list[dict[str, Any]], names: list[str], rounds: int) -> dict[str, Run]:
    """Each extractor on each page, `rounds` times, after a first reading of every page that
    is not timed. The extractors take turns page by page; each run starts from cold caches.
    A page's time is its least over the rounds; what it found, its first round's."""
    htmls = {p["id"]: read_html(p) for p in pages}
    runs: dict[str, Run] = {name: {} for name in names}
    # What a long-running process does once and then never again (languages' date patterns
    # compiled, stop-word sets built) is not what a page costs it: done here, untimed.
    for page in pages:
        for name in names:
            runs[name][page["id"]] = (_extract(EXTRACTORS[name], htmls[page["id"]],
                                               page["url"]), float("inf"))
    gc.freeze()  # what exists now is never garbage: each run's collection skips it
    turn = 0
    for _ in range(rounds):
        for page in pages:
            turn += 1
            for name in names[turn % len(names):] + names[:turn % len(names)]:
                _cold_caches()
                started = time.process_time()
                _extract(EXTRACTORS[name], htmls[page["id"]], page["url"])
                spent = time.process_time() - started
                got, least = runs[name][page["id"]]
                runs[name][page["id"]] = (got, min(least, spent))
    return runs


def _cold_caches() -> None:
    """Empty the caches a page's text fills, so no extractor gains from another's (or its
    own earlier) reading of the same page."""
    trafilatura.meta.reset_caches()  # trafilatura's, htmldate's, justext's, courlan's; gc
    reset_service_caches()


# What a long-running process computes once for all pages stays: justext's stop-word set
# (90 ms to build), which trafilatura's reset empties, gets a cache of its own that it leaves.
justext.core.define_stoplist = lru_cache(maxsize=128)(justext.core.define_stoplist.__wrapped__)


def _extract(extractor: Callable[[str, str], Got], html: str, url: str) -> Got:
    try:
        return extractor(html, url)
    except Exception as error:  # noqa: BLE001 - a page that raises fails every field
        return Got(error=f"{type(error).__name__}: {error}")


def scored(pages: list[dict[str, Any]], runs: dict[str, Run]) -> dict[str, tuple[
        dict[str, Score], float]]:
    """Per extractor, its scores on these pages and its pages per CPU second on them."""
    results = {}
    for name, run in runs.items():
        scores = {f: Score() for f in FIELDS}
        for page in pages:
            score_page(page, run[page["id"]][0], scores, name not in NO_BODY,
                       name not in NO_UPDATED)
        cpu = sum(run[page["id"]][1] for page in pages)
        results[name] = (scores, len(pages) / cpu if cpu else 0.0)
    return results


def table(title: str, results: dict[str, tuple[dict[str, Score], float]]) -> str:
    header = ["title", "date", "updated", "lead", "image", "body sentences found",
              "boilerplate absent", "pages/s/core"]
    lines = [f"| {title} | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]
    for name, (scores, speed) in results.items():
        cells = [scores[f].percent() for f in FIELDS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {speed:.1f} |")
    totals = [max(scores[f].total for scores, _ in results.values()) for f in FIELDS]
    lines.append("| scored on | " + " | ".join(map(str, totals)) + " | |")
    speeds = {name: speed for name, (_, speed) in results.items()}
    if speeds.get("service") and speeds.get("trafilatura"):
        lines.append(f"\nservice / trafilatura speed: "
                     f"{speeds['service'] / speeds['trafilatura']:.2f}×")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lang", help="only pages in this language (e.g. fr)")
    parser.add_argument("--limit", type=int, help="only the first N pages")
    parser.add_argument("--only", help="only the page with this id")
    parser.add_argument("--extractor", action="append", choices=list(EXTRACTORS),
                        help="run only this extractor (repeatable)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="time every page N times per extractor, keep the least time")
    parser.add_argument("--failures", choices=FIELDS,
                        help="list the pages failing this field, expected vs got")
    args = parser.parse_args(argv)
    names = args.extractor or list(EXTRACTORS)
    pages = load(args.lang, args.limit, args.only)
    if not pages:
        print("no page matches", file=sys.stderr)
        return 1
    runs = bench(pages, names, max(1, args.rounds))
    results = scored(pages, runs)
    if args.failures:
        for name, (scores, _) in results.items():
            failed = scores[args.failures].failures
            print(f"## {name}: {len(failed)} pages fail {args.failures}\n")
            for pid, expected, got in failed:
                print(f"- {pid}\n    expected: {expected!r}\n    got:      {got!r}")
            print()
        return 0
    print(table(f"{len(pages)} pages", results))
    if not args.lang and not args.only:
        french = [p for p in pages if p.get("lang") == "fr"]
        if french:
            print()
            print(table(f"{len(french)} French pages", scored(french, runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
