"""/hub: the WebSub hub of our feeds. Subscribers POST their (un)subscription requests here;
everything after the answer (verification, deliveries) happens in syndication.websub, run by the
scheduler. Errors are answered in plain text, as the spec suggests (app.py)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from .. import websub
from ..errors import UnsupportedMediaType
from . import runtime
from .auth import client_address

blueprint = Blueprint("hub", __name__)

FORM_TYPE = "application/x-www-form-urlencoded"


@blueprint.post("/hub")
def hub() -> Response:
    if request.mimetype != FORM_TYPE:
        raise UnsupportedMediaType(f"the request body must be {FORM_TYPE} with hub.mode, "
                                   f"hub.topic and hub.callback")
    message = websub.handle_request(runtime(), request.form, request.url_root, client_address())
    return Response(message + "\n", status=202, mimetype="text/plain")
