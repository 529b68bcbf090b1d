"""The in-process render cache: a hit costs no Redis round trip, a change made by another
process arrives through pub/sub, and a process that missed it catches up by itself."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from redis import ConnectionPool, Redis

from syndication.model import Feed, Source
from syndication.state import SourceStatus
from syndication.store import FeedState, FeedStore
from syndication.web.caching import Outage, RenderCache

from .clocks import ManualClock
from .test_store import make_item
from .waiting import wait_until

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
SOURCE = Source(id="dossier", url="http://sample.test/d", publisher="test")
FEED = Feed(id="all", title="Tout", publisher="test", sources=("dossier",))


class Renderer:
    """Counts renders; the bytes name the version they were rendered from."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, state: FeedState) -> bytes:
        self.calls += 1
        return f"version {state.version}".encode()


def commit(store: FeedStore, n: int) -> None:
    store.commit_refresh(SOURCE, [FEED], [make_item(n)], {}, SourceStatus(state="ok"), NOW)


def commands_processed(redis: Redis) -> int:
    return int(redis.info("stats")["total_commands_processed"])


@pytest.fixture
def stores(redis_client: Redis, prefix: str) -> Iterator[tuple[FeedStore, FeedStore]]:
    """Two stores on two connections: two processes, as far as the cache can tell."""
    pool = redis_client.connection_pool
    other = Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class,
                                                 **pool.connection_kwargs))
    yield FeedStore(redis_client, prefix, 50), FeedStore(other, prefix, 50)
    other.close()


def test_a_hit_renders_nothing_and_asks_redis_nothing(stores: tuple[FeedStore, FeedStore],
                                                      redis_client: Redis) -> None:
    web, _ = stores
    commit(web, 1)
    cache, render = RenderCache(web), Renderer()
    first = cache.get("all", "rss", "application/rss+xml", render)
    assert first.body == b"version 1" and render.calls == 1
    before = commands_processed(redis_client)
    for _ in range(200):
        assert cache.get("all", "rss", "application/rss+xml", render) is first
    # Only the INFO commands of this measurement itself were processed meanwhile.
    assert commands_processed(redis_client) - before <= 2
    assert render.calls == 1
    cache.close()


def test_a_commit_in_this_process_is_heard_at_once(stores: tuple[FeedStore, FeedStore]) -> None:
    web, _ = stores
    commit(web, 1)
    cache, render = RenderCache(web), Renderer()
    cache.get("all", "rss", "text/plain", render)
    commit(web, 2)
    assert cache.get("all", "rss", "text/plain", render).body == b"version 2"
    cache.close()


def test_a_commit_in_another_process_arrives_through_pubsub(
        stores: tuple[FeedStore, FeedStore]) -> None:
    web, scheduler = stores
    commit(scheduler, 1)
    # The clock never moves: only the notification can tell the cache that the version moved.
    cache, render = RenderCache(web, catch_up_seconds=3600, clock=ManualClock()), Renderer()
    assert cache.get("all", "rss", "text/plain", render).body == b"version 1"
    wait_until(cache.listening.is_set, "the listener subscribed")  # before the change to hear
    commit(scheduler, 2)
    wait_until(lambda: cache.get("all", "rss", "text/plain", render).body == b"version 2",
               "the change heard")
    assert render.calls == 2
    cache.close()


def test_a_missed_notification_is_caught_up(stores: tuple[FeedStore, FeedStore],
                                            redis_client: Redis, prefix: str) -> None:
    web, _ = stores
    commit(web, 1)
    clock = ManualClock()
    cache, render = RenderCache(web, catch_up_seconds=30, clock=clock), Renderer()
    cache.get("all", "rss", "text/plain", render)
    # Once the listener has subscribed, the version read is trusted: nothing else forgets it.
    wait_until(cache.listening.is_set, "the listener subscribed")
    assert cache.get("all", "rss", "text/plain", render).body == b"version 1"
    # A version change whose notification never came (as across a Redis restart).
    redis_client.hincrby(f"{prefix}:feed:all:state", "version", 1)
    clock.advance(29.5)
    assert cache.get("all", "rss", "text/plain", render).body == b"version 1"  # still trusted
    clock.advance(0.5)  # catch_up_seconds since Redis confirmed it: asked again
    assert cache.get("all", "rss", "text/plain", render).body == b"version 2"
    cache.close()


def test_least_recently_used_representations_go_first(
        stores: tuple[FeedStore, FeedStore]) -> None:
    web, _ = stores
    commit(web, 1)
    probe = RenderCache(web)
    one = probe.get("all", "probe", "text/plain", Renderer()).size  # every variant is this big
    probe.close()
    cache, render = RenderCache(web, max_bytes=2 * one), Renderer()  # room for two
    for variant in ("a", "b", "a", "c"):
        cache.get("all", variant, "text/plain", render)
    assert render.calls == 3
    cache.get("all", "a", "text/plain", render)  # kept: used more recently than b
    assert render.calls == 3
    cache.get("all", "b", "text/plain", render)  # was evicted
    assert render.calls == 4
    cache.close()


def test_an_outage_waits_its_retry_window_before_asking_redis_again() -> None:
    clock = ManualClock()
    outage = Outage(retry_seconds=1.0, clock=clock)
    assert not outage.ongoing and not outage.waiting()
    outage.failed(ConnectionError("refused"))
    assert outage.ongoing and outage.waiting()
    clock.advance(0.5)
    outage.failed(ConnectionError("refused"))  # a failure moves the window on
    clock.advance(0.75)
    assert outage.waiting()
    clock.advance(0.25)
    assert not outage.waiting() and outage.ongoing  # worth asking again; not over yet
    outage.recovered()
    assert not outage.ongoing and not outage.waiting()


def test_the_budget_is_in_bytes_whatever_the_number_of_variants(
        stores: tuple[FeedStore, FeedStore]) -> None:
    """Many small variants (widget URLs with free-text titles) fit where a few big ones do not:
    what is kept never exceeds the budget."""
    web, _ = stores
    commit(web, 1)
    cache = RenderCache(web, max_bytes=20_000)
    for n in range(200):
        cache.get("all", f"small {n}", "text/plain", lambda _state, n=n: f"v{n}".encode())
    assert len(cache._entries) == 200  # small: all kept  # noqa: SLF001
    big = bytes(range(256)) * 40  # 10 KB that compress poorly
    for n in range(5):
        cache.get("all", f"big {n}", "text/plain", lambda _state: big)
        assert cache._bytes <= 20_000 or len(cache._entries) == 1  # noqa: SLF001
    assert sum(e.size for e in cache._entries.values()) == cache._bytes  # noqa: SLF001
    cache.close()
