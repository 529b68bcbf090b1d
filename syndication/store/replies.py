"""Replies as the store reads them: text.

Every client the store is handed decodes replies (connection.py: decode_responses=True), but
redis-py's annotations cannot tell a decoding client from one that does not, and give a reply as
`bytes | str`. These functions say what such a reply is, for the type checker: they convert
nothing and cost nothing (binary values are read through a client that never decodes, as
images.py does, not through them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from redis.typing import EncodableT, FieldT


def text(reply: bytes | str) -> str:
    return cast(str, reply)


def optional_text(reply: bytes | str | None) -> str | None:
    return cast(str | None, reply)


def text_hash(reply: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    """An HGETALL reply."""
    return cast(dict[str, str], reply)


def texts(reply: Iterable[Any]) -> list[str]:
    """The members of a set or sorted set (SMEMBERS, ZRANGE without scores), as a list."""
    return cast(list[str], list(reply))


def fields(mapping: Mapping[str, str | int | float]) -> Mapping[FieldT, EncodableT]:
    """A hash's fields as HSET's `mapping` takes them (its annotation wants a mapping whose key
    type is exactly redis-py's own, where any mapping of text or numbers is accepted)."""
    return cast(Mapping[FieldT, EncodableT], mapping)


def scored(reply: Iterable[Any]) -> list[tuple[str, float]]:
    """(member, score) pairs: ZRANGE with scores, ZPOPMIN."""
    return cast(list[tuple[str, float]], list(reply))
