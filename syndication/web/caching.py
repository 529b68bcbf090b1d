"""Rendered responses kept in process memory, so that serving a feed that has not changed
renders nothing and asks Redis nothing.

Each representation (a feed, a format, a query) is kept with the feed version it was rendered
from, along with its gzip and brotli forms. Versions change only in the transaction that changes
a feed's content, which also publishes the feed's id; a listener thread forgets the version of
that feed, so the next request renders anew (a commit made by this same process is heard at once,
through the store's in-process listeners). A process that missed notifications (Redis restarted,
a network cut) catches up by itself: the listener forgets every version when it reconnects, and a
known version is trusted for at most CATCH_UP_SECONDS anyway.

Without Redis, a representation already rendered is still served, with an `Age` header saying
how long ago its version was last known to be current: subscribers keep their feeds through an
outage, and see the fresh content once Redis answers again. Redis is then asked again at most
every RETRY_SECONDS (not at every request: each attempt costs the client's retries), and the
outage is logged once when it starts and once when it ends (`Outage`). What was never rendered
here cannot be served: StoreUnavailable goes up, to app.py's 503.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

import brotli
from flask import Request, Response
from werkzeug.http import http_date, parse_accept_header, parse_date, parse_etags

from ..store import FeedState, FeedStore, StoreUnavailable, StoreUnreachable

log = logging.getLogger(__name__)

CATCH_UP_SECONDS = 30.0
LISTENER_START_SECONDS = 1.0
RETRY_SECONDS = 1.0  # while Redis is unreachable, how often this process asks it again
# Bytes of representations kept per process (bodies with their gzip and brotli forms); the least
# recently used go first. A budget in bytes, not a count: widget URLs with free-text options
# (a title, a tag) are each an entry of their own, and must not crowd out the feeds by number.
MAX_BYTES = 32 * 1024 * 1024  # the default of the setting render_cache_mb
MAX_AGE = 300  # seconds clients and proxies may reuse a response without asking
STALE_WHILE_REVALIDATE = 3600
STALE_IF_ERROR = 86400
RESPONDED = "syndication.responded"  # environ: what a response was made from (fastpath.py)


@dataclass(frozen=True, slots=True)
class Representation:
    body: bytes
    gzip: bytes
    brotli: bytes
    media_type: str
    etag: str
    state: FeedState
    headers: tuple[tuple[str, str], ...] = ()  # validators and caching, the same for every request
    rendered_at: float = 0.0  # the cache's clock when rendered: the Age of a stale answer
    key: tuple[str, str] | None = None  # (feed, variant) in the cache; None: not a feed's

    @property
    def size(self) -> int:
        """Bytes it holds, the three encodings of the body (headers are negligible)."""
        return len(self.body) + len(self.gzip) + len(self.brotli)

    @classmethod
    def compressed(cls, body: bytes, media_type: str, etag: str, state: FeedState,
                   headers: tuple[tuple[str, str], ...],
                   rendered_at: float | None = None,
                   key: tuple[str, str] | None = None) -> Representation:
        """The body with its gzip and brotli forms, compressed once for every request;
        `rendered_at` on the clock of the cache that keeps it (time.monotonic() by default)."""
        return cls(body=body, gzip=gzip.compress(body, compresslevel=9, mtime=0),
                   brotli=brotli.compress(body, quality=11), media_type=media_type, etag=etag,
                   state=state, headers=headers,
                   rendered_at=time.monotonic() if rendered_at is None else rendered_at, key=key)


@dataclass(frozen=True, slots=True)
class FastResponse:
    """A response as the Flask path sent it, for web/fastpath.py to send again."""

    representation: Representation
    body: bytes  # in the encoding its request asked for
    headers: list[tuple[str, str]]  # of the 200, every one as sent (security headers too)
    headers_304: list[tuple[str, str]]  # of the 304: the same, less the entity headers
    endpoint: str  # for the metrics
    catalogue: object  # the catalogue it was answered under: a newer one may lack the feed
    until: float | None  # Unix time from which the same request may need another variant


class FastIndex:
    """Responses by request: (path, query, host, scheme, script root, encoding, Accept), which
    is everything the Flask path reads of a request to a cached representation. Bounded in
    number, since requests may vary without end (queries, Accept headers): past MAX, it starts
    again empty. Written under the cache's lock, read without it (one dict lookup)."""

    MAX = 4096

    def __init__(self) -> None:
        self.by_request: dict[tuple, FastResponse] = {}
        self._by_entry: dict[tuple[str, str] | None, set[tuple]] = {}

    def add(self, request_key: tuple, response: FastResponse) -> None:
        if len(self.by_request) >= self.MAX:
            self.by_request, self._by_entry = {}, {}
        self.by_request[request_key] = response
        self._by_entry.setdefault(response.representation.key, set()).add(request_key)

    def drop(self, entry_key: tuple[str, str]) -> None:
        """Forget the responses of a representation evicted or replaced."""
        for request_key in self._by_entry.pop(entry_key, ()):
            self.by_request.pop(request_key, None)


@dataclass(slots=True)
class _Knowledge:
    """What this process knows of one feed's version."""

    state: FeedState
    confirmed_at: float  # the cache's clock when Redis last said this version is the current one
    trusted: bool = True  # False once a notification or a reconnection says it may have moved


class Outage:
    """Whether Redis is unreachable, as this process last found it: one warning when an outage
    starts and one line when it ends, however many requests fail in between, and the moment
    before which Redis is not worth asking again. `clock` (seconds, monotonic) is for tests."""

    def __init__(self, retry_seconds: float = RETRY_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.retry_seconds = retry_seconds
        self.clock = clock
        self._since: float | None = None
        self._retry_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def waiting(self) -> bool:
        """Whether Redis failed less than retry_seconds ago: asking again would only wait."""
        return self.clock() < self._retry_at

    def failed(self, error: Exception) -> None:
        with self._lock:
            now = self.clock()
            self._retry_at = now + self.retry_seconds
            if self._since is not None:
                return
            self._since = now
        log.warning("Redis is unreachable (%s): feeds and widgets already rendered are served "
                    "from memory, everything else answers 503 until it returns", error)

    def recovered(self) -> None:
        with self._lock:
            if self._since is None:
                return
            lasted, self._since = self.clock() - self._since, None
            self._retry_at = float("-inf")
        log.warning("Redis is reachable again after %.0f s: fresh content is served", lasted)


class RenderCache:
    """`clock` (seconds, monotonic) dates what the cache knows: catch-up, Age, the outage's
    retries. Tests pass their own, to move time on without waiting for it."""

    def __init__(self, store: FeedStore, max_bytes: int = MAX_BYTES,
                 catch_up_seconds: float = CATCH_UP_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.max_bytes = max_bytes
        self._bytes = 0  # what the entries hold, in all
        self.catch_up_seconds = catch_up_seconds
        self.clock = clock
        self._known: dict[str, _Knowledge] = {}
        # Notifications heard so far (all feeds, and per feed): a version read from Redis while
        # one arrived may predate the change it announces, so it is not trusted.
        self._heard_all = 0
        self._heard: dict[str, int] = {}
        self._entries: OrderedDict[tuple[str, str], Representation] = OrderedDict()
        # Responses as sent, for web/fastpath.py: by request (see FastIndex); dropped with
        # their representation when it is evicted or replaced.
        self.responses = FastIndex()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        # Set while the listener is subscribed, once it has forgotten what it may have missed:
        # a change committed from then on is heard. Tests wait for it.
        self.listening = threading.Event()
        self.outage = Outage(clock=clock)
        store.add_listener(self.forget)  # changes committed by this very process

    def state(self, feed_id: str) -> FeedState:
        """The feed's current version: from memory when fresh, else one Redis round trip.
        Raises StoreUnavailable when Redis cannot say (see get for what is served then)."""
        self._ensure_listening()
        known = self._known.get(feed_id)
        if known is not None and known.trusted and (
                self.clock() - known.confirmed_at < self.catch_up_seconds):
            return known.state
        if self.outage.waiting():
            raise StoreUnreachable("Redis was unreachable a moment ago")
        heard = (self._heard_all, self._heard.get(feed_id, 0))
        try:
            state = self.store.feed_state(feed_id)
        except StoreUnavailable as error:
            self.outage.failed(error)
            raise
        self.outage.recovered()
        trusted = heard == (self._heard_all, self._heard.get(feed_id, 0))
        self._known[feed_id] = _Knowledge(state, self.clock(), trusted)
        return state

    def get(self, feed_id: str, variant: str, media_type: str,
            render: Callable[[FeedState], bytes]) -> Representation:
        """The representation of `variant` at the feed's current version, rendered if needed.
        Without Redis, the last one rendered of `variant` (whatever its version), with an Age
        header; if there is none, StoreUnavailable goes up."""
        key = (feed_id, variant)
        try:
            state = self.state(feed_id)
        except StoreUnavailable:
            with self._lock:
                cached = self._entries.get(key)
            if cached is None:
                raise
            return self._stale(feed_id, cached)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and cached.state.version == state.version:
                self._entries.move_to_end(key)
                return cached
        try:
            body = render(state)  # outside the lock: other feeds keep being served meanwhile
        except StoreUnavailable as error:  # Redis went away between the version and the items
            self.outage.failed(error)
            if cached is None:
                raise
            return self._stale(feed_id, cached)
        etag = f"{feed_id}-{state.version}-{hashlib.sha256(variant.encode()).hexdigest()[:10]}"
        representation = Representation.compressed(body, media_type, etag, state,
                                                   _headers(etag, state), self.clock(), key)
        with self._lock:
            replaced = self._entries.pop(key, None)
            if replaced is not None:
                self._bytes -= replaced.size
                self.responses.drop(key)
            self._entries[key] = representation
            self._bytes += representation.size
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                evicted_key, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size
                self.responses.drop(evicted_key)
        return representation

    def current(self, representation: Representation) -> bool:
        """Whether `representation` may be served as it is, with no question to Redis: it is
        the cached one and its feed's version is trusted and fresh (what state() would return
        without a round trip). Scripts that belong to no feed are always current."""
        key = representation.key
        if key is None:
            return True
        known = self._known.get(key[0])
        return (known is not None and known.trusted
                and known.state.version == representation.state.version
                and self.clock() - known.confirmed_at < self.catch_up_seconds
                and self.listening.is_set() and self._entries.get(key) is representation)

    def remember(self, request_key: tuple, response: FastResponse) -> None:
        """Keep a response as sent for a request, if its representation is still current."""
        with self._lock:
            if self.current(response.representation):
                self.responses.add(request_key, response)

    def _stale(self, feed_id: str, cached: Representation) -> Representation:
        """`cached`, with an Age header (RFC 9111 §5.1): the seconds since its version was last
        known to be current, when it was rendered or confirmed later by Redis."""
        current_since = cached.rendered_at
        known = self._known.get(feed_id)
        if known is not None and known.state.version == cached.state.version:
            current_since = max(current_since, known.confirmed_at)
        age = max(0, int(self.clock() - current_since))
        return replace(cached, headers=(*cached.headers, ("Age", str(age))))

    def forget(self, feed_id: str | None) -> None:
        """Stop trusting what we know of a feed's version (of every feed for None): the next
        request asks Redis. The version is kept, to date the bytes served if Redis is away."""
        if feed_id is None:
            self._heard_all += 1
            for known in list(self._known.values()):  # a copy: requests add feeds meanwhile
                known.trusted = False
        else:
            self._heard[feed_id] = self._heard.get(feed_id, 0) + 1
            if (knowledge := self._known.get(feed_id)) is not None:
                knowledge.trusted = False

    def close(self) -> None:
        self._stop.set()
        self.store.remove_listener(self.forget)

    def _ensure_listening(self) -> None:
        if self._listener is None or not self._listener.is_alive():
            with self._lock:
                if self._listener is None or not self._listener.is_alive():
                    connected = threading.Event()

                    def on_change(feed_id: str | None) -> None:
                        if feed_id is None:  # (re)connected, or lost: changes may be missed
                            self.listening.clear()
                        self.forget(feed_id)
                        if feed_id is None:  # (re)connected: from now on, changes are heard
                            connected.set()

                    self._listener = threading.Thread(
                        target=self.store.watch_feed_versions,
                        args=(on_change, self._stop, self.listening.set),
                        name="feed-versions", daemon=True)
                    self._listener.start()
                    # Versions read before the listener hears changes could not be trusted;
                    # without Redis it never connects, and requests go on regardless.
                    connected.wait(LISTENER_START_SECONDS)


CACHE_CONTROL = (f"public, max-age={MAX_AGE}, stale-while-revalidate={STALE_WHILE_REVALIDATE}, "
                 f"stale-if-error={STALE_IF_ERROR}")
CORS_HEADERS = (("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Expose-Headers", "ETag, Last-Modified, Link"))


def _headers(etag: str, state: FeedState) -> tuple[tuple[str, str], ...]:
    headers = [("ETag", f'W/"{etag}"'),  # weak: the same for every encoding
               ("Cache-Control", CACHE_CONTROL)]
    if state.changed_at:
        headers.append(("Last-Modified", http_date(state.changed_at)))
    return tuple(headers)


def respond(representation: Representation, request: Request, *, cors: bool = True,
            content_type: str | None = None, vary: str = "Accept-Encoding",
            extra: tuple[tuple[str, str], ...] = (), until: float | None = None) -> Response:
    """A cacheable response: validators, 304s, compression by Accept-Encoding, CORS. Its
    headers are assembled from strings made once per representation: on the path of every
    request, werkzeug's header parsing and serialising (cache_control, vary, make_conditional)
    cost more than the rest of the request. `until` (Unix time): when the variant chosen for
    this request depends on the clock, the moment it may change (the hot path asks Flask
    again from then on)."""
    headers = [("Content-Type", content_type or representation.media_type), ("Vary", vary),
               *representation.headers, *(CORS_HEADERS if cors else ()), *extra]
    environ = request.environ
    environ[RESPONDED] = representation, request.endpoint, until  # for web/fastpath.py
    if not_modified(representation, environ):
        return Response(status=304, headers=headers)  # werkzeug drops Content-Type on a 304
    encoding = choose_encoding(environ.get("HTTP_ACCEPT_ENCODING"))
    body = encoded(representation, encoding)
    if encoding:
        headers.append(("Content-Encoding", encoding))
    return Response(body, headers=headers)


def not_modified(representation: Representation, environ: dict) -> bool:
    """RFC 9110 §13.1.3: If-None-Match (compared weakly) takes precedence over
    If-Modified-Since."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        return parse_etags(if_none_match).contains_weak(representation.etag)
    since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
    changed_at = representation.state.changed_at
    return since is not None and changed_at is not None and (
        changed_at.replace(microsecond=0) <= since)


def choose_encoding(accept_encoding: str | None) -> str:
    """The encoding to send for an Accept-Encoding header: "br", "gzip" or "" (identity).
    Clients send few distinct headers: each is parsed once."""
    if not accept_encoding:
        return ""
    chosen = _ENCODINGS.get(accept_encoding)
    if chosen is None:
        accepted = parse_accept_header(accept_encoding)
        chosen = "br" if accepted["br"] else "gzip" if accepted["gzip"] else ""
        if len(_ENCODINGS) < 1024:  # a bound: the header is the client's to vary
            _ENCODINGS[accept_encoding] = chosen
    return chosen


_ENCODINGS: dict[str, str] = {}


def encoded(representation: Representation, encoding: str) -> bytes:
    if encoding == "br":
        return representation.brotli
    return representation.gzip if encoding == "gzip" else representation.body
