"""Bearer tokens: the operator's (SYNDICATION_ADMIN_TOKEN) and publishers' push tokens (issued
through the operator API, kept in Redis as digests). Tokens are never logged."""

from __future__ import annotations

import hmac
from typing import Any

from flask import json, request

from ..errors import (
    Forbidden,
    InvalidParameter,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from ..store.sources import PushToken
from . import runtime


def _bearer() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("this request needs an 'Authorization: Bearer <token>' header")
    return token.strip()


def is_admin(token: str) -> bool:
    expected = runtime().settings.admin_token
    return bool(expected) and hmac.compare_digest(token.encode(), expected.encode())


def from_operator() -> bool:
    """Whether this request carries the operator's token. Routes open to everyone show the
    operator more (the text of errors); any other token, or none, gets the public answer."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip()) and is_admin(token.strip())


def require_admin() -> None:
    if not runtime().settings.admin_token:
        raise Forbidden("the operator API is off: set SYNDICATION_ADMIN_TOKEN to use it")
    if not is_admin(_bearer()):
        raise Unauthorized("unknown token")


def require_pusher() -> PushToken | None:
    """The publisher's token, or None for the operator (who may push to any push source)."""
    token = _bearer()
    if is_admin(token):
        return None
    found = runtime().registry.token(token)
    if found is None:
        raise Unauthorized("unknown token")
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
