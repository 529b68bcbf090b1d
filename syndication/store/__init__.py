"""Store: the only package that speaks Redis. One module per concern, each with its key schema
in its docstring; every key starts with the configured prefix as a Redis Cluster hash tag,
`{prefix}:` (keys.py: why, and how an operator's own tag is kept).

- feeds.py: items, feed and source indexes, page validators, source status, feed versions, leases.
- images.py: image facts, originals, derivatives, failure markers.
- subscriptions.py: WebSub subscriptions and their leases, requests awaiting verification, the
  delivery queue.
- metrics.py: refresh counters and duration histograms, for /metrics.
- sources.py: sources added through the operator API, push tokens, refreshes asked for.
- keys.py: the hash-tagged prefix every key starts with.
"""

from .feeds import FeedState, FeedStore, PageState, member_of

__all__ = ["FeedState", "FeedStore", "PageState", "member_of"]
