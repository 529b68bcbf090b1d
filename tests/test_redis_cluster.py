"""The store on a real Redis Cluster of three primaries on loopback ports: its keys in one hash
slot, its scripts and transactions, its pub/sub, and the store's own test suite run against it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from redis.cluster import RedisCluster

from syndication.model import Derivative
from syndication.store import FeedStore
from syndication.store.connection import connect
from syndication.store.images import ImageRecord, ImageStore
from syndication.store.keys import key_prefix
from syndication.store.metrics import MetricsStore
from syndication.store.sources import SourceRegistry
from syndication.store.subscriptions import SubscriptionRequest, SubscriptionStore

from .conftest import ROOT
from .redis_cluster import (
    CLUSTER_BINARIES,
    ClusterDeployment,
    missing_binaries,
    start_cluster,
)
from .test_store import FEED, OTHER, SOLIDARITY, commit, make_item
from .waiting import wait_until

# The tests of everything that goes through syndication/store/, rerun on the cluster. The others
# either need nothing of Redis or reach into a single server (its socket, its connection pool).
STORE_SUITE = ("tests/test_store.py", "tests/test_push.py", "tests/test_sources.py",
               "tests/test_operator_api.py", "tests/test_images.py", "tests/test_websub.py")
SUITE_TIMEOUT_SECONDS = 1800  # a hung run fails instead of holding CI: no speed is checked

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterDeployment]:
    if reason := missing_binaries(CLUSTER_BINARIES):
        pytest.skip(f"no Redis Cluster: {reason}")
    deployment = start_cluster(tmp_path_factory.mktemp("cluster"))
    yield deployment
    deployment.stop()


@pytest.fixture
def client(cluster: ClusterDeployment) -> Iterator[RedisCluster]:
    redis = connect(cluster.url)
    assert isinstance(redis, RedisCluster)
    yield redis
    redis.close()


@pytest.fixture
def plain_prefix(client: RedisCluster) -> Iterator[str]:
    """A plain prefix, without a tag of its own: the store adds it."""
    value = f"plain-{uuid.uuid4().hex[:12]}"
    yield value
    keys = list(client.scan_iter(match=f"{{{value}}}:*", count=1000))
    if keys:
        client.delete(*keys)


def test_the_cluster_has_three_primaries_sharing_every_slot(client: RedisCluster) -> None:
    info = client.cluster_info()
    assert info["cluster_state"] == "ok" and int(info["cluster_slots_assigned"]) == 16384
    assert len(client.get_primaries()) == 3


@pytest.mark.parametrize(("prefix", "expected"), [
    ("syndication", "{syndication}"),
    ("{site-a}", "{site-a}"),  # an operator's own tag is kept
    ("site:{a}:b", "site:{a}:b"),
    ("{}site", "{{}site}"),  # an empty tag is none: Redis would hash the whole key
    ("site{a", "{site{a}"),
])
def test_the_prefix_is_a_hash_tag_that_redis_honours(client: RedisCluster, prefix: str,
                                                     expected: str) -> None:
    assert key_prefix(prefix) == expected
    keys = [f"{expected}:{suffix}" for suffix in ("item:s/1", "feed:all:index", "x{y}")]
    assert len({client.cluster_keyslot(key) for key in keys}) == 1  # the server's own rule


def test_every_key_of_a_deployment_lives_in_one_slot(client: RedisCluster,
                                                      plain_prefix: str) -> None:
    store = FeedStore(client, plain_prefix, retention=10)
    commit(store, [make_item(1, tags=("Solidarité",)), make_item(2)])
    commit(store, [make_item(3, source=OTHER.id)], source=OTHER)
    ImageStore(client, plain_prefix).save("k" * 16, ImageRecord(
        url="http://sample.test/i.png", type="image/png", length=3, width=1, height=1,
        version="v1", fetched_at=NOW, derivatives=(Derivative(
            max_width=600, width=1, height=1, length=3, type="image/png",
            path="images/kkkk-v1/600.png"),)),
        b"png", {"600.png": b"png"})
    MetricsStore(client, plain_prefix).record_refresh("dossier", "ok", seconds=0.2, new=2)
    SourceRegistry(client, plain_prefix).save("api-source", {"id": "api-source"})
    SubscriptionStore(client, plain_prefix).activate(SubscriptionRequest(
        mode="subscribe", topic="http://x/feeds/all.rss", callback="http://y/cb", feed="all",
        format="rss", base_url="http://x", lease_seconds=60), expires_at=NOW.timestamp())

    keys = list(client.scan_iter(match=f"{{{plain_prefix}}}:*", count=1000))
    assert len(keys) >= 15
    assert {client.keyslot(key) for key in keys} == {client.keyslot(plain_prefix)}
    # Without the tag, the same keys would spread over the primaries, and the transactions and
    # scripts that touch several of them would be refused.
    untagged = {key.replace(f"{{{plain_prefix}}}", plain_prefix, 1) for key in keys}
    assert len({client.get_node_from_key(key).name for key in untagged}) > 1
    assert [item.title for item in store.feed_items(FEED.id, limit=10)] == [
        "Actualité 1", "Actualité 2", "Actualité 3"]
    assert [item.title for item in store.feed_items(SOLIDARITY.id, limit=10)] == ["Actualité 1"]


def test_transactions_do_not_depend_on_the_servers_script_cache(client: RedisCluster,
                                                                plain_prefix: str) -> None:
    """A primary restarted or failed over has an empty script cache: the retention trim that
    runs inside a refresh's transaction must not fail there (nor leave half a refresh)."""
    store = FeedStore(client, plain_prefix, retention=3)
    commit(store, [make_item(n) for n in (1, 2)])
    client.script_flush()  # every primary

    commit(store, [make_item(n) for n in (3, 4, 5)])

    assert [item.title for item in store.feed_items(FEED.id, limit=10)] == [
        "Actualité 1", "Actualité 2", "Actualité 3"]
    assert store.item_count("dossier") == 3
    trimmed = f"{{{plain_prefix}}}:item:dossier/{make_item(5).id}"
    assert client.exists(trimmed) == 0  # the trim deleted the item, not only its index entry
    assert store.feed_state(FEED.id).version == 2


def test_feed_changes_reach_another_process_through_the_clusters_pub_sub(
        cluster: ClusterDeployment, client: RedisCluster, plain_prefix: str) -> None:
    writer = FeedStore(client, plain_prefix, retention=10)
    reader_client = connect(cluster.url)  # another process, as far as Redis can tell
    reader = FeedStore(reader_client, plain_prefix, retention=10)
    heard: list[str | None] = []
    stop = threading.Event()
    watcher = threading.Thread(target=reader.watch_feed_versions, args=(heard.append, stop),
                               daemon=True)
    watcher.start()
    try:
        wait_until(lambda: None in heard, "the listener subscribed")
        # PUBLISH reaches every node of the cluster, whichever the listener is connected to.
        channel = f"{reader.prefix}:feed-versions"
        wait_until(lambda: sum(node.redis_connection.pubsub_numsub(channel)[0][1]
                               for node in client.get_primaries()) == 1,
                   "the subscription registered")

        assert commit(writer, [make_item(1)]) == {FEED.id}

        wait_until(lambda: FEED.id in heard, "the change heard")
    finally:
        stop.set()
        watcher.join(timeout=5)
        reader_client.close()
    assert not watcher.is_alive()


def test_the_store_suite_passes_on_the_cluster(cluster: ClusterDeployment) -> None:
    """The store's tests, unchanged, with the cluster as their Redis (conftest's redis_client
    reads the URL), in a process of their own."""
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "redis",
         *STORE_SUITE],
        cwd=ROOT, env={**os.environ, "SYNDICATION_TEST_REDIS_URL": cluster.url},
        capture_output=True, text=True, timeout=SUITE_TIMEOUT_SECONDS)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    print(f"store suite on the cluster: {summary} ({time.monotonic() - started:.1f} s "
          "with start-up)")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 100, summary
    assert not re.search(r"\b(failed|errors?)\b", summary), summary
