"""/hub: the WebSub hub of our feeds. Subscribers POST their (un)subscription requests here;
everything after the answer (verification, deliveries) happens in syndication.websub, run by the
scheduler.

Answers are plain text, as the spec suggests for errors: a developer reads them.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from .. import websub
from . import runtime

blueprint = Blueprint("hub", __name__)

FORM_TYPE = "application/x-www-form-urlencoded"


@blueprint.post("/hub")
def hub() -> Response:
    if request.mimetype != FORM_TYPE:
        return _text(415, f"the request body must be {FORM_TYPE} with hub.mode, hub.topic and "
                          f"hub.callback")
    status, message = websub.handle_request(runtime(), request.form, request.url_root)
    return _text(status, message)


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")
