"""Microsoft Entra ID with the ``aadOptscim062020`` feature flag (idp-clients.md §1.6, §1.8).

The flag switches Entra to lower-case ops, JSON booleans, one path-less ``replace`` whose
object value has dotted sub-attribute keys and extension-URN keys, and member removal by a
``members[value eq "…"]`` path. Bodies: tests/samples/entra_aadOptscim062020_*.json.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from support.factories import ENTERPRISE, user_body
from support.samples import load_sample
from support.scim_http import expect, expect_list, filtered

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


def test_lower_case_ops_disable_and_add(client: TestClient) -> None:
    """Lower-case ``replace active false`` disables and ``add nickName`` sets the nickname."""
    created = _create(client, load_sample("entra_default_create_user"))
    assert _patch(client, created["id"], "entra_aadOptscim062020_patch_disable")["active"] is False
    _patch(client, created["id"], "entra_aadOptscim062020_patch_add_nickname")
    read = _get(client, created["id"])
    assert read["active"] is False
    assert read["nickName"] == "Babs"


def test_pathless_replace_with_dotted_and_urn_keys_and_filtered_path(client: TestClient) -> None:
    """A filtered-path replace plus a path-less replace of dotted and URN keys apply together."""
    created = _create(client, load_sample("entra_default_create_user_enterprise"))
    patched = _patch(client, created["id"], "entra_aadOptscim062020_patch_pathless")
    read = _get(client, created["id"])
    assert patched == read
    assert read["emails"] == [{"primary": True, "type": "work", "value": "Bjfe.Unua@testuser.com"}]
    assert read["displayName"] == "Bjfe"
    assert read["name"] == {"formatted": "Pat Employee", "familyName": "Unua", "givenName": "Kkom"}
    assert read[ENTERPRISE] == {"employeeNumber": "Aklq", "department": "Tour Operations"}
    assert read["userName"] == created["userName"]
    [found] = expect_list(client.get(filtered(USERS, f'{ENTERPRISE}:employeeNumber eq "Aklq"')), 1)
    assert found["id"] == created["id"]


def test_pathless_add_with_dotted_and_urn_keys(client: TestClient) -> None:
    """The same object shape under ``op add`` sets the dotted and URN-keyed attributes."""
    created = _create(client, load_sample("entra_default_create_user"))
    _patch(client, created["id"], "entra_aadOptscim062020_patch_pathless_add")
    read = _get(client, created["id"])
    assert read["title"] == "Qrst"
    assert read["name"]["middleName"] == "Wxyz"
    assert read["name"]["givenName"] == "givenName"
    assert read[ENTERPRISE] == {"department": "Lmno"}
    assert ENTERPRISE in read["schemas"]


def test_validator_pathless_replace_of_username_name_and_active(client: TestClient) -> None:
    """The hosted validator's path-less replace of userName, name parts and active applies."""
    created = _create(client, user_body())
    _patch(client, created["id"], "entra_aadOptscim062020_patch_validator")
    read = _get(client, created["id"])
    assert read["userName"] == "validator.updated@testuser.com"
    assert read["name"] == {"givenName": "Olpa", "familyName": "Hzwq"}
    assert read["active"] is False
    assert read["emails"] == [
        {"value": "validator.updated@testuser.com", "type": "work", "primary": True}
    ]
    upper = filtered(USERS, 'userName eq "VALIDATOR.UPDATED@TESTUSER.COM"')
    [found] = expect_list(client.get(upper), 1)
    assert found["id"] == created["id"]


def test_remove_member_by_value_filter_path(client: TestClient) -> None:
    """``remove members[value eq "<id>"]`` answers 204 and removes only that member."""
    users = [_create(client, user_body())["id"] for _ in range(3)]
    group = expect(client.post(GROUPS, json=load_sample("entra_default_create_group")), 201)
    expect(
        client.patch(
            f"{GROUPS}/{group['id']}",
            json=load_sample(
                "entra_default_patch_group_add_members",
                user_id_1=users[0],
                user_id_2=users[1],
                user_id_3=users[2],
            ),
        ),
        204,
    )
    removal = load_sample("entra_aadOptscim062020_patch_remove_member", user_id=users[0])
    expect(client.patch(f"{GROUPS}/{group['id']}", json=removal), 204)
    read = expect(client.get(f"{GROUPS}/{group['id']}"), 200)
    assert {m["value"] for m in read["members"]} == {users[1], users[2]}
    expect(client.patch(f"{GROUPS}/{group['id']}", json=removal), 204)
    read = expect(client.get(f"{GROUPS}/{group['id']}"), 200)
    assert {m["value"] for m in read["members"]} == {users[1], users[2]}
    assert "groups" not in _get(client, users[0])
