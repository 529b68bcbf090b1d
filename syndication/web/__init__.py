"""Web: one blueprint per surface; domain errors map to HTTP in app.py."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for

from ..runtime import Runtime
from .caching import RenderCache

RETRY_AFTER_SECONDS = 10  # what a client is told to wait while Redis is unreachable


def runtime() -> Runtime:
    return current_app.extensions["syndication"]


def render_cache() -> RenderCache:
    """The app's in-process cache of rendered feeds (see web/caching.py)."""
    return current_app.extensions["syndication.cache"]


def public_base_url() -> str:
    """Where this service is reached: SYNDICATION_BASE_URL, else this request's own host."""
    return (runtime().settings.base_url or request.url_root).rstrip("/")


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL, on SYNDICATION_BASE_URL when set (behind a proxy), else on this request."""
    base = runtime().settings.base_url.rstrip("/")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values) if request else url_for(endpoint, **values)
