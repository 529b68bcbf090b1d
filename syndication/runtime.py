"""The assembled pieces of a running service: settings, catalogue, stores, HTTP fetcher. Entry
point: `open_runtime()`.

Both the web app (create_app) and the scheduler and worker processes build one; tests build one
against their own Redis. Here, once per process, the store's change stream is wired to what
follows a committed change of a feed: the WebSub hub queues deliveries to the feed's
subscribers. (Each web process's render cache subscribes to the same stream itself.) No code
that writes a feed announces it by hand.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .catalogue import LiveCatalogue, load_catalogue
from .fetch import Fetcher
from .model import Catalogue
from .settings import Settings, load_settings
from .store import Connection, FeedStore, SourceRegistry, Stores, StoreUnavailable
from .store.connection import connect_redis

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    live: LiveCatalogue  # feeds/*.toml, plus the sources added through the operator API
    stores: Stores
    fetcher: Fetcher
    _catalogue_stale: bool = field(default=False, repr=False)

    @property
    def store(self) -> FeedStore:
        """Items, feeds and sources' state: what most callers need."""
        return self.stores.feeds

    @property
    def registry(self) -> SourceRegistry:
        return self.stores.sources

    @property
    def catalogue(self) -> Catalogue:
        """This process's current view: a snapshot, safe to hold for a whole request or
        refresh while another thread brings in a newer one (sync_catalogue)."""
        return self.live.current

    def sync_catalogue(self, *, force: bool = False) -> bool:
        """Take in sources added, changed or removed through the API by any process; returns
        whether the catalogue changed. Without Redis, the last view stays."""
        try:
            changed = self.live.sync(force=force)
        except StoreUnavailable as error:
            if not self._catalogue_stale:  # once per outage, not once a second
                log.warning("API sources not re-read until Redis answers: %s", error)
                self._catalogue_stale = True
            return False
        self._catalogue_stale = False
        return changed

    def close(self) -> None:
        self.fetcher.close()
        self.stores.close()


def open_runtime(settings: Settings | None = None, catalogue: Catalogue | None = None,
                 redis: Connection | None = None) -> Runtime:
    """A runtime on `settings` (default: the environment's). `redis`: a client to use instead of
    SYNDICATION_REDIS_URL or the embedded server (tests)."""
    settings = settings or load_settings()
    catalogue = catalogue or load_catalogue(settings.feeds_dir)
    embedded = None
    if redis is None:
        redis, embedded = connect_redis(settings.redis_url, settings.data_dir)
    stores = Stores(redis, settings.redis_prefix, settings.retention, embedded)
    runtime = Runtime(
        settings=settings,
        live=LiveCatalogue(catalogue, stores.sources),
        stores=stores,
        fetcher=Fetcher.from_settings(settings, pacing=(
            # Workers on several machines share each host's pacing through Redis.
            stores.pacing(turn_seconds=settings.lease_seconds)
            if settings.refresh_mode == "rq" else None)),
    )
    _publish_changes(runtime)
    runtime.sync_catalogue(force=True)
    return runtime


def _publish_changes(runtime: Runtime) -> None:
    """The one subscription of the hub to the store's change stream, in this process: every
    commit here (a refresh, a push, a withdrawal, an operator's change of sources) queues the
    deliveries to the changed feed's subscribers."""
    from .websub import announce_changes  # websub needs a Runtime's type, not this module

    def announce(feed_id: str | None) -> None:
        if feed_id is not None:
            announce_changes(runtime, [feed_id])

    runtime.store.add_listener(announce)
