"""/scim/v2/Groups end to end: CRUD and membership, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from support.factories import group_body, patch, user_body

GROUPS = "/scim/v2/Groups"
USERS = "/scim/v2/Users"


def new_user(client: TestClient) -> str:
    user_id: str = client.post(USERS, json=user_body()).json()["id"]
    return user_id


def new_group(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post(GROUPS, json=group_body(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def member_ids(client: TestClient, group_id: str) -> set[str]:
    return {m["value"] for m in client.get(f"{GROUPS}/{group_id}").json().get("members", [])}


def test_create_with_members_and_read_back(client: TestClient) -> None:
    """POST stores members; GET returns them with type, display and $ref."""
    alice = new_user(client)
    group = new_group(client, members=[{"value": alice}], externalId="g-ext")
    assert group["externalId"] == "g-ext"
    got = client.get(f"{GROUPS}/{group['id']}").json()
    [member] = got["members"]
    assert member["value"] == alice
    assert member["type"] == "User"
    assert member["$ref"].endswith(f"/scim/v2/Users/{alice}")
    assert member["display"]


def test_excluded_members_not_returned(client: TestClient) -> None:
    """excludedAttributes=members leaves members out of reads and lists."""
    group = new_group(client, members=[{"value": new_user(client)}])
    got = client.get(f"{GROUPS}/{group['id']}", params={"excludedAttributes": "members"}).json()
    assert "members" not in got
    listed = client.get(GROUPS, params={"excludedAttributes": "members"}).json()
    assert all("members" not in g for g in listed["Resources"])


def test_unknown_member_is_400_and_nothing_created(client: TestClient) -> None:
    """A member id that is no user or group is a 400 invalidValue; no group is created."""
    response = client.post(GROUPS, json=group_body(displayName="Bad", members=[{"value": "nope"}]))
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    found = client.get(GROUPS, params={"filter": 'displayName eq "Bad"'}).json()
    assert found["totalResults"] == 0


def test_display_name_unique_per_company(client: TestClient) -> None:
    """A second group with the same displayName (any case) is a 409."""
    new_group(client, displayName="Admins")
    response = client.post(GROUPS, json=group_body(displayName="ADMINS"))
    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"


def test_patch_add_and_remove_members(client: TestClient) -> None:
    """add appends members, remove by filter takes one out; PATCH answers 204."""
    a, b, c = new_user(client), new_user(client), new_user(client)
    group = new_group(client, members=[{"value": a}])
    url = f"{GROUPS}/{group['id']}"
    added = client.patch(
        url, json=patch({"op": "add", "path": "members", "value": [{"value": b}, {"value": c}]})
    )
    assert added.status_code == 204
    assert member_ids(client, group["id"]) == {a, b, c}
    removed = client.patch(url, json=patch({"op": "remove", "path": f'members[value eq "{b}"]'}))
    assert removed.status_code == 204
    assert member_ids(client, group["id"]) == {a, c}


def test_patch_add_existing_member_is_idempotent(client: TestClient) -> None:
    """Adding a member twice keeps one membership."""
    a = new_user(client)
    group = new_group(client, members=[{"value": a}])
    url = f"{GROUPS}/{group['id']}"
    client.patch(url, json=patch({"op": "add", "path": "members", "value": [{"value": a}]}))
    assert client.get(url).json()["members"] == client.get(url).json()["members"][:1]


def test_patch_replace_members_and_remove_all(client: TestClient) -> None:
    """replace members sets the whole list; remove without value empties it."""
    a, b = new_user(client), new_user(client)
    group = new_group(client, members=[{"value": a}])
    url = f"{GROUPS}/{group['id']}"
    client.patch(url, json=patch({"op": "replace", "path": "members", "value": [{"value": b}]}))
    assert member_ids(client, group["id"]) == {b}
    client.patch(url, json=patch({"op": "remove", "path": "members"}))
    assert member_ids(client, group["id"]) == set()


def test_patch_with_unknown_member_changes_nothing(client: TestClient) -> None:
    """A PATCH that adds a valid and an unknown member is refused as a whole."""
    a, b = new_user(client), new_user(client)
    group = new_group(client, members=[{"value": a}])
    url = f"{GROUPS}/{group['id']}"
    response = client.patch(
        url,
        json=patch(
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": b}, {"value": "ghost"}]},
        ),
    )
    assert response.status_code == 400
    after = client.get(url).json()
    assert after["displayName"] == group["displayName"]
    assert {m["value"] for m in after["members"]} == {a}


def test_patch_with_attributes_returns_200_body(client: TestClient) -> None:
    """A group PATCH that asks for attributes answers 200 with them."""
    group = new_group(client)
    response = client.patch(
        f"{GROUPS}/{group['id']}",
        params={"attributes": "displayName"},
        json=patch({"op": "replace", "path": "displayName", "value": "New Name"}),
    )
    assert response.status_code == 200
    assert response.json()["displayName"] == "New Name"


def test_put_replaces_members(client: TestClient) -> None:
    """PUT sets displayName and the full member list."""
    a, b = new_user(client), new_user(client)
    group = new_group(client, members=[{"value": a}])
    response = client.put(
        f"{GROUPS}/{group['id']}", json={"displayName": "Replaced", "members": [{"value": b}]}
    )
    assert response.status_code == 200
    assert response.json()["displayName"] == "Replaced"
    assert {m["value"] for m in response.json()["members"]} == {b}


def test_nested_group_member(client: TestClient) -> None:
    """A group can be a member of another group (RFC 7643 §4.2)."""
    inner = new_group(client)
    outer = new_group(client, members=[{"value": inner["id"]}])
    [member] = client.get(f"{GROUPS}/{outer['id']}").json()["members"]
    assert member["type"] == "Group"
    assert member["display"] == inner["displayName"]


def test_user_groups_attribute_and_delete_cascade(client: TestClient) -> None:
    """A user lists its groups; deleting the user removes it from them; deleting a group too."""
    alice = new_user(client)
    group = new_group(client, members=[{"value": alice}])
    user = client.get(f"{USERS}/{alice}").json()
    assert [g["value"] for g in user["groups"]] == [group["id"]]
    by_group = client.get(USERS, params={"filter": f'groups.value eq "{group["id"]}"'}).json()
    assert [u["id"] for u in by_group["Resources"]] == [alice]
    assert client.delete(f"{USERS}/{alice}").status_code == 204
    assert member_ids(client, group["id"]) == set()
    bob = new_user(client)
    client.patch(
        f"{GROUPS}/{group['id']}",
        json=patch({"op": "add", "path": "members", "value": [{"value": bob}]}),
    )
    assert client.delete(f"{GROUPS}/{group['id']}").status_code == 204
    assert "groups" not in client.get(f"{USERS}/{bob}").json()
    assert client.get(f"{GROUPS}/{group['id']}").status_code == 404


def test_filter_groups_by_display_name_and_member(client: TestClient) -> None:
    """displayName eq is case-insensitive; members[value eq id] finds a user's groups."""
    alice = new_user(client)
    g1 = new_group(client, displayName="Engineering", members=[{"value": alice}])
    new_group(client, displayName="Sales")
    by_name = client.get(GROUPS, params={"filter": 'displayName eq "engineering"'}).json()
    assert [g["id"] for g in by_name["Resources"]] == [g1["id"]]
    by_member = client.get(GROUPS, params={"filter": f'members[value eq "{alice}"]'}).json()
    assert [g["id"] for g in by_member["Resources"]] == [g1["id"]]


def test_member_deletion_changes_group_version(client: TestClient) -> None:
    """Deleting a member user (or nested group) bumps the group's ETag: its members changed."""
    alice = new_user(client)
    inner = new_group(client)
    group = new_group(client, members=[{"value": alice}, {"value": inner["id"]}])
    url = f"{GROUPS}/{group['id']}"
    tag = client.get(url).headers["etag"]
    client.delete(f"{USERS}/{alice}")
    after_user = client.get(url, headers={"If-None-Match": tag})
    assert after_user.status_code == 200
    client.delete(f"{GROUPS}/{inner['id']}")
    after_group = client.get(url, headers={"If-None-Match": after_user.headers["etag"]})
    assert after_group.status_code == 200
    assert "members" not in after_group.json() or after_group.json()["members"] == []


def test_writes_that_change_nothing_keep_group_version(client: TestClient) -> None:
    """Re-adding a member, removing a non-member and an identical PUT keep the version."""
    alice = new_user(client)
    group = new_group(client, members=[{"value": alice}])
    url = f"{GROUPS}/{group['id']}"
    version = client.get(url).json()["meta"]["version"]
    client.patch(url, json=patch({"op": "add", "path": "members", "value": [{"value": alice}]}))
    assert client.get(url).json()["meta"]["version"] == version, "re-add"
    client.patch(url, json=patch({"op": "remove", "path": 'members[value eq "nobody"]'}))
    assert client.get(url).json()["meta"]["version"] == version, "remove non-member"
    client.put(url, json={"displayName": group["displayName"], "members": [{"value": alice}]})
    assert client.get(url).json()["meta"]["version"] == version, "identical PUT"
