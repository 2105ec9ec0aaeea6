"""The admin API (README "Admin API") on SQLite and PostgreSQL: the guard, the request
journal, the provisions list, reset and seed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from support.admin import admin_session, journal
from support.factories import patch, user_body
from support.tokens import Tokens
from support.ups import ENTERPRISE, identity, operation, run_bulk

from concur_scim.app import create_app
from concur_scim.config import Settings
from concur_scim.store.tables import companies, static_tokens, users

SECRET = "Adm1n-Secret-Pa55"


@pytest.fixture
def admin(client: TestClient) -> Iterator[dict[str, str]]:
    """The admin token's headers; rules and a paused worker are undone afterwards."""
    with admin_session(client) as headers:
        yield headers


def default_company(client: TestClient) -> str:
    found: str = client.app.state.default_company_id  # type: ignore[attr-defined]
    return found


# ----------------------------------------------------------------------------- guard


def test_admin_routes_need_the_admin_token(client: TestClient, admin: dict[str, str]) -> None:
    """No token, a company token or a wrong token is 401 (a SCIM Error); the admin token
    is admitted."""
    for headers in ({"Authorization": ""}, {}, {"Authorization": "Bearer wrong"}):
        answer = client.get("/_admin/journal", headers=headers)
        assert answer.status_code == 401, answer.text
        assert answer.json()["status"] == "401"
    # The session client's default header is the company token "test-token".
    assert client.get("/_admin/provisions").status_code == 401
    assert client.get("/_admin/journal", headers=admin).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "served"),
    [
        ({}, True),  # auto on loopback
        ({"host": "0.0.0.0"}, False),  # noqa: S104 - auto elsewhere: off
        ({"host": "0.0.0.0", "admin": "on"}, True),  # noqa: S104
        ({"admin": "off"}, False),
    ],
)
def test_admin_api_on_and_off(database_url: str, overrides: dict[str, str], served: bool) -> None:
    """``auto`` serves the admin API on loopback only; ``off`` makes every /_admin path 404."""
    settings = Settings(database_url=database_url, admin_token="adm", **overrides)  # type: ignore[arg-type]
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        headers = {"Authorization": "Bearer adm"}
        for method, path in (("GET", "/_admin/journal"), ("DELETE", "/_admin/faults/x")):
            answer = client.request(method, path, headers=headers)
            if served and method == "DELETE":
                assert "no fault rule" in answer.text  # the route's own 404
                continue
            assert (answer.status_code != 404) is served, answer.text
            if not served:
                assert answer.json()["status"] == "404"
        # The console is mounted with the admin API, and only then.
        console = client.get("/console/login")
        assert (console.status_code == 200) is served, console.text


@pytest.mark.parametrize("bad", ["\x00", "a\x00b"])
def test_text_that_no_stored_value_holds_is_refused_not_a_500(
    client: TestClient, admin: dict[str, str], bad: str
) -> None:
    """NUL in a journal or provisions filter is a 400 (PostgreSQL will not even compare
    it); a reset naming a company with NUL or a lone surrogate (JSON can carry one, a
    query string cannot) is refused, nothing deleted."""
    for path, name in (
        ("/_admin/journal", "company"),
        ("/_admin/journal", "path"),
        ("/_admin/journal", "method"),
        ("/_admin/journal", "correlationId"),
        ("/_admin/provisions", "company"),
    ):
        answer = client.get(path, params={name: bad}, headers=admin)
        assert answer.status_code == 400, (path, name, answer.text)
        assert name in answer.json()["detail"]
    created = client.post("/scim/v2/Users", json=user_body())
    assert created.status_code == 201, created.text
    for company in (bad, "\ud800"):
        reset = client.post(
            "/_admin/reset",
            content=json.dumps({"company": company}),
            headers={**admin, "Content-Type": "application/json"},
        )
        assert reset.status_code in (400, 404), reset.text
    assert client.get(f"/scim/v2/Users/{created.json()['id']}").status_code == 200


def test_admin_token_is_generated_when_unset(database_url: str) -> None:
    """Without CONCUR_SCIM_ADMIN_TOKEN each Settings carries a fresh random token."""
    first, second = Settings(database_url=database_url), Settings(database_url=database_url)
    assert len(first.admin_token.get_secret_value()) >= 32
    assert first.admin_token.get_secret_value() != second.admin_token.get_secret_value()
    assert create_app(first).state.admin_token == first.admin_token.get_secret_value()


# ----------------------------------------------------------------------------- journal


def test_journal_shows_writes_and_failed_reads_redacted(
    client: TestClient, admin: dict[str, str]
) -> None:
    """A write is journaled with dialect, status, correlation id and redacted bodies; a
    failed GET is journaled with its SCIM error; a successful GET is not; no password is
    ever in the journal."""
    created = client.post(
        "/scim/v2/Users",
        json=user_body(password=SECRET),
        headers={"concur-correlationid": "corr-admin-1"},
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    changed = client.patch(
        f"/scim/v2/Users/{user_id}",
        json=patch({"op": "replace", "path": "password", "value": SECRET}),
    )
    assert changed.status_code == 200, changed.text
    assert client.get(f"/scim/v2/Users/{user_id}").status_code == 200
    missing = client.get("/profile/identity/v4/Users/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404

    page = journal(client, admin)
    assert SECRET not in json.dumps(page)
    entries = page["Resources"]
    assert [(e["method"], e["status"]) for e in entries] == [
        ("GET", 404),
        ("PATCH", 200),
        ("POST", 201),
    ]
    failed, patched, create = entries
    assert failed["dialect"] == "identity-v4"
    assert failed["error"]["detail"]
    assert failed["injected"] is False
    assert create["dialect"] == "scim2"
    assert create["correlationId"] == "corr-admin-1"
    assert create["company"] == default_company(client)
    assert create["request"]["json"]["password"] == "[redacted]"
    assert create["response"]["json"]["id"] == user_id
    assert create["error"] is None
    assert patched["request"]["json"]["Operations"][0]["value"] == "[redacted]"


def test_journal_filters_and_pages(client: TestClient, admin: dict[str, str]) -> None:
    """Every filter narrows the journal; pages come newest first."""
    for n in range(3):
        answer = client.post(
            "/scim/v2/Users", json=user_body(), headers={"concur-correlationid": f"page-{n}"}
        )
        assert answer.status_code == 201
    bad = client.post("/profile/identity/v4/Users", json={"schemas": []})
    assert bad.status_code == 400
    assert journal(client, admin)["totalResults"] == 4
    first = journal(client, admin, count=2)
    second = journal(client, admin, count=2, startIndex=3)
    assert [e["correlationId"] for e in first["Resources"]][1] == "page-2"
    assert [e["correlationId"] for e in second["Resources"]] == ["page-1", "page-0"]
    assert second["startIndex"] == 3
    assert second["itemsPerPage"] == 2
    assert journal(client, admin, status=400)["totalResults"] == 1
    assert journal(client, admin, status="4xx")["totalResults"] == 1
    assert journal(client, admin, dialect="identity-v4")["totalResults"] == 1
    assert journal(client, admin, method="post")["totalResults"] == 4
    assert journal(client, admin, path="/scim/v2/")["totalResults"] == 3
    assert journal(client, admin, correlationId="page-1")["totalResults"] == 1
    assert journal(client, admin, company=default_company(client))["totalResults"] == 4
    assert journal(client, admin, company="nobody")["totalResults"] == 0
    assert journal(client, admin, since="2999-01-01T00:00:00Z")["totalResults"] == 0
    assert journal(client, admin, since="2000-01-01T00:00:00Z")["totalResults"] == 4
    for params in ({"count": "x"}, {"startIndex": 0}, {"since": "never"}, {"dialect": "nope"}):
        answer = client.get("/_admin/journal", params=params, headers=admin)
        assert answer.status_code == 400, answer.text
        assert answer.json()["scimType"] == "invalidValue"


# ----------------------------------------------------------------------------- provisions


def test_provisions_list_with_state_and_counts(client: TestClient, admin: dict[str, str]) -> None:
    """A completed request is listed with its type, state and operation counters."""
    gone = f"/Users/{uuid.uuid4()}"
    done = run_bulk(client, [operation("POST", "/Users", identity()), operation("DELETE", gone)])
    answer = client.get("/_admin/provisions", params={"state": "completed"}, headers=admin)
    assert answer.status_code == 200, answer.text
    (listed,) = answer.json()["Resources"]
    assert listed["id"] == done["id"]
    assert listed["company"] == default_company(client)
    assert listed["type"] == "Bulk"
    assert listed["state"] == "completed"
    assert listed["created"]
    assert listed["completed"]
    assert listed["counts"] == {"total": 2, "success": 1, "failed": 1, "pending": 0}
    pending = client.get("/_admin/provisions", params={"state": "pending"}, headers=admin)
    assert pending.json()["totalResults"] == 0
    other = client.get("/_admin/provisions", params={"company": "nobody"}, headers=admin)
    assert other.json()["totalResults"] == 0
    assert client.get("/_admin/provisions", params={"state": "x"}, headers=admin).status_code == 400


# ----------------------------------------------------------------------------- reset


@pytest.fixture
def other(client: TestClient, engine: Engine) -> tuple[Tokens, dict[str, str]]:
    """A second company with a stored static token, and its request headers."""
    del client
    tokens = Tokens.for_new_company(engine, "Other")
    return tokens, {"Authorization": f"Bearer {tokens.static(None)}"}


def _count(engine: Engine, table: Any, company: str) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(table).where(table.c.company_id == company)
        return int(conn.execute(query).scalar_one())


def test_reset_one_company_leaves_the_other_and_credentials(
    client: TestClient,
    engine: Engine,
    admin: dict[str, str],
    other: tuple[Tokens, dict[str, str]],
) -> None:
    """Resetting the default company deletes its users, groups, provisions and journal and
    answers the counts; the other company's data and every credential stay."""
    tokens, theirs = other
    mine = default_company(client)
    user = client.post("/scim/v2/Users", json=user_body()).json()["id"]
    group = client.post(
        "/scim/v2/Groups",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "G",
            "members": [{"value": user}],
        },
    )
    assert group.status_code == 201, group.text
    run_bulk(client, [operation("POST", "/Users", identity())])
    kept = client.post("/scim/v2/Users", json=user_body(), headers=theirs)
    assert kept.status_code == 201, kept.text
    tokens_before = _count(engine, static_tokens, tokens.company_id)

    answer = client.post("/_admin/reset", json={"company": mine}, headers=admin)
    assert answer.status_code == 200, answer.text
    deleted = answer.json()["deleted"]
    assert deleted["users"] == 2
    assert deleted["groups"] == 1
    assert deleted["provisions"] == 1
    assert deleted["groupMemberships"] == 1
    assert deleted["requests"] >= 3
    assert _count(engine, users, mine) == 0
    assert client.get("/scim/v2/Users").json()["totalResults"] == 0  # the token still works
    assert client.get(f"/scim/v2/Users/{kept.json()['id']}", headers=theirs).status_code == 200
    assert _count(engine, static_tokens, tokens.company_id) == tokens_before
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(companies)).scalar_one() >= 2


def test_reset_all_companies_and_refusals(
    client: TestClient, engine: Engine, admin: dict[str, str], other: tuple[Tokens, dict[str, str]]
) -> None:
    """``{}`` resets every company (credentials stay); a bad body or unknown company is a
    SCIM error."""
    tokens, theirs = other
    assert client.post("/scim/v2/Users", json=user_body(), headers=theirs).status_code == 201
    assert client.post("/scim/v2/Users", json=user_body()).status_code == 201
    answer = client.post("/_admin/reset", json={}, headers=admin)
    assert answer.status_code == 200
    assert answer.json()["deleted"]["users"] >= 2
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 0
    assert client.get("/scim/v2/Users", headers=theirs).status_code == 200
    assert _count(engine, static_tokens, tokens.company_id) >= 1
    assert client.post("/_admin/reset", json={"company": "nope"}, headers=admin).status_code == 404
    refused = client.post("/_admin/reset", json={"all": True}, headers=admin)
    assert refused.status_code == 400
    assert refused.json()["scimType"] == "invalidValue"
    assert client.post("/_admin/reset", content="[", headers=admin).status_code == 400


# ----------------------------------------------------------------------------- seed


def test_seed_from_json_array_and_list_response(client: TestClient, admin: dict[str, str]) -> None:
    """Each user of a JSON array (or ListResponse) is created through the user service;
    failures are reported by position and leave nothing behind."""
    good, taken = user_body(), user_body()
    body = [good, {"schemas": [], "name": {}}, taken, dict(taken)]
    answer = client.post("/_admin/seed", json=body, headers=admin)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["created"] == 2
    assert [f["line"] for f in report["failed"]] == [2, 4]
    assert all(f["detail"] for f in report["failed"])
    listed = client.get("/scim/v2/Users").json()
    assert listed["totalResults"] == 2
    wrapped = {"Resources": [user_body()], "totalResults": 1}
    assert client.post("/_admin/seed", json=wrapped, headers=admin).json()["created"] == 1


def test_seed_from_csv_and_ndjson(client: TestClient, admin: dict[str, str]) -> None:
    """CSV rows become users (enterprise columns included); a bad row is reported by its
    line and nothing of it is created; NDJSON works line by line."""
    csv_text = (
        "userName,givenName,familyName,email,externalId,employeeNumber,active,department\n"
        "csv1@example.com,Ada,Lovelace,csv1@example.com,ext-1,E1,true,Math\n"
        "csv2@example.com,Alan,Turing,csv2@example.com,ext-2,E2,maybe,\n"
        ",No,Name,,,,,\n"
        "csv3@example.com,Grace,Hopper,,,E1,false,\n"
    )
    answer = client.post(
        "/_admin/seed", content=csv_text, headers={**admin, "Content-Type": "text/csv"}
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["created"] == 1
    assert [f["line"] for f in report["failed"]] == [3, 4, 5]
    found = client.get("/scim/v2/Users", params={"filter": 'userName eq "csv1@example.com"'})
    (user,) = found.json()["Resources"]
    assert user["externalId"] == "ext-1"
    assert user["name"]["familyName"] == "Lovelace"
    assert user[ENTERPRISE] == {"employeeNumber": "E1", "department": "Math"}
    absent = client.get("/scim/v2/Users", params={"filter": 'userName eq "csv3@example.com"'})
    assert absent.json()["totalResults"] == 0  # E1 was taken: nothing half-created
    unknown = client.post(
        "/_admin/seed",
        content="userName,shoeSize\nx,42\n",
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert unknown.status_code == 400
    assert "shoeSize" in unknown.json()["detail"]
    lines = f"{json.dumps(user_body())}\nnot json\n{json.dumps(user_body())}\n"
    ndjson = client.post(
        "/_admin/seed", content=lines, headers={**admin, "Content-Type": "application/x-ndjson"}
    )
    assert ndjson.json()["created"] == 2
    assert ndjson.json()["failed"][0]["line"] == 2


def test_seed_into_a_company_and_with_concur_validation(
    client: TestClient, admin: dict[str, str], other: tuple[Tokens, dict[str, str]]
) -> None:
    """``?company=`` seeds another company; ``?dialect=concur`` applies Concur's checks;
    an unknown company is 404."""
    tokens, theirs = other
    answer = client.post(
        "/_admin/seed", params={"company": tokens.company_id}, json=[user_body()], headers=admin
    )
    assert answer.json()["created"] == 1
    assert client.get("/scim/v2/Users", headers=theirs).json()["totalResults"] == 1
    assert client.get("/scim/v2/Users").json()["totalResults"] == 0
    # Concur caps givenName at 32 characters (its maxLength); generic SCIM does not.
    generic = client.post(
        "/_admin/seed", json=[user_body(name={"givenName": "G" * 40})], headers=admin
    ).json()
    long_name = user_body(name={"givenName": "G" * 40, "familyName": "F"})
    strict = client.post(
        "/_admin/seed", params={"dialect": "concur"}, json=[long_name], headers=admin
    ).json()
    assert generic == {"created": 1, "failed": []}
    assert strict["created"] == 0, strict
    assert strict["failed"][0]["line"] == 1
    assert "givenName" in strict["failed"][0]["detail"]
    unknown = client.post("/_admin/seed", params={"company": "nope"}, json=[], headers=admin)
    assert unknown.status_code == 404
