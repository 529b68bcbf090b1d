"""The caching proxy (deploy/nginx/nginx.conf.template), run by Debian's nginx on loopback in
front of the real app: the very configuration docker-compose.yml gives the official image,
rendered with the same three variables.

The app, filled by refreshing an editable copy of the sample site, is served by werkzeug on a
loopback port behind a recorder that notes every request reaching it, so that a cache hit is a
request the app never saw. Freshness is tested without long sleeps: where expiry matters, the
app's max-age is shortened to one second (nginx counts whole seconds, so a copy expires within
two).
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brotli
import pytest
from flask import Flask
from redis import Redis
from werkzeug.serving import WSGIRequestHandler, make_server

from syndication.app import create_app
from syndication.refresh import refresh
from syndication.runtime import Runtime
from syndication.web import caching

from .conftest import ROOT, make_catalogue, make_runtime
from .faulty_site import FaultySite
from .waiting import wait_until

TEMPLATE = ROOT / "deploy" / "nginx" / "nginx.conf.template"
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (apt-get install -y nginx-light or nginx)")

SOURCE = "region-solidaire"
FEED = f"/feeds/{SOURCE}.rss"
PAGE, OLD_TEXT, NEW_TEXT = "region-solidaire.html", "Un plan en 3 axes", "Un plan en trois axes"
ONE_SECOND = "public, max-age=1"  # for the app's Cache-Control, where a test needs expiry


def render_config(values: Mapping[str, str]) -> str:
    """The template with its ${NAME}s replaced, as envsubst does in the official image; a name
    without a value is an error, not an empty string."""
    return re.sub(r"\$\{(\w+)\}", lambda match: values[match[1]], TEMPLATE.read_text())


@dataclass(frozen=True)
class Seen:
    """A request as it reached the app, and the status the app answered."""
    method: str
    path: str
    headers: dict[str, str]
    status: int


class Recorder:
    """WSGI middleware: notes every request that reaches the app."""

    def __init__(self, app: Flask):
        self.app = app
        self.seen: list[Seen] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}

        def recording(status: str, response_headers: list, exc_info: Any = None) -> Any:
            self.seen.append(Seen(environ["REQUEST_METHOD"], environ["PATH_INFO"], headers,
                                  int(status[:3])))
            return start_response(status, response_headers, exc_info)

        return self.app(environ, recording)

    def to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]


class OneRequestPerConnection(WSGIRequestHandler):
    # Connections kept alive by the proxy would outlive the server's shutdown, and the app
    # would go on answering through them: closing each after one request makes "stopped" true.
    protocol_version = "HTTP/1.0"


class AppServer:
    """The app on a loopback port, in a thread of this process."""

    def __init__(self, app: Recorder):
        self.server = make_server("127.0.0.1", 0, app, threaded=True,
                                  request_handler=OneRequestPerConnection)
        self.address = f"127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="proxied-app",
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def cache_status(self) -> str | None:
        return self.headers["X-Cache-Status"]


class Proxy:
    """Debian's nginx, unprivileged (or with workers as nobody when we are root), running the
    rendered template in a directory of its own."""

    def __init__(self, upstream: str):
        self.directory = Path(tempfile.mkdtemp(prefix="proxy-test-"))
        self.directory.chmod(0o755)  # the workers run as nobody when we are root
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = self.directory / "nginx.conf"
        config.write_text(render_config({
            "SYNDICATION_PROXY_LISTEN": f"127.0.0.1:{self.port}",
            "SYNDICATION_PROXY_UPSTREAM": upstream,
            "SYNDICATION_PROXY_STATE_DIR": str(self.directory),
            "SYNDICATION_PROXY_RESOLVER": "127.0.0.1",  # never asked: the upstream is an address
        }))
        self.log = self.directory / "nginx.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [NGINX, "-p", str(self.directory), "-e", "stderr", "-c", str(config),
                 "-g", f"daemon off; pid {self.directory / 'nginx.pid'};"],
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise

    def _wait_until_listening(self) -> None:
        def listening() -> bool:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True

        wait_until(listening, lambda: f"nginx listening:\n{self.log.read_text()}",
                   process=self.process, log=self.log, ignoring=(OSError,))

    def request(self, method: str, path: str, headers: Mapping[str, str] | None = None,
                body: bytes | None = None) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()

    def get(self, path: str = FEED, headers: Mapping[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers)

    def get_once_expired(self, path: str = FEED) -> Answer:
        """Asks until the cached copy is no longer fresh (hits never reach the app); returns the
        first answer that found it expired."""
        def expired() -> Answer | None:
            answer = self.get(path)
            return None if answer.cache_status == "HIT" else answer

        return wait_until(expired, "the cached copy expired")

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):  # TERM: the master stops its workers
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
                break
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class Stack:
    proxy: Proxy
    app: Recorder
    server: AppServer
    runtime: Runtime
    site: FaultySite

    def change_the_feed(self) -> None:
        """An editor changes the dossier's page and the feed is refreshed: a new version."""
        self.site.edit(PAGE, OLD_TEXT, NEW_TEXT)
        assert refresh(self.runtime.catalogue.sources[SOURCE], self.runtime).outcome == "ok"


@pytest.fixture
def stack(redis_client: Redis, prefix: str, faulty_site: FaultySite) -> Iterator[Stack]:
    with contextlib.ExitStack() as cleanup:
        service = make_runtime(redis_client, prefix, make_catalogue(faulty_site.url))
        cleanup.callback(service.fetcher.close)
        assert refresh(service.catalogue.sources[SOURCE], service).outcome == "ok"
        app = create_app(runtime=service)
        cleanup.callback(app.extensions["syndication.cache"].close)
        recorder = Recorder(app)
        server = AppServer(recorder)
        cleanup.callback(server.stop)
        proxy = Proxy(server.address)
        cleanup.callback(proxy.stop)
        yield Stack(proxy, recorder, server, service, faulty_site)


# --- hits ----------------------------------------------------------------------------------


def test_a_second_request_is_a_hit_that_never_reaches_the_app(stack: Stack) -> None:
    first = stack.proxy.get()
    assert (first.status, first.cache_status) == (200, "MISS")
    assert OLD_TEXT.encode() in first.body
    second = stack.proxy.get()
    assert (second.status, second.cache_status, second.body) == (200, "HIT", first.body)
    # A reader revalidating its own copy gets its 304 from the proxy too.
    revalidated = stack.proxy.get(headers={"If-None-Match": first.headers["ETag"]})
    assert (revalidated.status, revalidated.body) == (304, b"")
    assert len(stack.app.to(FEED)) == 1
    [seen] = stack.app.to(FEED)
    assert seen.headers["Host"] == f"127.0.0.1:{stack.proxy.port}"
    assert seen.headers["X-Forwarded-For"] == "127.0.0.1"
    assert seen.headers["X-Forwarded-Proto"] == "http"
    assert seen.headers["X-Forwarded-Host"] == f"127.0.0.1:{stack.proxy.port}"


# --- freshness: the app's Cache-Control and validators --------------------------------------


def test_an_expired_copy_is_revalidated_upstream_and_served_whole(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caching, "CACHE_CONTROL", ONE_SECOND)
    first = stack.proxy.get()
    assert first.cache_status == "MISS"
    again = stack.proxy.get_once_expired()
    # The app answered a conditional request with a 304; a reader without validators still gets
    # the whole feed, and the copy is fresh again.
    assert (again.status, again.cache_status, again.body) == (200, "REVALIDATED", first.body)
    revalidation = stack.app.to(FEED)[-1]
    assert revalidation.headers["If-None-Match"] == first.headers["ETag"]
    assert revalidation.headers["If-Modified-Since"] == first.headers["Last-Modified"]
    assert revalidation.status == 304
    assert stack.proxy.get().cache_status == "HIT"
    assert len(stack.app.to(FEED)) == 2


def test_a_changed_feed_reaches_readers_once_its_copy_expires(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caching, "CACHE_CONTROL", ONE_SECOND)
    first = stack.proxy.get()
    stack.change_the_feed()
    changed = stack.proxy.get_once_expired()
    assert (changed.status, changed.cache_status) == (200, "EXPIRED")
    assert NEW_TEXT.encode() in changed.body
    assert changed.headers["ETag"] != first.headers["ETag"]
    revalidation = stack.app.to(FEED)[-1]
    assert (revalidation.headers["If-None-Match"], revalidation.status) == (first.headers["ETag"],
                                                                             200)


def test_with_stale_while_revalidate_readers_get_the_copy_at_once_while_it_is_refreshed(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caching, "CACHE_CONTROL", "public, max-age=1, stale-while-revalidate=60")
    first = stack.proxy.get()
    stack.change_the_feed()
    stale = stack.proxy.get_once_expired()
    assert (stale.status, stale.cache_status, stale.body) == (200, "STALE", first.body)
    def refreshed() -> Answer | None:  # the refresh of the copy runs after that answer
        answer = stack.proxy.get()
        return answer if NEW_TEXT.encode() in answer.body else None

    fresh = wait_until(refreshed, "the copy refreshed in the background")
    assert fresh.cache_status == "HIT"
    assert [seen.status for seen in stack.app.to(FEED)] == [200, 200]


def test_the_cached_feed_is_served_while_the_app_is_down(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caching, "CACHE_CONTROL", ONE_SECOND)  # no stale-if-error: nginx's own
    first = stack.proxy.get()
    stack.server.stop()
    with pytest.raises(OSError):  # the app is really gone
        socket.create_connection(("127.0.0.1", stack.server.server.server_port), timeout=1).close()
    stale = stack.proxy.get_once_expired()
    assert (stale.status, stale.cache_status, stale.body) == (200, "STALE", first.body)
    assert len(stack.app.to(FEED)) == 1


# --- variants: Accept-Encoding and Accept ---------------------------------------------------


def test_each_encoding_is_stored_once_and_served_to_the_readers_that_accept_it(
        stack: Stack) -> None:
    br = stack.proxy.get(headers={"Accept-Encoding": "gzip, deflate, br"})
    gz = stack.proxy.get(headers={"Accept-Encoding": "gzip, deflate"})
    plain = stack.proxy.get()
    assert (br.headers["Content-Encoding"], gz.headers["Content-Encoding"]) == ("br", "gzip")
    assert plain.headers["Content-Encoding"] is None
    assert brotli.decompress(br.body) == gzip.decompress(gz.body) == plain.body
    assert OLD_TEXT.encode() in plain.body
    assert br.headers["Vary"] == "Accept-Encoding, Accept"
    # The app was asked once per encoding, with the normalised header.
    assert [seen.headers.get("Accept-Encoding") for seen in stack.app.to(FEED)] == [
        "br", "gzip", None]
    # Other spellings share those copies, and q=0 refuses an encoding.
    for accept_encoding, encoding in [("br;q=1.0, gzip;q=0.8, *;q=0.1", "br"),
                                      ("deflate, gzip;q=1.0", "gzip"),
                                      ("gzip, br;q=0", "gzip"),
                                      ("identity", None)]:
        answer = stack.proxy.get(headers={"Accept-Encoding": accept_encoding})
        assert (answer.cache_status, answer.headers["Content-Encoding"]) == ("HIT", encoding), (
            accept_encoding)
    assert len(stack.app.to(FEED)) == 3


def test_browsers_and_feed_readers_get_their_own_copies(stack: Stack) -> None:
    reader = stack.proxy.get(headers={"Accept": "application/rss+xml, */*;q=0.8"})
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    browser = stack.proxy.get(headers={"Accept": browser_accept})
    assert reader.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert browser.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert browser.body == reader.body
    # Every reader that names no text/ type shares one copy; the same browser finds its own.
    assert stack.proxy.get(headers={"Accept": "application/xml"}).cache_status == "HIT"
    assert stack.proxy.get().cache_status == "HIT"
    again = stack.proxy.get(headers={"Accept": browser_accept})
    assert (again.cache_status, again.headers["Content-Type"]) == (
        "HIT", "application/xml; charset=utf-8")
    assert len(stack.app.to(FEED)) == 2


def test_the_app_varies_only_on_what_the_cache_key_covers(stack: Stack) -> None:
    """The proxy ignores Vary and keys on normalised Accept-Encoding and Accept instead: a
    cacheable answer that varied on anything else would be served to the wrong readers."""
    key = re.search(r"proxy_cache_key (.*);", TEMPLATE.read_text())[1]
    assert "$cache_encoding" in key and "$cache_accept" in key
    for path in (FEED, f"/feeds/{SOURCE}.atom", f"/feeds/{SOURCE}.json", "/feeds.opml",
                 f"/digest/{SOURCE}.html", f"/digest/{SOURCE}.json"):
        answer = stack.proxy.get(path)
        assert answer.status == 200 and "public" in answer.headers["Cache-Control"], path
        assert stack.proxy.get(path).cache_status == "HIT", path
        varies = {token.strip().lower() for token in (answer.headers["Vary"] or "").split(",")}
        assert varies - {""} <= {"accept-encoding", "accept"}, (path, varies)


# --- what is never cached --------------------------------------------------------------------


def test_the_api_the_hub_metrics_and_probes_always_reach_the_app(stack: Stack) -> None:
    for path in ("/api/feeds", "/healthz", "/readyz", "/metrics"):
        answers = [stack.proxy.get(path) for _ in range(2)]
        assert [answer.status for answer in answers] == [200, 200], path
        assert answers[1].cache_status is None, path  # not even looked up
        assert len(stack.app.to(path)) == 2, path
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for _ in range(2):
        assert stack.proxy.request("POST", "/hub", form, b"hub.mode=nonsense").status == 400
    assert len(stack.app.to("/hub")) == 2


def test_posts_and_requests_with_credentials_are_never_answered_from_nor_stored_in_the_cache(
        stack: Stack) -> None:
    token = {"Authorization": "Bearer reader-token"}
    with_token = stack.proxy.get(headers=token)
    assert (with_token.status, with_token.cache_status) == (200, "BYPASS")
    assert stack.proxy.get().cache_status == "MISS"  # the answer above was not stored
    assert stack.proxy.get().cache_status == "HIT"
    assert stack.proxy.get(headers=token).cache_status == "BYPASS"
    assert stack.proxy.request("POST", FEED).status == 405  # the app's answer, every time
    assert stack.proxy.request("POST", FEED).status == 405
    assert [(seen.method, "Authorization" in seen.headers) for seen in stack.app.to(FEED)] == [
        ("GET", True), ("GET", False), ("GET", True), ("POST", False), ("POST", False)]
