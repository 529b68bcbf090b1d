"""Harvest: which pages of a source to fetch, and what they gave. Entry point:
`harvest(source, fetcher, known)`, one function per source type:

- html.py: an entry page, its listing pages (pagination) and the detail pages it links to;
- feed.py: an RSS, Atom or JSON feed, each entry an item (with full_page, each entry's page);
- sitemap.py: a sitemap or sitemap index, pages fetched only when their <lastmod> moved;
- ical.py: an iCalendar file, each event occurrence an item.

`known` is what the last committed refresh left per page (validators, the item it gave), so an
unchanged source costs a few 304s. One failing page is skipped and counted as a warning; the item
it gave before is kept (pages.py's `detail_page`, shared by every type). So is a page, a feed
entry or a child sitemap that raises anything while it is read (pages.py's `skip_page`): only
the source's own page, feed or sitemap failing fails it. Push sources harvest nothing: their
publisher sends items (push.py).
"""

from __future__ import annotations

from ..fetch import Fetcher
from ..model import Source, SourceType
from ..state import Harvest, PageState
from .feed import harvest_feed
from .html import harvest_html
from .ical import harvest_ical
from .sitemap import harvest_sitemap

__all__ = ["Harvest", "harvest"]

_HARVESTERS = {
    SourceType.HTML: harvest_html,
    SourceType.FEED: harvest_feed,
    SourceType.SITEMAP: harvest_sitemap,
    SourceType.ICAL: harvest_ical,
}


def harvest(source: Source, fetcher: Fetcher, known: dict[str, PageState]) -> Harvest:
    """What one pass over a source's pages brought back. Raises FetchError when the source's
    own entry page (or feed, or sitemap) cannot be read."""
    if source.type not in _HARVESTERS:
        raise ValueError(f"a {source.type} source has no pages to harvest")
    return _HARVESTERS[source.type](source, fetcher, known)
