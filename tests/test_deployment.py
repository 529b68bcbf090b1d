"""The deployment as the README gives it, run for real: deploy/local/build-images.sh builds the
images from Debian's packages (no image registry), podman-compose starts docker-compose.yml, and
the tests talk to it through the proxy's published port, as an operator and as readers do.

Needs root, podman (with runc), podman-compose and debootstrap; skipped, saying which is missing,
elsewhere. podman is given a configuration and a storage of its own under a temporary directory
(CONTAINERS_CONF, CONTAINERS_STORAGE_CONF), so nothing of the machine's is used or left behind;
only the base image's tarball is kept between runs (~/.cache/syndication-deploy, one per day).
The tests run in order on one deployment: build, up, feeds through the cache, a source added
through the operator API and refreshed by a worker, Redis restarted, web scaled to 2 and back,
the leading scheduler killed, down. Podman without systemd runs no health checks by itself:
the tests run them (`podman healthcheck run`) where compose would wait for them.
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import feedparser
import pytest

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
PODMAN = shutil.which("podman")
COMPOSE = shutil.which("podman-compose", path=f"{Path(sys.executable).parent}{os.pathsep}"
                                             f"{os.environ.get('PATH', '')}")
MISSING = [name for name, found in (("podman", PODMAN), ("podman-compose", COMPOSE),
                                    ("runc", shutil.which("runc")),
                                    # netavark builds the networks with it
                                    ("iptables", shutil.which("iptables", path="/usr/sbin:/sbin:"
                                                              + os.environ.get("PATH", ""))),
                                    ("debootstrap", shutil.which("debootstrap"))) if not found]
pytestmark = [
    pytest.mark.deployment,
    pytest.mark.skipif(bool(MISSING), reason=f"no container runtime: {', '.join(MISSING)} "
                       "not installed (.ci/run installs them)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="debootstrap and rootful podman need root"),
]

TOKEN = secrets.token_hex(16)
SOURCE = "climat-compose"
FEED = "/feeds/actualites.rss"
SITE_PAGE = "http://site:8001/dossiers/plan-climat"
LEASE = 10  # SYNDICATION_LEADER_LEASE_SECONDS
# The sample site (demo/site), served from the base image on the compose network as `site`.
SITE = """services:
  site:
    image: localhost/syndication-base:bookworm
    command:
      - python3
      - -c
      - >-
        import sys, functools, http.server; sys.path.insert(0, '/srv');
        from demo.sample_site import SampleSiteHandler as H;
        http.server.ThreadingHTTPServer(('0.0.0.0', 8001),
        functools.partial(H, directory='/srv/demo/site')).serve_forever()
    volumes:
      - {demo}:/srv/demo:ro
"""


def containers_conf(directory: Path) -> str:
    """podman's settings for this machine: runc (crun fails on a hybrid cgroup hierarchy), open
    file and process limits the host allows (podman's defaults are above what root may set
    without CAP_SYS_RESOURCE), networks with DNS (netavark, aardvark-dns)."""
    nofile = min(20000, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    nproc = min(32768, resource.getrlimit(resource.RLIMIT_NPROC)[1])
    return f"""[containers]
default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "{directory}/tmp"
[network]
network_backend = "netavark"
network_config_dir = "{directory}/networks"
"""


@dataclass
class Deployment:
    directory: Path
    project: str
    port: int
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *command: str, check: bool = True, timeout: float = 600) -> str:
        done = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        if check and done.returncode:
            raise AssertionError(f"{' '.join(command)}: exit {done.returncode}\n"
                                 f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def podman(self, *arguments: str, check: bool = True) -> str:
        return self.run(str(PODMAN), *arguments, check=check)

    def compose(self, *arguments: str, check: bool = True) -> str:
        return self.run(str(COMPOSE), "-p", self.project, "-f", "docker-compose.yml",
                        "-f", str(self.directory / "site.yml"), *arguments, check=check)

    def container(self, service: str, number: int = 1) -> str:
        return f"{self.project}_{service}_{number}"

    def redis(self, *command: str) -> str:
        return self.podman("exec", self.container("redis"), "redis-cli", *command).strip()

    def healthy(self, name: str) -> bool:
        return subprocess.run([str(PODMAN), "healthcheck", "run", name], env=self.env,
                              capture_output=True).returncode == 0

    def logs(self, name: str) -> str:
        done = subprocess.run([str(PODMAN), "logs", name], env=self.env, capture_output=True,
                              text=True)
        return done.stdout + done.stderr

    def wait_healthy(self, *names: str) -> None:
        for name in names:
            wait_until(lambda name=name: self.healthy(name), f"{name} healthy",  # type: ignore[misc]
                       seconds=120)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str],
                                                                              bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                         headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def api(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def leftovers(self) -> list[str]:
        """This project's containers, networks and volumes that still exist."""
        label = f"label=io.podman.compose.project={self.project}"
        found = self.podman("ps", "-a", "--filter", label, "--format", "{{.Names}}").split()
        found += [n for n in self.podman("network", "ls", "--format", "{{.Name}}").split()
                  if n.startswith(self.project)]
        found += [v for v in self.podman("volume", "ls", "--format", "{{.Name}}").split()
                  if v.startswith(self.project)]
        return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    directory = Path(tempfile.mkdtemp(prefix="deployment-test-"))
    (directory / "containers.conf").write_text(containers_conf(directory))
    (directory / "storage.conf").write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{directory}/storage"\n'
        f'runroot = "{directory}/run"\n')
    (directory / "site.yml").write_text(SITE.format(demo=ROOT / "demo"))
    port = free_port()
    deployed = Deployment(directory, f"synd{os.getpid()}{secrets.token_hex(2)}", port)
    deployed.env = os.environ | {
        "CONTAINERS_CONF": str(directory / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(directory / "storage.conf"),
        "REDIS_IMAGE": "localhost/syndication-redis:bookworm",
        "NGINX_IMAGE": "localhost/syndication-nginx:bookworm",
        "SYNDICATION_PORT": str(port),
        "SYNDICATION_BASE_URL": f"http://127.0.0.1:{port}",
        "SYNDICATION_ADMIN_TOKEN": TOKEN,
        # The operator calls the API from the host, which the proxy sees on the network's gateway.
        "SYNDICATION_ADMIN_NETWORKS": "10.0.0.0/8,127.0.0.0/8",
        "SYNDICATION_API_SOURCE_DOMAINS": "site",
        "SYNDICATION_FETCH_ALLOWED_NETWORKS": "site:8001",
        "SYNDICATION_HOST_DELAY": "0.2",
        "SYNDICATION_LEADER_LEASE_SECONDS": str(LEASE),
        "WEB_REPLICAS": "1",  # 2 cores: one replica of one process, scaled to 2 below
        "WEB_CONCURRENCY": "1",
    }
    try:
        deployed.run(str(ROOT / "deploy" / "local" / "build-images.sh"), timeout=900)
        deployed.compose("up", "-d", "--no-build")
        yield deployed
    finally:
        deployed.compose("down", "-v", "-t", "5", check=False)
        # Whatever a failure left (this storage only): containers, networks, volumes, images.
        deployed.podman("rm", "-af", "-t", "0", check=False)
        deployed.podman("network", "prune", "-f", check=False)
        deployed.podman("system", "reset", "-f", check=False)
        shutil.rmtree(directory, ignore_errors=True)


def test_the_image_runs_as_a_user_without_a_compiler(deployment: Deployment) -> None:
    size = int(deployment.podman("image", "inspect", "syndication:latest",
                                 "--format", "{{.Size}}"))
    print(f"syndication:latest: {size / 1e6:.0f} MB")
    found = deployment.podman("run", "--rm", "syndication:latest", "sh", "-c",
                              "id -u; for c in gcc cc c++ clang; do command -v $c; done; true")
    uid, *compilers = found.split()
    assert uid != "0" and compilers == []


def test_it_comes_up_healthy_and_serves_feeds_through_the_cache(deployment: Deployment) -> None:
    deployment.wait_healthy(deployment.container("redis"), deployment.container("web"),
                            deployment.container("proxy"))
    assert deployment.redis("config", "get", "appendonly").split() == ["appendonly", "yes"]
    status, headers, body = wait_until(lambda: (answer := deployment.get(FEED))[0] == 200
                                       and answer, f"{FEED} through the proxy")
    assert feedparser.parse(body).feed.title
    status, headers, _ = deployment.get(FEED)
    assert status == 200 and headers["X-Cache-Status"] == "HIT"


def source_status(deployment: Deployment) -> dict:
    status, document = deployment.api("GET", f"/api/sources/{SOURCE}")
    assert status == 200, document
    assert isinstance(document, dict)
    return document


def feed_links(deployment: Deployment) -> tuple[int, list[str]]:
    # Authorization: past the proxy's cache, so this is what the web tier serves now.
    status, _, body = deployment.get(FEED, {"Authorization": "Bearer reader"})
    return status, [entry.link for entry in feedparser.parse(body).entries]


def in_feed(deployment: Deployment) -> bool:
    """Whether the feed the web tier serves now holds the added source's page; a request the
    proxy could not complete in time (a replica going away, a loaded machine) means "not yet"."""
    try:
        status, links = feed_links(deployment)
    except OSError:  # URLError, a timeout, a reset connection
        return False
    return status == 200 and SITE_PAGE in links


def test_a_source_added_through_the_api_reaches_the_feed_through_a_worker(
        deployment: Deployment) -> None:
    assert not in_feed(deployment)
    status, document = deployment.api("POST", "/api/sources", {
        "id": SOURCE, "publisher": "sample-site", "url": SITE_PAGE, "kind": "dossier",
        "every": "20m", "feeds": ["actualites"], "tags": ["Ajouté par l’API"],
        "selectors": {"title": "h1.page-title", "summary": ".chapo"}})
    assert status == 201, document
    wait_until(lambda: in_feed(deployment), lambda: f"{SITE_PAGE} in {FEED}: "
               f"{source_status(deployment)}", seconds=120)
    assert source_status(deployment)["item_count"] >= 1
    logs = "".join(deployment.logs(deployment.container("worker", n)) for n in (1, 2))
    assert SOURCE in logs  # a worker ran the refresh (the scheduler only queues in rq mode)


def test_redis_restarts_without_losing_anything_while_feeds_are_served(
        deployment: Deployment) -> None:
    before = source_status(deployment)["item_count"]
    answers: list[int] = []
    restarted = threading.Event()

    def read() -> None:
        while not restarted.is_set():
            answers.append(deployment.get(FEED)[0])
            answers.append(deployment.get(FEED, {"Authorization": "Bearer reader"})[0])

    reader = threading.Thread(target=read)
    reader.start()
    try:
        deployment.compose("restart", "redis")
    finally:
        restarted.set()
        reader.join()
    assert answers and set(answers) == {200}, answers
    deployment.wait_healthy(deployment.container("redis"))
    assert before >= 1 and source_status(deployment)["item_count"] == before
    wait_until(lambda: in_feed(deployment), "the source's item after Redis restarted")


def test_web_scales_to_two_and_back_and_the_proxy_follows(deployment: Deployment) -> None:
    first, second = deployment.container("web", 1), deployment.container("web", 2)
    deployment.compose("up", "-d", "--no-build", "--scale", "web=2")
    deployment.wait_healthy(second)
    # With the first replica stopped, only the new one can answer: the proxy found it by itself.
    try:
        deployment.podman("stop", "-t", "5", first)
        wait_until(lambda: in_feed(deployment), "the feed from the second replica alone",
                   seconds=180)
        deployment.podman("start", first)
        deployment.wait_healthy(first)
    finally:
        # Back to one: podman-compose does not remove replicas, so the extra one goes by hand
        # (also when the test failed: `compose down` leaves a replica it does not know about).
        deployment.podman("start", first, check=False)
        deployment.podman("rm", "-f", "-t", "5", second)
    wait_until(lambda: in_feed(deployment), "the feed from the first replica alone",
               seconds=180)
    assert all(in_feed(deployment) for _ in range(5))


def leader(deployment: Deployment) -> str:
    """The container of the leading scheduler: its lease's token starts with its hostname."""
    token = deployment.redis("get", "{syndication}:scheduler:leader")
    return token.split(":")[0]


def test_the_leading_scheduler_killed_mid_refresh_loses_nothing(deployment: Deployment) -> None:
    schedulers = {deployment.podman("inspect", "--format", "{{.Config.Hostname}}", name).strip():
                  name for name in (deployment.container("scheduler", n) for n in (1, 2))}
    first = wait_until(lambda: leader(deployment) in schedulers and leader(deployment),
                       "a scheduler leads")
    before = source_status(deployment)
    status, _ = deployment.api("POST", f"/api/sources/{SOURCE}/refresh")
    assert status == 202
    deployment.podman("kill", schedulers[first])
    # The other takes over once the dead one's lease expires.
    wait_until(lambda: leader(deployment) not in ("", first) and leader(deployment) in schedulers,
               "the second scheduler leads", seconds=LEASE * 3)
    wait_until(lambda: source_status(deployment)["status"]["last_success"]
               != before["status"]["last_success"],
               lambda: f"the refresh asked for before the kill, done after it: "
                       f"{source_status(deployment)}")
    deployment.podman("start", schedulers[first])  # a no-op if its restart policy already did
    wait_until(lambda: in_feed(deployment), lambda: f"{SITE_PAGE} still in {FEED}: "
               f"{feed_links(deployment)}, {source_status(deployment)}")
    assert source_status(deployment)["item_count"] == before["item_count"]


def test_down_leaves_nothing_behind(deployment: Deployment) -> None:
    deployment.compose("down", "-v", "-t", "5")
    assert deployment.leftovers() == []
