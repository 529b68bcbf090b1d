"""Errors of the widgets, said to the web editor who pasted the code (app.py decides the status,
this module only how the error reaches the person).

A wrong embed code is seen on another site, not in an API client: the iframe (`/embed/{feed}/
frame`) answers an HTML page that the host may frame (the widgets' `frame-ancestors`, not this
service's own 'self'), saying in French what is wrong, which parameter and what it accepts; the
fragment and the script answer their problem document with CORS, so that the script can read
it, and a French `detail_fr` that it shows in the widget's place (static/embed/loader.js). The
value given is never repeated, except a feed's name, escaped and shortened.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, render_template, request

from ..errors import InvalidParameter, NotFound
from ..render.widget_options import ALLOWED_FR
from . import external_url, runtime
from .caching import CORS_HEADERS

MAX_NAME_SHOWN = 60


def embed_problem(document: dict[str, Any], error: Exception | None) -> Response:
    """The problem `document` (app.py's) as the widget route that failed should answer it."""
    status = int(document["status"])
    message, allowed = french_explanation(status, error)
    if request.endpoint == "embed.frame":
        return _frame_page(status, message, allowed)
    response = jsonify({**document, "detail_fr": f"{message} {allowed or ''}".strip()})
    response.status_code = status
    response.mimetype = "application/problem+json"
    response.headers.extend(CORS_HEADERS)
    return response


def french_explanation(status: int, error: Exception | None) -> tuple[str, str | None]:
    """What is wrong, in a French sentence, and what is accepted instead (None: nothing to
    choose from)."""
    if isinstance(error, InvalidParameter):
        allowed = ALLOWED_FR.get(error.parameter)
        return (f"Le paramètre « {error.parameter} » du widget n’est pas valable.",
                f"Valeur attendue : {allowed}." if allowed else None)
    if isinstance(error, NotFound) and error.what == "feed":
        name = error.name if len(error.name) <= MAX_NAME_SHOWN else \
            error.name[:MAX_NAME_SHOWN] + "…"
        feeds = ", ".join(sorted(runtime().catalogue.feeds))
        return f"Le flux « {name} » n’existe pas.", f"Flux disponibles : {feeds}."
    if status == 503:
        return "Le service des flux est momentanément indisponible ; réessayez dans un instant.", \
            None
    return f"Ce widget ne peut pas s’afficher (erreur HTTP {status}).", None


def _frame_page(status: int, message: str, allowed: str | None) -> Response:
    body = render_template("embed/error.html", message=message, allowed=allowed,
                           builder_url=external_url("embed.builder"))
    response = Response(body, status=status, mimetype="text/html")
    # Framed by the sites that frame the widget; nothing runs in it.
    response.headers["Content-Security-Policy"] = (
        f"{current_app.extensions['syndication.embed_policy']}; script-src 'none'; "
        "object-src 'none'; base-uri 'none'")
    response.headers["Cache-Control"] = "no-store"  # the code will be corrected, then asked again
    return response
