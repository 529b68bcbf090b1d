"""`syndication demo` as a user runs it: real processes, embedded Redis, real ports.

Start it, wait for full feeds, stop it, start it again without the sample site: the same items
are served straight from the persisted embedded Redis, and the sources show as failing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest

ROOT = Path(__file__).resolve().parent.parent
READY_WITHIN = 30  # seconds: the README promises full feeds within 30 s of start


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        return response.read()


def wait_for(check: Callable[[], Any], seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = check()
            if result:
                return result
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {seconds} s: {check.__doc__}")
        time.sleep(0.3)


class Demo:
    def __init__(self, data_dir: Path, site: bool):
        self.port, self.site_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environ = {k: v for k, v in os.environ.items()
                   if k not in ("REDIS_URL", "SYNDICATION_REDIS_URL", "SAMPLE_SITE_URL")}
        environ.update(SYNDICATION_DATA_DIR=str(data_dir), DEMO_SITE="on" if site else "off",
                       SYNDICATION_FEEDS_DIR=str(ROOT / "feeds"))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "syndication", "demo", "--port", str(self.port),
             "--site-port", str(self.site_port)],
            env=environ, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def feed(self, name: str) -> feedparser.FeedParserDict:
        return feedparser.parse(get(f"{self.base}/feeds/{name}"))

    def json(self, path: str) -> Any:
        return json.loads(get(self.base + path))

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        output, _ = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, output
        return output


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def demos() -> Iterator[list[Demo]]:
    started: list[Demo] = []
    yield started
    for demo in started:
        if demo.process.poll() is None:
            demo.process.kill()
            demo.process.communicate()


def test_demo_fills_its_feeds_and_keeps_them_across_a_restart_without_the_site(
        data_dir: Path, demos: list[Demo]) -> None:
    demo = Demo(data_dir, site=True)
    demos.append(demo)

    def news_feed_is_full() -> bool:
        """/feeds/actualites.rss holds at least 20 items"""
        return len(demo.feed("actualites.rss").entries) >= 20

    wait_for(news_feed_is_full, READY_WITHIN)
    wait_for(lambda: len(demo.feed("region-solidaire.rss").entries) >= 4, READY_WITHIN)
    rss, atom = demo.feed("region-solidaire.rss"), demo.feed("region-solidaire.atom")
    assert not rss.bozo and not atom.bozo
    assert "Région solidaire" in [entry.title for entry in rss.entries]
    assert len(atom.entries) == len(rss.entries) >= 4
    items = demo.json("/api/items?feed=region-solidaire")["items"]
    dossier = next(item for item in items if item["kind"] == "dossier")
    assert sorted(f["amount"] for f in dossier["figures"]) == [1100000000, 3200000000,
                                                               7700000000]
    assert dossier["image"]["credit"] == "Andrea Piacquadio"
    before = {entry.id for entry in demo.feed("actualites.rss").entries}
    output = demo.stop()
    assert f"{demo.base}/feeds/region-solidaire.rss" in output  # it said which URLs to open

    offline = Demo(data_dir, site=False)
    demos.append(offline)
    # Served from the persisted embedded Redis, whatever the refreshes are doing.
    served = wait_for(lambda: {e.id for e in offline.feed("actualites.rss").entries}, 15)
    assert served == before

    def sample_sources_fail() -> bool:
        """/api/sources shows the sample site's sources failing"""
        sources = {s["id"]: s for s in offline.json("/api/sources")["sources"]}
        return all(sources[name]["status"]["state"] == "failing" and
                   sources[name]["item_count"] > 0 for name in ("actualites", "region-solidaire"))

    wait_for(sample_sources_fail, 20)
    assert {e.id for e in offline.feed("actualites.rss").entries} == before
    offline.stop()
