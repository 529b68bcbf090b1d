"""Small problems a new user meets, each fixed: oEmbed's 404 names the problem with its `url`,
a page past the last is a 404 (page 1 of an empty feed stays a 200), /favicon.ico answers."""

from __future__ import annotations

import io
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from packaging.requirements import Requirement
from PIL import Image
from redis import Redis

from syndication.app import create_app

from .conftest import ROOT, filled_runtime


@pytest.fixture(scope="module")
def web(redis_client: Redis, sample_site: str) -> Iterator[FlaskClient]:
    with filled_runtime(redis_client, sample_site, ("region-solidaire",)) as (service, results):
        assert results["region-solidaire"].outcome == "ok"
        app = create_app(runtime=service)
        yield app.test_client()
        app.extensions["syndication.cache"].close()


def problem(web: FlaskClient, url: str, status: int) -> dict[str, object]:
    answer = web.get(url)
    assert answer.status_code == status, (url, answer.status_code, answer.data[:300])
    assert answer.mimetype == "application/problem+json"
    return answer.get_json()


@pytest.mark.parametrize("url, words", [
    ("http://elsewhere.example/feeds/actualites.rss", "not a URL of this service"),
    ("http://localhost/digest/actualites.html", "not the URL of a feed or a widget"),
    ("http://localhost/feeds/nope.rss", "no feed 'nope'"),
    ("http://[x", "not a valid URL"),
])
def test_the_oembed_404_says_what_is_wrong_with_the_url(web: FlaskClient, url: str,
                                                        words: str) -> None:
    found = problem(web, f"/oembed?url={quote(url, safe='')}", 404)
    detail = str(found["detail"])
    assert found["parameter"] == "url" and detail.startswith("parameter 'url': ")
    assert words in detail
    assert "'url'" not in detail.removeprefix("parameter 'url': ")  # no "unknown … 'url'"
    if "no feed" not in words:  # says what would do
        assert "/feeds/{feed}.rss" in detail and "http://localhost" in detail


@pytest.mark.parametrize("path", [
    "/feeds/region-solidaire.rss?limit=2&page=3", "/feeds/region-solidaire.atom?page=99",
    "/feeds/region-solidaire.json?limit=3&page=3", "/api/items?feed=region-solidaire&page=99",
    "/api/items?source=region-solidaire&limit=2&page=3", "/api/items?page=99",
    "/feeds/partenaires.rss?page=2",
])
def test_a_page_past_the_last_is_a_404_that_says_so(web: FlaskClient, path: str) -> None:
    found = problem(web, path, 404)
    assert found["parameter"] == "page"
    assert "there is no page" in str(found["detail"]) and "the last is page" in str(
        found["detail"])


@pytest.mark.parametrize("path", [
    "/feeds/region-solidaire.rss?limit=2&page=2", "/api/items?feed=region-solidaire&limit=2&page=2",
    "/feeds/partenaires.rss", "/feeds/partenaires.json?page=1", "/api/items?feed=partenaires",
])
def test_the_last_page_and_page_one_of_an_empty_feed_answer(web: FlaskClient, path: str) -> None:
    assert web.get(path).status_code == 200


def test_the_favicon_answers_and_pages_link_an_svg_icon(web: FlaskClient) -> None:
    answer = web.get("/favicon.ico")
    assert answer.status_code == 200 and answer.mimetype == "image/vnd.microsoft.icon"
    icon = Image.open(io.BytesIO(answer.data))
    assert icon.format == "ICO" and (32, 32) in icon.info["sizes"]
    for page in ("/", "/status"):
        link = BeautifulSoup(web.get(page).data, "html.parser").find("link", rel="icon")
        assert link is not None and link["type"] == "image/svg+xml", page
        with web.get(link["href"]) as svg:  # a static file: closed once read
            assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
            assert ET.fromstring(svg.data).tag == "{http://www.w3.org/2000/svg}svg"


def test_the_license_is_an_spdx_expression_that_setuptools_reads_without_warning() -> None:
    """A `license = { text = … }` table makes every install warn (deprecated by PEP 639);
    setuptools reads an SPDX string from version 77 on. (Checked by hand with `pip install -e .`
    in a fresh venv: no warning.)"""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"
    [setuptools] = [r for r in project["build-system"]["requires"] if r.startswith("setuptools")]
    assert Requirement(setuptools).specifier.contains("77") and not Requirement(
        setuptools).specifier.contains("76.9")
