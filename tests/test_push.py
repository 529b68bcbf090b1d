"""Push sources: publishers send items to POST /api/items with their own bearer token; the items
land in the same content model and feeds as scraped ones, idempotently, and bad batches are
refused whole with every bad field named."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
import pytest
from redis import Redis

from demo.sample_site import SITE_DIR
from syndication.app import create_app
from syndication.model import Catalogue
from syndication.push import pushed_item_id
from syndication.runtime import Runtime

from .conftest import make_runtime

ADMIN = "admin-secret-for-tests"
AGENDA = json.loads((SITE_DIR / "push" / "agenda.json").read_text(encoding="utf-8"))


@pytest.fixture
def service(redis_client: Redis, prefix: str, catalogue: Catalogue) -> Iterator[Runtime]:
    runtime = make_runtime(redis_client, prefix, catalogue, admin_token=ADMIN, push_max_items=10,
                           push_max_bytes=200_000)
    yield runtime
    runtime.fetcher.close()


@pytest.fixture
def web(service: Runtime):  # noqa: ANN201 - a Flask test client
    app = create_app(runtime=service)
    yield app.test_client()
    app.extensions["syndication.cache"].close()


def issue(web: Any, publisher: str = "sample-site") -> str:
    answer = web.post(f"/api/publishers/{publisher}/tokens", json={"label": "tests"},
                      headers={"Authorization": f"Bearer {ADMIN}"})
    assert answer.status_code == 201, answer.json
    return answer.json["token"]


def push(web: Any, token: str, payload: Any) -> Any:
    return web.post("/api/items", json=payload, headers={"Authorization": f"Bearer {token}"})


def test_pushed_items_land_in_their_feed_in_the_content_model(web: Any) -> None:
    token = issue(web)
    answer = push(web, token, AGENDA)
    assert answer.status_code == 200, answer.json
    assert (answer.json["created"], answer.json["updated"], answer.json["unchanged"]) == (4, 0, 0)
    assert answer.json["items"][0] == {"id": "evt-2026-0412", "result": "created",
                                       "item_id": pushed_item_id("agenda", "evt-2026-0412")}

    document = web.get("/feeds/agenda.json").json
    assert [item["title"] for item in document["items"]] == [
        item["title"] for item in AGENDA["items"]]  # newest first, as sent
    forum = next(i for i in web.get("/api/items?feed=agenda").json["items"]
                 if i["title"].startswith("Forum"))
    assert forum["kind"] == "evenement"
    assert forum["tags"] == ["Emploi", "Jeunesse", "Agenda"]  # the source's tag added
    assert datetime.fromisoformat(forum["published"]) == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert forum["figures"][0]["amount"] == 150
    assert "<strong>3 décembre 2026</strong>" in forum["content_html"]
    assert "<script" not in forum["content_html"] and "alert" not in forum["content_html"]
    rural = next(i for i in web.get("/api/items?feed=agenda").json["items"]
                 if "rurale" in i["title"])
    assert rural["figures"][0] == {"label": "pour le pacte rural", "value_text": "1,1 Md €",
                                   "amount": 1100000000, "unit": "EUR"}
    rss = feedparser.parse(web.get("/feeds/agenda.rss").data)
    assert len(rss.entries) == 4 and not rss.bozo


def test_pushing_the_same_batch_again_changes_nothing(web: Any, service: Runtime) -> None:
    token = issue(web)
    push(web, token, AGENDA)
    version = service.store.feed_state("agenda").version
    answer = push(web, token, AGENDA)
    assert (answer.json["created"], answer.json["updated"], answer.json["unchanged"]) == (0, 0, 4)
    assert service.store.feed_state("agenda").version == version
    assert service.store.item_count("agenda") == 4


def test_an_item_sent_again_with_its_id_is_updated_in_place(web: Any, service: Runtime) -> None:
    token = issue(web)
    push(web, token, AGENDA)
    first = service.store.source_items("agenda", limit=10)
    version = service.store.feed_state("agenda").version
    edited = copy.deepcopy(AGENDA)
    edited["items"] = [dict(AGENDA["items"][1], title="La Nuit des lycées (reportée)",
                            updated="2026-11-25T10:00:00+01:00")]
    answer = push(web, token, edited)
    assert (answer.json["created"], answer.json["updated"]) == (0, 1)
    after = {item.id: item for item in service.store.source_items("agenda", limit=10)}
    assert len(after) == 4
    before = next(item for item in first if item.title.startswith("La Nuit"))
    now = after[before.id]
    assert now.title == "La Nuit des lycées (reportée)"
    assert now.first_seen == before.first_seen and now.published == before.published
    assert now.updated == datetime.fromisoformat("2026-11-25T09:00:00+00:00")
    assert service.store.feed_state("agenda").version == version + 1


def test_a_bad_batch_is_refused_whole_with_every_bad_field_named(web: Any,
                                                                 service: Runtime) -> None:
    token = issue(web)
    bad = copy.deepcopy(AGENDA)
    bad["items"][0]["published"] = "20 novembre 2026"
    bad["items"][1]["url"] = "javascript:alert(1)"
    del bad["items"][2]["title"]
    bad["items"][3]["colour"] = "red"
    bad["items"][3]["kind"] = "concert"
    answer = push(web, token, bad)
    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json"
    fields = {error["field"]: error["message"] for error in answer.json["errors"]}
    assert set(fields) == {"items[0].published", "items[1].url", "items[2].title",
                           "items[3].colour", "items[3].kind"}
    assert "RFC 3339" in fields["items[0].published"]
    assert "http(s)" in fields["items[1].url"]
    assert fields["items[2].title"] == "is required"
    assert service.store.item_count("agenda") == 0  # nothing of the batch was stored


def test_a_duplicate_id_within_a_batch_is_named(web: Any) -> None:
    token = issue(web)
    twice = {"items": [AGENDA["items"][0], AGENDA["items"][0]]}
    answer = push(web, token, twice)
    assert answer.status_code == 422
    assert answer.json["errors"] == [{"field": "items[1].id",
                                      "message": "id 'evt-2026-0412' is also items[0].id"}]


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"Authorization": "Bearer not-a-token"}, 401),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
])
def test_pushing_needs_a_known_bearer_token(web: Any, service: Runtime,
                                            headers: dict[str, str], status: int) -> None:
    answer = web.post("/api/items", json=AGENDA, headers=headers)
    assert answer.status_code == status
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert service.store.item_count("agenda") == 0


def test_a_token_pushes_only_to_its_own_publishers_sources(web: Any, service: Runtime) -> None:
    other = issue(web, "iledefrance")
    answer = push(web, other, AGENDA)
    assert answer.status_code == 403
    assert "another publisher" in answer.json["detail"]
    assert service.store.item_count("agenda") == 0


def test_a_revoked_token_no_longer_pushes(web: Any) -> None:
    token = issue(web)
    tokens = web.get("/api/publishers/sample-site/tokens",
                     headers={"Authorization": f"Bearer {ADMIN}"}).json["tokens"]
    assert len(tokens) == 1 and token not in json.dumps(tokens)  # only the digest is kept
    revoked = web.delete(f"/api/publishers/sample-site/tokens/{tokens[0]['digest']}",
                         headers={"Authorization": f"Bearer {ADMIN}"})
    assert revoked.status_code == 204
    assert push(web, token, AGENDA).status_code == 401


def test_the_source_may_be_left_out_when_the_publisher_has_one_push_source(web: Any) -> None:
    token = issue(web)
    answer = push(web, token, {"items": AGENDA["items"][:1]})
    assert answer.status_code == 200 and answer.json["source"] == "agenda"


def test_pushing_to_a_fetched_source_is_a_conflict(web: Any) -> None:
    token = issue(web)
    answer = push(web, token, {"source": "actualites", "items": AGENDA["items"][:1]})
    assert answer.status_code == 409
    assert "fetched, not pushed" in answer.json["detail"]


def test_batch_limits(web: Any) -> None:
    token = issue(web)
    many = {"items": [dict(AGENDA["items"][1], id=f"evt-{n}") for n in range(11)]}
    answer = push(web, token, many)
    assert answer.status_code == 422
    assert answer.json["errors"][0]["field"] == "items"
    assert "at most 10 items" in answer.json["errors"][0]["message"]

    huge = {"items": [dict(AGENDA["items"][1], content_html="<p>" + "x" * 190_000 + "</p>",
                           id=f"big-{n}") for n in range(2)]}
    answer = push(web, token, huge)
    assert answer.status_code == 413
    assert "200000" in answer.json["detail"]


def test_a_body_that_is_not_json_is_refused_clearly(web: Any) -> None:
    token = issue(web)
    auth = {"Authorization": f"Bearer {token}"}
    answer = web.post("/api/items", data="items=1", headers=auth,
                      content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 415
    answer = web.post("/api/items", data="{not json", headers=auth,
                      content_type="application/json")
    assert answer.status_code == 400 and "not valid JSON" in answer.json["detail"]
    answer = push(web, token, [1, 2])
    assert answer.status_code == 422
    assert answer.json["errors"][0]["field"] == "(body)"


def test_a_withdrawn_item_leaves_its_feed(web: Any, service: Runtime) -> None:
    token = issue(web)
    push(web, token, AGENDA)
    version = service.store.feed_state("agenda").version
    answer = web.delete("/api/items/agenda/evt-2026-0418",
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 204
    titles = [item["title"] for item in web.get("/feeds/agenda.json").json["items"]]
    assert len(titles) == 3 and not any(t.startswith("La Nuit") for t in titles)
    assert service.store.feed_state("agenda").version == version + 1
    again = web.delete("/api/items/agenda/evt-2026-0418",
                       headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 204  # idempotent
    assert service.store.feed_state("agenda").version == version + 1


def test_a_push_source_shows_its_last_push_in_its_status(web: Any) -> None:
    before = web.get("/api/sources/agenda").json
    assert before["type"] == "push" and before["status"]["state"] == "never"
    assert before["every_seconds"] is None and before["origin"] == "file"
    push(web, issue(web), AGENDA)
    after = web.get("/api/sources/agenda").json
    assert after["status"]["state"] == "ok" and after["item_count"] == 4
    assert after["status"]["last_success"] is not None


def test_the_openapi_document_publishes_the_push_schema(web: Any) -> None:
    document = web.get("/api/openapi.json").json
    assert document["openapi"].startswith("3.1")
    schema = document["components"]["schemas"]["PushedItem"]
    assert set(schema["required"]) == {"id", "url", "title", "published"}
    assert document["paths"]["/api/items"]["post"]["requestBody"]["content"][
        "application/json"]["schema"] == {"$ref": "#/components/schemas/PushBatch"}
    from openapi_spec_validator import validate

    validate(document)


def test_pushed_images_are_measured_by_the_next_refresh_and_kept_through_edits(
        web: Any, service: Runtime, sample_site: str) -> None:
    from syndication.refresh import refresh

    token = issue(web)
    event = dict(AGENDA["items"][0], image={"url": f"{sample_site}/media/budget-2026-vote.jpg",
                                            "alt": "L’hémicycle", "credit": "Région"})
    assert push(web, token, {"items": [event]}).json["created"] == 1
    [stored] = service.store.source_items("agenda", limit=5)
    assert stored.image is not None and stored.image.derivatives == ()  # not fetched yet
    assert service.registry.take_refresh_requests() == ["agenda"]  # asked for at once

    result = refresh(service.catalogue.sources["agenda"], service)
    assert result.outcome == "ok" and result.updated == 1
    [measured] = service.store.source_items("agenda", limit=5)
    assert measured.image.width and measured.image.derivatives
    assert measured.updated == stored.updated  # image facts are not an edit

    edited = dict(event, title="Forum régional de l’emploi des jeunes (complet)")
    assert push(web, token, {"items": [edited]}).json["updated"] == 1
    [after] = service.store.source_items("agenda", limit=5)
    assert after.image.derivatives == measured.image.derivatives
    assert service.registry.take_refresh_requests() == []  # nothing left to measure


@pytest.mark.parametrize("field, value, words", [
    ("published", "9999-12-31T23:59:59-01:00", "not a valid date-time"),
    ("published", "0001-01-01T00:00:00+01:00", "not a valid date-time"),
    ("published", "2099-01-01T00:00:00+01:00", "outside the dates accepted"),
    ("published", "20261126T093000+01:00", "not an RFC 3339"),
    ("updated", "2026-11-26T09:30", "not an RFC 3339"),
    ("url", "https://example.org/\ufffe", "is not"),
    ("url", "https://exa\x01mple.org/a", "is not"),
    ("url", "http://[x/", "not a valid URL"),
    ("url", "https://example.org:99999/a", "not a valid URL"),
    ("image", {"url": "http://[x/"}, "not a valid URL"),
    ("image", {"url": "https://example.org/i\x01.jpg"}, "is not"),
    ("url", "https://user:secret@example.org/a", "user name or password"),
    ("image", {"url": "http://169.254.169.254/latest/meta-data/"}, "public address"),
    ("image", {"url": "http://10.0.0.5:6379/x.jpg"}, "public address"),
    ("url", "http://[fd00::1]/a", "public address"),
])
def test_dates_and_urls_that_would_break_a_feed_are_refused(web: Any, service: Runtime,
                                                            field: str, value: Any,
                                                            words: str) -> None:
    token = issue(web)
    answer = push(web, token, {"items": [dict(AGENDA["items"][1], **{field: value})]})
    assert answer.status_code == 422, answer.json
    [error] = answer.json["errors"]
    assert error["field"] == f"items[0].{field}" + (".url" if field == "image" else "")
    assert words in error["message"]
    assert service.store.item_count("agenda") == 0
    assert web.get("/feeds/agenda.rss").status_code == 200


def test_a_huge_invalid_body_costs_a_short_answer(web: Any) -> None:
    token = issue(web)
    answer = push(web, token, {"items": [1] * 60_000})  # under the byte limit
    assert answer.status_code == 422
    assert answer.json["errors"] == [{"field": "items", "message": "at most 10 items per "
                                      "request, not 60000; send the rest in further requests"}]
    wrong = push(web, token, {"items": [{"a": n, "b": n, "c": n} for n in range(10)],
                              **{f"x{n}": n for n in range(300)}})
    assert wrong.status_code == 422 and len(wrong.json["errors"]) <= 100


def test_json_nested_too_deeply_is_a_clear_400(web: Any) -> None:
    answer = web.post("/api/items", data="[" * 100_000, content_type="application/json",
                      headers={"Authorization": f"Bearer {issue(web)}"})
    assert answer.status_code == 400 and "nested too deeply" in answer.json["detail"]
