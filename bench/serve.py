"""The serving benchmark (`python bench/serve.py [--rounds N] [--duration 2s]`): how close do the
public reads come to the limits, and which WSGI server serves them best?

In one run, on this machine, with wrk on loopback (Debian packages `wrk` and `nginx`; the Python
servers come with `pip install -e '.[bench]'`), requests per second and p99 latency of:

1. every public read (READS: the feeds in three formats, a feed with filters, a widget fragment
   with options and the widget script, the iframe page, the digest, oEmbed, /api/items) under
   the production server (PRODUCTION_SERVER, WORKERS processes), each beside
   - nginx serving the same bytes as a static file (the physical limit),
   - the bare Flask route: a minimal Flask app returning the same bytes from memory under the
     same server (the framework's floor),
   - the app's cached hit (200) and its 304 (If-None-Match: its ETag);
   and the deployment's caching proxy (deploy/nginx) answering the feed from its cache;
2. the candidate servers (SERVERS), each with the bare route, the cached hit and the 304 of the
   feed: the evidence for the production server;
3. cold renders: the first request after a change, for each read, in this process.

Every case of a phase runs in each round, rounds interleaved (other load on the machine then
weighs on all cases alike); each case reports the median req/s of its rounds with their spread
(min–max), and the p99 of that same median round. The machine's load average is printed before
and after. The store is filled first from the bundled sample site through the real pipeline, in
an embedded Redis that the servers reach over its unix socket.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.servers import (  # noqa: E402
    BIN,
    WRK_OPTIONS,
    get,
    nginx_command,
    proxy_command,
    running,
    server_command,
    wrk,
)
from demo.sample_site import site_url, start_sample_site  # noqa: E402
from syndication.app import create_app  # noqa: E402
from syndication.catalogue import load_catalogue  # noqa: E402
from syndication.normalise import content_hash  # noqa: E402
from syndication.refresh import refresh  # noqa: E402
from syndication.runtime import Runtime, open_runtime  # noqa: E402
from syndication.settings import load_settings  # noqa: E402
from syndication.state import SourceStatus  # noqa: E402
from syndication.store.connection import connect_redis, stop_embedded  # noqa: E402

WORKERS = 2  # one per core
FEED = "/feeds/actualites.rss"
MEDIA_TYPE = "application/rss+xml; charset=utf-8"
BASE_URL = "http://127.0.0.1:8000"  # fixed self links: every server sends the very same bytes
READS = {
    "feed rss": FEED,
    "feed atom": "/feeds/actualites.atom",
    "feed json": "/feeds/actualites.json",
    "feed, filters": "/feeds/actualites.rss?kind=actualite&limit=10",
    "widget fragment": "/embed/actualites.html?layout=cards&count=6&theme=dark&new_tab=1",
    "widget script": "/embed/actualites.js",
    "iframe page": "/embed/actualites/frame?layout=headlines&count=4",
    "digest": "/digest/actualites.html?window=30d&limit=10",
    "oembed": "/oembed?url=http%3A%2F%2F127.0.0.1%3A8000%2Ffeeds%2Factualites.rss&format=json",
    "/api/items": "/api/items?feed=actualites&limit=10",  # not cached: Flask every time
}
TARGETS = {"hit": 1.0, "304": 1.1}  # of the bare route, on the production server
STATIC_TARGET = 0.4  # hits and 304s, of nginx serving the same bytes
WARM_TARGET = 0.8  # widget fragments and the digest, warm, of the bare route
WARM_READS = ("widget fragment", "iframe page", "digest")
PRODUCTION_SERVER = "granian 2 threads"  # the Dockerfile's
SERVERS = {  # the candidates, each with WORKERS processes
    "gunicorn sync": ["gunicorn"],
    "gunicorn gthread": ["gunicorn", "-k", "gthread", "--threads", "4"],
    "granian": ["granian"],  # its default for WSGI: backlog / workers / 2 = 256 threads a worker
    "granian 2 threads": ["granian", "--blocking-threads", "2"],
}
COLD_REPEATS = 5


def baseline_app():  # noqa: ANN201 - a Flask app, loaded by the servers as a factory
    """The bare route: each read's bytes, from memory, at its own URL."""
    from flask import Flask, Response, request

    bodies = {url: (Path(path).read_bytes(), media_type) for url, (path, media_type)
              in json.loads(Path(os.environ["BENCH_BODIES"]).read_text()).items()}
    app = Flask("baseline")

    @app.get("/<path:_path>")
    def bare(_path: str) -> Response:
        body, media_type = bodies[request.full_path.rstrip("?")]
        return Response(body, content_type=media_type)

    return app


def prepared_runtime(data: Path, stack: contextlib.ExitStack) -> tuple[Runtime, dict[str, str]]:
    """The sample site scraped into an embedded Redis under `data`, through the real pipeline;
    returns the runtime and the environment that names the site."""
    site = start_sample_site()
    stack.callback(site.shutdown)
    environ = {"SAMPLE_SITE_URL": site_url(site)}
    settings = load_settings({"data_dir": str(data / "redis"), "redis_prefix": "bench",
                              "base_url": BASE_URL, "host_delay": 0.0,  # the site is ours
                              "fetch_allowed_networks": "127.0.0.0/8"}, environ={})
    redis, embedded = connect_redis(settings.redis_url, settings.data_dir)
    stack.callback(stop_embedded, embedded, save=False)
    runtime = open_runtime(settings, load_catalogue(ROOT / "feeds", environ), redis)
    stack.callback(runtime.fetcher.close)
    for source_id in ("actualites", "region-solidaire"):
        result = refresh(runtime.catalogue.sources[source_id], runtime)
        print(f"refreshed {source_id}: {result.outcome}, {result.new} new items")
    return runtime, environ


class Rounds:
    """Each case measured once per round, the rounds interleaved; per case, the median round."""

    def __init__(self, cases: dict[tuple[str, str], tuple[int, str, dict[str, str]]],
                 rounds: int, duration: str):
        self.cases, self.rounds, self.duration = cases, rounds, duration
        self.results: dict[tuple[str, str], list[tuple[float, float]]] = {}

    def run(self) -> Rounds:
        for port, url, headers in self.cases.values():  # warm-up: caches, connections, pages
            wrk(port, url, headers, "1s")
        for number in range(self.rounds):
            for case, (port, url, headers) in self.cases.items():
                self.results.setdefault(case, []).append(wrk(port, url, headers, self.duration))
            print(f"  round {number + 1}/{self.rounds} done, load "
                  f"{os.getloadavg()[0]:.1f}", file=sys.stderr)
        return self

    def median(self, case: tuple[str, str]) -> tuple[float, float, float, float]:
        """(median req/s, its round's p99 ms, lowest req/s, highest req/s)"""
        rounds = sorted(self.results[case])
        rps, p99 = rounds[(len(rounds) - 1) // 2]
        return rps, p99, rounds[0][0], rounds[-1][0]


def fmt(rounds: Rounds, case: tuple[str, str]) -> str:
    rps, p99, low, high = rounds.median(case)
    return f"{rps:>8.0f} ({low:.0f}–{high:.0f}) {p99:>6.2f}"


def public_reads(data: Path, env: dict[str, str], bodies: dict[str, tuple[bytes, str]],
                 etags: dict[str, str], rounds: int, duration: str) -> Rounds:
    static, app, bare, proxy, proxied = (_free_port() for _ in range(5))
    cases: dict[tuple[str, str], tuple[int, str, dict[str, str]]] = {}
    with contextlib.ExitStack() as servers:
        servers.enter_context(running(nginx_command(data, static, WORKERS, MEDIA_TYPE), static,
                                      env, data / "nginx.out"))
        for port, (target, factory), name in ((app, ("wsgi:app", False), "app"),
                                              (bare, ("bench.serve:baseline_app", True), "bare"),
                                              (proxied, ("wsgi:app", False), "proxied")):
            command = server_command(PRODUCTION_SERVER, SERVERS, port, target, factory, WORKERS)
            servers.enter_context(running(command, port, env, data / f"{name}.out"))
        servers.enter_context(running(proxy_command(data / "caching-proxy", proxy, proxied,
                                                    WORKERS), proxy, env, data / "proxy.out"))
        for index, (name, url) in enumerate(READS.items()):
            body = bodies[name][0]
            assert get(static, f"/r{index}")[2] == body, name
            for port in (app, bare):
                status, headers, served = get(port, url)
                assert (status, served) == (200, body), (name, port, status, len(served))
            cases[("nginx static", name)] = (static, f"/r{index}", {})
            cases[("bare route", name)] = (bare, url, {})
            cases[("hit", name)] = (app, url, {})
            if name in etags:
                assert get(app, url, {"If-None-Match": etags[name]})[0] == 304, name
                cases[("304", name)] = (app, url, {"If-None-Match": etags[name]})
        get(proxy, FEED)
        status, headers, served = get(proxy, FEED)
        assert (status, headers["X-Cache-Status"], served) == (200, "HIT", bodies["feed rss"][0])
        cases[("nginx proxy_cache hit", "feed rss")] = (proxy, FEED, {})
        return Rounds(cases, rounds, duration).run()


def server_choice(data: Path, env: dict[str, str], body: bytes, etag: str, rounds: int,
                  duration: str) -> Rounds:
    cases: dict[tuple[str, str], tuple[int, str, dict[str, str]]] = {}
    with contextlib.ExitStack() as servers:
        for server in SERVERS:
            ports = {app: _free_port() for app in ("app", "bare")}
            for app, (target, factory) in (("app", ("wsgi:app", False)),
                                           ("bare", ("bench.serve:baseline_app", True))):
                command = server_command(server, SERVERS, ports[app], target, factory, WORKERS)
                servers.enter_context(running(command, ports[app], env,
                                              data / f"{server}-{app}.out"))
                assert get(ports[app], FEED)[2] == body, (server, app)
            cases[(server, "bare route")] = (ports["bare"], FEED, {})
            cases[(server, "hit")] = (ports["app"], FEED, {})
            cases[(server, "304")] = (ports["app"], FEED, {"If-None-Match": etag})
        return Rounds(cases, rounds, duration).run()


def cold_renders(runtime: Runtime) -> dict[str, list[float]]:
    """ms of the first request after a change, per read, in this process (no server): each
    time, an item of the feed is edited and committed, which the render cache hears at once.
    (The widget script is the same for every feed and never rendered again; /api/items is
    never cached.)"""
    app = create_app(runtime=runtime)
    client = app.test_client()
    source = runtime.catalogue.sources["actualites"]
    feeds = runtime.catalogue.feeds_of(source.id)
    timings: dict[str, list[float]] = {name: [] for name in READS}
    for repeat in range(COLD_REPEATS):
        for name, url in READS.items():
            item = runtime.store.feed_items("actualites", limit=1)[0]
            edited = replace(item, title=f"{item.title.split(' #')[0]} #{repeat}-{name}")
            edited = replace(edited, content_hash=content_hash(edited))
            runtime.store.commit_refresh(source, feeds, [edited], {}, SourceStatus(state="ok"),
                                         datetime.now(UTC))
            started = time.perf_counter()
            response = client.get(url)
            timings[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, response.status)
    app.extensions["syndication.cache"].close()
    return timings


def report_reads(rounds: Rounds) -> list[str]:
    print(f"\n1. Public reads, {PRODUCTION_SERVER}, {WORKERS} workers: median req/s (min–max of "
          f"{rounds.rounds} interleaved rounds of {rounds.duration}) and p99 ms of the median "
          f"round")
    print(f"{'read':<17}{'case':<13}{'req/s (min–max)':>24}{'p99':>7}{'÷ bare':>8}{'÷ nginx':>9}"
          f"  target")
    misses = []
    for name in READS:
        bare = rounds.median(("bare route", name))[0]
        static = rounds.median(("nginx static", name))[0]
        for case in ("nginx static", "bare route", "hit", "304"):
            if (case, name) not in rounds.results:
                continue
            rps = rounds.median((case, name))[0]
            verdict = ""
            if case in ("hit", "304") and name != "/api/items":
                wanted = [(rps / static, STATIC_TARGET, "nginx")]
                if name in WARM_READS and case == "hit":
                    wanted.append((rps / bare, WARM_TARGET, "bare"))
                if name == "feed rss":
                    wanted.append((rps / bare, TARGETS[case], "bare"))
                failed = [f"{what} {ratio:.2f} < {target}" for ratio, target, what in wanted
                          if ratio < target]
                misses += [f"{name} {case}: {miss}" for miss in failed]
                verdict = "MISS " + ", ".join(failed) if failed else "PASS " + ", ".join(
                    f"≥ {target} {what}" for _, target, what in wanted)
            print(f"{name:<17}{case:<13}{fmt(rounds, (case, name)):>31}{rps / bare:>8.2f}"
                  f"{rps / static:>9.2f}  {verdict}")
    proxy = ("nginx proxy_cache hit", "feed rss")
    print(f"{'feed rss':<17}{'proxy hit':<13}{fmt(rounds, proxy):>31}{'':>8}"
          f"{rounds.median(proxy)[0] / rounds.median(('nginx static', 'feed rss'))[0]:>9.2f}")
    return misses


def report_servers(rounds: Rounds) -> None:
    print(f"\n2. Servers, GET {FEED}, {WORKERS} workers each: median req/s (min–max of "
          f"{rounds.rounds} interleaved rounds), p99 ms of the median round")
    for server in SERVERS:
        bare = rounds.median((server, "bare route"))[0]
        cells = "".join(f"  {case} {fmt(rounds, (server, case))} ({rounds.median((server, case))[0] / bare:.2f})"  # noqa: E501
                        for case in ("hit", "304"))
        print(f"{server:<19} bare {fmt(rounds, (server, 'bare route'))}{cells}")
    hits = {server: rounds.median((server, "hit")) for server in SERVERS}
    rival = max((s for s in SERVERS if s != PRODUCTION_SERVER), key=lambda s: hits[s][0])
    wins = sum(ours[0] > theirs[0] for ours, theirs in zip(
        rounds.results[(PRODUCTION_SERVER, "hit")], rounds.results[(rival, "hit")], strict=True))
    margin = hits[PRODUCTION_SERVER][0] / hits[rival][0] - 1
    spreads = {s: (hits[s][3] - hits[s][2]) / hits[s][0] for s in (PRODUCTION_SERVER, rival)}
    verdict = ("ahead" if margin > 0 and wins * 5 >= 4 * rounds.rounds else
               "behind: reconsider" if margin < 0 and wins * 5 <= rounds.rounds else
               "not told apart by this run")
    print(f"production server {PRODUCTION_SERVER}: cached hits {margin:+.0%} against the best "
          f"other, {rival}, by the medians of {rounds.rounds} rounds; ahead in {wins} of "
          f"{rounds.rounds} same-round pairs; rounds spread over {spreads[PRODUCTION_SERVER]:.0%}"
          f" and {spreads[rival]:.0%}: {verdict}")


def report_cold(timings: dict[str, list[float]]) -> None:
    print(f"\n3. Cold renders (first request after a change, in process, {COLD_REPEATS} "
          f"times): median ms (min–max)")
    for name, values in timings.items():
        print(f"{name:<17}{median(values):>8.1f} ({min(values):.1f}–{max(values):.1f})")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", default="2s", help="of each wrk run")
    parser.add_argument("--skip-servers", action="store_true", help="phase 1 and 3 only")
    args = parser.parse_args()
    for tool in ("wrk", "nginx", BIN / "gunicorn", BIN / "granian"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed: apt-get install -y wrk nginx; pip install -e '.[bench]'")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean up on kill as on Ctrl+C
    before = os.getloadavg()
    with contextlib.ExitStack() as stack:
        data = Path(tempfile.mkdtemp(prefix="bench-serve-"))
        stack.callback(shutil.rmtree, data, ignore_errors=True)
        data.chmod(0o755)  # nginx workers run as nobody when we are root
        runtime, environ = prepared_runtime(data, stack)
        app = create_app(runtime=runtime)
        stack.callback(app.extensions["syndication.cache"].close)
        client = app.test_client()
        (data / "www").mkdir()
        bodies, etags, files = {}, {}, {}
        for index, (name, url) in enumerate(READS.items()):
            response = client.get(url)
            assert response.status_code == 200, (name, response.status)
            bodies[name] = (response.data, response.content_type)
            (data / "www" / f"r{index}").write_bytes(response.data)
            files[url] = (str(data / "www" / f"r{index}"), response.content_type)
            if "ETag" in response.headers:
                etags[name] = response.headers["ETag"]
        (data / "bodies.json").write_text(json.dumps(files))
        env = dict(os.environ, **environ, SYNDICATION_REDIS_PREFIX="bench",
                   SYNDICATION_REDIS_URL="unix://" + runtime.store.redis.connection_pool
                   .connection_kwargs["path"], SYNDICATION_BASE_URL=BASE_URL,
                   SYNDICATION_LOG_LEVEL="WARNING", SYNDICATION_FEEDS_DIR=str(ROOT / "feeds"),
                   BENCH_BODIES=str(data / "bodies.json"))
        reads = public_reads(data, env, bodies, etags, args.rounds, args.duration)
        servers = None if args.skip_servers else server_choice(
            data, env, bodies["feed rss"][0], etags["feed rss"], args.rounds, args.duration)
        timings = cold_renders(runtime)
    after = os.getloadavg()
    print(f"\n{os.cpu_count()} CPUs; wrk {' '.join(WRK_OPTIONS)} (identity); load "
          f"average before {' / '.join(f'{n:.1f}' for n in before)}, after "
          f"{' / '.join(f'{n:.1f}' for n in after)} (1 / 5 / 15 min)")
    misses = report_reads(reads)
    if servers is not None:
        report_servers(servers)
    report_cold(timings)
    print("\ntargets: " + ("all met" if not misses else "MISSED: " + "; ".join(misses)))


if __name__ == "__main__":
    main()
