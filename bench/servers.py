"""The processes of bench/serve.py: WSGI servers, nginx (static and the deployment's caching
proxy) and wrk, each started in its own process group and stopped with it."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WRK_OPTIONS = ["-t", "2", "-c", "16", "--latency"]
PROXY_TEMPLATE = ROOT / "deploy" / "nginx" / "nginx.conf.template"


def server_command(server: str, servers: dict[str, list[str]], port: int, target: str,
                   factory: bool, workers: int) -> list[str]:
    program, *options = servers[server]
    if program == "granian":
        return [str(BIN / program), *options, "--interface", "wsgi", "--workers", str(workers),
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                *(["--factory"] if factory else []), target]
    return [str(BIN / program), *options, "-w", str(workers), "-b", f"127.0.0.1:{port}",
            "--log-level", "warning", target + ("()" if factory else "")]


NGINX_CONF = """\
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{ }}
    default_type "{media_type}";
    server {{ listen 127.0.0.1:{port}; root {dir}/www; }}
}}
"""


def nginx_command(directory: Path, port: int, workers: int, media_type: str) -> list[str]:
    """nginx serving directory/www as static files."""
    conf = directory / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, dir=directory, port=port,
                                      media_type=media_type))
    return ["nginx", "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(conf),
            "-g", "daemon off;"]


def proxy_command(directory: Path, port: int, upstream_port: int, workers: int) -> list[str]:
    """The deployment's proxy configuration, rendered as envsubst renders it in the image."""
    directory.mkdir()
    values = {"SYNDICATION_PROXY_LISTEN": f"127.0.0.1:{port}",
              "SYNDICATION_PROXY_UPSTREAM": f"127.0.0.1:{upstream_port}",
              "SYNDICATION_PROXY_STATE_DIR": str(directory),
              "SYNDICATION_PROXY_RESOLVER": "127.0.0.1"}  # never asked: the upstream is an address
    conf = directory / "nginx.conf"
    conf.write_text(re.sub(r"\$\{(\w+)\}", lambda match: values[match[1]],
                           PROXY_TEMPLATE.read_text()))
    return ["nginx", "-p", str(directory), "-e", "stderr", "-c", str(conf),
            "-g", f"daemon off; pid {directory}/nginx.pid; worker_processes {workers};"]


@contextlib.contextmanager
def running(command: list[str], port: int, env: dict[str, str], log: Path) -> Iterator[None]:
    """A server in its own process group, up on `port`; the whole group ends on exit."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            time.sleep(0.1)  # a process starting: nothing to wait on but its port
        else:
            raise RuntimeError(f"{command[0]} did not come up:\n{log.read_text()[-2000:]}")
        yield
    finally:  # TERM lets the master stop its workers; KILL leaves no straggler in the group
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


def get(port: int, url: str, headers: dict[str, str] | None = None) -> tuple[
        int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", url, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def wrk(port: int, url: str, headers: dict[str, str], duration: str) -> tuple[float, float]:
    """(requests per second, p99 in ms) of one wrk run."""
    target = f"http://127.0.0.1:{port}{url}"
    options = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    out = subprocess.run(["wrk", *WRK_OPTIONS, "-d", duration, *options, target],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        errors = [line for line in out.splitlines() if "Non-2xx" in line or "Socket" in line]
        if not (headers.get("If-None-Match") and all("Non-2xx" in e for e in errors)):
            print(f"  wrk reported errors on {target}: {errors}", file=sys.stderr)
    p99, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out).groups()  # type: ignore[union-attr]
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return (float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            float(p99) * scale)
