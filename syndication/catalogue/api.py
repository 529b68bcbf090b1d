"""Sources defined through the operator API (JSON). Entry point: `parse_api_source`."""

from __future__ import annotations

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


