"""Attribute scopes hold however a body spells what it writes (reference/concur-v4.md §7).

The scope check reads a write the way the write applies it: one JSON reading (keys that
differ only in case are refused, api/limits.py) and the PATCH engine's own parse of paths
and path-less values (api/scopes.py ``written_attributes``). Each case below is a spelling
that once reached the store past the check; each runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support.factories import patch, user_body
from support.tokens import Tokens
from support.ups import IDV4, SPEND_USER, UPS, bulk_body, identity, operation

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SAP = "urn:ietf:params:scim:schemas:extension:sap:2.0:User"
CORE_WRITE = "identity.user.coreenterprise.writeonly"
EXTERNAL_ID_WRITE = "identity.user.externalID.writeonly"
SAP_WRITE = "identity.user.sap.writeonly"
PROVISION_WRITE = "user.provision.write"
SPEND_WRITE = "spend.user.general.writeonly"


@pytest.fixture
def tokens(client: TestClient, engine: Engine) -> Tokens:
    """A new company's token minter (``client`` first: the database is migrated and clean)."""
    del client
    return Tokens.for_new_company(engine)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def stored(client: TestClient, tokens: Tokens, user_id: str) -> dict[str, Any]:
    """The user as a token with every scope reads it."""
    response = client.get(f"/scim/v2/Users/{user_id}", headers=bearer(tokens.static(None)))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def created_user(client: TestClient, tokens: Tokens, **extra: Any) -> str:
    body = user_body(externalId="ext-original", **extra)
    response = client.post("/scim/v2/Users", json=body, headers=bearer(tokens.static(None)))
    assert response.status_code == 201, response.text
    user_id: str = response.json()["id"]
    return user_id


def assert_error(response: Any, status: int, text: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert text in response.text, response.text


# Bodies whose members differ only in case: the check and the engine could read different
# members, so every one is refused before either looks at it.
CASE_TWINS = [
    pytest.param(
        patch({"op": "replace", "path": "externalId", "PATH": "displayName", "value": "X"}),
        id="path+PATH",
    ),
    pytest.param(
        patch({"op": "replace", "path": "displayName", "value": "X", "VALUE": "Y"}),
        id="value+VALUE",
    ),
    pytest.param(
        {
            "Operations": [{"op": "replace", "path": "displayName", "value": "X"}],
            "operations": [{"op": "replace", "path": "externalId", "value": "X"}],
        },
        id="Operations+operations",
    ),
    pytest.param(
        patch({"op": "replace", "value": {"displayName": "X", "DisplayName": "Y"}}),
        id="value-object-keys",
    ),
    pytest.param(
        patch({"op": "replace", "Op": "add", "path": "displayName", "value": "X"}),
        id="op+Op",
    ),
]


@pytest.mark.parametrize("body", CASE_TWINS)
def test_patch_members_differing_only_in_case_are_refused(
    client: TestClient, tokens: Tokens, body: dict[str, Any]
) -> None:
    """A PATCH with two members that differ only in case is 400 invalidSyntax and stores
    nothing, whatever scopes the token has."""
    user_id = created_user(client, tokens)
    before = stored(client, tokens, user_id)
    for token in (tokens.jwt([CORE_WRITE]), tokens.static(None)):
        response = client.patch(f"/scim/v2/Users/{user_id}", json=body, headers=bearer(token))
        assert_error(response, 400, "invalidSyntax")
        assert "differ only in case" in response.json()["detail"]
    after = stored(client, tokens, user_id)
    assert after["externalId"] == before["externalId"] == "ext-original"
    assert after == before


def test_posts_and_bulk_operations_with_case_twins_are_refused(
    client: TestClient, tokens: Tokens
) -> None:
    """Case twins in a POST body, a UPS /Users body and inside a /Bulk operation's data are
    refused (400) before anything is stored."""
    writer = bearer(tokens.static(None))
    body = user_body(externalId="a", EXTERNALID="b")
    assert_error(client.post("/scim/v2/Users", json=body, headers=writer), 400, "invalidSyntax")
    ups_body = {**identity(), "userName": body["userName"], "externalId": "a", "ExternalId": "b"}
    assert_error(client.post(f"{UPS}/Users", json=ups_body, headers=writer), 400, "invalidSyntax")
    user_id = created_user(client, tokens)
    twin = patch({"op": "replace", "path": "externalId", "PATH": "title", "value": "x"})
    bulk = bulk_body([operation("PATCH", f"/Users/{user_id}", twin)])
    assert_error(client.post(f"{UPS}/Bulk", json=bulk, headers=writer), 400, "invalidSyntax")
    found = client.get(
        "/scim/v2/Users", params={"filter": f'userName eq "{body["userName"]}"'}, headers=writer
    )
    assert found.json()["totalResults"] == 0
    assert stored(client, tokens, user_id)["externalId"] == "ext-original"


# Spellings of a PATCH that writes externalId, each resolved by the engine to externalId.
EXTERNAL_ID_PATCHES = [
    pytest.param({"op": "replace", "path": CORE_USER, "value": {"externalId": "X"}}, id="urn-path"),
    pytest.param({"op": "replace", "path": f"{CORE_USER}.externalId", "value": "X"}, id="dot-urn"),
    pytest.param({"op": "replace", "path": " EXTERNALID ", "value": "X"}, id="upper-spaced"),
    pytest.param({"op": "add", "value": {f"{CORE_USER}.externalId": "X"}}, id="pathless-dot-urn"),
    pytest.param({"op": "add", "value": {CORE_USER: {"ExternalId": "X"}}}, id="pathless-urn-obj"),
]


@pytest.mark.parametrize("op", EXTERNAL_ID_PATCHES)
@pytest.mark.parametrize("prefix", ["/scim/v2", IDV4, UPS])
def test_every_external_id_spelling_needs_its_scope(
    client: TestClient, tokens: Tokens, op: dict[str, Any], prefix: str
) -> None:
    """Without identity.user.externalID.writeonly, every spelling the engine reads as
    externalId is 403 and the stored value stays; with the scope it is applied."""
    user_id = created_user(client, tokens)
    scopes = [CORE_WRITE, PROVISION_WRITE] if prefix == UPS else [CORE_WRITE]
    url = f"{prefix}/Users/{user_id}"
    refused = client.patch(url, json=patch(op), headers=bearer(tokens.jwt(scopes)))
    assert_error(refused, 403, EXTERNAL_ID_WRITE)
    assert stored(client, tokens, user_id)["externalId"] == "ext-original"
    allowed_token = tokens.jwt([*scopes, EXTERNAL_ID_WRITE])
    allowed = client.patch(url, json=patch(op), headers=bearer(allowed_token))
    assert allowed.status_code == 200, allowed.text
    assert stored(client, tokens, user_id)["externalId"] == "X"


def test_bulk_patch_spellings_need_the_external_id_scope(
    client: TestClient, tokens: Tokens
) -> None:
    """A /Bulk PATCH operation is checked as the engine will read it: a schema-URN path
    writing externalId is refused at submission (403), nothing queued."""
    user_id = created_user(client, tokens)
    writer = bearer(tokens.jwt([PROVISION_WRITE, CORE_WRITE]))
    for param in EXTERNAL_ID_PATCHES:
        op: dict[str, Any] = param.values[0]  # type: ignore[assignment]
        bulk = bulk_body([operation("PATCH", f"/Users/{user_id}", patch(op))])
        assert_error(client.post(f"{UPS}/Bulk", json=bulk, headers=writer), 403, EXTERNAL_ID_WRITE)
    assert stored(client, tokens, user_id)["externalId"] == "ext-original"


@pytest.mark.parametrize(
    "op",
    [
        pytest.param({"op": "replace", "path": SAP, "value": {"userUuid": "u-2"}}, id="urn-path"),
        pytest.param({"op": "replace", "path": f"{SAP}.userUuid", "value": "u-2"}, id="dot-urn"),
        pytest.param({"op": "add", "value": {SAP.lower(): {"USERUUID": "u-2"}}}, id="lower-urn"),
    ],
)
def test_sap_user_uuid_spellings_need_their_scope(
    client: TestClient, tokens: Tokens, op: dict[str, Any]
) -> None:
    """Every spelling of the SAP userUuid (§6.3) needs identity.user.sap.writeonly."""
    user_id = created_user(client, tokens, **{SAP: {"userUuid": "u-1"}})
    url = f"/scim/v2/Users/{user_id}"
    refused = client.patch(url, json=patch(op), headers=bearer(tokens.jwt([CORE_WRITE])))
    assert_error(refused, 403, SAP_WRITE)
    assert stored(client, tokens, user_id)[SAP] == {"userUuid": "u-1"}


@pytest.mark.parametrize(
    "op",
    [
        pytest.param(
            {"op": "add", "path": f"{SPEND_USER}:", "value": {"country": "US"}}, id="colon"
        ),
        pytest.param(
            {"op": "add", "path": SPEND_USER.lower(), "value": {"country": "US"}}, id="low"
        ),
        pytest.param({"op": "add", "path": f"{SPEND_USER}.country", "value": "US"}, id="dot"),
        pytest.param({"op": "add", "value": {f"{SPEND_USER}:country": "US"}}, id="pathless"),
    ],
)
def test_ups_spend_spellings_need_the_spend_scope(
    client: TestClient, tokens: Tokens, op: dict[str, Any]
) -> None:
    """Spend data by any path form in UPS PATCH /Users or a /Bulk PATCH needs
    spend.user.general.writeonly (§3.1), refused before anything is stored."""
    writer = bearer(tokens.jwt([PROVISION_WRITE, CORE_WRITE]))
    created = client.post(f"{UPS}/Users", json=identity(), headers=writer)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    refused = client.patch(f"{UPS}/Users/{user_id}", json=patch(op), headers=writer)
    assert_error(refused, 403, SPEND_WRITE)
    bulk = bulk_body([operation("PATCH", f"/Users/{user_id}", patch(op))])
    assert_error(client.post(f"{UPS}/Bulk", json=bulk, headers=writer), 403, SPEND_WRITE)
    spend = client.get(
        f"/profile/spend/v4.1/Users/{user_id}", headers=bearer(tokens.static(None))
    ).json()
    assert not spend.get(SPEND_USER), spend  # the view shows an empty object for none
