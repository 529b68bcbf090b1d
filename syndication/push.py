"""Push: items a publisher sends to POST /api/items, checked against the schema published in the
OpenAPI document (static/openapi.json, the one place it is written), then normalised and stored
like scraped ones: same content model, same sanitising, same feeds.

An item's id is derived from its source and the publisher's own id, so that sending it again
updates it (idempotent upserts); an identical item changes nothing and bumps no feed version. A
batch is checked whole before anything is stored: one invalid item rejects it, with every
problem named by its path ("items[3].published").

Entry points: `check_batch`, then `ingest`; `withdraw` removes one item.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

import httpx
from jsonschema import ValidationError

from . import openapi
from .admin import source_write
from .errors import InvalidInput
from .images import LIMITS, probe_images
from .model import Item, ItemKind, RawRecord, Source, member_of
from .normalise import (
    Networks,
    content_hash,
    normalise,
    plain_text,
    public_link,
    reconcile,
    xml_safe,
)
from .push_events import pushed_fields, pushed_problems
from .runtime import Runtime
from .state import Outcome, SourceState, SourceStatus
from .store import StoreUnavailable

log = logging.getLogger(__name__)

PUSH_NAMESPACE = uuid.UUID("8d7f5a52-3c1e-4f0e-9d55-6c0f1f0b2a71")  # ids of pushed items
MAX_PROBLEMS = 100  # problems named in one 422 answer
KNOWN_IMAGES_ONLY = replace(LIMITS, budget_seconds=0)  # no fetching while a publisher waits


@dataclass(frozen=True, slots=True)
class PushOutcome:
    source: str
    results: tuple[tuple[str, str, str], ...]  # (publisher's id, our item id, result)
    changed_feeds: frozenset[str]

    def count(self, result: str) -> int:
        return sum(1 for _, _, outcome in self.results if outcome == result)


def pushed_item_id(source_id: str, publisher_item_id: str) -> str:
    return str(uuid.uuid5(PUSH_NAMESPACE, f"{source_id}\n{publisher_item_id}"))


def check_batch(payload: Any, max_items: int, now: datetime | None = None, *,
                allowed_networks: Networks = ()) -> list[dict[str, Any]]:
    """The batch's items if it is valid; raises InvalidInput naming every problem (at most
    MAX_PROBLEMS of them: a huge invalid body must not cost a huge answer)."""
    now = now or datetime.now(UTC)
    items = payload.get("items") if isinstance(payload, dict) else None
    if isinstance(items, list) and len(items) > max_items:  # before any costly check
        raise InvalidInput([("items", f"at most {max_items} items per request, not "
                                      f"{len(items)}; send the rest in further requests")])
    validator = openapi.validator("PushBatch", max_items)
    problems = [problem for error in islice(validator.iter_errors(payload), MAX_PROBLEMS)
                for problem in _problems(error, now, allowed_networks)]
    seen: dict[str, int] = {}
    for n, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        for name in ("published", "updated"):
            if isinstance(item.get(name), str) and (why := _date_problem(item[name], now)):
                problems.append((f"items[{n}].{name}", why))
        for name, url in (("url", item.get("url")),
                          ("image.url", (item.get("image") or {}).get("url")
                           if isinstance(item.get("image"), dict) else None)):
            if isinstance(url, str) and (why := _url_problem(url, allowed_networks)):
                problems.append((f"items[{n}].{name}", why))
        problems.extend(pushed_problems(item.get("event"), f"items[{n}].event"))
        if isinstance(item.get("title"), str) and not plain_text(item["title"]):
            problems.append((f"items[{n}].title", _NO_TEXT))  # lone surrogates, say
        if isinstance(item.get("id"), str):
            if item["id"] in seen:
                problems.append((f"items[{n}].id", f"id {item['id']!r} is also "
                                 f"items[{seen[item['id']]}].id"))
            seen.setdefault(item["id"], n)
    if problems:
        first: dict[str, str] = {}  # one problem per field: the schema's, when it found one
        for field, message in problems:
            first.setdefault(field, message)
        raise InvalidInput(sorted(first.items(), key=_problem_order)[:MAX_PROBLEMS])
    assert isinstance(items, list)  # the schema made it a list of objects
    return items


def _problem_order(problem: tuple[str, str]) -> tuple[Any, ...]:
    # items[10] after items[9]: compare the numbers in a path as numbers
    return tuple(int(part) if part.isascii() and part.isdigit() else part
                 for part in re.split(r"([0-9]+)", problem[0])), problem[1]


def _problems(error: ValidationError, now: datetime,
              allowed_networks: Networks) -> list[tuple[str, str]]:
    """The schema's problems (openapi.problems), a date or URL that does not match its pattern
    told why in words."""
    if error.validator == "pattern" and isinstance(error.instance, str) and error.absolute_path:
        field, value = openapi.path(error.absolute_path), error.instance
        if error.absolute_path[-1] in ("published", "updated"):
            return [(field, _date_problem(value, now) or _NOT_RFC3339.format(value))]
        if error.absolute_path[-1] == "title":
            return [(field, _NO_TEXT)]
        if error.absolute_path[-1] == "url":
            why = _url_problem(value, allowed_networks)
            if why and "user name" in why:
                return [(field, why)]
            return [(field, f"{value[:200]!r} is not a valid URL: an absolute http(s) URL is "
                            "expected")]
    return openapi.problems(error)


# RFC 3339 (section 5.6); the document's pattern also bounds the year (1990 to 2999).
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
                      re.ASCII)
_NO_TEXT = "has no text: only white space or control characters"
_NOT_RFC3339 = "{!r} is not an RFC 3339 date-time with its offset, e.g. 2026-11-26T09:30:00+01:00"
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=2)  # clock skew and time zones; later would pin an item on top


def _date_problem(text: str, now: datetime) -> str | None:
    """Why a pushed date is refused, or None: RFC 3339 with its offset, from 1990 to now."""
    if not _RFC3339.match(text):
        return _NOT_RFC3339.format(text)
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z")).astimezone(UTC)
    except (ValueError, OverflowError):
        return f"{text!r} is not a valid date-time"
    if not EARLIEST <= moment <= now + LATEST_AHEAD:
        return f"{text!r} is outside the dates accepted (from 1990 to today)"
    return None


def _url_problem(url: str, allowed_networks: Networks = ()) -> str | None:
    """Why a pushed URL is refused beyond the schema's pattern: one that parses, with a valid
    port, nothing an XML feed could not carry, no user info, and no address the fetcher would
    refuse (normalise.public_link: what may be handed to readers)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        return f"{url[:200]!r} is not a valid URL"
    if not parts.hostname or xml_safe(url) != url:
        return f"{url[:200]!r} is not a valid URL"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    if public_link(url, allowed_networks) is None:
        return "must be an http(s) URL of a public address"
    return None


def ingest(runtime: Runtime, source: Source, items: list[dict[str, Any]],
           now: datetime) -> PushOutcome:
    """Store checked items (check_batch) in a push source. Images already known get their facts
    and resized copies at once; new ones are fetched by the refresh this asks for
    (complete_images), never while the publisher waits."""
    started = time.monotonic()
    normalised = [(entry["id"], _item(source, entry, now, runtime.fetcher.allowed_networks))
                  for entry in items]
    probed = probe_images(runtime, [item for _, item in normalised], KNOWN_IMAGES_ONLY)
    normalised = [(publisher_id, item) for (publisher_id, _), item in zip(normalised, probed,
                                                                          strict=True)]
    with source_write(runtime, source.id):
        stored = runtime.store.stored_items(member_of(item) for _, item in normalised)
        changed, results = [], []
        for publisher_id, item in normalised:
            old = stored.get(member_of(item))
            kept = reconcile(old, item)
            if kept is not None:
                changed.append(kept)
            results.append((publisher_id, item.id, "created" if old is None else
                            "updated" if kept is not None else "unchanged"))
        previous = runtime.store.source_status(source.id)
        status = SourceStatus(state=SourceState.OK if changed else SourceState.NOT_MODIFIED,
                              last_attempt=now,
                              last_success=now, last_error=previous.last_error,
                              last_error_kind=previous.last_error_kind,
                              last_error_at=previous.last_error_at,
                              last_duration_ms=int((time.monotonic() - started) * 1000))
        if changed:
            changed_feeds = runtime.store.commit_refresh(
                source, runtime.catalogue.feeds_of(source.id), changed, {}, status, now)
        else:
            runtime.store.record_status(source.id, status)
            changed_feeds = set()
    outcome = PushOutcome(source.id, tuple(results), frozenset(changed_feeds))
    _count(runtime, outcome, status)
    if any(item.image and not item.image.derivatives for item in changed):
        runtime.registry.request_refresh(source.id, now)
    log.info("push to %s: %d created, %d updated, %d unchanged", source.id,
             outcome.count("created"), outcome.count("updated"), outcome.count("unchanged"))
    return outcome


def withdraw(runtime: Runtime, source: Source, publisher_item_id: str, now: datetime) -> bool:
    """Remove one pushed item from its source and feeds; whether it was there."""
    member = f"{source.id}/{pushed_item_id(source.id, publisher_item_id)}"
    with source_write(runtime, source.id):  # a refresh in flight must not bring it back
        existed = bool(runtime.store.stored_items([member]))
        runtime.store.remove_items(source.id, runtime.catalogue.feeds_of(source.id), [member],
                                   now)
    return existed


def _item(source: Source, entry: dict[str, Any], now: datetime,
          allowed_networks: Networks) -> Item:
    image = entry.get("image") or {}
    record = RawRecord(
        url=entry["url"], canonical_url=entry["url"], title=entry["title"],
        summary=entry.get("summary"), content_html=entry.get("content_html"),
        published=entry["published"], updated=entry.get("updated"),
        image_url=image.get("url"), image_alt=image.get("alt"), image_credit=image.get("credit"),
        figures=tuple((figure["value"], figure["label"]) for figure in entry.get("figures", ())),
        tags=tuple(entry.get("tags", ())), authors=tuple(entry.get("authors", ())),
        event=pushed_fields(entry.get("event")))
    item = normalise(record, source, now, allowed_networks=allowed_networks)
    item = replace(item, id=pushed_item_id(source.id, entry["id"]),
                   kind=ItemKind(entry["kind"]) if entry.get("kind") else item.kind)
    return replace(item, content_hash=content_hash(item))


def _count(runtime: Runtime, outcome: PushOutcome, status: SourceStatus) -> None:
    counted = Outcome.OK if status.state == SourceState.OK else Outcome.NOT_MODIFIED
    try:
        runtime.stores.metrics.record_refresh(
            outcome.source, counted, seconds=(status.last_duration_ms or 0) / 1000,
            new=outcome.count("created"), updated=outcome.count("updated"), error_kind=None)
    except StoreUnavailable as error:
        log.warning("push to %s not counted: %s", outcome.source, error)
