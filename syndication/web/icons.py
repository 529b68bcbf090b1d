"""/favicon.ico: the service's icon, which browsers and feed readers ask for at the root whatever
the page says. Pages link the SVG one (static/favicon.svg); the ICO (16, 32 and 48 px) is drawn
from it once and kept in static/."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from flask import Blueprint, Response
from flask.typing import ResponseReturnValue

blueprint = Blueprint("icons", __name__)

MAX_AGE = 7 * 86400  # an icon changes seldom; a week of caching spares a request per page


@cache
def _icon() -> bytes:
    return files("syndication").joinpath("static/favicon.ico").read_bytes()


@blueprint.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    response = Response(_icon(), mimetype="image/vnd.microsoft.icon")
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    return response
