"""A real WebSub subscriber on loopback for the hub's tests: it answers verification requests
(GET with hub.challenge) and records notifications (POST), each callback path on its own, and can
be told to misbehave: answer a wrong challenge, refuse, fail, or not answer in time."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BEHAVIOURS = ("ok", "wrong-challenge", "refuse", "fail", "slow", "redirect")


@dataclass(frozen=True)
class Verification:
    path: str
    params: dict[str, str]


@dataclass(frozen=True)
class Notification:
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    subscriber: Subscriber

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a "slow" answer meets a hub that gave up and closed the connection: expected


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        subscriber = self.server.subscriber
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with subscriber.lock:
            subscriber.verifications.append(Verification(parts.path, params))
        behaviour = subscriber.behaviour(parts.path)
        if behaviour == "slow":
            time.sleep(subscriber.slow_seconds)
        if behaviour == "refuse":
            return self._reply(404, b"not mine")
        if behaviour == "redirect":
            return self._reply(302, b"", location=subscriber.url("/elsewhere"))
        challenge = params.get("hub.challenge", "")
        answer = "not-the-challenge" if behaviour == "wrong-challenge" else challenge
        return self._reply(200, answer.encode())

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        subscriber = self.server.subscriber
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with subscriber.lock:
            subscriber.notifications.append(
                Notification(parts.path, parts.query, dict(self.headers), body))
        behaviour = subscriber.behaviour(parts.path)
        if behaviour == "slow":
            time.sleep(subscriber.slow_seconds)
        if behaviour == "fail":
            return self._reply(500, b"down for maintenance")
        if behaviour == "redirect":
            return self._reply(307, b"", location=subscriber.url("/elsewhere"))
        return self._reply(204, b"")

    def _reply(self, status: int, body: bytes, location: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass  # tests read what the subscriber recorded, not its access log


class Subscriber:
    def __init__(self, slow_seconds: float = 2.0):
        self.verifications: list[Verification] = []
        self.notifications: list[Notification] = []
        self.behaviours: dict[str, str] = {}
        self.slow_seconds = slow_seconds
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.subscriber = self
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        host, port = self.server.server_address[:2]
        self.root = f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.root + path

    def behave(self, path: str, behaviour: str) -> None:
        assert behaviour in BEHAVIOURS
        self.behaviours[path] = behaviour

    def behaviour(self, path: str) -> str:
        return self.behaviours.get(path, "ok")

    def received(self, path: str) -> list[Notification]:
        with self.lock:
            return [n for n in self.notifications if n.path == path]

    def verified(self, path: str) -> list[Verification]:
        with self.lock:
            return [v for v in self.verifications if v.path == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
