"""Bearer tokens: the operator's (SYNDICATION_ADMIN_TOKEN) and publishers' push tokens (issued
through the operator API, kept in Redis as digests). Tokens are never logged.

The operator token is accepted only from SYNDICATION_ADMIN_NETWORKS (loopback by default): a
token that leaked, or the demo's documented one, gives nothing to the rest of the network.
Behind a proxy, the client is the address X-Forwarded-For names, when the request comes from
one of SYNDICATION_TRUSTED_PROXIES. Failed authentications are counted (/metrics) and, past
MAX_FAILURES within FAILURE_WINDOW seconds from one address, answered 429 until the window
moves on: guessing a token costs time."""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import lru_cache
from ipaddress import IPv6Address, ip_address
from typing import Any

from flask import current_app, json, request

from ..errors import (
    Forbidden,
    InvalidParameter,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from ..fetch.addresses import Allowed, parse_networks
from ..store.sources import PushToken
from . import runtime

FAILURE_WINDOW = 60.0  # seconds
MAX_FAILURES = 10  # failed authentications from one address within the window
MAX_TRACKED = 10_000  # addresses remembered


class Failures:
    """Failed authentications per client address, in this process. At most MAX_TRACKED
    addresses are remembered (the oldest go first), so spraying addresses costs no memory."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._times: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, address: str) -> None:
        """TooManyRequests while `address` is over the limit."""
        with self._lock:
            times = self._times.get(address)
            if times is None:
                return
            while times and times[0] <= self._clock() - FAILURE_WINDOW:
                times.popleft()
            if not times:
                del self._times[address]
            elif len(times) >= MAX_FAILURES:
                raise TooManyRequests("too many failed authentications from this address; "
                                      "try again later", times[0] + FAILURE_WINDOW - self._clock())

    def record(self, address: str) -> None:
        with self._lock:
            if address not in self._times and len(self._times) >= MAX_TRACKED:
                del self._times[next(iter(self._times))]
            self._times.setdefault(address, deque(maxlen=MAX_FAILURES)).append(self._clock())


@lru_cache(maxsize=16)
def _networks(value: str, setting: str) -> tuple[Allowed, ...]:
    return parse_networks(value, setting)


def client_address() -> str:
    """The client's address: the connecting one, or, from a trusted proxy, the last address in
    X-Forwarded-For that is not a trusted proxy itself."""
    settings = runtime().settings
    proxies = _networks(settings.trusted_proxies, "trusted_proxies")
    chain = [request.remote_addr or ""]
    if proxies:
        forwarded = request.headers.getlist("X-Forwarded-For")
        chain = [part.strip() for header in forwarded for part in header.split(",")] + chain
    for candidate in reversed(chain):
        if not _within(candidate, proxies):
            return candidate
    return chain[0]


def _within(address: str, networks: tuple[Allowed, ...]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped:
        parsed = parsed.ipv4_mapped
    return any(allowed.admits(parsed, None) for allowed in networks)


def _bearer(address: str) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("this request needs an 'Authorization: Bearer <token>' header")
    _failures().check(address)
    return token.strip()


def _refuse(address: str, reason: str) -> Unauthorized:
    """Count a failed authentication; the error to raise."""
    _failures().record(address)
    current_app.extensions["syndication.metrics"].auth_failures.labels(reason).inc()
    return Unauthorized("unknown token")


def _failures() -> Failures:
    return current_app.extensions.setdefault("syndication.auth_failures", Failures())


def is_admin(token: str, address: str) -> bool:
    """Whether `token` is the operator's, presented from an operator network."""
    settings = runtime().settings
    return (bool(settings.admin_token)
            and hmac.compare_digest(token.encode(), settings.admin_token.encode())
            and _within(address, _networks(settings.admin_networks, "admin_networks")))


def from_operator() -> bool:
    """Whether this request carries the operator's token. Routes open to everyone show the
    operator more (the text of errors); any other token, or none, gets the public answer."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (scheme.lower() == "bearer" and bool(token.strip())
            and is_admin(token.strip(), client_address()))


def require_admin() -> None:
    settings = runtime().settings
    if not settings.admin_token:
        raise Forbidden("the operator API is off: set SYNDICATION_ADMIN_TOKEN to use it")
    address = client_address()
    if not _within(address, _networks(settings.admin_networks, "admin_networks")):
        raise Forbidden("the operator API answers requests from SYNDICATION_ADMIN_NETWORKS "
                        "only")
    if not is_admin(_bearer(address), address):
        raise _refuse(address, "operator")


def require_pusher() -> PushToken | None:
    """The publisher's token, or None for the operator (who may push to any push source)."""
    address = client_address()
    token = _bearer(address)
    if is_admin(token, address):
        return None
    found = runtime().registry.token(token)
    if found is None:
        raise _refuse(address, "push")
    return found


def json_body(max_bytes: int | None = None) -> Any:
    """The request's JSON body, within the byte limit; clear errors otherwise."""
    limit = max_bytes or runtime().settings.push_max_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body has {request.content_length} bytes; at most {limit} "
                              "are accepted")
    if not request.is_json:
        raise UnsupportedMediaType("the body must be JSON (Content-Type: application/json)")
    data = request.stream.read(limit + 1)  # a body sent without Content-Length is bounded too
    if len(data) > limit:
        raise PayloadTooLarge(f"the body has more than {limit} bytes")
    try:
        return json.loads(data)
    except ValueError as error:
        raise InvalidParameter("body", f"not valid JSON: {error}") from None
    except RecursionError:  # "[[[[…": nested deeper than the parser goes
        raise InvalidParameter("body", "JSON nested too deeply") from None
