"""Field readers of feeds/*.toml and operator-API definitions: each checks one value and,
when it is wrong, raises a ConfigError that names it (file, line and field; or the field alone
for JSON). `Locator` finds the line, which tomllib does not give."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, overload
from urllib.parse import urlsplit

from cssselect import HTMLTranslator, SelectorError

from ..errors import ConfigError

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CSS = HTMLTranslator()


class Locator:
    """Finds the line of a table or key in a TOML text, for error messages (tomllib has none)."""

    def __init__(self, path: Path, text: str):
        self.path, self.text = path, text
        self.lines = text.splitlines()

    def line_of(self, table: str | None, index: int | None, key: str | None,
                subtable: str | None = None) -> int | None:
        start, end = 0, len(self.lines)
        if table is not None:
            header = re.compile(rf"^\s*\[\[\s*{table}\s*\]\]" if index is not None
                                else rf"^\s*\[\s*{table}\s*\]")
            hits = [n for n, line in enumerate(self.lines) if header.match(line)]
            position = index or 0
            if position >= len(hits):
                return None
            start = hits[position]
            following = [n for n in range(start + 1, len(self.lines))
                         if re.match(r"^\s*\[\[", self.lines[n])]
            end = following[0] if following else len(self.lines)
            if subtable is not None:
                sub = [n for n in range(start, end)
                       if re.match(rf"^\s*\[\s*{table}\.{subtable}\s*\]", self.lines[n])]
                if sub:
                    start = sub[0]
        if key is not None:
            pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
            for n in range(start, end):
                if pattern.match(self.lines[n]):
                    return n + 1
        return start + 1

    def error(self, message: str, table: str | None, index: int | None, key: str | None,
              subtable: str | None = None) -> ConfigError:
        field = ".".join(part for part in (
            table if index is None else f"{table}[{index}]", subtable, key) if part)
        return ConfigError(message, file=str(self.path),
                           line=self.line_of(table, index, key, subtable), field=field or None)


class FieldLocator(Locator):
    """For a definition sent as JSON (the operator API): errors name the field, there is no file
    or line."""

    def __init__(self) -> None:
        super().__init__(Path("<api>"), "")

    def error(self, message: str, table: str | None, index: int | None, key: str | None,
              subtable: str | None = None) -> ConfigError:
        field = ".".join(part for part in (subtable, key) if part)
        return ConfigError(message, field=field or None)


def reject_unknown(locator: Locator, table: dict[str, Any], allowed: Iterable[str],
                    name: str | None, index: int | None, subtable: str | None = None) -> None:
    for key in table:
        if key not in allowed:
            raise locator.error(f"unknown field '{key}' (allowed: {', '.join(sorted(allowed))})",
                                name, index, key, subtable)


@overload
def text(locator: Locator, table: dict[str, Any], key: str, name: str, index: int | None,
         *, required: Literal[True]) -> str: ...


@overload
def text(locator: Locator, table: dict[str, Any], key: str, name: str, index: int | None,
         *, required: bool = False) -> str | None: ...


def text(locator: Locator, table: dict[str, Any], key: str, name: str, index: int | None,
          *, required: bool = False) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise locator.error(f"'{key}' is required", name, index, key)
        return None
    if not isinstance(value, str) or not value.strip():
        raise locator.error(f"'{key}' must be a non-empty string", name, index, key)
    return value.strip()


def slug(locator: Locator, table: dict[str, Any], name: str, index: int) -> str:
    value = text(locator, table, "id", name, index, required=True)
    if not _SLUG.match(value):
        raise locator.error(f"id '{value}' must be lowercase letters, digits and dashes",
                            name, index, "id")
    return value


def url(locator: Locator, table: dict[str, Any], key: str, name: str,
         index: int | None) -> str:
    value = text(locator, table, key, name, index, required=True)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError:
        raise locator.error(f"'{value}' is not a valid URL", name, index, key) from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise locator.error(f"'{value}' is not an http(s) URL", name, index, key)
    return value


def bool_(locator: Locator, table: dict[str, Any], key: str, name: str, index: int) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise locator.error(f"'{key}' must be true or false", name, index, key)
    return value


def int_(locator: Locator, table: dict[str, Any], key: str, name: str, index: int,
         default: int, low: int, high: int) -> int:
    value = table.get(key, default)
    if isinstance(value, float) and value.is_integer():  # 3.0 is an integer in JSON (Schema)
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise locator.error(f"'{key}' must be an integer from {low} to {high}", name, index, key)
    return value


def strings(locator: Locator, table: dict[str, Any], key: str, name: str,
             index: int) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise locator.error(f"'{key}' must be a list of non-empty strings", name, index, key)
    return tuple(v.strip() for v in value)


def selector(locator: Locator, table: dict[str, Any], key: str, index: int) -> str | None:
    value = text(locator, table, key, "sources", index)
    if value is not None:
        check_selector(locator, value, "sources", index, key, None)
    return value


def check_selector(locator: Locator, selector: Any, name: str, index: int | None, key: str,
                    subtable: str | None) -> None:
    if not isinstance(selector, str) or not selector.strip():
        raise locator.error(f"'{key}' must be a CSS selector", name, index, key, subtable)
    try:
        _CSS.css_to_xpath(selector)  # the engine extraction runs them with (extract/tree.py)
    except SelectorError as error:
        raise locator.error(f"invalid CSS selector {selector!r}: {error.args[0]}",
                            name, index, key, subtable) from None
