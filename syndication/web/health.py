"""/healthz (the process answers) and /readyz (it can serve: Redis reachable), and what every
request that needs Redis answers while it is unreachable: a 503 problem document with
Retry-After, logged once per outage (web/caching.py `Outage`) instead of once per request. Feeds
and widgets already rendered do not get here: the render cache serves them from memory."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError

from . import render_cache, runtime

blueprint = Blueprint("health", __name__)

RETRY_AFTER_SECONDS = 10  # what a client is told to wait while Redis is unreachable


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
    except RedisError as error:
        outage.failed(error)
        response = jsonify({"status": "unavailable", "redis": str(error)})
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    outage.recovered()
    return jsonify({"status": "ready", "redis": "ok"})


@blueprint.app_errorhandler(RedisError)
def redis_unavailable(error: RedisError) -> Response:
    """Any request that needed Redis and could not have it (a feed never rendered in this
    process, the API, the status page): 503, not 500, and no traceback per request."""
    render_cache().outage.failed(error)
    response = jsonify({"type": "about:blank", "title": "Service unavailable", "status": 503,
                        "detail": "the service's database is unreachable; try again shortly"})
    response.status_code = 503
    response.mimetype = "application/problem+json"
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
