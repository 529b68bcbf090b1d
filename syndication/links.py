"""Which addresses are public: one answer for the links handed to readers and the requests the
service sends. Pure, no I/O. Entry points: `public_link(url, allowed)` (normalise: what an item
may link to or show), `is_admitted(address, allowed, port)` (fetch/addresses.py and the WebSub
hub: where a request may go) and `host_address(host)` (a URL's host as the address a browser
would reach).

A browser reads more than dotted quads as IPv4 addresses (WHATWG URL, "IPv4 parser"):
`http://2130706433/`, `http://0x7f.1/`, `http://0177.0.0.1/` and `http://127.1/` are all
127.0.0.1, and so is `http://%31%32%37.0.0.1/` once percent-decoded. An IPv6 address may carry
an IPv4 one (mapped, 6to4, Teredo, NAT64, IPv4-compatible) that a gateway would reach: it must
pass too.
"""

from __future__ import annotations

import re
import unicodedata
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from urllib.parse import unquote, urlsplit

Address = IPv4Address | IPv6Address
# What the operator admits although private: (network, port or None for every port) pairs, as
# fetch/addresses.py's Allowed holds them (the setting fetch_allowed_networks).
Networks = tuple[tuple[IPv4Network | IPv6Network, int | None], ...]

LOCAL_NAMES = ("localhost", "localhost.localdomain")
_NAT64 = ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ip_network("::/96")
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})  # dots IDNA maps to "."
_NUMBER = re.compile(r"(?:0[xX][0-9a-fA-F]*|[0-9]+)")
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def public_link(url: str, allowed_networks: Networks = ()) -> str | None:
    """`url` if it may be handed to readers: http(s), a host, no user info, no control or
    other character XML cannot carry, and no address the fetcher would refuse (private,
    loopback, link-local, cloud metadata..., in any spelling a browser reads) unless the
    operator admits its network. Names are not resolved here (no I/O): the fetcher checks where
    they lead when it fetches them."""
    if _CONTROL.search(url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range
        address = host_address(parts.hostname or "")
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return None
    if address is None:
        return url  # a name
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return url if is_admitted(address, allowed_networks, port) else None


def host_address(host: str) -> Address | None:
    """The address a URL's host stands for, as a browser reads it: an IPv6 literal, an IPv4
    address in any of the forms the WHATWG URL standard reads (decimal, octal, hexadecimal, one
    to four parts), or localhost; None for a name. Raises ValueError for a host a browser
    refuses (a last label that is a number but no IPv4 address, like 256.1.1.1)."""
    host = unicodedata.normalize("NFKC", unquote(host)).translate(_DOTS).lower().strip("[]")
    if ":" in host:
        return ip_address(host)  # IPv6 (ValueError when it is none)
    name = host.removesuffix(".")
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return IPv4Address("127.0.0.1")
    labels = name.split(".")
    if not _NUMBER.fullmatch(labels[-1]):
        return None  # a name
    return IPv4Address(_ipv4_number(labels))


def _ipv4_number(labels: list[str]) -> int:
    """WHATWG's IPv4 parser: "0x7f.1" → 2130706433. ValueError when it is no address."""
    if len(labels) > 4:
        raise ValueError("more than four parts")
    numbers = []
    for label in labels:
        if not _NUMBER.fullmatch(label) or len(label) > 12:
            raise ValueError(f"not a number: {label!r}")
        if label[:2].lower() == "0x":
            numbers.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label.startswith("0"):
            numbers.append(int(label, 8))  # ValueError for 8 and 9
        else:
            numbers.append(int(label))
    *leading, last = numbers
    if any(number > 255 for number in leading) or last >= 256 ** (5 - len(numbers)):
        raise ValueError("part out of range")
    return sum(number << 8 * (3 - position) for position, number in enumerate(leading)) + last


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one carries, which a gateway or the kernel would reach."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_admitted(address: Address, allowed_networks: Networks = (),
                port: int | None = None) -> bool:
    """Whether a request may go to this address (on this port), or a reader be sent there: a
    public one, or one the operator admitted."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in network and allowed in (None, port)
           for network, allowed in allowed_networks):
        return True
    if isinstance(address, IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded is not None and not is_admitted(embedded, allowed_networks, port):
            return False
    return address.is_global and not (
        address.is_private or address.is_loopback or address.is_link_local
        or address.is_multicast or address.is_reserved or address.is_unspecified)
