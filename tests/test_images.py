"""Image probing and resized derivatives: the real sample site's images over loopback HTTP (and a
copy that misbehaves on demand), a real Redis, real Pillow, the /images endpoint through Flask."""

from __future__ import annotations

import io
import json
import struct
import threading
import uuid
import warnings
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image as Pillow
from redis import Redis
from redis.cluster import RedisCluster

from demo.sample_site import SITE_DIR
from syndication.errors import BodyTooLarge, NotFound
from syndication.images import (
    WIDTHS,
    ImageLimits,
    decode_image,
    derivative,
    image_key,
    probe_images,
)
from syndication.model import Derivative, Image, Item, derivative_of
from syndication.runtime import Runtime
from syndication.store.images import ImageStore
from syndication.web import images as images_web

from .faulty_site import FaultySite
from .waiting import wait_until

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
MEDIA = SITE_DIR / "media"
VELO = "/media/plan-velo-regional.jpg"  # 960 x 540
SOLIDAIRE = "/media/region-solidaire.jpg"  # 1200 x 675
LOGO = "/media/logo.png"  # 160 x 64, transparent
STRICT = ImageLimits(retry_after=3600)


@pytest.fixture
def image_client(site_runtime: Runtime) -> FlaskClient:
    from syndication.app import create_app

    app: Flask = create_app(runtime=site_runtime)
    if images_web.blueprint.name not in app.blueprints:  # until app.py registers it
        app.register_blueprint(images_web.blueprint)
    return app.test_client()


def item_with(image_url: str | None, n: int = 1, **image: object) -> Item:
    return Item(id=str(uuid.uuid4()), source="actualites", kind="actualite",
                url=f"http://sample.test/actualites/{n}", title=f"Actualité {n}", summary="",
                content_html="<p>x</p>", first_seen=NOW, updated=NOW,
                image=Image(url=image_url, alt="Des cyclistes", credit="Baptiste Roux",
                            **image) if image_url else None)  # type: ignore[arg-type]


def requests_for(site: FaultySite, path: str) -> list[dict[str, str]]:
    return [headers for requested, headers in site.requests if requested == path]


def store_of(runtime: Runtime) -> ImageStore:
    return runtime.stores.images


def pixels(data: bytes) -> Pillow.Image:
    picture = Pillow.open(io.BytesIO(data))
    picture.load()
    return picture


def png_declaring(width: int, height: int) -> bytes:
    """A valid little PNG whose header claims width x height: a decompression bomb's shape."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


def publish(site: FaultySite, name: str, data: bytes) -> str:
    (site.root / "media" / name).write_bytes(data)
    return f"/media/{name}"


# --- probing ---------------------------------------------------------------------------------


def test_probing_records_the_real_type_length_and_size(site_runtime: Runtime,
                                                       faulty_site: FaultySite) -> None:
    # The page declared a wrong size: the real one wins; what the page said of alt and credit stays.
    item = item_with(faulty_site.url + VELO, width=10, height=10)
    [probed] = probe_images(site_runtime, [item])
    image = probed.image
    assert image is not None
    assert (image.type, image.width, image.height) == ("image/jpeg", 960, 540)
    assert image.length == (MEDIA / "plan-velo-regional.jpg").stat().st_size
    assert (image.url, image.alt, image.credit) == (faulty_site.url + VELO, "Des cyclistes",
                                                     "Baptiste Roux")
    assert replace(probed, image=item.image) == item  # nothing else of the item changed
    assert [(d.max_width, d.width, d.height, d.type) for d in image.derivatives] == [
        (300, 300, 169, "image/jpeg"), (600, 600, 338, "image/jpeg"),
        (1200, 960, 540, "image/jpeg")]
    key = image_key(faulty_site.url + VELO)
    assert all(d.path.startswith(f"images/{key}-") and d.path.endswith(f"/{d.max_width}.jpg")
               for d in image.derivatives)
    [headers] = requests_for(faulty_site, VELO)
    assert headers["User-Agent"].startswith("SyndicationBot/")
    assert headers["Accept"].startswith("image/")


def test_the_feed_derivative_is_measured_at_probe_time(site_runtime: Runtime,
                                                       faulty_site: FaultySite) -> None:
    [probed] = probe_images(site_runtime, [item_with(faulty_site.url + SOLIDAIRE)])
    feed_image = derivative_of(probed.image)  # 600 px: feeds and e-mail
    assert feed_image is not None and feed_image.max_width == 600
    key = image_key(faulty_site.url + SOLIDAIRE)
    data, media_type = derivative(site_runtime, key, 600)
    assert media_type == feed_image.type == "image/jpeg"
    assert len(data) == feed_image.length
    assert pixels(data).size == (feed_image.width, feed_image.height) == (600, 338)
    assert derivative_of(item_with(faulty_site.url + SOLIDAIRE).image) is None  # not probed
    assert derivative_of(None) is None


@pytest.mark.parametrize(("path", "size"), [(VELO, (960, 540)), (SOLIDAIRE, (1200, 675))])
def test_derivatives_keep_the_aspect_ratio_and_never_upscale(
        site_runtime: Runtime, faulty_site: FaultySite, path: str,
        size: tuple[int, int]) -> None:
    probe_images(site_runtime, [item_with(faulty_site.url + path)])
    key = image_key(faulty_site.url + path)
    for width in WIDTHS:
        data, media_type = derivative(site_runtime, key, width)
        picture = pixels(data)
        assert media_type == "image/jpeg" and picture.format == "JPEG"
        assert picture.width == min(width, size[0])  # exact, and never wider than the original
        assert abs(picture.height - size[1] * picture.width / size[0]) <= 0.5


def test_each_image_is_fetched_once(site_runtime: Runtime, faulty_site: FaultySite) -> None:
    items = [item_with(faulty_site.url + VELO, 1), item_with(faulty_site.url + VELO, 2),
             item_with(faulty_site.url + SOLIDAIRE, 3)]
    first = probe_images(site_runtime, items)
    second = probe_images(site_runtime, items)
    assert second == first
    assert all(item.image and item.image.length for item in first)
    assert len(requests_for(faulty_site, VELO)) == 1
    assert len(requests_for(faulty_site, SOLIDAIRE)) == 1


def _blocked_on_probe(redis: Redis) -> bool:
    """Whether a client waits in Redis for another refresh's fetch (ImageStore.await_probe), on
    any node of a cluster."""
    if isinstance(redis, RedisCluster):
        listed = redis.client_list(target_nodes=RedisCluster.ALL_NODES)
        clients = [client for node in listed.values() for client in node] \
            if isinstance(listed, dict) else listed
    else:
        clients = redis.client_list()
    return any(client.get("cmd") == "brpoplpush" for client in clients)


def test_two_refreshes_meeting_one_image_at_once_fetch_it_once(
        site_runtime: Runtime, faulty_site: FaultySite, redis_client: Redis) -> None:
    """Two sources refreshing together (the scheduler's start) share an image: one fetches it
    while the other waits for its result, and both items get it."""
    gate = threading.Event()
    faulty_site.server.slow_gate = gate
    faulty_site.fault_path(VELO, "slow")
    results: dict[str, list[Item]] = {}

    def probe(name: str, n: int) -> None:
        results[name] = probe_images(site_runtime, [item_with(faulty_site.url + VELO, n)])

    first = threading.Thread(target=probe, args=("first", 1))
    first.start()
    wait_until(lambda: requests_for(faulty_site, VELO), "the first fetch to reach the site")
    second = threading.Thread(target=probe, args=("second", 2))
    second.start()
    try:
        wait_until(lambda: _blocked_on_probe(redis_client),
                   lambda: f"the second refresh to wait; requests: {faulty_site.requests}")
    finally:
        gate.set()
        first.join()
        second.join()
    assert len(requests_for(faulty_site, VELO)) == 1
    [one], [other] = results["first"], results["second"]
    assert one.image and other.image and one.image.derivatives
    assert other.image.derivatives == one.image.derivatives


def test_items_without_a_fetchable_image_are_left_alone(site_runtime: Runtime,
                                                        faulty_site: FaultySite) -> None:
    items = [item_with(None), item_with("data:image/gif;base64,R0lGODlhAQABAAAAACw=")]
    assert probe_images(site_runtime, items) == items
    assert faulty_site.requests == []


def test_transparent_images_get_png_derivatives_at_their_own_size(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    [probed] = probe_images(site_runtime, [item_with(faulty_site.url + LOGO)])
    assert probed.image is not None and probed.image.type == "image/png"
    assert {(d.width, d.height, d.type) for d in probed.image.derivatives} == {
        (160, 64, "image/png")}  # 160 px wide: no derivative is upscaled
    assert all(d.path.endswith(".png") for d in probed.image.derivatives)
    data, media_type = derivative(site_runtime, image_key(faulty_site.url + LOGO), 300)
    assert media_type == "image/png"
    assert pixels(data).mode == "RGBA" and pixels(data).getchannel("A").getextrema()[0] == 0


def test_an_opaque_png_gets_jpeg_derivatives(site_runtime: Runtime,
                                             faulty_site: FaultySite) -> None:
    buffer = io.BytesIO()
    Pillow.new("RGBA", (800, 400), (200, 30, 30, 255)).save(buffer, "PNG")
    path = publish(faulty_site, "opaque.png", buffer.getvalue())
    [probed] = probe_images(site_runtime, [item_with(faulty_site.url + path)])
    assert probed.image is not None and probed.image.type == "image/png"
    assert {d.type for d in probed.image.derivatives} == {"image/jpeg"}


# --- failures --------------------------------------------------------------------------------


def break_site(site: FaultySite, case: str) -> tuple[str, ImageLimits]:
    """Make the site's image at the returned path fail in one way; the limits to probe with."""
    if case in ("500", "pdf"):
        site.fail_with(case)
        return VELO, STRICT
    if case == "html":  # a page where an image was expected
        return "/actualites/plan-velo-regional", STRICT
    if case == "too-large":
        return VELO, replace(STRICT, max_bytes=10_000)  # the image is about 22 kB
    if case == "corrupt":
        return publish(site, "corrupt.jpg", b"\xff\xd8\xff\xe0 not a JPEG at all" * 50), STRICT
    if case == "truncated":
        data = (MEDIA / "plan-velo-regional.jpg").read_bytes()
        return publish(site, "truncated.jpg", data[:len(data) // 2]), STRICT
    if case == "svg":  # an image/* type Pillow does not read
        return publish(site, "vector.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'), STRICT
    raise AssertionError(case)


FAILURES = {"500": "HTTP 500", "pdf": "application/pdf", "html": "text/html",
            "too-large": "exceeds 10000", "corrupt": "not a usable image", "truncated": "truncated",
            "svg": "not an image"}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_an_image_that_fails_leaves_its_item_unchanged_and_is_remembered(
        redis_client: Redis, site_runtime: Runtime, faulty_site: FaultySite, case: str) -> None:
    path, limits = break_site(faulty_site, case)
    item = item_with(faulty_site.url + path, width=960, height=540)
    assert probe_images(site_runtime, [item], limits) == [item]
    key = image_key(faulty_site.url + path)
    failure = store_of(site_runtime).failure(key)
    assert failure is not None and FAILURES[case] in failure
    ttl = redis_client.ttl(f"{site_runtime.settings.redis_prefix}:image:{key}:failed")
    assert 0 < ttl <= limits.retry_after
    assert probe_images(site_runtime, [item], limits) == [item]
    assert len(requests_for(faulty_site, path)) == 1  # not fetched again at the next refresh


def test_a_failing_image_does_not_stop_the_others(site_runtime: Runtime,
                                                  faulty_site: FaultySite) -> None:
    bad = item_with(faulty_site.url + "/media/missing.jpg", 1)
    good = item_with(faulty_site.url + VELO, 2)
    probed_bad, probed_good = probe_images(site_runtime, [bad, good])
    assert probed_bad == bad
    assert probed_good.image is not None and probed_good.image.width == 960


def test_a_failed_image_is_tried_again_once_its_failure_expires(
        redis_client: Redis, site_runtime: Runtime, faulty_site: FaultySite) -> None:
    item = item_with(faulty_site.url + VELO)
    faulty_site.fail_with("500")
    assert probe_images(site_runtime, [item]) == [item]
    faulty_site.fail_with(None)
    assert probe_images(site_runtime, [item]) == [item]  # remembered: not asked again yet
    assert len(requests_for(faulty_site, VELO)) == 1
    key = image_key(faulty_site.url + VELO)
    redis_client.delete(f"{site_runtime.settings.redis_prefix}:image:{key}:failed")  # expiry
    [probed] = probe_images(site_runtime, [item])
    assert probed.image is not None and probed.image.length and probed.image.derivatives
    assert store_of(site_runtime).failure(key) is None
    assert len(requests_for(faulty_site, VELO)) == 2


@pytest.mark.parametrize("size", [(100_000, 100_000), (10_000, 10_000)])
def test_decompression_bombs_are_refused(site_runtime: Runtime, faulty_site: FaultySite,
                                         size: tuple[int, int]) -> None:
    # 10⁴ x 10⁴ passes Pillow's hard limit and only warns; 10⁵ x 10⁵ is Pillow's error.
    path = publish(faulty_site, "bomb.png", png_declaring(*size))
    item = item_with(faulty_site.url + path)
    assert probe_images(site_runtime, [item]) == [item]
    failure = store_of(site_runtime).failure(image_key(faulty_site.url + path))
    assert failure is not None and ("decompression bomb" in failure or "pixels" in failure)


def test_the_pixel_limit_holds_where_pillows_warning_is_not_an_error() -> None:
    bomb = png_declaring(10_000, 10_000)
    with warnings.catch_warnings():  # as in production: Pillow's warning does not raise
        warnings.simplefilter("ignore", Pillow.DecompressionBombWarning)
        with pytest.raises(BodyTooLarge, match="10000x10000 pixels exceeds 40000000"):
            decode_image("http://sample.test/bomb.png", bomb)


def test_the_pixel_limit_is_a_parameter(site_runtime: Runtime, faulty_site: FaultySite) -> None:
    item = item_with(faulty_site.url + VELO)
    assert probe_images(site_runtime, [item], replace(STRICT, max_pixels=100_000)) == [item]
    failure = store_of(site_runtime).failure(image_key(faulty_site.url + VELO))
    assert failure is not None and "960x540 pixels exceeds 100000" in failure
    assert Pillow.MAX_IMAGE_PIXELS > 100_000  # no global was touched


def test_probing_stops_when_its_time_budget_is_spent(site_runtime: Runtime,
                                                     faulty_site: FaultySite) -> None:
    item = item_with(faulty_site.url + VELO)
    assert probe_images(site_runtime, [item], replace(STRICT, budget_seconds=0)) == [item]
    assert faulty_site.requests == []
    assert store_of(site_runtime).failure(image_key(faulty_site.url + VELO)) is None
    [probed] = probe_images(site_runtime, [item], STRICT)  # the next refresh does it
    assert probed.image is not None and probed.image.length


def test_a_large_original_is_not_kept_but_its_derivatives_are(
        site_runtime: Runtime, faulty_site: FaultySite) -> None:
    item = item_with(faulty_site.url + VELO)
    [probed] = probe_images(site_runtime, [item], replace(STRICT, max_stored_bytes=1_000))
    key = image_key(faulty_site.url + VELO)
    assert store_of(site_runtime).original(key) is None
    data, _ = derivative(site_runtime, key, 600)
    assert probed.image is not None and len(data) == probed.image.derivatives[1].length


# --- derivatives -----------------------------------------------------------------------------


def test_a_missing_derivative_is_rendered_again_from_the_original(
        redis_client: Redis, site_runtime: Runtime, faulty_site: FaultySite) -> None:
    [probed] = probe_images(site_runtime, [item_with(faulty_site.url + VELO)])
    key = image_key(faulty_site.url + VELO)
    assert store_of(site_runtime).original(key) == (MEDIA / "plan-velo-regional.jpg").read_bytes()
    before, _ = derivative(site_runtime, key, 300)
    version = probed.image.derivatives[0].path.split("/")[1].split("-")[1]  # type: ignore[union-attr]
    derivative_key = f"{site_runtime.settings.redis_prefix}:image:{key}:{version}:300.jpg"
    assert redis_client.delete(derivative_key) == 1
    again, media_type = derivative(site_runtime, key, 300)
    assert again == before and media_type == "image/jpeg"
    assert redis_client.exists(derivative_key) == 1  # kept for the next request


def test_unknown_images_widths_and_versions_are_not_found(site_runtime: Runtime,
                                                          faulty_site: FaultySite) -> None:
    probe_images(site_runtime, [item_with(faulty_site.url + VELO)])
    key = image_key(faulty_site.url + VELO)
    with pytest.raises(NotFound):
        derivative(site_runtime, "0" * 16, 600)
    with pytest.raises(NotFound):
        derivative(site_runtime, key, 500)
    with pytest.raises(NotFound):
        derivative(site_runtime, key, 600, version="0" * 12)


# --- the endpoint ----------------------------------------------------------------------------


def probed_feed_image(runtime: Runtime, site: FaultySite, path: str = VELO) -> Derivative:
    [probed] = probe_images(runtime, [item_with(site.url + path)])
    found = derivative_of(probed.image)
    assert found is not None
    return found


def test_the_endpoint_serves_a_derivative_for_a_year(site_runtime: Runtime,
                                                     faulty_site: FaultySite,
                                                     image_client: FlaskClient) -> None:
    feed_image = probed_feed_image(site_runtime, faulty_site)
    response = image_client.get("/" + feed_image.path)
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg" == feed_image.type
    assert len(response.data) == feed_image.length
    assert pixels(response.data).size == (feed_image.width, feed_image.height)
    assert response.cache_control.public and response.cache_control.immutable
    assert response.cache_control.max_age == 31_536_000
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    etag, weak = response.get_etag()
    assert etag and not weak
    head = image_client.head("/" + feed_image.path)
    assert head.status_code == 200 and head.get_etag() == (etag, False)


def test_the_endpoint_answers_304_to_its_etag(site_runtime: Runtime, faulty_site: FaultySite,
                                              image_client: FlaskClient) -> None:
    feed_image = probed_feed_image(site_runtime, faulty_site)
    etag = image_client.get("/" + feed_image.path).get_etag()[0]
    response = image_client.get("/" + feed_image.path, headers={"If-None-Match": f'"{etag}"'})
    assert response.status_code == 304 and response.data == b""
    other = image_client.get("/" + feed_image.path, headers={"If-None-Match": '"other"'})
    assert other.status_code == 200 and len(other.data) == feed_image.length


def test_the_endpoint_serves_png_for_transparent_images(site_runtime: Runtime,
                                                        faulty_site: FaultySite,
                                                        image_client: FlaskClient) -> None:
    feed_image = probed_feed_image(site_runtime, faulty_site, LOGO)
    response = image_client.get("/" + feed_image.path)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert image_client.get("/" + feed_image.path[:-3] + "jpg").status_code == 404


def test_the_endpoint_answers_404_never_500(site_runtime: Runtime, faulty_site: FaultySite,
                                            image_client: FlaskClient) -> None:
    feed_image = probed_feed_image(site_runtime, faulty_site)
    reference = feed_image.path.split("/")[1]
    key, version = reference.split("-")
    for path in (f"/images/{reference}/500.jpg",  # not a derivative width
                 f"/images/{reference}/600.png",  # not its type
                 f"/images/{reference}/600.gif",
                 f"/images/{reference}/big.jpg",
                 f"/images/{key}-{'0' * len(version)}/600.jpg",  # another version
                 f"/images/{'f' * len(key)}-{version}/600.jpg",  # unknown image
                 f"/images/{key}/600.jpg",  # no version
                 "/images/..%2F..%2Fetc/600.jpg",
                 "/images/nothing/600.jpg"):
        response = image_client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json", path
    assert image_client.get("/" + feed_image.path).status_code == 200  # the control


def test_the_endpoint_answers_404_when_the_bytes_are_gone(
        redis_client: Redis, site_runtime: Runtime,
                                                          faulty_site: FaultySite,
                                                          image_client: FlaskClient) -> None:
    item = item_with(faulty_site.url + VELO)
    [probed] = probe_images(site_runtime, [item], replace(STRICT, max_stored_bytes=1_000))
    feed_image = derivative_of(probed.image)
    assert feed_image is not None
    key, version = feed_image.path.split("/")[1].split("-")
    redis_client.delete(f"{site_runtime.settings.redis_prefix}:image:{key}:{version}:600.jpg")
    assert image_client.get("/" + feed_image.path).status_code == 404  # no original to render from


def test_derivative_urls_are_absolute(site_runtime: Runtime, faulty_site: FaultySite,
                                      image_client: FlaskClient) -> None:
    feed_image = probed_feed_image(site_runtime, faulty_site)
    app = image_client.application
    with app.test_request_context("/feeds/actualites.rss", base_url="http://feeds.test/"):
        assert images_web.derivative_url(feed_image) == "http://feeds.test/" + feed_image.path
    with app.test_request_context("/feeds/actualites.rss", base_url="http://feeds.test/sub/"):
        assert (images_web.derivative_url(feed_image)
                == "http://feeds.test/sub/" + feed_image.path)


# --- the model -------------------------------------------------------------------------------


def test_items_stored_before_probing_existed_still_load() -> None:
    item = item_with("http://sample.test/media/a.jpg", width=960, height=540)
    stored = item.to_dict()
    del stored["image"]["length"], stored["image"]["derivatives"]
    assert Item.from_dict(json.loads(json.dumps(stored))) == item


def test_probed_items_survive_a_round_trip_through_json(site_runtime: Runtime,
                                                        faulty_site: FaultySite) -> None:
    [probed] = probe_images(site_runtime, [item_with(faulty_site.url + VELO)])
    assert probed.image is not None and len(probed.image.derivatives) == len(WIDTHS)
    assert Item.from_dict(json.loads(json.dumps(probed.to_dict()))) == probed


def test_the_sample_site_images_all_probe(site_runtime: Runtime, faulty_site: FaultySite) -> None:
    paths = sorted(f"/media/{p.name}" for p in Path(faulty_site.root, "media").glob("*.jpg"))
    probed = probe_images(site_runtime, [item_with(faulty_site.url + p, n)
                                         for n, p in enumerate(paths)])
    assert len(paths) >= 20
    assert all(i.image and i.image.type == "image/jpeg" and derivative_of(i.image)
               for i in probed)


def test_an_image_whose_name_leads_to_a_private_address_is_not_published(
        redis_client: Redis, prefix: str, faulty_site: FaultySite) -> None:
    """The fetcher refuses it; readers are not handed its URL either (now, and on later
    refreshes, while the refusal is remembered)."""
    import ipaddress
    import socket

    from .conftest import make_catalogue, make_runtime

    name = socket.gethostname()
    try:
        address = ipaddress.ip_address(socket.getaddrinfo(name, None)[0][4][0])
    except (OSError, ValueError):
        pytest.skip(f"this machine's name {name!r} does not resolve")
    if address.is_global:
        pytest.skip(f"this machine's name {name!r} resolves to a public address")
    port = faulty_site.url.rsplit(":", 1)[1]
    url = f"http://{name}:{port}/media/plan-velo-regional.jpg"
    public_only = make_runtime(redis_client, prefix, make_catalogue(faulty_site.url),
                               fetch_allowed_networks="")
    try:
        [probed] = probe_images(public_only, [item_with(url)])
        assert probed.image is None
        [again] = probe_images(public_only, [item_with(url)])
        assert again.image is None
        assert requests_for(faulty_site, "/media/plan-velo-regional.jpg") == []
    finally:
        public_only.fetcher.close()


def test_images_no_item_shows_are_swept_with_everything_kept_of_them(
        redis_client: Redis, site_runtime: Runtime, faulty_site: FaultySite) -> None:
    from syndication.images import SWEEP_GRACE, sweep_images
    from syndication.refresh import refresh

    assert refresh(site_runtime.catalogue.sources["region-solidaire"], site_runtime).outcome \
        == "ok"
    shown = {item.image.url for item in site_runtime.store.feed_items("region-solidaire",
                                                                      limit=50) if item.image}
    orphan = faulty_site.url + VELO
    assert orphan not in shown
    [probed] = probe_images(site_runtime, [item_with(orphan)])  # probed, never committed
    assert probed.image is not None and probed.image.derivatives
    key = image_key(orphan)
    prefix = site_runtime.settings.redis_prefix
    assert list(redis_client.scan_iter(match=f"{prefix}:image:{key}:*"))  # derivatives

    assert sweep_images(site_runtime) == 0  # just probed: a refresh may be about to commit it
    later = datetime.now(UTC) + SWEEP_GRACE + timedelta(minutes=1)
    assert sweep_images(site_runtime, now=later) == 1
    assert not redis_client.exists(f"{prefix}:image:{key}")
    assert not list(redis_client.scan_iter(match=f"{prefix}:image:{key}:*"))
    kept = site_runtime.stores.images.keys()
    assert kept == {image_key(url) for url in shown} and kept
    for url in shown:  # what items show is untouched, derivatives included
        record = site_runtime.stores.images.record(image_key(url))
        assert record is not None and record.derivatives
        assert derivative(site_runtime, image_key(url), 600)[0]
