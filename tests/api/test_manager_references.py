"""``manager.value`` must name a user of the caller's company, on every dialect.

Concur refuses an unknown manager (reference/concur-v4.md §6.2), and docs/security.md
promises that a reference across companies fails as an unknown user. ``/scim/v2`` holds to
both by default; ``CONCUR_SCIM_UNKNOWN_MANAGER=store`` keeps unknown ids unresolved for
generic test tools. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support.factories import patch, user_body
from support.tokens import Tokens

from concur_scim.app import create_app
from concur_scim.config import Settings

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
HEADERS = {"Authorization": "Bearer test-token"}  # tests/conftest.py's default company
UNKNOWN = "7d0c6e0a-0000-4000-8000-00000000beef"
CONCUR_ERROR = "urn:ietf:params:scim:api:messages:concur:2.0:Error"


def with_manager(manager_id: str) -> dict[str, Any]:
    return user_body(**{ENTERPRISE: {"manager": {"value": manager_id}}})


@pytest.fixture
def foreign_user(client: TestClient, engine: Engine) -> str:
    """The id of a user of another company."""
    other = Tokens.for_new_company(engine, "Other")
    created = client.post(
        "/scim/v2/Users",
        json=user_body(),
        headers={"Authorization": f"Bearer {other.static(None)}"},
    )
    assert created.status_code == 201, created.text
    user_id: str = created.json()["id"]
    return user_id


@pytest.mark.parametrize("kind", ["unknown", "foreign"])
def test_scim_v2_refuses_a_manager_that_is_no_user_of_the_company(
    client: TestClient, foreign_user: str, kind: str
) -> None:
    """POST, PUT and PATCH naming an unknown or another company's user as manager are 400
    invalidValue, and nothing is stored."""
    manager = UNKNOWN if kind == "unknown" else foreign_user
    body = with_manager(manager)
    refused = client.post("/scim/v2/Users", json=body, headers=HEADERS)
    assert refused.status_code == 400, refused.text
    assert refused.json()["scimType"] == "invalidValue"
    assert "manager" in refused.json()["detail"]
    found = client.get(
        "/scim/v2/Users", params={"filter": f'userName eq "{body["userName"]}"'}, headers=HEADERS
    )
    assert found.json()["totalResults"] == 0
    created = client.post("/scim/v2/Users", json=user_body(), headers=HEADERS)
    user_id = created.json()["id"]
    url = f"/scim/v2/Users/{user_id}"
    writes = [
        ("PUT", {**created.json(), ENTERPRISE: {"manager": {"value": manager}}}),
        ("PATCH", patch({"op": "add", "path": "manager", "value": manager})),
        ("PATCH", patch({"op": "replace", "value": {f"{ENTERPRISE}:manager": manager}})),
    ]
    for method, data in writes:
        response = client.request(method, url, json=data, headers=HEADERS)
        assert response.status_code == 400, (method, response.text)
    assert ENTERPRISE not in client.get(url, headers=HEADERS).json()


def test_scim_v2_accepts_a_manager_of_the_company(client: TestClient) -> None:
    """A manager who is a user of the company is stored, by POST and by Entra's bare-id
    PATCH; a user whose manager was deleted since can still be updated."""
    boss = client.post("/scim/v2/Users", json=user_body(), headers=HEADERS).json()["id"]
    created = client.post("/scim/v2/Users", json=with_manager(boss), headers=HEADERS)
    assert created.status_code == 201, created.text
    assert created.json()[ENTERPRISE]["manager"]["value"] == boss
    user_id = created.json()["id"]
    assert client.delete(f"/scim/v2/Users/{boss}", headers=HEADERS).status_code == 204
    titled = client.patch(
        f"/scim/v2/Users/{user_id}",
        json=patch({"op": "replace", "path": "title", "value": "Lead"}),
        headers=HEADERS,
    )
    assert titled.status_code == 200, titled.text


@pytest.fixture
def storing_client(database_url: str, client: TestClient) -> Iterator[TestClient]:
    """An app on the same database with ``CONCUR_SCIM_UNKNOWN_MANAGER=store`` and
    ``CONCUR_SCIM_GENERIC_VALUES=any`` (the settings for generic test tools)."""
    del client  # the shared client cleans the database after the test
    settings = Settings(database_url=database_url, bearer_token="test-token")
    settings = settings.model_copy(update={"unknown_manager": "store", "generic_values": "any"})
    with TestClient(create_app(settings)) as storing:
        yield storing


def test_the_store_setting_keeps_unknown_managers_on_scim_v2_only(
    storing_client: TestClient,
) -> None:
    """With ``unknown_manager=store``, /scim/v2 stores an unknown manager id unresolved;
    Identity v4 still refuses it (the Concur dialects always check, §6.2)."""
    created = storing_client.post("/scim/v2/Users", json=with_manager(UNKNOWN), headers=HEADERS)
    assert created.status_code == 201, created.text
    assert created.json()[ENTERPRISE]["manager"]["value"] == UNKNOWN
    user_id = created.json()["id"]
    concur = storing_client.patch(
        f"/profile/identity/v4/Users/{user_id}",
        json=patch({"op": "replace", "path": "manager", "value": "another-unknown"}),
        headers=HEADERS,
    )
    assert concur.status_code == 400, concur.text


def test_generic_values_setting_stores_unservable_values_on_scim_v2_only(
    client: TestClient, storing_client: TestClient
) -> None:
    """By default /scim/v2 refuses a value no Concur dialect could serve (a date that is
    not one, an unknown time zone); with ``generic_values=any`` it stores it as sent, and
    Identity v4 still refuses it."""
    body = user_body(timezone="Mars/Olympus", dateOfBirth="not-a-date")
    refused = client.post("/scim/v2/Users", json=body, headers=HEADERS)
    assert refused.status_code == 400, refused.text
    paths = [m["schemaPath"] for m in refused.json().get(CONCUR_ERROR, {}).get("messages", [])]
    assert refused.json()["scimType"] == "invalidValue"
    assert "timezone" in refused.json()["detail"]
    assert "dateOfBirth" in refused.json()["detail"]
    assert paths == []  # the generic dialect answers without Concur's extension
    stored = storing_client.post("/scim/v2/Users", json=body, headers=HEADERS)
    assert stored.status_code == 201, stored.text
    assert stored.json()["timezone"] == "Mars/Olympus"
    concur = storing_client.post(
        "/profile/identity/v4/Users", json=user_body(timezone="Mars/Olympus"), headers=HEADERS
    )
    assert concur.status_code == 400, concur.text
