"""Fetch: the polite HTTP client. Entry point: `Fetcher` (fetch, fetch_feed, fetch_image).

- client.py: conditional GET, time budget, byte and redirect limits, charset detection.
- addresses.py: where a URL may lead (SSRF): public addresses unless the operator admits others.
- robots.py: robots.txt (RFC 9309), cached per origin.
- pacing.py: one request at a time per host, with a pause between two.
"""

from ..state import Validators
from .client import (
    FeedBody,
    Fetcher,
    ImageBody,
    Page,
    Unchanged,
    decode_html,
)

__all__ = ["FeedBody", "Fetcher", "ImageBody", "Page", "Unchanged", "Validators", "decode_html"]
