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

SITE_DIR = Path(__file__).resolve().parent.parent / "sample_site"


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


def start_sample_site(host: str = "127.0.0.1", port: int = 0,
                      directory: Path = SITE_DIR) -> ThreadingHTTPServer:
    """Serve the sample site in a background thread; port 0 picks a free port.
    The server's address is `server.server_address`; stop it with `server.shutdown()`."""
    handler = partial(SampleSiteHandler, directory=str(directory))
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="sample-site", daemon=True).start()
    return server


def site_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"
