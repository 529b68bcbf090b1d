"""One exception hierarchy. Each error names the thing it concerns (a URL, a file, a field)."""

from __future__ import annotations


class SyndicationError(Exception):
    """Root of every error the service raises on purpose."""


class ConfigError(SyndicationError):
    """Invalid settings or feeds/*.toml; stops start-up."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.file, self.line, self.field = file, line, field
        where = ":".join(str(part) for part in (file, line) if part is not None)
        prefix = f"{where}: " if where else ""
        suffix = f" (field '{field}')" if field else ""
        super().__init__(f"{prefix}{message}{suffix}")


class FetchError(SyndicationError):
    """A page could not be fetched or is not usable as HTML."""

    kind = "fetch"

    def __init__(self, url: str, message: str):
        self.url = url
        super().__init__(f"{message} ({url})")


class FetchTimeout(FetchError):
    kind = "timeout"


class TransportFailure(FetchError):
    """DNS, connection refused, TLS, too many redirects: the server could not be reached."""

    kind = "unreachable"


class HTTPStatusError(FetchError):
    kind = "http-status"

    def __init__(self, url: str, status: int):
        self.status = status
        super().__init__(url, f"HTTP {status}")


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


class NotFound(SyndicationError):
    """An unknown feed, source or item was asked for (HTTP 404)."""

    def __init__(self, what: str, name: str):
        self.what, self.name = what, name
        super().__init__(f"unknown {what} '{name}'")


class InvalidParameter(SyndicationError):
    """A request parameter has a value we cannot use (HTTP 400)."""

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        super().__init__(f"parameter '{parameter}': {message}")
