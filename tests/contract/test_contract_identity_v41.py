"""Contract of Identity v4.1: concur-openapi/identity-v4.1.json, served at /profile/identity/v4.1.

Every operation the file documents gets a realistic request; the answer must carry the
documented success status and a body valid against the documented response schema
(support/openapi.py: JSON Schema draft 4, checked by ``jsonschema``). Documented errors are
exercised where cheap: 404 for an unknown id, 400 for a bad filter, a refused parameter or a
bad body, 401 for a bad token.

Where the file is wrong or contradicts reference/concur-v4.md, we follow the reference:
- ``SearchRequest`` has no ``schemas`` in the file; §4.2 says it is required and names
  ``urn:ietf:params:scim:api:messages:concur:2.0:SearchRequest``: our searches send it.
- ``/Schemas/{id}`` ids are ``com:concur:cte:user:2.0``/``…:company:2.0`` in the file; the
  reference's example (§4.1) uses ``urn:ietf:params:scim:schemas:core:2.0:User``.
- ``/Schemas`` and ``/Schemas/{id}`` document no body; we check RFC 7643 §7 with §4.4's metadata.
- ``ResourceType`` requires ``attributes``, which RFC 7643 §6 does not define and §4.4 omits.
- ``authenticationSchemes`` is one object in the file; RFC 7643 §5 makes it multi-valued.
- ``emergencyContacts`` and ``leavesOfAbsence`` put ``maxLength`` on arrays (a no-op in JSON
  Schema); §6.1 says at most 1 contact and §6.2 at most 100 leaves: we check ``maxItems``.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from support.contract import (
    BAD_TOKEN,
    CONCUR_SEARCH,
    SCHEMA_LIST,
    SCHEMA_RESOURCE,
    UNKNOWN_ID,
    Case,
    check,
    concur_user,
    create_user,
    create_user_request,
    delete_user_request,
    documented_operations,
    exercised_operations,
    fix_identity_spec,
    get_user_request,
    patch_user_request,
    put_user_request,
    user_patch,
    without_user_name,
)
from support.openapi import OpenApiFile

SPEC = OpenApiFile("identity-v4.1.json", fix=fix_identity_spec)
CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def _search(**fields: Any) -> dict[str, Any]:
    # concur-openapi's SearchRequest has no schemas; reference §4.2 says required: we send it
    return {"schemas": [CONCUR_SEARCH], **fields}


def _first_page(client: TestClient, root: str) -> Response:
    for _ in range(3):
        create_user(client, root)
    return client.get(f"{root}/Users", params={"count": 2})


def _next_page(client: TestClient, root: str) -> Response:
    for _ in range(3):
        create_user(client, root)
    first = client.get(f"{root}/Users", params={"count": 2}).json()
    return client.get(f"{root}/Users", params={"count": 2, "cursor": first["nextCursor"]})


def _search_users(client: TestClient, root: str) -> Response:
    created = create_user(client, root)
    create_user(client, root, active=False)
    flt = f'name.familyName eq "{created["name"]["familyName"]}" and active eq true'
    return client.post(f"{root}/Users/.search", json=_search(filter=flt, count=10))


def _search_pages(client: TestClient, root: str) -> Response:
    for _ in range(3):
        create_user(client, root)
    body = _search(filter='emails.value ew "@example.com"', count=2)
    first = client.post(f"{root}/Users/.search", json=body).json()
    return client.post(f"{root}/Users/.search", json={**body, "cursor": first["nextCursor"]})


def _one_schema(client: TestClient, root: str) -> Response:
    # concur-openapi says ids are com:concur:cte:user:2.0; reference §4.1 says the core URN
    return client.get(f"{root}/Schemas/{CORE_USER_SCHEMA}")


CASES = [
    Case("GET /Users", 200, _first_page, label="first page"),
    Case("GET /Users", 200, _next_page, label="next cursor page"),
    Case("POST /Users", 200, create_user_request),
    Case("GET /Users/{id}", 200, get_user_request),
    Case("PATCH /Users/{id}", 200, patch_user_request),
    Case("PUT /Users/{id}", 200, put_user_request),
    Case("DELETE /Users/{id}", 204, delete_user_request),
    Case("POST /Users/.search", 200, _search_users),
    Case("POST /Users/.search", 200, _search_pages, label="next cursor page"),
    # concur-openapi documents no body; reference §4.4 names the metadata: RFC 7643 §7
    Case("GET /Schemas", 200, lambda c, r: c.get(f"{r}/Schemas"), fallback=SCHEMA_LIST),
    Case("GET /Schemas/{id}", 200, _one_schema, fallback=SCHEMA_RESOURCE),
    Case("GET /ServiceProviderConfig", 200, lambda c, r: c.get(f"{r}/ServiceProviderConfig")),
    Case("GET /ResourceTypes", 200, lambda c, r: c.get(f"{r}/ResourceTypes")),
]

ERROR_CASES = [
    Case("GET /Users/{id}", 404, lambda c, r: c.get(f"{r}/Users/{UNKNOWN_ID}")),
    Case(
        "PATCH /Users/{id}", 404, lambda c, r: c.patch(f"{r}/Users/{UNKNOWN_ID}", json=user_patch())
    ),
    Case("PUT /Users/{id}", 404, lambda c, r: c.put(f"{r}/Users/{UNKNOWN_ID}", json=concur_user())),
    Case("DELETE /Users/{id}", 404, lambda c, r: c.delete(f"{r}/Users/{UNKNOWN_ID}")),
    Case("GET /Schemas/{id}", 404, lambda c, r: c.get(f"{r}/Schemas/urn:example:unknown")),
    Case(
        "GET /Users",
        400,
        lambda c, r: c.get(f"{r}/Users", params={"startIndex": 1}),
        label="startIndex refused",
    ),
    Case(
        "GET /Users",
        400,
        lambda c, r: c.get(f"{r}/Users", params={"filter": 'userName eq "x"'}),
        label="no filter on GET",
    ),
    Case(
        "POST /Users/.search",
        400,
        lambda c, r: c.post(f"{r}/Users/.search", json=_search(filter='userName eq "x" and')),
        label="bad filter",
    ),
    Case(
        "POST /Users/.search",
        400,
        lambda c, r: c.post(f"{r}/Users/.search", json={"filter": 'userName eq "x"'}),
        label="no schemas",
    ),
    Case(
        "POST /Users",
        400,
        lambda c, r: c.post(f"{r}/Users", json=without_user_name()),
        label="no userName",
    ),
    Case("GET /Users", 401, lambda c, r: c.get(f"{r}/Users", headers=BAD_TOKEN), label="bad token"),
    Case(
        "POST /Users/.search",
        401,
        lambda c, r: c.post(f"{r}/Users/.search", json=_search(), headers=BAD_TOKEN),
        label="bad token",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_operation_answers_as_documented(client: TestClient, case: Case) -> None:
    """Each documented operation answers its success status with a body its schema accepts."""
    check(SPEC, case, client)


@pytest.mark.parametrize("case", ERROR_CASES, ids=str)
def test_documented_error_answers_as_documented(client: TestClient, case: Case) -> None:
    """A documented error status comes with a body the file's ErrorResponse schema accepts."""
    check(SPEC, case, client)


def test_every_documented_operation_is_exercised() -> None:
    """The cases above exercise exactly the operations identity-v4.1.json documents."""
    assert exercised_operations(CASES, SPEC) == documented_operations(SPEC)
