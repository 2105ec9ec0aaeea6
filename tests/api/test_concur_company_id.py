"""The enterprise companyId in the Concur dialects: the caller's company by default, fixed."""

from __future__ import annotations

import itertools
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from support.factories import ENTERPRISE, patch

from concur_scim.store.tables import companies

IDV4 = "/profile/identity/v4"
_n = itertools.count(1)


def concur_user(**enterprise: Any) -> dict[str, Any]:
    """A user valid for the Concur dialects, with ``enterprise`` attributes."""
    n = next(_n)
    return {
        "userName": f"company{n}@example.com",
        "active": True,
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"value": f"company{n}@example.com", "type": "work"}],
        ENTERPRISE: {"employeeNumber": f"C{n:05d}", **enterprise},
    }


def caller_company(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(companies.c.id).where(companies.c.is_default)).scalar_one())


def test_company_id_defaults_to_the_callers_company(client: TestClient, engine: Engine) -> None:
    """A Concur create without companyId stores the caller's company (reference §6.2)."""
    response = client.post(f"{IDV4}/Users", json=concur_user())
    assert response.status_code == 200, response.text
    stored = client.get(f"{IDV4}/Users/{response.json()['id']}").json()
    assert stored[ENTERPRISE]["companyId"] == caller_company(engine)


def test_another_company_is_refused(client: TestClient, engine: Engine) -> None:
    """A companyId other than the caller's company is 400 invalidValue; the same one passes."""
    other = client.post(f"{IDV4}/Users", json=concur_user(companyId="another-company"))
    assert other.status_code == 400, other.text
    assert other.json()["scimType"] == "invalidValue"
    same = client.post(f"{IDV4}/Users", json=concur_user(companyId=caller_company(engine)))
    assert same.status_code == 200, same.text


def test_company_id_cannot_be_patched_away(client: TestClient) -> None:
    """Replacing the set companyId through PATCH is 400 mutability."""
    created = client.post(f"{IDV4}/Users", json=concur_user()).json()
    operation = {"op": "replace", "path": f"{ENTERPRISE}:companyId", "value": "x"}
    response = client.patch(f"{IDV4}/Users/{created['id']}", json=patch(operation))
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "mutability"


def test_generic_dialect_does_not_fill_company_id(client: TestClient) -> None:
    """The generic /scim/v2 dialect stores what the client sends: no companyId is added."""
    body = concur_user()
    response = client.post("/scim/v2/Users", json=body)
    assert response.status_code == 201, response.text
    assert "companyId" not in response.json().get(ENTERPRISE, {})
