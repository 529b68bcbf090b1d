"""What we know of items' images: their facts, their original bytes, their resized derivatives,
and the images that could not be fetched (so that they are not fetched again at every refresh).

Key schema (every key starts with the configured prefix as a hash tag, written P below; {key} is
images.image_key(url), a digest of the image's absolute URL; {version} a digest of its bytes):

    P:image:{key}                          hash    url, type, length, width, height, version,
                                                   fetched_at (ISO), derivatives (JSON list of
                                                   model.Derivative), original ("1" if kept)
    P:image:{key}:original                 string  the original bytes, kept when small enough
    P:image:{key}:{version}:{width}.{ext}  string  a derivative's bytes ("600.jpg"): immutable,
                                                   since the version names the original
    P:image:{key}:failed                   string  why the last fetch failed; expires when the
                                                   image may be tried again
    P:image:{key}:probing                  string  held (SET NX, with expiry) by the refresh that
                                                   fetches the image now: another one waits
    P:image:{key}:probed                   list    one element, pushed when that fetch ends
                                                   (short expiry): waiters block on it

The facts, the original and the derivatives rendered at probe time are written in one MULTI/EXEC,
so a reader never finds facts without the bytes they describe. Binary values are read without
decoding (the shared client decodes responses as text).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime

from redis.client import NEVER_DECODE

from ..model import Derivative
from .connection import Connection
from .keys import key_prefix
from .replies import fields, optional_text, text_hash


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """The facts of one fetched image."""

    url: str
    type: str  # the real MIME type, from the decoder (not the server's Content-Type)
    length: int  # bytes of the original
    width: int  # as displayed (EXIF orientation applied)
    height: int
    version: str  # digest of the original bytes: part of every derivative's URL
    fetched_at: datetime
    derivatives: tuple[Derivative, ...] = ()
    original_kept: bool = False

    def to_hash(self) -> dict[str, str]:
        return {"url": self.url, "type": self.type, "length": str(self.length),
                "width": str(self.width), "height": str(self.height), "version": self.version,
                "fetched_at": self.fetched_at.isoformat(),
                "derivatives": json.dumps([asdict(d) for d in self.derivatives]),
                "original": "1" if self.original_kept else "0"}

    @classmethod
    def from_hash(cls, data: Mapping[str, str]) -> ImageRecord:
        return cls(url=data["url"], type=data["type"], length=int(data["length"]),
                   width=int(data["width"]), height=int(data["height"]),
                   version=data["version"], fetched_at=datetime.fromisoformat(data["fetched_at"]),
                   derivatives=tuple(Derivative(**d) for d in json.loads(data["derivatives"])),
                   original_kept=data.get("original") == "1")


class ImageStore:
    def __init__(self, redis: Connection, prefix: str):
        self.redis = redis
        self.prefix = key_prefix(prefix)

    def _key(self, key: str, *parts: str) -> str:
        return ":".join((self.prefix, "image", key, *parts))

    # --- reading ----------------------------------------------------------------------------

    def lookup(self, keys: Iterable[str]) -> tuple[dict[str, ImageRecord], dict[str, str]]:
        """In one round trip: the records of the known images among `keys`, and the reasons of
        those whose last fetch failed and may not be tried again yet, by key."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}, {}
        with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(self._key(key))
                pipe.get(self._key(key, "failed"))
            replies = pipe.execute()
        records, failed = {}, {}
        for key, data, failing in zip(keys, replies[::2], replies[1::2], strict=True):
            if data:
                records[key] = ImageRecord.from_hash(data)
            elif failing is not None:
                failed[key] = str(failing)
        return records, failed

    def record(self, key: str) -> ImageRecord | None:
        data = text_hash(self.redis.hgetall(self._key(key)))
        return ImageRecord.from_hash(data) if data else None

    def failure(self, key: str) -> str | None:
        """Why the image's last fetch failed, while it may not be tried again."""
        return optional_text(self.redis.get(self._key(key, "failed")))

    def original(self, key: str) -> bytes | None:
        return self._get_bytes(self._key(key, "original"))

    def derivative(self, key: str, version: str, name: str) -> bytes | None:
        """A derivative's bytes; `name` is "{width}.{ext}", as in its URL."""
        return self._get_bytes(self._key(key, version, name))

    def _get_bytes(self, redis_key: str) -> bytes | None:
        # Per-command opt-out of the client's decode_responses (redis-py uses it for DUMP).
        return self.redis.execute_command("GET", redis_key, **{NEVER_DECODE: []})

    # --- writing ----------------------------------------------------------------------------

    def save(self, key: str, record: ImageRecord, original: bytes | None,
             derivatives: Mapping[str, bytes]) -> None:
        """Write an image's facts, original (None: not kept) and derivatives ("600.jpg" →
        bytes) at once, and forget any earlier failure. Derivatives of an earlier version go."""
        previous = self.record(key)
        with self.redis.pipeline(transaction=True) as tx:
            if previous is not None and previous.version != record.version:
                tx.delete(*(self._key(key, previous.version, _name(d))
                            for d in previous.derivatives), self._key(key, "original"))
            tx.delete(self._key(key))
            tx.hset(self._key(key), mapping=fields(record.to_hash()))
            if original is not None:
                tx.set(self._key(key, "original"), original)
            else:
                tx.delete(self._key(key, "original"))
            for name, data in derivatives.items():
                tx.set(self._key(key, record.version, name), data)
            tx.delete(self._key(key, "failed"))
            tx.execute()

    def save_derivative(self, key: str, version: str, name: str, data: bytes) -> None:
        """Keep a derivative rendered on demand. NX: the first rendering stays, so its length
        and ETag do not change under clients that already have it."""
        self.redis.set(self._key(key, version, name), data, nx=True)

    def keys(self) -> set[str]:
        """The keys of every image with facts kept (SCAN: never blocks the server)."""
        start = len(self._key(""))
        return {name[start:] for name in map(str, self.redis.scan_iter(
                    match=self._key("*"), count=1000)) if ":" not in name[start:]}

    def forget(self, key: str) -> None:
        """Delete everything kept of one image: facts, original, derivatives (every version
        rendered, also on demand) and failure marker."""
        names = [str(name) for name in self.redis.scan_iter(match=self._key(key, "*"),
                                                             count=1000)]
        self.redis.delete(self._key(key), *names)

    # --- one fetch per image, whoever needs it -------------------------------------------------
    # Two sources (or processes) refreshing at once may meet the same image: the first claims
    # it and fetches it, the others block on its `probed` list until it is done.

    def claim_probe(self, key: str, seconds: int) -> bool:
        """Whether this caller fetches the image now (no one else is); held `seconds` at most."""
        return bool(self.redis.set(self._key(key, "probing"), "1", nx=True, ex=seconds))

    def end_probe(self, key: str) -> None:
        """The claimed fetch is over (its record or failure is written): wake the waiters."""
        with self.redis.pipeline(transaction=True) as tx:
            tx.delete(self._key(key, "probing"))
            tx.delete(self._key(key, "probed"))
            tx.rpush(self._key(key, "probed"), "1")
            tx.expire(self._key(key, "probed"), 60)
            tx.execute()

    def await_probe(self, key: str, seconds: int) -> bool:
        """Whether the fetch someone else claimed is over (or abandoned: its claim expired),
        after blocking `seconds` at most (keep it under the client's socket timeout)."""
        probed = self._key(key, "probed")
        # Popped and pushed back at once: every waiter sees the one element.
        if self.redis.brpoplpush(probed, probed, timeout=seconds) is not None:
            return True
        return not self.redis.exists(self._key(key, "probing"))

    def record_failure(self, key: str, reason: str, retry_after: int) -> None:
        """Remember why an image could not be used (name its URL), for `retry_after` seconds."""
        self.redis.set(self._key(key, "failed"), reason[:1000], ex=retry_after)


def _name(derivative: Derivative) -> str:
    """"600.jpg" from "images/{key}-{version}/600.jpg"."""
    return derivative.path.rsplit("/", 1)[1]
