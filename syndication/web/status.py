"""/status: how every source is doing, in French, for the web team: problems first, each state in
words (colour only repeats them), the last error as a sentence keyed on its kind and when (its
kind code and HTTP status in a disclosure), the number of pages the last refresh could not read.
A source not checked since the scheduler started says so rather than "à jour". The page is
public: it never shows an error's text (labels.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypedDict

from babel.numbers import format_decimal
from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from ..model import Source, SourceType
from ..render.french import french_datetime
from ..state import SourceState, SourceStatus
from . import runtime
from .labels import STATE_LABELS, UNCHECKED, error_sentence, http_status, kind_label, shown_state

blueprint = Blueprint("status", __name__)

# Worst first: the rows that need someone come at the top.
_SEVERITY = {SourceState.FAILING: 0, SourceState.DEGRADED: 1, SourceState.NEVER: 2,
             UNCHECKED: 2, SourceState.NOT_MODIFIED: 3, SourceState.OK: 3}


class _Row(TypedDict):
    source: Source
    status: SourceStatus
    shown_state: str  # the state, or UNCHECKED
    state_label: str
    kind_label: str
    error_sentence: str
    http_status: int | None
    item_count: int
    duration: str
    late: bool
    order: tuple[int, int]  # severity, then the catalogue's order


@blueprint.get("/status")
def status() -> ResponseReturnValue:
    service = runtime()
    now = datetime.now(UTC)
    started = service.registry.scheduler_started()
    rows: list[_Row] = []
    for order, source in enumerate(service.catalogue.sources.values()):
        state = service.store.source_status(source.id)
        shown = shown_state(state, started, pushed=source.type == SourceType.PUSH)
        http = http_status(state)
        rows.append({
            "source": source,
            "status": state,
            "shown_state": shown,
            "state_label": STATE_LABELS.get(shown, shown),
            "kind_label": kind_label(state.last_error_kind),
            "error_sentence": error_sentence(state.last_error_kind, http),
            "http_status": http,
            "item_count": service.store.item_count(source.id),
            "duration": _duration(state.last_duration_ms),
            "late": state.next_run is not None and state.next_run < now,
            "order": (_SEVERITY.get(shown, 0), order),
        })
    rows.sort(key=lambda row: row["order"])
    summary: dict[str, int] = {}
    for row in rows:
        summary[row["state_label"]] = summary.get(row["state_label"], 0) + 1
    return render_template("status.html", rows=rows, summary=summary, now=now, started=started,
                           french_datetime=french_datetime)


def _duration(milliseconds: int | None) -> str:
    """ "350 ms", "2,4 s" """
    if milliseconds is None:
        return "—"
    if milliseconds < 1000:
        return f"{milliseconds}\u00a0ms"
    return f"{format_decimal(round(milliseconds / 1000, 1), locale='fr')}\u00a0s"
