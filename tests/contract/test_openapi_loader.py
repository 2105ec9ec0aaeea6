"""The OpenAPI loader of the contract tests (support/openapi.py) on small hand-made files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.openapi import OpenApiFile

OAS3: dict[str, Any] = {
    "openapi": "3.0.1",
    "servers": [
        {
            "url": "https://{region}.example.com/api/v9/",
            "variables": {"region": {"default": "us"}},
        }
    ],
    "paths": {
        "/Things/{id}": {
            "get": {
                "responses": {
                    "200": {"$ref": "#/components/responses/Thing"},
                    "404": {"description": "not found"},
                }
            },
            "delete": {"responses": {"204": {"description": "gone"}}},
        }
    },
    "components": {
        "responses": {
            "Thing": {
                "description": "a thing",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/T"}}},
            }
        },
        "schemas": {
            "T": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "note": {"type": "string", "nullable": True, "enum": ["a", "b"]},
                    "flags": {"properties": {"on": {"type": "boolean"}}},
                    "link": {"properties": {"$ref": {"type": "string"}}},
                    "when": {"type": "string", "format": "date-time"},
                },
            }
        },
    },
}
SWAGGER2: dict[str, Any] = {
    "swagger": "2.0",
    "basePath": "/old/v1",
    "paths": {
        "/Things": {
            "get": {"responses": {"200": {"schema": {"$ref": "#/definitions/List"}}}},
        }
    },
    "definitions": {
        "List": {"type": "array", "items": {"type": "integer", "x-nullable": True}},
    },
}
THING_ID = "3f1c8a52-5b7e-4c1d-9a0b-1c2d3e4f5a6b"


def _file(tmp_path: Path, doc: dict[str, Any]) -> OpenApiFile:
    (tmp_path / "api.json").write_text(json.dumps(doc))
    return OpenApiFile("api.json", directory=tmp_path)


def test_base_path_comes_from_the_first_server_with_its_variables(tmp_path: Path) -> None:
    """The base path is the first server URL's path, its variables at their defaults."""
    assert _file(tmp_path, OAS3).base_path == "/api/v9"
    assert _file(tmp_path, SWAGGER2).base_path == "/old/v1"


def test_operations_and_their_success_status(tmp_path: Path) -> None:
    """Every path and method is an operation whose success is its lowest 2xx response."""
    spec = _file(tmp_path, OAS3)
    assert [(str(op), op.success) for op in spec.operations()] == [
        ("GET /Things/{id}", 200),
        ("DELETE /Things/{id}", 204),
    ]
    assert spec.response_schema("/Things/{id}", "delete", 204) is None
    assert spec.response_schema("/Things/{id}", "get", 404) is None


def test_a_valid_body_passes(tmp_path: Path) -> None:
    """A body that follows the referenced schema validates."""
    spec = _file(tmp_path, OAS3)
    body = {
        "id": THING_ID,
        "note": None,
        "flags": {"on": True},
        "link": {"$ref": "https://x/1"},
        "when": "2025-11-27T14:52:42.557340700Z",
    }
    spec.validate("/Things/{id}", "get", 200, body)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "'id' is a required property"),
        ({"id": "not-a-uuid"}, "is not a 'uuid'"),
        ({"id": THING_ID, "note": "c"}, "is not one of"),
        ({"id": THING_ID, "flags": True}, "is not of type 'object'"),
        ({"id": THING_ID, "link": {"$ref": 1}}, "is not of type 'string'"),
        ({"id": THING_ID, "when": "2025-11-27 14:52"}, "is not a 'date-time'"),
    ],
)
def test_an_invalid_body_is_reported(tmp_path: Path, body: dict[str, Any], error: str) -> None:
    """Missing, mistyped, badly formatted values and untyped objects given a scalar all fail."""
    spec = _file(tmp_path, OAS3)
    with pytest.raises(AssertionError, match=error):
        spec.validate("/Things/{id}", "get", 200, body)


def test_swagger2_definitions_and_x_nullable(tmp_path: Path) -> None:
    """Swagger 2 responses carry their schema directly; x-nullable admits null."""
    spec = _file(tmp_path, SWAGGER2)
    spec.validate("/Things", "get", 200, [1, None])
    with pytest.raises(AssertionError, match="is not of type"):
        spec.validate("/Things", "get", 200, ["1"])


def test_a_fix_edits_the_file_before_conversion(tmp_path: Path) -> None:
    """A test module's fix changes what is validated (here: id no longer required)."""
    (tmp_path / "api.json").write_text(json.dumps(OAS3))

    def fix(doc: dict[str, Any]) -> None:
        del doc["components"]["schemas"]["T"]["required"]

    OpenApiFile("api.json", fix=fix, directory=tmp_path).validate("/Things/{id}", "get", 200, {})
