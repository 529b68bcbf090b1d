"""/api: items, feeds and sources (with their refresh status) as JSON. A source's status says
the kind of its last error to everyone; the error's text and the warnings of its last refresh
(which may name internal hosts and addresses) only to the operator (auth.from_operator)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from ..errors import NotFound
from ..model import Feed, Item, Source, SourceType
from ..render.agenda import agenda_selection, is_agenda
from ..render.selection import Selection, once, parse_filters, select_items
from ..store import FeedStore
from . import external_url, runtime
from .auth import from_operator
from .labels import checked_since_start

blueprint = Blueprint("api", __name__, url_prefix="/api")

DEFAULT_LIMIT = 50
OPERATOR_ONLY = ("last_error", "warnings")  # of a source's status


@blueprint.get("/items")
def items() -> ResponseReturnValue:
    """Items of one feed (?feed=), one source (?source=) or all sources, newest first, paged."""
    service = runtime()
    catalogue, store, retention = service.catalogue, service.store, service.settings.retention
    once(request.args, ("feed", "source"))
    filters = parse_filters(request.args, DEFAULT_LIMIT)
    feed_id, source_id = request.args.get("feed"), request.args.get("source")
    if source_id and source_id not in catalogue.sources:
        raise NotFound("source", source_id)
    if feed_id and feed_id not in catalogue.feeds:
        raise NotFound("feed", feed_id)
    if filters.agenda or (feed_id and is_agenda(catalogue.feeds[feed_id], catalogue)):
        # events by start, upcoming ones by default (render/agenda.py)
        everything = (_read_feed(store, feed_id, retention, filters.since, 0) if feed_id else
                      [item for each in ([source_id] if source_id else catalogue.sources)
                       for item in _read_source(store, each, retention, filters.since, 0)])
        selection = agenda_selection(
            (item for item in everything if not source_id or item.source == source_id),
            filters, datetime.now(UTC))
    elif feed_id:
        selection = select_items(partial(_read_feed, store, feed_id),
                                 partial(store.feed_count, feed_id), filters, retention,
                                 also=(lambda item: item.source == source_id) if source_id
                                 else None)
    elif source_id:
        selection = select_items(partial(_read_source, store, source_id),
                                 partial(store.source_count, source_id), filters, retention)
    else:  # every source: merge their newest items
        wanted = replace(filters, page=1, limit=min(retention, filters.page * filters.limit))
        merged: list[Item] = []
        total = 0
        for each in catalogue.sources:
            selection = select_items(partial(_read_source, store, each),
                                     partial(store.source_count, each), wanted, retention)
            merged += selection.items
            total += selection.total
        merged.sort(key=lambda item: item.date, reverse=True)
        # A page two sources reach is one item (as in feeds): listed once, under its first.
        unique = list({item.id: item for item in reversed(merged)}.values())
        unique.sort(key=lambda item: item.date, reverse=True)
        total -= len(merged) - len(unique)
        merged = unique
        offset = (filters.page - 1) * filters.limit
        selection = Selection(merged[offset:offset + filters.limit], total)
    selection.check_page(filters)
    return jsonify({"count": len(selection.items), "total": selection.total,
                    "page": filters.page,
                    "items": [_item(item) for item in selection.items]})


def _read_feed(store: FeedStore, feed_id: str, limit: int, since: datetime | None,
               offset: int) -> list[Item]:
    return store.feed_items(feed_id, limit=limit, since=since, offset=offset)


def _read_source(store: FeedStore, source_id: str, limit: int, since: datetime | None,
                 offset: int) -> list[Item]:
    return store.source_items(source_id, limit=limit, since=since, offset=offset)


@blueprint.get("/feeds")
def feeds() -> ResponseReturnValue:
    return jsonify({"feeds": [_feed(feed) for feed in runtime().catalogue.feeds.values()]})


@blueprint.get("/sources")
def sources() -> ResponseReturnValue:
    started = runtime().registry.scheduler_started()
    response = jsonify({"sources": [source_document(s, started)
                                    for s in runtime().catalogue.sources.values()],
                        "scheduler_started": started.isoformat() if started else None})
    response.vary.add("Authorization")  # the operator's answer says more
    return response


@blueprint.get("/sources/<source_id>")
def source(source_id: str) -> ResponseReturnValue:
    found = runtime().catalogue.sources.get(source_id)
    if found is None:
        raise NotFound("source", source_id)
    response = jsonify(source_document(found, runtime().registry.scheduler_started()))
    response.vary.add("Authorization")
    return response


def _item(item: Item) -> dict[str, Any]:
    data = item.to_dict()
    data.pop("content_hash")
    return data


def _feed(feed: Feed) -> dict[str, Any]:
    state = runtime().store.feed_state(feed.id)
    return {
        "id": feed.id, "title": feed.title, "description": feed.description,
        "publisher": feed.publisher, "sources": list(feed.sources), "kinds": list(feed.kinds),
        "tags": list(feed.tags), "version": state.version,
        "changed_at": state.changed_at.isoformat() if state.changed_at else None,
        "links": {fmt: external_url("feeds.feed_document", feed_id=feed.id, fmt=fmt)
                  for fmt in ("rss", "atom", "json")},
    }


def source_document(source: Source, scheduler_started: datetime | None) -> dict[str, Any]:
    """The source and its status: for the operator in full, for anyone else without the text
    of errors and warnings (their kind, time and number stay)."""
    service = runtime()
    store = service.store
    pushed = source.type == SourceType.PUSH
    status = store.source_status(source.id)
    shown = status.to_dict() | {"warning_count": len(status.warnings),
                                # a pushed source is never checked: its publisher sends
                                "checked_since_start": None if pushed else checked_since_start(
                                    status, scheduler_started)}
    if not from_operator():
        for name in OPERATOR_ONLY:
            del shown[name]
    return {
        "id": source.id, "url": source.url, "type": source.type, "publisher": source.publisher,
        "origin": "file" if source.id in service.live.declared.sources else "api",
        "feeds": [feed.id for feed in service.catalogue.feeds_of(source.id)],
        "kind": source.kind, "every_seconds": None if pushed else source.every_seconds,
        "item_count": store.item_count(source.id),
        "status": shown,
    }
