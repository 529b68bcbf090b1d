"""What `syndication demo` sets up around the service: the sample site, the settings that let the
service fetch it on loopback, the operator API's demo token, a town's page, and the events the
region's calendar pushes once the service listens."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from urllib.parse import urlsplit

import click
import httpx

from syndication.runtime import Runtime
from syndication.settings import LOOPBACK_BINDS

from .sample_site import SITE_DIR, site_url, start_sample_site
from .town import start_municipal_site


def prepare(host: str, port: int, site_port: int, town_port: int) -> None:
    """Start the sample site (unless DEMO_SITE=off) and the town's page, and set what the
    service needs to read them."""
    if os.environ.get("DEMO_SITE", "on").lower() not in ("off", "0", "no", "false"):
        site = start_sample_site("127.0.0.1", site_port)
        site_port = site.server_address[1]
        os.environ["SAMPLE_SITE_URL"] = site_url(site)
        click.echo(f"Sample site:        {site_url(site)}/region-solidaire")
    else:
        os.environ.setdefault("SAMPLE_SITE_URL", f"http://127.0.0.1:{site_port}")
        click.echo("Sample site:        off (DEMO_SITE=off): its sources will show as failing")
    # So that a subscriber on this machine can try the WebSub hub.
    os.environ.setdefault("SYNDICATION_HUB_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
    # The sample site is on loopback, which fetching refuses unless admitted: its port only, not
    # the machine's other services. It is ours, so a short pause between requests is enough.
    sample = urlsplit(os.environ["SAMPLE_SITE_URL"])
    os.environ.setdefault("SYNDICATION_FETCH_ALLOWED_NETWORKS",
                          f"{sample.hostname}:{sample.port or site_port}")
    os.environ.setdefault("SYNDICATION_HOST_DELAY", "0.1")
    # The operator API, to try on loopback: a known token, and the sample site open to sources
    # added through it. Bound elsewhere, the documented token would open it to the network:
    # a random one instead, shown once.
    if host in LOOPBACK_BINDS:
        os.environ.setdefault("SYNDICATION_ADMIN_TOKEN", DEMO_ADMIN_TOKEN)
    elif not os.environ.get("SYNDICATION_ADMIN_TOKEN"):
        os.environ["SYNDICATION_ADMIN_TOKEN"] = secrets.token_urlsafe(32)
        click.echo(f"Operator token:     {os.environ['SYNDICATION_ADMIN_TOKEN']} (this run "
                   "only; accepted from SYNDICATION_ADMIN_NETWORKS)")
    os.environ.setdefault("SYNDICATION_API_SOURCE_DOMAINS", "127.0.0.1,localhost")
    town = start_municipal_site("127.0.0.1", town_port, f"http://{host}:{port}")
    click.echo(f"A town's page:      http://127.0.0.1:{town.server_address[1]}/ "
               "(the widgets, embedded three ways)")


DEMO_ADMIN_TOKEN = "demo-admin-token"  # noqa: S105 - the demo's, on loopback, documented


def push_sample_agenda(runtime: Runtime, base: str) -> None:
    """What the region's events calendar would do: push its events to POST /api/items, with a
    token issued for its publisher (revoked once used)."""
    sample_push = SITE_DIR / "push" / "agenda.json"
    if not sample_push.exists():
        return
    token, issued = runtime.registry.issue_token("sample-site", datetime.now(UTC), "demo")
    try:
        answer = httpx.post(f"{base}/api/items", content=sample_push.read_bytes(), timeout=30,
                            headers={"Authorization": f"Bearer {token}",
                                     "Content-Type": "application/json"})
        click.echo(f"Pushed items:       {base}/feeds/agenda.rss ({answer.status_code}: "
                   f"{answer.json().get('created', 0)} created, "
                   f"{answer.json().get('unchanged', 0)} unchanged)")
    except (httpx.HTTPError, ValueError) as error:
        click.echo(f"Pushed items:       not sent ({error})", err=True)
    finally:
        runtime.registry.revoke_token(issued.digest)
