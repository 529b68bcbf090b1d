"""/healthz (the process answers) and /readyz (it can serve: Redis reachable). What other requests
answer while Redis is unreachable is app.py's: a 503 with Retry-After."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from ..store import StoreUnavailable
from . import RETRY_AFTER_SECONDS, render_cache, runtime

blueprint = Blueprint("health", __name__)



@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Not ready without Redis: a load balancer then prefers a replica that has it, while this
    one goes on serving the feeds it holds to whoever still reaches it."""
    outage = render_cache().outage
    try:
        runtime().store.ping()
    except StoreUnavailable as error:
        outage.failed(error)
        response = jsonify({"status": "unavailable", "redis": str(error)})
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    outage.recovered()
    return jsonify({"status": "ready", "redis": "ok"})
