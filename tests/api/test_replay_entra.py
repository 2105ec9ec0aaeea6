"""Microsoft Entra ID, default PATCH dialect: the request sequences of idp-clients.md §1.2-§1.8.

Each test replays what the Entra provisioning service (or Microsoft's SCIM validators) sends,
with bodies from tests/samples/entra_default_*.json, and checks both the answer Entra needs
(§1.5) and, with a later GET, the state it leaves behind.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.factories import ENTERPRISE, user_body
from support.samples import load_sample
from support.scim_http import expect, expect_error, expect_list, filtered

USERS = "/scim/v2/Users"
GROUPS = "/scim/v2/Groups"


def _create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = expect(client.post(USERS, json=body), 201)
    return created


def _get(client: TestClient, user_id: str) -> dict[str, Any]:
    found: dict[str, Any] = expect(client.get(f"{USERS}/{user_id}"), 200)
    return found


def _patch(client: TestClient, user_id: str, sample: str, **values: str) -> dict[str, Any]:
    patched: dict[str, Any] = expect(
        client.patch(f"{USERS}/{user_id}", json=load_sample(sample, **values)), 200
    )
    return patched


def _manager(user: dict[str, Any]) -> Any:
    return user.get(ENTERPRISE, {}).get("manager")


# -- §1.2 Test Connection ------------------------------------------------------------------


def test_connection_random_guid_username_filter_returns_empty_list(client: TestClient) -> None:
    """Test Connection's random-GUID userName query answers 200 with an empty ListResponse."""
    _create(client, user_body())
    response = client.get(filtered(USERS, f'userName eq "{uuid.uuid4()}"'))
    assert expect_list(response, 0) == []
    body = response.json()
    assert body["startIndex"] == 1
    assert body["itemsPerPage"] == 0


def test_connection_group_probe_excludes_members(client: TestClient) -> None:
    """The group probe with excludedAttributes=members answers a ListResponse without members."""
    member = _create(client, user_body())
    group = expect(client.post(GROUPS, json=load_sample("entra_default_create_group")), 201)
    expect(
        client.patch(
            f"{GROUPS}/{group['id']}",
            json=load_sample("entra_default_patch_group_add_member", user_id=member["id"]),
        ),
        204,
    )
    url = filtered(GROUPS, 'displayName eq "displayName"', excludedAttributes="members")
    [found] = expect_list(client.get(url), 1)
    assert found["id"] == group["id"]
    assert "members" not in found
    missing = filtered(GROUPS, f'displayName eq "{uuid.uuid4()}"', excludedAttributes="members")
    assert expect_list(client.get(missing), 0) == []


# -- §1.3a Match ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        'userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"',
        'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"',
        "externalId eq 0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        'emails[type eq "work"].value eq "Test_User_11bb11bb@testuser.com"',
    ],
)
def test_match_query_finds_created_user(client: TestClient, expression: str) -> None:
    """Each matching query Entra sends returns the one user it matches as a ListResponse."""
    created = _create(client, load_sample("entra_default_create_user"))
    _create(client, user_body())
    [found] = expect_list(client.get(filtered(USERS, expression)), 1)
    assert found["id"] == created["id"]


def test_match_query_unquoted_external_id_word(client: TestClient) -> None:
    """The older docs' unquoted ``externalId eq jyoung`` matches like the quoted form."""
    created = _create(client, load_sample("entra_default_create_user_example2"))
    [found] = expect_list(client.get(filtered(USERS, "externalId eq jyoung")), 1)
    assert found["id"] == created["id"]
    assert expect_list(client.get(filtered(USERS, "externalId eq jyoung2")), 0) == []


# -- §1.3b Create --------------------------------------------------------------------------


def test_create_user_with_meta_and_empty_roles(client: TestClient) -> None:
    """POST with ``meta`` and ``roles: []`` creates the user: 201, id, meta, echoed values."""
    response = client.post(USERS, json=load_sample("entra_default_create_user"))
    created = expect(response, 201)
    assert created["id"]
    assert response.headers["Location"] == created["meta"]["location"]
    assert created["meta"]["resourceType"] == "User"
    assert created["userName"] == "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
    assert created["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    assert created["active"] is True
    read = _get(client, created["id"])
    assert read["name"] == {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName",
    }
    assert read["emails"] == [
        {"primary": True, "type": "work", "value": "Test_User_11bb11bb@testuser.com"}
    ]
    assert "roles" not in read or read["roles"] == []


def test_create_user_example2_nulls_and_mistyped_enterprise_urn(client: TestClient) -> None:
    """The docs' Example 2 (explicit nulls, ``…:2.0User`` URN typo) creates the user."""
    created = _create(client, load_sample("entra_default_create_user_example2"))
    read = _get(client, created["id"])
    assert read["userName"] == "jyoung"
    assert read["displayName"] == "Joy Young"
    assert read["emails"] == [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}]
    for absent in (
        "addresses",
        "phoneNumbers",
        "preferredLanguage",
        "title",
        "department",
        "manager",
        ENTERPRISE,
    ):
        assert absent not in read
    assert read["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:User"]


def test_create_user_with_enterprise_extension(client: TestClient) -> None:
    """Enterprise attributes inside the extension URN object are stored and returned."""
    created = _create(client, load_sample("entra_default_create_user_enterprise"))
    read = _get(client, created["id"])
    assert read[ENTERPRISE] == {"employeeNumber": "701984", "department": "Tour Operations"}
    assert ENTERPRISE in read["schemas"]
    assert read["title"] == "Tour Guide"
    query = f'{ENTERPRISE}:employeeNumber eq "701984"'
    [found] = expect_list(client.get(filtered(USERS, query)), 1)
    assert found["id"] == created["id"]


def test_create_user_string_boolean_reads_back_boolean(client: TestClient) -> None:
    """POST with ``"active": "True"`` (Microsoft's Postman suite) reads back boolean true."""
    created = _create(client, load_sample("entra_default_create_user_string_active"))
    assert created["active"] is True
    read = _get(client, created["id"])
    assert read["active"] is True
    assert read["emails"][0]["primary"] is True


def test_duplicate_create_is_409_uniqueness(client: TestClient) -> None:
    """A second POST of the same user answers 409 with scimType uniqueness and a detail."""
    first = _create(client, load_sample("entra_default_create_user"))
    response = client.post(USERS, json=load_sample("entra_default_create_user"))
    expect_error(response, 409, "uniqueness")
    matches = expect_list(client.get(filtered(USERS, f'userName eq "{first["userName"]}"')), 1)
    assert [m["id"] for m in matches] == [first["id"]]


def test_case_variant_username_is_409(client: TestClient) -> None:
    """A userName differing only in case is a duplicate (RFC 7643 caseExact false): 409."""
    _create(client, load_sample("entra_default_create_user"))
    body = load_sample("entra_default_create_user")
    body["userName"] = body["userName"].upper()
    body["externalId"] = str(uuid.uuid4())
    error = expect_error(client.post(USERS, json=body), 409, "uniqueness")
    assert "userName" in error["detail"]
    expect_list(client.get(filtered(USERS, f'userName eq "{body["userName"]}"')), 1)


# -- §1.3c Read ----------------------------------------------------------------------------


def test_get_unknown_id_is_404_error_body(client: TestClient) -> None:
    """GET of an id the server never issued answers 404 with a SCIM Error body."""
    expect_error(client.get(f"{USERS}/5d48a0a8e9f04aa38008"), 404)
    expect_error(client.get(f"{USERS}/{uuid.uuid4()}"), 404)


# -- §1.3d Update --------------------------------------------------------------------------


def test_update_capitalised_replace_ops(client: TestClient) -> None:
    """``Replace`` of the work email (filtered path) and name.familyName changes only those."""
    created = _create(client, load_sample("entra_default_create_user"))
    patched = _patch(client, created["id"], "entra_default_patch_user")
    read = _get(client, created["id"])
    assert patched == read
    assert read["emails"] == [
        {"primary": True, "type": "work", "value": "updatedEmail@microsoft.com"}
    ]
    assert read["name"] == {
        "formatted": "givenName familyName",
        "familyName": "updatedFamilyName",
        "givenName": "givenName",
    }


def test_update_username_add_nickname_replace_employee_number(client: TestClient) -> None:
    """Entra's single-attribute updates (userName, Add nickName, enterprise URN path) apply."""
    created = _create(client, load_sample("entra_default_create_user_enterprise"))
    _patch(client, created["id"], "entra_default_patch_username")
    _patch(client, created["id"], "entra_default_patch_add_nickname")
    _patch(client, created["id"], "entra_default_patch_employee_number")
    read = _get(client, created["id"])
    assert read["userName"] == "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    assert read["nickName"] == "Babs"
    assert read[ENTERPRISE] == {"employeeNumber": "Eqpj", "department": "Tour Operations"}
    old = filtered(USERS, 'userName eq "Test_User_22cc22cc-dd33-ee44-ff55-66aa66aa66aa"')
    assert expect_list(client.get(old), 0) == []


@pytest.mark.parametrize("op", ["Replace", "Add"])
def test_filtered_path_creates_missing_phone(client: TestClient, op: str) -> None:
    """``phoneNumbers[type eq "mobile"].value`` on a user without phones creates the element."""
    created = _create(client, load_sample("entra_default_create_user"))
    assert "phoneNumbers" not in created
    _patch(client, created["id"], "entra_default_patch_mobile_phone", op=op)
    read = _get(client, created["id"])
    assert read["phoneNumbers"] == [{"type": "mobile", "value": "+1 (425) 555-0100"}]
    _patch(client, created["id"], "entra_default_patch_mobile_phone", op=op)
    assert _get(client, created["id"])["phoneNumbers"] == read["phoneNumbers"]


# -- §1.3e Disable / re-enable -------------------------------------------------------------


def test_disable_and_reenable_with_string_booleans(client: TestClient) -> None:
    """``"False"``/``"True"`` strings disable and re-enable; a disabled user is still found."""
    created = _create(client, load_sample("entra_default_create_user"))
    disabled = _patch(client, created["id"], "entra_default_patch_disable")
    assert disabled["active"] is False
    assert _get(client, created["id"])["active"] is False
    [found] = expect_list(client.get(filtered(USERS, f'userName eq "{created["userName"]}"')), 1)
    assert found["active"] is False
    [inactive] = expect_list(client.get(filtered(USERS, "active eq false")), 1)
    assert inactive["id"] == created["id"]
    enabled = _patch(client, created["id"], "entra_default_patch_enable")
    assert enabled["active"] is True
    assert _get(client, created["id"])["active"] is True


# -- §1.3f Manager -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample",
    [
        "entra_default_patch_manager_string",
        "entra_default_patch_manager_object",
        "entra_default_patch_manager_array",
    ],
)
def test_manager_add_every_shape(client: TestClient, sample: str) -> None:
    """The manager sent as a bare id, an object or a one-element array is stored as {value}."""
    manager = _create(client, user_body())
    created = _create(client, load_sample("entra_default_create_user"))
    patched = _patch(client, created["id"], sample, manager_id=manager["id"])
    assert _manager(patched)["value"] == manager["id"]
    read = _get(client, created["id"])
    assert _manager(read)["value"] == manager["id"]
    assert ENTERPRISE in read["schemas"]
    query = f'{ENTERPRISE}:manager.value eq "{manager["id"]}"'
    [found] = expect_list(client.get(filtered(USERS, query)), 1)
    assert found["id"] == created["id"]


@pytest.mark.parametrize(
    "sample",
    [
        "entra_default_patch_manager_remove",
        "entra_default_patch_manager_remove_value",
        "entra_default_patch_manager_remove_filter",
        "entra_default_patch_manager_clear",
    ],
)
def test_manager_removal(client: TestClient, sample: str) -> None:
    """Remove (bare, with a value, with a value filter) and Replace with "" drop the manager."""
    manager = _create(client, user_body())
    created = _create(client, load_sample("entra_default_create_user_enterprise"))
    _patch(client, created["id"], "entra_default_patch_manager_string", manager_id=manager["id"])
    assert _manager(_get(client, created["id"]))["value"] == manager["id"]
    _patch(client, created["id"], sample, manager_id=manager["id"])
    read = _get(client, created["id"])
    assert _manager(read) is None
    assert read[ENTERPRISE] == {"employeeNumber": "701984", "department": "Tour Operations"}


def test_manager_remove_filter_for_other_id_keeps_manager(client: TestClient) -> None:
    """``manager[value eq "<other id>"]`` removes nothing when the manager is someone else."""
    manager = _create(client, user_body())
    created = _create(client, load_sample("entra_default_create_user"))
    _patch(client, created["id"], "entra_default_patch_manager_string", manager_id=manager["id"])
    _patch(
        client,
        created["id"],
        "entra_default_patch_manager_remove_filter",
        manager_id=str(uuid.uuid4()),
    )
    assert _manager(_get(client, created["id"]))["value"] == manager["id"]


def test_manager_set_change_remove_validator_sequence(client: TestClient) -> None:
    """SCIM_Update_Manager_Test: Add, then Replace with another id, then Replace with ""."""
    first, second = _create(client, user_body()), _create(client, user_body())
    created = _create(client, load_sample("entra_default_create_user"))
    _patch(client, created["id"], "entra_default_patch_manager_string", manager_id=first["id"])
    assert _manager(_get(client, created["id"])) == {"value": first["id"]}
    _patch(client, created["id"], "entra_default_patch_manager_change", manager_id=second["id"])
    assert _manager(_get(client, created["id"])) == {"value": second["id"]}
    _patch(client, created["id"], "entra_default_patch_manager_clear")
    read = _get(client, created["id"])
    assert ENTERPRISE not in read
    assert ENTERPRISE not in read["schemas"]


# -- §1.8 SCIM validator: null update ------------------------------------------------------

_NULLED = ("title", "nickName", "preferredLanguage", "phoneNumbers", "addresses")


@pytest.mark.parametrize("empty", ["empty", "null"])
def test_null_update_clears_optional_attributes(client: TestClient, empty: str) -> None:
    """SCIM_Null_Update: Replace optional attributes with "" or null; GET shows them absent."""
    created = _create(client, load_sample("entra_default_create_user_enterprise"))
    _patch(client, created["id"], "entra_default_patch_null_update_set")
    before = _get(client, created["id"])
    assert before["title"] == "Consultant"
    assert before["phoneNumbers"] == [{"type": "work", "value": "+1 (425) 555-0199"}]
    assert before["addresses"] == [{"type": "work", "postalCode": "98052"}]
    assert before[ENTERPRISE]["department"] == "Finance"
    # The validator sends "" and then null: clearing what is already absent is a no-op.
    for kind in (empty, "null" if empty == "empty" else "empty"):
        _patch(client, created["id"], f"entra_default_patch_null_update_{kind}")
        read = _get(client, created["id"])
        for name in _NULLED:
            assert name not in read, name
        assert read[ENTERPRISE] == {"employeeNumber": "701984"}
        assert read["userName"] == created["userName"]
        assert read["name"] == created["name"]


# -- §1.3h Delete --------------------------------------------------------------------------


def test_delete_user_then_gone(client: TestClient) -> None:
    """DELETE answers 204; afterwards GET is 404 and the matching filter finds nothing."""
    created = _create(client, load_sample("entra_default_create_user"))
    expect(client.delete(f"{USERS}/{created['id']}"), 204)
    expect_error(client.get(f"{USERS}/{created['id']}"), 404)
    query = filtered(USERS, f'userName eq "{created["userName"]}"')
    assert expect_list(client.get(query), 0) == []
    expect_error(client.delete(f"{USERS}/{created['id']}"), 404)


# -- §1.8 SCIM validator: pagination -------------------------------------------------------


def test_user_pagination_start_index_echoed(client: TestClient) -> None:
    """``startIndex=N&count=5`` over 12 users echoes N and pages through every user once."""
    ids = {_create(client, user_body())["id"] for _ in range(12)}
    seen: list[str] = []
    for page in range(4):
        start = page * 5 + 1
        body = expect(client.get(f"{USERS}?startIndex={start}&count=5"), 200)
        assert body["startIndex"] == start
        assert body["totalResults"] == 12
        assert body["itemsPerPage"] == len(body["Resources"]) == max(0, min(5, 12 - page * 5))
        seen += [r["id"] for r in body["Resources"]]
    assert sorted(seen) == sorted(ids)


# -- §1.4 Groups ---------------------------------------------------------------------------


def _group(client: TestClient) -> dict[str, Any]:
    created: dict[str, Any] = expect(
        client.post(GROUPS, json=load_sample("entra_default_create_group")), 201
    )
    return created


def _member_ids(client: TestClient, group_id: str) -> set[str]:
    group = expect(client.get(f"{GROUPS}/{group_id}"), 200)
    return {m["value"] for m in group.get("members", [])}


def _patch_group(client: TestClient, group_id: str, sample: str, **values: str) -> None:
    expect(client.patch(f"{GROUPS}/{group_id}", json=load_sample(sample, **values)), 204)


def test_create_group_with_adscim_schema(client: TestClient) -> None:
    """POST with Microsoft's extra ADSCIM schema URN creates the group with no members."""
    created = _group(client)
    assert created["id"]
    assert created["displayName"] == "displayName"
    assert created["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    assert created.get("members", []) == []
    assert created["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Group"]
    read = expect(client.get(f"{GROUPS}/{created['id']}"), 200)
    assert read["displayName"] == "displayName"


def test_read_group_excluding_members(client: TestClient) -> None:
    """GET /Groups/{id}?excludedAttributes=members answers 200 without the members."""
    member = _create(client, user_body())
    group = _group(client)
    _patch_group(client, group["id"], "entra_default_patch_group_add_member", user_id=member["id"])
    read = expect(client.get(f"{GROUPS}/{group['id']}?excludedAttributes=members"), 200)
    assert read["id"] == group["id"]
    assert read["displayName"] == "displayName"
    assert "members" not in read
    assert _member_ids(client, group["id"]) == {member["id"]}


def test_group_display_name_replace_is_204(client: TestClient) -> None:
    """``Replace displayName`` answers 204 and the GET shows the new name."""
    group = _group(client)
    _patch_group(client, group["id"], "entra_default_patch_group_display_name")
    read = expect(client.get(f"{GROUPS}/{group['id']}"), 200)
    assert read["displayName"] == "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"


def test_group_add_member_with_null_ref(client: TestClient) -> None:
    """``Add members`` with ``"$ref": null`` adds the user; the GET lists it."""
    member = _create(client, user_body())
    group = _group(client)
    _patch_group(client, group["id"], "entra_default_patch_group_add_member", user_id=member["id"])
    read = expect(client.get(f"{GROUPS}/{group['id']}"), 200)
    [listed] = read["members"]
    assert listed["value"] == member["id"]
    assert listed["$ref"].endswith(f"/Users/{member['id']}")
    user = _get(client, member["id"])
    assert [g["value"] for g in user["groups"]] == [group["id"]]


def test_group_multi_member_add_and_value_list_remove(client: TestClient) -> None:
    """Several members in one PATCH are all added; ``Remove`` with a value list drops only those."""
    users = [_create(client, user_body())["id"] for _ in range(3)]
    group = _group(client)
    _patch_group(
        client,
        group["id"],
        "entra_default_patch_group_add_members",
        user_id_1=users[0],
        user_id_2=users[1],
        user_id_3=users[2],
    )
    assert _member_ids(client, group["id"]) == set(users)
    _patch_group(client, group["id"], "entra_default_patch_group_remove_member", user_id=users[1])
    assert _member_ids(client, group["id"]) == {users[0], users[2]}
    _patch_group(client, group["id"], "entra_default_patch_group_remove_member", user_id=users[1])
    assert _member_ids(client, group["id"]) == {users[0], users[2]}


def test_delete_group(client: TestClient) -> None:
    """DELETE /Groups/{id} answers 204; the group is gone and its members remain users."""
    member = _create(client, user_body())
    group = _group(client)
    _patch_group(client, group["id"], "entra_default_patch_group_add_member", user_id=member["id"])
    expect(client.delete(f"{GROUPS}/{group['id']}"), 204)
    expect_error(client.get(f"{GROUPS}/{group['id']}"), 404)
    assert expect_list(client.get(filtered(GROUPS, 'displayName eq "displayName"')), 0) == []
    assert "groups" not in _get(client, member["id"])
