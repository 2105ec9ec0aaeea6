"""Contract of User Provisioning v4: concur-openapi/user-provisioning-v4.json, at /profile/v4.

Every operation the file documents gets a realistic request; the answer must carry the
documented success status and a body valid against the documented response schema
(support/openapi.py: JSON Schema draft 4, checked by ``jsonschema``). The legacy prefix
``/provisioning/v4`` (reference §3.1, §9 item 1) answers the same contract. A ``/Bulk``
request is resolved by the worker that runs inside the test application: its status is
polled until ``status.completed`` before the completed status is checked. Documented errors
are exercised where cheap: 404 for an unknown id, 400 for a bad body, parameter or company,
401 for a bad token.

Where the file is wrong or contradicts reference/concur-v4.md, we follow the reference:
- ``ProvisionStatus.status.success`` is a boolean; §3.4 says it is ``null`` while pending
  (the 202 answer).
- ``operations[].extensions[].messages`` is one object; §3.4 says ``messages[]``, an array.
- The error bodies type ``messages[].type`` as an array of ``"error"``; §4.5 says it is one
  string, ``"error"`` or ``"warning"``.
- ``authenticationSchemes`` is one object in the file; RFC 7643 §5 makes it multi-valued.
- ``/ResourceTypes`` and ``/ResourceTypes/{id}`` document no body; §3.7 and §9 item 23 say a
  bare array of RFC 7643 §6 ResourceTypes (and one of them for ``{id}``): we check that.
- ``/Schemas`` and ``/Schemas/{id}`` document no body; we check RFC 7643 §7 with §4.4's metadata.
- ``BulkRequest`` allows only POST, PUT, PATCH on path ``/Users``; §3.3 accepts DELETE and
  ``/Users/{uuid}`` (PUT, PATCH, DELETE), as Concur's own examples send: our bodies do too.
- ``User`` requires ``timezone``, ``preferredLanguage`` and enterprise ``startDate``; §6.1 and
  §6.2 make them optional with defaults. Our requests leave them out; our answers carry the
  defaults, so the response schema holds as written.
- ``POST /Users/.search`` (User Retrieval v4) is not in the file; §3.1 and Concur's User
  Retrieval v4 page document it: we add it, answering a ListResponse of the file's ``User``
  counted by ``total`` (§9 item 10, no ``totalResults``) and paged by ``nextCursor``, with the
  file's error bodies.
- A search result holds the ``attributes`` asked for and ``id`` (the page's own example), so
  it requires ``id`` only; a search without ``attributes`` is held to ``User`` as written.
- ``SpendRole`` types ``roles[].roleName`` as an object; §6.6 says a role code, a string.
- ``SpendUser`` types ``reimbursementType`` as an object; its own enum and §6.5 say a string.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

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
    documented_operations,
    exercised_operations,
    replacement,
    user_patch,
    without_user_name,
)
from support.factories import ENTERPRISE
from support.openapi import OpenApiFile, validate_body

LEGACY = "/provisioning/v4"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
CONCUR_ERROR = "urn:ietf:params:scim:api:messages:concur:2.0:Error"
SPEND_USER = "urn:ietf:params:scim:schemas:extension:spend:2.0:User"
SPEND_ROLE = "urn:ietf:params:scim:schemas:extension:spend:2.0:Role"
PAYROLL = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:Payroll"
TRAVEL_USER = "urn:ietf:params:scim:schemas:extension:travel:2.0:User"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
DEADLINE_SECONDS = 120.0

# RFC 7643 §6 ResourceType, with §3.7's values: where the file documents no body.
_RESOURCE_TYPE: dict[str, Any] = {
    "type": "object",
    "required": ["schemas", "id", "name", "endpoint", "schema", "schemaExtensions", "meta"],
    "properties": {
        "schemas": {"type": "array", "items": {"enum": [RESOURCE_TYPE_URN]}},
        "id": {"enum": ["User"]},
        "name": {"enum": ["User"]},
        "endpoint": {"enum": ["/Users"]},
        "description": {"type": "string"},
        "schema": {"enum": [CORE_USER_SCHEMA]},
        "schemaExtensions": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["schema", "required"],
                "properties": {
                    "schema": {"type": "string", "pattern": "^urn:"},
                    "required": {"type": "boolean"},
                },
            },
        },
        "meta": {
            "type": "object",
            "required": ["resourceType", "location"],
            "properties": {
                "resourceType": {"enum": ["ResourceType"]},
                "location": {"type": "string", "pattern": "/ResourceTypes/User$"},
            },
        },
    },
}
RESOURCE_TYPE: dict[str, Any] = {
    "definitions": {"resourceType": _RESOURCE_TYPE},
    "allOf": [{"$ref": "#/definitions/resourceType"}],
}
RESOURCE_TYPES: dict[str, Any] = {
    "definitions": RESOURCE_TYPE["definitions"],
    "type": "array",
    "minItems": 1,
    "items": {"$ref": "#/definitions/resourceType"},
}


def _fix(doc: dict[str, Any]) -> None:
    _add_user_retrieval(doc)
    status = doc["definitions"]["ProvisionStatus"]["properties"]
    # concur-openapi says status.success is a boolean; reference §3.4 says null while pending
    status["status"]["properties"]["success"]["x-nullable"] = True
    extension = status["operations"]["items"]["properties"]["extensions"]["items"]
    messages = extension["properties"]["messages"]
    # concur-openapi says messages is one object; reference §3.4 says messages[] (an array)
    extension["properties"]["messages"] = {"type": "array", "items": messages}
    spc = doc["definitions"]["ServiceProviderConfig"]["properties"]
    # concur-openapi says authenticationSchemes is one object; RFC 7643 §5 says multi-valued
    spc["authenticationSchemes"] = {
        "type": "array",
        "minItems": 1,
        "items": {"type": "object", **spc["authenticationSchemes"]},
    }
    for item in doc["paths"].values():
        for op in item.values():
            for code, response in op.get("responses", {}).items():
                if code.startswith("2"):
                    continue
                error = response["schema"]["properties"][CONCUR_ERROR]["properties"]
                kind = error["messages"]["items"]["properties"]
                # concur-openapi says type is an array of "error"; §4.5 says "error"|"warning"
                kind["type"] = {"type": "string", "enum": ["error", "warning"]}


def _add_user_retrieval(doc: dict[str, Any]) -> None:
    definitions = doc["definitions"]
    roles = definitions["SpendRole"]["properties"]["roles"]["items"]["properties"]
    # concur-openapi says roleName is an object; reference §6.6 says a role code (a string)
    roles["roleName"] = {**roles["roleName"], "type": "string"}
    spend = definitions["SpendUser"]["properties"]
    # concur-openapi says reimbursementType is an object; its enum and §6.5 say a string
    spend["reimbursementType"] = {**spend["reimbursementType"], "type": "string"}
    # concur-openapi has no search result; the User Retrieval page's example answers the asked
    # attributes and id: a User that requires id only
    definitions["SearchResult"] = {**definitions["User"], "required": ["id"]}
    errors = {
        code: copy.deepcopy(response)
        for code, response in doc["paths"]["/Bulk"]["post"]["responses"].items()
        if code in ("400", "401", "500", "503")
    }
    # concur-openapi documents no /Users/.search; reference §3.1 and the User Retrieval page do
    doc["paths"]["/Users/.search"] = {
        "post": {"responses": {"200": {"description": "OK", "schema": SEARCH_RESPONSE}, **errors}}
    }


SEARCH_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["schemas", "total", "itemsPerPage", "Resources"],
    "properties": {
        "schemas": {"type": "array", "items": {"enum": [LIST_RESPONSE]}},
        "total": {"type": "integer", "minimum": 0},
        "itemsPerPage": {"type": "integer", "minimum": 0},
        "nextCursor": {"type": "string", "minLength": 1},
        "Resources": {"type": "array", "items": {"$ref": "#/definitions/SearchResult"}},
    },
    # §9 item 10: ``total`` in place of ``totalResults``
    "not": {"required": ["totalResults"]},
}
SPEC = OpenApiFile("user-provisioning-v4.json", fix=_fix)
Send = Callable[[TestClient, str], Response]


def _spend(currency: str = "USD") -> dict[str, Any]:
    """A Spend User extension (§6.5); a currency that is not 3 letters fails downstream."""
    return {"reimbursementCurrency": currency, "country": "US", "locale": "en-US"}


def _bulk(client: TestClient, root: str) -> dict[str, Any]:
    """A /Bulk body as Concur's examples build it (§3.3): a create with Spend, a PATCH, a PUT
    whose Spend extension fails, then a DELETE that failOnErrors leaves unprocessed."""
    patched, replaced, deleted = (create_user(client, root) for _ in range(3))
    return {
        "schemas": [BULK_REQUEST],
        "failOnErrors": 1,
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "new-user",
                "data": concur_user(**{SPEND_USER: _spend()}),
            },
            # concur-openapi's path enum is "/Users" only; reference §3.3 says /Users/{uuid}
            {"method": "PATCH", "path": f"/Users/{patched['id']}", "data": user_patch()},
            {
                "method": "PUT",
                "path": f"/Users/{replaced['id']}",
                "data": {**replacement(replaced), "id": replaced["id"], SPEND_USER: _spend("US")},
            },
            # concur-openapi's method enum lacks DELETE; reference §3.3 says accept it
            {"method": "DELETE", "path": f"/Users/{deleted['id']}"},
        ],
    }


def _submit(client: TestClient, root: str) -> Response:
    return client.post(f"{root}/Bulk", json=_bulk(client, root))


def _submit_for_company(client: TestClient, root: str) -> Response:
    """A /Bulk naming the caller's company, in the query (§3.1) and in the body (§6.2)."""
    company = create_user(client, root)[ENTERPRISE]["companyId"]
    body = _bulk(client, root)
    body["Operations"][0]["data"][ENTERPRISE]["companyId"] = company
    return client.post(f"{root}/Bulk", json=body, params={"companyId": company})


def _wait_until_completed(client: TestClient, root: str, provision_id: str) -> None:
    """Poll the status until the embedded worker has resolved ``provision_id``."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        response = client.get(f"{root}/provisions/{provision_id}/status")
        assert response.status_code == 200, response.text
        if response.json()["status"]["completed"] is True:
            return
        assert time.monotonic() < deadline, f"provision {provision_id} not completed in time"
        time.sleep(0.05)


def _completed_bulk(client: TestClient, root: str) -> str:
    submitted = _submit(client, root)
    assert submitted.status_code == 202, submitted.text
    provision_id: str = submitted.json()["id"]
    _wait_until_completed(client, root, provision_id)
    return provision_id


def _completed_status(client: TestClient, root: str) -> Response:
    provision_id = _completed_bulk(client, root)
    params = {"attributes": "operations"}
    return client.get(f"{root}/provisions/{provision_id}/status", params=params)


def _failed_operations(client: TestClient, root: str) -> Response:
    provision_id = _completed_bulk(client, root)
    # Two operations fail (a Spend error, then one failOnErrors stops): read the second page.
    params: dict[str, str | int] = {"attributes": "operations", "state": "failed"}
    params.update(startIndex=2, count=1)
    return client.get(f"{root}/provisions/{provision_id}/status", params=params)


def _user_status(client: TestClient, root: str) -> Response:
    created = create_user(client, root, **{SPEND_USER: _spend()})
    provision_id = created["meta"]["provisionId"]
    _wait_until_completed(client, root, provision_id)
    params = {"attributes": "operations"}
    return client.get(f"{root}/provisions/{provision_id}/status", params=params)


def _pending_status(client: TestClient, root: str) -> Response:
    submitted = _submit(client, root)
    assert submitted.status_code == 202, submitted.text
    return client.get(f"{root}/provisions/{submitted.json()['id']}/status")


def _bad_state(client: TestClient, root: str) -> Response:
    provision_id = _submit(client, root).json()["id"]
    params = {"attributes": "operations", "state": "done"}
    return client.get(f"{root}/provisions/{provision_id}/status", params=params)


def _put_user(client: TestClient, root: str) -> Response:
    created = create_user(client, root)
    return client.put(f"{root}/Users/{created['id']}", json=replacement(created))


def _patch_user(client: TestClient, root: str) -> Response:
    return client.patch(f"{root}/Users/{create_user(client, root)['id']}", json=user_patch())


def _delete_user(client: TestClient, root: str) -> Response:
    return client.delete(f"{root}/Users/{create_user(client, root)['id']}")


def _provisioned_user(client: TestClient, root: str) -> dict[str, Any]:
    """A user with identity, Spend User, Role, Payroll and Travel, once the worker applied
    them (the extensions the file's ``User`` carries)."""
    extensions = {
        SPEND_USER: {
            **_spend(),
            "cashAdvanceAccountCode": "CA1",
            "reimbursementType": "ADP_PAYROLL",
        },
        SPEND_ROLE: {"roles": [{"roleName": "EXP_APPROVER"}]},
        PAYROLL: {"adp": {"companyCode": "C", "deductionCode": "D", "employeeFileNumber": "F"}},
        TRAVEL_USER: {
            "ruleClass": {"name": "Default Travel Class"},
            "travelCrsName": "Traveller",
            "name": {"givenName": "Given", "familyName": "Family"},
        },
    }
    created = create_user(client, root, **extensions)
    _wait_until_completed(client, root, created["meta"]["provisionId"])
    return created


def _search(client: TestClient, root: str) -> Response:
    created = _provisioned_user(client, root)
    body = {"schemas": [SEARCH_REQUEST], "filter": f'userName eq "{created["userName"]}"'}
    return client.post(f"{root}/Users/.search", json=body)


def _search_example(client: TestClient, root: str) -> Response:
    """The request of the User Retrieval page's example, verbatim but for the userName."""
    created = create_user(client, root)
    body = {
        "schemas": [SEARCH_REQUEST],
        "filter": f'userName eq "{created["userName"]}"',
        "attributes": ["name", "emails", "userName"],
        "excludedAttributes": [],
        "count": 10,
        "cursor": None,
    }
    return client.post(f"{root}/Users/.search", json=body)


def _search_pages(client: TestClient, root: str) -> Response:
    """A Spend User filter, one result a page: the first page carries ``nextCursor``."""
    for _ in range(2):
        create_user(client, root, **{SPEND_USER: {**_spend(), "cashAdvanceAccountCode": "CA1"}})
    body = {"schemas": [SEARCH_REQUEST], "filter": f'{SPEND_USER}:country eq "US"', "count": 1}
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:  # the Spend Users are written by the worker after the 201
        response = client.post(f"{root}/Users/.search", json=body)
        if response.status_code != 200 or response.json()["total"] == 2:
            return response
        assert time.monotonic() < deadline, response.text
        time.sleep(0.05)


def _legacy(send: Send) -> Send:
    """``send`` under the legacy prefix /provisioning/v4 (§3.1) instead of the file's."""
    return lambda client, _root: send(client, LEGACY)


CASES = [
    Case("POST /Users", 201, lambda c, r: c.post(f"{r}/Users", json=concur_user())),
    Case(
        "POST /Users",
        201,
        lambda c, r: c.post(f"{r}/Users", json=concur_user(**{SPEND_USER: _spend()})),
        label="with Spend",
    ),
    Case(
        "POST /Users",
        201,
        _legacy(lambda c, r: c.post(f"{r}/Users", json=concur_user())),
        label="legacy prefix",
    ),
    Case("PUT /Users/{id}", 200, _put_user),
    Case("PATCH /Users/{id}", 200, _patch_user),
    Case("PATCH /Users/{id}", 200, _legacy(_patch_user), label="legacy prefix"),
    Case("DELETE /Users/{id}", 204, _delete_user),
    Case("POST /Bulk", 202, _submit),
    Case("POST /Bulk", 202, _submit_for_company, label="companyId"),
    Case("POST /Bulk", 202, _legacy(_submit), label="legacy prefix"),
    Case("GET /provisions/{id}/status", 200, _pending_status, label="just submitted"),
    Case("GET /provisions/{id}/status", 200, _completed_status, label="completed, operations"),
    Case("GET /provisions/{id}/status", 200, _failed_operations, label="state=failed"),
    Case("GET /provisions/{id}/status", 200, _user_status, label="a /Users request"),
    Case("GET /provisions/{id}/status", 200, _legacy(_completed_status), label="legacy prefix"),
    # concur-openapi documents no body; reference §4.4 names the metadata: RFC 7643 §7
    Case("GET /Schemas", 200, lambda c, r: c.get(f"{r}/Schemas"), fallback=SCHEMA_LIST),
    Case(
        "GET /Schemas/{id}",
        200,
        lambda c, r: c.get(f"{r}/Schemas/{CORE_USER_SCHEMA}"),
        fallback=SCHEMA_RESOURCE,
    ),
    # concur-openapi documents no body; reference §3.7 and §9 item 23 say a bare array
    Case(
        "GET /ResourceTypes", 200, lambda c, r: c.get(f"{r}/ResourceTypes"), fallback=RESOURCE_TYPES
    ),
    Case(
        "GET /ResourceTypes/{id}",
        200,
        lambda c, r: c.get(f"{r}/ResourceTypes/User"),
        fallback=RESOURCE_TYPE,
    ),
    Case("GET /ServiceProviderConfig", 200, lambda c, r: c.get(f"{r}/ServiceProviderConfig")),
    Case("POST /Users/.search", 200, _search),
    Case("POST /Users/.search", 200, _search_example, label="Concur's example"),
    Case("POST /Users/.search", 200, _search_pages, label="Spend filter, cursor"),
    Case("POST /Users/.search", 200, _legacy(_search), label="legacy prefix"),
]

ERROR_CASES = [
    Case("PUT /Users/{id}", 404, lambda c, r: c.put(f"{r}/Users/{UNKNOWN_ID}", json=concur_user())),
    Case(
        "PATCH /Users/{id}", 404, lambda c, r: c.patch(f"{r}/Users/{UNKNOWN_ID}", json=user_patch())
    ),
    Case("DELETE /Users/{id}", 404, lambda c, r: c.delete(f"{r}/Users/{UNKNOWN_ID}")),
    Case(
        "GET /provisions/{id}/status",
        404,
        lambda c, r: c.get(f"{r}/provisions/{UNKNOWN_ID}/status"),
    ),
    Case("GET /Schemas/{id}", 404, lambda c, r: c.get(f"{r}/Schemas/urn:example:unknown")),
    Case("GET /ResourceTypes/{id}", 404, lambda c, r: c.get(f"{r}/ResourceTypes/Group")),
    Case(
        "POST /Users",
        400,
        lambda c, r: c.post(f"{r}/Users", json=without_user_name()),
        label="no userName",
    ),
    Case(
        "POST /Users",
        400,
        lambda c, r: c.post(f"{r}/Users", json=concur_user(), params={"companyId": UNKNOWN_ID}),
        label="another company",
    ),
    Case(
        "POST /Bulk",
        400,
        lambda c, r: c.post(f"{r}/Bulk", json={"schemas": [BULK_REQUEST], "Operations": []}),
        label="no operations",
    ),
    Case("GET /provisions/{id}/status", 400, _bad_state, label="bad state"),
    Case(
        "POST /Users",
        401,
        lambda c, r: c.post(f"{r}/Users", json=concur_user(), headers=BAD_TOKEN),
        label="bad token",
    ),
    Case(
        "POST /Bulk",
        401,
        lambda c, r: c.post(f"{r}/Bulk", json={}, headers=BAD_TOKEN),
        label="bad token",
    ),
    Case(
        "GET /provisions/{id}/status",
        401,
        lambda c, r: c.get(f"{r}/provisions/{UNKNOWN_ID}/status", headers=BAD_TOKEN),
        label="bad token",
    ),
    Case(
        "POST /Users/.search",
        400,
        lambda c, r: c.post(
            f"{r}/Users/.search", json={"schemas": [SEARCH_REQUEST], "filter": 'title eq "x"'}
        ),
        label="unlisted filter attribute",
    ),
    Case(
        "POST /Users/.search",
        401,
        lambda c, r: c.post(
            f"{r}/Users/.search", json={"schemas": [SEARCH_REQUEST]}, headers=BAD_TOKEN
        ),
        label="bad token",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_operation_answers_as_documented(client: TestClient, case: Case) -> None:
    """Each documented operation answers its success status with a body its schema accepts."""
    check(SPEC, case, client)


@pytest.mark.parametrize("case", ERROR_CASES, ids=str)
def test_documented_error_answers_as_documented(client: TestClient, case: Case) -> None:
    """A documented error status comes with a body the file's error schema accepts."""
    check(SPEC, case, client)


def test_every_documented_operation_is_exercised() -> None:
    """The cases above exercise exactly the operations user-provisioning-v4.json documents."""
    assert exercised_operations(CASES, SPEC) == documented_operations(SPEC)


def test_search_results_are_users_as_the_file_defines_them(client: TestClient) -> None:
    """Without ``attributes``, each result is the file's ``User`` as written (its required
    attributes, and the spend, payroll and travel extensions it carries)."""
    response = _search(client, SPEC.base_path)
    assert response.status_code == 200, response.text
    [user] = response.json()["Resources"]
    assert {SPEND_USER, SPEND_ROLE, PAYROLL, TRAVEL_USER} <= set(user)
    schema = {"allOf": [{"$ref": "#/definitions/User"}], "definitions": SPEC.definitions}
    validate_body(schema, user, "user-provisioning-v4.json: User")
