"""Every client mistake is a SCIM Error (RFC 7644 §3.12): no 422, no 500, nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from support.factories import patch, user_body

from concur_scim.store.tables import users

USERS = "/scim/v2/Users"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


def user_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def assert_scim_error(response: Any, status: int, scim_type: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert body["detail"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b"[1, 2", '{"userName": "\u00e9"'.encode("latin-1"), b"\xff\xfe"],
)
def test_malformed_json_is_invalid_syntax(client: TestClient, engine: Engine, raw: bytes) -> None:
    """A body that is not JSON answers 400 invalidSyntax and stores nothing."""
    assert_scim_error(client.post(USERS, content=raw), 400, "invalidSyntax")
    assert user_count(engine) == 0


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ([1, 2, 3], "invalidSyntax"),
        ("a string", "invalidSyntax"),
        ({"name": {"givenName": "no userName"}}, "invalidValue"),
        ({"userName": 42.5, "active": "maybe"}, "invalidValue"),
        ({"userName": ["a", "b"]}, "invalidValue"),
        ({"userName": "x", "name": "not an object"}, "invalidValue"),
        (
            {
                "userName": "x",
                "emails": [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
            },
            "invalidValue",
        ),
        ({"userName": "x" * 600}, "invalidValue"),
        ({"userName": "nul\u0000byte"}, "invalidValue"),
    ],
)
def test_bad_values_are_400(
    client: TestClient, engine: Engine, body: object, scim_type: str
) -> None:
    """Wrong types, missing userName, two primaries, long or NUL values: 400, nothing stored."""
    assert_scim_error(client.post(USERS, json=body), 400, scim_type)
    assert user_count(engine) == 0


@pytest.mark.parametrize(
    "flt",
    [
        "userName eq",
        'userName zz "x"',
        'noSuch eq "x"',
        'name eq "x"',
        "active gt true",
        'emails[type eq "work"',
        'urn:example:bad:1.0:x eq "1"',
        "((",
        'password eq "x"',
    ],
)
def test_bad_filter_is_invalid_filter(client: TestClient, flt: str) -> None:
    """Unparsable filters and unknown attributes answer 400 invalidFilter."""
    assert_scim_error(client.get(USERS, params={"filter": flt}), 400, "invalidFilter")


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "remove"}, "noTarget"),
        ({"op": "jump", "path": "title", "value": "x"}, "invalidSyntax"),
        ({"op": "replace", "path": "emails[type eq", "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": "name.nosuch", "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": "active", "value": "perhaps"}, "invalidValue"),
    ],
)
def test_bad_patch_is_400(client: TestClient, operation: dict[str, object], scim_type: str) -> None:
    """Bad PATCH operations answer 400 with the RFC scimType and change nothing."""
    created = client.post(USERS, json=user_body()).json()
    url = f"{USERS}/{created['id']}"
    assert_scim_error(client.patch(url, json=patch(operation)), 400, scim_type)
    assert client.get(url).json() == created


def test_patch_without_operations_is_400(client: TestClient) -> None:
    """A PatchOp without Operations is rejected."""
    created = client.post(USERS, json=user_body()).json()
    response = client.patch(f"{USERS}/{created['id']}", json={"schemas": []})
    assert response.status_code == 400


def test_missing_token_is_401_with_challenge(client: TestClient) -> None:
    """No bearer token: 401 SCIM error with WWW-Authenticate: Bearer."""
    response = client.get(USERS, headers={"Authorization": ""})
    assert_scim_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_wrong_token_is_401(client: TestClient) -> None:
    """A wrong bearer token is refused on every endpoint, discovery included."""
    for path in (USERS, "/scim/v2/Groups", "/scim/v2/Schemas", "/scim/v2/ServiceProviderConfig"):
        assert_scim_error(client.get(path, headers={"Authorization": "Bearer nope"}), 401)


def test_healthz_needs_no_token(client: TestClient) -> None:
    """/healthz answers 200 without authentication."""
    assert client.get("/healthz", headers={"Authorization": ""}).status_code == 200


def test_unknown_endpoint_and_method_are_scim_errors(client: TestClient) -> None:
    """Routing failures are SCIM errors too: 404 for a path, 405 for a method."""
    assert_scim_error(client.get("/scim/v2/Nope"), 404)
    assert_scim_error(client.put(USERS, json={}), 405)


def test_payload_too_large_is_413(client: TestClient, engine: Engine) -> None:
    """A body past the configured limit answers 413 and stores nothing."""
    body = user_body(title="x" * 300_000)
    assert_scim_error(client.post(USERS, json=body), 413)
    assert user_count(engine) == 0


@pytest.mark.parametrize(
    "params",
    [
        {"startIndex": "99999999999999999999"},
        {"count": "99999999999999999999"},
        {"cursor": "YzE6OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"},
        {"filter": 'meta.created gt "9999-12-31T23:59:59-05:00"'},
        {"filter": 'meta.created lt "0001-01-01T00:00:00+14:00"'},
        {"filter": 'userName eq "a\u0000b"'},
    ],
)
def test_extreme_query_values_are_never_500(client: TestClient, params: dict[str, str]) -> None:
    """Huge numbers, out-of-range dates and unstorable text in a query answer 200 or 400."""
    response = client.get(USERS, params=params)
    assert response.status_code in (200, 400), response.text
    assert response.headers["content-type"].startswith("application/scim+json")


def test_unstorable_text_in_filter_is_invalid_filter(client: TestClient) -> None:
    """A filter value that is a lone surrogate (escaped in the query) is 400 invalidFilter."""
    response = client.get(USERS + "?filter=title%20eq%20%22%5Cud800%22")
    assert_scim_error(response, 400, "invalidFilter")


def test_lone_surrogate_in_body_is_invalid_value(client: TestClient, engine: Engine) -> None:
    """A string with a lone surrogate (valid JSON, not storable UTF-8) is 400, nothing stored."""
    response = client.post(USERS, content=b'{"userName": "\\ud800x"}')
    assert_scim_error(response, 400, "invalidValue")
    assert user_count(engine) == 0


def test_nul_in_path_is_404(client: TestClient) -> None:
    """An id with a NUL byte is simply not found, on every backend."""
    assert_scim_error(client.get(f"{USERS}/a%00b"), 404)


def test_search_attributes_must_be_names(client: TestClient) -> None:
    """A SearchRequest whose attributes is not a string or list is 400, not a crash."""
    response = client.post(f"{USERS}/.search", json={"attributes": 1})
    assert_scim_error(response, 400, "invalidValue")
