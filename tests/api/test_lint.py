"""The lint report: ``Prefer: concur-lint`` makes a write answer say what real Concur would do.

One test per kind of finding (reject, ignore, coerce, warn) on the generic, Identity v4 and
SCIM v4 dialects; the answer carries ``urn:concur-scim:api:messages:2.0:Lint`` only when
asked for (or with ``CONCUR_SCIM_LINT=always``). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support.factories import user_body
from support.tokens import Tokens

from concur_scim.app import create_app
from concur_scim.config import Settings

LINT = "urn:concur-scim:api:messages:2.0:Lint"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
HEADERS = {"Authorization": "Bearer test-token", "Prefer": "concur-lint"}
DIALECTS = ["/scim/v2", "/profile/identity/v4", "/scim/v4"]


def user(**extra: Any) -> dict[str, Any]:
    """A user valid for every Concur rule; ``extra`` adds or replaces attributes."""
    body: dict[str, Any] = user_body(**extra)
    return body


def findings(response: Any, outcome: str) -> dict[str, dict[str, str]]:
    """The lint findings of ``outcome`` in ``response``, by schemaPath."""
    lint = response.json()[LINT]
    return {f["schemaPath"]: f for f in lint["findings"] if f["outcome"] == outcome}


@pytest.mark.parametrize("prefix", DIALECTS)
def test_ignored_attributes_are_listed(client: TestClient, prefix: str) -> None:
    """Unknown attributes, read-only ones and unserved extensions are what Concur drops."""
    body = user(
        favouriteColour="teal",
        meta={"resourceType": "User"},
        password="secret-1",
        **{"urn:example:custom:2.0:User": {"badge": "7"}},
    )
    response = client.post(f"{prefix}/Users", json=body, headers=HEADERS)
    assert response.status_code in (200, 201), response.text
    ignored = findings(response, "ignore")
    assert ignored[f"{CORE}:favouriteColour"]["rule"] == "unknownAttribute"
    assert ignored[f"{CORE}:meta"]["rule"] == "readOnly"
    assert ignored[f"{CORE}:password"]["rule"] == "writeOnly"
    assert ignored["urn:example:custom:2.0:User"]["rule"] == "unknownSchema"
    assert all(f["source"] for f in ignored.values())


@pytest.mark.parametrize("prefix", DIALECTS)
def test_coercions_are_listed(client: TestClient, prefix: str) -> None:
    """A string boolean and another spelling of a canonical value are stored otherwise."""
    body = user(active="True", emails=[{"value": "c@example.com", "type": "Work"}])
    response = client.post(f"{prefix}/Users", json=body, headers=HEADERS)
    assert response.status_code in (200, 201), response.text
    coerced = findings(response, "coerce")
    assert coerced[f"{CORE}:active"]["message"] == 'sent "True", stored true'
    assert coerced[f"{CORE}:active"]["rule"] == "coercion"
    if prefix != "/scim/v2":  # the Concur dialects store Concur's spelling
        assert coerced[f"{CORE}:emails[0].type"]["message"] == 'sent "Work", stored "work"'


@pytest.mark.parametrize("prefix", DIALECTS)
def test_warnings_are_listed(client: TestClient, prefix: str) -> None:
    """A rule Concur's own examples contradict is a warning, with its source."""
    body = user(phoneNumbers=[{"value": "+1 555 0100", "type": "work", "primary": True}])
    response = client.post(f"{prefix}/Users", json=body, headers=HEADERS)
    assert response.status_code in (200, 201), response.text
    warned = findings(response, "warn")
    finding = warned[f"{CORE}:phoneNumbers[0].primary"]
    assert finding["rule"] == "phone.mobileOnly"
    assert "example" in finding["source"]


@pytest.mark.parametrize("prefix", DIALECTS)
def test_rejections_are_listed(client: TestClient, prefix: str) -> None:
    """What Concur would refuse: /scim/v2 stores it and says so; a Concur dialect refuses
    the write, and its error carries the same finding."""
    response = client.post(f"{prefix}/Users", json=user(title="T" * 300), headers=HEADERS)
    rejected = findings(response, "reject")
    assert rejected[f"{CORE}:title"]["rule"] == "size"
    assert response.status_code == (201 if prefix == "/scim/v2" else 400), response.text
    # A code list keeps every dialect's store serveable: refused everywhere, and listed.
    refused = client.post(f"{prefix}/Users", json=user(timezone="Mars/Olympus"), headers=HEADERS)
    assert refused.status_code == 400, refused.text
    assert findings(refused, "reject")[f"{CORE}:timezone"]["rule"] == "codeList"


def test_patch_answers_carry_the_lint_of_the_patched_user(client: TestClient) -> None:
    """A PATCH's lint reads the patched user (reject) and the operations (ignore)."""
    created = client.post("/scim/v2/Users", json=user(), headers=HEADERS)
    user_id = created.json()["id"]
    operations: list[dict[str, Any]] = [
        {"op": "replace", "path": "title", "value": "T" * 300},
        {"op": "add", "value": {"favouriteColour": "teal", "name.givenName": "Lin"}},
    ]
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations}
    response = client.patch(f"/scim/v2/Users/{user_id}", json=patch, headers=HEADERS)
    assert response.status_code == 200, response.text
    assert f"{CORE}:title" in findings(response, "reject")
    assert f"{CORE}:favouriteColour" in findings(response, "ignore")
    assert f"{CORE}:name.givenName" not in findings(response, "ignore")


def test_no_lint_unless_asked(client: TestClient) -> None:
    """Without ``Prefer: concur-lint`` the answer has no lint member."""
    plain = {"Authorization": HEADERS["Authorization"]}
    response = client.post("/scim/v2/Users", json=user(favouriteColour="x"), headers=plain)
    assert response.status_code == 201, response.text
    assert LINT not in response.json()


@pytest.fixture
def always_client(database_url: str, client: TestClient) -> Iterator[TestClient]:
    """An app on the test database with ``CONCUR_SCIM_LINT=always``."""
    del client  # the shared client cleans the database after the test
    settings = Settings(database_url=database_url, bearer_token="test-token", lint="always")
    with TestClient(create_app(settings)) as linting:
        yield linting


def test_the_setting_lints_every_write(always_client: TestClient) -> None:
    """``CONCUR_SCIM_LINT=always`` adds the report without the header."""
    plain = {"Authorization": HEADERS["Authorization"]}
    response = always_client.post("/scim/v2/Users", json=user(favouriteColour="x"), headers=plain)
    assert response.status_code == 201, response.text
    assert f"{CORE}:favouriteColour" in findings(response, "ignore")


UPS = "/profile/v4"
SPEND_USER = "urn:ietf:params:scim:schemas:extension:spend:2.0:User"


def test_user_provisioning_answers_and_statuses_carry_the_lint(client: TestClient) -> None:
    """UPS /Users answers with the report; a /Bulk stores it with each operation and its
    status shows it (extension data is linted too)."""
    body = user(
        favouriteColour="teal", phoneNumbers=[{"value": "1", "type": "work", "primary": True}]
    )
    body[SPEND_USER] = {"country": "US", "locale": "en-US", "reimbursementCurrency": "USD", "x": 1}
    created = client.post(f"{UPS}/Users", json=body, headers=HEADERS)
    assert created.status_code == 201, created.text
    assert f"{CORE}:favouriteColour" in findings(created, "ignore")
    assert f"{SPEND_USER}:x" in findings(created, "ignore")
    assert f"{CORE}:phoneNumbers[0].primary" in findings(created, "warn")
    bulk = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user(title="T" * 300)},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": user()},
        ],
    }
    accepted = client.post(f"{UPS}/Bulk", json=bulk, headers=HEADERS)
    assert accepted.status_code == 202, accepted.text
    status = client.get(
        f"{UPS}/provisions/{accepted.json()['id']}/status",
        params={"attributes": "operations"},
        headers=HEADERS,
    ).json()
    first, second = status["operations"]
    rejected = {f["schemaPath"]: f for f in first[LINT]["findings"] if f["outcome"] == "reject"}
    assert rejected[f"{CORE}:title"]["rule"] == "size"
    assert second[LINT] == {"findings": []}
    plain = client.post(f"{UPS}/Bulk", json=bulk, headers={"Authorization": "Bearer test-token"})
    plain_status = client.get(
        f"{UPS}/provisions/{plain.json()['id']}/status",
        params={"attributes": "operations"},
        headers=HEADERS,
    ).json()
    assert all(LINT not in op for op in plain_status["operations"])


def test_a_patch_is_linted_on_what_it_touches(client: TestClient) -> None:
    """A PATCH reports the Concur rules on the attributes it changes and the values it
    sent that are stored otherwise, and nothing about attributes it did not send."""
    created = client.post("/scim/v2/Users", json=user(userName="not-an-email"), headers=HEADERS)
    assert created.status_code == 201, created.text
    patch = {
        "Operations": [
            {"op": "replace", "path": "title", "value": "T" * 300},
            {"op": "replace", "path": "active", "value": "False"},
        ]
    }
    response = client.patch(f"/scim/v2/Users/{created.json()['id']}", json=patch, headers=HEADERS)
    assert response.status_code == 200, response.text
    assert set(findings(response, "reject")) == {f"{CORE}:title"}  # not the stored userName
    assert findings(response, "coerce")[f"{CORE}:active"]["message"] == 'sent "False", stored false'


def test_lint_and_errors_never_quote_what_the_token_cannot_read(
    client: TestClient, engine: Engine
) -> None:
    """A token without the sensitive read scope gets no finding, and no error message,
    about emails another client stored (§7)."""
    tokens = Tokens.for_new_company(engine)
    admin = {"Authorization": f"Bearer {tokens.static(None)}", "Prefer": "concur-lint"}
    body = user(emails=[{"value": "private@home.example", "type": "SecretType"}])
    created = client.post("/scim/v2/Users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    token = tokens.jwt(["identity.user.core.read", "identity.user.coreenterprise.writeonly"])
    limited = {"Authorization": f"Bearer {token}", "Prefer": "concur-lint"}
    patch = {"Operations": [{"op": "replace", "path": "title", "value": "T"}]}
    url = f"/Users/{created.json()['id']}"
    answer = client.patch(f"/scim/v2{url}", json=patch, headers=limited)
    assert answer.status_code == 200, answer.text
    assert "SecretType" not in answer.text
    refused = client.patch(f"/profile/identity/v4{url}", json=patch, headers=limited)
    assert refused.status_code == 400, refused.text  # the stored email type breaks a rule
    assert "SecretType" not in refused.text
    assert "private@home.example" not in refused.text
    assert "cannot read" in refused.json()["detail"]


def test_bulk_operations_and_group_patches_carry_the_lint(client: TestClient) -> None:
    """/scim/v2/Bulk lints each operation; a group PATCH asked for the lint answers 200
    with the group and its report instead of 204."""
    bulk = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "u1",
                "data": user(favouriteColour="teal", active="True"),
            }
        ],
    }
    answer = client.post("/scim/v2/Bulk", json=bulk, headers=HEADERS)
    assert answer.status_code == 200, answer.text
    [operation] = answer.json()["Operations"]
    outcomes = {(f["outcome"], f["schemaPath"]) for f in operation[LINT]["findings"]}
    assert ("ignore", f"{CORE}:favouriteColour") in outcomes
    assert ("coerce", f"{CORE}:active") in outcomes
    group = client.post(
        "/scim/v2/Groups",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "L1"},
        headers=HEADERS,
    )
    patch = {"Operations": [{"op": "add", "value": {"zzz": 1}}]}
    patched = client.patch(f"/scim/v2/Groups/{group.json()['id']}", json=patch, headers=HEADERS)
    assert patched.status_code == 200, patched.text
    assert patched.json()[LINT]["findings"][0]["outcome"] == "ignore"
    plain = {"Authorization": HEADERS["Authorization"]}
    quiet = client.patch(f"/scim/v2/Groups/{group.json()['id']}", json=patch, headers=plain)
    assert quiet.status_code == 204


def test_an_unassigned_list_item_is_no_coercion(client: TestClient) -> None:
    """A null inside a list is dropped before storing, not reported as a changed value."""
    body = user(phoneNumbers=[None, {"value": "1", "type": "work"}])
    response = client.post("/profile/identity/v4/Users", json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    assert not [p for p in findings(response, "coerce") if "phoneNumbers" in p]
