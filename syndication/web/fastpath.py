"""The hot path: a thin WSGI layer in front of the Flask app that answers a request for a cached
representation (a feed, a widget, a digest, an oEmbed answer) with the response the Flask path
sent for the same request, and hands everything else to Flask.

Flask's own work (a request context, URL routing, the before/after hooks, a Response object and
its header serialising) costs more than the rest of a cached hit (docs/design-notes.md). Here a
hit is one dictionary lookup on what the Flask path reads of the request: the path, the query
string as sent, the host, the scheme, the script root, the encoding chosen from Accept-Encoding,
and Accept (the feeds' Content-Type follows it). A 304 is decided from If-None-Match /
If-Modified-Since as soon as the response is found. The headers are the very ones the Flask path
sent (security, CORS, Vary, Link...), kept when it sent them; a 304 sends them less the entity
headers, as werkzeug does.

Nothing stale is served: a response is kept only while its representation is the cache's and
its feed's version is trusted (RenderCache.current: invalidated by the store's change stream,
re-confirmed from Redis after CATCH_UP_SECONDS, never trusted while the listener is away) and
the catalogue is the one it was answered under (synced as the Flask path syncs it). Otherwise
the request goes to Flask, which asks Redis, renders if needed, and whose response is kept
again. Requests are counted in the same metrics as Flask's, under the endpoint that answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.http import remove_entity_headers

from ..runtime import Runtime
from .caching import (
    RESPONDED,
    FastResponse,
    RenderCache,
    choose_encoding,
    encoded,
    not_modified,
)
from .metrics import HttpMetrics

# Requests longer than this (junk query parameters, which widgets ignore; long Accept headers)
# go through Flask every time: kept responses are bounded in number, and so in memory.
MAX_KEY_CHARS = 2048
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict, StartResponse], Iterable[bytes]]


def request_key(environ: dict) -> tuple:
    """Everything the Flask path reads of a request to a cached representation."""
    get = environ.get
    return (get("PATH_INFO", ""), get("QUERY_STRING", ""), get("HTTP_HOST", ""),
            environ["wsgi.url_scheme"], get("SCRIPT_NAME", ""),
            choose_encoding(get("HTTP_ACCEPT_ENCODING")), get("HTTP_ACCEPT"))


class FastPath:
    """WSGI middleware: `app.wsgi_app = FastPath(app.wsgi_app, ...)` (app.py)."""

    def __init__(self, app: WSGIApp, extensions: dict[str, Any], service: Runtime,
                 metrics: HttpMetrics):
        self.app = app
        self.extensions = extensions  # the Flask app's: its render cache, read at each request
        self.service = service
        self.metrics = metrics

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if method != "GET" and method != "HEAD":
            return self.app(environ, start_response)
        started = time.perf_counter()
        key = request_key(environ)
        cache: RenderCache = self.extensions["syndication.cache"]
        found = cache.responses.by_request.get(key)
        if found is not None and self._current(cache, found):
            if not_modified(found.representation, environ):
                start_response("304 NOT MODIFIED", list(found.headers_304))
                body: Iterable[bytes] = ()
                status = "304"
            else:
                start_response("200 OK", list(found.headers))
                body = () if method == "HEAD" else (found.body,)
                status = "200"
            self.metrics.count(found.endpoint, method, status, time.perf_counter() - started)
            return body
        return self._through_flask(environ, start_response, key, cache)

    def _current(self, cache: RenderCache, found: FastResponse) -> bool:
        if found.until is not None and time.time() >= found.until:
            return False  # a digest's window moved on: Flask picks the new variant
        self.service.sync_catalogue()  # at most once a second, as before a Flask request
        return self.service.catalogue is found.catalogue and cache.current(found.representation)

    def _through_flask(self, environ: dict, start_response: StartResponse, key: tuple,
                       cache: RenderCache) -> Iterable[bytes]:
        catalogue = self.service.catalogue  # before Flask syncs it: a change makes it miss
        sent: list = []

        def remember_start(status: str, headers: list, exc_info: Any = None) -> Any:
            sent[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.app(environ, remember_start)
        responded = environ.get(RESPONDED)
        if (responded is not None and sent and sent[0] == "200 OK"
                and sum(len(part or "") for part in key) <= MAX_KEY_CHARS):
            representation, endpoint, until = responded
            body = encoded(representation, key[5])
            headers = list(sent[1])
            # The body is the representation's in the key's encoding: checked, not assumed.
            if ("Content-Length", str(len(body))) in headers:
                headers_304 = list(headers)
                remove_entity_headers(headers_304)
                cache.remember(key, FastResponse(representation, body, headers, headers_304,
                                                 endpoint, catalogue, until))
        return result
