"""POST /api/items and DELETE /api/items/{source}/{id}: publishers push their items (push.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from .. import push
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..model import Source, SourceType
from ..store.sources import PushToken
from . import runtime
from .auth import json_body, require_pusher

blueprint = Blueprint("push", __name__, url_prefix="/api")


@blueprint.post("/items")
def push_items() -> ResponseReturnValue:
    token = require_pusher()
    payload = json_body()
    items = push.check_batch(payload, runtime().settings.push_max_items,
                             allowed_networks=runtime().fetcher.allowed_networks)
    source = _push_source(token, payload.get("source"))
    outcome = push.ingest(runtime(), source, items, datetime.now(UTC))
    return jsonify({
        "source": source.id, "created": outcome.count("created"),
        "updated": outcome.count("updated"), "unchanged": outcome.count("unchanged"),
        "items": [{"id": publisher_id, "item_id": item_id, "result": result}
                  for publisher_id, item_id, result in outcome.results],
    })


@blueprint.delete("/items/<source_id>/<path:item_id>")
def withdraw_item(source_id: str, item_id: str) -> ResponseReturnValue:
    token = require_pusher()
    source = _push_source(token, source_id)
    push.withdraw(runtime(), source, item_id, datetime.now(UTC))
    return "", 204


def _push_source(token: PushToken | None, source_id: str | None) -> Source:
    """The push source named, which the token's publisher must own; when none is named, the
    publisher's only push source."""
    sources = runtime().catalogue.sources
    if source_id is None:
        if token is None:
            raise InvalidInput([("source", "is required when pushing with the admin token")])
        own = [s for s in sources.values()
               if s.type == SourceType.PUSH and s.publisher == token.publisher]
        if len(own) != 1:
            names = ", ".join(s.id for s in own) or "none"
            raise InvalidInput([("source", f"is required: publisher '{token.publisher}' has "
                                           f"{len(own)} push sources ({names})")])
        return own[0]
    source = sources.get(source_id)
    if source is None:
        raise NotFound("source", source_id)
    if token is not None and source.publisher != token.publisher:
        raise Forbidden(f"source '{source_id}' belongs to another publisher than this token's")
    if source.type != SourceType.PUSH:
        raise Conflict(f"source '{source_id}' is a {source.type} source: it is fetched, not "
                       "pushed to")
    return source
