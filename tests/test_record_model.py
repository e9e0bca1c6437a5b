"""The record's Python types (record.model) held against its JSON Schema, field by field."""

from __future__ import annotations

import types
import typing
from typing import Any, get_args, get_origin, get_type_hints

import pytest

from crawler.extract.credits import ROLES
from record import (
    CREDIT_ROLES,
    REVIEW_ROLES,
    ROLE_LABELS,
    SCHEMA_VERSION,
    ArticleRecord,
    Attachment,
    Credits,
    Image,
    ListingEntry,
    ParsedArticle,
    Reviewers,
    WarcLocation,
    json_schema,
)

SCHEMA = json_schema()
PROPERTIES: dict[str, Any] = SCHEMA["properties"]


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    resolved: dict[str, Any] = SCHEMA["$defs"][ref.rsplit("/", 1)[1]]
    return resolved


def _json_types(node: dict[str, Any]) -> set[str]:
    """The JSON types a schema node allows."""
    node = _resolve(node)
    if "const" in node:
        return {type(node["const"]).__name__.replace("int", "integer")}
    declared = node["type"]
    return set(declared if isinstance(declared, list) else [declared])


_PYTHON_TO_JSON = {str: "string", int: "integer", type(None): "null", list: "array"}


def _python_types(hint: Any) -> set[str]:
    """The JSON types a Python annotation allows."""
    if get_origin(hint) in (typing.Union, types.UnionType):
        return set().union(*(_python_types(arg) for arg in get_args(hint)))
    if get_origin(hint) is typing.Literal:
        return {_PYTHON_TO_JSON[type(arg)] for arg in get_args(hint)}
    if typing.is_typeddict(hint):
        return {"object"}
    origin = get_origin(hint) or hint
    return {_PYTHON_TO_JSON[origin]}


def _check_typeddict(cls: Any, node: dict[str, Any]) -> None:
    hints = get_type_hints(cls)
    props = node["properties"]
    assert set(hints) == set(props), f"{cls.__name__}: fields differ from the schema"
    assert cls.__required_keys__ == set(node.get("required", [])), cls.__name__
    for name, hint in hints.items():
        assert _python_types(hint) == _json_types(props[name]), f"{cls.__name__}.{name}"


def test_article_record_has_exactly_the_schema_fields() -> None:
    _check_typeddict(ArticleRecord, SCHEMA)


def test_parsed_article_is_the_record_without_the_fetch() -> None:
    fetch_fields = {"listing", "fetched_at", "warc"}
    assert set(get_type_hints(ParsedArticle)) == set(PROPERTIES) - fetch_fields


@pytest.mark.parametrize(
    ("cls", "path"),
    [
        (Reviewers, ["reviewers"]),
        (Credits, ["credits"]),
        (ListingEntry, ["listing"]),
        (WarcLocation, ["warc"]),
        (Image, ["images", "items"]),
        (Attachment, ["attachments", "items"]),
    ],
)
def test_nested_types_match_the_schema(cls: Any, path: list[str]) -> None:
    node = PROPERTIES[path[0]]
    for step in path[1:]:
        node = node[step]
    _check_typeddict(cls, node)


def test_schema_version_is_the_schemas_constant() -> None:
    assert PROPERTIES["schema_version"] == {"const": SCHEMA_VERSION}
    assert json_schema(1)["properties"]["schema_version"] == {"const": 1}


def test_role_lists_are_the_schemas() -> None:
    assert tuple(PROPERTIES["reviewers"]["properties"]) == REVIEW_ROLES
    assert tuple(PROPERTIES["credits"]["properties"]) == CREDIT_ROLES


def test_every_credit_label_maps_to_a_schema_role() -> None:
    """The extractor's label table can only fill roles the record has."""
    for label, targets in ROLES.items():
        for section, role in targets:
            roles = REVIEW_ROLES if section == "reviewers" else CREDIT_ROLES
            assert role in roles, f"{label} -> {section}.{role}"


def test_every_role_has_the_label_the_schema_gives_it() -> None:
    assert set(ROLE_LABELS) == set(REVIEW_ROLES) | set(CREDIT_ROLES)
    for role, label in ROLE_LABELS.items():
        section = "reviewers" if role in REVIEW_ROLES else "credits"
        description = PROPERTIES[section]["properties"][role]["description"]
        assert label in description.split(" / "), (role, label, description)
