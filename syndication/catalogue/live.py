"""The catalogue a process works with: what feeds/*.toml declare, plus the sources operators
added through the API (kept in Redis by store/sources.py, so that every process sees them and a
restart keeps them).

Files win: an API source cannot take the id of a declared one, and it joins declared feeds
only. A stored definition that no longer fits the files (its publisher or feed was removed from
them) is left out with a warning instead of stopping the service.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import Any

from ..errors import ConfigError
from ..model import Catalogue, Source
from ..store.sources import SourceRegistry
from .api import parse_api_source

log = logging.getLogger(__name__)

CHECK_SECONDS = 1.0  # how stale a process's view of the API sources may be


def merge(declared: Catalogue, definitions: dict[str, dict[str, Any]]) -> Catalogue:
    sources: dict[str, Source] = dict(declared.sources)
    joins: dict[str, list[str]] = {}
    for source_id, definition in sorted(definitions.items()):
        try:
            source, feed_ids = parse_api_source(definition, declared)
        except ConfigError as error:
            log.warning("API source %s left out: %s", source_id, error)
            continue
        if source.id in declared.sources:
            log.warning("API source %s left out: feeds/*.toml now declares that id", source_id)
            continue
        sources[source.id] = source
        for feed_id in feed_ids:
            joins.setdefault(feed_id, []).append(source.id)
    feeds = {feed_id: replace(feed, sources=feed.sources + tuple(joins.get(feed_id, ())))
             for feed_id, feed in declared.feeds.items()}
    return Catalogue(publishers=declared.publishers, sources=sources, feeds=feeds)


class LiveCatalogue:
    """The merged catalogue, rebuilt when the API sources' version in Redis moves; checked at
    most every CHECK_SECONDS, so that serving a feed costs no extra round trip most of the
    time."""

    def __init__(self, declared: Catalogue, registry: SourceRegistry):
        self.declared = declared
        self.registry = registry
        self.current = declared
        self._version = 0
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def sync(self, *, force: bool = False) -> bool:
        """Bring `current` up to date; returns whether it changed. Raises RedisError."""
        now = time.monotonic()
        if not force and now - self._checked < CHECK_SECONDS:
            return False
        # One thread asks Redis; the others go on with the current view rather than queue
        # behind it (a frozen Redis would hold them all).
        if not self._lock.acquire(blocking=force):
            return False
        try:
            self._checked = now
            if self.registry.version() == self._version and not force:
                return False
            version, definitions = self.registry.definitions()
            merged = merge(self.declared, definitions)
            changed = merged != self.current
            self.current, self._version = merged, version
            return changed
        finally:
            self._lock.release()
