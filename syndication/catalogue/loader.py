"""feeds/*.toml → Catalogue. Entry point: `load_catalogue(feeds_dir)`; `parse_source` is shared
with the operator API (api.py), so that both are held to the same rules."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..model import (
    ITEM_KINDS,
    SOURCE_TYPES,
    Catalogue,
    Feed,
    ItemKind,
    Publisher,
    Selectors,
    Source,
    SourceType,
)
from .fields import (
    Locator,
    bool_,
    check_selector,
    int_,
    reject_unknown,
    selector,
    slug,
    strings,
    text,
    url,
)

_DURATION = re.compile(r"^(\d{1,9})\s*(s|m|h|d)$", re.ASCII)
MAX_EVERY = 365 * 86400  # a year: longer intervals are a typo, and overflow the scheduler
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")
# A push source fetches nothing: its publisher sends items to POST /api/items.
_PUSH_KEYS = {"id", "type", "url", "kind", "tags"}
_HTML_ONLY_KEYS = ("listing", "follow", "paginate", "max_pages")
_TYPE_KEYS = {"full_page": SourceType.FEED, "include": SourceType.SITEMAP,
              "max_urls": SourceType.SITEMAP}
_SELECTOR_KEYS = {f.name for f in fields(Selectors)}


def read_toml_text(path: Path) -> str:
    """A feeds file's text: UTF-8, as TOML requires, with or without a byte order mark (which
    some Windows editors write). Another encoding (Latin-1, Windows-1252…) is a ConfigError
    naming the line of the first byte that is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        text = error.object  # without its byte order mark, if it had one
        line_start = text.rfind(b"\n", 0, error.start) + 1
        column = len(text[line_start:error.start].decode("utf-8", "replace")) + 1
        raise ConfigError(f"not UTF-8 (byte 0x{text[error.start]:02x} at column {column}): save "
                          "the file as UTF-8, the encoding TOML requires", file=str(path),
                          line=text.count(b"\n", 0, error.start) + 1) from None


def load_catalogue(feeds_dir: str | Path, environ: Mapping[str, str] | None = None) -> Catalogue:
    """Read and validate every feeds/*.toml file; raise ConfigError naming file, line and field.

    String values may use ${VAR} or ${VAR:-default}, read from the environment, so that one file
    serves several deployments (the demo points the sample site's URL at a loopback port).
    """
    environ = os.environ if environ is None else environ
    directory = Path(feeds_dir)
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise ConfigError(f"no *.toml file in {directory}", file=str(directory))
    publishers: dict[str, Publisher] = {}
    sources: dict[str, Source] = {}
    feeds: dict[str, Feed] = {}
    feed_locations: dict[str, Locator] = {}
    for path in paths:
        locator = Locator(path, _substitute(read_toml_text(path), environ, path))
        publisher, file_sources, file_feeds = _parse_file(locator)
        publishers[publisher.id] = publisher
        for n, source in enumerate(file_sources):
            if source.id in sources:
                raise locator.error(f"source id '{source.id}' is declared twice", "sources",
                                    n, "id")
            sources[source.id] = source
        for n, feed in enumerate(file_feeds):
            if feed.id in feeds:
                raise locator.error(f"feed id '{feed.id}' is declared twice", "feeds", n, "id")
            feeds[feed.id] = feed
            feed_locations[feed.id] = locator
    for feed in feeds.values():  # feeds may draw on sources of other files
        for position, source_id in enumerate(feed.sources):
            if source_id not in sources:
                index = [f.id for f in feeds.values() if feed_locations[f.id] is
                         feed_locations[feed.id]].index(feed.id)
                raise feed_locations[feed.id].error(
                    f"feed '{feed.id}' names unknown source '{source_id}' "
                    f"(sources[{position}])", "feeds", index, "sources")
    return Catalogue(publishers=publishers, sources=sources, feeds=feeds)


def _substitute(text: str, environ: Mapping[str, str], path: Path) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is None:
            line = text.count("\n", 0, match.start()) + 1
            raise ConfigError(f"environment variable {name} is not set", file=str(path), line=line)
        return default

    return _VARIABLE.sub(replace, text)


def _parse_file(locator: Locator) -> tuple[Publisher, list[Source], list[Feed]]:
    try:
        data = tomllib.loads(locator.text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        raise ConfigError(f"invalid TOML: {error}", file=str(locator.path),
                          line=int(match.group(1)) if match else None) from None
    reject_unknown(locator, data, {"publisher", "selectors", "sources", "feeds"}, None, None)
    table = data.get("publisher")
    if not isinstance(table, dict):
        raise locator.error("a [publisher] table with name and url is required", None, None, None)
    reject_unknown(locator, table, {"name", "url", "logo"}, "publisher", None)
    publisher = Publisher(
        id=locator.path.stem,
        name=text(locator, table, "name", "publisher", None, required=True),
        url=url(locator, table, "url", "publisher", None),
        logo=url(locator, table, "logo", "publisher", None) if "logo" in table else None,
    )
    default_selectors = _selector_table(locator, data, None, None)
    sources = [parse_source(locator, entry, n, publisher, default_selectors)
               for n, entry in enumerate(_tables(locator, data, "sources"))]
    feeds = [_parse_feed(locator, entry, n, publisher)
             for n, entry in enumerate(_tables(locator, data, "feeds"))]
    return publisher, sources, feeds


def _selector_table(locator: Locator, table: dict[str, Any], name: str | None,
                    index: int | None) -> dict[str, Any]:
    """A [selectors] table: at the top of a file, defaults for its sources; in a source, that
    source's own (which win, key by key)."""
    selectors = table.get("selectors", {})
    subtable = "selectors" if name else None
    if not isinstance(selectors, dict):
        raise locator.error("selectors must be a table", name, index, "selectors")
    reject_unknown(locator, selectors, _SELECTOR_KEYS, name or "selectors", index, subtable)
    values: dict[str, Any] = {}
    for key, value in selectors.items():
        if key == "exclude":
            value = tuple(value) if isinstance(value, list) else (value,)
            for selector in value:
                check_selector(locator, selector, name or "selectors", index, key, subtable)
        else:
            check_selector(locator, value, name or "selectors", index, key, subtable)
        values[key] = value
    return values


def _tables(locator: Locator, data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    entries = data.get(name, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise locator.error(f"'{name}' must be an array of tables ([[{name}]])", None, None, name)
    return entries


SOURCE_KEYS = {"id", "type", "url", "kind", "every", "listing", "follow", "paginate",
                "max_pages", "max_items", "tags", "selectors", "full_page", "include", "max_urls"}
_FEED_KEYS = {"id", "title", "description", "sources", "kinds", "tags", "limit"}


def parse_source(locator: Locator, table: dict[str, Any], n: int, publisher: Publisher,
                  default_selectors: dict[str, Any]) -> Source:
    reject_unknown(locator, table, SOURCE_KEYS, "sources", n)
    declared_type = text(locator, table, "type", "sources", n) or SourceType.HTML
    if declared_type not in SOURCE_TYPES:
        raise locator.error(f"type must be one of {', '.join(SOURCE_TYPES)}, not "
                            f"'{declared_type}'", "sources", n, "type")
    source_type = SourceType(declared_type)
    if source_type == SourceType.PUSH:
        for key in table:
            if key not in _PUSH_KEYS:
                raise locator.error(f"'{key}' does not apply to a push source (its publisher "
                                    f"sends items to POST /api/items)", "sources", n, key)
    for key in _HTML_ONLY_KEYS:
        if key in table and source_type != SourceType.HTML:
            raise locator.error(f"'{key}' applies to html sources only, not to a "
                                f"{source_type} source", "sources", n, key)
    for key, applies_to in _TYPE_KEYS.items():
        if key in table and source_type != applies_to:
            raise locator.error(f"'{key}' applies to {applies_to} sources only, not to a "
                                f"{source_type} source", "sources", n, key)
    include = strings(locator, table, "include", "sources", n)
    for pattern in include:
        if not pattern.startswith("/"):
            raise locator.error(f"include patterns are URL paths starting with '/' like "
                                f"'/actualites/*', not {pattern!r}", "sources", n, "include")
    declared_kind = text(locator, table, "kind", "sources", n) or ItemKind.PAGE
    if declared_kind not in ITEM_KINDS:
        raise locator.error(f"kind must be one of {', '.join(ITEM_KINDS)}, not "
                            f"'{declared_kind}'", "sources", n, "kind")
    every = text(locator, table, "every", "sources", n) or "30m"
    match = _DURATION.match(every)
    if not match or not 10 <= int(match.group(1)) * _DURATION_UNITS[match.group(2)] <= MAX_EVERY:
        raise locator.error(f"every must be a duration of at least 10s and at most 365d like "
                            f"'30m', '2h', not '{every}'", "sources", n, "every")
    return Source(
        id=slug(locator, table, "sources", n),
        # A push source's URL only says where its items come from: the publisher's site.
        url=(publisher.url if source_type == SourceType.PUSH and "url" not in table
             else url(locator, table, "url", "sources", n)),
        publisher=publisher.id,
        type=source_type,
        kind=ItemKind(declared_kind),
        every_seconds=int(match.group(1)) * _DURATION_UNITS[match.group(2)],
        listing=bool_(locator, table, "listing", "sources", n),
        follow=selector(locator, table, "follow", n),
        paginate=selector(locator, table, "paginate", n),
        max_pages=int_(locator, table, "max_pages", "sources", n, 1, 1, 50),
        max_items=int_(locator, table, "max_items", "sources", n, 50, 1, 500),
        tags=strings(locator, table, "tags", "sources", n),
        selectors=Selectors(**{**default_selectors,
                               **_selector_table(locator, table, "sources", n)}),
        full_page=bool_(locator, table, "full_page", "sources", n),
        include=include,
        max_urls=int_(locator, table, "max_urls", "sources", n, 50_000, 1, 50_000),
    )


def _parse_feed(locator: Locator, table: dict[str, Any], n: int, publisher: Publisher) -> Feed:
    reject_unknown(locator, table, _FEED_KEYS, "feeds", n)
    sources = strings(locator, table, "sources", "feeds", n)
    if not sources:
        raise locator.error("a feed needs at least one source", "feeds", n, "sources")
    declared_kinds = strings(locator, table, "kinds", "feeds", n)
    for kind in declared_kinds:
        if kind not in ITEM_KINDS:
            raise locator.error(f"unknown kind '{kind}'", "feeds", n, "kinds")
    return Feed(
        id=slug(locator, table, "feeds", n),
        title=text(locator, table, "title", "feeds", n, required=True),
        description=text(locator, table, "description", "feeds", n) or "",
        publisher=publisher.id,
        sources=sources,
        kinds=tuple(map(ItemKind, declared_kinds)),
        tags=strings(locator, table, "tags", "feeds", n),
        limit=int_(locator, table, "limit", "feeds", n, 50, 1, 500),
    )


