"""Items' images: fetched once, measured, kept, and served resized by the service itself.

`probe_images(runtime, items)` fetches each item image it does not know yet, politely (the
fetcher's User-Agent and timeout, a byte limit, image/* only), decodes it with Pillow (refusing
decompression bombs), keeps its real type, length and size with the original bytes in Redis, renders
its derivatives (at most WIDTHS px wide, never upscaled: JPEG, or PNG for an image with
transparency) and returns the items with their `Image` completed. An image that cannot be fetched
or decoded leaves its item exactly as it was, and is not tried again for `retry_after` seconds.
Two refreshes that meet one image at once (two sources sharing it) fetch it once: the first
claims it in Redis, the other waits for its result, within its own time budget.

`derivative(runtime, key, width)` gives one derivative's bytes (rendered again from the stored
original if they went missing); web/images.py serves them at /images/{key}-{version}/{width}.{ext},
where the version, a digest of the original's bytes, makes each URL's content immutable.

Entry point: `probe_images(runtime, items)`; `derivative` serves a resized copy.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from io import BytesIO
from urllib.parse import urlsplit

from PIL import Image as Pillow
from PIL import ImageOps, UnidentifiedImageError

from .errors import BodyTooLarge, FetchError, NotFound, RefusedAddress, UndecodableBody
from .model import Derivative, Item
from .runtime import Runtime
from .store import ImageRecord, ImageStore

log = logging.getLogger(__name__)

WIDTHS = (300, 600, 1200)  # the derivatives there are; URLs accept no other width
MEDIA_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}
DECODABLE = ("JPEG", "PNG", "GIF", "WEBP")  # Pillow plugins tried; nothing else is parsed
JPEG_QUALITY = 82
KEY_LENGTH = 16  # hex digits of sha256(url)
VERSION_LENGTH = 12  # hex digits of sha256(original bytes)
REFUSED = "refused: "  # starts the failure reason of an image the fetcher would not reach
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
_FOREIGN_COLOURS = ("CMYK", "LAB", "YCbCr", "HSV")  # an ICC profile of these does not fit RGB


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_bytes: int = 5_000_000  # largest image fetched
    max_pixels: int = 40_000_000  # larger images are refused before decoding (about 160 MB RGBA)
    max_stored_bytes: int = 2_000_000  # larger originals are not kept (their derivatives are)
    retry_after: int = 86_400  # seconds before an image that failed is fetched again
    budget_seconds: float = 60.0  # fetching stops after this long; the rest wait a refresh


LIMITS = ImageLimits()


def image_key(url: str) -> str:
    """The stable name of an image in Redis and in its derivatives' URLs."""
    return hashlib.sha256(url.encode()).hexdigest()[:KEY_LENGTH]


def derivative_path(key: str, version: str, max_width: int, media_type: str) -> str:
    """A derivative's path relative to the service's root URL (web/images.py serves it)."""
    return f"images/{key}-{version}/{max_width}.{MEDIA_EXTENSIONS[media_type]}"


# --- probing ---------------------------------------------------------------------------------


def probe_images(runtime: Runtime, items: Iterable[Item],
                 limits: ImageLimits = LIMITS) -> list[Item]:
    """The items with their images' facts and derivatives, fetching only images never seen
    (nor failed recently). Pass every item: known images cost nothing but one Redis round trip,
    and an item left out would lose its image's facts when an edit rewrites it."""
    items = list(items)
    urls = [url for url in dict.fromkeys(i.image.url for i in items if i.image)
            if urlsplit(url).scheme in ("http", "https")]
    if not urls:
        return items
    store = runtime.stores.images
    keys = {url: image_key(url) for url in urls}
    records, failed = store.lookup(keys.values())
    deadline = time.monotonic() + limits.budget_seconds
    elsewhere = []  # images another refresh is fetching right now
    for url, key in keys.items():
        if key in records or key in failed:
            continue
        if time.monotonic() >= deadline:
            # The refresh holds a lease; images left now are fetched at the next refresh.
            log.info("image probing paused after %.0f s; %s and later wait for the next refresh",
                     limits.budget_seconds, url)
            break
        if not store.claim_probe(key, max(1, math.ceil(limits.budget_seconds))):
            elsewhere.append(key)
            continue
        try:
            probed = _probe(runtime, store, url, key, limits)
        finally:
            store.end_probe(key)
        if isinstance(probed, ImageRecord):
            records[key] = probed
        else:
            failed[key] = probed
    if elsewhere:  # each image is fetched once: take what the other refresh found
        _await_probes(store, elsewhere, deadline)
        found, failing = store.lookup(elsewhere)
        records.update(found)
        failed.update(failing)
    # The URL check guards against two URLs with one key: the image stays unprobed then.
    facts = {url: records[key] for url, key in keys.items()
             if key in records and records[key].url == url}
    # An image the fetcher refused to reach (its name leads to a private address) is not
    # handed to readers either: the item goes without it.
    refused = {url for url, key in keys.items()
               if failed.get(key, "").startswith(REFUSED) and key not in records}
    return [replace(item, image=None) if item.image and item.image.url in refused else
            _completed(item, facts.get(item.image.url)) if item.image else item
            for item in items]


def _await_probes(store: ImageStore, keys: list[str], deadline: float) -> None:
    """Wait for the fetches other refreshes claimed, until the probing budget is spent; an image
    still unknown then waits for the next refresh, as a paused one does."""
    for key in keys:
        while (left := deadline - time.monotonic()) > 0:
            # Slices shorter than the Redis client's socket timeout (5 s).
            if store.await_probe(key, max(1, min(4, math.ceil(left)))):
                break


def _probe(runtime: Runtime, store: ImageStore, url: str, key: str,
           limits: ImageLimits) -> ImageRecord | str:
    """The image's record, or why it could not be used (kept for limits.retry_after)."""
    try:
        fetched = runtime.fetcher.fetch_image(url, limits.max_bytes)
        picture = decode_image(url, fetched.body, limits.max_pixels)
        media_type = picture.derivative_type
        rendered = {width: _render(picture, width, media_type) for width in WIDTHS}
    except FetchError as error:
        log.warning("image not probed (%s): %s", error.kind, error)
        reason = f"{REFUSED}{error}" if isinstance(error, RefusedAddress) else str(error)
        store.record_failure(key, reason, limits.retry_after)
        return reason
    except Exception as error:  # noqa: BLE001 - an image must never block its item
        log.exception("image %s not probed: unexpected error", url)
        reason = f"unexpected error: {error!r} ({url})"
        store.record_failure(key, reason, limits.retry_after)
        return reason
    version = hashlib.sha256(fetched.body).hexdigest()[:VERSION_LENGTH]
    derivatives = tuple(
        Derivative(max_width=width, width=size[0], height=size[1], length=len(data),
                   type=media_type, path=derivative_path(key, version, width, media_type))
        for width, (data, size) in rendered.items())
    kept = len(fetched.body) <= limits.max_stored_bytes
    record = ImageRecord(url=url, type=picture.media_type, length=len(fetched.body),
                         width=picture.pixels.width, height=picture.pixels.height,
                         version=version, fetched_at=datetime.now(UTC),
                         derivatives=derivatives, original_kept=kept)
    store.save(key, record, fetched.body if kept else None,
               {d.path.rsplit("/", 1)[1]: rendered[d.max_width][0] for d in derivatives})
    log.info("image %s probed: %s, %d bytes, %dx%d", url, record.type, record.length,
             record.width, record.height)
    return record


def _completed(item: Item, record: ImageRecord | None) -> Item:
    if record is None or item.image is None:
        return item
    image = replace(item.image, type=record.type, length=record.length, width=record.width,
                    height=record.height, derivatives=record.derivatives)
    return item if image == item.image else replace(item, image=image)


# --- decoding and rendering ------------------------------------------------------------------


@dataclass(frozen=True)
class Picture:
    """A decoded image, upright (EXIF orientation applied), in RGB, L or RGBA."""

    pixels: Pillow.Image
    media_type: str  # of the original, as the decoder found it
    transparent: bool
    icc_profile: bytes | None

    @property
    def derivative_type(self) -> str:
        return "image/png" if self.transparent else "image/jpeg"


def decode_image(url: str, data: bytes, max_pixels: int = LIMITS.max_pixels) -> Picture:
    """Bytes → Picture. Raises BodyTooLarge for more than `max_pixels` pixels (decompression
    bombs, checked from the header before any decoding) and UndecodableBody for the rest."""
    try:
        with Pillow.open(BytesIO(data), formats=DECODABLE) as header:
            width, height = header.size
            if width * height > max_pixels:
                raise BodyTooLarge(url, f"image of {width}x{height} pixels exceeds {max_pixels}")
            header.verify()  # structure and checksums; the image must be opened again after
        with Pillow.open(BytesIO(data), formats=DECODABLE) as opened:
            opened.load()  # a truncated or corrupt body fails here
            media_type = Pillow.MIME.get(opened.format or "", "")
            upright = ImageOps.exif_transpose(opened)  # a copy, detached from the bytes
    except BodyTooLarge:
        raise
    except UnidentifiedImageError:
        raise UndecodableBody(url, f"not an image in {', '.join(DECODABLE)}") from None
    except (Pillow.DecompressionBombError, Pillow.DecompressionBombWarning) as error:
        # Pillow's own guard (MAX_IMAGE_PIXELS): its warning is an error only where warnings are
        # errors (the tests), which is why max_pixels is checked above as well.
        raise BodyTooLarge(url, f"image refused as a decompression bomb: {error}") from None
    except Exception as error:  # noqa: BLE001 - Pillow raises many kinds of errors on bad bytes
        raise UndecodableBody(url, f"not a usable image: {error}") from None
    transparent = _has_transparency(upright)
    icc = None if upright.mode in _FOREIGN_COLOURS else upright.info.get("icc_profile")
    mode = "RGBA" if transparent else "L" if upright.mode in _GREY_MODES else "RGB"
    return Picture(pixels=upright if upright.mode == mode else upright.convert(mode),
                   media_type=media_type, transparent=transparent, icc_profile=icc)


def _has_transparency(image: Pillow.Image) -> bool:
    """Whether any pixel is not fully opaque (a PNG may carry an alpha channel it never uses)."""
    if image.mode not in ("RGBA", "LA", "PA", "La", "RGBa") and "transparency" not in image.info:
        return False
    low, _ = image.convert("RGBA").getchannel("A").getextrema()
    assert isinstance(low, int | float)  # one band: (lowest, highest), not one pair per band
    return low < 255


def _render(picture: Picture, max_width: int, media_type: str) -> tuple[bytes, tuple[int, int]]:
    """One derivative at most `max_width` px wide, aspect ratio kept; bytes and (width, height).
    Even at the original's size it is encoded anew: that drops metadata (EXIF, GPS)."""
    pixels = picture.pixels
    width = min(max_width, pixels.width)
    height = max(1, round(pixels.height * width / pixels.width))
    if (width, height) != pixels.size:
        pixels = pixels.resize((width, height), Pillow.Resampling.LANCZOS, reducing_gap=3.0)
    options = {"icc_profile": picture.icc_profile} if picture.icc_profile else {}
    output = BytesIO()
    if media_type == "image/png":
        pixels.save(output, "PNG", optimize=True, **options)
    else:
        if pixels.mode not in ("RGB", "L"):
            pixels = pixels.convert("RGB")
        pixels.save(output, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True,
                    **options)
    return output.getvalue(), (width, height)


# --- serving ---------------------------------------------------------------------------------


def derivative(runtime: Runtime, key: str, width: int, *,
               version: str | None = None) -> tuple[bytes, str]:
    """(bytes, media type) of the derivative of image `key` at most `width` px wide, from Redis,
    or rendered from the stored original and kept. With `version`, only that version of the
    image will do. Raises NotFound for an unknown image, width or version."""
    if width not in WIDTHS:
        raise NotFound("image width", str(width))
    store = runtime.stores.images
    record = store.record(key)
    if record is None or not record.derivatives or version not in (None, record.version):
        raise NotFound("image", f"{key}-{version}" if version else key)
    media_type = record.derivatives[0].type  # one type for every width of an image
    name = f"{width}.{MEDIA_EXTENSIONS[media_type]}"
    data = store.derivative(key, record.version, name)
    if data is not None:
        return data, media_type
    original = store.original(key)
    if original is None:  # too large to keep, and its derivative went missing
        raise NotFound("image", f"{key}-{record.version}/{name}")
    try:
        picture = decode_image(record.url, original)
    except FetchError:
        raise NotFound("image", f"{key}-{record.version}/{name}") from None
    data, _ = _render(picture, width, media_type)
    store.save_derivative(key, record.version, name, data)
    log.info("derivative %s of %s rendered again from its original", name, record.url)
    return data, media_type


# --- sweeping --------------------------------------------------------------------------------

SWEEP_GRACE = timedelta(days=1)  # an image probed this recently may belong to a refresh underway


def sweep_images(runtime: Runtime, now: datetime | None = None) -> int:
    """Forget the images no stored item shows any more (their items left with retention, or
    changed image): facts, original and derivatives. Images probed within SWEEP_GRACE stay,
    since a refresh probes before it commits. Returns how many went."""
    now = now or datetime.now(UTC)
    store = runtime.stores.images
    in_use = {image_key(url) for url in runtime.store.image_urls()}
    gone = 0
    for key in store.keys() - in_use:
        record = store.record(key)
        if record is not None and record.fetched_at > now - SWEEP_GRACE:
            continue
        store.forget(key)
        gone += 1
    if gone:
        log.info("%d images no item shows any more were forgotten", gone)
    return gone
