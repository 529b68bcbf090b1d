"""The extraction development corpus (bench/corpus/) is well formed: every page has its file and
every ground-truth field, in the shapes bench/extract.py reads. Scores are the bench's business."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).resolve().parent.parent / "bench" / "corpus"
PAGES: list[dict[str, Any]] = [json.loads(line) for line in
                               (CORPUS / "truth.jsonl").read_text().splitlines() if line.strip()]
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
KEYS = {"id", "file", "origin", "fixture", "checked", "url", "lang", "title", "published",
        "published_raw", "updated", "updated_raw", "lead", "image", "body", "boilerplate"}


def test_ids_and_urls_are_unique() -> None:
    assert len({p["id"] for p in PAGES}) == len(PAGES)
    assert len({p["url"] for p in PAGES}) == len(PAGES)


def test_every_origin_is_in_the_readme() -> None:
    readme = (CORPUS / "README.md").read_text()
    for origin in {p["origin"] for p in PAGES}:
        assert f"| {origin} |" in readme, origin


@pytest.mark.parametrize("page", PAGES, ids=[p["id"] for p in PAGES])
def test_page_is_well_formed(page: dict[str, Any]) -> None:
    assert set(page) >= KEYS, KEYS - set(page)
    path = CORPUS / page["file"]
    assert path.is_file() and path.name.endswith(".html.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        assert "<" in handle.read(4096)
    assert page["url"].startswith(("http://", "https://"))
    assert isinstance(page["lang"], str) and re.fullmatch(r"[a-z]{2}", page["lang"])
    assert page["title"] and all(isinstance(t, str) and t.strip() for t in page["title"])
    for name in ("published", "updated"):
        assert page[name] is None or DAY.match(page[name]), (name, page[name])
    assert page["lead"] is None or page["lead"].strip()
    assert all(u.startswith(("http://", "https://")) for u in page["image"])
    assert 3 <= len(page["body"]) <= 5
    assert all(len(s) >= 20 for s in page["body"])
    assert 1 <= len(page["boilerplate"]) <= 3
    assert all(b.strip() for b in page["boilerplate"])


def test_corpus_reaches_its_targets() -> None:
    """300 pages or more, 60 of them French (the sizes the bench is meant to be read at)."""
    assert len(PAGES) >= 300
    assert sum(p["lang"] == "fr" for p in PAGES) >= 60
