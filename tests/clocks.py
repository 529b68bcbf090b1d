"""A clock that tests move by hand, for the code that takes one (`clock=`, `sleep=`): time passes
at once and exactly, instead of being waited for."""

from __future__ import annotations


class ManualClock:
    """Seconds (monotonic, or epoch where the code reads time.time) on a clock that moves only
    when told: `advance`, or `sleep`, which records how long the code asked to wait and moves
    the clock that much."""

    def __init__(self, now: float = 1000.0):
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
