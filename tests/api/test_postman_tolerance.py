"""What Concur's published Postman collection sends, served on SQLite and PostgreSQL
(reference/concur-v4.md §2, §3.6, §6.1, §6.14, §9).

- a doubled slash in a path (``/provisioning/v4//Users``) is read as one, on every dialect;
- ``replace`` of ``emails[type eq "work"]`` with the address alone sets that email's ``value``
  and keeps its ``type`` (phone numbers alike), on every dialect;
- in User Provisioning, a PATCH path naming an unknown sub-attribute (``name.nickName``) is an
  UNKNOWN_ATTRIBUTE warning of the status and the rest applies; the other dialects refuse it;
- the travel URN without ``:User`` is the travel extension in every User Provisioning write.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support.contract import concur_user
from support.factories import patch, user_body
from support.tokens import Tokens
from support.ups import (
    CORE,
    ENTERPRISE,
    IDV4,
    LEGACY_UPS,
    TRAVEL,
    TRAVEL_USER,
    UPS,
    bulk_body,
    create_user,
    extension,
    identity,
    operation,
    read,
    results,
    run_bulk,
    wait,
)

SHORT_TRAVEL = "urn:ietf:params:scim:schemas:extension:travel:2.0"
CONCUR_SEARCH = "urn:ietf:params:scim:api:messages:concur:2.0:SearchRequest"
V41 = "/profile/identity/v4.1"
STRICT_ROOTS = (IDV4, V41, "/scim/v4")
SCIM_ROOTS = ("/scim/v2", *STRICT_ROOTS)


# -- a doubled slash (§2) -------------------------------------------------------------------


def test_doubled_slash_is_read_as_one(client: TestClient) -> None:
    """``/provisioning/v4//Users``, ``/profile/v4//Bulk`` and the same on the SCIM dialects
    reach the route a single slash reaches (trailing and case rules still apply)."""
    created = client.post(f"{LEGACY_UPS}//Users", json=identity())
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    body = bulk_body([operation("POST", "/Users", identity(), "one")])
    assert client.post(f"{UPS}//Bulk", json=body).status_code == 202
    provision = created.json()["meta"]["provisionId"]
    assert client.get(f"{UPS}//provisions//{provision}//status").status_code == 200
    scim = client.post("/scim/v2//Users", json=user_body())
    assert scim.status_code == 201, scim.text
    assert client.get(f"/scim/v2//users///{scim.json()['id']}//").status_code == 200
    assert client.get(f"{IDV4}//Users//{user_id}").json()["id"] == user_id
    found = client.post(f"{V41}//Users//.search", json={"schemas": [CONCUR_SEARCH]})
    assert found.status_code == 200, found.text
    assert client.get(f"{UPS}//ServiceProviderConfig").status_code == 200
    assert client.get("/api/user/v1.0//FormFields").status_code == 200
    assert client.get("/scim/v2//NoSuchThing").status_code == 404


# -- replace of a filtered element with a bare value (§6.1) ---------------------------------


def _created(client: TestClient, root: str) -> str:
    """A user created through ``root`` with a work email and a work phone."""
    phones = [{"value": "+1 555 0100", "type": "work"}]
    if root == UPS:
        return create_user(client, {**identity(), "phoneNumbers": phones})
    body = user_body(phoneNumbers=phones) if root == "/scim/v2" else concur_user()
    response = client.post(f"{root}/Users", json=body)
    assert response.status_code in (200, 201), response.text
    user_id: str = response.json()["id"]
    return user_id


def _patch(client: TestClient, root: str, user_id: str, ops: list[dict[str, Any]]) -> None:
    if root == "bulk":
        done = run_bulk(client, [operation("PATCH", f"/Users/{user_id}", patch(*ops), "p")])
        assert done["status"]["success"] is True, done
        return
    response = client.patch(f"{root}/Users/{user_id}", json=patch(*ops))
    assert response.status_code == 200, response.text
    if root == UPS:  # extensions are applied by the worker after the answer
        assert wait(client, response.json()["meta"]["provisionId"])["status"]["success"] is True


@pytest.mark.parametrize("root", [*SCIM_ROOTS, UPS, "bulk"])
def test_replace_filtered_email_with_a_bare_value_keeps_its_type(
    client: TestClient, root: str
) -> None:
    """``replace emails[type eq "work"]`` with ``"new@example.com"`` changes the value and
    keeps the type (it used to answer ``'emails[0].type' is required``); phones alike; a
    filter that matches nothing creates the element from it."""
    user_id = _created(client, UPS if root == "bulk" else root)
    ops = [
        {"op": "replace", "path": 'emails[type eq "work"]', "value": "new@example.com"},
        {"op": "replace", "path": 'phoneNumbers[type eq "work"]', "value": "+1 555 0199"},
        {"op": "replace", "path": 'emails[type eq "home"]', "value": "home@example.com"},
    ]
    _patch(client, root, user_id, ops)
    user = read(client, IDV4, user_id)
    emails = {e["type"]: e["value"] for e in user["emails"]}
    assert emails == {"work": "new@example.com", "home": "home@example.com"}
    assert [(p["type"], p["value"]) for p in user["phoneNumbers"]] == [("work", "+1 555 0199")]


# -- unknown sub-attributes in a PATCH path -------------------------------------------------

UNKNOWN_OPS = [
    {"op": "replace", "path": "name.nickName", "value": "Bob"},
    {"op": "replace", "path": "title", "value": "Boss"},
    {"op": "add", "path": f"{ENTERPRISE}:manager.foo", "value": "x"},
]


def _warnings(op: dict[str, Any], urn: str) -> list[dict[str, Any]]:
    return [m for m in extension(op, urn).get("messages", []) if m["type"] == "warning"]


def _unknown(path: str) -> dict[str, str]:
    return {
        "code": "UNKNOWN_ATTRIBUTE",
        "message": f"Unknown attribute ignored: '{path}'",
        "schemaPath": path,
        "type": "warning",
    }


@pytest.mark.parametrize("via", ["users", "bulk"])
def test_ups_patch_warns_of_unknown_sub_attributes_and_applies_the_rest(
    client: TestClient, via: str
) -> None:
    """``name.nickName`` and ``…:manager.foo`` are UNKNOWN_ATTRIBUTE warnings, Concur's
    ``{code, message, schemaPath, type}``, on core and enterprise; ``title`` applies."""
    user_id = create_user(client, identity())
    if via == "users":
        response = client.patch(f"{UPS}/Users/{user_id}", json=patch(*UNKNOWN_OPS))
        assert response.status_code == 200, response.text
        assert response.json()["title"] == "Boss"
        done = wait(client, response.json()["meta"]["provisionId"])
    else:
        done = run_bulk(client, [operation("PATCH", f"/Users/{user_id}", patch(*UNKNOWN_OPS))])
    [op] = done["operations"]
    assert op["status"] == {"completed": True, "success": True, "code": "200"}, op
    assert results(op)[CORE] == "success"
    assert _warnings(op, CORE) == [_unknown(f"{CORE}:name.nickName")]
    assert _warnings(op, ENTERPRISE) == [_unknown(f"{ENTERPRISE}:manager.foo")]
    user = read(client, IDV4, user_id)
    assert user["title"] == "Boss"
    assert "nickName" not in user["name"]
    assert "manager" not in user[ENTERPRISE]


def test_ups_patch_of_unknown_sub_attributes_only_changes_nothing(client: TestClient) -> None:
    """A PATCH whose only operation names an unknown sub-attribute answers 200 and warns."""
    user_id = create_user(client, identity())
    before = read(client, IDV4, user_id)
    ops = [{"op": "remove", "path": 'emails[type eq "work"].nickname'}]
    response = client.patch(f"{UPS}/Users/{user_id}", json=patch(*ops))
    assert response.status_code == 200, response.text
    [op] = wait(client, response.json()["meta"]["provisionId"])["operations"]
    assert _warnings(op, CORE) == [_unknown(f"{CORE}:emails.nickname")]
    assert read(client, IDV4, user_id)["meta"]["version"] == before["meta"]["version"]


@pytest.mark.parametrize("root", SCIM_ROOTS)
def test_other_dialects_refuse_unknown_sub_attributes(client: TestClient, root: str) -> None:
    """Outside User Provisioning an unknown sub-attribute path is 400 invalidPath
    (RFC 7644 §3.5.2) and nothing applies."""
    user_id = _created(client, root)
    response = client.patch(f"{root}/Users/{user_id}", json=patch(*UNKNOWN_OPS))
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidPath"
    assert read(client, IDV4, user_id).get("title") != "Boss"


def test_an_unknown_top_level_attribute_stays_an_error(client: TestClient) -> None:
    """Only sub-attributes are tolerated: an unknown attribute path still fails the write."""
    user_id = create_user(client, identity())
    ops = [{"op": "replace", "path": "nickname2.first", "value": "x"}]
    assert client.patch(f"{UPS}/Users/{user_id}", json=patch(*ops)).status_code == 400


# -- the travel URN without ":User" (§6.14) -------------------------------------------------


def test_short_travel_urn_in_post_and_put(client: TestClient) -> None:
    """A POST or PUT body keyed by the short travel URN provisions the travel extension."""
    user_id = create_user(client, {**identity(), SHORT_TRAVEL: {"ruleClass": {"name": "Short"}}})
    assert read(client, TRAVEL, user_id)[TRAVEL_USER]["ruleClass"] == {"name": "Short"}
    body = {**identity(), "id": user_id, SHORT_TRAVEL: {"ruleClass": {"id": 7}}}
    body["userName"] = read(client, IDV4, user_id)["userName"]
    response = client.put(f"{UPS}/Users/{user_id}", json=body)
    assert response.status_code == 200, response.text
    [op] = wait(client, response.json()["meta"]["provisionId"])["operations"]
    assert results(op)[TRAVEL_USER] == "success"
    assert read(client, TRAVEL, user_id)[TRAVEL_USER]["ruleClass"] == {"id": 7}


@pytest.mark.parametrize("via", ["users", "bulk"])
@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ([{"op": "replace", "path": f"{SHORT_TRAVEL}:ruleClass", "value": {"id": 3}}], {"id": 3}),
        ([{"op": "add", "path": f"{SHORT_TRAVEL}:ruleClass.name", "value": "N"}], {"name": "N"}),
        ([{"op": "add", "value": {SHORT_TRAVEL: {"ruleClass": {"id": 4}}}}], {"id": 4}),
        ([{"op": "add", "path": SHORT_TRAVEL, "value": {"ruleClass": {"id": 5}}}], {"id": 5}),
        ([{"op": "add", "path": f"{SHORT_TRAVEL}:", "value": {"ruleClass": {"id": 6}}}], {"id": 6}),
    ],
    ids=["path", "sub-attribute", "path-less", "bare URN", "trailing colon"],
)
def test_short_travel_urn_in_patch(
    client: TestClient, via: str, ops: list[dict[str, Any]], expected: dict[str, Any]
) -> None:
    """PATCH paths and path-less values may name travel by its short URN (§3.6 forms)."""
    user_id = create_user(client, identity())
    _patch(client, UPS if via == "users" else "bulk", user_id, ops)
    assert read(client, TRAVEL, user_id)[TRAVEL_USER]["ruleClass"] == expected


def test_short_travel_urn_in_bulk(client: TestClient) -> None:
    """In /Bulk, inside ``data`` or beside it (Concur's own example places extensions
    there, §3.3), the short URN is the travel extension."""
    inside = {**identity(), SHORT_TRAVEL: {"ruleClass": {"name": "Inside"}}}
    beside = operation("POST", "/Users", identity(), "beside")
    beside[SHORT_TRAVEL] = {"ruleClass": {"name": "Beside"}}
    done = run_bulk(client, [operation("POST", "/Users", inside, "inside"), beside])
    assert done["status"]["success"] is True, done
    for op, name in zip(done["operations"], ("Inside", "Beside"), strict=True):
        assert results(op)[TRAVEL_USER] == "success"
        travel = read(client, TRAVEL, op["resource"]["id"])[TRAVEL_USER]
        assert travel["ruleClass"] == {"name": name}


@pytest.fixture
def tokens(client: TestClient, engine: Engine) -> Tokens:
    """A new company's token minter (``client`` first: the database is migrated and clean)."""
    del client
    return Tokens.for_new_company(engine, "Short travel")


def test_short_travel_urn_needs_the_spend_write_scope(client: TestClient, tokens: Tokens) -> None:
    """Travel data under the short URN is extension data like the long one's: a token without
    ``spend.user.general.writeonly`` is refused (403) on /Users, PATCH and /Bulk."""
    token = tokens.jwt(["user.provision.write", "identity.user.coreenterprise.writeonly"])
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post(f"{UPS}/Users", json=identity(), headers=headers)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    travel = {"ruleClass": {"name": "X"}}
    path_op = {"op": "add", "path": f"{SHORT_TRAVEL}:ruleClass", "value": {"id": 1}}
    attempts = [
        ("POST", f"{UPS}/Users", {**identity(), SHORT_TRAVEL: travel}),
        ("PATCH", f"{UPS}/Users/{user_id}", patch({"op": "add", "value": {SHORT_TRAVEL: travel}})),
        ("PATCH", f"{UPS}/Users/{user_id}", patch(path_op)),
        ("POST", f"{UPS}/Bulk", bulk_body([operation("POST", "/Users", {SHORT_TRAVEL: travel})])),
    ]
    for method, url, body in attempts:
        response = client.request(method, url, json=body, headers=headers)
        assert response.status_code == 403, (url, response.text)
        assert "spend.user.general.writeonly" in response.text
