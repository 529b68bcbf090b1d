"""Harvest of a sitemap source: the sitemap (or an index and its sitemaps), its URLs filtered by
`include`. A page is fetched only when its <lastmod> changed since it was last read (or it has
none: then conditionally), newest first, at most max_items pages per refresh. Entry point:
`harvest_sitemap`."""

from __future__ import annotations

from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from ..errors import FetchError, SyndicationError
from ..extract.feeds import Sitemap, parse_sitemap
from ..fetch import Fetcher, Unchanged, Validators
from ..model import Source
from ..normalise import canonical_url
from ..state import Harvest, PageState
from .pages import detail_page, skip_page

MAX_SITEMAPS = 50  # sitemaps read per refresh: the index and up to 49 of the sitemaps it lists
CHILD = "sitemap:"  # marks a child sitemap among the links a sitemap's page state keeps


def harvest_sitemap(source: Source, fetcher: Fetcher, known: dict[str, PageState]) -> Harvest:
    harvest = Harvest()
    entries = _walk(source, fetcher, known, harvest)
    ordered = sorted(entries.items(), key=lambda entry: entry[1] or "", reverse=True)
    harvest.followed = [link for link, _ in ordered]
    fetched = 0
    for link, lastmod in ordered:
        state = known.get(link)
        if state is not None and state.member and lastmod and state.lastmod == lastmod:
            harvest.keep(link, state)  # not changed since it was read: not fetched
            continue
        if fetched >= source.max_items:  # the rest waits for the next refresh
            if state is not None and state.member:
                harvest.keep(link, state)
            continue
        fetched += 1
        detail_page(source, fetcher, link, state, harvest, lastmod=lastmod)
    return harvest


def _walk(source: Source, fetcher: Fetcher, known: dict[str, PageState],
          harvest: Harvest) -> dict[str, str | None]:
    """Page URL → <lastmod> of every page the sitemaps list (on the source's host, included),
    reading an index's sitemaps breadth first. A child sitemap that fails (to be fetched or
    read) or did not change gives what it gave last time; the source's own sitemap failing
    fails the refresh. A listed URL that is no URL is skipped."""
    host = urlsplit(source.url).netloc.lower()
    entries: dict[str, str | None] = {}
    queue, sitemaps_read, budget = [source.url], 0, source.max_urls
    while queue and sitemaps_read < MAX_SITEMAPS:
        sitemap_url = queue.pop(0)
        sitemaps_read += 1
        state = known.get(sitemap_url)
        read = _read(source, fetcher, sitemap_url, state, budget, harvest)
        if read is None:  # unchanged, or a child sitemap that failed: what it gave last time
            if state is None:
                continue
            harvest.pages[sitemap_url] = state
            for link in state.links:
                if link.startswith(CHILD):
                    queue.append(link.removeprefix(CHILD))
                else:
                    entries.setdefault(link, known[link].lastmod if link in known else None)
            continue
        validators, sitemap = read
        if sitemap.truncated:
            harvest.warnings.append(f"sitemap {sitemap_url}: more than {source.max_urls} URLs, "
                                    "the rest was not read")
        children = [c for c in sitemap.children if _host(c) == host]
        queue.extend(children)
        kept_links = []
        for loc, lastmod in sitemap.urls:
            budget -= 1
            try:
                if urlsplit(loc).netloc.lower() != host or not _included(source, loc):
                    continue
                link = canonical_url(loc)
            except ValueError as error:  # a <loc> that is no URL ("http://[…")
                skip_page(harvest, loc, error)
                continue
            entries.setdefault(link, lastmod)
            kept_links.append(link)
        harvest.pages[sitemap_url] = PageState(
            validators, links=tuple([CHILD + c for c in children] + kept_links))
        if budget <= 0:
            break
    return entries


def _read(source: Source, fetcher: Fetcher, sitemap_url: str, state: PageState | None,
          budget: int, harvest: Harvest) -> tuple[Validators, Sitemap] | None:
    """One sitemap, fetched (conditionally) and parsed; None when it did not change, or when a
    child sitemap cannot be fetched or read (a warning). The source's own sitemap raises."""
    try:
        answer = fetcher.fetch_feed(sitemap_url, state.validators if state else None)
    except FetchError as error:
        if sitemap_url == source.url:
            raise
        harvest.warnings.append(f"sitemap: {error}")
        return None
    if isinstance(answer, Unchanged):
        return None
    try:
        return answer.validators, parse_sitemap(answer.body, answer.url, budget)
    except Exception as error:  # noqa: BLE001 - a child sitemap alone is lost
        if sitemap_url == source.url:
            raise
        if isinstance(error, SyndicationError):  # malformed: its own words
            harvest.warnings.append(f"sitemap: {error}")
        else:
            skip_page(harvest, sitemap_url, error)
        return None


def _host(url: str) -> str | None:
    """The URL's host (and port), lowercase; None for what is no URL."""
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return None


def _included(source: Source, url: str) -> bool:
    """Whether a sitemap URL's path (and query) matches one of the source's include globs."""
    if not source.include:
        return True
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return any(fnmatchcase(path, pattern) for pattern in source.include)
