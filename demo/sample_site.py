"""The bundled sample site: a static copy of a regional authority's site (sample_site/), served
on loopback so that the demo and the tests have real pages to scrape over real HTTP.

Paths work as on the real site: /actualites/plan-velo serves actualites/plan-velo.html, a
directory serves its index.html, anything else is a 404.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

log = logging.getLogger(__name__)

SITE_DIR = Path(__file__).resolve().parent / "site"


class SampleSiteHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

    def translate_path(self, path: str) -> str:
        base = super().translate_path(path)
        for candidate in (base, base.rstrip("/") + ".html", os.path.join(base, "index.html")):
            if os.path.isfile(candidate):
                return candidate
        return base

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug("sample site: " + format, *args)


class SampleSiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        # A client that hangs up early (a fetcher refusing an oversized body) is no error.
        log.debug("sample site: request from %s ended early", client_address)


def start_sample_site(host: str = "127.0.0.1", port: int = 0, directory: Path = SITE_DIR,
                      handler: type[SampleSiteHandler] | None = None) -> SampleSiteServer:
    """Serve the sample site in a background thread; port 0 picks a free port.
    The server's address is `server.server_address`; stop it with `server.shutdown()`."""
    server = SampleSiteServer((host, port),
                              partial(handler or SampleSiteHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     name="sample-site", daemon=True).start()
    return server


def site_url(server: SampleSiteServer) -> str:
    host, port = server.server_address[:2]
    assert isinstance(host, str)  # bound to a host given as text (start_sample_site)
    return f"http://{host}:{port}"
