"""The polite HTTP client: conditional GET, timeouts, a byte limit, a redirect limit, a User-Agent
that says who we are, robots.txt, one request at a time per origin with a minimum delay,
Retry-After honoured, untrusted URLs checked, and charset detection that copes with missing or wrong
declarations.

`Fetcher.fetch(url, validators)` returns a `Page`, or `Unchanged` for a 304: not modified is a
normal outcome, not an error. `Fetcher.fetch_feed(url, validators)` does the same for a feed or
a sitemap (XML and JSON types only) and returns its bytes. `Fetcher.fetch_image(url, max_bytes)`
returns an `ImageBody`: the same politeness for an item's image (syndication/images.py), only
image/* types accepted.

Every request, each redirect hop included, goes through `_open`:

1. the URL must be http(s) and its host resolve to a public address, or to a network of the
   setting fetch_allowed_networks (addresses.py); the request then goes to that very
   address. Refused: RefusedAddress, nothing sent.
2. an origin (scheme, host, port) that answered 429 or 503 with Retry-After is not contacted
   before that time: RateLimited at once, for every page of it (pacing.py).
3. the origin's robots.txt (downloaded once an hour, robots.py) must allow the URL:
   RobotsDisallowed names the rule, and nothing is sent.
4. one request at a time per origin, at least host_delay seconds (or the robots.txt Crawl-delay
   when longer) after the previous one ended.

Redirects are followed here, not by httpx, so that each hop passes all four. Each request (each
hop) has `timeout` seconds in all, from connecting to its body's last byte (budget.py's
`TimeBudget`): httpx's own timeouts bound each read, not the whole, and a server that sends a
byte a second would otherwise hold a fetch for ever.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from ..errors import (
    BodyTooLarge,
    ConfigError,
    FetchTimeout,
    HTTPStatusError,
    RateLimited,
    RefusedAddress,
    RobotsDisallowed,
    TooManyRedirects,
    TransportFailure,
    UndecodableBody,
    WrongContentType,
    transport_kind,
)
from ..settings import Settings
from ..state import Validators
from .addresses import (
    Address,
    Allowed,
    UnresolvableHost,
    URLRefused,
    check_url,
    parse_networks,
    pinned_request,
)
from .budget import TimeBudget
from .charset import decode_html
from .pacing import HostPacing, LocalPacing
from .robots import (
    ROBOTS_MAX_BYTES,
    ROBOTS_MAX_REDIRECTS,
    RobotsAnswer,
    RobotsCache,
    origin_of,
)

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Feeds (RSS, Atom, JSON Feed) and sitemaps: fetch_feed accepts these and nothing else.
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml",
              "application/xml", "text/xml", "application/feed+json", "application/json")
CALENDAR_TYPES = ("text/calendar", "application/ics", "text/plain", "application/octet-stream")
FEED_ACCEPT = ("application/rss+xml,application/atom+xml,application/feed+json,"
               "application/xml;q=0.9,text/xml;q=0.9,application/json;q=0.8")
# The formats syndication/images.py decodes, best first; anything else is a last resort.
IMAGE_ACCEPT = "image/jpeg,image/png,image/webp,image/gif;q=0.9,image/*;q=0.5"
# Compressed bodies are inflated here (_decoded), a step at a time, not by httpx, which inflates
# each network read whole: 64 KB of a gzip bomb are 64 MB, of a brotli one gigabytes.
ACCEPT_ENCODING = "gzip, deflate"
INFLATE_STEP = 65_536  # bytes of decompressed body at a time
REDIRECTS = (301, 302, 303, 307, 308)
RETRY_AFTER_STATUSES = (429, 503)
MAX_RETRY_AFTER = 86_400.0  # a longer Retry-After is read as a day
@dataclass(frozen=True, slots=True)
class Page:
    url: str  # after redirects
    text: str
    encoding: str
    validators: Validators


@dataclass(frozen=True, slots=True)
class Unchanged:
    url: str


@dataclass(frozen=True, slots=True)
class FeedBody:
    url: str  # after redirects
    body: bytes
    media_type: str
    validators: Validators


@dataclass(frozen=True, slots=True)
class ImageBody:
    url: str  # after redirects
    body: bytes
    media_type: str  # as the server declared it; the decoder decides what it really is


@dataclass(frozen=True, slots=True)
class _Received:
    """A 2xx answer of an accepted type, read within the byte limit."""

    url: str  # after redirects
    body: bytes
    media_type: str
    charset: str | None
    validators: Validators


class Fetcher:
    """One HTTP client shared by every refresh of a process, and with it the politeness state:
    robots.txt per origin, pacing and Retry-After holds per origin."""

    def __init__(self, *, user_agent: str, timeout: float, max_bytes: int, max_redirects: int,
                 allowed_networks: tuple[Allowed, ...] = (),
                 host_delay: float = Settings.host_delay, pacing: HostPacing | None = None):
        self.timeout, self.max_bytes, self.max_redirects = timeout, max_bytes, max_redirects
        self.allowed_networks, self.host_delay = allowed_networks, host_delay
        self.pacing = pacing or LocalPacing()
        # The product token robots.txt groups name: "SyndicationBot" of "SyndicationBot/0.1 (…)".
        self.robots = RobotsCache(user_agent.split("/")[0].split()[0], self._download_robots)
        self.client = httpx.Client(
            headers={"User-Agent": user_agent, "Accept": "text/html,application/xhtml+xml;q=0.9",
                     "Accept-Language": "fr-FR,fr;q=0.9", "Accept-Encoding": ACCEPT_ENCODING},
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,  # followed in _open, each hop checked
            trust_env=False,  # an environment proxy would bypass the address check
            # Requests go to the checked address (pinned_request), so the pool knows connections
            # by IP address: one kept alive for a TLS host could serve another host on that IP.
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    @classmethod
    def from_settings(cls, settings: Settings, pacing: HostPacing | None = None) -> Fetcher:
        if settings.host_delay < 0:
            raise ConfigError(f"host_delay must be 0 or more seconds, not {settings.host_delay}",
                              field="host_delay")
        return cls(user_agent=settings.user_agent, timeout=settings.fetch_timeout,
                   max_bytes=settings.max_page_bytes, max_redirects=settings.max_redirects,
                   allowed_networks=parse_networks(settings.fetch_allowed_networks,
                                                   "fetch_allowed_networks"),
                   host_delay=settings.host_delay, pacing=pacing)

    def close(self) -> None:
        self.client.close()

    def fetch(self, url: str, validators: Validators | None = None) -> Page | Unchanged:
        """GET one HTML page. Raises a FetchError subclass that names the URL on failure."""
        got = self._get(url, {}, validators, lambda media: media in HTML_TYPES, "HTML")
        if isinstance(got, Unchanged):
            return got
        text, encoding = decode_html(url, got.body, got.charset)
        return Page(url=got.url, text=text, encoding=encoding, validators=got.validators)

    def fetch_feed(self, url: str, validators: Validators | None = None) -> FeedBody | Unchanged:
        """GET a feed or a sitemap (XML or JSON types only), with the same politeness and limits
        as a page; the body is kept as bytes, for the parser to decode as its format says."""
        got = self._get(url, {"Accept": FEED_ACCEPT}, validators,
                        lambda media: media in FEED_TYPES, "a feed or a sitemap")
        if isinstance(got, Unchanged):
            return got
        return FeedBody(url=got.url, body=got.body, media_type=got.media_type,
                        validators=got.validators)

    def fetch_calendar(self, url: str, validators: Validators | None) -> FeedBody | Unchanged:
        """GET an iCalendar file: text/calendar, or a generic type many servers give .ics."""
        got = self._get(url, {"Accept": "text/calendar,*/*;q=0.5"}, validators,
                        lambda media: media in CALENDAR_TYPES, "an iCalendar file")
        return got if isinstance(got, Unchanged) else FeedBody(
            url=got.url, body=got.body, media_type=got.media_type, validators=got.validators)

    def fetch_image(self, url: str, max_bytes: int | None = None) -> ImageBody:
        """GET one image (image/* only, at most max_bytes, by default the page limit). Raises a
        FetchError subclass that names the URL on failure."""
        got = self._get(url, {"Accept": IMAGE_ACCEPT}, None,
                        lambda media: media.startswith("image/"), "an image", max_bytes,
                        lenient=False)
        assert not isinstance(got, Unchanged)  # no validators sent
        return ImageBody(url=got.url, body=got.body, media_type=got.media_type)

    def _get(self, url: str, headers: dict[str, str], validators: Validators | None,
             accepts: Callable[[str], bool], expected: str, max_bytes: int | None = None,
             *, lenient: bool = True) -> _Received | Unchanged:
        """The one GET every kind of fetch shares: conditional when validators are given, the
        media type checked (a missing one is let through when `lenient`), the body size-limited.
        """
        if validators:
            headers = {**headers, **validators.request_headers()}
        with _transport_errors(url), self._open(url, headers) as exchange:
            response = exchange.response
            if response.status_code == 304:
                return Unchanged(url=exchange.url)
            if response.status_code >= 400:
                raise _status_error(url, exchange)
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if (media_type or not lenient) and not accepts(media_type):
                raise WrongContentType(url, f"expected {expected}, got '{media_type}'")
            body = self._read_limited(url, response, max_bytes)
            return _Received(url=exchange.url, body=body, media_type=media_type,
                             charset=response.charset_encoding,
                             validators=Validators(etag=response.headers.get("ETag"),
                                                   last_modified=response.headers.get(
                                                       "Last-Modified")))

    @contextmanager
    def _open(self, url: str, headers: dict[str, str], *, name: str | None = None,
              robots: bool = True, max_redirects: int | None = None) -> Iterator[_Exchange]:
        """GET `url` politely (see the module's docstring), following redirects; the body is
        read inside the block, while this host's turn lasts. Errors name `name` (the URL a
        caller asked for). robots=False: for robots.txt itself."""
        name = name or url
        limit = self.max_redirects if max_redirects is None else max_redirects
        current = url
        for hop in range(limit + 1):
            address = self._check_address(name, current, redirected=hop > 0)
            # Holds and turns are per origin (scheme, host, port), as robots.txt is: two
            # services on one machine are two sites.
            host = origin_of(current)
            self._check_hold(name, host)
            interval = self.host_delay
            if robots:
                rules = self.robots.rules_for(current, name)
                if not rules.allows(current):
                    raise RobotsDisallowed(name, rules.rule_against(current),
                                           hop=current if hop else None)
                interval = max(interval, rules.crawl_delay or 0.0)
            # The budget starts with our turn: waiting for it is no fault of the server's.
            with self.pacing.turn(host, interval), TimeBudget(name, self.timeout) as budget:
                self._check_hold(name, host)  # set by another thread while this one waited
                request = pinned_request(self.client, "GET", current, address, headers=headers)
                request.extensions["trace"] = budget.trace
                try:
                    response = self.client.send(request, stream=True)
                except httpx.InvalidURL:
                    # httpx prepares the next request of a redirect it does not follow: a
                    # Location of another scheme (javascript:, data:) fails there, unsent.
                    raise RefusedAddress(name, f"URL refused: redirect from {current} to a "
                                               "URL that is not http(s)") from None
                try:
                    location = response.headers.get("Location")
                    if response.status_code not in REDIRECTS or not location:
                        retry_after = None
                        if response.status_code in RETRY_AFTER_STATUSES:
                            retry_after = parse_retry_after(response.headers.get("Retry-After"))
                            if retry_after is not None:
                                self.pacing.hold(host, retry_after, response.status_code)
                        yield _Exchange(response, current, retry_after)
                        return
                finally:
                    response.close()
            current = _redirect_target(name, current, location)
        raise TooManyRedirects(name, "too many redirects")

    def _check_address(self, name: str, url: str, *, redirected: bool) -> Address:
        hop = f"redirect to {url}: " if redirected else ""
        try:
            return check_url(url, self.allowed_networks)
        except UnresolvableHost as error:  # no refusal: the server cannot be reached
            raise TransportFailure(name, f"cannot reach the server: {hop}{error}",
                                   kind="dns") from None
        except URLRefused as error:
            raise RefusedAddress(name, f"URL refused: {hop}{error}") from None

    def _check_hold(self, name: str, host: str) -> None:
        hold = self.pacing.held(host)
        if hold is not None:
            raise RateLimited(name, hold.status, hold.remaining, earlier=True)

    def _download_robots(self, robots_url: str, name: str) -> RobotsAnswer:
        try:
            with self._open(robots_url, {"Accept": "text/plain,*/*;q=0.5"}, name=name,
                            robots=False, max_redirects=ROBOTS_MAX_REDIRECTS) as exchange:
                status = exchange.response.status_code
                body = (_read_at_most(name, exchange.response, ROBOTS_MAX_BYTES)
                        if 200 <= status < 300 else b"")
                return RobotsAnswer(status, body, exchange.retry_after)
        except TooManyRedirects:
            return RobotsAnswer(None)

    def _read_limited(self, url: str, response: httpx.Response,
                      max_bytes: int | None = None) -> bytes:
        limit = self.max_bytes if max_bytes is None else max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(url, f"body of {declared} bytes exceeds {limit}")
        chunks, size = [], 0
        # Counted decompressed, a step at a time: the limit also holds against compression bombs.
        for chunk in _decoded(url, response):
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(url, f"body exceeds {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class _Exchange:
    response: httpx.Response
    url: str  # the URL answered, after redirects
    retry_after: float | None  # seconds, from the Retry-After of a 429 or 503


@contextmanager
def _transport_errors(url: str) -> Iterator[None]:
    """httpx's exceptions as FetchErrors naming the URL."""
    try:
        yield
    except httpx.TimeoutException:
        raise FetchTimeout(url, "timed out") from None
    except (httpx.TransportError, httpx.InvalidURL) as error:
        raise TransportFailure(url, f"cannot reach the server: {error}",
                               kind=transport_kind(error)) from None



def _status_error(url: str, exchange: _Exchange) -> HTTPStatusError:
    status = exchange.response.status_code
    if exchange.retry_after is not None:
        return RateLimited(url, status, exchange.retry_after)
    return HTTPStatusError(url, status)


def _redirect_target(name: str, current: str, location: str) -> str:
    try:
        return str(httpx.URL(current).join(location).copy_with(fragment=None))
    except (httpx.InvalidURL, UnicodeError):
        raise TransportFailure(name, f"redirect to an invalid URL '{location[:200]}'") from None


def _read_at_most(url: str, response: httpx.Response, limit: int) -> bytes:
    chunks, size = [], 0
    for chunk in _decoded(url, response):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _decoded(url: str, response: httpx.Response) -> Iterator[bytes]:
    """The body as its Content-Encoding (gzip or deflate, as we accept) says, decompressed at most
    INFLATE_STEP bytes at a time, so that whoever reads it can stop at its limit."""
    coding = response.headers.get("Content-Encoding", "").strip().lower()
    if coding in ("", "identity"):
        yield from response.iter_raw()
        return
    if coding not in ("gzip", "x-gzip", "deflate"):
        raise UndecodableBody(url, f"body in an encoding we did not ask for: '{coding[:50]}'")
    inflater = zlib.decompressobj(32 + zlib.MAX_WBITS)  # 32: a gzip or a zlib header, either
    try:
        for raw in response.iter_raw():
            while raw:
                yield inflater.decompress(raw, INFLATE_STEP)
                raw = inflater.unconsumed_tail
        yield inflater.flush()
    except zlib.error as error:
        raise UndecodableBody(url, f"{coding} body cannot be decompressed: {error}") from None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (RFC 9110, section 10.2.3: a number of seconds
    or an HTTP date), at most MAX_RETRY_AFTER; None when absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return min(float(value[:12]), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, min(seconds, MAX_RETRY_AFTER))
