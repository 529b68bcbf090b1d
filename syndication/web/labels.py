"""The words the public pages (/ and /status) use for a source's state and for the kind of its
last error. The kind is all they say of an error: its text, which may name internal hosts and
addresses, is for operators (/api/sources with the operator's token)."""

from __future__ import annotations

from ..model import SourceState

STATE_LABELS = {SourceState.NEVER: "jamais actualisée", SourceState.OK: "à jour",
                SourceState.NOT_MODIFIED: "inchangée",
                SourceState.DEGRADED: "mise en page changée ?", SourceState.FAILING: "en échec"}

# errors.py kinds, and "layout" (drift.py), as the web team would say them.
KIND_LABELS = {
    "timeout": "délai dépassé", "http-status": "erreur HTTP",
    "content-type": "type de contenu inattendu", "too-large": "page trop volumineuse",
    "undecodable": "contenu illisible", "unreachable": "site injoignable",
    "fetch": "téléchargement impossible", "extraction": "aucun contenu extrait",
    "layout": "mise en page changée", "internal": "erreur interne",
    "rate-limited": "trop de requêtes (429/503)", "refused-address": "adresse refusée",
    "malformed-feed": "flux illisible", "robots": "interdit par robots.txt",
    "robots-unreachable": "robots.txt injoignable", "redis": "Redis injoignable",
}


def kind_label(kind: str | None) -> str:
    """An error's kind in French; a kind without words is shown as it is."""
    return KIND_LABELS.get(kind or "", kind or "erreur")
