"""The time one request may take in all: `TimeBudget`, used by client.py for every request."""

from __future__ import annotations

import socket
import threading
from contextlib import suppress
from types import TracebackType
from typing import Any

import httpx

from ..errors import FetchTimeout


class TimeBudget:
    """The time one request may take in all, from connecting to the last byte of its body.

    httpx's timeouts bound each step (connecting, each read), not the whole: a server that
    trickles its headers or its body a byte at a time never trips them. When the budget runs out
    the connection's socket is shut down, so that the read waiting on it returns at once and the
    request ends; leaving the block then raises FetchTimeout, whether the request failed for it
    or its body merely looked complete (a body delimited by the connection's end)."""

    def __init__(self, name: str, seconds: float):
        self.name, self.seconds = name, seconds
        self.expired = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's `trace` request extension: learns the socket as soon as it is connected."""
        if event == "connection.connect_tcp.complete":
            with self._lock:
                self._socket = info["return_value"].get_extra_info("socket")
                if self.expired:
                    self._shut_down()

    def __enter__(self) -> TimeBudget:
        self._timer.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._timer.cancel()
        if self.expired and (error is None or isinstance(error, httpx.HTTPError)):
            raise FetchTimeout(self.name,
                               f"no complete answer within {self.seconds:g} s") from None

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._socket is not None:
                self._shut_down()

    def _shut_down(self) -> None:
        assert self._socket is not None
        with suppress(OSError):  # already closed: the request ended in the meantime
            self._socket.shutdown(socket.SHUT_RDWR)
