"""/scim/v2/Users end to end through the ASGI app, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from support.factories import ENTERPRISE, patch, user_body

USERS = "/scim/v2/Users"


def create(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post(USERS, json=user_body(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_returns_201_with_location_etag_and_meta(client: TestClient) -> None:
    """POST answers 201 with the stored user, a Location header and a weak ETag."""
    response = client.post(USERS, json=user_body(userName="bjensen", externalId="ext-1"))
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["userName"] == "bjensen"
    assert body["externalId"] == "ext-1"
    assert response.headers["location"] == body["meta"]["location"]
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{body['id']}")
    assert response.headers["etag"] == body["meta"]["version"] == 'W/"1"'
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["created"].endswith("Z")


def test_create_accepts_plain_application_json(client: TestClient) -> None:
    """A body sent as application/json is accepted and answered as application/scim+json."""
    response = client.post(USERS, json=user_body(), headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/scim+json")


def test_create_ignores_read_only_and_unknown_input(client: TestClient) -> None:
    """id, meta, groups, password, unknown attributes and unknown URNs are ignored on POST."""
    body = user_body(
        id="client-chosen",
        meta={"resourceType": "User"},
        groups=[{"value": "x"}],
        password="s3cret",
        favouriteColour="blue",
        schemas=["urn:ietf:params:scim:schemas:core:2.0:User", "urn:example:unknown:1.0"],
        **{"urn:example:unknown:1.0": {"foo": "bar"}},
    )
    created = create(client, **body)
    assert created["id"] != "client-chosen"
    for absent in ("password", "favouriteColour", "urn:example:unknown:1.0", "groups"):
        assert absent not in created
    assert created["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:User"]


def test_enterprise_extension_round_trips(client: TestClient) -> None:
    """The enterprise extension is stored, listed in schemas and read back."""
    manager = create(client)
    created = create(
        client,
        **{
            ENTERPRISE: {
                "employeeNumber": "701984",
                "department": "Sales",
                "manager": manager["id"],
            }
        },
    )
    got = client.get(f"{USERS}/{created['id']}").json()
    assert ENTERPRISE in got["schemas"]
    assert got[ENTERPRISE]["employeeNumber"] == "701984"
    assert got[ENTERPRISE]["manager"] == {"value": manager["id"]}


def test_get_unknown_user_is_404_scim_error(client: TestClient) -> None:
    """An unknown id answers 404 with a SCIM Error body."""
    response = client.get(f"{USERS}/00919288221112222")
    assert response.status_code == 404
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "404"


def test_put_replaces_and_tolerates_what_was_read(client: TestClient) -> None:
    """PUT of the resource as read (id, meta, groups included) replaces writable attributes."""
    created = create(client, title="Engineer", nickName="Babs")
    sent = dict(created)
    sent["name"] = {"givenName": "Another", "familyName": "User"}
    sent["groups"] = []
    del sent["nickName"]
    response = client.put(f"{USERS}/{created['id']}", json=sent)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == {"givenName": "Another", "familyName": "User"}
    assert "nickName" not in body
    assert body["title"] == "Engineer"
    assert body["meta"]["version"] == 'W/"2"'


def test_put_unchanged_keeps_version(client: TestClient) -> None:
    """A PUT that changes nothing does not bump the version."""
    created = create(client)
    response = client.put(f"{USERS}/{created['id']}", json=created)
    assert response.json()["meta"]["version"] == created["meta"]["version"]


def test_put_without_username_is_400(client: TestClient) -> None:
    """userName is required: a PUT without it is an invalidValue error and changes nothing."""
    created = create(client)
    response = client.put(f"{USERS}/{created['id']}", json={"name": {"givenName": "x"}})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert client.get(f"{USERS}/{created['id']}").json() == created


def test_patch_returns_200_with_resource(client: TestClient) -> None:
    """PATCH answers 200 with the whole updated user."""
    created = create(client)
    response = client.patch(
        f"{USERS}/{created['id']}",
        json=patch({"op": "replace", "path": "name.givenName", "value": "Barbara"}),
    )
    assert response.status_code == 200
    assert response.json()["name"]["givenName"] == "Barbara"
    assert response.headers["etag"] == 'W/"2"'


def test_failed_patch_changes_nothing(client: TestClient) -> None:
    """A PATCH whose second operation fails leaves the user exactly as it was."""
    created = create(client)
    response = client.patch(
        f"{USERS}/{created['id']}",
        json=patch(
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "noSuchAttribute", "value": "x"},
        ),
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidPath"
    assert client.get(f"{USERS}/{created['id']}").json() == created


def test_patch_read_only_attribute_is_mutability_error(client: TestClient) -> None:
    """Changing id by PATCH is refused with scimType mutability."""
    created = create(client)
    response = client.patch(
        f"{USERS}/{created['id']}", json=patch({"op": "replace", "path": "id", "value": "new"})
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "mutability"


def test_delete_then_gone(client: TestClient) -> None:
    """DELETE answers 204; the user is then 404 and absent from filters."""
    created = create(client)
    assert client.delete(f"{USERS}/{created['id']}").status_code == 204
    assert client.get(f"{USERS}/{created['id']}").status_code == 404
    found = client.get(USERS, params={"filter": f'userName eq "{created["userName"]}"'}).json()
    assert found["totalResults"] == 0
    assert client.delete(f"{USERS}/{created['id']}").status_code == 404


def test_username_unique_case_insensitively(client: TestClient) -> None:
    """A second user whose userName differs only in case is a 409 uniqueness error."""
    create(client, userName="Case.Test@example.com")
    response = client.post(USERS, json=user_body(userName="case.test@EXAMPLE.com"))
    assert response.status_code == 409
    body = response.json()
    assert body["scimType"] == "uniqueness"
    assert "userName" in body["detail"]


def test_external_id_unique(client: TestClient) -> None:
    """Two users of one company cannot share an externalId."""
    create(client, externalId="same")
    response = client.post(USERS, json=user_body(externalId="same"))
    assert response.status_code == 409
    assert "externalId" in response.json()["detail"]


def test_rename_onto_taken_username_is_409(client: TestClient) -> None:
    """Renaming a user to a taken userName is refused and the user keeps its name."""
    create(client, userName="taken")
    other = create(client)
    response = client.patch(
        f"{USERS}/{other['id']}",
        json=patch({"op": "replace", "path": "userName", "value": "TAKEN"}),
    )
    assert response.status_code == 409
    assert client.get(f"{USERS}/{other['id']}").json()["userName"] == other["userName"]


def test_if_match_mismatch_is_412(client: TestClient) -> None:
    """A write with a stale If-Match is refused with 412 and changes nothing."""
    created = create(client)
    url = f"{USERS}/{created['id']}"
    body = patch({"op": "replace", "path": "title", "value": "x"})
    assert client.patch(url, json=body, headers={"If-Match": 'W/"7"'}).status_code == 412
    assert client.delete(url, headers={"If-Match": 'W/"7"'}).status_code == 412
    ok = client.patch(url, json=body, headers={"If-Match": created["meta"]["version"]})
    assert ok.status_code == 200


def test_if_none_match_current_is_304(client: TestClient) -> None:
    """GET with If-None-Match naming the current version answers 304 without a body."""
    created = create(client)
    url = f"{USERS}/{created['id']}"
    response = client.get(url, headers={"If-None-Match": created["meta"]["version"]})
    assert response.status_code == 304
    assert response.content == b""
    assert client.get(url, headers={"If-None-Match": 'W/"99"'}).status_code == 200


def test_attributes_and_excluded_attributes_on_get(client: TestClient) -> None:
    """attributes keeps only what is named (plus id, schemas); excludedAttributes drops it."""
    created = create(client, **{ENTERPRISE: {"department": "Sales", "costCenter": "42"}})
    url = f"{USERS}/{created['id']}"
    only = client.get(
        url, params={"attributes": f"userName,name.givenName,{ENTERPRISE}:department"}
    )
    body = only.json()
    assert set(body) == {"schemas", "id", "userName", "name", ENTERPRISE}
    assert body["name"] == {"givenName": created["name"]["givenName"]}
    assert body[ENTERPRISE] == {"department": "Sales"}
    without = client.get(url, params={"excludedAttributes": "emails,name.familyName"}).json()
    assert "emails" not in without
    assert "familyName" not in without["name"]
    assert without["userName"] == created["userName"]


def test_list_paging_is_stable_and_one_based(client: TestClient) -> None:
    """startIndex/count page through every user once, in a stable order."""
    ids = {create(client)["id"] for _ in range(7)}
    seen: list[str] = []
    for start in (1, 4, 7):
        page = client.get(USERS, params={"startIndex": start, "count": 3}).json()
        assert page["startIndex"] == start
        assert page["totalResults"] == 7
        seen += [r["id"] for r in page["Resources"]]
    assert len(seen) == 7
    assert set(seen) == ids


def test_count_zero_returns_only_total(client: TestClient) -> None:
    """count=0 answers the total with no resources (RFC 7644 §3.4.2.4)."""
    create(client)
    create(client)
    page = client.get(USERS, params={"count": 0}).json()
    assert page["totalResults"] == 2
    assert page["Resources"] == []
    assert page["itemsPerPage"] == 0


def test_out_of_range_paging_values_are_clamped(client: TestClient) -> None:
    """startIndex below 1 means 1 and a negative count means 0; a non-number is a 400."""
    create(client)
    assert client.get(USERS, params={"startIndex": -5}).json()["startIndex"] == 1
    assert client.get(USERS, params={"count": -1}).json()["Resources"] == []
    response = client.get(USERS, params={"count": "ten"})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


def test_cursor_paging_walks_every_user(client: TestClient) -> None:
    """RFC 9865 cursors: an empty cursor starts, nextCursor continues, the last page has none."""
    ids = {create(client)["id"] for _ in range(5)}
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        page = client.get(USERS, params={"cursor": cursor, "count": 2}).json()
        seen += [r["id"] for r in page["Resources"]]
        if "nextCursor" not in page:
            break
        cursor = page["nextCursor"]
    assert sorted(seen) == sorted(ids)
    bad = client.get(USERS, params={"cursor": "garbage!"})
    assert bad.status_code == 400
    assert bad.json()["scimType"] == "invalidCursor"


def test_sort_by_and_order(client: TestClient) -> None:
    """sortBy orders case-insensitively by the attribute; sortOrder=descending reverses it."""
    for name in ("charlie", "Alpha", "bravo"):
        create(client, userName=name)
    asc = client.get(USERS, params={"sortBy": "userName"}).json()["Resources"]
    assert [u["userName"] for u in asc] == ["Alpha", "bravo", "charlie"]
    desc = client.get(USERS, params={"sortBy": "userName", "sortOrder": "descending"}).json()
    assert [u["userName"] for u in desc["Resources"]] == ["charlie", "bravo", "Alpha"]


def test_search_endpoint_accepts_search_request(client: TestClient) -> None:
    """POST /Users/.search takes a SearchRequest body with filter, attributes and count."""
    created = create(client, userName="searchme")
    create(client)
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName eq "SEARCHME"',
        "attributes": ["userName"],
        "count": 10,
    }
    page = client.post(f"{USERS}/.search", json=body).json()
    assert page["totalResults"] == 1
    assert page["Resources"] == [
        {"schemas": created["schemas"], "id": created["id"], "userName": "searchme"}
    ]


def test_root_search_spans_users_and_groups(client: TestClient) -> None:
    """POST /.search returns users and groups matching the filter in one ListResponse."""
    user = create(client, displayName="Shared Name")
    group = client.post("/scim/v2/Groups", json={"displayName": "Shared Name"}).json()
    body = {"filter": 'displayName eq "shared name"'}
    page = client.post("/scim/v2/.search", json=body).json()
    assert page["totalResults"] == 2
    assert {r["id"] for r in page["Resources"]} == {user["id"], group["id"]}


def test_generic_dialect_ignores_company_id(client: TestClient) -> None:
    """/scim/v2 never stores a client's companyId: the token decides the company."""
    other = "5b3e3a57-1f38-4c1c-9a3a-2f0f1d0e9c11"
    created = create(client, **{ENTERPRISE: {"companyId": other, "department": "D"}})
    assert created[ENTERPRISE] == {"department": "D"}
