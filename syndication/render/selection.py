"""Query filters shared by feeds and the API: parsed once, with errors that name the parameter."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import InvalidParameter, PastLastPage
from ..model import ITEM_KINDS, Item, ItemKind
from ..normalise import PARIS, fold

MAX_LIMIT = 500


MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Filters:
    limit: int
    kind: ItemKind | None = None
    tag: str | None = None
    since: datetime | None = None
    q: str | None = None  # words that must all appear in the title or the summary
    page: int = 1  # RFC 5005 paging: page 1 is the newest
    default_limit: int = 50  # the feed's own, left out of links
    upcoming: bool | None = None  # None: the feed's default (render/agenda.py)
    start_from: datetime | None = None  # events ending after it (render/agenda.py)
    start_to: datetime | None = None  # events starting before it
    near: tuple[float, float] | None = None  # (latitude, longitude): events within `within` km
    within: float = 10.0

    @property
    def agenda(self) -> bool:
        """Whether events are asked for, by start date (whatever the feed)."""
        return bool(self.upcoming or self.start_from or self.start_to or self.near)

    @property
    def filtering(self) -> bool:
        """Whether items must be read and filtered here rather than counted by the index."""
        return bool(self.kind or self.tag or self.q)

    def admits(self, item: Item) -> bool:
        if self.kind and item.kind != self.kind:
            return False
        # "solidarite" finds "Solidarité": tags are matched as `q` is, without case or accents.
        if self.tag and fold(self.tag) not in (fold(t) for t in item.tags):
            return False
        if self.q:
            text = fold(f"{item.title} {item.summary}")
            return all(word in text for word in fold(self.q).split())
        return True

    def query(self, **changes: object) -> dict[str, str]:
        """These filters as query parameters (only those that differ from the defaults)."""
        values: dict[str, object] = {
            "limit": self.limit, "kind": self.kind, "tag": self.tag, "q": self.q,
            "since": self.since.isoformat() if self.since else None, "page": self.page,
            "upcoming": None if self.upcoming is None else int(self.upcoming),
            "from": self.start_from.isoformat() if self.start_from else None,
            "to": self.start_to.isoformat() if self.start_to else None,
            "near": ",".join(map(str, self.near)) if self.near else None,
            "within": f"{self.within:g}" if self.near and self.within != 10.0 else None}
        values.update(changes)
        if values["page"] == 1:
            values["page"] = None
        if values["limit"] == self.default_limit:
            values["limit"] = None
        return {name: str(value) for name, value in values.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Selection:
    items: list[Item]
    total: int  # matching items over every page

    def last_page(self, limit: int) -> int:
        return max(1, -(-self.total // limit))

    def check_page(self, filters: Filters) -> Selection:
        """This selection, unless the page asked for is past the last: PastLastPage (404)."""
        if filters.page > self.last_page(filters.limit):
            raise PastLastPage(filters.page, self.last_page(filters.limit))
        return self


FILTERS = ("limit", "kind", "tag", "since", "q", "page", "upcoming", "from", "to", "near",
           "within")


def parse_filters(args: Mapping[str, str], default_limit: int) -> Filters:
    """The filters of a query string; InvalidParameter for a bad one, or one given twice (which
    of two values would be meant?). An empty value is the same as none: forms send them."""
    once(args, FILTERS)
    return Filters(limit=_limit(args.get("limit"), default_limit), kind=_kind(args.get("kind")),
                   tag=_tag(args.get("tag")), since=_since(args.get("since")),
                   q=_q(args.get("q")), page=_page(args.get("page")),
                   default_limit=default_limit, upcoming=_upcoming(args.get("upcoming")),
                   start_from=_since(args.get("from"), "from"),
                   start_to=_since(args.get("to"), "to", end_of_day=True),
                   near=_near(args.get("near")), within=_within(args.get("within")))


def once(args: Mapping[str, str], names: tuple[str, ...]) -> None:
    """InvalidParameter for a parameter of `names` given more than once (args a MultiDict)."""
    getlist = getattr(args, "getlist", None)
    if getlist is None:  # a plain mapping: one value each
        return
    for name in names:
        if len(getlist(name)) > 1:
            raise InvalidParameter(name, "must be given once")


def select_items(read: Callable[[int, datetime | None, int], list[Item]],
                 count: Callable[[datetime | None], int], filters: Filters, scan_limit: int,
                 also: Callable[[Item], bool] | None = None) -> Selection:
    """One page of items, newest first, read through `read(limit, since, offset)`. With kind,
    tag, text or `also` filters the whole retained history is read and filtered here, so that
    `limit` and pages count matching items."""
    offset = (filters.page - 1) * filters.limit
    if not filters.filtering and also is None:
        return Selection(read(filters.limit, filters.since, offset), count(filters.since))
    matching = [item for item in read(scan_limit, filters.since, 0)
                if filters.admits(item) and (also is None or also(item))]
    return Selection(matching[offset:offset + filters.limit], len(matching))


def _page(raw: str | None) -> int:
    return integer_parameter("page", raw, 1, MAX_PAGE, 1)


def integer_parameter(name: str, raw: str | None, low: int, high: int, default: int) -> int:
    if raw is None or raw == "":
        return default
    # ASCII digits only ("²".isdigit(), and int() of thousands of digits raises); "20.0" is the
    # integer 20, as in JSON Schema, which the API's document is written in
    match = re.fullmatch(r"([0-9]{1,9})(?:\.0*)?", raw)
    if not match or not low <= int(match.group(1)) <= high:
        raise InvalidParameter(name, f"must be an integer from {low} to {high}, not {raw!r}")
    return int(match.group(1))


def _q(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    if len(raw) > 200:
        raise InvalidParameter("q", "must be at most 200 characters")
    return " ".join(raw.split())


def _limit(raw: str | None, default: int) -> int:
    return integer_parameter("limit", raw, 1, MAX_LIMIT, default)


def _kind(raw: str | None) -> ItemKind | None:
    if raw is None or raw == "":
        return None
    if raw not in ITEM_KINDS:
        raise InvalidParameter("kind", f"must be one of {', '.join(ITEM_KINDS)}, not {raw!r}")
    return ItemKind(raw)


def _tag(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if len(raw) > 100:
        raise InvalidParameter("tag", "must be at most 100 characters")
    return raw.strip()


# The document's patterns (static/openapi.json), so that what it admits is what is accepted.
_NEAR = re.compile(r"\s*(-?(?:90(?:\.0{1,8})?|[0-8]?[0-9](?:\.[0-9]{1,8})?))\s*,"
                   r"\s*(-?(?:180(?:\.0{1,8})?|(?:1[0-7][0-9]|[0-9]{1,2})(?:\.[0-9]{1,8})?))\s*")
_WITHIN = re.compile(r"[0-9]{1,4}(?:\.[0-9]{1,3})?")


def _near(raw: str | None) -> tuple[float, float] | None:
    """ "48.85,2.35": a latitude and a longitude in degrees (WGS 84)."""
    if raw is None or raw == "":
        return None
    match = _NEAR.fullmatch(raw)
    if not match:
        raise InvalidParameter("near", "must be a latitude and a longitude in degrees, as "
                                       "48.8566,2.3522")
    return float(match[1]), float(match[2])


def _within(raw: str | None) -> float:
    """Kilometres around `near`, up to 9999.999; 10 by default."""
    if raw is None or raw == "":
        return 10.0
    if not _WITHIN.fullmatch(raw):
        raise InvalidParameter("within", "must be a distance in kilometres, as 10 or 2.5")
    return float(raw)


def _upcoming(raw: str | None) -> bool | None:
    if raw is None or raw == "":
        return None
    if raw not in ("0", "1"):
        raise InvalidParameter("upcoming", f"must be 1 or 0, not {raw!r}")
    return raw == "1"


def _since(raw: str | None, name: str = "since", *, end_of_day: bool = False) -> datetime | None:
    """A date (midnight in Paris; with `end_of_day`, the next midnight) or a date-time."""
    if raw is None or raw == "":
        return None
    if end_of_day and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", raw):
        day = _since(raw, name)
        assert day is not None
        return (day + timedelta(days=1)).replace(tzinfo=PARIS)
    # An unencoded "+01:00" in a query string arrives as " 01:00".
    raw = re.sub(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$", r"\1+\2",
                 raw.strip()).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidParameter(name, f"must be an ISO 8601 date or date-time, not {raw!r}"
                               ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=PARIS)
