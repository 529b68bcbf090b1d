"""The Flask app factory. Entry point: `create_app()`: settings, runtime, blueprints, and the one
place where errors become HTTP responses: domain errors (errors.py), Redis unreachable (503 with
Retry-After, the outage logged once rather than per request) and HTTP errors. Answers are RFC 9457
problem documents, except at /hub, where WebSub subscribers read plain text, and at /embed, where
a web editor reads them on another site: a frameable French page from the iframe, a CORS-readable
problem with a French `detail_fr` from the script and the fragment (web/embed_errors.py)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from .errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidParameter,
    NotFound,
    PayloadTooLarge,
    SyndicationError,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from .runtime import Runtime, open_runtime
from .settings import load_settings, trusted_hosts
from .store import StoreUnavailable
from .web import (
    RETRY_AFTER_SECONDS,
    admin,
    api,
    digest,
    embed,
    feed_page,
    feeds,
    health,
    hub,
    icons,
    images,
    index,
    metrics,
    oembed,
    opml,
    push,
    render_cache,
    status,
)
from .web.caching import RenderCache
from .web.embed_errors import embed_problem
from .web.fastpath import FastPath
from .web.metrics import http_metrics

log = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None, *,
               runtime: Runtime | None = None, fast_path: bool | None = None) -> Flask:
    """Build the web app. `config` overrides settings (see settings.Settings); tests pass their own
    `runtime` (Redis, catalogue) instead. `fast_path` (default: the setting) puts the hot path
    of web/fastpath.py in front of Flask."""
    app = Flask(__name__)
    assert isinstance(app.json, DefaultJSONProvider)  # Flask's default, whose settings these are
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    service = runtime or open_runtime(load_settings(config))
    # Requests naming another host get 400: links never follow a Host header's choice.
    app.config["TRUSTED_HOSTS"] = trusted_hosts(service.settings)
    app.extensions["syndication"] = service
    app.extensions["syndication.cache"] = RenderCache(
        service.store, max_bytes=service.settings.render_cache_mb * 1024 * 1024)
    for module in (index, feeds, feed_page, opml, digest, images, api, push, admin, hub, health,
                   status, metrics, oembed):
        app.register_blueprint(module.blueprint)
    app.register_blueprint(embed.blueprint)
    app.register_blueprint(icons.blueprint)

    @app.before_request
    def follow_api_sources() -> None:
        """Sources added through the operator API by any process: re-read at most every
        second (catalogue/live.py's CHECK_SECONDS)."""
        service.sync_catalogue()

    app.after_request(_security_headers)
    app.register_error_handler(SyndicationError, _domain_error)
    app.register_error_handler(StoreUnavailable, _store_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    if service.settings.fast_path if fast_path is None else fast_path:
        app.wsgi_app = FastPath(  # type: ignore[method-assign]
            app.wsgi_app, app.extensions, service, http_metrics(app))
    return app


def _domain_error(error: SyndicationError) -> ResponseReturnValue:
    if isinstance(error, NotFound):
        parameter = getattr(error, "parameter", None)  # a parameter's value named nothing
        return _problem(404, "Not found", str(error), error=error,
                        **({"parameter": parameter} if parameter else {}))
    if isinstance(error, InvalidParameter):
        return _problem(400, "Invalid parameter", str(error), error=error,
                        parameter=error.parameter)
    if isinstance(error, InvalidInput):
        return _problem(422, "Invalid fields", str(error), errors=[
            {"field": field, "message": message} for field, message in error.problems])
    if isinstance(error, Unauthorized):
        response = _problem(401, "Unauthorized", str(error))
        response.headers["WWW-Authenticate"] = 'Bearer realm="syndication"'
        return response
    if isinstance(error, TooManyRequests):
        response = _problem(429, "Too many requests", str(error))
        response.headers["Retry-After"] = str(max(1, round(error.retry_after)))
        return response
    for kind, code, title in _STATUSES:
        if isinstance(error, kind):
            return _problem(code, title, str(error))
    log.exception("unexpected domain error")
    return _problem(500, "Internal error", "the service could not answer this request")


_STATUSES = ((Forbidden, 403, "Forbidden"), (Conflict, 409, "Conflict"),
             (PayloadTooLarge, 413, "Payload too large"),
             (UnsupportedMediaType, 415, "Unsupported media type"))


def _store_unavailable(error: StoreUnavailable) -> ResponseReturnValue:
    """Any request that needed Redis and could not have it (a feed never rendered in this
    process, the API, the status page): 503, not 500, and no traceback per request. Feeds and
    widgets already rendered do not get here: the render cache serves them from memory."""
    render_cache().outage.failed(error)
    response = _problem(503, "Service unavailable",
                        "the service's database is unreachable; try again shortly")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _http_error(error: HTTPException) -> ResponseReturnValue:
    response = _problem(error.code or 500, error.name, error.description or error.name)
    # What the error says besides its body: Allow on a 405, Retry-After, WWW-Authenticate...
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


# Pages that set no policy of their own: framed by this service only, scripts from this service
# only (the configurator's), no plugins, no <base> pointing elsewhere.
OWN_PAGES_POLICY = "frame-ancestors 'self'; script-src 'self'; object-src 'none'; base-uri 'self'"


def _security_headers(response: Response) -> Response:
    """After every request, errors included: no MIME sniffing anywhere, and the default
    policy for a page that chose none (widgets and the digest choose their own)."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Content-Security-Policy", OWN_PAGES_POLICY)
    return response


def _problem(status: int, title: str, detail: str, *, error: Exception | None = None,
             **extra: Any) -> Response:
    """An RFC 9457 problem document; at /hub, the detail as plain text; at /embed, what the
    widget's reader can see (`error` lets it say more)."""
    if request.blueprint == "hub":
        return Response(detail + "\n", status=status, mimetype="text/plain")
    document = {"type": "about:blank", "title": title, "status": status, "detail": detail,
                **extra}
    if request.blueprint == "embed":
        return embed_problem(document, error)
    response = jsonify(document)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response
