"""Contract of SCIM v4: concur-openapi/scim-v4.json, served at /scim/v4.

Every operation the file documents gets a realistic request; the answer must carry the
documented success status and a body valid against the documented response schema
(support/openapi.py: JSON Schema draft 4, checked by ``jsonschema``). Documented errors are
exercised where cheap: 404 for an unknown (or soft-deleted) id, 400 for a bad filter or body,
401 for a bad token.

Where the file is wrong or contradicts reference/concur-v4.md, we follow the reference:
- The file says ``"swagger": "2.0"`` but is written as OpenAPI 3.0; it is read as 3.0.
- ``POST /Users`` answers 200 in the file, 201 in the reference (§5, §9 item 2).
- ``GET /Users`` ``count`` maximum is 100 in the file, 1000 in the reference (§4.2, §9 item 8).
- ``Group`` forbids every property it does not list, ``schemas`` included; RFC 7643 §3 requires
  ``schemas`` on every resource: we allow it.
- ``members`` requires ``member``, a property it also forbids (a typo: unsatisfiable); §6.16
  says a member is ``{value (required), $ref}``: we require ``value``.
- ``PatchOperation.value`` is typed ``object``; a member ``add`` carries an array of members
  (RFC 7644 §3.5.2.1, §5's member PATCH): our PATCH bodies send the array.
- ``/Schemas`` documents no body; we check RFC 7643 §7 with §4.4's attribute metadata.
- ``authenticationSchemes`` is one object in the file; RFC 7643 §5 makes it multi-valued.
- ``emergencyContacts`` puts ``maxLength`` on an array (a no-op in JSON Schema); §6.1 says at
  most 1 contact: we check ``maxItems``.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from support.contract import (
    BAD_TOKEN,
    SCHEMA_LIST,
    UNKNOWN_ID,
    Case,
    check,
    concur_user,
    create_user,
    create_user_request,
    delete_user_request,
    documented_operations,
    exercised_operations,
    get_user_request,
    patch_user_request,
    put_user_request,
    user_patch,
    without_user_name,
)
from support.factories import PATCH_OP
from support.openapi import OpenApiFile

SAP_GROUP = "urn:ietf:params:scim:schemas:extension:sap:2.0:Group"
SHORT_EMPLOYEE_NUMBER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:employeeNumber"


def _fix(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    # concur-openapi's Group forbids "schemas"; RFC 7643 §3 requires it on every resource
    schemas["Group"]["properties"]["schemas"] = {"type": "array", "items": {"type": "string"}}
    # concur-openapi says members require "member" (forbidden too); reference §6.16 says value
    schemas["members"]["required"] = ["value"]
    # concur-openapi says authenticationSchemes is one object; RFC 7643 §5 says multi-valued
    auth = schemas["AuthenticationSchemes"]
    schemas["AuthenticationSchemes"] = {"type": "array", "minItems": 1, "items": auth}
    user = schemas["User"]["properties"]
    # concur-openapi says maxLength 1 on an array; reference §6.1 says at most 1: maxItems
    user["emergencyContacts"] = {**user["emergencyContacts"], "maxItems": 1}


# concur-openapi says "swagger": "2.0" but is OpenAPI 3.0 inside: the loader reads it as 3.0
SPEC = OpenApiFile("scim-v4.json", fix=_fix)


def _group_id(client: TestClient, root: str, display_name: str = "Expense Approver") -> str:
    flt = f'displayName eq "{display_name}"'
    found = client.get(f"{root}/Groups", params={"filter": flt}).json()
    group_id: str = found["Resources"][0]["id"]
    return group_id


def _members(client: TestClient, root: str, count: int = 1) -> list[dict[str, str]]:
    ids = [create_user(client, root)["id"] for _ in range(count)]
    return [{"value": i, "$ref": f"{client.base_url}{root}/Users/{i}"} for i in ids]


def _add_members(members: list[dict[str, str]]) -> dict[str, Any]:
    # concur-openapi types PatchOperation.value as an object; RFC 7644 adds members as an array
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": members}],
    }


def _list_groups(client: TestClient, root: str) -> Response:
    group = _group_id(client, root)
    added = client.patch(f"{root}/Groups/{group}", json=_add_members(_members(client, root)))
    assert added.status_code == 204, added.text
    return client.get(f"{root}/Groups", params={"startIndex": 1, "count": 100})


def _filter_groups(client: TestClient, root: str) -> Response:
    flt = f'{SAP_GROUP}:type eq "authorization"'
    return client.get(f"{root}/Groups", params={"filter": flt, "startIndex": 2, "count": 5})


def _get_group(client: TestClient, root: str) -> Response:
    group = _group_id(client, root)
    added = client.patch(f"{root}/Groups/{group}", json=_add_members(_members(client, root, 3)))
    assert added.status_code == 204, added.text
    params = {"members.startIndex": 2, "members.count": 100}
    return client.get(f"{root}/Groups/{group}", params=params)


def _put_group(client: TestClient, root: str) -> Response:
    group = _group_id(client, root)
    return client.put(f"{root}/Groups/{group}", json={"members": _members(client, root, 2)})


def _patch_group(client: TestClient, root: str) -> Response:
    group = _group_id(client, root)
    return client.patch(f"{root}/Groups/{group}", json=_add_members(_members(client, root)))


def _list_users(client: TestClient, root: str) -> Response:
    for _ in range(3):
        create_user(client, root)
    # concur-openapi says count maximum 100; reference §4.2 says 1000: we follow the reference
    return client.get(f"{root}/Users", params={"startIndex": 2, "count": 500})


def _cursor_users(client: TestClient, root: str) -> Response:
    for _ in range(3):
        create_user(client, root)
    first = client.get(f"{root}/Users", params={"cursor": "", "count": 2}).json()
    return client.get(f"{root}/Users", params={"cursor": first["nextCursor"], "count": 2})


def _filter_users(client: TestClient, root: str) -> Response:
    created = create_user(client, root)
    create_user(client, root)
    number = created["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"]
    return client.get(f"{root}/Users", params={"filter": f'{SHORT_EMPLOYEE_NUMBER} eq "{number}"'})


def _get_deleted_user(client: TestClient, root: str) -> Response:
    user = create_user(client, root)["id"]
    assert client.delete(f"{root}/Users/{user}").status_code == 204
    return client.get(f"{root}/Users/{user}")


CASES = [
    Case("GET /Groups", 200, _list_groups),
    Case("GET /Groups", 200, _filter_groups, label="filter on the SAP type"),
    Case("GET /Groups/{id}", 200, _get_group),
    Case("PUT /Groups/{id}", 200, _put_group),
    Case("PATCH /Groups/{id}", 204, _patch_group),
    Case("GET /Users", 200, _list_users),
    Case("GET /Users", 200, _cursor_users, label="cursor"),
    Case("GET /Users", 200, _filter_users, label="filter on employeeNumber"),
    # concur-openapi says POST /Users answers 200; reference §5 says 201: we follow the reference
    Case("POST /Users", 201, create_user_request, documented=200),
    Case("PUT /Users/{id}", 200, put_user_request),
    Case("GET /Users/{id}", 200, get_user_request),
    Case("PATCH /Users/{id}", 200, patch_user_request),
    Case("DELETE /Users/{id}", 204, delete_user_request),
    # concur-openapi documents no body; reference §4.4 names the metadata: RFC 7643 §7
    Case("GET /Schemas", 200, lambda c, r: c.get(f"{r}/Schemas"), fallback=SCHEMA_LIST),
    Case("GET /ServiceProviderConfig", 200, lambda c, r: c.get(f"{r}/ServiceProviderConfig")),
]

ERROR_CASES = [
    Case("GET /Groups/{id}", 404, lambda c, r: c.get(f"{r}/Groups/{UNKNOWN_ID}")),
    Case(
        "PUT /Groups/{id}",
        404,
        lambda c, r: c.put(f"{r}/Groups/{UNKNOWN_ID}", json={"members": []}),
    ),
    Case(
        "PATCH /Groups/{id}",
        404,
        lambda c, r: c.patch(f"{r}/Groups/{UNKNOWN_ID}", json=_add_members([])),
    ),
    Case("GET /Users/{id}", 404, lambda c, r: c.get(f"{r}/Users/{UNKNOWN_ID}")),
    Case("GET /Users/{id}", 404, _get_deleted_user, label="soft-deleted"),
    Case("PUT /Users/{id}", 404, lambda c, r: c.put(f"{r}/Users/{UNKNOWN_ID}", json=concur_user())),
    Case(
        "PATCH /Users/{id}", 404, lambda c, r: c.patch(f"{r}/Users/{UNKNOWN_ID}", json=user_patch())
    ),
    Case("DELETE /Users/{id}", 404, lambda c, r: c.delete(f"{r}/Users/{UNKNOWN_ID}")),
    Case(
        "GET /Groups",
        400,
        lambda c, r: c.get(f"{r}/Groups", params={"filter": 'displayName eq "x" and'}),
        label="bad filter",
    ),
    Case(
        "GET /Users",
        400,
        lambda c, r: c.get(f"{r}/Users", params={"filter": 'userName eq "x" and'}),
        label="bad filter",
    ),
    Case(
        "POST /Users",
        400,
        lambda c, r: c.post(f"{r}/Users", json=without_user_name()),
        label="no userName",
    ),
    Case(
        "GET /Groups", 401, lambda c, r: c.get(f"{r}/Groups", headers=BAD_TOKEN), label="bad token"
    ),
    Case("GET /Users", 401, lambda c, r: c.get(f"{r}/Users", headers=BAD_TOKEN), label="bad token"),
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
    """The cases above exercise exactly the operations scim-v4.json documents."""
    assert exercised_operations(CASES, SPEC) == documented_operations(SPEC)
