"""Operators' changes at run time: sources added, replaced and removed (kept in Redis beside
those of feeds/*.toml), and refreshes asked for. Entry points: `check_source`, `save_source`,
`remove_source`, `ask_refresh`; the operator API (web/admin.py) and the CLI share them.

A change is written, this process's catalogue and the feeds the source joined or left are brought
up to date at once; other processes follow within seconds (catalogue.live.CHECK_SECONDS), and the
scheduler takes in the asked-for refresh. Feeds that change reach their subscribers through the
store's change stream, like every other change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from . import openapi
from .catalogue import api_source_problems, parse_api_source
from .errors import Conflict, InvalidInput
from .fetch.addresses import URLRefused, check_url, parse_networks
from .model import Catalogue, Source, SourceType
from .runtime import Runtime
from .store import LeaseBusy

log = logging.getLogger(__name__)

LEASE_WAIT_SECONDS = 10  # a write waits this long for a refresh or a push of the same source


def check_source(runtime: Runtime, definition: Any,
                 schema: str = "NewSource") -> tuple[Source, tuple[str, ...]]:
    """The source a definition describes, checked like a feeds/*.toml one, then against the
    OpenAPI document's `schema` (NewSource; SourceDefinition for a replacement, whose id is the
    URL's), which states the API's rules (a few stricter than a file's: URLs as pushed items
    have them, `every` up to 365 days), and its URL like any URL that comes from outside;
    InvalidInput naming the field otherwise."""
    # Every field with a problem, in one answer: the parser's (one per field), then the
    # schema's for the fields the parser let through.
    problems = api_source_problems(definition, runtime.live.declared)
    problems += [problem for error in openapi.validator(schema).iter_errors(definition)
                 for problem in openapi.problems(error)]
    if problems and isinstance(definition, dict) and definition.get("type") != SourceType.PUSH \
            and "url" not in dict(problems):
        try:
            _check_fetch_url(runtime, definition["url"])
        except InvalidInput as refused:
            problems += refused.problems
    if problems:
        raise InvalidInput(sorted(dict(reversed(problems)).items()))
    source, feeds = parse_api_source(definition, runtime.live.declared)
    if source.type != SourceType.PUSH:
        _check_fetch_url(runtime, source.url)
    return source, feeds


def _check_fetch_url(runtime: Runtime, url: str) -> None:
    settings = runtime.settings
    domains = [d.strip().lower().strip(".") for d in settings.api_source_domains.split(",")
               if d.strip()]
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not domains:
        raise InvalidInput([("url", "no domain is open to sources added through the API: the "
                                    "operator sets SYNDICATION_API_SOURCE_DOMAINS")])
    if not any(host == domain or host.endswith("." + domain) for domain in domains):
        raise InvalidInput([("url", f"host '{host}' is not on a domain open to sources added "
                                    f"through the API ({', '.join(domains)})")])
    try:
        check_url(url, parse_networks(settings.fetch_allowed_networks, "fetch_allowed_networks"))
    except URLRefused as error:
        raise InvalidInput([("url", f"{url} {error}")]) from None


def save_source(runtime: Runtime, source_id: str, definition: dict[str, Any],
                now: datetime) -> list[str]:
    """Add or replace a source (checked with check_source); a fetched one is refreshed within
    seconds. Returns the ids of the feeds that changed."""
    before = runtime.catalogue
    runtime.registry.save(source_id, definition)
    runtime.sync_catalogue(force=True)
    if runtime.catalogue.sources[source_id].type != SourceType.PUSH:
        runtime.registry.request_refresh(source_id, now)
    log.info("source %s saved through the API", source_id)
    return _rebuild_feeds(runtime, source_id, before, now)


def remove_source(runtime: Runtime, source_id: str, now: datetime) -> list[str]:
    """Remove a source added through the API, with everything stored for it. Returns the ids of
    the feeds that changed; Conflict if a refresh or push holds the source too long."""
    before = runtime.catalogue
    with source_write(runtime, source_id):  # a refresh in flight would write its items back
        runtime.registry.remove(source_id)
        runtime.sync_catalogue(force=True)
        runtime.store.forget_source(source_id)
    log.info("source %s removed through the API", source_id)
    return _rebuild_feeds(runtime, source_id, before, now)


def ask_refresh(runtime: Runtime, source: Source, now: datetime) -> None:
    """Have the scheduler refresh a fetched source within seconds, even while it backs off."""
    if source.type == SourceType.PUSH:
        raise Conflict(f"source '{source.id}' is a push source: its publisher sends its items")
    runtime.registry.request_refresh(source.id, now)


@contextmanager
def source_write(runtime: Runtime, source_id: str) -> Iterator[None]:
    """Hold a source's lease for a short write (a push, a withdrawal, a removal), waiting a
    little for a refresh or another push to end; Conflict (409) if it does not."""
    try:
        with runtime.stores.brief_source_lease(source_id, runtime.settings.lease_seconds,
                                               LEASE_WAIT_SECONDS):
            yield
    except LeaseBusy:
        raise Conflict(f"source '{source_id}' is being refreshed or pushed to; try again in a "
                       "moment") from None


def _rebuild_feeds(runtime: Runtime, source_id: str, before: Catalogue, now: datetime) -> list[str]:
    after = runtime.catalogue
    touched = {f.id for f in before.feeds_of(source_id)} | {f.id for f in after.feeds_of(source_id)}
    return [feed_id for feed_id in sorted(touched)
            if runtime.store.rebuild_feed(after.feeds[feed_id], now)]
