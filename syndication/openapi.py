"""The OpenAPI document (static/openapi.json): the one place the API's rules are written. The
web app serves it (GET /api/openapi.json) and the server holds request bodies to its schemas with
jsonschema, so that what the document states is what the server enforces.

Entry points: `document(max_items)`, the document as this deployment serves it; `validator(name,
max_items)`, a validator for one of its `components/schemas`; `problems(error)`, a validation
error as (field, message) pairs for a 422 answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DEFAULT_MAX_ITEMS = 100  # PushBatch's maxItems as written; settings.push_max_items may differ


def document(max_items: int | None = None) -> dict[str, Any]:
    """The document, with the number of items a push may carry (SYNDICATION_PUSH_MAX_ITEMS)
    stated as PushBatch's `maxItems` when given."""
    data = json.loads(_text())
    if max_items is not None:
        data["components"]["schemas"]["PushBatch"]["properties"]["items"]["maxItems"] = max_items
    return data


@cache
def _text() -> str:
    return files("syndication").joinpath("static/openapi.json").read_text(encoding="utf-8")


@lru_cache(maxsize=16)
def validator(name: str, max_items: int | None = None) -> Draft202012Validator:
    """A validator for components/schemas/`name`, its $refs resolved within the document."""
    resource = Resource.from_contents(document(max_items), default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:syndication:openapi", resource)
    return Draft202012Validator({"$ref": f"urn:syndication:openapi#/components/schemas/{name}"},
                                registry=registry)


def problems(error: ValidationError) -> list[tuple[str, str]]:
    """jsonschema's error as (field, message), the field being the one to fix: the missing or
    unexpected one rather than the object that lacks or holds it; for a body that matches none
    of the forms a oneOf allows, the problems of the form it comes closest to."""
    where = path(error.absolute_path)
    within = "" if where == "(body)" else where + "."
    if error.validator == "required" and isinstance(error.validator_value, list):
        return [(within + name, "is required") for name in error.validator_value
                if isinstance(error.instance, dict) and name not in error.instance]
    if (error.validator == "additionalProperties" and isinstance(error.instance, dict)
            and isinstance(error.schema, Mapping)):
        allowed = set(error.schema.get("properties", {}))
        return [(within + name, f"unknown field (allowed: {', '.join(sorted(allowed))})")
                for name in error.instance if name not in allowed]
    if (error.validator == "pattern" and len(str(error.validator_value)) > 80
            and isinstance(error.schema, Mapping) and error.schema.get("description")):
        # a long pattern (an URL's) says less than the schema's description
        return [(where, f"{str(error.instance)[:200]!r} is not valid: "
                        f"{error.schema['description']}")]
    if error.validator == "oneOf" and error.context:
        closest = min(_by_branch(error.context).values(), key=len)
        return [problem for each in closest for problem in problems(each)]
    return [(where, error.message)]


def _by_branch(context: list[ValidationError]) -> dict[str | int, list[ValidationError]]:
    branches: dict[str | int, list[ValidationError]] = {}
    for each in context:
        branches.setdefault(each.relative_schema_path[0], []).append(each)
    return branches


def path(parts: Any) -> str:
    """items[3].published, from jsonschema's path of an error."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(body)"
