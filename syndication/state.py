"""How sources are doing and what a fetch leaves behind: the operational vocabulary that the
refresh, the store and the status views share (model.py holds the content itself)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .model import RawRecord

# --- operational state -------------------------------------------------------------------------

# degraded: the pages answered, but what they gave looks like a changed layout (drift.py); the
# last good items stay published until a refresh looks normal again.
class SourceState(StrEnum):
    NEVER = "never"
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    DEGRADED = "degraded"
    FAILING = "failing"


SOURCE_STATES: tuple[str, ...] = tuple(SourceState)


class Outcome(StrEnum):
    """What came of one refresh (or of one tick that asked for one)."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    DEGRADED = "degraded"  # the pages answered, but their layout seems to have changed
    FAILED = "failed"
    SKIPPED = "skipped"  # another process holds the source's lease, or it is backing off
    QUEUED = "queued"  # handed to the RQ workers
    REMOVED = "removed"  # an RQ job whose source was removed since it was queued


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """How a source's refreshes are going, for operators (/api/sources, the CLI)."""

    state: SourceState = SourceState.NEVER
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    last_error_at: datetime | None = None
    failing_since: datetime | None = None
    consecutive_failures: int = 0
    last_duration_ms: int | None = None
    warnings: tuple[str, ...] = ()  # pages of a successful refresh that could not be read
    next_run: datetime | None = None  # planned by the scheduler, which may be another process

    _DATES = ("last_attempt", "last_success", "last_error_at", "failing_since", "next_run")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in self._DATES:
            data[name] = data[name].isoformat() if data[name] else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceStatus:
        data = dict(data)
        for name in cls._DATES:
            if data.get(name):
                data[name] = datetime.fromisoformat(data[name])
        data["warnings"] = tuple(data.get("warnings", ()))
        data["state"] = SourceState(data.get("state", SourceState.NEVER))
        return cls(**data)


@dataclass(frozen=True, slots=True)
class ExtractionCounts:
    """What a refresh got from a source's pages (fetched or unchanged), to compare one refresh
    with the last good one (drift.py): pages that gave a record, items among them (a title was
    found), and items with a publication date."""

    pages: int
    items: int
    dated: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExtractionCounts:
        return cls(**data)


# --- what a fetch leaves behind ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Validators:
    """What a server gave us to ask "has it changed?" next time."""

    etag: str | None = None
    last_modified: str | None = None

    def request_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True, slots=True)
class PageState:
    """What we know of one fetched page: its validators and the item it produced."""

    validators: Validators
    member: str | None = None  # "{source}/{id}" of the item the page held
    links: tuple[str, ...] = ()  # for a source's entry page: the detail pages it led to
    dated: bool = True  # the item had a publication date (drift.py); unknown before: assumed
    titled: bool = True  # a layer gave the item's title, not a guess (drift.py)
    lastmod: str | None = None  # sitemap sources: the page's <lastmod> when it was last read
    home: str | None = None  # a feed source's feed: the site it names (<link>, home_page_url)


@dataclass
class Harvest:
    """What one pass over a source's pages brought back."""

    records: list[tuple[str, RawRecord]] = field(default_factory=list)  # (page URL, record)
    kept: list[str] = field(default_factory=list)  # members of pages unchanged or unreadable
    pages: dict[str, PageState] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    followed: list[str] = field(default_factory=list)  # detail page URLs, in page order
    # Pages read again that gave an item before: their earlier state, kept if the new record
    # cannot be normalised (decide.normalise_harvest).
    earlier: dict[str, PageState] = field(default_factory=dict)

    def keep(self, link: str, state: PageState) -> None:
        """The page gave an item before and is not read now: its item stays as stored."""
        assert state.member is not None
        self.kept.append(state.member)
        self.pages[link] = state


@dataclass(frozen=True, slots=True)
class Hold:
    """A host that answered `status` with Retry-After: not contacted for `remaining` seconds."""

    status: int
    remaining: float
