"""French dates for HTML outputs (never inside feeds): "1er décembre 2026", "26 novembre 2026 à
09:30", Europe/Paris time, with Babel's CLDR data.

Key figures are not formatted here: every surface shows a figure's value as the page wrote it
("3,2 Mds €"); `amount` and `unit` are for machines (docs/design-notes.md)."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime

from ..model import Item
from ..normalise import PARIS


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


def item_date_text(item: Item) -> str:
    """The date people read under an item: its publication date as the page gave it ("1er
    décembre 2026"), else "Mis à jour le …": a page without a publication date is never given
    one, least of all the time we happened to read it."""
    if item.published is not None:
        return french_date(item.published)
    return f"Mis à jour le {french_date(item.updated)}"
