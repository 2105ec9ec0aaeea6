"""Attribute read scopes (reference/concur-v4.md §7 "Scopes") on every answer that shows a
user and every filter that selects users, on SQLite and PostgreSQL.

A token sees addresses, emails, phones, birth date and emergency contacts only with
``identity.user.coresensitive.read``; enterprise data and entitlements only with
``identity.user.enterprise.read``; the SAP extension only with ``identity.user.sap.read``.
That holds for reads, for the answers to writes, for the legacy User v1.0 / Users v3.0
fields, and for filters and ``sortBy``: naming such an attribute without its scope is 403.
The expectations are written here, independently of ``api/scopes.py``.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support.factories import patch, user_body
from support.tokens import Tokens
from support.ups import ENTERPRISE, IDV4, UPS, identity

from concur_scim.scim.user_v1.fields import GET_FIELDS
from concur_scim.services import user_v1
from concur_scim.services.credentials import SCOPE_CATALOGUE

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
SAP = "urn:ietf:params:scim:schemas:extension:sap:2.0:User"
CORE_READ = "identity.user.core.read"
SENSITIVE_READ = "identity.user.coresensitive.read"
ENTERPRISE_READ = "identity.user.enterprise.read"
SAP_READ = "identity.user.sap.read"
SPEND_READ = "spend.user.general.read"
CORE_WRITE = "identity.user.coreenterprise.writeonly"
PROVISION_WRITE = "user.provision.write"
READ_ALL = [s for s in SCOPE_CATALOGUE if s.endswith(".read")]
V1_NS = "http://www.concursolutions.com/api/user/2011/02"
V3 = "/api/v3.0/common/users"
V41 = "/profile/identity/v4.1"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
# Every dialect that serves Users with the resource routes.
USER_ROOTS = ("/scim/v2", IDV4, V41, "/scim/v4")


@pytest.fixture
def tokens(client: TestClient, engine: Engine) -> Tokens:
    """A new company's token minter (``client`` first: the database is migrated and clean)."""
    del client
    return Tokens.for_new_company(engine, "Read scopes")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused_for(response: Any, scope: str) -> None:
    assert response.status_code == 403, (response.status_code, response.text)
    assert scope in response.text, response.text


def ok(response: Any) -> Any:
    assert response.status_code in (200, 201), (response.status_code, response.text)
    return response.json()


def rich_user() -> dict[str, Any]:
    """A core + enterprise user with a value for every attribute a read scope guards."""
    body = identity(costCenter="CC-9")
    return {
        **body,
        "title": "Clerk",
        "phoneNumbers": [{"value": "+15550100", "type": "mobile"}],
        "addresses": [{"locality": "Seattle", "type": "work"}],
    }


SENSITIVE_ATTRIBUTES = ("emails", "phoneNumbers", "addresses")


def assert_core_only(user: dict[str, Any]) -> None:
    """``user`` as a token holding no read scope beyond core sees it."""
    for name in (*SENSITIVE_ATTRIBUTES, "entitlements", ENTERPRISE):
        assert name not in user, (name, user)
    assert user["userName"], user


def assert_everything(user: dict[str, Any], sent: dict[str, Any]) -> None:
    """``user`` shows every guarded attribute ``sent`` had."""
    assert user["emails"][0]["value"] == sent["emails"][0]["value"], user
    assert user["phoneNumbers"][0]["value"] == sent["phoneNumbers"][0]["value"], user
    assert user["addresses"][0]["locality"] == "Seattle", user
    assert user[ENTERPRISE]["employeeNumber"] == sent[ENTERPRISE]["employeeNumber"], user
    assert user["entitlements"], user


# ----------------------------------------------------------------------------- User v1.0 / v3.0


def v1_profile(emp: str, login: str) -> str:
    fields = {
        "EmpId": emp,
        "FeedRecordNumber": "1",
        "LoginId": login,
        "Password": "Pw-1",
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "EmailAddress": login,
        "LedgerKey": "DEFAULT",
        "LocaleName": "en_US",
        "CtryCode": "US",
        "CrnKey": "USD",
        "OrgUnit1": "Sales",
        "ExpenseUser": "Y",
    }
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return f'<batch xmlns="{V1_NS}"><UserProfile>{inner}</UserProfile></batch>'


def v1_elements(response: Any) -> dict[str, str]:
    assert response.status_code == 200, response.text
    root: Element = fromstring(response.content)
    return {child.tag.removeprefix(f"{{{V1_NS}}}"): child.text or "" for child in root}


# Fields of the GET that only the token's core read scope covers.
V1_CORE_FIELDS = {"LoginId", "FirstName", "LastName", "Mi", "Active"}


def test_user_v1_get_shows_what_the_read_scopes_cover(client: TestClient, tokens: Tokens) -> None:
    """GET /api/user/v1.0/user leaves out EmpId, EmailAddress, the entitlement flags and the
    spend fields a token cannot read, in XML and JSON; every read scope shows all 47."""
    login = "v1.reader@example.com"
    posted = client.post(
        "/api/user/v1.0/users",
        content=v1_profile("E-V1", login),
        headers={**bearer(tokens.static(None)), "Content-Type": "application/xml"},
    )
    assert posted.status_code == 200, posted.text
    assert "<records-succeeded>1<" in posted.text, posted.text
    url = f"/api/user/v1.0/user?loginID={login}"
    core = bearer(tokens.jwt([CORE_READ]))
    shown = v1_elements(client.get(url, headers=core))
    assert set(shown) == V1_CORE_FIELDS, shown
    assert shown["LoginId"] == login
    as_json = client.get(url, headers={**core, "Accept": "application/json"})
    assert as_json.status_code == 200, as_json.text
    assert set(as_json.json()) == V1_CORE_FIELDS, as_json.json()
    sensitive = v1_elements(
        client.get(url, headers=bearer(tokens.jwt([CORE_READ, SENSITIVE_READ])))
    )
    assert sensitive["EmailAddress"] == login
    assert not {"EmpId", "ExpenseUser"} & set(sensitive), sensitive
    enterprise = v1_elements(
        client.get(url, headers=bearer(tokens.jwt([CORE_READ, ENTERPRISE_READ])))
    )
    assert (enterprise["EmpId"], enterprise["ExpenseUser"]) == ("E-V1", "Y"), enterprise
    assert not {"EmailAddress", "CtryCode"} & set(enterprise), enterprise
    spend = v1_elements(client.get(url, headers=bearer(tokens.jwt([CORE_READ, SPEND_READ]))))
    assert (spend["CtryCode"], spend["OrgUnit1"]) == ("US", "Sales"), spend
    assert "EmpId" not in spend, spend
    everything = v1_elements(client.get(url, headers=bearer(tokens.jwt(READ_ALL))))
    assert len(everything) == 47, sorted(everything)
    assert (everything["EmailAddress"], everything["EmpId"]) == (login, "E-V1")


def test_every_user_v1_field_names_what_it_is_read_from() -> None:
    """Each GET element (CrnCode too, the currency switch's other name) has its sources."""
    assert set(user_v1.GET_SOURCES) == {*GET_FIELDS, "CrnCode"}


def test_users_v3_list_shows_what_the_read_scopes_cover(client: TestClient, tokens: Tokens) -> None:
    """GET /api/v3.0/common/users leaves out PrimaryEmail, CellPhoneNumber (sensitive),
    EmployeeID and OrganizationUnit (enterprise) without their scopes."""
    sent = {
        **user_body(),
        "phoneNumbers": [{"value": "+15550100", "type": "mobile"}],
        ENTERPRISE: {"employeeNumber": "E-V3", "department": "Sales"},
    }
    ok(client.post("/scim/v2/Users", json=sent, headers=bearer(tokens.static(None))))
    core = ok(client.get(V3, headers=bearer(tokens.jwt([CORE_READ]))))["Items"][0]
    assert core["LoginID"] == sent["userName"]
    assert core["FirstName"] == sent["name"]["givenName"]
    for hidden in ("PrimaryEmail", "CellPhoneNumber", "EmployeeID", "OrganizationUnit"):
        assert hidden not in core, (hidden, core)
    full = ok(client.get(V3, headers=bearer(tokens.jwt(READ_ALL))))["Items"][0]
    assert full["PrimaryEmail"] == sent["emails"][0]["value"]
    assert full["CellPhoneNumber"] == "+15550100"
    assert full["EmployeeID"] == "E-V3"
    assert full["OrganizationUnit"] == "Sales"


def test_users_v3_search_parameters_need_the_read_scope(client: TestClient, tokens: Tokens) -> None:
    """employeeID and primaryEmail search what the token may not read: 403 without the scope
    (a legacy error naming it), found with it; user and lastName need core read only."""
    sent = {**user_body(), ENTERPRISE: {"employeeNumber": "E-V3S"}}
    ok(client.post("/scim/v2/Users", json=sent, headers=bearer(tokens.static(None))))
    email = sent["emails"][0]["value"]
    core = bearer(tokens.jwt([CORE_READ]))
    refused_for(client.get(V3, params={"employeeID": "E-V3S"}, headers=core), ENTERPRISE_READ)
    refused_for(client.get(V3, params={"primaryEmail": email}, headers=core), SENSITIVE_READ)
    for params in ({"user": sent["userName"]}, {"lastName": sent["name"]["familyName"]}):
        assert len(ok(client.get(V3, params=params, headers=core))["Items"]) == 1
    full = bearer(tokens.jwt(READ_ALL))
    for params in ({"employeeID": "E-V3S"}, {"primaryEmail": email}):
        assert len(ok(client.get(V3, params=params, headers=full))["Items"]) == 1


# ----------------------------------------------------------------------------- write answers


@pytest.mark.parametrize("root", USER_ROOTS)
def test_write_answers_show_only_what_the_read_scopes_cover(
    client: TestClient, tokens: Tokens, root: str
) -> None:
    """POST, PUT and PATCH answers leave out what the token cannot read, as a read does."""
    sent = rich_user()
    writer = bearer(tokens.jwt([CORE_WRITE, CORE_READ]))
    created = ok(client.post(f"{root}/Users", json=sent, headers=writer))
    assert_core_only(created)
    url = f"{root}/Users/{created['id']}"
    title = patch({"op": "replace", "path": "title", "value": "Boss"})
    patched = ok(client.patch(url, json=title, headers=writer))
    assert patched["title"] == "Boss"
    assert_core_only(patched)
    replaced = ok(client.put(url, json={**sent, "title": "Chief"}, headers=writer))
    assert replaced["title"] == "Chief"
    assert_core_only(replaced)
    write_only = ok(client.patch(url, json=title, headers=bearer(tokens.jwt([CORE_WRITE]))))
    assert_core_only(write_only)
    reader = bearer(tokens.jwt([CORE_WRITE, *READ_ALL]))
    assert_everything(ok(client.patch(url, json=title, headers=reader)), sent)


def test_ups_write_answers_show_only_what_the_read_scopes_cover(
    client: TestClient, tokens: Tokens
) -> None:
    """UPS POST/PUT/PATCH /Users answer the identity view trimmed to the read scopes."""
    sent = rich_user()
    writer = bearer(tokens.jwt([PROVISION_WRITE, CORE_WRITE]))
    created = ok(client.post(f"{UPS}/Users", json=sent, headers=writer))
    assert_core_only(created)
    assert created["meta"]["provisionId"]
    url = f"{UPS}/Users/{created['id']}"
    assert_core_only(ok(client.put(url, json={**sent, "title": "Chief"}, headers=writer)))
    title = patch({"op": "replace", "path": "title", "value": "Boss"})
    assert_core_only(ok(client.patch(url, json=title, headers=writer)))
    reader = bearer(tokens.jwt([PROVISION_WRITE, CORE_WRITE, *READ_ALL]))
    assert_everything(ok(client.patch(url, json=title, headers=reader)), sent)


def test_root_search_shows_what_the_read_scopes_cover(client: TestClient, tokens: Tokens) -> None:
    """POST /scim/v2/.search trims users as GET /Users does."""
    sent = rich_user()
    ok(client.post("/scim/v2/Users", json=sent, headers=bearer(tokens.static(None))))
    query = {"schemas": [SEARCH_REQUEST], "filter": f'userName eq "{sent["userName"]}"'}
    core = ok(client.post("/scim/v2/.search", json=query, headers=bearer(tokens.jwt([CORE_READ]))))
    assert_core_only(core["Resources"][0])
    full = ok(client.post("/scim/v2/.search", json=query, headers=bearer(tokens.jwt(READ_ALL))))
    assert_everything(full["Resources"][0], sent)


# ----------------------------------------------------------------------------- filters


# (attribute path as a filter names it, the [bracket] form or None, the scope it needs)
RESTRICTED: list[tuple[str, str | None, str]] = [
    ("emails.value", 'emails[value sw "a"]', SENSITIVE_READ),
    ("emails", None, SENSITIVE_READ),
    (f"{CORE}:emails.value", None, SENSITIVE_READ),
    ("phoneNumbers.value", 'phoneNumbers[type eq "work" and value sw "a"]', SENSITIVE_READ),
    # The filter compiler takes [...] only on attributes with a "value" sub-attribute.
    ("addresses.locality", None, SENSITIVE_READ),
    ("dateOfBirth", None, SENSITIVE_READ),
    ("emergencyContacts.name", None, SENSITIVE_READ),
    ("entitlements.value", 'entitlements[value sw "a"]', ENTERPRISE_READ),
    (f"{ENTERPRISE}:employeeNumber", None, ENTERPRISE_READ),
    (f"{ENTERPRISE}:manager.value", None, ENTERPRISE_READ),
    ("employeeNumber", None, ENTERPRISE_READ),  # unqualified: the enterprise extension's
    ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:costCenter", None, ENTERPRISE_READ),
    (f"{SAP}:userUuid", None, SAP_READ),
]
FORMS = (
    '{p} eq "a"',
    '{p} sw "a"',
    '{p} co "a"',
    "{p} pr",
    '{p} sw "a" and userName pr',
    'userName eq "nobody" or {p} sw "a"',
    'not ({p} sw "a")',
)


def filters_of(path: str, bracket: str | None) -> list[str]:
    """Every form of a filter that selects on ``path``."""
    forms = [form.format(p=path) for form in FORMS]
    if bracket is not None:
        forms += [bracket, f"userName pr and not ({bracket})", f"({bracket})"]
    return forms


@pytest.mark.parametrize(("path", "bracket", "scope"), RESTRICTED, ids=[r[0] for r in RESTRICTED])
def test_filters_on_unreadable_attributes_are_refused(
    client: TestClient, tokens: Tokens, path: str, bracket: str | None, scope: str
) -> None:
    """Every filter form naming the attribute is 403 naming the scope without it (a count
    would reveal the value by prefix search), and 200 with it; static tokens pass."""
    without = bearer(tokens.jwt([s for s in READ_ALL if s != scope]))
    exact = bearer(tokens.jwt([CORE_READ, scope]))
    static = bearer(tokens.static(None))
    for text in filters_of(path, bracket):
        refused = client.get("/scim/v2/Users", params={"filter": text}, headers=without)
        refused_for(refused, scope)
        assert "filter" in refused.json()["detail"], refused.text
        for allowed in (exact, static):
            answer = client.get("/scim/v2/Users", params={"filter": text}, headers=allowed)
            assert answer.status_code == 200, (text, answer.text)


def test_filters_on_readable_attributes_pass(client: TestClient, tokens: Tokens) -> None:
    """Core attributes stay filterable with identity.user.core.read alone."""
    core = bearer(tokens.jwt([CORE_READ]))
    for text in (
        'userName sw "a"',
        'name.familyName co "x"',
        "title pr",
        'active eq true and not (displayName eq "x")',
        f'{CORE}:userName eq "a"',
        'groups[value eq "g"]',
    ):
        answer = client.get("/scim/v2/Users", params={"filter": text}, headers=core)
        assert answer.status_code == 200, (text, answer.text)


def list_and_search_requests(text: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, params or JSON body) of every route that filters users."""
    body = {"schemas": [SEARCH_REQUEST], "filter": text}
    return [
        ("GET", "/scim/v2/Users", {"filter": text}),
        ("POST", "/scim/v2/Users/.search", body),
        ("POST", "/scim/v2/.search", body),
        ("GET", f"{IDV4}/Users", {"filter": text}),
        ("POST", f"{V41}/Users/.search", body),
        ("GET", "/scim/v4/Users", {"filter": text}),
    ]


def send(client: TestClient, method: str, url: str, data: dict[str, Any], token: str) -> Any:
    if method == "GET":
        return client.get(url, params=data, headers=bearer(token))
    return client.post(url, json=data, headers=bearer(token))


def test_every_user_filter_route_refuses_unreadable_attributes(
    client: TestClient, tokens: Tokens
) -> None:
    """GET ?filter= and POST .search of every dialect (the root /scim/v2/.search too)."""
    text = f'{ENTERPRISE}:employeeNumber eq "E-1"'
    core, enterprise = tokens.jwt([CORE_READ]), tokens.jwt([CORE_READ, ENTERPRISE_READ])
    for method, url, data in list_and_search_requests(text):
        refused = send(client, method, url, data, core)
        refused_for(refused, ENTERPRISE_READ)
        assert f"'{ENTERPRISE}:employeeNumber'" in refused.text, refused.text
        answer = send(client, method, url, data, enterprise)
        assert answer.status_code == 200, (url, answer.text)
    # The search scope alone selects users, but not by what it cannot read.
    search_only = tokens.jwt(["user.profile.search.read"])
    body = {"schemas": [SEARCH_REQUEST], "filter": 'emails[value sw "a"]'}
    refused_for(send(client, "POST", f"{V41}/Users/.search", body, search_only), SENSITIVE_READ)


def test_sort_by_unreadable_attributes_is_refused(client: TestClient, tokens: Tokens) -> None:
    """sortBy orders by a value, so it needs the attribute's read scope too."""
    core = tokens.jwt([CORE_READ])
    sensitive = tokens.jwt([CORE_READ, SENSITIVE_READ])
    enterprise = tokens.jwt([CORE_READ, ENTERPRISE_READ])
    cases = [
        ("emails.value", SENSITIVE_READ, sensitive),
        ("emails", SENSITIVE_READ, sensitive),
        (f"{ENTERPRISE}:employeeNumber", ENTERPRISE_READ, enterprise),
        (f"{ENTERPRISE}.department", ENTERPRISE_READ, enterprise),  # Entra's dot form
    ]
    for path, scope, holder in cases:
        body: dict[str, Any] = {"schemas": [SEARCH_REQUEST], "sortBy": path}
        requests: list[tuple[str, str, dict[str, Any]]] = [
            ("GET", "/scim/v2/Users", {"sortBy": path}),
            ("POST", "/scim/v2/Users/.search", body),
            ("POST", "/scim/v2/.search", body),
        ]
        for method, url, data in requests:
            refused = send(client, method, url, data, core)
            refused_for(refused, scope)
            assert "sort" in refused.json()["detail"], refused.text
            assert send(client, method, url, data, holder).status_code == 200, (url, path)
    plain = client.get("/scim/v2/Users", params={"sortBy": "userName"}, headers=bearer(core))
    assert plain.status_code == 200, plain.text
