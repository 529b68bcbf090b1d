"""decide.py with plain values: no Redis, no HTTP. What a refresh writes follows from what it
harvested, what is stored and how the last refreshes went."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from syndication.decide import decide, normalise_harvest
from syndication.errors import ExtractionFailed
from syndication.model import RawRecord, Source, member_of
from syndication.state import (
    ExtractionCounts,
    Harvest,
    Outcome,
    PageState,
    SourceState,
    SourceStatus,
    Validators,
)

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
DOSSIER = Source(id="dossier", url="https://example.org/dossier", publisher="p",
                 kind="dossier", follow="a.news")
NEWS = [f"https://example.org/news/{n}" for n in range(3)]


def record(url: str, title: str = "Titre", published: str | None = "2026-11-01") -> RawRecord:
    return RawRecord(url=url, title=title, summary="Résumé.", published=published)


def harvested(*, fetched: list[str], kept: dict[str, str] | None = None,
              title: str = "Titre") -> Harvest:
    """A harvest of the dossier page and the news pages: `fetched` ones read now, `kept` ones
    (URL → member) unchanged or unreadable."""
    harvest = Harvest(followed=list(NEWS))
    for url in fetched:
        harvest.records.append((url, record(url, title if url == DOSSIER.url else f"News {url}")))
        harvest.pages[url] = PageState(Validators(etag=f'"{url}"'))
    for url, member in (kept or {}).items():
        harvest.kept.append(member)
        harvest.pages[url] = PageState(Validators(etag=f'"{url}"'), member=member)
    return harvest


def test_a_first_refresh_writes_every_item_and_relates_the_dossier_to_its_news() -> None:
    normalised = normalise_harvest(DOSSIER, harvested(fetched=[DOSSIER.url, *NEWS]), NOW)
    commit = decide(DOSSIER, SourceStatus(), normalised, {}, None, NOW, drift_min_ratio=0.5,
                    duration_ms=12)
    assert commit.outcome == Outcome.OK and (commit.new, commit.updated) == (4, 0)
    [dossier] = [item for item in commit.changed if item.url == DOSSIER.url]
    assert len(dossier.related) == 3
    assert commit.status.state == SourceState.OK and commit.status.last_duration_ms == 12
    assert commit.baseline == ExtractionCounts(pages=4, items=4, dated=4)
    assert all(state.member for state in commit.pages.values())


def test_a_news_page_kept_from_before_stays_related() -> None:
    first = normalise_harvest(DOSSIER, harvested(fetched=[DOSSIER.url, *NEWS]), NOW)
    stored = {member_of(item): item for item in first.items}
    failing = next(item for item in first.items if item.url == NEWS[0])
    again = normalise_harvest(DOSSIER, harvested(fetched=[DOSSIER.url, *NEWS[1:]],
                                                 kept={NEWS[0]: member_of(failing)}), NOW)
    commit = decide(DOSSIER, SourceStatus(), again, stored, first.counts, NOW,
                    drift_min_ratio=0.5, duration_ms=1)
    assert commit.outcome == Outcome.OK and commit.changed == []  # nothing seen changed
    assert commit.unchanged == 4


def test_an_edit_is_an_update_and_keeps_the_first_dates() -> None:
    first = normalise_harvest(DOSSIER, harvested(fetched=[DOSSIER.url]), NOW)
    stored = {member_of(item): item for item in first.items}
    later = NOW + timedelta(hours=1)
    edited = normalise_harvest(DOSSIER, harvested(fetched=[DOSSIER.url], title="Nouveau"), later)
    commit = decide(DOSSIER, SourceStatus(), edited, stored, first.counts, later,
                    drift_min_ratio=0.5, duration_ms=1)
    [item] = commit.changed
    assert (commit.new, commit.updated) == (0, 1) and item.title == "Nouveau"
    assert item.first_seen == first.items[0].first_seen


def test_every_page_unchanged_writes_the_status_only() -> None:
    kept = {url: f"dossier/{n}" for n, url in enumerate([DOSSIER.url, *NEWS])}
    normalised = normalise_harvest(DOSSIER, harvested(fetched=[], kept=kept), NOW)
    commit = decide(DOSSIER, SourceStatus(), normalised, {}, normalised.counts, NOW,
                    drift_min_ratio=0.5, duration_ms=1)
    assert commit.outcome == Outcome.NOT_MODIFIED and commit.changed == []
    assert commit.unchanged == 4 and commit.status.state == SourceState.NOT_MODIFIED


def test_a_result_that_looks_like_a_new_layout_is_not_published() -> None:
    before = ExtractionCounts(pages=10, items=10, dated=10)
    previous = SourceStatus(state=SourceState.OK, consecutive_failures=0)
    normalised = normalise_harvest(DOSSIER, harvested(fetched=[DOSSIER.url]), NOW)
    commit = decide(DOSSIER, previous, normalised, {}, before, NOW, drift_min_ratio=0.5,
                    duration_ms=1)
    assert commit.outcome == Outcome.DEGRADED and commit.changed == []
    assert commit.baseline is None  # the last good one stays the reference
    assert commit.status.state == SourceState.DEGRADED
    assert commit.status.last_error_kind == "layout" and commit.status.failing_since == NOW
    assert commit.status.consecutive_failures == 1


def test_nothing_readable_ever_is_a_failure() -> None:
    normalised = normalise_harvest(DOSSIER, harvested(fetched=[]), NOW)
    with pytest.raises(ExtractionFailed):
        decide(DOSSIER, SourceStatus(), normalised, {}, None, NOW, drift_min_ratio=0.5,
               duration_ms=1)


def test_a_page_without_a_title_is_a_warning_and_is_read_again_next_time() -> None:
    harvest = harvested(fetched=[DOSSIER.url, NEWS[0]])
    harvest.records[1] = (NEWS[0], replace(harvest.records[1][1], title=None))
    normalised = normalise_harvest(DOSSIER, harvest, NOW)
    assert len(normalised.items) == 1 and "no title" in normalised.warnings[0]
    assert NEWS[0] not in normalised.pages  # its validators are forgotten


def test_a_page_another_source_holds_keeps_its_identity_and_dates() -> None:
    """The dossier reaches a news page the news listing stored a week ago: same id, and the
    dates of that first sight, not a second first sight."""
    news = Source(id="news", url="https://example.org/news", publisher="p", kind="actualite")
    week_ago = NOW - timedelta(days=7)
    undated = Harvest(records=[(NEWS[0], record(NEWS[0], "News", published=None))],
                      pages={NEWS[0]: PageState(Validators())})
    held = normalise_harvest(news, undated, week_ago).items[0]
    stored = {member_of(held): held}
    again = Harvest(records=[(NEWS[0], record(NEWS[0], "News", published=None))],
                    pages={NEWS[0]: PageState(Validators())})
    commit = decide(DOSSIER, SourceStatus(), normalise_harvest(DOSSIER, again, NOW), stored,
                    None, NOW, drift_min_ratio=0.5, duration_ms=1)
    [item] = commit.changed
    assert commit.new == 1 and item.source == DOSSIER.id and item.id == held.id
    assert (item.published, item.updated, item.first_seen) == (None, week_ago, week_ago)
    assert item.date == held.date


def test_a_later_update_the_page_declares_still_moves_updated() -> None:
    news = Source(id="news", url="https://example.org/news", publisher="p", kind="actualite")
    held = normalise_harvest(news, Harvest(records=[(NEWS[0], record(NEWS[0], "News"))],
                                           pages={NEWS[0]: PageState(Validators())}),
                             NOW - timedelta(days=7)).items[0]
    edited = replace(record(NEWS[0], "News"), updated="2026-11-20")
    normalised = normalise_harvest(DOSSIER, Harvest(records=[(NEWS[0], edited)],
                                                    pages={NEWS[0]: PageState(Validators())}),
                                   NOW)
    commit = decide(DOSSIER, SourceStatus(), normalised, {member_of(held): held}, None, NOW,
                    drift_min_ratio=0.5, duration_ms=1)
    [item] = commit.changed
    assert item.published == held.published
    assert item.updated > held.updated and item.first_seen == held.first_seen
