"""The API keeps to its OpenAPI document (syndication/static/openapi.json): schemathesis generates
requests from the document, valid and invalid, sends them to the app in-process (WSGI, real
Redis) with the operator's token or a publisher's push token, and checks every answer: no server
error, only documented statuses, content types, headers and bodies, valid data accepted and
invalid data refused.

Bounded for `make test` on a small machine: 25 examples an operation (plus the examples and
boundary cases schemathesis derives from the document), derandomized so that every run sends the
same requests; about 20 seconds on two cores. CONTRACT_EXAMPLES=1000 digs deeper (minutes).

Every check schemathesis has for a single request runs (not_a_server_error,
status_code_conformance, content_type_conformance, response_schema_conformance,
response_headers_conformance, positive_data_acceptance, negative_data_rejection,
missing_required_header, ignored_auth, unsupported_method, allow_header_conformance), with two
adjustments made in CONFIG below and explained there. The checks over sequences of requests
(use_after_free, ensure_resource_availability) need schemathesis's stateful phase, which this
test does not run, and object_level_authorization needs peer identities set up as schemathesis
auth providers: here each operation has one caller (the operator, or the push token's
publisher), and test_push.py checks that one publisher cannot push to another's sources.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import settings
from redis import Redis

from syndication.app import create_app
from syndication.openapi import document
from syndication.web.auth import Failures

from .conftest import delete_prefix, make_catalogue, make_runtime

pytestmark = pytest.mark.redis

EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "25"))  # per operation; more to dig deeper
OPERATOR = "contract-operator-token"
PUSHING = ("pushItems", "deleteItem")  # with the publisher's push token; the rest, the operator's
PUBLISHER = "sample-site"  # the push token's: its one push source is `agenda`
OTHER_PUBLISHER = "iledefrance"  # sources added by the run go to it, so that `agenda` stays the
# only push source of PUBLISHER and a push may leave `source` out
REPLACED = "contract-push"  # a source the `api` fixture adds, which valid PUTs replace


class Proxy:
    """The app under test, as a WSGI application schemathesis can be given before the app
    exists (the schema is built at import, the app by a fixture). It stands for the server in
    front: every request has a client address, loopback, as the operator's requests must."""

    app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None, "the `api` fixture sets the app"
        environ.setdefault("REMOTE_ADDR", "127.0.0.1")
        return self.app(environ, start_response)


APP = Proxy()

# A schema-valid source definition may still be refused (422) for rules no JSON Schema can
# state: a CSS selector must parse, and a fetched source's URL must be on a domain the operator
# opened (SYNDICATION_API_SOURCE_DOMAINS, empty here) and resolve to a public address. For the
# two operations that take definitions, positive_data_acceptance also admits 422, and
# `refused_only_for_unstatable_rules` below then requires that every field such a 422 names be
# one of these: any other 422 on a schema-valid definition is the document being looser than
# the server, and fails.
UNSTATABLE = [
    (re.compile(r"^(follow|paginate|selectors\.[a-z_]+)$"), "invalid CSS selector"),
    (re.compile(r"^url$"), "through the API"),  # the domain list (SYNDICATION_API_SOURCE_DOMAINS)
]
DEFINITIONS = ("addSource", "replaceSource")

# Statuses that accept valid data, and refuse invalid data: schemathesis's own lists, plus 413.
# No JSON Schema states a body's size in bytes (SYNDICATION_PUSH_MAX_BYTES, in the descriptions):
# a body over it is refused unread, valid or not.
ACCEPTING = ["2xx", "3xx", "401", "403", "404", "409", "413", "429"]
REFUSING = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = schemathesis.Config.from_dict({
    "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTING},
               "negative_data_rejection": {"expected-statuses": REFUSING}},
    "operations": [{
        "include-operation-id": list(DEFINITIONS),
        "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTING + ["422"]}},
    }],
})
schema = schemathesis.openapi.from_dict(document(), config=CONFIG)
schema.app = APP


@dataclass
class Api:
    app: Flask
    push_token: str


@pytest.fixture(scope="module")
def api(redis_client: Redis, sample_site: str) -> Iterator[Api]:
    """The app on the demo's catalogue, under a key prefix of its own, with an operator token
    and a push token of PUBLISHER. Every address is admitted for pushed links
    (fetch_allowed_networks): which addresses are private is not in the document (it depends on
    that setting), and test_push.py checks the refusal."""
    prefix = f"{{test-{uuid.uuid4().hex[:12]}}}"
    service = make_runtime(redis_client, prefix, make_catalogue(sample_site),
                           admin_token=OPERATOR, fetch_allowed_networks="0.0.0.0/0,::/0")
    app = create_app(runtime=service)
    client, operator = app.test_client(), {"Authorization": f"Bearer {OPERATOR}"}
    issued = client.post(f"/api/publishers/{PUBLISHER}/tokens", json={"label": "api"},
                         headers=operator)
    added = client.post("/api/sources", headers=operator, json={
        "id": REPLACED, "type": "push", "publisher": OTHER_PUBLISHER})
    assert issued.status_code == 201 and added.status_code == 201
    assert client.get("/api/openapi.json").json == document()  # the document tested is served
    APP.app = app
    yield Api(app, issued.json["token"])
    APP.app = None
    app.extensions["syndication.cache"].close()
    service.fetcher.close()
    delete_prefix(redis_client, prefix)


@schemathesis.check
def refused_only_for_unstatable_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 422 to a schema-valid source definition names only rules the document cannot state."""
    if (case.operation.definition.raw.get("operationId") not in DEFINITIONS
            or case.meta is None or not case.meta.generation.mode.is_positive
            or response.status_code != 422):
        return None
    stated = [error for error in response.json().get("errors", [])
              if not any(field.match(error["field"]) and words in error["message"]
                         for field, words in UNSTATABLE)]
    assert not stated, f"a schema-valid definition refused for a rule the document can state: " \
                       f"{stated}"
    return True


@schema.parametrize()
# derandomize: the same requests every run (a failure is reproduced by running the test again),
# so no example database either; no deadline: a request's time depends on the machine.
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
def test_the_api_keeps_to_its_document(case: Any, api: Api) -> None:
    operation = case.operation.definition.raw.get("operationId")
    # The limit on failed authentications (ten a minute per address, test_operator_api.py)
    # would answer every later request 429: schemathesis's auth checks send wrong tokens.
    api.app.extensions["syndication.auth_failures"] = Failures()
    if case.meta is not None and case.meta.generation.mode.is_positive:
        fill_in_what_the_document_cannot_know(operation, case)
    token = api.push_token if operation in PUSHING else OPERATOR
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"})


def fill_in_what_the_document_cannot_know(operation: str, case: Any) -> None:
    """Make a schema-valid request meet the rules that depend on the server's state and clock,
    which the document describes but a generator cannot know: which publishers and feeds are
    declared, which source is the publisher's, which sources were added through the API (the
    only ones PUT replaces), today's date, and (JSON Schema cannot say it) that the ids of a
    batch differ and that an event does not end before it starts. Only values are changed,
    within what the schema admits: the case stays schema-valid."""
    body = case.body
    if operation == "pushItems" and isinstance(body, dict):
        if "source" in body:
            body["source"] = "agenda"
        unique: dict[str, Any] = {}
        for item in body["items"]:
            unique.setdefault(item["id"], item)
        body["items"] = list(unique.values())
        for item in body["items"]:
            for name in ("published", "updated"):
                if name in item:
                    item[name] = _within_the_accepted_dates(item[name])
            event = item.get("event")
            if isinstance(event, dict) and "end" in event:
                event["end"] = event["start"]  # an end not before the start
    if operation in DEFINITIONS and isinstance(body, dict):
        body["publisher"] = OTHER_PUBLISHER
        if "feeds" in body:
            body["feeds"] = ["iledefrance-actualites"] * min(1, len(body["feeds"]))
        if operation == "replaceSource":
            case.path_parameters["source_id"] = REPLACED
            if "id" in body:
                body["id"] = REPLACED


def _within_the_accepted_dates(value: str) -> str:
    """The same date-time in a year from 1991 to 2025 (a leap year for a leap one): the server
    takes dates from 1990-01-01T00:00Z to two days ahead of its clock."""
    year = int(value[:4])
    if 1991 <= year <= 2025:
        return value
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return ("2024" if leap else "2025") + value[4:]
