"""/images/{key}-{version}/{width}.{ext}: items' images resized by the service (images.py), for
newsletter tools that cannot resize and for feeds that announce real sizes and lengths."""

from __future__ import annotations

import hashlib
import re

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue

from ..errors import NotFound
from ..images import KEY_LENGTH, MEDIA_EXTENSIONS, VERSION_LENGTH, derivative
from ..model import Derivative
from . import runtime

blueprint = Blueprint("images", __name__)

ONE_YEAR = 31_536_000
_REFERENCE = re.compile(rf"^([0-9a-f]{{{KEY_LENGTH}}})-([0-9a-f]{{{VERSION_LENGTH}}})$")


@blueprint.get("/images/<reference>/<int:width>.<ext>")
def derivative_image(reference: str, width: int, ext: str) -> ResponseReturnValue:
    match = _REFERENCE.match(reference)
    if match is None:
        raise NotFound("image", reference)
    body, media_type = derivative(runtime(), match[1], width, version=match[2])
    if MEDIA_EXTENSIONS[media_type] != ext:
        raise NotFound("image", f"{reference}/{width}.{ext}")
    response = Response(body, mimetype=media_type)
    # Immutable is true here: the URL carries the version, a digest of the original's bytes, and
    # a derivative is rendered once and kept, so these bytes never change under this URL. An
    # original that changes gets a new version, hence new URLs in the items that show it, and
    # the old URL answers 404 instead of ever serving different bytes.
    response.cache_control.public = True
    response.cache_control.max_age = ONE_YEAR
    response.cache_control.immutable = True
    response.set_etag(hashlib.sha256(body).hexdigest()[:20])
    response.access_control_allow_origin = "*"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)


def derivative_url(derivative: Derivative) -> str:
    """A derivative's absolute URL: on SYNDICATION_BASE_URL when set, else on this request's."""
    base = runtime().settings.base_url.rstrip("/") or request.url_root.rstrip("/")
    return f"{base}/{derivative.path}"
