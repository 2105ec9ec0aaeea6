"""What the contract tests (tests/contract/) share: cases, the check, realistic request bodies.

A :class:`Case` sends one realistic request for one documented operation and names the status
it expects; :func:`check` asserts that status and validates the body against the schema the
OpenAPI file documents for it (support/openapi.py). Where the file documents no body for a
success, the case names the schema it is checked against instead (``fallback``), and the test
module says why.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

from support.factories import ENTERPRISE, PATCH_OP
from support.openapi import OpenApiFile, validate_body

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SAP_USER = "urn:ietf:params:scim:schemas:extension:sap:2.0:User"
CONCUR_SEARCH = "urn:ietf:params:scim:api:messages:concur:2.0:SearchRequest"
BAD_TOKEN = {"Authorization": "Bearer not-the-token"}
UNKNOWN_ID = "0b9c6f0e-4f5e-4a8e-9d55-1c2f3a4b5c6d"

Send = Callable[[TestClient, str], Response]

_n = itertools.count(1)


@dataclass(frozen=True)
class Case:
    """One request for one documented operation (``"GET /Users/{id}"``) and what it answers.

    ``documented`` is the file's status key when we answer a different one on purpose (the
    reference wins); ``fallback`` is the schema to validate against when the file documents
    no body for a success; ``label`` tells apart several cases of one operation.
    """

    op: str
    status: int
    send: Send
    documented: int | None = None
    fallback: dict[str, Any] | None = None
    label: str = ""

    @property
    def method(self) -> str:
        """The HTTP method, lower case."""
        return self.op.split(" ", 1)[0].lower()

    @property
    def path(self) -> str:
        """The path template as the file spells it."""
        return self.op.split(" ", 1)[1]

    def __str__(self) -> str:
        suffix = f" ({self.label})" if self.label else ""
        return f"{self.op} -> {self.status}{suffix}"


def check(spec: OpenApiFile, case: Case, client: TestClient) -> None:
    """Send ``case`` to the server under the file's base path and hold the answer to the file."""
    response = case.send(client, spec.base_path)
    assert response.status_code == case.status, response.text
    where = f"{spec.name}: {case}"
    schema = spec.response_schema(case.path, case.method, case.documented or case.status)
    if schema is None and case.fallback is not None:
        schema = case.fallback
    if schema is None:
        assert response.content == b"", f"{where}: documented without a body"
        return
    validate_body(schema, response.json(), where)


def documented_operations(spec: OpenApiFile) -> set[str]:
    """``"METHOD /path"`` of every operation ``spec`` documents."""
    return {str(op) for op in spec.operations()}


def exercised_operations(cases: list[Case], spec: OpenApiFile) -> set[str]:
    """The operations ``cases`` exercise with the file's own success status (or its stand-in)."""
    out = set()
    for case in cases:
        op = spec.operation(case.path, case.method)
        if (case.documented or case.status) == op.success:
            out.add(case.op)
    return out


def concur_user(**overrides: Any) -> dict[str, Any]:
    """A create body as SAP IPS sends it (reference §5), valid for every Concur API (§6)."""
    n = next(_n)
    body: dict[str, Any] = {
        "schemas": [CORE_USER, SAP_USER, ENTERPRISE],
        "userName": f"contract{n}@example.com",
        "externalId": f"ext-contract-{n}",
        "active": True,
        "displayName": f"Given{n} Family{n}",
        "title": "Buyer",
        "name": {"givenName": f"Given{n}", "familyName": f"Family{n}"},
        "emails": [{"value": f"contract{n}@example.com", "type": "work"}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
        "addresses": [{"type": "work", "locality": "Bellevue", "region": "WA", "country": "US"}],
        ENTERPRISE: {"employeeNumber": f"C{n:05d}", "department": "Sales", "costCenter": "CC1"},
        SAP_USER: {"userUuid": f"00000000-0000-4000-8000-{n:012d}"},
    }
    body.update(overrides)
    return body


def without_user_name() -> dict[str, Any]:
    """A create body that lacks the required ``userName`` (a 400 everywhere)."""
    body = concur_user()
    del body["userName"]
    return body


def create_user(client: TestClient, root: str, **overrides: Any) -> dict[str, Any]:
    """A user created through ``root``; its body as the server answered."""
    response = client.post(f"{root}/Users", json=concur_user(**overrides))
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def user_patch() -> dict[str, Any]:
    """A PatchOp that Concur's docs show: replace a title, add a nickname (§6.15)."""
    return {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "path": "title", "value": "Senior Buyer"},
            {"op": "add", "path": "nickName", "value": "Bobby"},
        ],
    }


def replacement(read: dict[str, Any]) -> dict[str, Any]:
    """A PUT body as IPS builds it from what it read: everything back, one value changed."""
    body = {k: v for k, v in read.items() if k not in ("id", "meta")}
    body["title"] = "Director"
    return body


# RFC 7643 §7 schema resources, with the attribute metadata of reference §4.4 (which adds
# ``maxLength``): used where Concur's files document ``/Schemas`` without a body schema.
_ATTRIBUTE: dict[str, Any] = {
    "type": "object",
    "required": ["name", "type", "multiValued"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "type": {
            "enum": [
                "string",
                "boolean",
                "decimal",
                "integer",
                "dateTime",
                "binary",
                "reference",
                "complex",
            ]
        },
        "multiValued": {"type": "boolean"},
        "description": {"type": "string"},
        "required": {"type": "boolean"},
        "canonicalValues": {"type": "array"},
        "caseExact": {"type": "boolean"},
        "mutability": {"enum": ["readOnly", "readWrite", "immutable", "writeOnly"]},
        "returned": {"enum": ["always", "never", "default", "request"]},
        "uniqueness": {"enum": ["none", "server", "global"]},
        "referenceTypes": {"type": "array", "items": {"type": "string"}},
        "maxLength": {"type": "integer", "minimum": 0},
        "subAttributes": {"type": "array", "items": {"$ref": "#/definitions/attribute"}},
    },
}
SCHEMA_RESOURCE: dict[str, Any] = {
    "definitions": {
        "attribute": _ATTRIBUTE,
        "schema": {
            "type": "object",
            "required": ["schemas", "id", "attributes"],
            "properties": {
                "schemas": {
                    "type": "array",
                    "items": {"enum": ["urn:ietf:params:scim:schemas:core:2.0:Schema"]},
                },
                "id": {"type": "string", "pattern": "^urn:"},
                "name": {"type": "string"},
                "description": {"type": "string"},
                "attributes": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": "#/definitions/attribute"},
                },
                "meta": {
                    "type": "object",
                    "required": ["resourceType", "location"],
                    "properties": {
                        "resourceType": {"enum": ["Schema"]},
                        "location": {"type": "string"},
                    },
                },
            },
        },
    },
    "allOf": [{"$ref": "#/definitions/schema"}],
}
SCHEMA_LIST: dict[str, Any] = {
    "definitions": SCHEMA_RESOURCE["definitions"],
    "type": "object",
    "required": ["schemas", "totalResults", "Resources"],
    "properties": {
        "schemas": {
            "type": "array",
            "items": {"enum": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]},
        },
        "totalResults": {"type": "integer"},
        "Resources": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/schema"}},
    },
}


def fix_identity_spec(doc: dict[str, Any]) -> None:
    """Correct the schema errors Identity v4 and v4.1's files share (each says which)."""
    schemas = doc["components"]["schemas"]
    # concur-openapi says ResourceType requires "attributes"; RFC 7643 §6 has no such attribute
    schemas["ResourceType"]["required"].remove("attributes")
    # concur-openapi says authenticationSchemes is one object; RFC 7643 §5 says multi-valued
    auth = schemas["AuthenticationSchemes"]
    schemas["AuthenticationSchemes"] = {"type": "array", "minItems": 1, "items": auth}
    user = schemas["User"]["properties"]
    # concur-openapi says maxLength 1 on an array; reference §6.1 says at most 1: maxItems
    user["emergencyContacts"] = {**user["emergencyContacts"], "maxItems": 1}
    leaves = user[ENTERPRISE]["properties"]["leavesOfAbsence"]
    # concur-openapi says maxLength 100 on an array; reference §6.2 says max 100 items: maxItems
    leaves["maxItems"] = 100


# Request builders the three contract modules share, one per documented User operation.


def create_user_request(client: TestClient, root: str) -> Response:
    """POST a new valid user."""
    return client.post(f"{root}/Users", json=concur_user())


def get_user_request(client: TestClient, root: str) -> Response:
    """GET a freshly created user."""
    return client.get(f"{root}/Users/{create_user(client, root)['id']}")


def patch_user_request(client: TestClient, root: str) -> Response:
    """PATCH a freshly created user."""
    return client.patch(f"{root}/Users/{create_user(client, root)['id']}", json=user_patch())


def put_user_request(client: TestClient, root: str) -> Response:
    """PUT back a freshly created user as read, with changes."""
    read = client.get(f"{root}/Users/{create_user(client, root)['id']}").json()
    return client.put(f"{root}/Users/{read['id']}", json=replacement(read))


def delete_user_request(client: TestClient, root: str) -> Response:
    """DELETE a freshly created user."""
    return client.delete(f"{root}/Users/{create_user(client, root)['id']}")
