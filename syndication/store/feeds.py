"""Items, feed indexes, page validators, source status, feed versions and leases.

Key schema (every key starts with the configured prefix as a hash tag, written P below: keys.py
tells why):

    P:item:{source}/{id}         string  an Item as JSON (one record per source that produced it)
    P:source:{source}:index      zset    members "{source}/{id}", score = item date (epoch s)
    P:source:{source}:pages      hash    page URL → {"etag", "last_modified", "member", "links",
                                         "dated", "lastmod", "home", "titled"}
    P:source:{source}:status     string  SourceStatus as JSON (without next_run)
    P:source:{source}:next-run   string  ISO date-time of the next planned refresh, written by
                                         the scheduler (its own key: no lost update with status)
    P:source:{source}:baseline   string  ExtractionCounts of the last committed refresh, as JSON:
                                         what drift.py compares the next refreshes with
    P:feed:{feed}:index          zset    members "{source}/{id}" of admitted items, by date
    P:feed:{feed}:state          hash    version (int, +1 whenever the feed's content changes),
                                         changed_at (ISO date-time of that change)
    P:lease:{source}             string  refresh lease (redis-py Lock: token + expiry)
    P:feed-versions              channel a feed id, published right after the transaction that
                                         changes it

A refresh is written in one MULTI/EXEC transaction (items, indexes, retention trims, page
validators, status, feed versions), and feeds are read by one Lua script (index range + items), so
a reader sees the state before or after a refresh, never a mix. Announcing a change is no part of
the transaction (Redis Cluster takes no PUBLISH there): a process that dies in between leaves
listeners to catch up by themselves, as they do after any message they missed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from redis.exceptions import WatchError
from redis.lock import Lock

from ..model import Feed, Item, Source, member_of
from ..state import ExtractionCounts, PageState, SourceStatus, Validators
from .changes import ChangeStream
from .connection import Connection
from .keys import key_prefix
from .replies import scored, text_hash, texts

log = logging.getLogger(__name__)

# Newest first within [min, max] scores, skipping ARGV[5]; returns the items' JSON (nil where
# an item was trimmed meanwhile).
_READ_INDEX = """
local members = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[3], 'LIMIT', ARGV[5],
                          ARGV[4])
if #members == 0 then return {} end
local keys = {}
for i, member in ipairs(members) do keys[i] = ARGV[1] .. member end
return redis.call('MGET', unpack(keys))
"""

# Keep the newest ARGV[1] members of an index; with ARGV[2] set, delete the trimmed items too.
# Run inside transactions only: see _queue_script.
_TRIM_INDEX = """
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if excess <= 0 then return 0 end
if ARGV[2] ~= '' then
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, excess - 1)) do
    redis.call('DEL', ARGV[2] .. member)
  end
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
return excess
"""


@dataclass(frozen=True, slots=True)
class FeedState:
    version: int
    changed_at: datetime | None


def _queue_script(tx: Connection, script: str, keys: list[str], args: list[object]) -> None:
    """Queue a Lua script into a transaction by its text (EVAL) rather than by its digest, as
    redis-py's Script objects do: a Redis Cluster transaction refuses EVALSHA, and a script missing
    from the server's cache would fail only at EXEC, once the other commands had run."""
    tx.execute_command("EVAL", script, len(keys), *keys, *args)


def _status_json(status: SourceStatus) -> str:
    data = status.to_dict()
    data.pop("next_run")  # kept under its own key, written by the scheduler
    return json.dumps(data)


class FeedStore:
    def __init__(self, redis: Connection, prefix: str, retention: int):
        self.redis = redis
        self.prefix = key_prefix(prefix)
        self.retention = retention
        # The change stream: every committed change of a feed, announced once (changes.py).
        self.changes = ChangeStream(redis, self._key("feed-versions"))
        self.add_listener, self.remove_listener = (self.changes.add_listener,
                                                   self.changes.remove_listener)
        self.watch_feed_versions = self.changes.watch
        self._read_index = redis.register_script(_READ_INDEX)

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def ping(self) -> bool:
        return bool(self.redis.ping())

    # --- reading ----------------------------------------------------------------------------

    def feed_items(self, feed_id: str, *, limit: int, since: datetime | None = None,
                   offset: int = 0) -> list[Item]:
        """Newest first; an item found through two sources appears once."""
        items = self._read(self._key("feed", feed_id, "index"), limit, since, offset)
        seen: set[str] = set()
        unique = []
        for item in items:
            if item.id not in seen:
                seen.add(item.id)
                unique.append(item)
        return unique

    def source_items(self, source_id: str, *, limit: int, since: datetime | None = None,
                     offset: int = 0) -> list[Item]:
        return self._read(self._key("source", source_id, "index"), limit, since, offset)

    def feed_count(self, feed_id: str, since: datetime | None = None) -> int:
        """How many items a feed holds (since a date): for paging."""
        return self._count(self._key("feed", feed_id, "index"), since)

    def source_count(self, source_id: str, since: datetime | None = None) -> int:
        return self._count(self._key("source", source_id, "index"), since)

    def _count(self, index: str, since: datetime | None) -> int:
        return int(self.redis.zcount(index, since.timestamp() if since else "-inf", "+inf"))

    def _read(self, index: str, limit: int, since: datetime | None, offset: int) -> list[Item]:
        low: float | str = since.timestamp() if since else "-inf"
        raw = self._read_index(keys=[index],
                               args=[self._key("item", ""), "+inf", low, limit, offset])
        return [Item.from_dict(json.loads(data)) for data in raw if data]

    def stored_items(self, members: Iterable[str]) -> dict[str, Item]:
        """Items by member, for the ones that exist."""
        members = list(members)
        if not members:
            return {}
        raw = self.redis.mget([self._key("item", m) for m in members])
        return {m: Item.from_dict(json.loads(d)) for m, d in zip(members, raw, strict=True) if d}

    def page_states(self, source_id: str) -> dict[str, PageState]:
        raw = text_hash(self.redis.hgetall(self._key("source", source_id, "pages")))
        states = {}
        for url, data in raw.items():
            value = json.loads(data)
            states[url] = PageState(
                Validators(value.get("etag"), value.get("last_modified")),
                member=value.get("member"), links=tuple(value.get("links", ())),
                dated=value.get("dated", True), titled=value.get("titled", True),
                lastmod=value.get("lastmod"), home=value.get("home"))
        return states

    def source_home(self, source_id: str, url: str) -> str | None:
        """The site a feed source's feed names as its own, as last read (None if it names none)."""
        raw = self.redis.hget(self._key("source", source_id, "pages"), url)
        home = json.loads(raw).get("home") if raw else None
        return home if isinstance(home, str) else None

    def feed_state(self, feed_id: str) -> FeedState:
        raw = text_hash(self.redis.hgetall(self._key("feed", feed_id, "state")))
        changed = raw.get("changed_at")
        return FeedState(int(raw.get("version", 0)),
                         datetime.fromisoformat(changed) if changed else None)

    def source_status(self, source_id: str) -> SourceStatus:
        raw, next_run = self.redis.mget(self._key("source", source_id, "status"),
                                        self._key("source", source_id, "next-run"))
        data = json.loads(raw) if raw else {}
        data["next_run"] = next_run
        return SourceStatus.from_dict(data)

    def source_baseline(self, source_id: str) -> ExtractionCounts | None:
        """What the last committed refresh of a source extracted (None before the first)."""
        raw = self.redis.get(self._key("source", source_id, "baseline"))
        return ExtractionCounts.from_dict(json.loads(raw)) if raw else None

    def image_urls(self) -> set[str]:
        """The image URL of every stored item (SCAN and batched reads: for sweeping images,
        not for requests)."""
        urls: set[str] = set()
        batch: list[str] = []
        for name in self.redis.scan_iter(match=self._key("item", "*"), count=1000):
            batch.append(str(name))
            if len(batch) == 500:
                urls |= self._image_urls(batch)
                batch = []
        return urls | self._image_urls(batch)

    def _image_urls(self, keys: list[str]) -> set[str]:
        if not keys:
            return set()
        found = set()
        for data in self.redis.mget(keys):
            image = json.loads(data).get("image") if data else None
            if image and image.get("url"):
                found.add(image["url"])
        return found

    def item_count(self, source_id: str) -> int:
        return int(self.redis.zcard(self._key("source", source_id, "index")))

    # --- writing ----------------------------------------------------------------------------

    def lease(self, source_id: str, seconds: int) -> Lock:
        """A lock with expiry, held while a source refreshes: a crashed holder frees it in time."""
        # Not thread-local: leases.KeptLease renews it from a thread of its own.
        return self.redis.lock(self._key("lease", source_id), timeout=seconds, blocking=False,
                               thread_local=False)

    def commit_refresh(self, source: Source, feeds: Iterable[Feed], changed: Iterable[Item],
                       pages: dict[str, PageState], status: SourceStatus,
                       now: datetime, baseline: ExtractionCounts | None = None) -> set[str]:
        """Write one refresh atomically; returns the ids of the feeds whose content changed.
        `baseline`, when given, becomes what later refreshes are compared with (drift.py)."""
        changed = list(changed)
        feeds = list(feeds)
        leaving = self._leaving(feeds, changed)
        changed_feeds: set[str] = set()
        with self.redis.pipeline(transaction=True) as tx:
            source_index = self._key("source", source.id, "index")
            for item in changed:
                tx.set(self._key("item", member_of(item)), json.dumps(item.to_dict()))
                tx.zadd(source_index, {member_of(item): item.date.timestamp()})
            if changed:
                _queue_script(tx, _TRIM_INDEX, [source_index],
                              [self.retention, self._key("item", "")])
            for feed in feeds:
                admitted = {member_of(i): i.date.timestamp() for i in changed if feed.admits(i)}
                if admitted:
                    tx.zadd(self._key("feed", feed.id, "index"), admitted)
                if leaving[feed.id]:
                    tx.zrem(self._key("feed", feed.id, "index"), *leaving[feed.id])
                if admitted or leaving[feed.id]:
                    _queue_script(tx, _TRIM_INDEX, [self._key("feed", feed.id, "index")],
                                  [self.retention, ""])
                    self._bump(tx, feed.id, now)
                    changed_feeds.add(feed.id)
            # Replaced whole: pages no longer linked (or failing) leave with their validators.
            tx.delete(self._key("source", source.id, "pages"))
            if pages:
                tx.hset(self._key("source", source.id, "pages"), mapping={
                    url: json.dumps({"etag": s.validators.etag, "member": s.member,
                                     "last_modified": s.validators.last_modified,
                                     "links": list(s.links), "dated": s.dated,
                                     "lastmod": s.lastmod, "home": s.home,
                                     "titled": s.titled})
                    for url, s in pages.items()})
            tx.set(self._key("source", source.id, "status"), _status_json(status))
            if baseline is not None:
                tx.set(self._key("source", source.id, "baseline"),
                       json.dumps(baseline.to_dict()))
            tx.execute()
        self.changes.announce(changed_feeds)
        return changed_feeds

    def _leaving(self, feeds: list[Feed], changed: list[Item]) -> dict[str, list[str]]:
        """Per feed, the members of edited items that it holds but no longer admits (their tags
        changed). Read before the transaction; the source's lease keeps them valid."""
        leaving: dict[str, list[str]] = {}
        for feed in feeds:
            candidates = [member_of(i) for i in changed if not feed.admits(i)]
            scores = self.redis.zmscore(self._key("feed", feed.id, "index"),
                                        candidates) if candidates else []
            leaving[feed.id] = [m for m, s in zip(candidates, scores, strict=True) if s is not None]
        return leaving

    def record_status(self, source_id: str, status: SourceStatus,
                      baseline: ExtractionCounts | None = None) -> None:
        """A refresh that changes no item; `baseline` as in commit_refresh."""
        with self.redis.pipeline(transaction=True) as tx:
            tx.set(self._key("source", source_id, "status"), _status_json(status))
            if baseline is not None:
                tx.set(self._key("source", source_id, "baseline"),
                       json.dumps(baseline.to_dict()))
            tx.execute()

    def record_next_run(self, source_id: str, when: datetime | None) -> None:
        """The scheduler's plan for a source, for operators (a web process cannot ask it)."""
        key = self._key("source", source_id, "next-run")
        if when is None:
            self.redis.delete(key)
        else:
            self.redis.set(key, when.isoformat())

    def remove_items(self, source_id: str, feeds: Iterable[Feed], members: Iterable[str],
                     now: datetime) -> set[str]:
        """Withdraw items (a publisher unpublished them); returns the ids of the feeds that
        changed. Members the source does not hold are ignored."""
        members = list(members)
        index = self._key("source", source_id, "index")
        scores = self.redis.zmscore(index, members) if members else []
        held = [m for m, score in zip(members, scores, strict=True) if score is not None]
        changed_feeds: set[str] = set()
        if not held:
            return changed_feeds
        feeds = [feed for feed in feeds if any(
            score is not None for score in self.redis.zmscore(
                self._key("feed", feed.id, "index"), held))]
        with self.redis.pipeline(transaction=True) as tx:
            tx.zrem(index, *held)
            tx.delete(*(self._key("item", member) for member in held))
            for feed in feeds:
                tx.zrem(self._key("feed", feed.id, "index"), *held)
                self._bump(tx, feed.id, now)
                changed_feeds.add(feed.id)
            tx.execute()
        self.changes.announce(changed_feeds)
        return changed_feeds

    def forget_source(self, source_id: str) -> None:
        """Delete everything stored for a source (removed through the API). Its feeds are
        rebuilt by the caller, from the catalogue without it."""
        index = self._key("source", source_id, "index")
        members = texts(self.redis.zrange(index, 0, -1))
        with self.redis.pipeline(transaction=True) as tx:
            if members:
                tx.delete(*(self._key("item", member) for member in members))
            tx.delete(index, *(self._key("source", source_id, name) for name in
                               ("pages", "status", "next-run", "baseline")))
            tx.execute()

    def rebuild_feed(self, feed: Feed, now: datetime) -> bool:
        """Recompute a feed's index from its sources (after feeds/*.toml changed); bumps the
        version only when membership changed. Returns whether it did. The indexes read are
        watched: a refresh committing meanwhile makes it start over, so its items are never
        dropped from the feed."""
        index = self._key("feed", feed.id, "index")
        watched = [index, *(self._key("source", s, "index") for s in feed.sources)]
        with self.redis.pipeline(transaction=True) as tx:
            while True:
                try:
                    tx.watch(*watched)
                    wanted = {member_of(item): item.date.timestamp()
                              for source_id in feed.sources
                              for item in self.source_items(source_id, limit=self.retention)
                              if feed.admits(item)}
                    if dict(scored(tx.zrange(index, 0, -1, withscores=True))) == wanted:
                        tx.unwatch()
                        return False
                    tx.multi()
                    tx.delete(index)
                    if wanted:
                        tx.zadd(index, wanted)
                        _queue_script(tx, _TRIM_INDEX, [index], [self.retention, ""])
                    self._bump(tx, feed.id, now)
                    tx.execute()
                    break
                except WatchError:
                    continue
        self.changes.announce([feed.id])
        return True

    def _bump(self, tx: Connection, feed_id: str, now: datetime) -> None:
        state = self._key("feed", feed_id, "state")
        tx.hincrby(state, "version", 1)
        tx.hset(state, "changed_at", now.isoformat())
