"""The start of every Redis key: the configured prefix as a Redis Cluster hash tag.

Redis Cluster runs a MULTI/EXEC transaction or a Lua script only when all its keys live in one
hash slot, and a key's slot is computed from its hash tag (the text between its first `{` and the
next `}`) when it has one. A refresh writes items, the source's index and status and several
feeds' indexes and versions in one transaction, and a feed is read by one script (its index and
the items it names): so every key of a deployment carries the same tag, `{prefix}:...`, and the
whole store lives in one slot. On a single server or behind Sentinel the tag changes nothing; the
layout is the same on every deployment, so data can move between them as it is.
"""

from __future__ import annotations


def key_prefix(prefix: str) -> str:
    """`{prefix}`, or the prefix itself when it already holds a hash tag (an operator who
    chose one, or the tests, whose prefixes are tagged so that they can build keys by hand)."""
    return prefix if _hash_tag(prefix) is not None else f"{{{prefix}}}"


def _hash_tag(key: str) -> str | None:
    """The part of `key` Redis Cluster hashes, if not the whole key: Redis's own rule (the text
    between the first `{` and the first `}` after it, when not empty)."""
    start = key.find("{")
    if start < 0:
        return None
    end = key.find("}", start + 1)
    return key[start + 1:end] if end > start + 1 else None
