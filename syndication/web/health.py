"""/healthz (the process answers) and /readyz (it can serve: Redis reachable)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError

from . import runtime

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    try:
        runtime().store.ping()
    except RedisError as error:
        return jsonify({"status": "unavailable", "redis": str(error)}), 503
    return jsonify({"status": "ready", "redis": "ok"})
