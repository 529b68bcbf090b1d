"""A widget's options, parsed from its query string: every value checked against fixed sets or
parsed and written back (colours as #rrggbb), contrast checked against WCAG AA. Entry point:
`parse_widget_options`; widget.py renders what they choose."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from urllib.parse import urlencode

from ..errors import InvalidParameter

LAYOUTS = ("list", "cards", "headlines", "figures", "ticker", "agenda")
THEMES = ("light", "dark", "auto")
# Font keywords → fixed stacks: a widget never receives CSS from a query string.
FONTS = {
    "system": 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif',
    "sans": "Arial, Helvetica, sans-serif",
    "serif": 'Georgia, "Times New Roman", serif',
    "marianne": "Marianne, Arial, sans-serif",
}
MIN_CONTRAST = 4.5  # WCAG 2.1 AA for text (RGAA 4.1, criterion 3.2)
MAX_COUNT = 20
MAX_COLUMNS = 4
SUMMARY_LENGTHS = (40, 500)
HEADINGS = (2, 4)
MAX_TITLE = 200
MAX_TAG = 100
THUMBNAIL_WIDTH = 300  # list and headlines: a thumbnail at most 7.5em wide
CARD_WIDTH = 600  # cards: up to a column of a wide page

# The colours of each theme; the options `color`, `background`, `accent` replace them.
PALETTES = {
    "light": {"color": "#1e1e1e", "background": "#ffffff", "accent": "#000091"},
    "dark": {"color": "#f2f2f2", "background": "#161616", "accent": "#a7b8ff"},
}
THEME_SCHEMES = {"light": ("light",), "dark": ("dark",), "auto": ("light", "dark")}

# What each option accepts, said in French to the web editor whose embed code is wrong (the
# iframe's error page, the script's message): written from the limits above, never from the
# value given.
ALLOWED_FR = {
    "layout": "une de ces valeurs : " + ", ".join(LAYOUTS),
    "count": f"un nombre entier de 1 à {MAX_COUNT}",
    "columns": f"un nombre entier de 1 à {MAX_COLUMNS}",
    "image": "1 (oui) ou 0 (non)",
    "date": "1 (oui) ou 0 (non)",
    "summary": "1 (oui) ou 0 (non)",
    "summary_length": f"un nombre entier de {SUMMARY_LENGTHS[0]} à {SUMMARY_LENGTHS[1]}",
    "title": f"un texte d’au plus {MAX_TITLE} caractères",
    "heading": f"un nombre entier de {HEADINGS[0]} à {HEADINGS[1]}",
    "new_tab": "1 (oui) ou 0 (non)",
    "theme": "une de ces valeurs : " + ", ".join(THEMES),
    "font": "une de ces valeurs : " + ", ".join(FONTS),
    "more": "un nombre entier de 0 au nombre d’éléments affichés (count)",
    "tag": f"un mot-clé d’au plus {MAX_TAG} caractères",
    **{name: "une couleur écrite #rgb ou #rrggbb, qui garde avec le fond un contraste d’au "
             "moins 4,5:1 (WCAG AA) dans chaque thème affiché"
       for name in ("color", "background", "accent")},
}

_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ufffe\uffff]")  # and what XML cannot carry

# --- options ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WidgetOptions:
    """What a host asked of the widget, checked. Same names in query strings and in the
    `data-*` attributes of the script tag."""

    layout: str = "list"
    count: int = 5
    columns: int = 3
    image: bool = True
    date: bool = True
    summary: bool = True
    summary_length: int = 160
    title: str | None = None  # None: the feed's title; "": no header
    heading: int = 2
    new_tab: bool = False
    theme: str = "light"
    color: str | None = None  # "#rrggbb"
    background: str | None = None
    accent: str | None = None
    font: str = "system"
    more: int = 0  # 0: every item shown; n: n items, then a "Voir plus" button
    tag: str | None = None

    def query(self) -> dict[str, str]:
        """These options as query parameters, only those that differ from the defaults (of
        this layout): for the URLs of the frame and of the code snippets, and as cache key."""
        defaults = _defaults(self.layout)
        query: dict[str, str] = {}
        for option in fields(self):
            value = getattr(self, option.name)
            if value == defaults.get(option.name, option.default):
                continue
            if isinstance(value, bool):
                query[option.name] = "1" if value else "0"
            elif value is not None:
                query[option.name] = str(value)
        return query

    def cache_key(self) -> str:
        return urlencode(sorted(self.query().items()))

    def palette(self, scheme: str) -> dict[str, str]:
        """The colours in force under one colour scheme: the theme's, replaced by the options."""
        chosen = {"color": self.color, "background": self.background, "accent": self.accent}
        return {name: chosen[name] or default for name, default in PALETTES[scheme].items()}


def _defaults(layout: str) -> dict[str, object]:
    """Headlines and tickers are titles only, unless asked otherwise."""
    if layout in ("headlines", "ticker"):
        return {"image": False, "summary": False}
    if layout == "agenda":  # events: their date block stands where an image would
        return {"image": False}
    return {}


def parse_widget_options(args: Mapping[str, str]) -> WidgetOptions:
    """The options of a request; InvalidParameter (HTTP 400) names the first bad one. Error
    messages say what is allowed and never repeat the value given. Unknown names are ignored
    (hosts add cache-busting parameters)."""
    layout = _keyword(args, "layout", LAYOUTS, "list")
    defaults = _defaults(layout)
    count = _integer(args, "count", 1, MAX_COUNT, 5)
    options = WidgetOptions(
        layout=layout, count=count,
        columns=_integer(args, "columns", 1, MAX_COLUMNS, 3),
        image=_flag(args, "image", bool(defaults.get("image", True))),
        date=_flag(args, "date", True),
        summary=_flag(args, "summary", bool(defaults.get("summary", True))),
        summary_length=_integer(args, "summary_length", *SUMMARY_LENGTHS, 160),
        title=_text(args, "title", MAX_TITLE),
        heading=_integer(args, "heading", *HEADINGS, 2),
        new_tab=_flag(args, "new_tab", False),
        theme=_keyword(args, "theme", THEMES, "light"),
        color=_colour(args, "color"), background=_colour(args, "background"),
        accent=_colour(args, "accent"),
        font=_keyword(args, "font", tuple(FONTS), "system"),
        more=_integer(args, "more", 0, count, 0),
        tag=_text(args, "tag", MAX_TAG) or None,
    )
    _check_contrast(options)
    return options


def _raw(args: Mapping[str, str], name: str) -> str | None:
    raw = args.get(name)
    return None if raw is None or raw.strip() == "" else raw.strip()


def _keyword(args: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = _raw(args, name)
    if raw is None:
        return default
    if raw not in allowed:
        raise InvalidParameter(name, f"must be one of {', '.join(allowed)}")
    return raw


def _integer(args: Mapping[str, str], name: str, low: int, high: int, default: int) -> int:
    raw = _raw(args, name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4 and low <= int(raw) <= high):
        raise InvalidParameter(name, f"must be an integer from {low} to {high}")
    return int(raw)


def _flag(args: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _raw(args, name)
    if raw is None:
        return default
    if raw not in ("0", "1"):
        raise InvalidParameter(name, "must be 1 or 0")
    return raw == "1"


def _text(args: Mapping[str, str], name: str, max_length: int) -> str | None:
    raw = args.get(name)
    if raw is None:
        return None
    if len(raw) > max_length:
        raise InvalidParameter(name, f"must be at most {max_length} characters")
    return " ".join(_CONTROL.sub(" ", raw).split())


def _colour(args: Mapping[str, str], name: str) -> str | None:
    raw = _raw(args, name)
    if raw is None:
        return None
    match = _HEX.fullmatch(raw)
    if match is None:
        raise InvalidParameter(name, "must be a colour written #rgb or #rrggbb")
    digits = match[1].lower()
    return "#" + (digits if len(digits) == 6 else "".join(d * 2 for d in digits))


def relative_luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of a "#rrggbb" colour."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.1 contrast ratio, from 1 to 21."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)),
                             reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _check_contrast(options: WidgetOptions) -> None:
    """Text and links (the accent, also the buttons' background) against the background, under
    every colour scheme the theme may show: both for `auto`."""
    for scheme in THEME_SCHEMES[options.theme]:
        palette = options.palette(scheme)
        for name in ("color", "accent"):
            ratio = contrast_ratio(palette[name], palette["background"])
            if ratio < MIN_CONTRAST:
                culprit = name if getattr(options, name) else "background"
                raise InvalidParameter(
                    culprit, f"{name} on background has a contrast of {ratio:.2f}:1 in the "
                             f"{scheme} theme; at least {MIN_CONTRAST}:1 is required")


