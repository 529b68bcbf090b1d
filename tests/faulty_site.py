"""A copy of the sample site on loopback that misbehaves on demand: the fault applies to every
request until it is cleared, so a test can refresh a source once in good health, then break the
site, and check what subscribers keep.

/robots.txt is apart: faults leave it alone (it serves the site's file) unless `robots` says
otherwise (a text to serve, or a status to answer), and its requests are logged in
`robots_requests`, not `requests`. `arrivals` and `departures` log every request, robots.txt
included, with its time (time.monotonic), and `max_in_flight` says how many were ever served at
once."""

from __future__ import annotations

import gzip
import os
import shutil
import threading
import time
from functools import partial
from pathlib import Path

from syndication.sample_site import SampleSiteHandler, SampleSiteServer

FAULTS = ("slow", "500", "404", "429", "pdf", "huge", "binary", "truncated", "redirect-loop",
          "gzip-bomb", "empty", "503", "redirect-private")


class FaultyHandler(SampleSiteHandler):
    server: _FaultyServer

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        server = self.server
        with server.lock:
            server.arrivals.append((time.monotonic(), self.path))
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            if self.path.split("?")[0] == "/robots.txt":
                server.robots_requests.append((self.path, dict(self.headers)))
                return self._robots()
            server.requests.append((self.path, dict(self.headers)))
            return self._answer()
        finally:
            with server.lock:
                server.in_flight -= 1
                server.departures.append((time.monotonic(), self.path))

    def _robots(self) -> None:
        time.sleep(self.server.robots_slow)
        robots = self.server.robots
        if robots is None:
            return super().do_GET()
        if isinstance(robots, int):
            return self._reply(robots, b"<html><body>Erreur</body></html>")
        return self._reply(200, robots.encode("utf-8"), "text/plain")

    def _answer(self) -> None:
        fault = self.server.fault
        if fault is None:
            return super().do_GET()
        if fault == "slow":
            time.sleep(self.server.slow_seconds)
            return super().do_GET()
        if fault in ("500", "404", "429", "503"):
            return self._reply(int(fault), b"<html><body>Erreur</body></html>")
        if fault == "pdf":
            return self._reply(200, b"%PDF-1.4 ...", "application/pdf")
        if fault == "huge":
            return self._reply(200, b"<html><body>" + b"x" * 3_000_000 + b"</body></html>")
        if fault == "binary":
            return self._reply(200, bytes(range(256)) * 64)
        if fault == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"<html><body><h1>Coup")
            self.close_connection = True
            return None
        if fault == "redirect-loop":
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if fault == "redirect-private":  # to redirect_target: 10.0.0.1, 169.254.169.254…
            self.send_response(302)
            self.send_header("Location", self.server.redirect_target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if fault == "gzip-bomb":
            body = gzip.compress(b" " * 20_000_000)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        if fault == "empty":  # a redesign: the page answers, but holds nothing we know
            return self._reply(200, b"<!doctype html><html lang=fr><head><meta charset=utf-8>"
                               b"</head><body><div id=app></div></body></html>")
        raise AssertionError(f"unknown fault {fault}")

    def _reply(self, status: int, body: bytes, content_type: str = "text/html") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status in (429, 503) and self.server.retry_after is not None:
            self.send_header("Retry-After", self.server.retry_after)
        self.end_headers()
        self.wfile.write(body)


class _FaultyServer(SampleSiteServer):
    fault: str | None = None
    slow_seconds: float = 2.0
    requests: list[tuple[str, dict[str, str]]]
    retry_after: str | None = "120"  # the Retry-After of 429 and 503 answers (None: none)
    redirect_target: str = "http://10.0.0.1/"  # where the redirect-private fault sends
    robots: str | int | None = None  # robots.txt: None the site's file, a text, or a status
    robots_slow: float = 0.0  # seconds robots.txt takes to answer
    robots_requests: list[tuple[str, dict[str, str]]]
    arrivals: list[tuple[float, str]]
    departures: list[tuple[float, str]]
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock


class FaultySite:
    def __init__(self, original: Path, copy: Path, host: str = "127.0.0.1"):
        shutil.copytree(original, copy)
        self.root = copy
        self.server = _FaultyServer((host, 0), partial(FaultyHandler, directory=str(copy)))
        self.server.requests, self.server.robots_requests = [], []
        self.server.arrivals, self.server.departures = [], []
        self.server.lock = threading.Lock()
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def fail_with(self, fault: str | None) -> None:
        assert fault is None or fault in FAULTS
        self.server.fault = fault

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        return self.server.requests

    def edit(self, relative: str, old: str, new: str) -> None:
        """Change a page's text (and so its modification time) as an editor would."""
        path = self.root / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new), encoding="utf-8")
        stamp = time.time() + 2  # Last-Modified has a one-second resolution
        os.utime(path, (stamp, stamp))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
