"""Only RFC 8259 JSON is read, on every JSON route (api/limits.py ``parse_json``).

UTF-8 without a byte order mark (§8.1), no ``NaN``/``Infinity`` literals (§6), numbers a
double can hold, and no two keys that differ only in case (RFC 7643 §2.1). Anything else is a
400 SCIM Error that stores nothing; never a 500. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from support.factories import user_body
from support.isolation import app_routes

from concur_scim.app import create_app
from concur_scim.config import Settings

TOKEN = "test-token"  # tests/conftest.py's token
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
CONCUR_SEARCH = "urn:ietf:params:scim:api:messages:concur:2.0:SearchRequest"


def _search_routes() -> list[str]:
    app = create_app(Settings(database_url="sqlite://", bearer_token=TOKEN))
    return [path for method, path in app_routes(app) if method == "POST" and "/.search" in path]


SEARCH_ROUTES = _search_routes()

NON_FINITE = [
    pytest.param('"count": 1e999', "invalidValue", id="count-1e999"),
    pytest.param('"startIndex": -1e999', "invalidValue", id="startIndex--1e999"),
    pytest.param('"count": 1E400', "invalidValue", id="count-1E400"),
    pytest.param('"count": Infinity', "invalidSyntax", id="count-Infinity"),
    pytest.param('"count": -Infinity', "invalidSyntax", id="count--Infinity"),
    pytest.param('"startIndex": NaN', "invalidSyntax", id="startIndex-NaN"),
]


def test_every_search_route_is_covered() -> None:
    """The app serves .search routes on several dialects, and this file sees them all."""
    assert len(SEARCH_ROUTES) >= 4, SEARCH_ROUTES
    assert "/scim/v2/.search" in SEARCH_ROUTES


@pytest.mark.parametrize(("text", "wanted"), NON_FINITE)
@pytest.mark.parametrize("route", SEARCH_ROUTES)
def test_search_with_a_non_finite_number_is_a_400(
    client: TestClient, route: str, text: str, wanted: str
) -> None:
    """``.search`` with a number no double holds, or a non-JSON literal, is 400 with the
    scimType that names the fault, on every dialect."""
    body = f'{{"schemas": ["{SEARCH_REQUEST}", "{CONCUR_SEARCH}"], {text}}}'
    response = client.post(route, content=body.encode(), headers=HEADERS)
    assert response.status_code == 400, (route, response.status_code, response.text)
    assert response.json()["scimType"] == wanted, response.text


@pytest.mark.parametrize("number", ["1e308", "-1e308", "123456789012345678901234567890", "-0"])
def test_search_with_a_huge_but_finite_number_is_no_500(client: TestClient, number: str) -> None:
    """Large finite numbers are paging numbers out of range, never a server error."""
    for route in SEARCH_ROUTES:
        body = f'{{"schemas": ["{SEARCH_REQUEST}", "{CONCUR_SEARCH}"], "count": {number}}}'
        response = client.post(route, content=body.encode(), headers=HEADERS)
        assert response.status_code < 500, (route, response.text)


def _user_json(user_name: str, extra: str = "") -> str:
    core = "urn:ietf:params:scim:schemas:core:2.0:User"
    return f'{{"schemas": ["{core}"], "userName": {user_name}{extra}}}'


def _exists(client: TestClient, user_name: str) -> bool:
    params = {"filter": f'userName eq "{user_name}"'}
    found = client.get("/scim/v2/Users", params=params, headers=HEADERS).json()
    return bool(found["totalResults"])


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        pytest.param(_user_json("NaN").encode(), "JSON value", id="NaN"),
        pytest.param(_user_json("Infinity").encode(), "JSON value", id="Infinity"),
        pytest.param(_user_json('"x@y.com"', ', "age": -Infinity').encode(), "JSON", id="-Inf"),
        pytest.param(
            b"\xef\xbb\xbf" + _user_json('"bom@example.com"').encode(), "byte order mark", id="bom"
        ),
        pytest.param(_user_json('"u16@example.com"').encode("utf-16"), "UTF-8", id="utf-16"),
        pytest.param(_user_json('"u16le@example.com"').encode("utf-16-le"), "JSON", id="utf-16-le"),
        pytest.param(_user_json('"u32@example.com"').encode("utf-32"), "UTF-8", id="utf-32"),
        pytest.param(b'{"userName": "latin1-\xe9@example.com"}', "UTF-8", id="latin-1"),
    ],
)
def test_a_body_that_is_not_rfc8259_json_creates_nothing(
    client: TestClient, raw: bytes, detail: str
) -> None:
    """NaN and Infinity literals, a BOM, UTF-16/32 and other non-UTF-8 bodies are 400
    invalidSyntax; no user is created (once ``"userName": NaN`` made a user "nan")."""
    response = client.post("/scim/v2/Users", content=raw, headers=HEADERS)
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidSyntax", response.text
    assert detail in response.json()["detail"], response.text
    for name in ("nan", "inf", "infinity", "bom@example.com", "u16@example.com"):
        assert not _exists(client, name), name


def test_bulk_and_patch_refuse_non_json_literals(client: TestClient) -> None:
    """The same reading applies to a PATCH and to a UPS /Bulk body (parsed by its own
    size limit)."""
    created = client.post("/scim/v2/Users", json=user_body(), headers=HEADERS)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    patch = (
        '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],'
        ' "Operations": [{"op": "replace", "path": "title", "value": NaN}]}'
    )
    response = client.patch(f"/scim/v2/Users/{user_id}", content=patch.encode(), headers=HEADERS)
    assert response.status_code == 400, response.text
    assert "title" not in client.get(f"/scim/v2/Users/{user_id}", headers=HEADERS).json()
    bulk = (
        '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "failOnErrors": 1e999,'
        ' "Operations": []}'
    )
    response = client.post("/profile/v4/Bulk", content=bulk.encode(), headers=HEADERS)
    assert response.status_code == 400, response.text


def test_nul_in_a_root_search_filter_is_a_400(client: TestClient) -> None:
    """A filter value with NUL is 400 invalidFilter at the root ``/.search`` as on
    ``/Users/.search``: the root skips only types that lack the attribute."""
    body = {"schemas": [SEARCH_REQUEST], "filter": 'userName eq "a\x00b"'}
    for route in ("/scim/v2/.search", "/scim/v2/Users/.search"):
        response = client.post(route, json=body, headers=HEADERS)
        assert response.status_code == 400, (route, response.text)
        assert response.json()["scimType"] == "invalidFilter", response.text
    other = {"schemas": [SEARCH_REQUEST], "filter": 'members.value eq "x"'}
    response = client.post("/scim/v2/.search", json=other, headers=HEADERS)
    assert response.status_code == 200, response.text  # Users lack members: Groups answer


def test_lone_surrogates_in_a_scim_bulk_are_a_400(client: TestClient) -> None:
    """A bulkId or a path id with a lone surrogate is refused before anything runs."""
    head = '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ['
    for operation in (
        '{"method": "POST", "path": "/Users", "bulkId": "\\ud800", "data": {"userName": "a@b"}}',
        '{"method": "DELETE", "path": "/Users/\\udfff"}',
    ):
        response = client.post(
            "/scim/v2/Bulk", content=(head + operation + "]}").encode(), headers=HEADERS
        )
        assert response.status_code == 400, response.text
        assert response.json()["scimType"] == "invalidSyntax", response.text
