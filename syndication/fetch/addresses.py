"""Untrusted URLs: where a URL may send a request from this service.

Pages link to URLs nobody here chose, and WebSub subscribers name their own callbacks. Such a
URL must not make the service reach its own machine or network (a metadata service on
169.254.169.254, an admin port on loopback, a database on 10.x): `check_url` admits http(s) URLs
whose host resolves to a public address, or to a network the operator admitted, and returns the
address to send to. `pinned_request` then sends there and nowhere else, so a second DNS lookup
cannot answer differently (DNS rebinding). Users: fetch/client.py (pages, images, every
redirect hop, robots.txt) and websub/protocol.py (callbacks).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx

from .. import links
from ..errors import ConfigError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class URLRefused(Exception):
    """A URL this service will not send a request to; the message says why."""


class UnresolvableHost(URLRefused):
    """DNS has no address for the URL's host."""


class Allowed(NamedTuple):
    """A network the operator admits, on one port or (None) on every port."""

    network: Network
    port: int | None = None

    def admits(self, address: Address, port: int | None) -> bool:
        return address in self.network and self.port in (None, port)


_WITH_PORT = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<other>[^:]+))(?::(?P<port>\d{1,5}))?$")


def parse_networks(value: str, setting: str) -> tuple[Allowed, ...]:
    """'127.0.0.0/8, [::1]:8300, 10.0.0.5:9000, localhost:8300, fd00::/8' → what the operator
    admits: a network (CIDR) or a host (an address, or a name resolved now), each on every port
    or on one (`:port`; an IPv6 address with a port goes in brackets). Raises ConfigError naming
    the setting."""
    allowed: list[Allowed] = []
    for part in (p.strip() for p in value.replace(";", ",").split(",")):
        if not part:
            continue
        match = _WITH_PORT.match(part)
        try:
            if match is None:  # an IPv6 network without brackets, on every port
                allowed.append(Allowed(ipaddress.ip_network(part, strict=False)))
                continue
            port = int(match["port"]) if match["port"] else None
            if port is not None and not 0 < port < 65536:
                raise ValueError(part)
            allowed += [Allowed(network, port) for network in _networks_of(
                match["v6"] or match["other"])]
        except (ValueError, OSError, UnicodeError):
            raise ConfigError(f"'{part}' is not a network or host (like 127.0.0.0/8, "
                              f"[::1]:8300 or localhost:8300)", field=setting) from None
    return tuple(allowed)


def _networks_of(host: str) -> list[Network]:
    """A CIDR network, an address (as a network of one), or the addresses a name resolves to."""
    try:
        return [ipaddress.ip_network(host, strict=False)]
    except ValueError:
        if not re.fullmatch(r"[A-Za-z0-9.-]+", host):
            raise
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_network(info[4][0]) for info in infos))


def is_admitted(address: Address, allowed_networks: tuple[Allowed, ...] = (),
                port: int | None = None) -> bool:
    """Whether a request may go to this address (on this port): a public one, or one the
    operator admitted (links.py: the one answer for requests and for links)."""
    return links.is_admitted(address, allowed_networks, port)


def check_url(url: str, allowed_networks: tuple[Allowed, ...] = ()) -> Address:
    """The address to send requests for `url` to; raises URLRefused when the URL is not
    http(s), carries credentials, or its host resolves to no admitted address."""
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise URLRefused("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port or default_port(parts.scheme)  # ValueError when out of range
    except ValueError:
        raise URLRefused("is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise URLRefused("must be an http or https URL")
    if parts.username is not None or parts.password is not None:
        raise URLRefused("must not carry credentials (user:password@)")
    try:
        host = httpx.URL(url).raw_host.decode("ascii")  # IDNA-encoded, as DNS knows it
    except (httpx.InvalidURL, UnicodeError):
        raise URLRefused("is not a valid URL") from None
    if not host:
        raise URLRefused("must name a host")
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnresolvableHost(f"its host '{host}' cannot be resolved") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    for address in addresses:
        if is_admitted(address, allowed_networks, port):
            return address
    raise URLRefused(f"its host '{host}' resolves to a private, loopback, link-local, "
                     f"multicast or reserved address ({addresses[0]}) outside the allowed "
                     f"networks")


def default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def pinned_request(client: httpx.Client, method: str, url: str, address: Address,
                   **kwargs: Any) -> httpx.Request:
    """A request for `url` sent to `address`, with the URL's Host and TLS server name (the
    certificate is still checked against the URL's host)."""
    parsed = httpx.URL(url)
    headers = {"Host": parsed.netloc.decode("ascii"), **kwargs.pop("headers", {})}
    extensions = {"sni_hostname": parsed.raw_host.decode("ascii")} if parsed.scheme == "https" \
        else {}
    return client.build_request(method, parsed.copy_with(host=str(address)), headers=headers,
                                extensions=extensions, **kwargs)
