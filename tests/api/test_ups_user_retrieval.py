"""User Retrieval v4, ``POST /Users/.search`` under both UPS prefixes, on SQLite and PostgreSQL
(reference/concur-v4.md §1, §3.1, §7 "Scopes", §9 item 10; Concur's User Retrieval v4 page).

Users come back with identity and their spend, payroll and travel extensions; the filter takes
the page's core, enterprise and Spend User attributes; paging is by cursor, with ``total`` on
every page; the token's read scopes trim answers and filters as on every other read.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support.tokens import Tokens
from support.ups import (
    ENTERPRISE,
    IDV4,
    LEGACY_UPS,
    PAYROLL,
    ROLE,
    SPEND_USER,
    TRAVEL_USER,
    UPS,
    create_user,
    full_user,
    identity,
    spend_user,
)

SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
CONCUR_SEARCH = "urn:ietf:params:scim:api:messages:concur:2.0:SearchRequest"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
CONCUR_ERROR = "urn:ietf:params:scim:api:messages:concur:2.0:Error"
PROFILE_SEARCH = "user.profile.search.read"
SPEND_READ = "spend.user.general.read"
TRAVEL_READ = "travel.user.general.read"
SENSITIVE_READ = "identity.user.coresensitive.read"
ENTERPRISE_READ = "identity.user.enterprise.read"


def search(client: TestClient, root: str = UPS, **body: Any) -> Any:
    """POST a SearchRequest (the RFC URN unless ``schemas`` is given) to ``root``."""
    return client.post(f"{root}/Users/.search", json={"schemas": [SEARCH_REQUEST], **body})


def found(client: TestClient, root: str = UPS, **body: Any) -> dict[str, Any]:
    """The 200 answer to a SearchRequest."""
    response = search(client, root, **body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def user_names(answer: dict[str, Any]) -> set[str]:
    return {r["userName"] for r in answer["Resources"]}


def bad_request(response: Any, scim_type: str) -> None:
    """400 with ``scim_type`` and Concur's INVALID_INPUT message (the page's error sample)."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["scimType"] == scim_type, body
    assert body[CONCUR_ERROR]["messages"][0]["code"] == "INVALID_INPUT", body


@pytest.mark.parametrize("root", [UPS, LEGACY_UPS])
def test_search_answers_users_with_their_extensions(client: TestClient, root: str) -> None:
    """A ListResponse with ``total`` (not ``totalResults``), each user's identity view plus its
    spend, payroll and travel extensions, ``meta.location`` on Identity v4 (§3.5)."""
    body = full_user()
    user_id = create_user(client, body)
    plain = identity()
    plain_id = create_user(client, plain)

    answer = found(client, root)
    assert answer["schemas"] == [LIST_RESPONSE]
    assert answer["total"] == answer["itemsPerPage"] == 2
    assert "totalResults" not in answer
    assert "startIndex" not in answer
    assert "nextCursor" not in answer
    by_id = {r["id"]: r for r in answer["Resources"]}
    full = by_id[user_id]
    assert full["userName"] == body["userName"]
    assert full[ENTERPRISE]["employeeNumber"] == body[ENTERPRISE]["employeeNumber"]
    assert full[SPEND_USER]["country"] == "US"
    assert full[SPEND_USER]["customData"] == body[SPEND_USER]["customData"]
    assert [r["roleName"] for r in full[ROLE]["roles"]] == ["EXP_APPROVER", "REQ_APPROVER"]
    assert full[PAYROLL]["adp"]["companyCode"] == "ACM"
    assert full[TRAVEL_USER]["ruleClass"] == {"name": "Default Travel Class"}
    assert {SPEND_USER, TRAVEL_USER, PAYROLL} <= set(full["schemas"])
    assert full["meta"]["location"] == f"http://testserver{IDV4}/Users/{user_id}"
    assert isinstance(full["meta"]["version"], int)
    assert not [k for k in by_id[plain_id] if "spend" in k or "travel" in k]


def test_concur_search_urn_is_accepted_and_schemas_required(client: TestClient) -> None:
    """The standard SearchRequest URN and Concur's v4.1 one both work; none is 400 (§9 item
    10); ``cursor: null`` and empty ``excludedAttributes`` are the page's own example."""
    create_user(client, identity())
    assert found(client, schemas=[CONCUR_SEARCH])["total"] == 1
    example: dict[str, Any] = {"attributes": ["name", "emails", "userName"]}
    example.update(excludedAttributes=[], count=10, cursor=None)
    assert found(client, **example)["total"] == 1
    response = client.post(f"{UPS}/Users/.search", json={"filter": "active eq true"})
    bad_request(response, "invalidSyntax")


def test_filters_from_concur_page_select_the_right_users(client: TestClient) -> None:
    """The examples of the User Retrieval page, core, enterprise and Spend User alike."""
    sales = identity(department="Sales")
    sales["emails"] = [{"value": "ann@company.com", "type": "work"}]
    sales["nickName"] = "Annie"
    sales_spend = {**sales, SPEND_USER: spend_user(customData=[{"id": "custom1", "value": "VIP"}])}
    create_user(client, sales_spend)
    other = identity(department="Engineering")
    other[SPEND_USER] = spend_user(
        country="CA", reimbursementCurrency="CAD", locale="en-CA", stateProvince="BC"
    )
    create_user(client, other)
    bare = identity(department="Marketing")
    bare["active"] = False
    create_user(client, bare)
    dept = f"{ENTERPRISE}:department"
    cases = {
        f'userName eq "{sales["userName"]}"': {sales["userName"]},
        "active eq true": {sales["userName"], other["userName"]},
        "active ne true": {bare["userName"]},
        f'{dept} ne "Sales"': {other["userName"], bare["userName"]},
        'emails[type eq "work" and value co "@company.com"]': {sales["userName"]},
        'emails.value ew "@company.com"': {sales["userName"]},
        "nickName pr": {sales["userName"]},
        f'active eq true and {dept} eq "Sales"': {sales["userName"]},
        f'{dept} eq "Engineering" or {dept} eq "Marketing"': {other["userName"], bare["userName"]},
        f'{SPEND_USER}:country eq "US" or {SPEND_USER}:country eq "CA"': {
            sales["userName"],
            other["userName"],
        },
        f'not ({SPEND_USER}:country eq "US")': {other["userName"], bare["userName"]},
        f'{SPEND_USER}:customData[id eq "custom1" and value eq "VIP"]': {sales["userName"]},
        f'{SPEND_USER}:customData.value eq "VIP"': {sales["userName"]},
        f"not ({ENTERPRISE}:terminationDate pr)": {
            sales["userName"],
            other["userName"],
            bare["userName"],
        },
        'meta.created ge "2000-01-01T00:00:00Z"': {
            sales["userName"],
            other["userName"],
            bare["userName"],
        },
        # SCIM v4's enterprise URN without ":User" (§4.2) is read as the full one.
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:department eq "Sales"': {
            sales["userName"]
        },
    }
    for expression, expected in cases.items():
        answer = found(client, filter=expression)
        assert user_names(answer) == expected, expression
        assert answer["total"] == len(expected), expression


@pytest.mark.parametrize(
    "expression",
    [
        'emails[type eq "work" and value ne "test@company.com"]',
        'emails[type eq "work" and not (value sw "test.com")]',
        'externalId eq "x"',
        f'{TRAVEL_USER}:orgUnit eq "x"',
        f'{ROLE}:roles.roleName eq "EXP_APPROVER"',
        f'{SPEND_USER}:ledgerCode eq "DEFAULT"',
        "userName eq",
    ],
    ids=["ne in brackets", "not in brackets", "externalId", "travel", "role", "ledgerCode", "bad"],
)
def test_filters_outside_concur_grammar_are_400(client: TestClient, expression: str) -> None:
    """``ne`` and ``not`` inside ``[...]`` (the page's multi-valued limitations) and attributes
    the page does not list are 400 invalidFilter, with Concur's INVALID_INPUT code."""
    bad_request(search(client, filter=expression), "invalidFilter")


def test_cursor_paging_covers_every_user_once(client: TestClient) -> None:
    """``count`` + ``cursor`` (RFC 9865): every page has ``total``, pages chain by
    ``nextCursor`` and the last has none; a filter holds across pages."""
    names = {create_user(client, identity()) for _ in range(5)}
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        answer = found(client, count=2, cursor=cursor, filter="active eq true")
        pages += 1
        assert answer["total"] == 5
        assert answer["itemsPerPage"] == len(answer["Resources"])
        seen += [r["id"] for r in answer["Resources"]]
        cursor = answer.get("nextCursor")
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(names)
    assert found(client, count=0) == {
        "schemas": [LIST_RESPONSE],
        "total": 5,
        "itemsPerPage": 0,
        "Resources": [],
    }


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"startIndex": 1}, "invalidValue"),
        ({"sortBy": "userName"}, "invalidValue"),
        ({"cursor": "not-a-cursor"}, "invalidCursor"),
        ({"count": "many"}, "invalidValue"),
    ],
    ids=["startIndex", "sortBy", "cursor", "count"],
)
def test_index_paging_and_sorting_are_refused(
    client: TestClient, body: dict[str, Any], scim_type: str
) -> None:
    """Cursor paging only, and no sorting ("The search endpoint does not support sorting")."""
    bad_request(search(client, **body), scim_type)


def test_large_count_is_capped_and_payload_limited_to_10_kb(client: TestClient) -> None:
    """A ``count`` past 1000 is read as the maximum, not refused; a body past "maximum search
    request payload size is 10 KB" is 413 unread."""
    create_user(client, identity())
    assert found(client, count=5000)["itemsPerPage"] == 1
    long_filter = " or ".join(f'userName eq "u{n:05d}@example.com"' for n in range(400))
    assert len(json.dumps({"filter": long_filter})) > 10 * 1024
    response = search(client, filter=long_filter)
    assert response.status_code == 413, response.text


def test_attributes_select_across_extensions(client: TestClient) -> None:
    """``attributes``/``excludedAttributes`` (lists or comma-separated) reach the extensions;
    ``id`` and ``schemas`` always come back."""
    body = full_user()
    create_user(client, body)
    [user] = found(client, attributes=["userName", f"{SPEND_USER}:country"])["Resources"]
    assert set(user) == {"schemas", "id", "userName", SPEND_USER}
    assert user[SPEND_USER] == {"country": "US"}
    [user] = found(client, excludedAttributes=f"{TRAVEL_USER},emails")["Resources"]
    assert TRAVEL_USER not in user
    assert "emails" not in user
    assert SPEND_USER in user
    assert "userName" in user


def test_soft_deleted_users_are_not_found(client: TestClient) -> None:
    """A user SCIM v4 deleted (soft, §9 item 4) is gone from this search as from every read."""
    kept = create_user(client, identity())
    gone = create_user(client, identity())
    assert client.delete(f"/scim/v4/Users/{gone}").status_code == 204
    assert [r["id"] for r in found(client)["Resources"]] == [kept]


# -- scopes (§7): the route needs user.profile.search.read; answers and filters are trimmed --


def wait(client: TestClient, provision_id: str, *, headers: dict[str, str]) -> None:
    """Poll another company's provision (with its ``headers``) until it has completed."""
    deadline = time.monotonic() + 60
    while True:
        response = client.get(f"{UPS}/provisions/{provision_id}/status", headers=headers)
        assert response.status_code == 200, response.text
        if response.json()["status"]["completed"]:
            return
        assert time.monotonic() < deadline, provision_id
        time.sleep(0.05)


@pytest.fixture
def tokens(client: TestClient, engine: Engine) -> Tokens:
    """A new company's token minter (``client`` first: the database is migrated and clean)."""
    del client
    return Tokens.for_new_company(engine, "User Retrieval")


def as_token(client: TestClient, token: str, **body: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    payload = {"schemas": [SEARCH_REQUEST], **body}
    return client.post(f"{UPS}/Users/.search", json=payload, headers=headers)


def test_search_scope_is_required(client: TestClient, tokens: Tokens) -> None:
    """Without ``user.profile.search.read`` the search is 403 naming it (§3.1), even for a
    token that may read every user attribute."""
    reader = tokens.jwt(["identity.user.core.read", SENSITIVE_READ, ENTERPRISE_READ, SPEND_READ])
    response = as_token(client, reader)
    assert response.status_code == 403, response.text
    assert PROFILE_SEARCH in response.text


def test_answers_hold_what_the_token_may_read(client: TestClient, tokens: Tokens) -> None:
    """The search scope alone shows core identity only; each read scope adds its part
    (sensitive attributes, enterprise, spend, travel), as on every read of a user (§7)."""
    admin = {"Authorization": f"Bearer {tokens.static(None)}"}
    body = full_user()
    created = client.post(f"{UPS}/Users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    wait(client, created.json()["meta"]["provisionId"], headers=admin)

    def user(*scopes: str) -> dict[str, Any]:
        response = as_token(client, tokens.jwt([PROFILE_SEARCH, *scopes]))
        assert response.status_code == 200, response.text
        [found_user] = response.json()["Resources"]
        return dict(found_user)

    bare = user()
    assert bare["userName"] == body["userName"]
    for hidden in ("emails", ENTERPRISE, SPEND_USER, TRAVEL_USER, ROLE, PAYROLL):
        assert hidden not in bare, hidden
    full = user(SENSITIVE_READ, ENTERPRISE_READ, SPEND_READ, TRAVEL_READ)
    for shown in ("emails", ENTERPRISE, SPEND_USER, TRAVEL_USER, ROLE, PAYROLL):
        assert shown in full, shown
    spend_only = user(SPEND_READ)
    assert SPEND_USER in spend_only
    assert TRAVEL_USER not in spend_only


@pytest.mark.parametrize(
    ("expression", "scope"),
    [
        ('emails.value ew "@example.com"', SENSITIVE_READ),
        (f'{ENTERPRISE}:department eq "Sales"', ENTERPRISE_READ),
        (f'{SPEND_USER}:country eq "US"', SPEND_READ),
        (f'{SPEND_USER}:customData[id eq "custom1"]', SPEND_READ),
    ],
)
def test_filters_on_unreadable_attributes_are_403(
    client: TestClient, tokens: Tokens, expression: str, scope: str
) -> None:
    """A filter naming what the token may not read is 403 naming the scope (a count of
    ``sw`` searches would recover the value); with the scope it is answered."""
    response = as_token(client, tokens.jwt([PROFILE_SEARCH]), filter=expression)
    assert response.status_code == 403, response.text
    assert scope in response.text
    allowed = as_token(client, tokens.jwt([PROFILE_SEARCH, scope]), filter=expression)
    assert allowed.status_code == 200, allowed.text
