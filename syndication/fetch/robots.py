"""robots.txt (RFC 9309), read with protego: which URLs of a site we may fetch, and the
Crawl-delay it asks of us.

`RobotsCache.rules_for(url, name)` returns the `RobotsRules` of the URL's origin, downloading its
robots.txt at most once per ROBOTS_TTL (the fetcher's politeness applies to that request too).
What an answer means (RFC 9309, section 2.3.1):

- 2xx: the rules apply; Crawl-delay for our product token or `*` too.
- 4xx other than 429, or no file reached within five redirects: "unavailable", everything
  is allowed.
- 429, 5xx: "unreachable", nothing is allowed: pages of that origin fail with RobotsUnreachable
  until ROBOTS_RETRY (or the answer's Retry-After) has passed, without a request. A copy read
  earlier keeps applying instead, as section 2.4 allows while the file is unreachable.
- No answer at all (timeout, connection refused): the page fails as the request failed, and the
  next page tries again; an earlier copy keeps applying here too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from protego import Protego

from ..errors import FetchError, RobotsUnreachable

log = logging.getLogger(__name__)

ROBOTS_TTL = 3600.0  # seconds a robots.txt is trusted (RFC 9309: not more than 24 hours)
ROBOTS_RETRY = 600.0  # seconds before an unreachable robots.txt is asked for again
ROBOTS_MAX_BYTES = 512_000  # the RFC asks parsers to read at least 500 KiB; the rest is ignored
ROBOTS_MAX_REDIRECTS = 5  # the RFC: follow at least five
MAX_CRAWL_DELAY = 60.0  # a longer Crawl-delay is capped: one request a minute, and a warning


@dataclass(frozen=True, slots=True)
class RobotsAnswer:
    """What the server said when asked for robots.txt. status None: redirects went on past
    ROBOTS_MAX_REDIRECTS without reaching a file."""

    status: int | None
    body: bytes = b""
    retry_after: float | None = None


class RobotsRules:
    """The rules of one robots.txt for one product token (our User-Agent's first word)."""

    def __init__(self, text: str, agent: str):
        self.text, self.agent = text, agent
        self._parser = Protego.parse(text)
        delay = self._parser.crawl_delay(agent)
        self.crawl_delay = min(delay, MAX_CRAWL_DELAY) if delay else None
        if delay and delay > MAX_CRAWL_DELAY:
            log.warning("robots.txt asks for a Crawl-delay of %s s; %s s is used", delay,
                        MAX_CRAWL_DELAY)

    @classmethod
    def allow_all(cls, agent: str) -> RobotsRules:
        return cls("", agent)

    def allows(self, url: str) -> bool:
        return self._parser.can_fetch(url, self.agent)

    def rule_against(self, url: str) -> str | None:
        """The Disallow line that keeps us from `url`, for the error message: the longest
        (most specific) pattern of the group that applies to us that alone forbids it."""
        candidates = [value for value in _disallowed_patterns(self.text, self.agent)
                      if not Protego.parse(f"User-agent: *\nDisallow: {value}\n")
                      .can_fetch(url, self.agent)]
        return f"Disallow: {max(candidates, key=len)}" if candidates else None


def _disallowed_patterns(text: str, agent: str) -> list[str]:
    """Disallow values of the groups for `agent`, or else of the groups for `*` (RFC 9309,
    section 2.2.1: the product token is matched case-insensitively)."""
    groups: list[tuple[set[str], list[str]]] = []
    in_agents = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "user-agent":
            if not in_agents:
                groups.append((set(), []))
                in_agents = True
            groups[-1][0].add(value.lower())
        elif name in ("allow", "disallow") and groups:
            in_agents = False
            if name == "disallow" and value:
                groups[-1][1].append(value)
    ours = [rules for agents, rules in groups if agent.lower() in agents]
    return [value for rules in ours or [rules for agents, rules in groups if "*" in agents]
            for value in rules]


@dataclass
class _Entry:
    rules: RobotsRules | None  # None: unreachable, nothing may be fetched
    expires: float
    reason: str = ""
    read: bool = False  # the rules come from a file actually read (not a 4xx "allow all")


class RobotsCache:
    """The robots.txt of every origin the fetcher talks to, kept in memory."""

    def __init__(self, agent: str, download: Callable[[str, str], RobotsAnswer],
                 clock: Callable[[], float] = time.monotonic):
        self.agent = agent
        self._download, self._clock = download, clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def rules_for(self, url: str, name: str) -> RobotsRules:
        """The rules for `url`'s origin; errors name `name` (the URL asked for)."""
        origin = origin_of(url)
        with self._origin_lock(origin):  # one download per origin, however many threads ask
            entry = self._entries.get(origin)
            now = self._clock()
            if entry is None or now >= entry.expires:
                entry = self._refresh(origin, entry, name, now)
        if entry.rules is None:
            raise RobotsUnreachable(name, entry.reason, max(0.0, entry.expires - self._clock()))
        return entry.rules

    def _refresh(self, origin: str, previous: _Entry | None, name: str, now: float) -> _Entry:
        robots_url = origin + "/robots.txt"
        try:
            answer = self._download(robots_url, name)
        except (httpx.HTTPError, FetchError):
            if previous is None or previous.rules is None or not previous.read:
                raise  # nothing is cached: the next page asks again
            log.warning("%s cannot be read; the copy read earlier still applies", robots_url)
            entry = _Entry(previous.rules, now + ROBOTS_RETRY, read=True)
            self._entries[origin] = entry
            return entry
        status = answer.status
        if status is not None and 200 <= status < 300:
            text = _decode(answer.body)
            entry = _Entry(RobotsRules(text, self.agent), now + ROBOTS_TTL, read=True)
        elif status == 429 or (status is not None and status >= 500):
            retry = answer.retry_after if answer.retry_after is not None else ROBOTS_RETRY
            if previous is not None and previous.rules is not None and previous.read:
                log.warning("%s answered HTTP %d; the copy read earlier still applies",
                            robots_url, status)
                entry = _Entry(previous.rules, now + retry, read=True)
            else:
                log.warning("%s answered HTTP %d: nothing is fetched there for %d s",
                            robots_url, status, retry)
                entry = _Entry(None, now + retry,
                               f"robots.txt answered HTTP {status}: the site is not crawled "
                               f"until it can be read")
        else:  # 4xx, or too many redirects: no robots.txt, so no restriction
            entry = _Entry(RobotsRules.allow_all(self.agent), now + ROBOTS_TTL)
        self._entries[origin] = entry
        return entry

    def _origin_lock(self, origin: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(origin, threading.Lock())


def origin_of(url: str) -> str:
    """scheme://host[:port] as robots.txt scopes it (RFC 9309, section 2.3: per authority)."""
    parsed = httpx.URL(url)
    host = parsed.raw_host.decode("ascii").lower()
    host = f"[{host}]" if ":" in host else host
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{host}{port}"


def _decode(body: bytes) -> str:
    if len(body) >= ROBOTS_MAX_BYTES:  # cut at the last full line
        body = body[:ROBOTS_MAX_BYTES].rsplit(b"\n", 1)[0]
    return body.decode("utf-8", errors="replace").lstrip("\ufeff")
