"""SYNDICATION_REDIS_URL: every form it takes, the errors of malformed ones (which never show a
password), and the service's store on a real Sentinel deployment, through a failover."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from redis import Redis
from redis.exceptions import RedisClusterException

from syndication.errors import ConfigError
from syndication.store import FeedStore
from syndication.store.connection import (
    RedisTarget,
    connect,
    masked,
    parse_cluster_url,
    parse_sentinel_url,
)

from .redis_cluster import (
    SENTINEL_BINARIES,
    SentinelDeployment,
    missing_binaries,
    start_sentinel,
)
from .test_store import FEED, commit, make_item
from .waiting import wait_until

SECRET = "pa:ss@w/rd"  # percent-encoded in the URLs below: pa%3Ass%40w%2Frd


def test_a_sentinel_url_names_the_sentinels_the_service_and_the_database() -> None:
    target = parse_sentinel_url("redis+sentinel://app:pa%3Ass%40w%2Frd@s1:26380,s2,[::1]:26381"
                                "/main-redis/3")
    assert target == RedisTarget((("s1", 26380), ("s2", 26379), ("::1", 26381)),
                                 service="main-redis", db=3, username="app", password=SECRET)
    assert SECRET not in repr(target)
    assert parse_sentinel_url("redis+sentinel://:secret@s1/main") == RedisTarget(
        (("s1", 26379),), service="main", db=0, username=None, password="secret")


def test_a_cluster_url_names_the_nodes_to_start_from() -> None:
    assert parse_cluster_url("redis+cluster://n1:7000,n2:7001,n3") == RedisTarget(
        (("n1", 7000), ("n2", 7001), ("n3", 6379)))
    assert parse_cluster_url("redis+cluster://:secret@n1:7000/").password == "secret"


@pytest.mark.parametrize(("url", "problem"), [
    ("redis+sentinel://:pa%3Ass%40w%2Frd@s1:26379", "must name the primary's service"),
    ("redis+sentinel://:pa%3Ass%40w%2Frd@s1:26379/main/db3", "database 'db3'"),
    ("redis+sentinel://:pa%3Ass%40w%2Frd@s1:26379/main/1/2", "must name the primary's service"),
    ("redis+sentinel://:pa%3Ass%40w%2Frd@s1:port/main", "position 1"),
    ("redis+sentinel://:pa%3Ass%40w%2Frd@s1:26379,,s2/main", "position 2"),
    ("redis+sentinel://:pa%3Ass%40w%2Frd@s1:99999/main", "position 1"),
    ("redis+sentinel://:pa:ss@w/rd@s1:26379/main", "an @ after the host"),
    ("redis+sentinel://:pa?ss@s1:26379/main", "an @ after the host"),
    ("redis+sentinel://s1:26379/main?db=2", "query or a fragment"),
    ("redis+cluster://:pa%3Ass%40w%2Frd@n1:7000/2", "database 0 only"),
    ("redis+cluster://:pa%3Ass%40w%2Frd@n1:7000?ssl=true", "query or a fragment"),
    ("redis+cluster://:pa%3Ass%40w%2Frd@", "position 1"),
    ("redis+cluster://:pa%3Ass%40w%2Frd@[::1:7000", "Invalid IPv6 URL"),  # urllib's message
    ("memcached://:pa%3Ass%40w%2Frd@m1:11211", "must start with redis://"),
    ("127.0.0.1:6379", "must start with redis://"),
    ("redis://:pa%3Ass%40w%2Frd@r1:6379/x", "database that is not a number"),
    ("redis://:pa%3Ass%40w%2Frd@r1:port/0", "Port could not be cast"),  # redis-py's message
    ("redis://:pa/ss@r1:6379/0", "an @ after the host"),
    ("unix://:pa#ss@/run/redis.sock", "an @ after the host"),
    ("redis://:pa%3Ass%40w%2Frd@r1:6379/0?db=x", "Invalid value for 'db'"),
])
def test_a_malformed_url_is_refused_naming_the_setting_never_the_password(
        url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        connect(url)
    message = str(raised.value)
    assert message.startswith("SYNDICATION_REDIS_URL=") and problem in message
    assert raised.value.field == "redis_url"
    for fragment in ("pa%3Ass", "pa:ss", "ss@w", "w/rd", "w%2Frd", "pa?ss", "pa/ss", "pa#ss"):
        assert fragment not in message


def test_masking_hides_all_credentials() -> None:
    assert masked("redis+sentinel://app:pa:ss@w/rd@s1:26379/main") == \
        "redis+sentinel://***@s1:26379/main"
    assert masked("redis://r1:6379/0") == "redis://r1:6379/0"


# --- real servers -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelDeployment]:
    if reason := missing_binaries(SENTINEL_BINARIES):
        pytest.skip(f"no Sentinel deployment: {reason}")
    deployment = start_sentinel(tmp_path_factory.mktemp("sentinel"))
    yield deployment
    deployment.stop()


def test_plain_and_sentinel_urls_reach_the_same_primary_and_decode_text(
        sentinel: SentinelDeployment) -> None:
    key = f"{{test-{uuid.uuid4().hex[:12]}}}:greeting"
    with connect(f"redis://127.0.0.1:{sentinel.primary_port}/0") as direct:
        assert isinstance(direct, Redis)
        direct.set(key, "bonjour", ex=60)
    through_sentinel = connect(sentinel.url)
    assert through_sentinel.get(key) == "bonjour"  # str: decode_responses everywhere
    through_sentinel.close()


def test_the_store_works_through_sentinel_and_across_a_failover(
        sentinel: SentinelDeployment) -> None:
    client = connect(sentinel.url)
    store = FeedStore(client, f"test-{uuid.uuid4().hex[:12]}", retention=10)
    channel = f"{store.prefix}:feed-versions"
    heard: list[str | None] = []
    stop = threading.Event()
    watcher = threading.Thread(target=store.watch_feed_versions, args=(heard.append, stop),
                               daemon=True)
    watcher.start()
    try:
        wait_until(lambda: client.pubsub_numsub(channel)[0][1] >= 1, "the listener subscribed")
        assert commit(store, [make_item(1)]) == {FEED.id}
        wait_until(lambda: FEED.id in heard, "the change heard")
        assert client.wait(1, 5000) == 1  # the replica has it before it is promoted
        before = sentinel.primary_address()
        heard.clear()

        after = sentinel.fail_over()

        assert after != before
        # The same client and store go on: the dead primary's connections fail, and the client
        # asks Sentinel again. Nothing committed before the failover is lost.
        assert commit(store, [make_item(2)]) == {FEED.id}
        assert [item.title for item in store.feed_items(FEED.id, limit=10)] == [
            "Actualité 1", "Actualité 2"]
        assert client.info("server")["tcp_port"] == after[1]
        assert store.feed_state(FEED.id).version == 2
        lease = store.lease("dossier", 30)
        assert lease.acquire() and lease.locked()
        lease.release()
        # The listener lost its connection: it said that it may have missed changes (None),
        # subscribed to the new primary, and hears the next changes (a change made while it
        # was subscribing again is missed, as its None said: so the test waits for that).
        wait_until(lambda: None in heard, "the listener told of the disconnection")
        wait_until(lambda: client.pubsub_numsub(channel)[0][1] >= 1,
                   "the listener subscribed to the new primary")
        heard.clear()
        assert commit(store, [make_item(3)]) == {FEED.id}
        wait_until(lambda: FEED.id in heard, "a change after the failover heard")
    finally:
        stop.set()
        watcher.join(timeout=5)
        client.close()


def test_a_cluster_url_that_reaches_no_node_fails_at_connection() -> None:
    with pytest.raises(RedisClusterException) as raised:
        connect("redis+cluster://:secret@127.0.0.1:9")
    assert "secret" not in str(raised.value)
