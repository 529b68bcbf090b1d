"""JSON from pages and feeds, nested no deeper than MAX_DEPTH. Entry point: `load_json`.

json.loads recurses once per level of nesting, and so does any walk of what it returns: a
document a few thousand levels deep ("[[[[…") raises RecursionError, whatever the page or feed
around it. The depth is measured first, by a scan that does not recurse, and a document nested
too deeply is refused as a ValueError (TooDeep), as broken JSON is.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64  # levels of arrays and objects; JSON-LD and JSON Feeds use fewer than ten

# A string (escapes and all, unterminated at the end of the text) or one bracket.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


class TooDeep(ValueError):
    """A JSON document nested more deeply than a reader goes."""


def load_json(data: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads, after checking that the document is nested at most `max_depth` levels deep.
    Raises ValueError (TooDeep, UnicodeDecodeError, JSONDecodeError) for what it cannot read."""
    text = data.decode(json.detect_encoding(data), "surrogatepass") if isinstance(
        data, bytes) else data
    if _deeper_than(text, max_depth):
        raise TooDeep(f"nested more than {max_depth} levels deep")
    return json.loads(text)


def _deeper_than(text: str, max_depth: int) -> bool:
    if text.count("[") + text.count("{") <= max_depth:  # most documents: no scan
        return False
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > max_depth:
                return True
        elif token in ("]", "}"):
            depth -= 1
    return False
