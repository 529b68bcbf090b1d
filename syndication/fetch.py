"""The polite HTTP client: conditional GET, timeouts, a byte limit, a redirect limit, a User-Agent
that says who we are, and charset detection that copes with missing or wrong declarations.

`Fetcher.fetch(url, validators)` returns a `Page`, or `Unchanged` for a 304: not modified is a
normal outcome, not an error. `Fetcher.fetch_image(url, max_bytes)` returns an `ImageBody`: the
same politeness for an item's image (syndication/images.py), only image/* types accepted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from bs4.dammit import UnicodeDammit

from .errors import (
    BodyTooLarge,
    FetchTimeout,
    HTTPStatusError,
    TransportFailure,
    UndecodableBody,
    WrongContentType,
)

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
# The formats syndication/images.py decodes, best first; anything else is a last resort.
IMAGE_ACCEPT = "image/jpeg,image/png,image/webp,image/gif;q=0.9,image/*;q=0.5"


@dataclass(frozen=True, slots=True)
class Validators:
    """What a server gave us to ask "has it changed?" next time."""

    etag: str | None = None
    last_modified: str | None = None

    def request_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


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
class ImageBody:
    url: str  # after redirects
    body: bytes
    media_type: str  # as the server declared it; the decoder decides what it really is


class Fetcher:
    """One HTTP client shared by every refresh of a process (connection reuse)."""

    def __init__(self, *, user_agent: str, timeout: float, max_bytes: int, max_redirects: int):
        self.max_bytes = max_bytes
        self.client = httpx.Client(
            headers={"User-Agent": user_agent, "Accept": "text/html,application/xhtml+xml;q=0.9",
                     "Accept-Language": "fr-FR,fr;q=0.9"},
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            max_redirects=max_redirects,
        )

    def close(self) -> None:
        self.client.close()

    def fetch(self, url: str, validators: Validators | None = None) -> Page | Unchanged:
        """GET one HTML page. Raises a FetchError subclass that names the URL on failure."""
        headers = validators.request_headers() if validators else {}
        try:
            with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return Unchanged(url=str(response.url))
                if response.status_code >= 400:
                    raise HTTPStatusError(url, response.status_code)
                content_type = response.headers.get("Content-Type", "")
                media_type = content_type.split(";")[0].strip().lower()
                if media_type and media_type not in HTML_TYPES:
                    raise WrongContentType(url, f"expected HTML, got '{media_type}'")
                body = self._read_limited(url, response)
                declared_charset = response.charset_encoding
                final_url = str(response.url)
                received = Validators(etag=response.headers.get("ETag"),
                                      last_modified=response.headers.get("Last-Modified"))
        except httpx.TimeoutException:
            raise FetchTimeout(url, "timed out") from None
        except httpx.TooManyRedirects:
            raise TransportFailure(url, "too many redirects") from None
        except (httpx.TransportError, httpx.InvalidURL) as error:
            raise TransportFailure(url, f"cannot reach the server: {error}") from None
        text, encoding = decode_html(url, body, declared_charset)
        return Page(url=final_url, text=text, encoding=encoding, validators=received)

    def fetch_image(self, url: str, max_bytes: int | None = None) -> ImageBody:
        """GET one image (image/* only, at most max_bytes, by default the page limit). Raises a
        FetchError subclass that names the URL on failure."""
        try:
            with self.client.stream("GET", url, headers={"Accept": IMAGE_ACCEPT}) as response:
                if response.status_code >= 400:
                    raise HTTPStatusError(url, response.status_code)
                content_type = response.headers.get("Content-Type", "")
                media_type = content_type.split(";")[0].strip().lower()
                if not media_type.startswith("image/"):
                    raise WrongContentType(url, f"expected an image, got '{media_type}'")
                body = self._read_limited(url, response, max_bytes)
                final_url = str(response.url)
        except httpx.TimeoutException:
            raise FetchTimeout(url, "timed out") from None
        except httpx.TooManyRedirects:
            raise TransportFailure(url, "too many redirects") from None
        except (httpx.TransportError, httpx.InvalidURL) as error:
            raise TransportFailure(url, f"cannot reach the server: {error}") from None
        return ImageBody(url=final_url, body=body, media_type=media_type)

    def _read_limited(self, url: str, response: httpx.Response,
                      max_bytes: int | None = None) -> bytes:
        limit = self.max_bytes if max_bytes is None else max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(url, f"body of {declared} bytes exceeds {limit}")
        chunks, size = [], 0
        # iter_bytes decompresses, so the limit also holds against compression bombs.
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(url, f"body exceeds {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def decode_html(url: str, body: bytes, declared: str | None = None) -> tuple[str, str]:
    """Bytes → text. The HTTP charset comes first, then the BOM and <meta> declarations, then
    detection (BeautifulSoup's UnicodeDammit does the sniffing)."""
    if b"\x00" in body[:4096] and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UndecodableBody(url, "binary content where HTML was expected")
    dammit = UnicodeDammit(body, known_definite_encodings=[declared] if declared else [],
                           is_html=True)
    if dammit.unicode_markup is None or dammit.original_encoding is None:
        raise UndecodableBody(url, "cannot decode the page in any known character set")
    text = dammit.unicode_markup
    if text.count("\ufffd") > max(10, len(text) // 100):
        raise UndecodableBody(url, f"page does not decode as {dammit.original_encoding}")
    return text, dammit.original_encoding
