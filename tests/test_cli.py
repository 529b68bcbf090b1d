"""The `syndication` command: in-process through click's CliRunner, and as a real subprocess
(`python -m syndication`, whose entry point turns configuration errors into exit status 2).

Every command runs against the session's real Redis (SYNDICATION_TEST_REDIS_URL, or the unix
socket of the embedded test server) under the test's own key prefix, and against the sample site
served on loopback.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from redis import Redis

from syndication import __version__
from syndication.cli import main
from syndication.settings import settings_table
from syndication.store import FeedStore

from .conftest import FEEDS_DIR, LOOPBACK, ROOT, make_catalogue

MANIFEST = json.loads((ROOT / "demo" / "site" / "MANIFEST.json").read_text(encoding="utf-8"))
PAGES = {page["path"]: page for page in MANIFEST["pages"]}
COMMANDS = ("serve", "demo", "scheduler", "refresh", "preview", "sources", "add-source",
            "remove-source")
MALTE = "/actualites/ordre-de-malte-partenariat-solidarite"
# The sample site is on loopback, which the fetcher refuses unless admitted.
FETCH_LOOPBACK = {"SYNDICATION_FETCH_ALLOWED_NETWORKS": LOOPBACK, "SYNDICATION_HOST_DELAY": "0"}


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No setting leaks in from the developer's shell; logging is left as it was found
    (the commands call logging.basicConfig)."""
    for name in list(os.environ):
        if (name.startswith("SYNDICATION_") and name != "SYNDICATION_TEST_REDIS_URL") or \
                name in ("REDIS_URL", "SAMPLE_SITE_URL"):
            monkeypatch.delenv(name)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def redis_url(redis_client: Redis) -> str:
    """A URL that another process can use to reach the test Redis."""
    url = os.environ.get("SYNDICATION_TEST_REDIS_URL")
    if url:
        return url
    return f"unix://{redis_client.connection_pool.connection_kwargs['path']}"


@pytest.fixture
def env(redis_url: str, prefix: str, sample_site: str, tmp_path: Path) -> dict[str, str]:
    return {
        "SYNDICATION_REDIS_URL": redis_url,
        "SYNDICATION_REDIS_PREFIX": prefix,
        "SYNDICATION_FEEDS_DIR": str(FEEDS_DIR),
        "SYNDICATION_DATA_DIR": str(tmp_path / "data"),
        "SYNDICATION_LOG_LEVEL": "WARNING",
        **FETCH_LOOPBACK,
        "SAMPLE_SITE_URL": sample_site,
    }


def invoke(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, args, env=env or {}, catch_exceptions=False)


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m syndication ARGS` in a clean environment plus `env`."""
    base = {name: value for name, value in os.environ.items()
            if not name.startswith("SYNDICATION_") and name not in ("REDIS_URL",
                                                                     "SAMPLE_SITE_URL")}
    return subprocess.run([sys.executable, "-m", "syndication", *args], env={**base, **env},
                          cwd=cwd, capture_output=True, text=True, timeout=180, check=False)


def _json(text: str) -> Any:
    return json.loads(text)


def _source_lines(output: str) -> dict[str, list[str]]:
    lines = output.strip().splitlines()
    assert lines[0].split()[:4] == ["SOURCE", "TYPE", "STATE", "ITEMS"], lines[0]
    # the type column dropped: [id, state, items, …]
    return {line.split()[0]: line.split()[:1] + line.split()[2:] for line in lines[1:]}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- --help, --version ---------------------------------------------------------------------


def test_help_lists_the_commands_and_the_settings_table() -> None:
    result = invoke(["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert f"  {command} " in result.stdout, command
    assert "Settings (environment variables)" in result.stdout
    table = settings_table()
    assert len(table) >= 10
    for name, _, help_text in table:
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(name))
        assert help_text.split()[0] in line  # each row carries its help, on the same line


def test_command_help_and_version() -> None:
    result = invoke(["refresh", "--help"])
    assert result.exit_code == 0 and "SOURCE_ID" in result.stdout
    result = invoke(["preview", "--help"])
    assert result.exit_code == 0 and "--source" in result.stdout
    result = invoke(["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout


def test_help_as_a_process_starts_no_redis(tmp_path: Path) -> None:
    done = run_cli(["--help"], {}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "SYNDICATION_REDIS_URL" in done.stdout and "refresh" in done.stdout
    assert list(tmp_path.iterdir()) == []  # no embedded Redis data directory was created


# --- preview -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [MALTE, "/actualites/budget-2026-vote"])
def test_preview_prints_record_and_item_as_json(sample_site: str, path: str) -> None:
    page = PAGES[path]
    result = invoke(["preview", sample_site + path], FETCH_LOOPBACK)
    assert result.exit_code == 0, result.output
    output = _json(result.stdout)
    assert output["url"] == sample_site + path
    assert output["encoding"] == page["encoding"]
    assert output["record"]["title"] == page["title"]
    item = output["item"]
    assert item["title"] == page["title"]
    assert item["published"].startswith(page["published"])
    assert item["source"] == "preview"  # no source: metadata and the article extractor only
    assert item["url"] == sample_site + path
    assert str(uuid.UUID(item["id"])) == item["id"]
    assert item["image"]["credit"] == page["credit"]
    assert "item_error" not in output


def test_preview_shows_each_fields_candidates_the_one_chosen_and_why(sample_site: str) -> None:
    result = invoke(["preview", sample_site + MALTE], FETCH_LOOPBACK)
    assert result.exit_code == 0, result.output
    output = _json(result.stdout)
    title = output["fields"]["title"]
    assert title["chosen"] == output["record"]["title"] == PAGES[MALTE]["title"]
    assert [title["from"], title["chosen"]] in title["candidates"]
    assert title["why"]  # said in words
    origins = {origin for field in output["fields"].values() for origin, _ in field["candidates"]}
    assert {"og", "h1", "page"} <= origins  # several layers offered a value
    body = output["fields"]["content_html"]
    assert body["from"] == "trafilatura" and len(body["chosen"]) <= 301  # long HTML shortened


def test_preview_with_a_source_uses_its_selectors_and_its_name(sample_site: str,
                                                               env: dict[str, str]) -> None:
    url = f"{sample_site}{MALTE}?utm_source=newsletter&utm_medium=email"
    result = invoke(["preview", "--source", "actualites", url], env)
    assert result.exit_code == 0, result.output
    item = _json(result.stdout)["item"]
    assert item["source"] == "actualites"
    assert item["kind"] == "actualite"
    assert item["title"] == PAGES[MALTE]["title"]
    assert item["published"].startswith("2026-09-10")
    assert "Solidarité" in item["tags"]  # the source's `tags` selector (.thematique)
    assert item["url"] == sample_site + MALTE  # tracking parameters dropped


def test_preview_of_a_listing_source_shows_its_links_and_next_page(sample_site: str,
                                                                   env: dict[str, str]) -> None:
    result = invoke(["preview", "--source", "actualites", f"{sample_site}/toutes-les-actualites"],
                    env)
    assert result.exit_code == 0, result.output
    output = _json(result.stdout)
    assert "record" not in output  # a listing is not an item itself
    first_page = [card["path"] for card in MANIFEST["listing_cards"]
                  if card["listing_page"] == "/toutes-les-actualites"]
    assert len(output["links"]) == len(first_page)
    assert output["next_page"] == f"{sample_site}/toutes-les-actualites/page-2"


def test_preview_with_an_unknown_source_is_a_usage_error(sample_site: str,
                                                         env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["preview", "--source", "nope", sample_site + MALTE],
                                env=env)
    assert result.exit_code == 2
    assert "unknown source 'nope'" in result.stderr and "--source" in result.stderr


@pytest.mark.parametrize(("path", "words"), [
    (MANIFEST["missing_path"], "HTTP 404"),
    ("/media/logo.png", "expected HTML"),
])
def test_preview_of_an_unusable_page_names_the_error_and_the_url(sample_site: str, path: str,
                                                                 words: str) -> None:
    url = sample_site + path
    result = CliRunner().invoke(main, ["preview", url], env=FETCH_LOOPBACK)
    assert result.exit_code == 1
    assert words in result.stderr and url in result.stderr
    assert result.stdout == ""


# --- refresh -------------------------------------------------------------------------------


def test_refresh_prints_its_outcome_and_fills_redis(env: dict[str, str], prefix: str,
                                                    redis_client: Redis) -> None:
    result = invoke(["refresh", "region-solidaire"], env)
    assert result.exit_code == 0, result.output
    outcome = _json(result.stdout)
    assert outcome["source"] == "region-solidaire"
    assert outcome["outcome"] == "ok"
    assert outcome["new"] == 4 and outcome["error"] is None
    assert redis_client.zcard(f"{prefix}:source:region-solidaire:index") == 4
    keys = sorted(redis_client.scan_iter(match=f"{prefix}:item:region-solidaire/*"))
    assert len(keys) == 4
    titles = {json.loads(redis_client.get(key))["title"] for key in keys}
    assert "Région solidaire" in titles
    assert redis_client.zcard(f"{prefix}:feed:region-solidaire:index") == 4
    status = json.loads(redis_client.get(f"{prefix}:source:region-solidaire:status"))
    assert status["state"] == "ok"

    again = invoke(["refresh", "region-solidaire"], env)
    assert again.exit_code == 0
    assert _json(again.stdout)["outcome"] == "not_modified"
    assert _json(again.stdout)["new"] == 0


def test_refresh_while_another_process_holds_the_lease_is_skipped(
        env: dict[str, str], prefix: str, redis_client: Redis) -> None:
    lease = FeedStore(redis_client, prefix, retention=500).lease("region-solidaire", 60)
    assert lease.acquire()
    try:
        result = invoke(["refresh", "region-solidaire"], env)
        assert result.exit_code == 0, result.output
        assert _json(result.stdout)["outcome"] == "skipped"
        assert redis_client.zcard(f"{prefix}:source:region-solidaire:index") == 0
    finally:
        lease.release()
    assert _json(invoke(["refresh", "region-solidaire"], env).stdout)["outcome"] == "ok"


def test_refresh_as_a_process(env: dict[str, str], prefix: str, redis_client: Redis,
                              tmp_path: Path) -> None:
    done = run_cli(["refresh", "actualites"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    outcome = _json(done.stdout)
    assert outcome["outcome"] == "ok"
    assert outcome["new"] >= 20
    # the missing news page is a warning of a successful refresh, and is logged
    assert any(MANIFEST["missing_path"] in warning for warning in outcome["warnings"])
    assert MANIFEST["missing_path"] in done.stderr
    assert redis_client.zcard(f"{prefix}:source:actualites:index") == outcome["new"]
    assert not (tmp_path / "data").exists()  # the Redis URL was used: nothing embedded


def test_refresh_of_an_unknown_source_lists_the_known_ones(env: dict[str, str],
                                                           sample_site: str) -> None:
    result = CliRunner().invoke(main, ["refresh", "nope"], env=env)
    assert result.exit_code == 2
    assert "unknown source 'nope'" in result.stderr
    for source_id in make_catalogue(sample_site).sources:
        assert source_id in result.stderr


def test_refresh_of_an_unreachable_source_fails_with_status_1(env: dict[str, str],
                                                              redis_client: Redis,
                                                              prefix: str) -> None:
    site = f"http://127.0.0.1:{_closed_port()}"
    result = CliRunner().invoke(main, ["refresh", "plan-climat"],
                                env={**env, "SAMPLE_SITE_URL": site})
    assert result.exit_code == 1
    outcome = _json(result.stdout)
    assert outcome["outcome"] == "failed"
    assert f"{site}/dossiers/plan-climat" in outcome["error"]
    status = json.loads(redis_client.get(f"{prefix}:source:plan-climat:status"))
    assert status["state"] == "failing" and status["failing_since"]


# --- sources -------------------------------------------------------------------------------


def test_sources_lists_each_source_with_its_state(env: dict[str, str], sample_site: str) -> None:
    before = invoke(["sources"], env)
    assert before.exit_code == 0, before.output
    rows = _source_lines(before.stdout)
    assert list(rows) == list(make_catalogue(sample_site).sources)
    assert all(row[1] == "never" and row[2] == "0" for row in rows.values())

    assert invoke(["refresh", "region-solidaire"], env).exit_code == 0
    failing_env = {**env, "SAMPLE_SITE_URL": f"http://127.0.0.1:{_closed_port()}"}
    assert CliRunner().invoke(main, ["refresh", "plan-climat"], env=failing_env).exit_code == 1

    after = invoke(["sources"], env)
    assert after.exit_code == 0
    rows = _source_lines(after.stdout)
    assert rows["region-solidaire"][1:3] == ["ok", "4"]
    assert rows["region-solidaire"][-1] == "-"  # no error
    assert rows["region-solidaire"][-3] == "0"  # consecutive failures
    assert rows["region-solidaire"][-2].endswith("s")  # how long its refresh took
    assert rows["plan-climat"][1:3] == ["failing", "0"]
    plan_climat = next(line for line in after.stdout.splitlines()
                       if line.startswith("plan-climat "))
    assert "cannot reach the server" in plan_climat and "[connection-refused]" in plan_climat
    assert rows["actualites"][1] == "never"
    assert after.stdout.splitlines()[1].split()[1] == "html"


def test_token_issues_a_push_token_that_pushes(env: dict[str, str], prefix: str,
                                               redis_client: Redis, sample_site: str) -> None:
    from syndication.app import create_app
    from syndication.runtime import open_runtime
    from syndication.settings import load_settings

    result = invoke(["token", "sample-site", "--label", "agenda CMS"], env)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert len(token) >= 40 and "digest" in result.stderr and token not in result.stderr
    runtime = open_runtime(load_settings({"redis_prefix": prefix}, environ={}),
                           catalogue=make_catalogue(sample_site), redis=redis_client)
    app = create_app(runtime=runtime)
    answer = app.test_client().post(
        "/api/items", headers={"Authorization": f"Bearer {token}"},
        json={"items": [{"id": "1", "url": "https://example.org/e", "title": "Un événement",
                         "published": "2026-11-26T10:00:00+01:00"}]})
    app.extensions["syndication.cache"].close()
    runtime.fetcher.close()
    assert answer.status_code == 200 and answer.json["created"] == 1

    unknown = invoke(["token", "nobody"], env)
    assert unknown.exit_code == 2 and "sample-site" in unknown.output


# --- configuration errors: exit status 2, file, line and field -----------------------------

PUBLISHER = '[publisher]\nname = "Exemple"\nurl = "https://example.org/"\n'
BAD_CONFIGS = {
    "unknown-field": (
        PUBLISHER + '\n[[sources]]\nid = "a"\nurl = "https://example.org/a"\ncolour = "blue"\n',
        8, "sources[0].colour", "unknown field 'colour'"),
    "bad-every": (
        PUBLISHER + '\n[[sources]]\nid = "a"\nurl = "https://example.org/a"\n'
        '\n[[sources]]\nid = "b"\nurl = "https://example.org/b"\nevery = "soon"\n',
        12, "sources[1].every", "'soon'"),
    "unknown-source-in-feed": (
        PUBLISHER + '\n[[sources]]\nid = "a"\nurl = "https://example.org/a"\n'
        '\n[[feeds]]\nid = "f"\ntitle = "F"\nsources = ["a"]\n'
        '\n[[feeds]]\nid = "g"\ntitle = "G"\nsources = ["a", "b"]\n',
        17, "feeds[1].sources", "unknown source 'b'"),
    "unknown-selector": (
        PUBLISHER + '\n[[sources]]\nid = "a"\nurl = "https://example.org/a"\n'
        '[sources.selectors]\ntitel = "h1"\n',
        9, "sources[0].selectors.titel", "unknown field 'titel'"),
    "duplicate-source-id": (
        PUBLISHER + '\n[[sources]]\nid = "a"\nurl = "https://example.org/a"\n'
        '\n[[sources]]\nid = "a"\nurl = "https://example.org/b"\n',
        10, "sources[1].id", "declared twice"),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_an_invalid_feeds_file_stops_with_status_2_naming_file_line_and_field(
        case: str, env: dict[str, str], tmp_path: Path) -> None:
    text, line, field, words = BAD_CONFIGS[case]
    assert text.splitlines()[line - 1].strip()  # the line we expect to be named holds the fault
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    path = feeds / "exemple.toml"
    path.write_text(text, encoding="utf-8")
    done = run_cli(["sources"], {**env, "SYNDICATION_FEEDS_DIR": str(feeds)}, tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    message = done.stderr.strip()
    assert "Traceback" not in message
    assert message.startswith("Configuration error: ")
    assert f"{path}:{line}:" in message
    assert f"(field '{field}')" in message
    assert words in message


def test_an_invalid_setting_stops_with_status_2_naming_the_variable(env: dict[str, str],
                                                                    tmp_path: Path) -> None:
    done = run_cli(["sources"], {**env, "SYNDICATION_RETENTION": "many"}, tmp_path)
    assert done.returncode == 2
    assert "SYNDICATION_RETENTION" in done.stderr and "'many'" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_empty_feeds_dir_stops_with_status_2(env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run_cli(["refresh", "region-solidaire"], {**env, "SYNDICATION_FEEDS_DIR": str(empty)},
                   tmp_path)
    assert done.returncode == 2
    assert "no *.toml file" in done.stderr and str(empty) in done.stderr


# --- embedded Redis: what one process ingested, the next one finds ---------------------------


def test_items_survive_between_processes_with_the_embedded_redis(sample_site: str,
                                                                 tmp_path: Path) -> None:
    """No SYNDICATION_REDIS_URL: each process starts (and stops) an embedded Redis whose files
    live under SYNDICATION_DATA_DIR; a restart loses no ingested item."""
    data = tmp_path / "data"
    env = {"SYNDICATION_FEEDS_DIR": str(FEEDS_DIR), "SYNDICATION_DATA_DIR": str(data),
           "SYNDICATION_LOG_LEVEL": "WARNING", "SAMPLE_SITE_URL": sample_site, **FETCH_LOOPBACK}
    done = run_cli(["refresh", "region-solidaire"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert _json(done.stdout)["new"] == 4
    assert data.is_dir() and any(data.iterdir())

    listed = run_cli(["sources"], env, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert _source_lines(listed.stdout)["region-solidaire"][1:3] == ["ok", "4"]


# --- sources at run time: the operator API's actions, from the command line ----------------


def test_add_source_then_remove_source(env: dict[str, str], prefix: str, redis_client: Redis,
                                       sample_site: str, tmp_path: Path) -> None:
    definition = tmp_path / "climat.json"
    definition.write_text(json.dumps({
        "id": "climat-cli", "publisher": "sample-site", "kind": "dossier",
        "url": f"{sample_site}/dossiers/plan-climat", "feeds": ["actualites"],
        "selectors": {"title": "h1.page-title", "summary": ".chapo"}}), encoding="utf-8")
    added = invoke(["add-source", str(definition)],
                   {**env, "SYNDICATION_API_SOURCE_DOMAINS": "127.0.0.1"})
    assert added.exit_code == 0, added.output
    assert _json(added.stdout)["source"] == "climat-cli"
    listed = _source_lines(invoke(["sources"], env).stdout)
    assert "climat-cli" in listed
    assert redis_client.zscore(f"{prefix}:refresh-requests", "climat-cli") is not None

    refreshed = invoke(["refresh", "climat-cli"], env)
    assert _json(refreshed.stdout)["outcome"] == "ok"
    assert redis_client.zcard(f"{prefix}:feed:actualites:index") == 1

    removed = invoke(["remove-source", "climat-cli"], env)
    assert removed.exit_code == 0, removed.output
    assert _json(removed.stdout)["feeds_changed"] == ["actualites"]
    assert redis_client.zcard(f"{prefix}:feed:actualites:index") == 0
    assert "climat-cli" not in _source_lines(invoke(["sources"], env).stdout)


@pytest.mark.parametrize(("definition", "words"), [
    ('{"id": "x", "publisher": "sample-site", "colour": "red"}', "unknown field 'colour'"),
    ('{"id": "x", "publisher": "sample-site", "url": "http://elsewhere.example/"}',
     "not on a domain open"),
    ("{not json", "not JSON"),
])
def test_add_source_names_what_is_wrong(env: dict[str, str], tmp_path: Path, definition: str,
                                        words: str) -> None:
    path = tmp_path / "source.json"
    path.write_text(definition, encoding="utf-8")
    result = invoke(["add-source", str(path)], {**env, "SYNDICATION_API_SOURCE_DOMAINS":
                                                "127.0.0.1"})
    assert result.exit_code == 2 and words in result.output


def test_remove_source_refuses_a_declared_or_unknown_source(env: dict[str, str]) -> None:
    declared = invoke(["remove-source", "actualites"], env)
    assert declared.exit_code == 2 and "feeds/*.toml" in declared.output
    unknown = invoke(["remove-source", "nowhere"], env)
    assert unknown.exit_code == 2 and "unknown source" in unknown.output


def test_the_wsgi_entry_point_builds_the_app(env: dict[str, str]) -> None:
    """`granian … wsgi:app` (the image's command) imports wsgi.py: it must build the app."""
    def wsgi(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "import wsgi; print(type(wsgi.app).__name__)"],
            env={**{k: v for k, v in os.environ.items() if not k.startswith("SYNDICATION_")},
                 **env, **extra}, cwd=ROOT, capture_output=True, text=True, timeout=120,
            check=False)

    result = wsgi(SYNDICATION_BASE_URL="https://flux.example.org")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Flask"
    # Without a base URL or trusted hosts, a Host header would choose the links: refused.
    refused = wsgi()
    assert refused.returncode != 0
    assert "SYNDICATION_BASE_URL" in refused.stderr and "TRUSTED_HOSTS" in refused.stderr


def test_serve_on_a_public_interface_needs_a_base_url(env: dict[str, str],
                                                     tmp_path: Path) -> None:
    result = run_cli(["serve", "--host", "0.0.0.0", "--port", str(_closed_port())], env,
                     tmp_path)
    assert result.returncode == 2
    assert "SYNDICATION_BASE_URL" in result.stderr


def test_a_latin1_feeds_file_stops_with_status_2_naming_its_line(env: dict[str, str],
                                                                  tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    text = (FEEDS_DIR / "iledefrance.toml").read_text(encoding="utf-8")
    line = next(n for n, each in enumerate(text.splitlines(), 1) if not each.isascii())
    path = feeds / "latin.toml"
    path.write_bytes(text.encode("latin-1", errors="replace"))
    done = run_cli(["sources"], {**env, "SYNDICATION_FEEDS_DIR": str(feeds)}, tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"Configuration error: {path}:{line}: not UTF-8")
