"""One exception hierarchy. Each error names the thing it concerns (a URL, a file, a field)."""

from __future__ import annotations

import errno
import ssl
import traceback


class SyndicationError(Exception):
    """Root of every error the service raises on purpose."""


class ConfigError(SyndicationError):
    """Invalid settings or feeds/*.toml; stops start-up."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.file, self.line, self.field = file, line, field
        self.message = message  # without the location, for answers that name the field apart
        where = ":".join(str(part) for part in (file, line) if part is not None)
        prefix = f"{where}: " if where else ""
        suffix = f" (field '{field}')" if field else ""
        super().__init__(f"{prefix}{message}{suffix}")


class FetchError(SyndicationError):
    """A page could not be fetched or is not usable as HTML."""

    kind = "fetch"
    # Seconds before the site should be asked again, when it said so (Retry-After) or when
    # robots.txt could not be read; None: the usual back-off applies.
    retry_after: float | None = None

    def __init__(self, url: str, message: str):
        self.url = url
        super().__init__(f"{message} ({url})")


class FetchTimeout(FetchError):
    kind = "timeout"


class TransportFailure(FetchError):
    """DNS, connection refused, TLS, too many redirects: the server could not be reached.
    `kind` says which when known: "dns" (no address for the host), "connection-refused",
    "tls" (the secure connection failed: certificate, protocol); "unreachable" otherwise."""

    kind = "unreachable"

    def __init__(self, url: str, message: str, *, kind: str | None = None):
        if kind is not None:
            self.kind = kind
        super().__init__(url, message)


def transport_kind(error: BaseException) -> str | None:
    """What failed under httpx's exception, from the exceptions it wraps: a refused connection
    or TLS (a certificate, a protocol); None when neither."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return "tls"
        if isinstance(current, ConnectionRefusedError) or (
                isinstance(current, OSError) and current.errno == errno.ECONNREFUSED):
            return "connection-refused"
        current = current.__cause__ or current.__context__
    return None


class TooManyRedirects(TransportFailure):
    """More redirects than max_redirects (a loop, most often)."""


class HTTPStatusError(FetchError):
    kind = "http-status"

    def __init__(self, url: str, status: int):
        self.status = status
        super().__init__(url, f"HTTP {status}")


class RateLimited(HTTPStatusError):
    """429 or 503 with Retry-After: the host is not asked again before retry_after seconds."""

    kind = "rate-limited"

    def __init__(self, url: str, status: int, retry_after: float, *, earlier: bool = False):
        self.status, self.retry_after = status, retry_after
        said = "answered" if not earlier else "answered earlier"
        FetchError.__init__(self, url, f"HTTP {status}: the host {said} to wait; not contacted "
                                       f"again for {retry_after:.0f} s")


class RobotsDisallowed(FetchError):
    """The host's robots.txt does not let us fetch this URL."""

    kind = "robots"

    def __init__(self, url: str, rule: str | None, hop: str | None = None):
        self.rule = rule
        which = f"rule '{rule}'" if rule else "its rules"
        what = f"the redirect to {hop}" if hop and hop != url else "it"
        super().__init__(url, f"robots.txt disallows {what} ({which})")


class RobotsUnreachable(FetchError):
    """The host's robots.txt answered with a server error: nothing is fetched there until it
    can be read (RFC 9309, section 2.3.1.4)."""

    kind = "robots-unreachable"

    def __init__(self, url: str, message: str, retry_after: float):
        self.retry_after = retry_after
        super().__init__(url, message)


class RefusedAddress(FetchError):
    """The URL (or a redirect to one) is not http(s), or leads to a private, loopback,
    link-local or reserved address outside the operator's allowed networks."""

    kind = "refused-address"


class WrongContentType(FetchError):
    kind = "content-type"


class BodyTooLarge(FetchError):
    kind = "too-large"


class UndecodableBody(FetchError):
    kind = "undecodable"


class ExtractionFailed(SyndicationError):
    """A page was fetched but nothing usable came out of it."""

    kind = "extraction"

    def __init__(self, url: str, message: str):
        self.url = url
        super().__init__(f"{message} ({url})")


class MalformedFeed(ExtractionFailed):
    """A feed or sitemap that cannot be parsed, or that declares XML entities (refused: entity
    expansion attacks)."""

    kind = "malformed-feed"


class NotFound(SyndicationError):
    """An unknown feed, source or item was asked for (HTTP 404)."""

    def __init__(self, what: str, name: str):
        self.what, self.name = what, name
        super().__init__(f"unknown {what} '{name}'")


class NotEmbeddable(NotFound):
    """oEmbed's `url` parameter is none of our feeds or widgets (HTTP 404). The message says
    why without repeating the URL, which is the asker's, not ours."""

    def __init__(self, why: str):
        self.what, self.name, self.parameter = "embeddable URL", "url", "url"
        SyndicationError.__init__(self, f"parameter 'url': {why}")


class PastLastPage(NotFound):
    """A page after the last of a paged answer (HTTP 404): page 1 always exists, even empty."""

    def __init__(self, page: int, last: int):
        self.what, self.name, self.parameter = "page", str(page), "page"
        SyndicationError.__init__(self, f"parameter 'page': there is no page {page}, the last "
                                        f"is page {last}")


class InvalidInput(SyndicationError):
    """A request body with invalid fields (HTTP 422): every problem found, each naming its
    field as a path ("items[3].published")."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))


class Unauthorized(SyndicationError):
    """No bearer token, or not one we know (HTTP 401)."""


class Forbidden(SyndicationError):
    """A known token that does not give the right asked for (HTTP 403)."""


class TooManyRequests(SyndicationError):
    """A client over a limit (HTTP 429): it may try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float):
        self.retry_after = retry_after
        super().__init__(message)


class Conflict(SyndicationError):
    """The request contradicts the current state: an id taken, a source declared in a file
    (HTTP 409)."""


class PayloadTooLarge(SyndicationError):
    """A request body over the configured limit (HTTP 413)."""


class UnsupportedMediaType(SyndicationError):
    """A request body that is not in the format the endpoint takes (HTTP 415)."""


class InvalidParameter(SyndicationError):
    """A request parameter has a value we cannot use (HTTP 400)."""

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        super().__init__(f"parameter '{parameter}': {message}")


def page_skipped(url: str, error: Exception) -> str:
    """The warning for one page (a detail page, a feed entry, a sitemap) that raised something
    unexpected while it was read: its type, never its text, which goes to the log alone
    (`where_raised`)."""
    return f"page skipped (internal error: {type(error).__name__}): {url}"


def where_raised(error: BaseException, frames: int = 8) -> str:
    """The error and the last frames of its traceback, for the log: enough to find the bug,
    without the thousand frames of a RecursionError."""
    return "".join(traceback.format_exception(error, limit=-frames)).rstrip()
