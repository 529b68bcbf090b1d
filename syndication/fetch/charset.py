"""Bytes → text for HTML pages whose declarations are often wrong or missing. Entry point:
`decode_html`."""

from __future__ import annotations

import codecs

from bs4.dammit import EncodingDetector, UnicodeDammit

from ..errors import UndecodableBody


def decode_html(url: str, body: bytes, declared: str | None = None) -> tuple[str, str]:
    """Bytes → text, for pages whose declarations are often wrong or missing.

    In order: a byte-order mark; UTF-8, when the bytes are valid UTF-8 (whatever the page says:
    text in another encoding is practically never valid UTF-8 by chance, and servers that label
    every page ISO-8859-1 are common); the HTTP charset, then the page's own <meta> declaration,
    each read as browsers read it (ISO-8859-1 and ASCII as windows-1252, WHATWG Encoding);
    windows-1252, the browsers' default for French pages; last, detection. BeautifulSoup's
    UnicodeDammit does the decoding and the sniffing."""
    utf16 = body.startswith((b"\xff\xfe", b"\xfe\xff"))  # a BOM: UnicodeDammit sniffs it
    if b"\x00" in body[:4096] and not utf16:
        raise UndecodableBody(url, "binary content where HTML was expected")
    candidates = []
    if not utf16:
        try:
            return body.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            pass
        candidates = [_as_browsers_read(label) for label in (
            declared, EncodingDetector.find_declared_encoding(body, is_html=True), "windows-1252")
            if label]
    dammit = UnicodeDammit(body, is_html=True,
                           known_definite_encodings=list(dict.fromkeys(candidates)))
    if dammit.unicode_markup is None or dammit.original_encoding is None:
        raise UndecodableBody(url, "cannot decode the page in any known character set")
    text = dammit.unicode_markup
    if text.count("\ufffd") > max(10, len(text) // 100):
        raise UndecodableBody(url, f"page does not decode as {dammit.original_encoding}")
    return text, dammit.original_encoding


def _as_browsers_read(label: str) -> str:
    """Browsers read a page declared ISO-8859-1 or ASCII as windows-1252 (WHATWG Encoding), and
    such pages do use its curly quotes, œ and €."""
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return label
    return "windows-1252" if name in ("iso8859-1", "ascii") else label
