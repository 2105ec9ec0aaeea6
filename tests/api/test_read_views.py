"""The spend (§6.17) and travel (§6.14) read views of reference/concur-v4.md, on both backends.

Extension data is written through ``services.extensions.put_user_extension`` in a unit of
work, as the provisioning worker will write it, and read back through the HTTP views.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete
from support.factories import user_body

from concur_scim.services.common import system_clock
from concur_scim.services.extensions import (
    PAYROLL,
    SPEND_APPROVER_LIMIT,
    SPEND_ROLE,
    SPEND_USER,
    SPEND_VIEW_URNS,
    TRAVEL_USER,
    put_user_extension,
)
from concur_scim.store.db import unit_of_work
from concur_scim.store.tables import companies, user_counts, user_extensions, users

SPEND = "/profile/spend/v4.1/Users"
TRAVEL = "/profile/travel/v4/Users"
SCIM_RESOURCE = "urn:ietf:params:scim:schemas:ScimResource"
COUNTRY = f"{SPEND_USER}:country"


def spend_user(country: str, **extra: Any) -> dict[str, Any]:
    """A Spend User extension with Concur's three required attributes."""
    return {"reimbursementCurrency": "USD", "country": country, "locale": "en-US", **extra}


def put(client: TestClient, user_id: str, urn: str, doc: Any, company: str | None = None) -> None:
    """Write one extension through the service, committed, as the provisioning worker will."""
    company = company or client.app.state.default_company_id  # type: ignore[attr-defined]
    engine: Engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, write=True) as conn:
        put_user_extension(conn, company, user_id, urn, doc, system_clock)


def new_user(client: TestClient) -> str:
    """A user created through the generic SCIM API, returning its id."""
    user_id: str = client.post("/scim/v2/Users", json=user_body()).json()["id"]
    return user_id


def test_spend_user_shows_stored_docs_and_unset_extensions_as_empty(client: TestClient) -> None:
    """Every spend/payroll URN is listed and present, ``{}`` when nothing was stored."""
    user = new_user(client)
    put(client, user, SPEND_USER, spend_user("US"))
    put(client, user, SPEND_ROLE, {"roles": [{"roleName": "EXP_APPROVER"}]})
    response = client.get(f"{SPEND}/{user}")
    assert response.status_code == 200
    body = response.json()
    assert body["schemas"] == [SCIM_RESOURCE, *SPEND_VIEW_URNS]
    assert body["id"] == user
    assert body[SPEND_USER] == spend_user("US")
    assert body[SPEND_ROLE] == {"roles": [{"roleName": "EXP_APPROVER"}]}
    assert body[PAYROLL] == {}
    assert all(urn in body for urn in SPEND_VIEW_URNS)
    assert SPEND_APPROVER_LIMIT not in body


def test_spend_meta_has_null_created_and_version_and_a_v4_location(client: TestClient) -> None:
    """``meta`` follows §6.17: created and version null, location on the v4 path."""
    user = new_user(client)
    put(client, user, SPEND_USER, spend_user("US"))
    meta = client.get(f"{SPEND}/{user}").json()["meta"]
    assert meta["resourceType"] == "User"
    assert meta["created"] is None
    assert meta["version"] is None
    assert meta["location"] == f"http://testserver/profile/spend/v4/Users/{user}"
    assert datetime.fromisoformat(meta["lastModified"]).tzinfo is not None


def test_user_without_spend_data_is_listed_with_empty_extensions(client: TestClient) -> None:
    """A user that never had spend data still appears, with every extension ``{}``."""
    user = new_user(client)
    body = client.get(f"{SPEND}/{user}").json()
    assert [body[urn] for urn in SPEND_VIEW_URNS] == [{}] * len(SPEND_VIEW_URNS)
    listed = client.get(SPEND).json()
    assert [r["id"] for r in listed["Resources"]] == [user]


def test_unknown_spend_user_is_404_with_an_integer_status(client: TestClient) -> None:
    """Spend read errors are SCIM errors whose ``status`` is an integer (§4.5)."""
    response = client.get(f"{SPEND}/{uuid.uuid4()}")
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == 404
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_spend_list_pages_with_start_index_and_count(client: TestClient) -> None:
    """``startIndex``/``count`` select a window in creation order; totalResults counts all."""
    made = [new_user(client) for _ in range(5)]
    body = client.get(SPEND, params={"startIndex": 2, "count": 2}).json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (5, 2, 2)
    assert [r["id"] for r in body["Resources"]] == made[1:3]


@pytest.mark.parametrize(
    "params", [{"count": 0}, {"count": 101}, {"startIndex": 0}, {"count": "x"}]
)
def test_spend_list_refuses_paging_outside_concur_range(
    client: TestClient, params: dict[str, Any]
) -> None:
    """``count`` must be 1..100 and ``startIndex`` at least 1 (§6.17): 400 invalidValue."""
    response = client.get(SPEND, params=params)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert response.json()["status"] == 400


def test_spend_list_filters_eq_and_ne_on_country(client: TestClient) -> None:
    """``…:spend:2.0:User:country`` eq/ne filter; ``ne`` keeps users without spend data."""
    us, fr, bare = new_user(client), new_user(client), new_user(client)
    put(client, us, SPEND_USER, spend_user("US"))
    put(client, fr, SPEND_USER, spend_user("FR"))

    def ids(text: str) -> list[str]:
        body = client.get(SPEND, params={"filter": text}).json()
        assert body["totalResults"] == len(body["Resources"])
        return [r["id"] for r in body["Resources"]]

    assert ids(f'{COUNTRY} eq "US"') == [us]
    assert ids(f'{COUNTRY} ne "US"') == [fr, bare]
    assert ids(f'{COUNTRY} eq "US" or {COUNTRY} eq "FR"') == [us, fr]


def test_spend_list_filters_booleans_and_custom_data(client: TestClient) -> None:
    """Boolean attributes and ``customData[id eq … and value eq …]`` filter too (§6.17)."""
    test_user, other = new_user(client), new_user(client)
    custom = [{"id": "custom1", "value": "A"}]
    put(client, test_user, SPEND_USER, spend_user("US", testEmployee=True, customData=custom))
    put(client, other, SPEND_USER, spend_user("US", testEmployee=False))
    by_flag = client.get(SPEND, params={"filter": f"{SPEND_USER}:testEmployee eq true"}).json()
    assert [r["id"] for r in by_flag["Resources"]] == [test_user]
    text = f'{SPEND_USER}:customData[id eq "custom1" and value eq "A"]'
    by_custom = client.get(SPEND, params={"filter": text}).json()
    assert [r["id"] for r in by_custom["Resources"]] == [test_user]


@pytest.mark.parametrize(
    "text",
    [
        f'{SPEND_USER}:nickName eq "x"',
        f'{SPEND_USER}:biManager eq "x"',
        'userName eq "x"',
        f'{COUNTRY} co "U"',
        f"{COUNTRY} pr",
        f'{PAYROLL}:adp eq "x"',
    ],
)
def test_spend_list_refuses_other_filters_with_invalid_filter(
    client: TestClient, text: str
) -> None:
    """Unknown or unfilterable attributes and other operators are 400 invalidFilter."""
    response = client.get(SPEND, params={"filter": text})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_approver_limits_show_global_configs_unless_asked_for(client: TestClient) -> None:
    """By default only Global-group limits come back; naming the URN returns them all (§6.8)."""
    user = new_user(client)
    configs = [
        {"approvalType": "report", "approvalLimit": 10.5},
        {"approvalType": "report", "approvalGroup": "R&D", "approvalLimit": 99.0},
    ]
    put(client, user, SPEND_APPROVER_LIMIT, {"authorizedApprover": configs})
    default = client.get(f"{SPEND}/{user}").json()
    assert default[SPEND_APPROVER_LIMIT] == {"authorizedApprover": configs[:1]}
    assert SPEND_APPROVER_LIMIT in default["schemas"]
    asked = client.get(f"{SPEND}/{user}", params={"attributes": SPEND_APPROVER_LIMIT}).json()
    assert asked[SPEND_APPROVER_LIMIT] == {"authorizedApprover": configs}


def test_role_codes_list_appendix_a1(client: TestClient) -> None:
    """``/profile/spend/v4/Users/roleCodes`` lists the spend role codes, EXP_USER among them."""
    response = client.get("/profile/spend/v4/Users/roleCodes")
    assert response.status_code == 200
    body = response.json()
    assert body["totalResults"] == len(body["Resources"]) > 90
    codes = {item["roleName"]: item for item in body["Resources"]}
    assert codes["EXP_USER"]["entitlement"] == "Expense"
    assert codes["EXP_APPROVER"]["groupAware"] is False


def test_travel_view_shows_the_travel_extension(client: TestClient) -> None:
    """The travel read is ``{id, urn:…:travel:2.0:User}``; unset reads as ``{}``."""
    user, bare = new_user(client), new_user(client)
    travel = {"ruleClass": {"name": "Default"}, "gender": "Female", "groups": [143519481]}
    put(client, user, TRAVEL_USER, travel)
    assert client.get(f"{TRAVEL}/{user}").json() == {"id": user, TRAVEL_USER: travel}
    assert client.get(f"{TRAVEL}/{bare}").json() == {"id": bare, TRAVEL_USER: {}}


def test_travel_errors_use_error_code_and_message(client: TestClient) -> None:
    """Travel read errors are ``{errorCode, errorMessage}`` (§4.5), for 404 and for 401."""
    missing = client.get(f"{TRAVEL}/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert set(missing.json()) == {"errorCode", "errorMessage"}
    assert missing.json()["errorCode"] == "NOT_FOUND"
    anonymous = client.get(f"{TRAVEL}/{uuid.uuid4()}", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert anonymous.json()["errorCode"] == "UNAUTHORIZED"


def test_views_require_the_bearer_token(client: TestClient) -> None:
    """Every view answers 401 without a valid token."""
    for path in (SPEND, f"{SPEND}/x", "/profile/spend/v4/Users/roleCodes"):
        response = client.get(path, headers={"Authorization": "Bearer wrong"})
        assert response.status_code == 401
        assert response.json()["status"] == 401


def test_hard_delete_removes_the_extension_data(client: TestClient) -> None:
    """Deleting the user through the API cascades to its extension rows; the views 404."""
    user = new_user(client)
    put(client, user, SPEND_USER, spend_user("US"))
    put(client, user, TRAVEL_USER, {"ruleClass": {"id": 1}})
    assert client.delete(f"/scim/v2/Users/{user}").status_code == 204
    assert client.get(f"{SPEND}/{user}").status_code == 404
    assert client.get(f"{TRAVEL}/{user}").status_code == 404
    engine: Engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.execute(user_extensions.select()).first() is None


@pytest.fixture
def other_company_user(client: TestClient, engine: Engine) -> Iterator[tuple[str, str]]:
    """A user of a second company inserted directly, with spend and travel data."""
    company, user = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            companies.insert().values(id=company, name="other", is_default=False, created=now)
        )
        conn.execute(
            users.insert().values(
                id=user,
                company_id=company,
                user_name=f"{user}@other",
                user_name_key=f"{user}@other",
                active=True,
                created=now,
                last_modified=now,
                version=1,
                doc={"userName": f"{user}@other"},
            )
        )
    put(client, user, SPEND_USER, spend_user("US"), company=company)
    put(client, user, TRAVEL_USER, {"ruleClass": {"id": 1}}, company=company)
    yield company, user
    with engine.begin() as conn:
        conn.execute(delete(user_extensions).where(user_extensions.c.company_id == company))
        conn.execute(delete(users).where(users.c.company_id == company))
        conn.execute(delete(user_counts).where(user_counts.c.company_id == company))
        conn.execute(delete(companies).where(companies.c.id == company))


def test_another_companys_user_is_not_visible(
    client: TestClient, other_company_user: tuple[str, str]
) -> None:
    """A user of another company is 404 on both views and absent from the spend list."""
    _, user = other_company_user
    assert client.get(f"{SPEND}/{user}").status_code == 404
    assert client.get(f"{TRAVEL}/{user}").status_code == 404
    listed = client.get(SPEND, params={"filter": f'{COUNTRY} eq "US"'}).json()
    assert listed["totalResults"] == 0
