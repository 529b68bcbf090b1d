"""Waiting in tests: one helper, `wait_until`, for every test and test harness.

A test waits for the event it needs (a server answering, a listener subscribed, a key expired, a
refresh done), never for a length of time. The timeout is only a guard against a hang: an upper
bound for a busy machine, generous on purpose, never a speed check (bench/ measures speed).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

SECONDS = 60.0  # the default upper bound: a 2-core machine running other suites meanwhile
FIRST_PAUSE = 0.01  # between the first checks: most events are a few milliseconds away
MAX_PAUSE = 0.25  # the pause grows to this, so that a long wait does not spin


def wait_until(check: Callable[[], T], what: str | Callable[[], str], *,
               seconds: float = SECONDS, process: subprocess.Popen | None = None,
               log: Path | None = None, ignoring: tuple[type[BaseException], ...] = (),
               pause: Callable[[float], None] = time.sleep) -> T:
    """Call `check` until it returns something true, and return that.

    Fails with an AssertionError naming `what` (a text, or a function that describes the state
    at the time of failure) once `seconds` have passed, or as soon as `process` has exited (with
    the end of its `log`): it will not start answering. An exception of one of the `ignoring`
    types means "not yet". `pause` waits between two checks (a browser page's own wait, say).
    """
    deadline = time.monotonic() + seconds
    delay = FIRST_PAUSE
    while True:
        try:
            result = check()
        except ignoring:
            result = None
        if result:
            return result
        if process is not None and process.poll() is not None:
            output = log.read_text(errors="replace")[-2000:] if log is not None else ""
            raise AssertionError(f"{_describe(what)}: the process exited "
                                 f"({process.returncode})\n{output}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{_describe(what)}: not within {seconds:g} s")
        pause(delay)
        delay = min(delay * 1.5, MAX_PAUSE)


def _describe(what: str | Callable[[], str]) -> str:
    return what if isinstance(what, str) else what()
