"""/oembed: the oEmbed provider (oembed.com), so that pasting a feed's URL into WordPress, or any
oEmbed consumer, shows the widget.

`url` is one of our feed URLs (`/feeds/{feed}.rss|.atom|.json`) or widget URLs
(`/embed/{feed}/frame`, `/embed/{feed}.html`); its query may carry widget options (`tag`,
`layout`…; feed-only parameters such as `limit` are ignored). The answer is `rich`: its `html`
is the one shape WordPress keeps from a provider outside its allow-list, a blockquote with a link
and a sandboxed iframe of `/embed/{feed}/frame` (WordPress adds the `#?secret=` and resizes it
through the frame's messages). `maxwidth` and `maxheight` are honoured: the width is 600 px or
`maxwidth` if smaller (larger values are clamped), the height an estimate for the layout or
`maxheight` if smaller; the thumbnail (our 300 px copy of the newest image, its credit in
`thumbnail_credit`) is left out when it does not fit. Unknown URL: 404; format other than json
and xml: 501; a non-numeric or zero size: 400.

Discovery: every feed response carries the oEmbed links in its HTTP Link header
(`discovery_links`), and HTML pages carry `<link rel="alternate" … +oembed>` tags
(the `oembed_url` template global).
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Blueprint, Response, request
from lxml import etree
from markupsafe import escape
from werkzeug.exceptions import NotImplemented as FormatNotImplemented

from ..errors import InvalidParameter, NotEmbeddable
from ..model import Feed, Item, derivative_of
from ..render.widget import estimated_height
from ..render.widget_options import THUMBNAIL_WIDTH, WidgetOptions, parse_widget_options
from ..runtime import Runtime
from . import public_base_url, render_cache, runtime
from .caching import respond
from .embed import frame_url, widget_items, widget_source

blueprint = Blueprint("oembed", __name__)

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
DEFAULT_WIDTH = 600  # px; WordPress's own embeds are at most 600 wide too
CACHE_AGE = 3600  # seconds a consumer may keep our answer
MAX_SIZE_DIGITS = 6  # larger sizes are clamped like any size above the default
_RESOURCE = re.compile(
    r"/(?:feeds/(?P<feed>[^/]+)\.(?:rss|atom|json)|embed/(?P<widget>[^/]+)(?:/frame|\.html))")


@blueprint.get("/oembed")
def oembed() -> Response:
    url = request.args.get("url", "").strip()
    if not url:
        raise InvalidParameter("url", "is required: the URL of a feed or of a widget")
    fmt = request.args.get("format") or "json"
    if fmt not in FORMATS:
        raise FormatNotImplemented("format must be json or xml")
    max_width = _size("maxwidth")
    max_height = _size("maxheight")
    base_url = public_base_url()
    feed, options = _resource(url, base_url)
    width = min(DEFAULT_WIDTH, max_width or DEFAULT_WIDTH)
    height = min(estimated_height(options), max_height or estimated_height(options))
    variant = (f"oembed {fmt} {base_url} {width}x{height} {max_width}x{max_height} "
               f"{options.cache_key()}")
    service = runtime()

    def render(_state: object) -> bytes:
        data = oembed_data(service, feed, options, base_url, width, height,
                           max_width=max_width, max_height=max_height)
        if fmt == "xml":
            return oembed_xml(data)
        return json.dumps(data, ensure_ascii=False).encode("utf-8")

    representation = render_cache().get(feed.id, variant, FORMATS[fmt], render)
    return respond(representation, request)


def oembed_data(service: Runtime, feed: Feed, options: WidgetOptions, base_url: str,
                width: int, height: int, *, max_width: int | None,
                max_height: int | None) -> dict[str, object]:
    source = widget_source(service, feed, base_url)
    title = options.title or feed.title
    src = frame_url(base_url, feed.id, options)
    html = (f'<blockquote class="wp-embedded-content"><a href="{escape(source.all_items_url)}">'
            f'{escape(title)}</a></blockquote>'
            f'<iframe class="wp-embedded-content" sandbox="allow-scripts" security="restricted" '
            f'src="{escape(src)}" width="{width}" height="{height}" '
            f'title="{escape(title)} : dernières publications" frameborder="0" marginwidth="0" '
            f'marginheight="0" scrolling="no"></iframe>')
    data: dict[str, object] = {
        "version": "1.0", "type": "rich", "title": title,
        "provider_name": service.catalogue.publishers[feed.publisher].name,
        "provider_url": f"{base_url}/", "cache_age": CACHE_AGE,
        "html": html, "width": width, "height": height,
    }
    thumbnail = _thumbnail(widget_items(service, feed, options), base_url, max_width, max_height)
    if thumbnail:
        data.update(thumbnail)
    return data


def oembed_xml(data: dict[str, object]) -> bytes:
    root = etree.Element("oembed")
    for name, value in data.items():
        etree.SubElement(root, name).text = str(value)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", standalone=True)


def discovery_links(base_url: str, resource_url: str) -> str:
    """The HTTP Link header value announcing the oEmbed answers about `resource_url`."""
    return ", ".join(f'<{oembed_url(resource_url, fmt, base_url)}>; rel="alternate"; '
                     f'type="{kind}"' for fmt, kind in (("json", "application/json+oembed"),
                                                        ("xml", "text/xml+oembed")))


@blueprint.app_template_global("oembed_url")
def oembed_url(resource_url: str, fmt: str = "json", base_url: str | None = None) -> str:
    """Where the oEmbed answer about one of our URLs is (templates: discovery `<link>` tags)."""
    base = public_base_url() if base_url is None else base_url
    return f"{base}/oembed?{urlencode({'url': resource_url, 'format': fmt})}"


def _resource(url: str, base_url: str) -> tuple[Feed, WidgetOptions]:
    """The feed and widget options a URL stands for; NotFound unless it is one of ours."""
    expected = ("oEmbed answers for this service's feeds and widgets only, such as "
                f"/feeds/{{feed}}.rss or /embed/{{feed}}/frame at {base_url}")
    try:
        parts, base = urlsplit(url), urlsplit(base_url)
    except ValueError:  # "http://[x": not a URL, so not one of ours
        raise NotEmbeddable(f"not a valid URL; {expected}") from None
    path = parts.path
    if not (parts.scheme in ("http", "https") and parts.netloc.lower() == base.netloc.lower()
            and path.startswith(base.path)):
        raise NotEmbeddable(f"not a URL of this service; {expected}")
    found = _RESOURCE.fullmatch(path[len(base.path.rstrip("/")):])
    if found is None:
        raise NotEmbeddable(f"not the URL of a feed or a widget; {expected}")
    feed_id = found["feed"] or found["widget"]
    feed = runtime().catalogue.feeds.get(feed_id)
    if feed is None:
        known = ", ".join(sorted(runtime().catalogue.feeds))
        raise NotEmbeddable(f"no feed '{feed_id[:100]}' on this service (feeds: {known})")
    try:
        options = parse_widget_options(dict(parse_qsl(parts.query)))
    except InvalidParameter as error:
        raise InvalidParameter("url", f"its widget option {error}") from None
    return feed, options


def _size(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    digits = raw.lstrip("0")
    if not (raw.isascii() and raw.isdigit()) or not digits:
        raise InvalidParameter(name, "must be a positive integer (pixels)")
    return int(digits) if len(digits) <= MAX_SIZE_DIGITS else 10 ** MAX_SIZE_DIGITS


def _thumbnail(items: list[Item], base_url: str, max_width: int | None,
               max_height: int | None) -> dict[str, object] | None:
    """Our 300 px copy of the newest image, if it fits the maximum sizes (oEmbed 2.3.4), with
    its credit."""
    for item in items:
        copy = derivative_of(item.image, THUMBNAIL_WIDTH)
        if copy is None:
            continue
        if (max_width and copy.width > max_width) or (max_height and copy.height > max_height):
            return None
        found: dict[str, object] = {"thumbnail_url": f"{base_url}/{copy.path}",
                                    "thumbnail_width": copy.width,
                                    "thumbnail_height": copy.height}
        if item.image and item.image.credit:
            # The credit travels with the photo; oEmbed 2.3.4 lets a provider add parameters.
            found["thumbnail_credit"] = item.image.credit
        return found
    return None
