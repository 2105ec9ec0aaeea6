"""SCIM v4 Groups: Concur's fixed role catalogue, membership only (reference/concur-v4.md §5)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select
from support.factories import patch, user_body
from support.sql import insert_users, recorded_sql

from concur_scim.scim.role_catalogue import SAP_GROUP, catalogue, company_catalogue
from concur_scim.store.tables import companies, role_groups, role_members, user_counts, users

GROUPS = "/scim/v4/Groups"
USERS_V2 = "/scim/v2/Users"
SCIM_JSON = "application/scim+json"

EXPECTED_CATALOGUE = {
    "Company Administrator": "CompanyAdmin",
    "Expense User": "EXP_USER",
    "Expense Approver": "EXP_APPROVER",
    "Attendee Administrator": "EXP_ATTENDEE_ADMIN",
    "Billing Attributes User": "SHD_BILLING_ATTRIBUTES_USER",
    "Budget Administrator": "SHD_BUDGET_ADMIN",
    "Budget Approver/Manager": "SHD_BUDGET_APPROVER",
    "Budget Owner": "SHD_BUDGET_OWNER",
    "Budget Viewer": "SHD_BUDGET_VIEWER",
    "Expense Processor": "EXP_PROCESSOR",
    "Expense Proxy Logon": "EXP_PROXY_USER",
    "Expense Receipt Processor": "EXP_RECEIPT_PROCESSOR",
    "Payroll Administrator": "SHD_PAYROLL_ADMIN",
    "Reimbursement Auditor": "EXP_REIMBURSEMENT_AUDITOR",
    "Reimbursement Manager": "EXP_REIMBURSEMENT_APPROVER",
    "Expense Configuration Administrator": "EXP_CONFIG_ADMIN",
    "Expense Configuration Administrator (Restricted)": "EXP_CONFIG_ADMIN_RO",
    "Request User": "REQ_USER",
    "Request Approver": "REQ_APPROVER",
    "Request Proxy Logon": "REQ_PROXY_USER",
    "TMC Agent": "REQ_PROCESSOR",
    "Travel User": "TravelUser",
    "Report User": "ReportUser",
}


# ----------------------------------------------------------------------------- helpers


def company_of(client: TestClient) -> str:
    """The test application's default company id."""
    company: str = client.app.state.default_company_id  # type: ignore[attr-defined]
    return company


def gid(client: TestClient, code: str) -> str:
    """The id of catalogue group ``code`` in the default company."""
    return next(g for g, r in company_catalogue(company_of(client)) if r.external_name == code)


def new_user(client: TestClient, **overrides: Any) -> str:
    """A user created through the API; its id."""
    response = client.post(USERS_V2, json=user_body(**overrides))
    assert response.status_code == 201, response.text
    user_id: str = response.json()["id"]
    return user_id


def member_ids(body: dict[str, Any]) -> list[str]:
    """The member ids of a rendered group, in order."""
    return [m["value"] for m in body["members"]]


def add(client: TestClient, group_id: str, *ids: str) -> Any:
    """PATCH-add ``ids`` to the group."""
    value = [{"value": i} for i in ids]
    return client.patch(
        f"{GROUPS}/{group_id}", json=patch({"op": "add", "path": "members", "value": value})
    )


def assert_error(response: Any, status: int, scim_type: str | None) -> None:
    """``response`` is a SCIM error with ``status`` and ``scimType``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type


@pytest.fixture
def other_company(client: TestClient, engine: Engine) -> Iterator[str]:
    """A second company row, removed (with its users and memberships) after the test."""
    company = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            companies.insert().values(
                id=company, name="other", is_default=False, created=datetime.now(UTC)
            )
        )
    yield company
    with engine.begin() as conn:
        conn.execute(delete(role_members).where(role_members.c.company_id == company))
        conn.execute(delete(role_groups).where(role_groups.c.company_id == company))
        conn.execute(delete(users).where(users.c.company_id == company))
        conn.execute(delete(user_counts).where(user_counts.c.company_id == company))
        conn.execute(delete(companies).where(companies.c.id == company))


# ----------------------------------------------------------------------------- catalogue


def test_catalogue_lists_the_23_fixed_groups(client: TestClient) -> None:
    """GET /Groups returns Appendix A2: 23 authorization groups, only EXP_CONFIG_ADMIN readOnly."""
    response = client.get(GROUPS)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (23, 23, 1)
    found = {g["displayName"]: g[SAP_GROUP]["externalName"] for g in body["Resources"]}
    assert found == EXPECTED_CATALOGUE
    for group in body["Resources"]:
        ext = group[SAP_GROUP]
        assert group["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Group", SAP_GROUP]
        assert ext["type"] == "authorization"
        readonly = ext["externalName"] == "EXP_CONFIG_ADMIN"
        assert ext["supportedOperations"] == ("readOnly" if readonly else "userOnlyMembership")
        assert group["members"] == []
        assert group["meta"]["resourceType"] == "Group"
        assert group["meta"]["location"].endswith(f"{GROUPS}/{group['id']}")
        assert group["meta"]["members.totalResults"] == 0


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ('displayName eq "Travel User"', ["TravelUser"]),
        ('displayname EQ "travel user"', ["TravelUser"]),
        (f'{SAP_GROUP}:type eq "authorization"', list(EXPECTED_CATALOGUE.values())),
        (f'{SAP_GROUP}:type eq "userGroup"', []),
        (
            f'displayName eq "Report User" and {SAP_GROUP}:type eq "authorization"',
            ["ReportUser"],
        ),
        (
            'displayName eq "Report User" or displayName eq "TMC Agent"',
            ["REQ_PROCESSOR", "ReportUser"],
        ),
        ('displayName eq "No Such Group"', []),
    ],
)
def test_catalogue_filters(client: TestClient, flt: str, expected: list[str]) -> None:
    """The two documented filters (and and/or of them) select from the catalogue."""
    response = client.get(GROUPS, params={"filter": flt})
    assert response.status_code == 200, response.text
    body = response.json()
    codes = [g[SAP_GROUP]["externalName"] for g in body["Resources"]]
    assert sorted(codes) == sorted(expected)
    assert body["totalResults"] == len(expected)


@pytest.mark.parametrize(
    "flt",
    [
        'displayName co "User"',
        f'{SAP_GROUP}:externalName eq "EXP_USER"',
        "displayName pr",
        'not (displayName eq "Travel User")',
        'id eq "x"',
        "displayName eq",
    ],
)
def test_catalogue_refuses_other_filters(client: TestClient, flt: str) -> None:
    """Any other attribute, operator or a malformed filter is 400 invalidFilter."""
    assert_error(client.get(GROUPS, params={"filter": flt}), 400, "invalidFilter")


def test_catalogue_paging(client: TestClient) -> None:
    """startIndex/count page the catalogue; count 0 gives only the total; bad values are 400."""
    body = client.get(GROUPS, params={"startIndex": 21, "count": 5}).json()
    assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (23, 3, 21)
    names = [g["displayName"] for g in body["Resources"]]
    assert names == ["TMC Agent", "Travel User", "Report User"]
    empty = client.get(GROUPS, params={"count": 0}).json()
    assert (empty["totalResults"], empty["Resources"]) == (23, [])
    capped = client.get(GROUPS, params={"count": 100_000}).json()
    assert capped["itemsPerPage"] == 23
    assert_error(client.get(GROUPS, params={"count": "ten"}), 400, "invalidValue")


def test_excluded_members_never_reads_memberships(client: TestClient) -> None:
    """excludedAttributes=members drops members and their meta counters without any member query."""
    add(client, gid(client, "EXP_USER"), new_user(client))
    with recorded_sql(client) as sql:
        listed = client.get(GROUPS, params={"excludedAttributes": "members"})
        one = client.get(f"{GROUPS}/{gid(client, 'EXP_USER')}?excludedAttributes=members")
    assert (listed.status_code, one.status_code) == (200, 200)
    for group in [*listed.json()["Resources"], one.json()]:
        assert "members" not in group
        assert not any(k.startswith("members.") for k in group["meta"])
    assert not [s for s in sql if "role_members" in s]


def test_group_ids_are_stable_uuids(client: TestClient) -> None:
    """Each group's id is the same on every read and reads back by GET /Groups/{id}."""
    first = {g["displayName"]: g["id"] for g in client.get(GROUPS).json()["Resources"]}
    second = {g["displayName"]: g["id"] for g in client.get(GROUPS).json()["Resources"]}
    assert first == second
    assert len(set(first.values())) == 23
    for name, group_id in first.items():
        assert uuid.UUID(group_id).version == 5
        response = client.get(f"{GROUPS}/{group_id}")
        assert response.status_code == 200
        assert response.json()["displayName"] == name
    assert first["Travel User"] == gid(client, "TravelUser")


def test_group_ids_differ_per_company_and_stay_isolated(
    client: TestClient, engine: Engine, other_company: str
) -> None:
    """Another company has other ids for the same roles; its ids and users are invisible here."""
    mine = dict(company_catalogue(company_of(client)))
    theirs = dict(company_catalogue(other_company))
    assert not set(mine) & set(theirs)
    assert sorted(r.external_name for r in mine.values()) == sorted(
        r.external_name for r in theirs.values()
    )
    their_user = insert_users(engine, other_company, 1)[0]
    their_travel = next(g for g, r in theirs.items() if r.external_name == "TravelUser")
    assert_error(client.get(f"{GROUPS}/{their_travel}"), 404, None)
    assert_error(add(client, their_travel, new_user(client)), 404, None)
    assert_error(add(client, gid(client, "TravelUser"), their_user), 400, "invalidValue")
    with engine.begin() as conn:  # a membership of the other company stays there
        conn.execute(
            role_members.insert().values(
                company_id=other_company,
                role="TravelUser",
                user_id=their_user,
                added=datetime.now(UTC),
            )
        )
    travel = client.get(f"{GROUPS}/{gid(client, 'TravelUser')}").json()
    assert travel["members"] == []
    assert travel["meta"]["members.totalResults"] == 0


def test_unknown_group_is_404(client: TestClient) -> None:
    """An id outside the company's catalogue is 404 for GET, PATCH and PUT."""
    url = f"{GROUPS}/{uuid.uuid4()}"
    assert_error(client.get(url), 404, None)
    assert_error(client.put(url, json={"members": []}), 404, None)
    assert_error(add(client, url.rsplit("/", 1)[1], new_user(client)), 404, None)


def test_post_and_delete_are_405(client: TestClient) -> None:
    """The catalogue is fixed: POST /Groups and DELETE /Groups/{id} answer a SCIM 405."""
    assert_error(client.post(GROUPS, json={"displayName": "Mine"}), 405, None)
    assert_error(client.delete(f"{GROUPS}/{gid(client, 'EXP_USER')}"), 405, None)
    assert client.get(GROUPS).json()["totalResults"] == 23


# ----------------------------------------------------------------------------- membership


def test_patch_add_remove_replace(client: TestClient) -> None:
    """add, remove by filter, Entra value-list remove, replace and remove-all each answer 204."""
    group_id = gid(client, "EXP_USER")
    url = f"{GROUPS}/{group_id}"
    u1, u2, u3, u4 = (new_user(client) for _ in range(4))
    before = client.get(url).json()["meta"]["lastModified"]

    response = add(client, group_id, u1, u2)
    assert response.status_code == 204, response.text
    assert response.content == b""
    body = client.get(url).json()
    assert sorted(member_ids(body)) == sorted([u1, u2])  # one request: ordered by id
    for member in body["members"]:
        assert member["$ref"] == f"http://testserver/scim/v4/Users/{member['value']}"
    assert body["meta"]["lastModified"] >= before

    steps: list[tuple[dict[str, Any], list[str]]] = [
        ({"op": "Add", "value": {"members": [{"value": u3}, {"value": u1}]}}, [u1, u2, u3]),
        ({"op": "remove", "path": f'members[value eq "{u1}"]'}, [u2, u3]),
        ({"op": "Remove", "path": "members", "value": [{"value": u2}]}, [u3]),
        ({"op": "replace", "path": "members", "value": [{"value": u4}, {"value": u1}]}, [u4, u1]),
        ({"op": "remove", "path": "members"}, []),
    ]
    for operation, expected in steps:
        response = client.patch(url, json=patch(operation))
        assert response.status_code == 204, (operation, response.text)
        assert set(member_ids(client.get(url).json())) == set(expected), operation


def test_member_paging_and_dotted_meta_keys(client: TestClient) -> None:
    """members.startIndex/members.count page the members; meta carries Concur's dotted counters."""
    group_id = gid(client, "REQ_USER")
    ids = [new_user(client) for _ in range(5)]
    for user_id in ids:  # one at a time, so the join order is the creation order
        assert add(client, group_id, user_id).status_code == 204
    url = f"{GROUPS}/{group_id}"
    full = client.get(url).json()
    assert member_ids(full) == ids
    assert {k: v for k, v in full["meta"].items() if k.startswith("members.")} == {
        "members.totalResults": 5,
        "members.startIndex": 1,
        "members.itemsPerPage": 5,
        "members.cnt": 5,
    }
    page = client.get(url, params={"members.startIndex": 2, "members.count": 2}).json()
    assert member_ids(page) == ids[1:3]
    assert page["meta"]["members.totalResults"] == 5
    assert page["meta"]["members.startIndex"] == 2
    assert page["meta"]["members.itemsPerPage"] == 2
    assert page["meta"]["members.cnt"] == 2
    beyond = client.get(url, params={"members.startIndex": 9}).json()
    assert (beyond["members"], beyond["meta"]["members.totalResults"]) == ([], 5)
    zero = client.get(url, params={"members.count": 0}).json()
    assert (zero["members"], zero["meta"]["members.itemsPerPage"]) == ([], 0)
    assert_error(client.get(url, params={"members.count": "x"}), 400, "invalidValue")


def test_put_replaces_the_member_list(client: TestClient) -> None:
    """PUT {members:[{value,$ref}]} replaces the members and answers 200 with the group."""
    group_id = gid(client, "EXP_APPROVER")
    url = f"{GROUPS}/{group_id}"
    u1, u2, u3 = (new_user(client) for _ in range(3))
    add(client, group_id, u1, u2)
    members = [{"value": u, "$ref": f"http://x/scim/v4/Users/{u}"} for u in (u2, u3)]
    response = client.put(url, json={"members": members})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body = response.json()
    assert (body["id"], set(member_ids(body))) == (group_id, {u2, u3})
    assert body["meta"]["members.totalResults"] == 2
    echoed = {**body, "members": [{"value": u1}]}  # the whole group echoed back is accepted
    assert client.put(url, json=echoed).status_code == 200
    assert member_ids(client.get(url).json()) == [u1]
    assert client.put(url, json={"members": []}).json()["members"] == []
    assert_error(client.put(url, json={"displayName": "Mine"}), 400, "invalidValue")
    renamed = {"displayName": "Mine", "members": []}
    assert_error(client.put(url, json=renamed), 400, "mutability")


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "displayName", "value": "Something else"},
        {"op": "replace", "path": f"{SAP_GROUP}:externalName", "value": "EXP_USER2"},
        {"op": "remove", "path": "displayName"},
        {"op": "replace", "value": {"displayName": "Something else"}},
        {"op": "replace", "value": {SAP_GROUP: {"supportedOperations": "readOnly"}}},
        {"op": "add", "path": "externalId", "value": "abc"},
    ],
)
def test_patch_of_other_attributes_is_mutability(
    client: TestClient, operation: dict[str, Any]
) -> None:
    """Only members can change: any other attribute is 400 mutability, and nothing is applied."""
    url = f"{GROUPS}/{gid(client, 'EXP_USER')}"
    user_id = new_user(client)
    add_first = {"op": "add", "path": "members", "value": [{"value": user_id}]}
    assert_error(client.patch(url, json=patch(add_first, operation)), 400, "mutability")
    assert client.get(url).json()["members"] == []


def test_patch_echoing_current_values_is_accepted(client: TestClient) -> None:
    """A value equal to the current one (a client echoing the group) changes nothing: 204."""
    url = f"{GROUPS}/{gid(client, 'EXP_USER')}"
    echo = {"op": "replace", "value": {"displayName": "Expense User", "schemas": ["x"]}}
    same = {"op": "replace", "path": f"{SAP_GROUP}:type", "value": "authorization"}
    assert client.patch(url, json=patch(echo, same)).status_code == 204


def test_read_only_group_refuses_membership_changes(client: TestClient) -> None:
    """EXP_CONFIG_ADMIN is readOnly: PATCH and PUT of its members are 400 mutability."""
    group_id = gid(client, "EXP_CONFIG_ADMIN")
    user_id = new_user(client)
    assert_error(add(client, group_id, user_id), 400, "mutability")
    members = {"members": [{"value": user_id}]}
    assert_error(client.put(f"{GROUPS}/{group_id}", json=members), 400, "mutability")
    assert client.get(f"{GROUPS}/{group_id}").json()["members"] == []


@pytest.mark.parametrize("code", ["TravelUser", "ReportUser"])
def test_travel_and_reporting_roles_need_active_users(client: TestClient, code: str) -> None:
    """An inactive user cannot get a Travel or Reporting role (400), but can get others (204)."""
    inactive = new_user(client, active=False)
    assert_error(add(client, gid(client, code), inactive), 400, "invalidValue")
    put = client.put(f"{GROUPS}/{gid(client, code)}", json={"members": [{"value": inactive}]})
    assert_error(put, 400, "invalidValue")
    assert add(client, gid(client, code), new_user(client)).status_code == 204
    assert add(client, gid(client, "EXP_USER"), inactive).status_code == 204


def test_unknown_member_is_invalid_value_and_nothing_applies(client: TestClient) -> None:
    """An unknown user id is 400 invalidValue, and the request's earlier operations roll back."""
    group_id = gid(client, "EXP_USER")
    known = new_user(client)
    body = patch(
        {"op": "add", "path": "members", "value": [{"value": known}]},
        {"op": "add", "path": "members", "value": [{"value": str(uuid.uuid4())}]},
    )
    assert_error(client.patch(f"{GROUPS}/{group_id}", json=body), 400, "invalidValue")
    assert client.get(f"{GROUPS}/{group_id}").json()["members"] == []
    assert_error(add(client, group_id, gid(client, "REQ_USER")), 400, "invalidValue")
    assert_error(
        client.patch(f"{GROUPS}/{group_id}", json=patch({"op": "add", "path": "members"})),
        400,
        "invalidValue",
    )


def test_hard_delete_cascades_memberships(client: TestClient, engine: Engine) -> None:
    """Hard-deleting a user removes its role rows through the foreign key's ON DELETE CASCADE."""
    user_id = new_user(client)
    for code in ("EXP_USER", "TravelUser"):
        assert add(client, gid(client, code), user_id).status_code == 204
    assert client.delete(f"{USERS_V2}/{user_id}").status_code == 204
    with engine.connect() as conn:
        left = conn.execute(
            select(func.count()).select_from(role_members).where(role_members.c.user_id == user_id)
        ).scalar_one()
    assert left == 0
    assert client.get(f"{GROUPS}/{gid(client, 'EXP_USER')}").json()["members"] == []


def test_soft_deleted_user_is_no_longer_a_member(client: TestClient, engine: Engine) -> None:
    """A SCIM v4 (soft) deleted user keeps its row but disappears from member lists and counts."""
    group_id = gid(client, "EXP_USER")
    keep, gone = new_user(client), new_user(client)
    add(client, group_id, keep, gone)
    assert client.delete(f"/scim/v4/Users/{gone}").status_code == 204
    body = client.get(f"{GROUPS}/{group_id}").json()
    assert member_ids(body) == [keep]
    assert body["meta"]["members.totalResults"] == 1
    with engine.connect() as conn:
        rows = conn.execute(select(role_members.c.user_id).where(role_members.c.user_id == gone))
        assert [r.user_id for r in rows] == [gone]
    assert_error(add(client, group_id, gone), 400, "invalidValue")


# ----------------------------------------------------------------------------- cost


def _shape(statements: list[str]) -> list[str]:
    """Statements with IN-lists folded, so runs on different ids compare."""
    return [re.sub(r"\(\s*(\?|%\(\w+\)s)(,\s*(\?|%\(\w+\)s))*\s*\)", "(…)", s) for s in statements]


def _one_member_change_sql(client: TestClient, engine: Engine, code: str, size: int) -> list[str]:
    company = company_of(client)
    existing = insert_users(engine, company, size)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            role_members.insert(),
            [{"company_id": company, "role": code, "user_id": u, "added": now} for u in existing],
        )
    newcomer = new_user(client)
    url = f"{GROUPS}/{gid(client, code)}"
    with recorded_sql(client) as sql:
        added = add(client, gid(client, code), newcomer)
        removed = client.patch(
            url, json=patch({"op": "remove", "path": f'members[value eq "{newcomer}"]'})
        )
    assert (added.status_code, removed.status_code) == (204, 204)
    return sql


def test_one_member_change_costs_the_same_at_any_group_size(
    client: TestClient, engine: Engine
) -> None:
    """Adding and removing one member runs identical SQL on a group of 2 and of 2,000 members."""
    small = _one_member_change_sql(client, engine, "EXP_PROCESSOR", 2)
    large = _one_member_change_sql(client, engine, "REQ_APPROVER", 2000)
    assert _shape(small) == _shape(large)
    touching = [s for s in large if "role_members" in s]
    assert touching, large
    for statement in touching:  # every statement names the member: no scan of the group
        assert "user_id IN" in statement or "INSERT" in statement, statement
    page = client.get(
        f"{GROUPS}/{gid(client, 'REQ_APPROVER')}", params={"members.count": 5000}
    ).json()
    assert page["meta"]["members.totalResults"] == 2000
    assert len(page["members"]) == page["meta"]["members.itemsPerPage"] == 1000


def test_catalogue_module_matches_the_reference() -> None:
    """The packaged data file holds exactly Appendix A2, Travel and Reporting active-only."""
    roles = catalogue()
    assert {r.display_name: r.external_name for r in roles} == EXPECTED_CATALOGUE
    assert {r.external_name for r in roles if r.active_users_only} == {"TravelUser", "ReportUser"}
    assert [r.external_name for r in roles if r.read_only] == ["EXP_CONFIG_ADMIN"]
