"""The store on a real Redis: atomic refreshes, indexes by date, retention, versions, leases."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis

from syndication.fetch import Validators
from syndication.model import Feed, Item, Source, member_of
from syndication.normalise import content_hash, item_id
from syndication.state import PageState, SourceStatus
from syndication.store import FeedStore

from .waiting import wait_until

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
SOURCE = Source(id="dossier", url="http://sample.test/d", publisher="test")
OTHER = Source(id="other", url="http://sample.test/o", publisher="test")
FEED = Feed(id="all", title="Tout", publisher="test", sources=("dossier", "other"))
SOLIDARITY = Feed(id="solidarite", title="Solidarité", publisher="test", sources=("dossier",),
                  tags=("Solidarité",))


def make_item(n: int, *, source: str = "dossier", title: str | None = None,
              tags: tuple[str, ...] = ()) -> Item:
    url = f"http://sample.test/actualites/{n}"
    item = Item(id=item_id(url), source=source, kind="actualite", url=url,
                title=title or f"Actualité {n}", summary=f"Résumé {n}", content_html="<p>x</p>",
                first_seen=NOW, updated=NOW, published=NOW - timedelta(days=n), tags=tags)
    return replace(item, content_hash=content_hash(item))


@pytest.fixture
def store(redis_client: Redis, prefix: str) -> FeedStore:
    return FeedStore(redis_client, prefix, retention=10)


def commit(store: FeedStore, items: list[Item], source: Source = SOURCE,
           feeds: tuple[Feed, ...] = (FEED, SOLIDARITY)) -> set[str]:
    return store.commit_refresh(source, [f for f in feeds if source.id in f.sources], items,
                                {}, SourceStatus(state="ok", last_success=NOW), NOW)


def test_items_read_back_newest_first_per_feed_and_source(store: FeedStore) -> None:
    items = [make_item(n) for n in (3, 1, 2)]
    assert commit(store, items) == {"all"}
    titles = [item.title for item in store.feed_items("all", limit=10)]
    assert titles == ["Actualité 1", "Actualité 2", "Actualité 3"]
    assert store.source_items("dossier", limit=2)[0] == items[1]
    assert store.item_count("dossier") == 3


def test_since_and_limit_bound_what_is_read(store: FeedStore) -> None:
    commit(store, [make_item(n) for n in range(1, 6)])
    recent = store.feed_items("all", limit=10, since=NOW - timedelta(days=2, hours=1))
    assert [item.title for item in recent] == ["Actualité 1", "Actualité 2"]
    assert len(store.feed_items("all", limit=3)) == 3


def test_tag_feeds_admit_only_their_items(store: FeedStore) -> None:
    commit(store, [make_item(1, tags=("Solidarité",)), make_item(2, tags=("Transports",))])
    assert [i.title for i in store.feed_items("solidarite", limit=10)] == ["Actualité 1"]


def test_an_edit_that_removes_the_tag_takes_the_item_out_of_the_tag_feed(
        store: FeedStore) -> None:
    commit(store, [make_item(1, tags=("Solidarité",))])
    assert commit(store, [make_item(1, tags=("Emploi",))]) == {"all", "solidarite"}
    assert store.feed_items("solidarite", limit=10) == []


def test_version_moves_only_when_the_feed_content_changes(store: FeedStore) -> None:
    assert store.feed_state("all").version == 0
    commit(store, [make_item(1)])
    first = store.feed_state("all")
    assert first.version == 1 and first.changed_at == NOW
    assert commit(store, []) == set()  # a refresh that found nothing new
    assert store.feed_state("all").version == 1
    commit(store, [make_item(1, title="Titre corrigé")])
    assert store.feed_state("all").version == 2


def test_retention_keeps_the_newest_items_and_deletes_the_others(
        store: FeedStore, redis_client: Redis, prefix: str) -> None:
    commit(store, [make_item(n) for n in range(1, 16)])
    kept = store.source_items("dossier", limit=100)
    assert [item.title for item in kept] == [f"Actualité {n}" for n in range(1, 11)]
    assert len(store.feed_items("all", limit=100)) == 10
    assert redis_client.get(f"{prefix}:item:{member_of(make_item(15))}") is None


def test_the_same_article_from_two_sources_appears_once_in_a_feed(store: FeedStore) -> None:
    commit(store, [make_item(1)])
    commit(store, [make_item(1, source="other")], source=OTHER)
    assert len(store.feed_items("all", limit=10)) == 1
    assert store.item_count("dossier") == store.item_count("other") == 1


def test_page_states_and_status_are_written_with_the_refresh(store: FeedStore) -> None:
    item = make_item(1)
    pages = {item.url: PageState(Validators('"abc"', "Thu, 26 Nov 2026 08:00:00 GMT"),
                                 member_of(item))}
    store.commit_refresh(SOURCE, [FEED], [item], pages, SourceStatus(state="ok"), NOW)
    assert store.page_states("dossier") == pages
    assert store.source_status("dossier").state == "ok"
    assert store.stored_items([member_of(item), "dossier/unknown"]) == {member_of(item): item}


def test_rebuild_follows_a_changed_feed_definition(store: FeedStore) -> None:
    commit(store, [make_item(1, tags=("Solidarité",)), make_item(2, tags=("Emploi",))])
    employment = replace(SOLIDARITY, tags=("Emploi",))
    assert store.rebuild_feed(employment, NOW) is True
    assert [i.title for i in store.feed_items("solidarite", limit=10)] == ["Actualité 2"]
    assert store.rebuild_feed(employment, NOW) is False  # nothing to change: version stays
    assert store.feed_state("solidarite").version == 2


def test_readers_never_see_half_a_refresh(store: FeedStore) -> None:
    """Each refresh rewrites every item with one generation number; a reader running meanwhile
    must always find a single generation across the whole feed."""
    generations = 30
    commit(store, [make_item(n, title=f"g0 {n}") for n in range(1, 9)])
    mixed: list[set[str]] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen = {item.title.split()[0] for item in store.feed_items("all", limit=10)}
            if len(seen) != 1:
                mixed.append(seen)

    reader = threading.Thread(target=read)
    reader.start()
    for generation in range(1, generations):
        commit(store, [make_item(n, title=f"g{generation} {n}") for n in range(1, 9)])
    done.set()
    reader.join()
    assert mixed == []
    assert store.feed_state("all").version == generations


def test_a_lease_is_exclusive_and_expires(store: FeedStore) -> None:
    first = store.lease("dossier", seconds=1)
    assert first.acquire(blocking=False)
    assert 0 < store.redis.pttl(first.name) <= 1000  # it expires within its lifetime
    assert not store.lease("dossier", seconds=1).acquire(blocking=False)
    assert store.lease("other", seconds=1).acquire(blocking=False)
    # The holder "crashed": its lease expires by itself.
    wait_until(lambda: not store.redis.exists(first.name), "the lease expired")
    assert store.lease("dossier", seconds=1).acquire(blocking=False)
