"""Fault injection (README "Admin API") on SQLite and PostgreSQL: each kind of rule, how
rules match, count and probability, and the journal marking what a rule answered."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support.admin import add_fault, admin_session, journal
from support.factories import user_body
from support.tokens import Tokens
from support.ups import WORKFLOW_PREFERENCE, extension, full_user, operation, run_bulk

USERS = "/scim/v2/Users"


@pytest.fixture
def admin(client: TestClient) -> Iterator[dict[str, str]]:
    """The admin token's headers; every rule is deleted afterwards."""
    with admin_session(client) as headers:
        yield headers


def test_status_rule_answers_scim_error_with_retry_after(
    client: TestClient, admin: dict[str, str]
) -> None:
    """A 429 rule answers a SCIM Error with its Retry-After; the journal marks it injected."""
    rule = add_fault(client, admin, path=USERS, method="GET", status=429, retryAfter=7)
    answer = client.get(USERS)
    assert answer.status_code == 429, answer.text
    assert answer.headers["Retry-After"] == "7"
    assert answer.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert answer.json()["status"] == "429"
    (entry,) = journal(client, admin)["Resources"]
    assert entry["injected"] is True
    assert entry["faultRule"] == rule["id"]
    assert entry["status"] == 429
    assert entry["error"]["detail"].startswith("injected")


@pytest.mark.parametrize(("status", "retry_after"), [(500, None), (503, "5")])
def test_server_error_rules(
    client: TestClient, admin: dict[str, str], status: int, retry_after: str | None
) -> None:
    """500 and 503 rules answer their status (503 with Retry-After), Concur dialects with
    Concur's error extension."""
    add_fault(client, admin, dialect="identity-v4", status=status)
    answer = client.get("/profile/identity/v4/Users")
    assert answer.status_code == status
    assert answer.headers.get("Retry-After") == retry_after
    assert "urn:ietf:params:scim:api:messages:concur:2.0:Error" in answer.json()["schemas"]
    assert client.get(USERS).status_code == 200  # another dialect: untouched


def test_latency_rule_delays_the_real_answer(client: TestClient, admin: dict[str, str]) -> None:
    """A latency rule answers the real response, that much later, and is journaled."""
    add_fault(client, admin, method="POST", path="/scim/v2/*", latencyMs=300)
    began = time.monotonic()
    answer = client.post(USERS, json=user_body())
    elapsed = time.monotonic() - began
    assert answer.status_code == 201
    assert elapsed >= 0.3
    began = time.monotonic()
    assert client.get(USERS).status_code == 200
    assert time.monotonic() - began < 0.3
    (entry,) = journal(client, admin)["Resources"]
    assert entry["status"] == 201
    assert entry["injected"] is True


def test_count_rule_expires(client: TestClient, admin: dict[str, str]) -> None:
    """A count rule answers that many times, then the real answers come back."""
    rule = add_fault(client, admin, path=USERS, status=503, count=2)
    assert [client.get(USERS).status_code for _ in range(4)] == [503, 503, 200, 200]
    listed = client.get("/_admin/faults", headers=admin).json()["Resources"]
    assert [(r["id"], r["count"]) for r in listed] == [(rule["id"], 0)]
    assert journal(client, admin, status=503)["totalResults"] == 2


def test_probability_rule_with_a_seed_is_repeatable(
    client: TestClient, admin: dict[str, str]
) -> None:
    """A probability rule with a seed acts on the draws ``random.Random(seed)`` gives."""
    add_fault(client, admin, path=USERS, status=500, probability=0.5, seed=1234)
    draws = random.Random(1234)
    expected = [500 if draws.random() < 0.5 else 200 for _ in range(12)]
    assert 500 in expected
    assert 200 in expected
    assert [client.get(USERS).status_code for _ in range(12)] == expected


def test_rules_match_method_path_dialect_and_company(
    client: TestClient, engine: Engine, admin: dict[str, str]
) -> None:
    """Method, path glob, dialect and company all have to match."""
    other = Tokens.for_new_company(engine, "Other")
    theirs = {"Authorization": f"Bearer {other.static(None)}"}
    add_fault(
        client,
        admin,
        company=other.company_id,
        method="DELETE",
        path="/scim/v2/Users/*",
        dialect="scim2",
        status=503,
    )
    mine = client.post(USERS, json=user_body()).json()["id"]
    their_user = client.post(USERS, json=user_body(), headers=theirs).json()["id"]
    assert client.get(f"{USERS}/{their_user}", headers=theirs).status_code == 200  # method
    assert client.delete(f"{USERS}/{mine}").status_code == 204  # company
    assert client.delete(f"{USERS}/{their_user}", headers=theirs).status_code == 503
    assert client.delete("/scim/v4/Users/x", headers=theirs).status_code == 404  # path
    (entry,) = journal(client, admin, status=503)["Resources"]
    assert entry["company"] == other.company_id
    assert entry["injected"] is True


def test_unauthenticated_requests_are_not_faulted(
    client: TestClient, admin: dict[str, str]
) -> None:
    """Rules act on authenticated requests only; the admin API is never faulted."""
    add_fault(client, admin, status=503)
    assert client.get(USERS, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get(USERS).status_code == 503
    assert client.get("/_admin/faults", headers=admin).status_code == 200


def test_extension_rule_ends_a_provision_extension(
    client: TestClient, admin: dict[str, str]
) -> None:
    """An extension rule makes that extension of matching provisions end with the chosen
    code and Concur message, in Concur's Provision:Status shape; the others run."""
    add_fault(
        client,
        admin,
        extension=WORKFLOW_PREFERENCE,
        code="500",
        message="INTERNAL_SERVER_ERROR",
        count=1,
    )
    done = run_bulk(client, [operation("POST", "/Users", full_user())])
    (op,) = done["operations"]
    assert op["status"]["code"] == "207"
    assert done["status"]["success"] is False
    failed = extension(op, WORKFLOW_PREFERENCE)
    assert failed["status"] == {
        "completed": True,
        "success": False,
        "code": "500",
        "result": "error",
    }
    assert failed["messages"] == [
        {
            "code": "INTERNAL_SERVER_ERROR",
            "message": "INTERNAL_SERVER_ERROR",
            "schemaPath": WORKFLOW_PREFERENCE,
            "type": "error",
        }
    ]
    others = [e for e in op["extensions"] if e["name"] != WORKFLOW_PREFERENCE]
    assert others
    assert all(e["status"]["result"] != "error" for e in others)
    again = run_bulk(client, [operation("POST", "/Users", full_user())])  # count spent
    assert again["status"]["success"] is True, again


def test_bad_rules_are_scim_errors(client: TestClient, admin: dict[str, str]) -> None:
    """A malformed rule is 400 invalidValue naming what is wrong; unknown ids are 404."""
    for rule in (
        {},
        {"status": 418},
        {"status": 503, "latencyMs": 5},
        {"status": 503, "count": 2, "probability": 0.5},
        {"status": 503, "probability": 2},
        {"status": 503, "method": "BREW"},
        {"status": 503, "dialect": "nope"},
        {"extension": "urn:nope", "code": "500"},
        {"extension": WORKFLOW_PREFERENCE, "path": "/x"},
        {"status": 503, "colour": "red"},
    ):
        answer = client.post("/_admin/faults", json=rule, headers=admin)
        assert answer.status_code == 400, (rule, answer.text)
        assert answer.json()["scimType"] == "invalidValue"
    assert (
        client.post(
            "/_admin/faults", json={"status": 503, "company": "x"}, headers=admin
        ).status_code
        == 404
    )
    assert client.delete("/_admin/faults/nope", headers=admin).status_code == 404


def test_rules_listed_deleted_and_cleared(client: TestClient, admin: dict[str, str]) -> None:
    """Rules are listed, deleted one by one or all at once, and stop acting at once."""
    first = add_fault(client, admin, path=USERS, status=503)
    add_fault(client, admin, path="/scim/v4/*", status=500)
    listed = client.get("/_admin/faults", headers=admin).json()
    assert listed["totalResults"] == 2
    assert client.delete(f"/_admin/faults/{first['id']}", headers=admin).status_code == 204
    assert client.get(USERS).status_code == 200
    assert client.delete("/_admin/faults", headers=admin).json() == {"deleted": 1}
    assert client.get("/scim/v4/Users").status_code == 200
