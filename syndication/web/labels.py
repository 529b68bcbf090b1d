"""The words the public pages (/ and /status) use for a source's state and for its last error:
one French sentence per kind of error (errors.py's kinds, and "layout" from drift.py), for the
web team. The kind is all they say of an error: its text, which may name internal hosts and
addresses, is for operators (/api/sources with the operator's token)."""

from __future__ import annotations

import re
from datetime import datetime

from ..state import SourceState, SourceStatus

UNCHECKED = "unchecked"  # healthy at its last check, but not checked since the scheduler started
STATE_LABELS = {SourceState.NEVER: "jamais actualisée", SourceState.OK: "à jour",
                SourceState.NOT_MODIFIED: "inchangée",
                SourceState.DEGRADED: "mise en page changée ?", SourceState.FAILING: "en échec",
                UNCHECKED: "pas encore vérifié depuis le démarrage"}

# Short names, where a sentence does not fit (summaries, logs).
KIND_LABELS = {
    "timeout": "délai dépassé", "http-status": "erreur HTTP",
    "content-type": "type de contenu inattendu", "too-large": "page trop volumineuse",
    "undecodable": "contenu illisible", "unreachable": "site injoignable",
    "dns": "nom de domaine introuvable", "connection-refused": "connexion refusée",
    "tls": "connexion sécurisée impossible",
    "fetch": "téléchargement impossible", "extraction": "aucun contenu extrait",
    "layout": "mise en page changée", "internal": "erreur interne",
    "rate-limited": "trop de requêtes (429/503)", "refused-address": "adresse refusée",
    "malformed-feed": "flux illisible", "robots": "interdit par robots.txt",
    "robots-unreachable": "robots.txt injoignable", "redis": "Redis injoignable",
}

# What happened and, where there is one, what to do: one sentence per kind.
KIND_SENTENCES = {
    "timeout": "Le site a mis trop de temps à répondre.",
    "unreachable": "Le site ne répond pas : la connexion a échoué ou a été coupée.",
    "dns": "Le nom de domaine du site est introuvable : vérifiez l’adresse de la source.",
    "connection-refused": "Le serveur du site refuse les connexions : il est sans doute arrêté.",
    "tls": "La connexion sécurisée (HTTPS) au site a échoué : certificat invalide ou expiré ?",
    "content-type": "L’adresse ne renvoie pas le type de document attendu (page, flux ou plan "
                    "du site).",
    "too-large": "La page est trop volumineuse pour être lue.",
    "undecodable": "Le contenu reçu est illisible (encodage ou compression inconnus).",
    "fetch": "La page n’a pas pu être téléchargée.",
    "extraction": "La page a été lue, mais aucun contenu n’a pu en être extrait.",
    "layout": "La mise en page du site semble avoir changé : bien moins de contenu a été trouvé "
              "que d’habitude.",
    "internal": "Une erreur interne du service a interrompu l’actualisation.",
    "rate-limited": "Le site demande d’espacer les visites : il sera réessayé plus tard.",
    "refused-address": "L’adresse de la source mène à un réseau interdit au service.",
    "malformed-feed": "Le flux ou le plan du site est mal formé et n’a pas pu être lu.",
    "robots": "Le fichier robots.txt du site interdit au service de lire cette page.",
    "robots-unreachable": "Le fichier robots.txt du site est inaccessible : rien n’y est lu "
                          "tant qu’il ne l’est pas.",
    "redis": "La base de données du service (Redis) est injoignable.",
}

_HTTP_STATUS = re.compile(r"^HTTP (\d{3})\b")  # errors.HTTPStatusError's text starts so


def kind_label(kind: str | None) -> str:
    """An error's kind in a few French words; a kind without words is shown as it is."""
    return KIND_LABELS.get(kind or "", kind or "erreur")


def http_status(status: SourceStatus) -> int | None:
    """The HTTP status of the last error, when it was one."""
    if status.last_error_kind not in ("http-status", "rate-limited") or not status.last_error:
        return None
    found = _HTTP_STATUS.match(status.last_error)
    return int(found.group(1)) if found else None


def error_sentence(kind: str | None, http: int | None = None) -> str:
    """The last error as a French sentence, keyed on its kind (and its HTTP status)."""
    if kind == "http-status":
        if http in (404, 410):
            return f"La page n’existe plus à cette adresse (erreur {http})."
        if http in (401, 403):
            return f"Le site refuse l’accès à la page (erreur {http})."
        if http is not None and http >= 500:
            return f"Le site est en panne ou surchargé (erreur {http})."
        if http is not None:
            return f"Le site a refusé la demande (erreur {http})."
        return "Le site a répondu par une erreur."
    return KIND_SENTENCES.get(kind or "", f"Erreur : {kind_label(kind)}.")


def shown_state(status: SourceStatus, scheduler_started: datetime | None, *,
                pushed: bool = False) -> str:
    """The state a person is shown: a source healthy at its last check but not checked since the
    scheduler started is UNCHECKED, not "à jour" (that check says nothing of the site now). A
    `pushed` source is never checked: its publisher sends its items."""
    if (not pushed and status.state in (SourceState.OK, SourceState.NOT_MODIFIED)
            and checked_since_start(status, scheduler_started) is False):
        return UNCHECKED
    return str(status.state)


def checked_since_start(status: SourceStatus, scheduler_started: datetime | None) -> bool | None:
    """Whether the source was checked since the scheduler now running started; None when no
    scheduler ever started."""
    if scheduler_started is None:
        return None
    return status.last_attempt is not None and status.last_attempt >= scheduler_started
