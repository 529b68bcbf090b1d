"""The `syndication` command: serve, scheduler, demo, refresh, preview, sources.

Entry point: `run()`, the `syndication` console script.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

import click

from .catalogue import load_catalogue
from .errors import ConfigError, Conflict, InvalidInput, SyndicationError
from .model import Source
from .settings import load_settings, require_known_origin, settings_table
from .state import Outcome

if TYPE_CHECKING:
    from .extract import Extraction
    from .runtime import Runtime

log = logging.getLogger("syndication")


# Libraries that narrate every request or job at INFO; our own refresh lines say what matters.
CHATTY_LOGGERS = ("httpx", "httpcore", "apscheduler", "trafilatura", "htmldate")


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    if level.upper() != "DEBUG":
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


def _settings_help() -> str:
    rows = "\n".join(f"  {name:<30} {help}" for name, _, help in settings_table())
    return f"Settings (environment variables):\n\n\b\n{rows}"


@click.group(epilog=_settings_help())
@click.version_option(package_name="syndication")
def main() -> None:
    """Scrape a regional authority's dossiers and news; serve them as RSS, Atom and JSON feeds."""


def _runtime():  # noqa: ANN202 - imported lazily: `syndication --help` should not start Redis
    from .runtime import open_runtime

    settings = load_settings()
    configure_logging(settings.log_level)
    return open_runtime(settings)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", 8000)),
              show_default="8000, or $PORT")
@click.option("--scheduler/--no-scheduler", default=True, show_default=True,
              help="Also run the refresh scheduler in this process.")
def serve(host: str, port: int, scheduler: bool) -> None:
    """Run the web app and the scheduler in one process (development, demo)."""
    _serve(host, port, scheduler)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", 8000)),
              show_default="8000, or $PORT")
@click.option("--site-port", type=int, default=lambda: int(os.environ.get("SITE_PORT", 8001)),
              show_default="8001, or $SITE_PORT")
@click.option("--town-port", type=int, default=lambda: int(os.environ.get("TOWN_PORT", 8002)),
              show_default="8002, or $TOWN_PORT")
def demo(host: str, port: int, site_port: int, town_port: int) -> None:
    """Serve the bundled sample site, the service on it, and a town's page embedding its
    widgets (DEMO_SITE=off: without the sample site)."""
    from demo.run import prepare, push_sample_agenda

    prepare(host, port, site_port, town_port)
    _serve(host, port, scheduler=True, after_start=push_sample_agenda)


def _serve(host: str, port: int, scheduler: bool,
           after_start: Callable[[Runtime, str], None] | None = None) -> None:
    from werkzeug.serving import make_server

    from .app import create_app
    from .schedule import run_scheduler

    require_known_origin(load_settings(), host)
    _interrupt_on_sigterm()
    runtime = _runtime()
    app = create_app(runtime=runtime)
    stopping = threading.Event()
    scheduling = None
    if scheduler:
        scheduling = threading.Thread(target=run_scheduler, args=(runtime, stopping),
                                      name="scheduler", daemon=True)
        scheduling.start()
    server = make_server(host, port, app, threaded=True)
    base = f"http://{host}:{port}"
    click.echo(f"Service:            {base}/")
    width = max(map(len, runtime.catalogue.feeds)) + 1
    for feed_id in runtime.catalogue.feeds:
        click.echo(f"Feed {feed_id + ':':<{width}} {base}/feeds/{feed_id}.rss  (.atom, .json)")
    click.echo(f"Items with figures: {base}/api/items?feed=region-solidaire")
    click.echo(f"Sources and status: {base}/api/sources")
    click.echo(f"WebSub hub:         {base}/hub")
    click.echo(f"API description:    {base}/api/openapi.json")
    if after_start is not None:  # the socket listens already: requests wait for serve_forever
        threading.Thread(target=after_start, args=(runtime, base), daemon=True).start()
    click.echo("Press Ctrl+C to stop.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        stopping.set()
        if scheduling is not None:
            scheduling.join(timeout=15)
        runtime.close()


@main.command()
def scheduler() -> None:
    """Run the refresh scheduler alone (production, beside the web tier serving wsgi:app). Any
    number may run: one leads, the others take over within SYNDICATION_LEADER_LEASE_SECONDS."""
    from .schedule import run_scheduler

    runtime = _runtime()
    stopping = _stop_on_signals()
    log.info("scheduler started with %d sources (refresh mode: %s)",
             len(runtime.catalogue.sources), runtime.settings.refresh_mode)
    try:
        run_scheduler(runtime, stopping)
    finally:
        runtime.close()


@main.command()
@click.option("--burst", is_flag=True, help="Stop once the queue is empty (tests, benchmarks).")
@click.option("--name", help="The worker's name in RQ (default: a random one).")
def worker(burst: bool, name: str | None) -> None:
    """Run refresh jobs from the queue (SYNDICATION_REFRESH_MODE=rq); start as many as needed,
    on any machine sharing the Redis server. SIGTERM or SIGINT: the current job finishes first."""
    from .schedule.jobs import work

    runtime = _runtime()
    if runtime.settings.refresh_mode != "rq":
        log.warning("SYNDICATION_REFRESH_MODE is %r: schedulers run refreshes themselves and "
                    "this worker will get no job", runtime.settings.refresh_mode)
    try:
        work(runtime, burst=burst, name=name)
    finally:
        runtime.close()


def _interrupt_on_sigterm() -> None:
    """SIGTERM (a supervisor, `kill`, a container stopping) stops `serve` and `demo` as Ctrl+C
    does: the scheduler resigns cleanly and the embedded Redis saves and stops, instead of
    outliving the process."""
    import signal

    def interrupt(number: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: a clean stop (the lead is handed over at once)."""
    import signal

    stopping = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopping.set())
    return stopping


@main.command()
@click.argument("source_id")
def refresh(source_id: str) -> None:
    """Refresh one source now and print the result."""
    from .refresh import refresh as refresh_source

    runtime = _runtime()
    try:
        source = runtime.catalogue.sources.get(source_id)
        if source is None:
            raise click.BadParameter(f"unknown source '{source_id}' (known: "
                                     f"{', '.join(runtime.catalogue.sources)})")
        # Changed feeds are queued for WebSub subscribers by the commit itself (runtime.py);
        # a running scheduler delivers them.
        result = refresh_source(source, runtime)
        click.echo(json.dumps({"source": result.source, "outcome": result.outcome,
                               "new": result.new, "updated": result.updated,
                               "unchanged": result.unchanged, "warnings": result.warnings,
                               "error": result.error, "duration_ms": result.duration_ms},
                              ensure_ascii=False, indent=2))
        if result.outcome in (Outcome.FAILED, Outcome.DEGRADED):
            sys.exit(1)
    finally:
        runtime.close()


@main.command()
@click.argument("url")
@click.option("--source", "source_id", help="Use this source's selectors (default: none, "
              "metadata and the article extractor only).")
def preview(url: str, source_id: str | None) -> None:
    """Print what the extractor gets from one page, as JSON: per field, every layer's candidate,
    the one chosen and why (for writing selectors, or seeing why a page reads wrong)."""
    from .extract import extract_page
    from .fetch import Fetcher, Page
    from .normalise import normalise

    settings = load_settings()
    configure_logging(settings.log_level)
    source = Source(id="preview", url=url, publisher="preview")
    if source_id:
        catalogue = load_catalogue(settings.feeds_dir)
        if source_id not in catalogue.sources:
            raise click.BadParameter(f"unknown source '{source_id}'", param_hint="--source")
        # A detail page of a listing source is read as an item, with the source's selectors.
        source = replace(catalogue.sources[source_id], url=url,
                         listing=catalogue.sources[source_id].listing and
                         url == catalogue.sources[source_id].url)
    fetcher = Fetcher.from_settings(settings)
    try:
        page = fetcher.fetch(url)
        assert isinstance(page, Page)
        extraction = extract_page(page.text, page.url, source)
        output: dict[str, object] = {"url": page.url, "encoding": page.encoding,
                                     "links": list(extraction.links),
                                     "next_page": extraction.next_page}
        if extraction.record is not None:
            output["fields"] = _arbitration(extraction)
            output["record"] = extraction.record.to_dict()
            try:
                item = normalise(extraction.record, source, datetime.now(UTC),
                                 allowed_networks=fetcher.allowed_networks)
                output["item"] = item.to_dict()
            except ValueError as error:
                output["item_error"] = str(error)
        click.echo(json.dumps(output, ensure_ascii=False, indent=2))
    except SyndicationError as error:
        raise click.ClickException(str(error)) from None
    finally:
        fetcher.close()


def _arbitration(extraction: Extraction) -> dict[str, object]:
    """Per field: every layer's candidate, the one chosen, and why (long HTML shortened)."""
    def shown(value: object) -> object:
        written = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return written if len(written) <= 300 else written[:300] + "…"

    choices, candidates = extraction.choices or {}, extraction.candidates or {}
    return {field: {"chosen": shown(choices[field].value) if field in choices else None,
                    "from": choices[field].origin if field in choices else None,
                    "why": choices[field].why if field in choices else "no candidate kept",
                    "candidates": [[origin, shown(value)] for origin, value in values]}
            for field, values in candidates.items()}


@main.command()
@click.argument("publisher_id")
@click.option("--label", default="", help="What the token is for (shown in the token list).")
def token(publisher_id: str, label: str) -> None:
    """Issue a push token for a publisher and print it (shown once: only its digest is kept)."""
    runtime = _runtime()
    try:
        if publisher_id not in runtime.catalogue.publishers:
            raise click.BadParameter(f"unknown publisher '{publisher_id}' (known: "
                                     f"{', '.join(runtime.catalogue.publishers)})")
        value, issued = runtime.registry.issue_token(publisher_id, datetime.now(UTC), label)
        click.echo(value)
        click.echo(f"digest {issued.digest}: revoke it with DELETE "
                   f"/api/publishers/{publisher_id}/tokens/{issued.digest}", err=True)
    finally:
        runtime.close()


@main.command()
def sources() -> None:
    """List the sources and how their refreshes are going (* after the type: added through
    the operator API)."""
    runtime = _runtime()
    try:
        click.echo(f"{'SOURCE':<28} {'TYPE':<8} {'STATE':<13} {'ITEMS':>5}  "
                   f"{'LAST SUCCESS':<16}  {'NEXT RUN':<16}  {'FAILS':>5}  {'TOOK':>7}  "
                   "LAST ERROR")
        for source in runtime.catalogue.sources.values():
            status = runtime.store.source_status(source.id)
            kind = source.type if source.id in runtime.live.declared.sources else f"{source.type}*"
            took = (f"{status.last_duration_ms / 1000:.1f}s"
                    if status.last_duration_ms is not None else "-")
            error = (f"[{status.last_error_kind}] {status.last_error}"
                     if status.last_error else "-")
            click.echo(f"{source.id:<28} {kind:<8} {status.state:<13} "
                       f"{runtime.store.item_count(source.id):>5}  "
                       f"{_when(status.last_success):<16}  {_when(status.next_run):<16}  "
                       f"{status.consecutive_failures:>5}  {took:>7}  {error}")
    finally:
        runtime.close()


@main.command("add-source")
@click.argument("definition", type=click.File("r", encoding="utf-8"))
def add_source(definition: TextIO) -> None:
    """Add or replace a source from a JSON DEFINITION file ('-' for standard input): the fields
    of a [[sources]] table plus `publisher` and `feeds`, as POST /api/sources takes them. It is
    kept in Redis; every process takes it in within seconds."""
    from . import admin

    runtime = _runtime()
    try:
        try:
            data = json.load(definition)
        except json.JSONDecodeError as error:
            raise click.BadParameter(f"not JSON: {error}", param_hint="DEFINITION") from None
        try:
            source, _ = admin.check_source(runtime, data)
        except InvalidInput as error:
            raise click.BadParameter(str(error), param_hint="DEFINITION") from None
        if source.id in runtime.live.declared.sources:
            raise click.BadParameter(f"source '{source.id}' is declared in feeds/*.toml: change "
                                     "it there", param_hint="DEFINITION")
        changed = admin.save_source(runtime, source.id, data, datetime.now(UTC))
        click.echo(json.dumps({"source": source.id, "feeds_changed": changed}, indent=2))
    finally:
        runtime.close()


@main.command("remove-source")
@click.argument("source_id")
def remove_source(source_id: str) -> None:
    """Remove a source added through the API or add-source, with its items."""
    from . import admin

    runtime = _runtime()
    try:
        if source_id in runtime.live.declared.sources:
            raise click.BadParameter(f"source '{source_id}' is declared in feeds/*.toml: "
                                     "remove it there", param_hint="SOURCE_ID")
        if source_id not in runtime.catalogue.sources:
            raise click.BadParameter(f"unknown source '{source_id}'", param_hint="SOURCE_ID")
        try:
            changed = admin.remove_source(runtime, source_id, datetime.now(UTC))
        except Conflict as error:
            raise click.ClickException(str(error)) from None
        click.echo(json.dumps({"source": source_id, "feeds_changed": changed}, indent=2))
    finally:
        runtime.close()


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


def run() -> None:
    """Entry point that turns configuration errors into one clear line and exit status 2."""
    try:
        main(standalone_mode=True)
    except ConfigError as error:
        click.echo(f"Configuration error: {error}", err=True)
        sys.exit(2)
