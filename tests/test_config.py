"""feeds/*.toml and settings: what loads, and errors that name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

import syndication.settings as settings_module
from syndication.catalogue import load_catalogue
from syndication.errors import ConfigError
from syndication.settings import load_settings, settings_table

from .conftest import FEEDS_DIR

VALID = """\
[publisher]
name = "Ville test"
url = "https://ville.test/"

[selectors]
title = "h1"
exclude = [".share"]

[[sources]]
id = "actus"
url = "https://ville.test/actualites"
listing = true
follow = "a.card"
every = "2h"

[sources.selectors]
summary = ".chapo"

[[sources]]
id = "dossier"
url = "https://ville.test/dossier"
kind = "dossier"

[[feeds]]
id = "tout"
title = "Tout"
sources = ["actus", "dossier"]
"""


def write(tmp_path: Path, text: str, name: str = "ville.toml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def error_for(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_catalogue(write(tmp_path, text), environ={})
    return caught.value


def test_the_bundled_feeds_load() -> None:
    catalogue = load_catalogue(FEEDS_DIR, environ={"SAMPLE_SITE_URL": "http://127.0.0.1:9"})
    assert {"region-solidaire", "actualites"} <= set(catalogue.feeds)
    assert catalogue.sources["region-solidaire"].url == "http://127.0.0.1:9/region-solidaire"
    assert catalogue.sources["iledefrance-actualites"].url.startswith("https://www.iledefrance.fr")
    # Without the variable, the documented default applies.
    default = load_catalogue(FEEDS_DIR, environ={})
    assert default.sources["actualites"].url == "http://127.0.0.1:8001/toutes-les-actualites"


def test_a_valid_file_with_file_wide_selectors(tmp_path: Path) -> None:
    catalogue = load_catalogue(write(tmp_path, VALID), environ={})
    actus = catalogue.sources["actus"]
    assert actus.every_seconds == 7200 and actus.listing and actus.follow == "a.card"
    assert actus.selectors.title == "h1" and actus.selectors.summary == ".chapo"
    assert actus.selectors.exclude == (".share",)
    assert catalogue.sources["dossier"].selectors.summary is None  # defaults, not a neighbour's
    assert catalogue.feeds["tout"].sources == ("actus", "dossier")
    assert catalogue.publishers["ville"].name == "Ville test"


@pytest.mark.parametrize("old, new, line, field", [
    ('every = "2h"', 'every = "souvent"', 14, "sources[0].every"),
    ('every = "2h"', 'evry = "2h"', 14, "sources[0].evry"),
    ('kind = "dossier"', 'kind = "blog"', 22, "sources[1].kind"),
    ('url = "https://ville.test/dossier"', 'url = "ftp://ville.test/dossier"', 21,
     "sources[1].url"),
    ('follow = "a.card"', 'follow = "a[href"', 13, "sources[0].follow"),
    ('summary = ".chapo"', 'summary = ".chapo::"', 17, "sources[0].selectors.summary"),
    ('title = "h1"', 'titel = "h1"', 6, "selectors.titel"),
    ('sources = ["actus", "dossier"]', 'sources = ["actus", "nulle-part"]', 27,
     "feeds[0].sources"),
    ('id = "dossier"', 'id = "actus"', 20, "sources[1].id"),
    ('id = "dossier"', 'id = "Mon Dossier"', 20, "sources[1].id"),
    ('listing = true', 'listing = "oui"', 12, "sources[0].listing"),
])
def test_invalid_values_are_named_with_their_line(tmp_path: Path, old: str, new: str, line: int,
                                                  field: str) -> None:
    assert old in VALID
    error = error_for(tmp_path, VALID.replace(old, new, 1))
    assert error.file and error.file.endswith("ville.toml")
    assert (error.line, error.field) == (line, field)
    assert f"ville.toml:{line}:" in str(error) and field in str(error)


def test_broken_toml_names_its_line(tmp_path: Path) -> None:
    error = error_for(tmp_path, VALID.replace('every = "2h"', "every = 2h"))
    assert error.line == 14 and "invalid TOML" in str(error)


def test_missing_environment_variable_is_named(tmp_path: Path) -> None:
    error = error_for(tmp_path, VALID.replace("https://ville.test/dossier", "${VILLE_URL}/d"))
    assert error.line == 21 and "VILLE_URL" in str(error)


def test_a_missing_publisher_or_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    error = error_for(tmp_path, VALID.replace(
        '[publisher]\nname = "Ville test"\nurl = "https://ville.test/"\n', ""))
    assert "[publisher]" in str(error)
    with pytest.raises(ConfigError, match="no \\*.toml file"):
        load_catalogue(tmp_path / "nowhere", environ={})


def test_settings_come_from_defaults_then_environment_then_overrides() -> None:
    assert load_settings(environ={}).retention == 500
    environ = {"SYNDICATION_RETENTION": "20", "REDIS_URL": "redis://r:6379/1"}
    settings = load_settings(environ=environ)
    assert settings.retention == 20 and settings.redis_url == "redis://r:6379/1"
    assert load_settings({"retention": 5}, environ=environ).retention == 5
    assert load_settings(environ={"SYNDICATION_REDIS_URL": "redis://s/2",
                                  "REDIS_URL": "redis://r/1"}).redis_url == "redis://s/2"
    with pytest.raises(ConfigError, match="SYNDICATION_FETCH_TIMEOUT"):
        load_settings(environ={"SYNDICATION_FETCH_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings({"no_such_setting": 1}, environ={})


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (FEEDS_DIR.parent / "README.md").read_text(encoding="utf-8")
    for variable, _default, help_text in settings_table():
        assert help_text, variable
        assert f"`{variable}`" in readme, f"{variable} is missing from the README"


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("1", True), ("Yes", True),
                                            ("on", True), ("false", False), ("0", False),
                                            ("no", False), ("off", False), ("", False)])
def test_a_boolean_setting_reads_words_not_python_truth(raw: str, value: bool) -> None:
    # bool("false") is True: a boolean setting must read the word.
    assert settings_module._convert("flag", raw, bool) is value


def test_a_boolean_setting_refuses_other_words() -> None:
    with pytest.raises(ConfigError, match="SYNDICATION_FLAG='maybe' is not true or false"):
        settings_module._convert("flag", "maybe", bool)


def test_a_number_setting_names_the_variable_when_wrong() -> None:
    with pytest.raises(ConfigError, match="SYNDICATION_RETENTION='many' is not a valid int"):
        load_settings(environ={"SYNDICATION_RETENTION": "many"})


# --- encodings: TOML is UTF-8; a byte order mark is accepted, anything else named ---------------


def test_a_utf8_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    (tmp_path / "ville.toml").write_bytes(b"\xef\xbb\xbf" + VALID.replace(
        "Ville test", "Ville d’Évry").encode("utf-8"))
    catalogue = load_catalogue(tmp_path, environ={})
    assert [p.name for p in catalogue.publishers.values()] == ["Ville d’Évry"]


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_file_in_another_encoding_names_the_line_of_its_first_foreign_byte(
        tmp_path: Path, encoding: str, bom: bytes) -> None:
    text = VALID.replace('title = "Tout"', 'title = "Tout sur la Région"')
    (tmp_path / "ville.toml").write_bytes(bom + text.encode(encoding))
    with pytest.raises(ConfigError) as caught:
        load_catalogue(tmp_path, environ={})
    line = next(n for n, each in enumerate(text.splitlines(), 1) if "Région" in each)
    assert caught.value.file == str(tmp_path / "ville.toml") and caught.value.line == line
    assert str(caught.value).startswith(f"{tmp_path / 'ville.toml'}:{line}: not UTF-8")
    assert "byte 0xe9 at column 23" in str(caught.value)  # after `title = "Tout sur la R`
    assert "UTF-8" in caught.value.message
