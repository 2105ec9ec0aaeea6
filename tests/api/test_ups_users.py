"""User Provisioning v4 /Users routes and PATCH path forms, through the HTTP app
(reference/concur-v4.md §3.1, §3.5, §3.6, §9 items 1, 2, 5, 7)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support.ups import (
    APPROVER,
    CORE,
    ENTERPRISE,
    IDV4,
    LEGACY_UPS,
    PATCH_OP,
    ROLE,
    SPEND,
    SPEND_USER,
    TRAVEL,
    TRAVEL_USER,
    UPS,
    counts,
    create_user,
    full_user,
    identity,
    operation,
    read,
    results,
    run_bulk,
    spend_user,
    status,
    wait,
)

SAP_USER = "urn:ietf:params:scim:schemas:extension:sap:2.0:User"


# -- POST, PUT, PATCH, DELETE /Users --------------------------------------------------------


@pytest.mark.parametrize("root", [UPS, LEGACY_UPS])
def test_post_users_answers_the_identity_view_and_a_status(client: TestClient, root: str) -> None:
    """201 with the identity view only, meta.statusUrl/provisionId, and meta.location on
    Identity v4; the provision then completes with the spend and travel results (§3.5)."""
    body = full_user()
    response = client.post(f"{root}/Users", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    user_id = created["id"]
    meta = created["meta"]
    provision_id = meta["provisionId"]
    assert meta["statusUrl"] == f"http://testserver{root}/provisions/{provision_id}/status"
    assert meta["location"] == f"http://testserver{IDV4}/Users/{user_id}"
    assert response.headers["location"] == meta["location"]
    assert meta["resourceType"] == "User"
    assert isinstance(meta["version"], int)
    assert {CORE, ENTERPRISE, SAP_USER} <= set(created["schemas"])
    assert created["userName"] == body["userName"]
    assert created[ENTERPRISE]["employeeNumber"] == body[ENTERPRISE]["employeeNumber"]
    assert not [k for k in created if "spend" in k or "travel" in k or "Payroll" in k]

    done = wait(client, provision_id, root)
    assert done["id"] == provision_id
    assert done["meta"]["provisionType"] == "User"
    assert done["status"] == {"completed": True, "success": True}
    [op] = done["operations"]
    assert op["bulkId"] == "gen-temp-bulk-id"
    assert op["status"] == {"completed": True, "success": True, "code": "201"}
    assert op["resource"] == {"id": user_id, "type": "User"}
    got = results(op)
    assert got[SPEND_USER] == got[TRAVEL_USER] == got[ROLE] == "success"
    assert got[CORE] == got[ENTERPRISE] == "success"
    assert read(client, SPEND, user_id)[SPEND_USER]["country"] == "US"
    assert read(client, TRAVEL, user_id)[TRAVEL_USER]["ruleClass"] == {
        "name": "Default Travel Class"
    }


def test_post_users_without_extensions_completes_at_once(client: TestClient) -> None:
    """With nothing downstream, the status is completed when the 201 is answered."""
    created = client.post(f"{UPS}/Users", json=identity()).json()
    done = status(client, created["meta"]["provisionId"], attributes="operations")
    assert done["status"] == {"completed": True, "success": True}
    assert done["operations"][0]["status"]["code"] == "201"


@pytest.mark.parametrize(
    ("change", "status_code"),
    [
        (lambda body, taken: body.update(userName=taken), 409),
        (lambda body, taken: body["name"].update(givenName="G" * 33), 400),
        (lambda body, taken: body.update(emails=[{"value": "x@example.com", "type": "fax"}]), 400),
    ],
    ids=["duplicate userName", "givenName too long", "bad email type"],
)
def test_identity_errors_are_synchronous_and_store_nothing(
    client: TestClient,
    engine: Engine,
    change: Callable[[dict[str, Any], str], None],
    status_code: int,
) -> None:
    """An identity error answers at once; no user, extension or provision row is stored."""
    taken = identity()
    assert client.post(f"{UPS}/Users", json=taken).status_code == 201
    body = identity()
    body[SPEND_USER] = spend_user()
    change(body, taken["userName"].upper())
    before = counts(engine)
    response = client.post(f"{UPS}/Users", json=body)
    assert response.status_code == status_code, response.text
    error = response.json()
    assert error["status"] == str(status_code)
    assert counts(engine) == before


def test_get_users_is_not_allowed(client: TestClient) -> None:
    """UPS writes users; it does not list them (§3.1)."""
    assert client.get(f"{UPS}/Users").status_code == 405


def test_put_patch_delete_users(client: TestClient) -> None:
    """PUT and PATCH answer 200 with the identity view and a status; DELETE 204, hard."""
    body = full_user()
    user_id = create_user(client, body)

    replacement = identity()
    replacement.update(id=user_id, userName=body["userName"], title="Manager")
    replacement[TRAVEL_USER] = {"ruleClass": {"id": 42}}
    put = client.put(f"{UPS}/Users/{user_id}", json=replacement)
    assert put.status_code == 200, put.text
    assert put.json()["title"] == "Manager"
    done = wait(client, put.json()["meta"]["provisionId"])
    assert done["operations"][0]["status"]["code"] == "200"
    assert results(done["operations"][0])[TRAVEL_USER] == "success"
    assert read(client, TRAVEL, user_id)[TRAVEL_USER]["ruleClass"] == {"id": 42}

    ops = [{"op": "replace", "path": "nickName", "value": "Sam"}]
    patched = client.patch(f"{UPS}/Users/{user_id}", json={"Operations": ops})
    assert patched.status_code == 200, patched.text
    assert patched.json()["nickName"] == "Sam"
    assert patched.json()["meta"]["statusUrl"].endswith("/status")
    assert read(client, IDV4, user_id)["nickName"] == "Sam"

    assert client.delete(f"{UPS}/Users/{user_id}").status_code == 204
    assert client.get(f"{IDV4}/Users/{user_id}").status_code == 404
    assert client.delete(f"{UPS}/Users/{user_id}").status_code == 404


# -- PATCH path forms (§3.6), through /Bulk and through PATCH /Users/{id} -------------------


def _patch_via_bulk(client: TestClient, user_id: str, ops: list[dict[str, Any]]) -> None:
    # Bulk PATCH data without ``schemas`` (§3.3, §9 item 21).
    done = run_bulk(client, [operation("PATCH", f"/Users/{user_id}", {"Operations": ops}, "p")])
    [op] = done["operations"]
    assert op["status"] == {"completed": True, "success": True, "code": "200"}, op


def _patch_via_users(client: TestClient, user_id: str, ops: list[dict[str, Any]]) -> None:
    body = {"schemas": [PATCH_OP], "Operations": ops}
    response = client.patch(f"{UPS}/Users/{user_id}", json=body)
    assert response.status_code == 200, response.text
    done = wait(client, response.json()["meta"]["provisionId"])
    assert done["status"]["success"] is True, done


VIA = {"bulk": _patch_via_bulk, "users": _patch_via_users}
Patcher = Callable[[TestClient, str, list[dict[str, Any]]], None]


@pytest.fixture(params=list(VIA))
def apply_patch(request: pytest.FixtureRequest) -> Patcher:
    patcher: Patcher = VIA[request.param]
    return patcher


def test_trailing_colon_extension_path(client: TestClient, apply_patch: Patcher) -> None:
    """``urn:…:Role:`` and ``urn:…:spend:2.0:User:`` name the whole extension."""
    user_id = create_user(client, {**identity(), SPEND_USER: spend_user()})
    apply_patch(
        client,
        user_id,
        [
            {"op": "add", "path": f"{ROLE}:", "value": {"roles": [{"roleName": "EXP_APPROVER"}]}},
            {"op": "add", "path": f"{SPEND_USER}:", "value": {"ledgerCode": "L9"}},
        ],
    )
    spend = read(client, SPEND, user_id)
    assert [r["roleName"] for r in spend[ROLE]["roles"]] == ["EXP_APPROVER"]
    assert spend[SPEND_USER]["ledgerCode"] == "L9"
    assert spend[SPEND_USER]["country"] == "US"  # add merges into the object


def test_bare_urn_extension_path(client: TestClient, apply_patch: Patcher) -> None:
    """A bare enterprise URN with an object value sets its attributes (§3.6)."""
    user_id = create_user(client, identity())
    apply_patch(
        client,
        user_id,
        [{"op": "replace", "path": ENTERPRISE, "value": {"department": "Finance"}}],
    )
    assert read(client, IDV4, user_id)[ENTERPRISE]["department"] == "Finance"


def test_custom_data_value_filter_path(client: TestClient, apply_patch: Patcher) -> None:
    """``…:customData[id eq "custom2"].value`` changes that item only."""
    user_id = create_user(client, full_user())
    path = f'{SPEND_USER}:customData[id eq "custom2"].value'
    apply_patch(client, user_id, [{"op": "replace", "path": path, "value": "changed"}])
    custom = {c["id"]: c["value"] for c in read(client, SPEND, user_id)[SPEND_USER]["customData"]}
    assert custom["custom2"] == "changed"
    assert custom["custom1"].startswith("c1-")


def test_role_filter_path(client: TestClient, apply_patch: Patcher) -> None:
    """``…:Role:roles[roleName eq "REQ_APPROVER"]`` removes that role only."""
    user_id = create_user(client, full_user())
    path = f'{ROLE}:roles[roleName eq "REQ_APPROVER"]'
    apply_patch(client, user_id, [{"op": "remove", "path": path}])
    roles = read(client, SPEND, user_id)[ROLE]["roles"]
    assert [r["roleName"] for r in roles] == ["EXP_APPROVER"]


def test_nested_sub_attribute_filter_path(client: TestClient, apply_patch: Patcher) -> None:
    """``…:Approver:report[approver.value eq "…"]`` (a sub-attribute of a sub-attribute in
    the filter, §3.6) removes that report approver and leaves the request approver."""
    boss = create_user(client, full_user())
    user_id = create_user(client, full_user(approver=boss))
    path = f'{APPROVER}:report[approver.value eq "{boss}"]'
    apply_patch(client, user_id, [{"op": "remove", "path": path}])
    approvers = read(client, SPEND, user_id)[APPROVER]
    assert "report" not in approvers
    assert [a["approver"]["value"] for a in approvers["request"]] == [boss]


def test_manager_value_path(client: TestClient, apply_patch: Patcher) -> None:
    """``…:enterprise:2.0:User:manager.value`` sets the manager."""
    boss, user_id = create_user(client, identity()), create_user(client, identity())
    apply_patch(
        client, user_id, [{"op": "replace", "path": f"{ENTERPRISE}:manager.value", "value": boss}]
    )
    assert read(client, IDV4, user_id)[ENTERPRISE]["manager"]["value"] == boss


def test_pathless_extension_value(client: TestClient, apply_patch: Patcher) -> None:
    """No path, the value keyed by extension URN: identity and travel both apply."""
    user_id = create_user(client, identity())
    value = {"title": "Chief", TRAVEL_USER: {"ruleClass": {"name": "Exec"}}}
    apply_patch(client, user_id, [{"op": "add", "value": value}])
    assert read(client, IDV4, user_id)["title"] == "Chief"
    assert read(client, TRAVEL, user_id)[TRAVEL_USER]["ruleClass"] == {"name": "Exec"}


def test_patch_error_reports_and_changes_nothing(client: TestClient, engine: Engine) -> None:
    """A PATCH naming an unknown path: /Users answers 400 with nothing stored, /Bulk fails
    the operation on its core extension."""
    user_id = create_user(client, identity())
    ops = [{"op": "replace", "path": "nosuch.attribute", "value": "x"}]
    before = counts(engine)
    response = client.patch(f"{UPS}/Users/{user_id}", json={"Operations": ops})
    assert response.status_code == 400, response.text
    assert counts(engine) == before
    done = run_bulk(client, [operation("PATCH", f"/Users/{user_id}", {"Operations": ops}, "p")])
    [op] = done["operations"]
    assert op["status"]["code"] == "400"
    assert results(op)[CORE] == "error"
