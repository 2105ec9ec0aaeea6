"""Concur's OpenAPI files read as JSON Schema, for the contract tests (tests/contract/).

:class:`OpenApiFile` loads one file from ``tests/data/concur-openapi/`` (Concur's published
files, kept verbatim; ``CONCUR_SCIM_OPENAPI_DIR`` overrides), lists its operations (path and
method), and gives the response schema of (path, method, status) as a JSON Schema that
:meth:`OpenApiFile.validate` checks a response body against with ``jsonschema``.

- **Versions.** OpenAPI 3.0 (``components``, ``content``) and Swagger 2.0 (``definitions``,
  ``schema`` on the response) are both read; the structure decides, not the version field
  (``scim-v4.json`` says ``"swagger": "2.0"`` but is written as OpenAPI 3.0).
- **References.** ``#/components/schemas/X`` and Swagger's ``#/definitions/X`` become
  ``#/definitions/X`` of the produced schema, which carries every converted definition;
  ``#/components/responses/X`` (and Swagger's ``#/responses/X``) are resolved in place.
- **Dialect.** Both formats' schema objects are draft-4 JSON Schema plus a few keywords:
  ``nullable`` / ``x-nullable`` become a ``"null"`` type (and a ``None`` enum member);
  annotation-only keywords (``example``, ``readOnly``, ``xml``, …) are dropped. Validation
  uses :class:`jsonschema.Draft4Validator` with format checking (``uuid``, ``date-time``).
- **Untyped objects.** Concur's files leave ``type`` off many objects (``pagination.cursor``,
  ``authenticationSchemes``). In OpenAPI a schema without ``type`` accepts any value, so
  ``{"properties": …, "required": …}`` would check nothing against a boolean or a list; a
  schema with ``properties`` and no ``type`` is therefore read as ``"type": "object"``, which
  is what the file means.

A test module fixes what the file gets wrong by passing ``fix``, a function that edits the
raw document before conversion, each edit with a one-line comment saying what the file says
and what the reference says instead.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jsonschema import Draft4Validator, FormatChecker

OPENAPI_DIR = Path(
    os.environ.get("CONCUR_SCIM_OPENAPI_DIR")
    or Path(__file__).resolve().parents[1] / "data" / "concur-openapi"
)
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Keywords that annotate rather than validate, or that are not JSON Schema.
_DROPPED = frozenset(
    {
        "nullable",
        "x-nullable",
        "discriminator",
        "readOnly",
        "writeOnly",
        "xml",
        "externalDocs",
        "example",
        "examples",
        "deprecated",
    }
)
# Keywords whose value is a map of names to schemas (the names are data, not keywords).
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "definitions"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
_SCHEMA_VALUES = frozenset({"not", "additionalProperties", "items", "additionalItems"})

# RFC 3339 §5.6 date-time (jsonschema checks it only with an optional extra package).
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)
FORMATS = FormatChecker()


@FORMATS.checks("date-time")
def _is_date_time(instance: object) -> bool:
    return not isinstance(instance, str) or _DATE_TIME.match(instance) is not None


Fix = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Operation:
    """One documented operation: a path template and an HTTP method (lower case)."""

    path: str
    method: str
    statuses: tuple[str, ...]

    @property
    def success(self) -> int:
        """The documented success status: the lowest 2xx response."""
        return min(int(s) for s in self.statuses if s.startswith("2"))

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


class OpenApiFile:
    """One Concur OpenAPI file: its base path, its operations and their response schemas."""

    def __init__(self, name: str, fix: Fix | None = None, directory: Path = OPENAPI_DIR) -> None:
        raw: dict[str, Any] = json.loads((directory / name).read_text(encoding="utf-8"))
        if fix is not None:
            fix(raw)
        self.name = name
        self.raw = raw
        self.oas3 = "components" in raw or "openapi" in raw
        found = (
            raw.get("components", {}).get("schemas", {})
            if self.oas3
            else raw.get("definitions", {})
        )
        self.definitions: dict[str, Any] = {k: _convert(v) for k, v in found.items()}

    @cached_property
    def base_path(self) -> str:
        """The path part of the first server URL (OpenAPI 3) or ``basePath`` (Swagger 2)."""
        if not self.oas3:
            return str(self.raw.get("basePath", "")).rstrip("/")
        server = self.raw["servers"][0]
        url = str(server["url"])
        for name, variable in (server.get("variables") or {}).items():
            url = url.replace("{" + name + "}", str(variable["default"]))
        return urlparse(url).path.rstrip("/")

    def operations(self) -> list[Operation]:
        """Every operation the file documents, in file order."""
        out = []
        for path, item in self.raw["paths"].items():
            for method, op in item.items():
                if method in METHODS:
                    statuses = tuple(str(s) for s in op.get("responses", {}))
                    out.append(Operation(path, method, statuses))
        return out

    def operation(self, path: str, method: str) -> Operation:
        """The operation documented for ``method`` on ``path``; KeyError if none."""
        for op in self.operations():
            if op.path == path and op.method == method.lower():
                return op
        raise KeyError(f"{self.name} documents no {method.upper()} {path}")

    def response_schema(self, path: str, method: str, status: int) -> dict[str, Any] | None:
        """The JSON Schema of the ``status`` response body, or None when none is documented.

        Raises KeyError when the file does not document ``status`` for the operation.
        """
        responses = self.raw["paths"][path][method.lower()]["responses"]
        response = self._deref(responses[str(status)])
        if self.oas3:
            content = response.get("content") or {}
            media = next((m for m in content.values() if "schema" in m), None)
            schema = media["schema"] if media else None
        else:
            schema = response.get("schema")
        if schema is None:
            return None
        return {"allOf": [_convert(schema)], "definitions": self.definitions}

    def validate(self, path: str, method: str, status: int, body: Any) -> None:
        """Assert that ``body`` is valid against the ``status`` response schema.

        Every violation is listed, each with the JSON path where it was found.
        """
        schema = self.response_schema(path, method, status)
        assert schema is not None, f"{self.name}: {method.upper()} {path} {status} has no body"
        validate_body(schema, body, f"{self.name}: {method.upper()} {path} {status}")

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            parts = node["$ref"].removeprefix("#/").split("/")
            target: Any = self.raw
            for part in parts:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node


def validate_body(schema: dict[str, Any], body: Any, where: str) -> None:
    """Assert that ``body`` is valid against the draft-4 ``schema``, listing every error."""
    Draft4Validator.check_schema(schema)
    validator = Draft4Validator(schema, format_checker=FORMATS)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  at {e.json_path}: {e.message}" for e in errors]
        raise AssertionError(f"{where}: response body is invalid\n" + "\n".join(lines))


def _convert(node: Any) -> Any:
    """An OpenAPI / Swagger schema object as draft-4 JSON Schema (a new object)."""
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return copy.deepcopy(node)
    if "$ref" in node:
        ref = str(node["$ref"])
        for prefix in ("#/components/schemas/", "#/definitions/"):
            name = ref.removeprefix(prefix)
            if name != ref and "/" not in name:
                return {"$ref": f"#/definitions/{name}"}  # siblings of $ref are ignored (OAS)
        raise ValueError(f"unsupported schema reference {ref}")
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _convert(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS or key in _SCHEMA_VALUES:
            out[key] = _convert(value)
        else:
            out[key] = copy.deepcopy(value)
    if "type" not in out and "properties" in out:
        out["type"] = "object"
    if node.get("nullable") or node.get("x-nullable"):
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out
