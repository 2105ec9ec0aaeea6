"""Contract of Identity v4: concur-openapi/identity-v4.json, served at /profile/identity/v4.

Every operation the file documents gets a realistic request; the answer must carry the
documented success status and a body valid against the documented response schema
(support/openapi.py: JSON Schema draft 4, checked by ``jsonschema``). Documented errors are
exercised where cheap: 404 for an unknown id, 400 for a bad filter or body, 401 for a bad token.

Where the file is wrong or contradicts reference/concur-v4.md, we follow the reference:
- ``count`` maximum is 20 in the file, 100 in the reference (§4.2, §9 item 8).
- ``/Schemas/{id}`` ids are ``com:concur:cte:user:2.0``/``…:company:2.0`` in the file; the
  reference's example (§4.1) uses ``urn:ietf:params:scim:schemas:core:2.0:User``.
- ``/Schemas`` and ``/Schemas/{id}`` document no body; we check RFC 7643 §7 with §4.4's metadata.
- ``ResourceType`` requires ``attributes``, which RFC 7643 §6 does not define and §4.4 omits.
- ``authenticationSchemes`` is one object in the file; RFC 7643 §5 makes it multi-valued.
- ``emergencyContacts`` and ``leavesOfAbsence`` put ``maxLength`` on arrays (a no-op in JSON
  Schema); §6.1 says at most 1 contact and §6.2 at most 100 leaves: we check ``maxItems``.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from support.contract import (
    BAD_TOKEN,
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
from support.factories import ENTERPRISE
from support.openapi import OpenApiFile

SPEC = OpenApiFile("identity-v4.json", fix=fix_identity_spec)
CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def _list_users(client: TestClient, root: str) -> Response:
    for _ in range(3):
        create_user(client, root)
    # concur-openapi says count maximum 20; reference §4.2 says 100: we follow the reference
    return client.get(f"{root}/Users", params={"startIndex": 2, "count": 100})


def _filter_users(client: TestClient, root: str) -> Response:
    created = create_user(client, root)
    create_user(client, root)
    number = created[ENTERPRISE]["employeeNumber"]
    return client.get(f"{root}/Users", params={"filter": f'employeeNumber eq "{number}"'})


def _one_schema(client: TestClient, root: str) -> Response:
    # concur-openapi says ids are com:concur:cte:user:2.0; reference §4.1 says the core URN
    return client.get(f"{root}/Schemas/{CORE_USER_SCHEMA}")


CASES = [
    Case("GET /Users", 200, _list_users),
    Case("GET /Users", 200, _filter_users, label="filter"),
    Case("POST /Users", 200, create_user_request),
    Case("GET /Users/{id}", 200, get_user_request),
    Case("PATCH /Users/{id}", 200, patch_user_request),
    Case("PUT /Users/{id}", 200, put_user_request),
    Case("DELETE /Users/{id}", 204, delete_user_request),
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
        lambda c, r: c.get(f"{r}/Users", params={"filter": 'userName eq "x" and'}),
        label="bad filter",
    ),
    Case(
        "GET /Users",
        400,
        lambda c, r: c.get(f"{r}/Users", params={"filter": 'userName co "x"'}),
        label="operator other than eq",
    ),
    Case(
        "POST /Users",
        400,
        lambda c, r: c.post(f"{r}/Users", json=without_user_name()),
        label="no userName",
    ),
    Case("GET /Users", 401, lambda c, r: c.get(f"{r}/Users", headers=BAD_TOKEN), label="bad token"),
    Case(
        "GET /Users/{id}",
        401,
        lambda c, r: c.get(f"{r}/Users/{UNKNOWN_ID}", headers=BAD_TOKEN),
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
    """The cases above exercise exactly the operations identity-v4.json documents."""
    assert exercised_operations(CASES, SPEC) == documented_operations(SPEC)
