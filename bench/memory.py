"""The memory benchmark (`python bench/memory.py`): does memory stay flat while a site churns?

A site on loopback publishes five new articles, each with a new image, every time its listing is
read; its listing shows the newest twenty. The source keeps `--retention` items (100 by default),
so after a few dozen refreshes every refresh adds as many items as retention drops. The run:

- `--refreshes` refreshes (1 000 by default) of that source, in this process, into an embedded
  Redis; the images no item shows any more are swept every 100 refreshes (as the leading
  scheduler does every hour), their grace period taken as elapsed;
- after each refresh, a web process (`syndication serve --no-scheduler`, its own process, as in
  production) is asked for the feed in three formats, the digest, and a widget whose free-text
  title is new each time (each such URL is a render-cache entry of its own; the cache is given
  `--render-cache-mb`, 4 by default, so that the run reaches its budget);
- Redis `used_memory` and the web process's resident memory (VmRSS) are read every 100
  refreshes.

Both must stay flat once retention is reached: the first reading after it (refresh 100) is the
baseline, and the last is compared with it. Prints a table and the two ratios.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import httpx
from PIL import Image as Pillow

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syndication.catalogue import load_catalogue  # noqa: E402
from syndication.images import SWEEP_GRACE, sweep_images  # noqa: E402
from syndication.refresh import refresh  # noqa: E402
from syndication.runtime import open_runtime  # noqa: E402
from syndication.settings import load_settings  # noqa: E402
from syndication.store.connection import connect_redis, stop_embedded  # noqa: E402

NEW_PER_READ = 5  # articles the site publishes each time its listing is read
LISTED = 20  # articles its listing shows
EPOCH = 1_767_225_600  # 2026-01-01: article n is dated n minutes later


class ChurningSite(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.published = 0  # articles published so far
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: ChurningSite

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if self.path == "/actualites":
            with self.server.lock:
                self.server.published += NEW_PER_READ
                newest = self.server.published
            links = "".join(f'<li><a class="item" href="/a/{n}">Article {n}</a></li>'
                            for n in range(newest, max(0, newest - LISTED), -1))
            return self._send(200, f"<html><body><h1>Actualités</h1><ul>{links}</ul>"
                                   "</body></html>".encode(), "text/html; charset=utf-8")
        if self.path.startswith("/a/"):
            n = int(self.path[3:])
            modified = formatdate(EPOCH + 60 * n, usegmt=True)
            since = self.headers.get("If-Modified-Since")
            if since and parsedate_to_datetime(since) >= parsedate_to_datetime(modified):
                return self._send(304, b"", None, modified)
            published = datetime.fromtimestamp(EPOCH + 60 * n, UTC).isoformat()
            body = (f'<html lang="fr"><head><title>Article {n}</title>'
                    f'<meta property="og:image" content="/img/{n}.jpg"></head><body>'
                    f'<h1 class="page-title">Article {n} : {uuid.uuid5(uuid.NAMESPACE_URL, str(n))}'
                    f'</h1><time datetime="{published}">{published}</time>'
                    f'<p class="chapo">Résumé de l’article {n}.</p>'
                    f'<div class="content"><p>{"Texte. " * 80}</p></div></body></html>')
            return self._send(200, body.encode(), "text/html; charset=utf-8", modified)
        if self.path.startswith("/img/"):
            n = int(self.path[5:].split(".")[0])
            picture = Pillow.new("RGB", (640, 360), ((n * 37) % 256, (n * 11) % 256, 128))
            data = io.BytesIO()
            picture.save(data, "JPEG", quality=80)
            return self._send(200, data.getvalue(), "image/jpeg")
        return self._send(404, b"", "text/plain")

    def _send(self, status: int, body: bytes, media_type: str | None,
              modified: str | None = None) -> None:
        self.send_response(status)
        if media_type:
            self.send_header("Content-Type", media_type)
        if modified:
            self.send_header("Last-Modified", modified)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


FEEDS = """
[publisher]
name = "Site qui bouge"
url = "{site}/"

[[sources]]
id = "news"
url = "{site}/actualites"
kind = "actualite"
listing = true
follow = "a.item"
max_items = {listed}

[sources.selectors]
title = "h1.page-title"
summary = ".chapo"
content = ".content"

[[feeds]]
id = "news"
title = "Nouvelles"
sources = ["news"]
"""


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refreshes", type=int, default=1000)
    parser.add_argument("--retention", type=int, default=100)
    parser.add_argument("--render-cache-mb", type=int, default=4)
    arguments = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    site = ChurningSite()
    threading.Thread(target=site.serve_forever, daemon=True).start()
    feeds_dir = work / "feeds"
    feeds_dir.mkdir()
    (feeds_dir / "site.toml").write_text(FEEDS.format(site=site.url, listed=LISTED),
                                         encoding="utf-8")
    port = site.server_address[1]
    overrides = {"data_dir": str(work / "data"), "redis_prefix": "bench-memory",
                 "retention": arguments.retention, "host_delay": 0.0,
                 "fetch_allowed_networks": f"127.0.0.1:{port}", "feeds_dir": str(feeds_dir),
                 "log_level": "WARNING",
                 # Small, so that the run reaches it: each refresh adds a widget URL of its own.
                 "render_cache_mb": arguments.render_cache_mb}
    settings = load_settings(overrides, environ={})
    redis, embedded = connect_redis("", settings.data_dir)
    runtime = open_runtime(settings, load_catalogue(feeds_dir), redis)
    web_port = _free_port()
    socket_path = redis.connection_pool.connection_kwargs["path"]
    environ = {**os.environ, **{f"SYNDICATION_{k.upper()}": str(v) for k, v in overrides.items()},
               "SYNDICATION_REDIS_URL": f"unix://{socket_path}"}
    web = subprocess.Popen([sys.executable, "-m", "syndication", "serve", "--no-scheduler",
                            "--port", str(web_port)], env=environ, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{web_port}"
    client = httpx.Client(timeout=30)
    try:
        _wait_for(lambda: client.get(f"{base}/healthz").status_code == 200)
        source = runtime.catalogue.sources["news"]
        readings = []
        started = time.monotonic()
        for turn in range(1, arguments.refreshes + 1):
            result = refresh(source, runtime)
            if result.outcome not in ("ok", "not_modified"):
                raise RuntimeError(f"refresh {turn}: {result}")
            for path in ("/feeds/news.rss", "/feeds/news.atom", "/feeds/news.json",
                         "/digest/news.html",
                         f"/embed/news.html?title={quote(uuid.uuid4().hex)}"):
                client.get(base + path).raise_for_status()
            if turn % 100 == 0:
                sweep_images(runtime, now=datetime.now(UTC) + SWEEP_GRACE + timedelta(1))
                used = int(redis.info("memory")["used_memory"])
                readings.append((turn, runtime.store.item_count("news"), used,
                                 resident_kib(web.pid)))
                print(f"refresh {turn:>5}: {readings[-1][1]} items, Redis "
                      f"{used / 1e6:.2f} MB, web RSS {readings[-1][3] / 1024:.1f} MiB "
                      f"({time.monotonic() - started:.0f} s)", flush=True)
        first, last = readings[0], readings[-1]
        print(f"\nRedis used_memory: {first[2] / 1e6:.2f} MB at refresh {first[0]}, "
              f"{last[2] / 1e6:.2f} MB at refresh {last[0]}: × {last[2] / first[2]:.2f}")
        print(f"web process RSS:   {first[3] / 1024:.1f} MiB at refresh {first[0]}, "
              f"{last[3] / 1024:.1f} MiB at refresh {last[0]}: × {last[3] / first[3]:.2f}")
    finally:
        client.close()
        web.terminate()
        web.wait(timeout=30)
        runtime.close()
        stop_embedded(embedded, save=False)
        site.shutdown()
        shutil.rmtree(work, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(check: object, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the web process did not start")


if __name__ == "__main__":
    main()
