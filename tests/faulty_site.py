"""A copy of the sample site on loopback that misbehaves on demand: the fault applies to every
request until it is cleared, so a test can refresh a source once in good health, then break the
site, and check what subscribers keep.

The faults (FAULTS), each the answer to every request but robots.txt unless said otherwise:
- "slow": the right answer, after `slow_seconds` (or, if `slow_gate` is an Event, once the test
  sets it, `slow_seconds` at most);
- "500", "404", "503", "429": that status (429 and 503 with `Retry-After: retry_after`);
- "pdf", "binary": a PDF, or bytes that are no text, where HTML is expected;
- "huge": a 3 MB page, its length declared;
- "50mb", "50mb-undeclared": a 50 MB page written 64 KB at a time, its length declared in
  Content-Length or not (then the connection's end delimits it: only reading tells its size);
- "truncated": a body that stops short of its declared length;
- "stall": headers, then nothing, until the client leaves (or the site stops);
- "trickle": headers, then one byte of body every `trickle_seconds`, for ever;
- "gzip-bomb": 20 MB of spaces gzipped to about 20 KB; "gzipped": the right files, gzipped;
- "redirect-loop": a redirect to the same URL; "redirect-private": a redirect to
  `redirect_target` (10.0.0.1 by default: the fetcher must refuse it before sending anything);
- "empty": a page that answers but holds nothing a source knows (a redesign);
- "charset": the right files, each whose suffix is in `content_types` with that Content-Type
  (a charset that contradicts the bytes or the document's own declaration);
- "big-sitemap": /sitemap.xml lists its own entries and then `big_sitemap_urls` more pages
  (/archives/N, 3.7 MB for 100 000), written a block at a time with no declared length; every
  other path is answered as usual.
`fail_path(path, status)` makes one page answer `status` while the rest of the site is well;
`fault_path(path, fault)` gives one page one of the faults above, `redirect_path(path, target)`
makes it a 302 to `target` (a private address, another scheme...).
`write` puts any other document (a malformed feed, one in another encoding...) in the copy.

/robots.txt is apart: faults leave it alone (it serves the site's file) unless `robots` says
otherwise (a text to serve, or a status to answer), and its requests are logged in
`robots_requests`, not `requests`. `arrivals` and `departures` log every request, robots.txt
included, with its time (time.monotonic), and `max_in_flight` says how many were ever served at
once."""

from __future__ import annotations

import functools
import gzip
import itertools
import os
import shutil
import threading
import time
import zlib
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from demo.sample_site import SampleSiteHandler, SampleSiteServer

FAULTS = ("slow", "500", "404", "429", "pdf", "huge", "binary", "truncated", "redirect-loop",
          "gzip-bomb", "empty", "503", "redirect-private", "stall", "trickle", "50mb",
          "50mb-undeclared", "charset", "big-sitemap", "gzipped")
CHUNK = 65_536  # what a streamed fault writes at a time


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

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        declared = self.server.content_types.get(Path(path).suffix)
        if self.server.fault == "charset" and declared:
            return declared
        return super().guess_type(path)

    def _answer(self) -> None:
        path = self.path.split("?")[0]
        status = self.server.failing_paths.get(path)
        if status is not None:
            return self._reply(status, b"<html><body>Erreur</body></html>")
        target = self.server.redirects.get(path)
        if target is not None:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        fault = self.server.path_faults.get(path, self.server.fault)
        if fault in (None, "charset") or (fault == "big-sitemap"
                                          and self.path.split("?")[0] != "/sitemap.xml"):
            return super().do_GET()
        if fault == "slow":
            # The site's slowness, not a wait for the test: at most slow_seconds, less when the
            # test opens the gate (the site stopping opens it too).
            gate = self.server.slow_gate or self.server.stopping
            gate.wait(self.server.slow_seconds)
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
            body = _gzip_bomb()
            self.send_response(200)
            self.send_header("Content-Type", self._streamed_type())
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        if fault in ("stall", "trickle"):
            self.send_response(200)
            self.send_header("Content-Type", self._streamed_type())
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.close_connection = True
            if fault == "stall":
                self.server.stopping.wait()
                return None
            return self._write_until_left(iter(lambda: b"x", None), self.server.trickle_seconds)
        if fault in ("50mb", "50mb-undeclared"):
            self.send_response(200)
            self.send_header("Content-Type", self._streamed_type())
            if fault == "50mb":
                self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            self.close_connection = True
            chunk = b"<p>" + b"x" * (CHUNK - 7) + b"</p>"
            return self._write_until_left(chunk for _ in range(50 * 1024 * 1024 // CHUNK))
        if fault == "big-sitemap":
            return self._big_sitemap()
        if fault == "gzipped":
            path = self.translate_path(self.path)
            if not os.path.isfile(path):
                return super().do_GET()
            body = gzip.compress(Path(path).read_bytes())
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(path))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return None
        if fault == "empty":  # a redesign: the page answers, but holds nothing we know
            return self._reply(200, b"<!doctype html><html lang=fr><head><meta charset=utf-8>"
                               b"</head><body><div id=app></div></body></html>")
        raise AssertionError(f"unknown fault {fault}")

    def _streamed_type(self) -> str:
        """What a streamed fault says it sends: XML for a .xml path (a feed, a sitemap), else
        HTML."""
        return "application/xml" if self.path.split("?")[0].endswith(".xml") else "text/html"

    def _big_sitemap(self) -> None:
        own = (self.server.root / "sitemap.xml").read_text(encoding="utf-8")
        head = own[:own.rindex("</urlset>")].encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.end_headers()
        self.close_connection = True  # no Content-Length: the connection's end delimits it
        count = self.server.big_sitemap_urls
        blocks = (_archive_entries(first, min(first + 1000, count))
                  for first in range(0, count, 1000))
        self._write_until_left(itertools.chain([head], blocks, [b"</urlset>\n"]))

    def _write_until_left(self, chunks: Iterator[bytes], pause: float = 0.0) -> None:
        """Write chunk after chunk, `pause` seconds apart, until none is left, the client hangs
        up or the site stops."""
        for chunk in chunks:
            if self.server.stopping.wait(pause):
                return
            try:
                self.wfile.write(chunk)
                self.wfile.flush()
            except OSError:  # the client left: what a fetcher refusing the body does
                return

    def _reply(self, status: int, body: bytes, content_type: str = "text/html") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status in (429, 503) and self.server.retry_after is not None:
            self.send_header("Retry-After", self.server.retry_after)
        self.end_headers()
        self.wfile.write(body)


@functools.cache
def _gzip_bomb() -> bytes:
    """20 MB of spaces, gzipped a megabyte at a time: the site itself never holds 20 MB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # with a gzip header
    spaces = b" " * 1_000_000
    return b"".join([*(compressor.compress(spaces) for _ in range(20)), compressor.flush()])


def _archive_entries(first: int, end: int) -> bytes:
    # Short entries: 100 000 of them stay under the default page limit of 5 MB.
    return "".join(f"<url><loc>/archives/{n}</loc></url>\n"
                   for n in range(first, end)).encode("ascii")


class _FaultyServer(SampleSiteServer):
    fault: str | None = None
    slow_seconds: float = 2.0
    slow_gate: threading.Event | None = None  # set by the test: the slow answers go
    requests: list[tuple[str, dict[str, str]]]
    retry_after: str | None = "120"  # the Retry-After of 429 and 503 answers (None: none)
    redirect_target: str = "http://10.0.0.1/"  # where the redirect-private fault sends
    robots: str | int | None = None  # robots.txt: None the site's file, a text, or a status
    robots_slow: float = 0.0  # seconds robots.txt takes to answer
    trickle_seconds: float = 0.2  # between two bytes of the trickle fault
    big_sitemap_urls: int = 100_000  # pages the big-sitemap fault adds to the site's own
    content_types: dict[str, str]  # the charset fault: file suffix → Content-Type
    failing_paths: dict[str, int]  # one page's fault: path → the status it answers
    path_faults: dict[str, str]  # one page's fault: path → a fault of FAULTS
    redirects: dict[str, str]  # one page's redirect: path → the Location it answers
    root: Path
    stopping: threading.Event  # set when the site stops: streaming faults end
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
        self.server.content_types, self.server.root = {}, copy
        self.server.failing_paths, self.server.path_faults, self.server.redirects = {}, {}, {}
        self.server.stopping = threading.Event()
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def fail_with(self, fault: str | None) -> None:
        assert fault is None or fault in FAULTS
        self.server.fault = fault

    def fail_path(self, path: str, status: int | None) -> None:
        """Make one page answer `status` (None: heal it); the rest of the site stays well."""
        if status is None:
            self.server.failing_paths.pop(path, None)
        else:
            self.server.failing_paths[path] = status

    def fault_path(self, path: str, fault: str | None) -> None:
        """Give one page a fault of FAULTS (None: heal it); the rest of the site stays well."""
        assert fault is None or fault in FAULTS
        if fault is None:
            self.server.path_faults.pop(path, None)
        else:
            self.server.path_faults[path] = fault

    def redirect_path(self, path: str, target: str | None) -> None:
        """Make one page a 302 to `target` (None: heal it)."""
        if target is None:
            self.server.redirects.pop(path, None)
        else:
            self.server.redirects[path] = target

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

    def write(self, relative: str, body: str | bytes) -> None:
        """Put a document in the copy (text as UTF-8), with a new modification time."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body.encode("utf-8") if isinstance(body, str) else body)
        stamp = time.time() + 2  # Last-Modified has a one-second resolution
        os.utime(path, (stamp, stamp))

    def stop(self) -> None:
        self.server.stopping.set()
        self.server.shutdown()
        self.server.server_close()


# A feed declaring entities that expand to 10^9 "lol"s: refused before parsing (no expansion).
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><link>/</link><description>x</description>
<item><title>&lol9;</title><link>/a</link><description>&lol9;</description></item>
</channel></rss>
"""
