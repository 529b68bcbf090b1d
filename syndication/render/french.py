"""French for HTML outputs (never inside feeds): "1er décembre 2026", "26 novembre 2026 à 09:30",
Europe/Paris time, and key figures ("1,1 Md €"), with Babel's CLDR data."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from babel.dates import format_datetime
from babel.numbers import format_compact_currency, format_decimal, format_percent

from ..model import Figure
from ..normalise import PARIS

_HAS_WORDS = re.compile(r"[^\W\d_]")  # a letter: "bornes", "millions"


def french_date(moment: datetime) -> str:
    """ "26 novembre 2026"; "1er décembre 2026" on the first of the month (French usage)."""
    local = moment.astimezone(PARIS)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day} {format_datetime(local, 'MMMM y', locale='fr')}"


def french_datetime(moment: datetime | None) -> str:
    """ "26 novembre 2026 à 09:30" (Paris time); a dash when there is no date."""
    if moment is None:
        return "—"
    return f"{french_date(moment)} à {moment.astimezone(PARIS):%H:%M}"


def french_figure(figure: Figure) -> str:
    """A key figure's value as French readers expect it: "1,1 Md €", "500 M €", "1 500 €", "40 %",
    "130 000"; the text found on the page when the amount is unknown or a bare number would lose
    words ("10 000 bornes", "2 millions")."""
    amount = figure.amount
    if amount is None or isinstance(amount, bool):
        return figure.value_text
    try:
        exact = Decimal(str(amount))  # "7 %" stays 7, not 7.000000000000001
        if figure.unit == "EUR":
            if abs(exact) >= 1_000_000:
                text = format_compact_currency(exact, "EUR", locale="fr", fraction_digits=1)
            else:  # "1 500 €": French does not write "1,5 k €"
                text = f"{format_decimal(exact, locale='fr', decimal_quantization=False)} €"
        elif figure.unit == "percent":
            text = format_percent(exact / 100, locale="fr", decimal_quantization=False)
        elif figure.unit is None and not _HAS_WORDS.search(figure.value_text):
            text = format_decimal(exact, locale="fr", decimal_quantization=False)
        else:
            return figure.value_text
    except (ArithmeticError, ValueError):
        return figure.value_text
    # CLDR's narrow no-break space (U+202F) is missing from the fonts of some e-mail clients and
    # word processors; the ordinary no-break space keeps the number whole everywhere.
    return text.replace("\u202f", "\u00a0").replace(" ", "\u00a0")
