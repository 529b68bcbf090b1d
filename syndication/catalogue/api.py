"""Sources defined through the operator API (JSON). Entry points: `parse_api_source` (the first
problem raises), `api_source_problems` (every field that has one, for a 422 that lists them)."""

from __future__ import annotations

import copy
from typing import Any

from ..errors import ConfigError
from ..model import Catalogue, Source
from .fields import FieldLocator, reject_unknown, strings, text
from .loader import SOURCE_KEYS, parse_source

API_SOURCE_KEYS = SOURCE_KEYS | {"publisher", "feeds"}


def parse_api_source(data: Any, catalogue: Catalogue) -> tuple[Source, tuple[str, ...]]:
    """A source defined through the operator API: the fields of a [[sources]] table in
    feeds/*.toml, checked by the same rules, plus `publisher` (a declared publisher's id) and
    `feeds` (ids of declared feeds that it joins). Returns the source and its feeds; raises
    ConfigError naming the field."""
    locator = FieldLocator()
    if not isinstance(data, dict):
        raise ConfigError("a source is a JSON object")
    reject_unknown(locator, data, API_SOURCE_KEYS, None, None)
    publisher_id = text(locator, data, "publisher", "sources", 0, required=True)
    publisher = catalogue.publishers.get(publisher_id)
    if publisher is None:
        raise locator.error(f"unknown publisher '{publisher_id}' (declared: "
                            f"{', '.join(sorted(catalogue.publishers))})", None, None, "publisher")
    feeds = strings(locator, data, "feeds", "sources", 0)
    for feed_id in feeds:
        if feed_id not in catalogue.feeds:
            raise locator.error(f"unknown feed '{feed_id}' (declared: "
                                f"{', '.join(sorted(catalogue.feeds))})", None, None, "feeds")
    table = {key: value for key, value in data.items() if key not in ("publisher", "feeds")}
    return parse_source(locator, table, 0, publisher, {}), feeds




# What stands in for a required field set aside, so that the fields after it are checked too.
_PLACEHOLDERS = {"id": "placeholder", "url": "http://placeholder.invalid/"}
_MAX_PROBLEMS = 50


def api_source_problems(data: Any, catalogue: Catalogue) -> list[tuple[str, str]]:
    """Every field of a definition that parse_api_source refuses, each with its message (empty
    when it is valid). The parser stops at the first problem: each field it names is set aside
    (a required one replaced by a valid stand-in) and the rest parsed again."""
    if not isinstance(data, dict):
        return [("(body)", "a source is a JSON object")]
    probe, found = copy.deepcopy(data), dict[str, str]()
    while len(found) < _MAX_PROBLEMS:
        try:
            parse_api_source(probe, catalogue)
            break
        except ConfigError as error:
            field = error.field or "(body)"
            if field in found or field == "(body)":  # setting it aside did not help: done
                found.setdefault(field, error.message)
                break
            found[field] = error.message
            _set_aside(probe, field, catalogue)
    return list(found.items())


def _set_aside(definition: dict[str, Any], field: str, catalogue: Catalogue) -> None:
    *parents, key = field.split(".")
    table: Any = definition
    for parent in parents:
        table = table.get(parent) if isinstance(table, dict) else None
    if not isinstance(table, dict):
        return
    table.pop(key, None)
    if not parents and key in _PLACEHOLDERS:
        table[key] = _PLACEHOLDERS[key]
    elif not parents and key == "publisher" and catalogue.publishers:
        table[key] = next(iter(catalogue.publishers))
