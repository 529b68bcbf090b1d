"""Query filters shared by feeds and the API: parsed once, with errors that name the parameter."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ..errors import InvalidParameter
from ..model import ITEM_KINDS, Item
from ..normalise import PARIS

MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Filters:
    limit: int
    kind: str | None = None
    tag: str | None = None
    since: datetime | None = None

    def admits(self, item: Item) -> bool:
        if self.kind and item.kind != self.kind:
            return False
        return not self.tag or self.tag.casefold() in (t.casefold() for t in item.tags)


def parse_filters(args: Mapping[str, str], default_limit: int) -> Filters:
    return Filters(limit=_limit(args.get("limit"), default_limit), kind=_kind(args.get("kind")),
                   tag=_tag(args.get("tag")), since=_since(args.get("since")))


def select_items(read: Callable[[int, datetime | None], list[Item]], filters: Filters,
                 scan_limit: int) -> list[Item]:
    """Read newest first through `read(limit, since)` and apply kind/tag filters; when filtering,
    read the whole retained history so that `limit` counts matching items."""
    filtering = filters.kind is not None or filters.tag is not None
    items = read(scan_limit if filtering else filters.limit, filters.since)
    return [item for item in items if filters.admits(item)][:filters.limit]


def _limit(raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidParameter("limit", f"must be an integer from 1 to {MAX_LIMIT}, not {raw!r}")
    return int(raw)


def _kind(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if raw not in ITEM_KINDS:
        raise InvalidParameter("kind", f"must be one of {', '.join(ITEM_KINDS)}, not {raw!r}")
    return raw


def _tag(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if len(raw) > 100:
        raise InvalidParameter("tag", "must be at most 100 characters")
    return raw.strip()


def _since(raw: str | None) -> datetime | None:
    if raw is None or raw == "":
        return None
    # An unencoded "+01:00" in a query string arrives as " 01:00".
    raw = re.sub(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$", r"\1+\2",
                 raw.strip()).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidParameter("since", f"must be an ISO 8601 date or date-time, not {raw!r}"
                               ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=PARIS)
