"""The Concur dialects over the one store: status codes, paging, filters, errors, conventions."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.factories import ENTERPRISE, patch

IDV4 = "/profile/identity/v4"
IDV41 = "/profile/identity/v4.1"
SCIMV4 = "/scim/v4"
SCIMV2 = "/scim/v2"
CONCUR_ERROR = "urn:ietf:params:scim:api:messages:concur:2.0:Error"
CONCUR_SEARCH = "urn:ietf:params:scim:api:messages:concur:2.0:SearchRequest"
SAP_USER = "urn:ietf:params:scim:schemas:extension:sap:2.0:User"
DIALECT_ROOTS = [SCIMV2, IDV4, IDV41, SCIMV4]
SHORT_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0"  # SCIM v4's spelling

_n = itertools.count(1)


def concur_user(**overrides: Any) -> dict[str, Any]:
    """A user valid for every Concur API (required attributes of reference §6.1)."""
    n = next(_n)
    body: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": f"concur{n}@example.com",
        "active": True,
        "name": {"givenName": f"Given{n}", "familyName": f"Family{n}"},
        "emails": [{"value": f"concur{n}@example.com", "type": "work"}],
        ENTERPRISE: {"employeeNumber": f"E{n:05d}", "department": "Sales"},
    }
    body.update(overrides)
    return body


def create(client: TestClient, root: str, **overrides: Any) -> dict[str, Any]:
    response = client.post(f"{root}/Users", json=concur_user(**overrides))
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_status_codes_follow_each_api(client: TestClient) -> None:
    """Identity v4/v4.1 answer 200 to a create, SCIM v4 and the generic dialect 201 (§9 item 2)."""
    expected = {SCIMV2: 201, IDV4: 200, IDV41: 200, SCIMV4: 201}
    for root, status in expected.items():
        response = client.post(f"{root}/Users", json=concur_user())
        assert response.status_code == status, (root, response.text)


@pytest.mark.parametrize("writer", DIALECT_ROOTS)
def test_user_written_anywhere_reads_back_everywhere(client: TestClient, writer: str) -> None:
    """A user created through one dialect reads back with the same data through every other."""
    created = create(client, writer, title="Buyer")
    for reader in DIALECT_ROOTS:
        got = client.get(f"{reader}/Users/{created['id']}")
        assert got.status_code == 200, (reader, got.text)
        body = got.json()
        assert body["userName"] == created["userName"]
        assert body["name"]["givenName"] == created["name"]["givenName"]
        assert body["title"] == "Buyer"
        assert body[ENTERPRISE]["employeeNumber"] == created[ENTERPRISE]["employeeNumber"]


def test_concur_dialects_show_integer_version_and_fixed_schemas(client: TestClient) -> None:
    """Concur responses carry meta.version as an integer and list core, enterprise and sap."""
    created = create(client, IDV4)
    assert created["meta"]["version"] == 1
    assert SAP_USER in created["schemas"]
    assert created["meta"]["location"].endswith(f"{IDV4}/Users/{created['id']}")
    generic = client.get(f"{SCIMV2}/Users/{created['id']}").json()
    assert generic["meta"]["version"] == 'W/"1"'


@pytest.mark.parametrize(
    "flt",
    [
        'userName eq "{userName}"',
        'employeeNumber eq "{employeeNumber}"',
        SHORT_ENTERPRISE + ':employeeNumber eq "{employeeNumber}"',
        f'{ENTERPRISE}:employeeNumber eq "{{employeeNumber}}"',
        'externalId eq "{externalId}"',
    ],
)
def test_identity_v4_filters_on_unique_attributes(client: TestClient, flt: str) -> None:
    """Identity v4 finds users by eq on userName, externalId and each employeeNumber spelling."""
    created = create(client, IDV4, externalId="ext-77")
    values = {
        "userName": created["userName"],
        "externalId": "ext-77",
        "employeeNumber": created[ENTERPRISE]["employeeNumber"],
    }
    page = client.get(f"{IDV4}/Users", params={"filter": flt.format(**values)}).json()
    assert [u["id"] for u in page["Resources"]] == [created["id"]]


@pytest.mark.parametrize(
    "flt", ['userName co "x"', 'title eq "x"', 'userName eq "a" and active eq true']
)
def test_identity_v4_refuses_other_filters(client: TestClient, flt: str) -> None:
    """Identity v4 answers 400 invalidFilter, with Concur's error extension, to other filters."""
    response = client.get(f"{IDV4}/Users", params={"filter": flt})
    assert response.status_code == 400
    body = response.json()
    assert body["scimType"] == "invalidFilter"
    assert CONCUR_ERROR in body["schemas"]
    [message] = body[CONCUR_ERROR]["messages"]
    assert message["type"] == "error"
    assert message["message"] == body["detail"]


def test_identity_v4_paging_defaults(client: TestClient) -> None:
    """Identity v4 pages by index with 10 per page by default and at most 100 (§4.2)."""
    for _ in range(12):
        create(client, SCIMV2)
    page = client.get(f"{IDV4}/Users").json()
    assert page["itemsPerPage"] == 10
    assert page["totalResults"] == 12
    assert client.get(f"{IDV4}/Users", params={"count": 500}).json()["itemsPerPage"] == 12
    spc = client.get(f"{IDV4}/ServiceProviderConfig").json()
    assert spc["pagination"]["maxPageSize"] == 100
    assert spc["pagination"]["cursor"] == {"supported": False}  # Identity's swagger shape


def test_identity_v41_pages_by_cursor_only(client: TestClient) -> None:
    """Identity v4.1 lists by cursor without being asked, rejects startIndex and filters."""
    ids = {create(client, SCIMV2)["id"] for _ in range(5)}
    seen: list[str] = []
    params: dict[str, Any] = {"count": 2}
    for _ in range(5):
        page = client.get(f"{IDV41}/Users", params=params).json()
        assert page["totalResults"] == 5
        seen += [u["id"] for u in page["Resources"]]
        if "nextCursor" not in page:
            break
        params = {"count": 2, "cursor": page["nextCursor"]}
    assert sorted(seen) == sorted(ids)
    assert client.get(f"{IDV41}/Users", params={"startIndex": 1}).status_code == 400
    refused = client.get(f"{IDV41}/Users", params={"filter": 'userName eq "x"'})
    assert refused.status_code == 400
    assert refused.json()["scimType"] == "invalidFilter"


def test_identity_v41_search_accepts_concur_and_rfc_urns(client: TestClient) -> None:
    """POST /Users/.search takes Concur's SearchRequest URN or the RFC's, and needs one."""
    created = create(client, IDV41)
    flt = f'userName eq "{created["userName"]}"'
    for urn in (CONCUR_SEARCH, "urn:ietf:params:scim:api:messages:2.0:SearchRequest"):
        page = client.post(f"{IDV41}/Users/.search", json={"schemas": [urn], "filter": flt})
        assert page.status_code == 200
        assert [u["id"] for u in page.json()["Resources"]] == [created["id"]]
    missing = client.post(f"{IDV41}/Users/.search", json={"filter": flt})
    assert missing.status_code == 400
    assert missing.json()["scimType"] == "invalidSyntax"


@pytest.mark.parametrize(
    ("flt", "ok"),
    [
        ('emails[type eq "work" and value co "@example.com"]', True),
        ('emails[type eq "work" or type eq "home"]', True),
        ('name.familyName sw "Fam" and not (active eq false)', True),
        (f'{ENTERPRISE}:department eq "Sales"', True),
        ('emails[not (type eq "work")]', False),
        ('emails[type ne "work"]', False),
        ('emails[value ew "@a.com" and value ew "@b.com"]', False),
        ('title eq "x"', False),
    ],
)
def test_identity_v41_search_grammar(client: TestClient, flt: str, ok: bool) -> None:
    """The v4.1 search applies §4.3: its attribute list and the restrictions inside [...]."""
    create(client, IDV41)
    response = client.post(
        f"{IDV41}/Users/.search", json={"schemas": [CONCUR_SEARCH], "filter": flt}
    )
    if ok:
        assert response.status_code == 200, response.text
        assert response.json()["totalResults"] == 1
    else:
        assert response.status_code == 400
        assert response.json()["scimType"] == "invalidFilter"


def test_scim_v4_delete_is_soft(client: TestClient) -> None:
    """SCIM v4 DELETE hides the user everywhere but keeps it: its userName stays taken."""
    created = create(client, SCIMV4)
    assert client.delete(f"{SCIMV4}/Users/{created['id']}").status_code == 204
    for root in DIALECT_ROOTS:
        assert client.get(f"{root}/Users/{created['id']}").status_code == 404
    listed = client.get(
        f"{SCIMV2}/Users", params={"filter": f'userName eq "{created["userName"]}"'}
    )
    assert listed.json()["totalResults"] == 0
    again = client.post(f"{SCIMV4}/Users", json=concur_user(userName=created["userName"]))
    assert again.status_code == 409


def test_identity_delete_is_hard(client: TestClient) -> None:
    """Identity v4 DELETE removes the user: its userName can be used again."""
    created = create(client, IDV4)
    assert client.delete(f"{IDV4}/Users/{created['id']}").status_code == 204
    assert (
        client.post(f"{IDV4}/Users", json=concur_user(userName=created["userName"])).status_code
        == 200
    )


def test_duplicate_answers_concur_wording(client: TestClient) -> None:
    """A duplicate employeeNumber answers 409 with Concur's detail text (§4.5)."""
    created = create(client, IDV4)
    body = concur_user(**{ENTERPRISE: {"employeeNumber": created[ENTERPRISE]["employeeNumber"]}})
    response = client.post(f"{IDV4}/Users", json=body)
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "Principal with lookup type 'companyId,employeeNumber' with provided value already exists"
    )


def test_paths_tolerate_trailing_slash_and_case(client: TestClient) -> None:
    """/users/ and /USERS reach the Users collection, as Concur's own examples write them."""
    created = create(client, IDV4)
    for path in (f"{IDV4}/users/", f"{IDV4}/USERS", f"{IDV4}/Users/{created['id']}/"):
        assert client.get(path).status_code == 200, path
    assert client.get(f"{IDV4}/ResourceTypes/").status_code == 200


def test_correlation_id_echoed_or_minted(client: TestClient) -> None:
    """Every response carries concur-correlationid: the client's, or a new UUID."""
    echoed = client.get(f"{IDV4}/Users", headers={"concur-correlationid": "nameofapp"})
    assert echoed.headers["concur-correlationid"] == "nameofapp"
    minted = client.get(f"{SCIMV2}/Users/nope")
    assert len(minted.headers["concur-correlationid"]) == 36


def test_patch_through_identity_returns_full_resource(client: TestClient) -> None:
    """Identity PATCH answers 200 with the full resource and a bumped integer version."""
    created = create(client, IDV4)
    response = client.patch(
        f"{IDV4}/Users/{created['id']}",
        json=patch({"op": "replace", "path": "title", "value": "Lead"}),
    )
    assert response.status_code == 200
    assert response.json()["title"] == "Lead"
    assert response.json()["meta"]["version"] == 2


def test_concur_discovery_per_dialect(client: TestClient) -> None:
    """Each Concur API publishes its own ServiceProviderConfig values (§4.4)."""
    v41 = client.get(f"{IDV41}/ServiceProviderConfig").json()
    assert v41["pagination"]["index"] == {"supported": False}  # Identity's swagger shape
    assert v41["pagination"]["cursor"] == {"supported": True}
    assert v41["pagination"]["maxPageSize"] == 1000
    assert v41["sort"]["supported"] is False
    types = client.get(f"{SCIMV4}/ResourceTypes").json()["Resources"]
    assert {t["name"] for t in types} == {"User", "Group"}


def test_concur_manager_must_exist(client: TestClient) -> None:
    """manager.value must name an existing user, on the Concur dialects and (by default)
    on /scim/v2 too (tests/api/test_manager_references.py covers /scim/v2 in depth)."""
    manager = create(client, IDV4)
    ok = create(
        client, IDV4, **{ENTERPRISE: {"employeeNumber": "M-1", "manager": {"value": manager["id"]}}}
    )
    assert ok[ENTERPRISE]["manager"]["value"] == manager["id"]
    missing = {ENTERPRISE: {"employeeNumber": "M-2", "manager": {"value": "no-such-user"}}}
    refused = client.post(f"{IDV4}/Users", json=concur_user(**missing))
    assert refused.status_code == 400
    assert refused.json()["scimType"] == "invalidValue"
    assert "manager" in refused.json()["detail"]
    patched = client.patch(
        f"{IDV4}/Users/{ok['id']}",
        json=patch({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "ghost"}),
    )
    assert patched.status_code == 400
    generic = client.post(f"{SCIMV2}/Users", json=concur_user(**missing))
    assert generic.status_code == 400, generic.text
