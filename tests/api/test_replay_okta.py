"""Okta's SCIM 2.0 client: the user and Group Push sequences of idp-clients.md §2.2-§2.4.

The SPEC test suite's checks come in its order (list first user, lookups, create, duplicate,
upper-cased lookup, 401 and 404 bodies); then the App Integration Wizard's PUT of what it read,
PATCH deactivation, and Group Push. Bodies: tests/samples/okta_*.json.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from support.factories import CORE_USER, user_body
from support.samples import load_sample
from support.scim_http import expect, expect_error, expect_list, filtered

USERS = "/scim/v2/Users"
GROUPS = "/scim/v2/Groups"
OKTA_USER = "test.user@okta.local"


def _create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = expect(client.post(USERS, json=body), 201)
    return created


def _get(client: TestClient, user_id: str) -> dict[str, Any]:
    found: dict[str, Any] = expect(client.get(f"{USERS}/{user_id}"), 200)
    return found


# -- §2.4 SPEC test, in its order ----------------------------------------------------------


def test_list_first_user_with_integer_paging(client: TestClient) -> None:
    """``?count=1&startIndex=1`` returns one user and integer paging fields; GET by id works."""
    first = _create(client, user_body())
    _create(client, user_body())
    body = expect(client.get(f"{USERS}?count=1&startIndex=1"), 200)
    assert body["totalResults"] == 2
    assert body["startIndex"] == 1
    assert body["itemsPerPage"] == 1
    for key in ("totalResults", "startIndex", "itemsPerPage"):
        assert type(body[key]) is int
    [user] = body["Resources"]
    for key in ("id", "name", "userName", "active", "emails"):
        assert key in user
    assert user["id"] == first["id"]
    assert _get(client, user["id"]) == user


def test_unknown_username_returns_zero_results(client: TestClient) -> None:
    """``userName eq`` an unknown name with Okta's paging answers 200 and an empty list."""
    _create(client, user_body())
    url = filtered(USERS, 'userName eq "test.user@okta.local"', startIndex="1", count="100")
    response = client.get(url)
    assert expect_list(response, 0) == []
    assert response.json()["startIndex"] == 1


def test_create_user_echoes_values_without_password(client: TestClient) -> None:
    """POST with ``password`` and ``groups: []`` answers 201 echoing the values, no password."""
    created = _create(client, load_sample("okta_create_user"))
    assert CORE_USER in created["schemas"]
    assert created["userName"] == OKTA_USER
    assert created["name"] == {"givenName": "Test", "familyName": "User"}
    assert created["emails"] == [{"primary": True, "value": OKTA_USER, "type": "work"}]
    assert created["displayName"] == "Test User"
    assert created["locale"] == "en-US"
    assert created["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert created["active"] is True
    assert "password" not in created
    read = _get(client, created["id"])
    assert read == created
    assert "password" not in read


def test_create_user_with_plain_json_content_type(client: TestClient) -> None:
    """Okta's test POSTs ``application/json``; it is accepted and answered as SCIM JSON."""
    response = client.post(
        USERS, json=load_sample("okta_create_user"), headers={"Content-Type": "application/json"}
    )
    created = expect(response, 201)
    assert _get(client, created["id"])["userName"] == OKTA_USER


def test_same_post_again_is_409(client: TestClient) -> None:
    """Posting the same user a second time answers 409 with a SCIM error body."""
    _create(client, load_sample("okta_create_user"))
    expect_error(client.post(USERS, json=load_sample("okta_create_user")), 409, "uniqueness")
    expect_list(client.get(filtered(USERS, f'userName eq "{OKTA_USER}"')), 1)


def test_upper_cased_username_lookup_finds_user(client: TestClient) -> None:
    """``userName eq`` the upper-cased name finds the user (userName is caseExact false)."""
    created = _create(client, load_sample("okta_create_user"))
    [found] = expect_list(client.get(filtered(USERS, f'userName eq "{OKTA_USER.upper()}"')), 1)
    assert found["id"] == created["id"]
    assert found["userName"] == OKTA_USER


def test_bad_token_is_401_scim_error(client: TestClient) -> None:
    """A wrong bearer token answers 401, a SCIM error body with status "401", WWW-Authenticate."""
    _create(client, user_body())
    response = client.get(
        f"{USERS}?count=1&startIndex=1", headers={"Authorization": "Bearer not-the-token"}
    )
    expect_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.get(GROUPS, headers={"Authorization": ""})
    expect_error(response, 401)


def test_unknown_numeric_id_is_404(client: TestClient) -> None:
    """``/Users/00919288221112222`` answers 404 with a SCIM error body."""
    _create(client, user_body())
    expect_error(client.get(f"{USERS}/00919288221112222"), 404)


# -- §2.2 updates --------------------------------------------------------------------------


def test_put_of_read_back_user_applies_changes(client: TestClient) -> None:
    """PUT of the whole object Okta read (id, meta, groups included) answers 200 with changes."""
    created = _create(client, load_sample("okta_create_user"))
    body = load_sample("okta_put_user", user_id=created["id"])
    replaced = expect(client.put(f"{USERS}/{created['id']}", json=body), 200)
    read = _get(client, created["id"])
    assert replaced == read
    assert read["name"] == {"givenName": "Another", "middleName": "Excited", "familyName": "User"}
    assert read["emails"] == [
        {"primary": True, "value": OKTA_USER, "type": "work", "display": OKTA_USER}
    ]
    assert read["active"] is True
    assert read["id"] == created["id"]
    # PUT replaces: what the body leaves out is gone (Okta sends everything it manages).
    assert "displayName" not in read
    assert "externalId" not in read


def test_put_of_verbatim_get_body(client: TestClient) -> None:
    """The AIW flow: GET the user, change one field, PUT the whole body (full meta) back."""
    created = _create(client, load_sample("okta_create_user"))
    body = _get(client, created["id"])
    body["name"]["givenName"] = "Changed"
    replaced = expect(client.put(f"{USERS}/{created['id']}", json=body), 200)
    assert replaced["name"] == {"givenName": "Changed", "familyName": "User"}
    read = _get(client, created["id"])
    assert read["name"]["givenName"] == "Changed"
    assert read["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert read["meta"]["created"] == created["meta"]["created"]


def test_pathless_deactivate_and_reactivate(client: TestClient) -> None:
    """``{"op":"replace","value":{"active":false}}`` deactivates, ``true`` reactivates."""
    created = _create(client, load_sample("okta_create_user"))
    url = f"{USERS}/{created['id']}"
    deactivated = expect(client.patch(url, json=load_sample("okta_patch_deactivate")), 200)
    assert deactivated["active"] is False
    read = _get(client, created["id"])
    assert read["active"] is False
    assert read["name"] == created["name"]
    [found] = expect_list(client.get(filtered(USERS, f'userName eq "{OKTA_USER}"')), 1)
    assert found["active"] is False
    reactivated = expect(client.patch(url, json=load_sample("okta_patch_reactivate")), 200)
    assert reactivated["active"] is True
    assert _get(client, created["id"])["active"] is True


# -- §2.3 Group Push -----------------------------------------------------------------------


def _group(client: TestClient) -> dict[str, Any]:
    response = client.post(GROUPS, json=load_sample("okta_create_group"))
    created: dict[str, Any] = expect(response, 201)
    return created


def _members(client: TestClient, group_id: str) -> dict[str, str | None]:
    group = expect(client.get(f"{GROUPS}/{group_id}"), 200)
    return {m["value"]: m.get("display") for m in group.get("members", [])}


def _users(client: TestClient, count: int) -> list[dict[str, Any]]:
    return [_create(client, user_body()) for _ in range(count)]


def test_create_group_and_find_by_display_name(client: TestClient) -> None:
    """POST with ``members: []`` answers 201; ``displayName eq`` with paging finds it."""
    created = _group(client)
    assert created["displayName"] == "Test SCIMv2"
    assert created.get("members", []) == []
    url = filtered(GROUPS, 'displayName eq "Test SCIMv2"', startIndex="1", count="100")
    [found] = expect_list(client.get(url), 1)
    assert found["id"] == created["id"]
    [listed] = expect_list(client.get(f"{GROUPS}?startIndex=1&count=100"), 1)
    assert listed["id"] == created["id"]


def test_pathless_replace_with_own_id_is_accepted(client: TestClient) -> None:
    """A path-less replace whose value carries the group's own ``id`` succeeds unchanged."""
    member = _users(client, 1)[0]
    group = _group(client)
    expect(
        client.patch(
            f"{GROUPS}/{group['id']}",
            json=load_sample(
                "okta_patch_group_replace_members",
                user_id_1=member["id"],
                display_1="one",
                user_id_2=member["id"],
                display_2="one",
            ),
        ),
        204,
    )
    body = load_sample("okta_patch_group_pathless", group_id=group["id"])
    expect(client.patch(f"{GROUPS}/{group['id']}", json=body), 204)
    read = expect(client.get(f"{GROUPS}/{group['id']}"), 200)
    assert read["id"] == group["id"]
    assert read["displayName"] == "Test SCIMv2"
    assert [m["value"] for m in read["members"]] == [member["id"]]


def test_remove_by_filter_and_add_in_one_patch(client: TestClient) -> None:
    """``remove members[value eq id]`` plus ``add members`` in one PATCH swap exactly one member."""
    kept, removed, added = _users(client, 3)
    group = _group(client)
    expect(
        client.patch(
            f"{GROUPS}/{group['id']}",
            json=load_sample(
                "okta_patch_group_replace_members",
                user_id_1=kept["id"],
                display_1=kept["userName"],
                user_id_2=removed["id"],
                display_2=removed["userName"],
            ),
        ),
        204,
    )
    body = load_sample(
        "okta_patch_group_members",
        removed_id=removed["id"],
        added_id=added["id"],
        added_display=added["userName"],
    )
    expect(client.patch(f"{GROUPS}/{group['id']}", json=body), 204)
    assert set(_members(client, group["id"])) == {kept["id"], added["id"]}
    assert "groups" not in _get(client, removed["id"])
    assert [g["value"] for g in _get(client, added["id"])["groups"]] == [group["id"]]


def test_replace_members_with_full_list(client: TestClient) -> None:
    """``replace members`` with the full list leaves exactly that list."""
    old, first, second = _users(client, 3)
    group = _group(client)
    expect(
        client.patch(
            f"{GROUPS}/{group['id']}",
            json=load_sample("entra_default_patch_group_add_member", user_id=old["id"]),
        ),
        204,
    )
    body = load_sample(
        "okta_patch_group_replace_members",
        user_id_1=first["id"],
        display_1=first["userName"],
        user_id_2=second["id"],
        display_2=second["userName"],
    )
    expect(client.patch(f"{GROUPS}/{group['id']}", json=body), 204)
    members = _members(client, group["id"])
    assert set(members) == {first["id"], second["id"]}
    assert members[first["id"]] == first["userName"]


def test_put_group_with_full_member_list(client: TestClient) -> None:
    """PUT of the group with its full member list answers 200 and sets exactly those members."""
    old, first, second = _users(client, 3)
    group = _group(client)
    expect(
        client.patch(
            f"{GROUPS}/{group['id']}",
            json=load_sample("entra_default_patch_group_add_member", user_id=old["id"]),
        ),
        204,
    )
    body = load_sample(
        "okta_put_group",
        user_id_1=first["id"],
        display_1=first["userName"],
        user_id_2=second["id"],
        display_2=second["userName"],
    )
    replaced = expect(client.put(f"{GROUPS}/{group['id']}", json=body), 200)
    assert {m["value"] for m in replaced["members"]} == {first["id"], second["id"]}
    assert set(_members(client, group["id"])) == {first["id"], second["id"]}
    assert "groups" not in _get(client, old["id"])


def test_delete_group(client: TestClient) -> None:
    """DELETE answers 204; the group is gone from GET and from the displayName filter."""
    group = _group(client)
    expect(client.delete(f"{GROUPS}/{group['id']}"), 204)
    expect_error(client.get(f"{GROUPS}/{group['id']}"), 404)
    assert expect_list(client.get(filtered(GROUPS, 'displayName eq "Test SCIMv2"')), 0) == []
