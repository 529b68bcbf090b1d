"""The operator API: sources added, changed and removed at run time (kept in Redis, beside those
of feeds/*.toml), refreshes asked for, publishers' push tokens. Every route needs the admin token;
GET /api/openapi.json describes the whole API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from .. import admin, openapi
from ..errors import Conflict, InvalidInput, NotFound
from . import runtime
from .api import source_document
from .auth import json_body, require_admin

log = logging.getLogger(__name__)

blueprint = Blueprint("admin", __name__, url_prefix="/api")


@blueprint.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    return jsonify(openapi.document(runtime().settings.push_max_items))


@blueprint.post("/sources")
def add_source() -> ResponseReturnValue:
    require_admin()
    definition = json_body()
    source, _ = admin.check_source(runtime(), definition)
    if source.id in runtime().catalogue.sources:
        origin = "feeds/*.toml" if source.id in runtime().live.declared.sources else "the API"
        raise Conflict(f"source '{source.id}' exists already (added through {origin})")
    admin.save_source(runtime(), source.id, definition, datetime.now(UTC))
    response = jsonify(source_document(runtime().catalogue.sources[source.id],
                                       runtime().registry.scheduler_started()))
    response.status_code = 201
    response.headers["Location"] = url_for("api.source", source_id=source.id)
    return response


@blueprint.put("/sources/<source_id>")
def replace_source(source_id: str) -> ResponseReturnValue:
    require_admin()
    _api_source(source_id)
    definition = json_body()
    if isinstance(definition, dict):
        if definition.setdefault("id", source_id) != source_id:
            raise InvalidInput([("id", f"must be '{source_id}', the source's id in the URL")])
    admin.check_source(runtime(), definition, "SourceDefinition")
    admin.save_source(runtime(), source_id, definition, datetime.now(UTC))
    return jsonify(source_document(runtime().catalogue.sources[source_id],
                                   runtime().registry.scheduler_started()))


@blueprint.delete("/sources/<source_id>")
def remove_source(source_id: str) -> ResponseReturnValue:
    require_admin()
    _api_source(source_id)
    admin.remove_source(runtime(), source_id, datetime.now(UTC))
    return "", 204


@blueprint.post("/sources/<source_id>/refresh")
def refresh_source(source_id: str) -> ResponseReturnValue:
    require_admin()
    source = runtime().catalogue.sources.get(source_id)
    if source is None:
        raise NotFound("source", source_id)
    now = datetime.now(UTC)
    admin.ask_refresh(runtime(), source, now)
    response = jsonify({"source": source_id, "requested_at": now.isoformat(),
                        "detail": "the scheduler refreshes it within seconds; its status "
                                  "says how it went"})
    response.status_code = 202
    response.headers["Location"] = url_for("api.source", source_id=source_id)
    return response


@blueprint.get("/publishers/<publisher_id>/tokens")
def list_tokens(publisher_id: str) -> ResponseReturnValue:
    require_admin()
    _publisher(publisher_id)
    return jsonify({"publisher": publisher_id, "tokens": [
        {"digest": t.digest, "created": t.created, "label": t.label}
        for t in runtime().registry.tokens(publisher_id)]})


@blueprint.post("/publishers/<publisher_id>/tokens")
def issue_token(publisher_id: str) -> ResponseReturnValue:
    require_admin()
    _publisher(publisher_id)
    body: Any = json_body() if _has_body() else {}
    if not isinstance(body, dict) or set(body) - {"label"} or not isinstance(
            body.get("label", ""), str) or len(body.get("label", "")) > 200:
        raise InvalidInput([("label", "the body may only hold a 'label' of at most 200 "
                                      "characters")])
    token, issued = runtime().registry.issue_token(publisher_id, datetime.now(UTC),
                                                   body.get("label", ""))
    log.info("push token %s… issued for publisher %s", issued.digest[:8], publisher_id)
    response = jsonify({"token": token, "digest": issued.digest, "publisher": publisher_id,
                        "created": issued.created, "label": issued.label,
                        "detail": "shown once: only its digest is kept"})
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.delete("/publishers/<publisher_id>/tokens/<digest>")
def revoke_token(publisher_id: str, digest: str) -> ResponseReturnValue:
    require_admin()
    _publisher(publisher_id)
    if not any(t.digest == digest for t in runtime().registry.tokens(publisher_id)):
        raise NotFound("token", digest)
    runtime().registry.revoke_token(digest)
    log.info("push token %s… of publisher %s revoked", digest[:8], publisher_id)
    return "", 204


def _has_body() -> bool:
    return bool(request.content_length) or request.is_json


def _publisher(publisher_id: str) -> None:
    if publisher_id not in runtime().catalogue.publishers:
        raise NotFound("publisher", publisher_id)


def _api_source(source_id: str) -> None:
    """A source added through the API: a declared one is changed in its file."""
    if source_id in runtime().live.declared.sources:
        raise Conflict(f"source '{source_id}' is declared in feeds/*.toml: change it there")
    if source_id not in runtime().catalogue.sources:
        raise NotFound("source", source_id)
