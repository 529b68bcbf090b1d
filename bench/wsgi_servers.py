"""Which WSGI server serves our feeds fastest on this machine? (`python bench/wsgi_servers.py`)

Fills an embedded Redis from the sample site, then serves `wsgi:app` with each candidate in turn,
with the same number of worker processes, and loads it with wrk (Debian package `wrk`) on loopback.
Prints requests per second and the ratio to gunicorn, measured in the same run.
Needs `pip install -e '.[bench]'` for the candidates.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syndication.config import load_catalogue, load_settings  # noqa: E402
from syndication.refresh import refresh  # noqa: E402
from syndication.runtime import connect_redis, open_runtime, stop_embedded  # noqa: E402
from syndication.sample_site import site_url, start_sample_site  # noqa: E402

WORKERS = 2  # one per core
DURATION = "5s"
PATHS = ("/feeds/actualites.rss?limit=20", "/healthz")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def servers(port: int) -> dict[str, list[str]]:
    bind = f"127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    return {
        "gunicorn (gthread)": [str(bin_dir / "gunicorn"), "-w", str(WORKERS), "-k", "gthread",
                               "--threads", "4", "-b", bind, "--log-level", "warning",
                               "wsgi:app"],
        "gunicorn (sync)": [str(bin_dir / "gunicorn"), "-w", str(WORKERS), "-b", bind,
                            "--log-level", "warning", "wsgi:app"],
        "granian": [str(bin_dir / "granian"), "--interface", "wsgi", "--workers", str(WORKERS),
                    "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                    "wsgi:app"],
        "waitress": [str(bin_dir / "waitress-serve"), "--threads", "8", f"--listen={bind}",
                     "wsgi:app"],
    }


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()  # noqa: S310 - loopback
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not come up at {url}")


def requests_per_second(url: str) -> float:
    output = subprocess.run(["wrk", "-t", "2", "-c", "16", "-d", DURATION, url],
                            capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    data = Path(tempfile.mkdtemp(prefix="bench-"))
    site = start_sample_site()
    environ = {"SAMPLE_SITE_URL": site_url(site)}
    settings = load_settings({"data_dir": str(data), "redis_prefix": "bench"}, environ={})
    redis, embedded = connect_redis(settings)
    socket_path = redis.connection_pool.connection_kwargs["path"]
    runtime = open_runtime(settings, load_catalogue(ROOT / "feeds", environ), redis)
    for source_id in ("actualites", "region-solidaire"):
        refresh(runtime.catalogue.sources[source_id], runtime)
    child_env = dict(os.environ, **environ, SYNDICATION_REDIS_URL=f"unix://{socket_path}",
                     SYNDICATION_REDIS_PREFIX="bench", SYNDICATION_LOG_LEVEL="WARNING",
                     SYNDICATION_FEEDS_DIR=str(ROOT / "feeds"))
    results: dict[str, dict[str, float]] = {}
    for name in servers(0):
        port = free_port()
        command = servers(port)[name]
        process = subprocess.Popen(command, cwd=ROOT, env=child_env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz")
            results[name] = {path: requests_per_second(f"http://127.0.0.1:{port}{path}")
                             for path in PATHS}
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
    baseline = results["gunicorn (gthread)"]
    print(f"{WORKERS} workers, wrk -t2 -c16 -d{DURATION}, requests/s (ratio to gunicorn gthread)")
    print(f"{'server':<22}" + "".join(f"{path:>38}" for path in PATHS))
    for name, row in results.items():
        cells = "".join(f"{row[p]:>28.0f} ({row[p] / baseline[p]:.2f}×)" for p in PATHS)
        print(f"{name:<22}{cells}")
    runtime.fetcher.close()
    stop_embedded(embedded, save=False)
    site.shutdown()
    shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
