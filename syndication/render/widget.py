"""The embeddable widget: options → items → one HTML fragment, and the iframe page around it.

One renderer serves the three outputs of web/embed.py: the bare fragment (`.html`, for
server-side includes and for the script, which puts it in a Shadow DOM) and the iframe page
(`/frame`), which wraps the same fragment. The fragment carries its own `<style>`
(static/embed/widget.css), every selector under `.syndication-widget`, so that it styles nothing
of the page it is included in.

Option values never reach the output as text they chose: numbers and keywords are checked
against fixed sets, colours are parsed and written back as `#rrggbb`, fonts are keywords for
fixed font stacks, and the free texts (`title`, `tag`) are escaped by Jinja like every item
field. Only plain-text item fields are shown (title, summary, figures), and only http(s) links.

Headings: the widget's title is `<h{heading}>` (2 by default), items are one level below it
(`heading + 1`), or at `heading` itself when the title is hidden (`title=` empty), so that the
outline has no gap either way.

Pure: no Flask, no Redis; web/embed.py parses the request and chooses the items.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..model import Item, derivative_of
from ..normalise import PARIS
from .agenda_widget import agenda_entries, events_json_ld
from .digest import truncate_summary
from .feeds import shown_image
from .french import item_date_text
from .widget_options import CARD_WIDTH, FONTS, THUMBNAIL_WIDTH, WidgetOptions

_environment = Environment(loader=PackageLoader("syndication", "templates"),
                           autoescape=select_autoescape(default=True, default_for_string=True),
                           trim_blocks=True, lstrip_blocks=True)
_STATIC = files("syndication") / "static" / "embed"
# Our own stylesheet, without its comments and indentation: it is repeated in every fragment.
WIDGET_CSS = " ".join(re.sub(r"/\*.*?\*/", "", _STATIC.joinpath("widget.css").read_text(
    encoding="utf-8"), flags=re.DOTALL).split())


def _script(name: str) -> str:
    """One of our scripts without its comment lines: it is sent to every visitor of a host."""
    text = _STATIC.joinpath(name).read_text(encoding="utf-8")
    return "".join(line for line in text.splitlines(keepends=True)
                   if not line.lstrip().startswith("//"))


ENHANCE_JS = _script("enhance.js")
FRAME_JS = _script("frame.js")
LOADER_JS = _script("loader.js")


# --- what the template shows -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WidgetSource:
    """What the widget says about the feed, besides its items."""

    feed_id: str
    feed_title: str
    all_items_url: str  # "Toutes les actualités": the page the feed is about, or its RSS
    base_url: str  # this service's root, for the images it serves


@dataclass(frozen=True, slots=True)
class WidgetImage:
    src: str
    srcset: str  # "" when only one size exists
    width: int | None
    height: int | None
    credit: str | None  # "Andrea Piacquadio": shown under the photo as "© Andrea Piacquadio"


@dataclass(frozen=True, slots=True)
class WidgetEntry:
    url: str | None  # None if not an absolute http(s) URL: the title is then not a link
    title: str
    date_iso: str
    date_text: str  # "1er décembre 2026", or "Mis à jour le …" without a publication date
    summary: str
    image: WidgetImage | None
    more: bool  # beyond the first `more` items: hidden until "Voir plus"


@dataclass(frozen=True, slots=True)
class WidgetFigure:
    value: str  # as the page wrote it: "3,2 Mds €"
    label: str


def widget_entries(items: list[Item], options: WidgetOptions, base_url: str) -> list[WidgetEntry]:
    width = CARD_WIDTH if options.layout == "cards" else THUMBNAIL_WIDTH
    return [WidgetEntry(
        url=http_url(item.url), title=item.title,
        date_iso=(item.published or item.updated).astimezone(PARIS).isoformat(timespec="seconds"),
        date_text=item_date_text(item),
        summary=truncate_summary(item.summary, options.summary_length) if options.summary else "",
        image=widget_image(item, base_url, width) if options.image else None,
        more=0 < options.more <= position,
    ) for position, item in enumerate(items)]


def widget_image(item: Item, base_url: str, width: int) -> WidgetImage | None:
    """Our resized copy (300 or 600 px, with the 300 px one in srcset for cards), or nothing
    until we have one: a visitor of a town's page must not be sent to the publisher's own
    server (no tracking); decorative (alt=""), the title beside it says what it is."""
    if item.image is None or not base_url or derivative_of(item.image, width) is None:
        return None
    shown = shown_image(item.image, base_url, width)
    if http_url(shown.url) is None:
        return None
    srcset = ""
    small = derivative_of(item.image, THUMBNAIL_WIDTH)
    if width != THUMBNAIL_WIDTH and small is not None and base_url and shown.width:
        srcset = f"{base_url}/{small.path} {small.width}w, {shown.url} {shown.width}w"
    return WidgetImage(src=shown.url, srcset=srcset, width=shown.width, height=shown.height,
                       credit=item.image.credit)


def widget_figures(item: Item | None, options: WidgetOptions) -> list[WidgetFigure]:
    if item is None:
        return []
    return [WidgetFigure(value=figure.value_text, label=figure.label)
            for figure in item.figures[:options.count]]


def http_url(url: str | None) -> str | None:
    """The URL if a browser may follow it from a widget (absolute http or https), else None."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[x"
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


# --- rendering -------------------------------------------------------------------------------


def render_widget_fragment(source: WidgetSource, options: WidgetOptions, items: list[Item], *,
                           link_target: str | None = None) -> str:
    """The fragment: `<div class="syndication-widget …" lang="fr">` with its `<style>` first.
    `link_target` is "_top" inside the iframe page; new_tab makes it "_blank" everywhere. For
    the figures layout, `items` is the dossier (one item with figures) or nothing."""
    if options.new_tab:
        link_target = "_blank"
    title = source.feed_title if options.title is None else options.title
    figures_item = items[0] if options.layout == "figures" and items else None
    return _environment.get_template("embed/widget.html").render(
        source=source, options=options, title=title, css=Markup(WIDGET_CSS),
        style=_root_style(options), link_target=link_target,
        item_heading=min(options.heading + 1 if title else options.heading, 6),
        entries=[] if options.layout in ("figures", "agenda") else widget_entries(
            items, options, source.base_url),
        dossier=widget_entries([figures_item], options, source.base_url)[0]
        if figures_item else None,
        figures=widget_figures(figures_item, options),
        **(_agenda(source, options, items) if options.layout == "agenda" else {}),
    )


def _agenda(source: WidgetSource, options: WidgetOptions, items: list[Item]) -> dict[str, Any]:
    """What the agenda layout shows (render/agenda_widget.py): events, and their JSON-LD."""
    events = agenda_entries(items, feed_id=source.feed_id, base_url=source.base_url,
                            summary_length=options.summary_length, summary=options.summary,
                            more=options.more, now=datetime.now(UTC), http_url=http_url)
    return {"events": events, "json_ld": events_json_ld(items)}


def render_widget_frame(source: WidgetSource, options: WidgetOptions, items: list[Item], *,
                        oembed_url: str) -> str:
    """The iframe page: the fragment, and the script that reports its height to the parent
    page (WordPress embed protocol, or /embed/resize.js) and enhances the widget."""
    fragment = render_widget_fragment(source, options, items, link_target="_top")
    title = options.title or source.feed_title
    return _environment.get_template("embed/frame.html").render(
        fragment=Markup(fragment), title=title, oembed_url=oembed_url,
        script=Markup(FRAME_SCRIPT))


def _root_style(options: WidgetOptions) -> str:
    """Custom properties on the widget's root, from checked values only (hex colours, font
    stacks of FONTS, integers)."""
    declarations = [f"--syndication-{name}: {value}" for name, value in (
        ("color", options.color), ("background", options.background),
        ("accent", options.accent)) if value]
    if options.font != "system":
        declarations.append(f"--syndication-font: {FONTS[options.font]}")
    if options.layout == "cards":
        declarations.append(f"--sw-columns: {options.columns}")
    if options.layout == "ticker":
        declarations.append(f"--sw-ticker-duration: {6 * options.count}s")
    return "; ".join(declarations)


def _inline_script(source: str) -> str:
    """A script safe inside `<script>`: our own files, which must not close the element."""
    if "</" in source:
        raise ValueError("an inline script must not contain '</'")
    return f"(function () {{\n{source}\n}})();"


def widget_script() -> str:
    """The `.js` output: the enhancer and the loader, in one scope of their own."""
    return f"(function () {{\n{ENHANCE_JS}{LOADER_JS}\n}})();\n"


def estimated_height(options: WidgetOptions) -> int:
    """A first height for an iframe (oEmbed, snippets) before it reports its own: px."""
    header = 56 if options.title != "" else 0
    footer = 48
    if options.layout == "figures":
        return header + 64 + 72 * min(options.count, 3) + footer
    if options.layout == "ticker":
        return header + 64 + footer
    per_item = {"list": 96, "cards": 320, "headlines": 56, "agenda": 120}[options.layout]
    if options.layout == "list" and not (options.image or options.summary):
        per_item = 64
    shown = options.more or options.count
    rows = -(-shown // options.columns) if options.layout == "cards" else shown
    return header + rows * per_item + footer + (48 if options.more else 0)


FRAME_SCRIPT = _inline_script(ENHANCE_JS + FRAME_JS)  # the iframe page's one script, inline
# Its CSP source expression: the page allows this script and no other.
FRAME_SCRIPT_HASH = ("'sha256-" + base64.b64encode(
    hashlib.sha256(FRAME_SCRIPT.encode("utf-8")).digest()).decode("ascii") + "'")
