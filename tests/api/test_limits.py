"""Limits and back-pressure through the HTTP app: body size, JSON shape, filters, paging
windows and per-company rate limiting (docs/security.md "Limits"; reference/concur-v4.md §8).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.factories import patch, user_body

from concur_scim.app import create_app
from concur_scim.config import Settings

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
CONCUR_ERROR_URN = "urn:ietf:params:scim:api:messages:concur:2.0:Error"
TOKEN = "test-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
USERS = "/scim/v2/Users"
BULK_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
V1_USERS = "/api/user/v1.0/users"

AppFactory = Callable[..., AbstractContextManager[TestClient]]


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def make_app(client: TestClient, settings: Settings) -> AppFactory:
    """A factory of dedicated apps on this backend's database with ``overrides`` applied
    (no embedded worker); ``client`` deletes what they wrote afterwards."""

    @contextmanager
    def build(clock: FakeClock | None = None, **overrides: Any) -> Iterator[TestClient]:
        changed = settings.model_copy(update={"embedded_worker": False, **overrides})
        app = create_app(changed, clock=clock or FakeClock())
        with TestClient(app, headers=HEADERS, raise_server_exceptions=False) as dedicated:
            yield dedicated

    return build


def assert_error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert ERROR_URN in body["schemas"]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert "Traceback" not in response.text
    return body


def nested_array(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def chunked(data: bytes, size: int = 65_536) -> Iterator[bytes]:
    """``data`` as a stream, so the client sends it chunked without Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def bulk_request(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [BULK_URN], "Operations": list(operations)}


# --- body size: refused before parsing ------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", USERS), ("PUT", f"{USERS}/some-id"), ("POST", "/scim/v2/.search")],
)
def test_body_past_the_cap_is_413(
    client: TestClient, settings: Settings, method: str, path: str
) -> None:
    """A JSON body longer than max_payload_bytes answers 413 whatever the route."""
    raw = b" " * (settings.max_payload_bytes + 1)
    assert_error(client.request(method, path, content=raw), 413)


def test_chunked_body_past_the_cap_is_413(client: TestClient, settings: Settings) -> None:
    """A chunked body with no Content-Length is cut off at the cap as it streams in."""
    raw = json.dumps(user_body(nickName="x" * settings.max_payload_bytes)).encode()
    response = client.post(USERS, content=chunked(raw))
    assert "content-length" not in response.request.headers
    assert_error(response, 413)


def test_chunked_body_within_the_cap_is_accepted(client: TestClient) -> None:
    """Chunked transfer alone is not a reason to refuse a body."""
    raw = json.dumps(user_body()).encode()
    assert client.post(USERS, content=chunked(raw, size=16)).status_code == 201


@pytest.mark.parametrize("stream", [False, True])
def test_bulk_body_past_its_cap_is_413(
    client: TestClient, settings: Settings, stream: bool
) -> None:
    """The UPS /Bulk reader applies bulk_max_payload_bytes, declared or chunked."""
    raw = b" " * (settings.bulk_max_payload_bytes + 1)
    response = client.post("/profile/v4/Bulk", content=chunked(raw) if stream else raw)
    body = assert_error(response, 413)
    assert CONCUR_ERROR_URN in body["schemas"]


@pytest.mark.parametrize("stream", [False, True])
def test_user_v1_body_past_the_cap_is_a_legacy_400(
    client: TestClient, settings: Settings, stream: bool
) -> None:
    """User v1.0 keeps Concur's answer to an oversized body: 400 "request limit exceeded"."""
    raw = b"<" * (settings.max_payload_bytes + 1)
    response = client.post(
        V1_USERS,
        content=chunked(raw) if stream else raw,
        headers={"Content-Type": "application/xml"},
    )
    assert response.status_code == 400, response.text
    assert b"Request limit exceeded" in response.content


# --- JSON shape -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        nested_array(100_000),
        b"[" * 100_000,
        b'{"a":' * 40_000 + b"1" + b"}" * 40_000,
        json.dumps(user_body(x=json.loads(nested_array(40)))).encode(),
    ],
    ids=["array-100000", "unterminated-100000", "object-40000", "user-depth-41"],
)
def test_deep_json_is_invalid_syntax(client: TestClient, raw: bytes) -> None:
    """A body nested past max_json_depth is 400 invalidSyntax, however deep, never a 500."""
    body = assert_error(client.post(USERS, content=raw), 400, "invalidSyntax")
    assert "deeper than 32" in body["detail"] or "not valid JSON" in body["detail"]


def test_depth_error_names_the_limit(client: TestClient) -> None:
    """A body just past the depth cap says which cap it broke."""
    raw = json.dumps(user_body(x=json.loads(nested_array(32)))).encode()
    body = assert_error(client.post(USERS, content=raw), 400, "invalidSyntax")
    assert body["detail"] == "the request body nests deeper than 32 levels"


def test_long_array_is_invalid_syntax(client: TestClient) -> None:
    """An array of more than max_json_array_items items is 400 invalidSyntax."""
    response = client.post(USERS, json=user_body(emails=[0] * 10_001))
    body = assert_error(response, 400, "invalidSyntax")
    assert "10000 items" in body["detail"]


def test_patch_and_search_bodies_are_shape_checked(client: TestClient) -> None:
    """PATCH and POST .search read their bodies through the same caps."""
    created = client.post(USERS, json=user_body())
    assert created.status_code == 201
    ops = [{"op": "add"}] * 10_001
    response = client.patch(f"{USERS}/{created.json()['id']}", json=patch(*ops))
    assert_error(response, 400, "invalidSyntax")
    deep = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
    deep["attributes"] = json.loads(nested_array(33))
    assert_error(client.post(f"{USERS}/.search", json=deep), 400, "invalidSyntax")


def test_bulk_shape_errors_carry_concur_extension(client: TestClient) -> None:
    """UPS /Bulk checks the shape too, answering in the Concur error dialect."""
    data = {"x": json.loads(nested_array(40))}
    op = {"method": "POST", "path": "/Users", "bulkId": "a", "data": data}
    body = assert_error(
        client.post("/profile/v4/Bulk", json=bulk_request(op)), 400, "invalidSyntax"
    )
    assert CONCUR_ERROR_URN in body["schemas"]


def test_shape_caps_are_settings(make_app: AppFactory) -> None:
    """CONCUR_SCIM_MAX_JSON_DEPTH and _MAX_JSON_ARRAY_ITEMS set the caps."""
    with make_app(max_json_depth=4, max_json_array_items=100) as app:
        deep = user_body(name={"givenName": "a", "familyName": "b", "x": {"y": {"z": {}}}})
        assert_error(app.post(USERS, json=deep), 400, "invalidSyntax")
        wide = user_body(emails=[{"value": f"u{i}@example.com"} for i in range(101)])
        assert_error(app.post(USERS, json=wide), 400, "invalidSyntax")


# --- filters and paging ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "flt",
    ['userName eq "' + "a" * 4100 + '"', "(" * 33 + 'userName eq "a"' + ")" * 33],
    ids=["longer-than-4096", "nested-33"],
)
def test_oversized_filters_are_invalid_filter(client: TestClient, flt: str) -> None:
    """Filters past the length and nesting caps are 400 invalidFilter on GET and POST .search."""
    assert_error(client.get(USERS, params={"filter": flt}), 400, "invalidFilter")
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": flt}
    assert_error(client.post(f"{USERS}/.search", json=search), 400, "invalidFilter")


def test_longest_flat_filter_is_served(client: TestClient) -> None:
    """A filter of as many ``or`` clauses as fit in 4096 characters is answered, not crashed."""
    clause = 'userName eq "u@example.com"'
    count = 4096 // (len(clause) + 4)
    flt = " or ".join([clause] * count)
    assert len(flt) <= 4096
    response = client.get(USERS, params={"filter": flt})
    assert response.status_code == 200, response.text
    assert response.json()["totalResults"] == 0


def test_count_is_capped_at_max_results(make_app: AppFactory) -> None:
    """count above the page maximum is capped to ServiceProviderConfig filter.maxResults."""
    with make_app(max_page_size=2) as app:
        spc = app.get("/scim/v2/ServiceProviderConfig").json()
        assert spc["filter"]["maxResults"] == 2
        for _ in range(3):
            assert app.post(USERS, json=user_body()).status_code == 201
        page = app.get(USERS, params={"count": 1_000_000}).json()
        assert page["itemsPerPage"] == 2
        assert page["totalResults"] == 3


def test_index_paging_past_the_window_is_too_many(make_app: AppFactory) -> None:
    """startIndex-1+count past max_result_window is 400 tooMany; cursor paging is not limited."""
    with make_app(max_result_window=5) as app:
        assert app.get(USERS, params={"startIndex": 4, "count": 2}).status_code == 200
        assert_error(app.get(USERS, params={"startIndex": 5, "count": 2}), 400, "tooMany")
        assert_error(app.get(USERS, params={"startIndex": 10}), 400, "tooMany")
        totals_only = app.get(USERS, params={"startIndex": 10, "count": 0})
        assert totals_only.status_code == 200
        root: dict[str, Any] = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
        root |= {"startIndex": 6, "count": 1}
        assert_error(app.post("/scim/v2/.search", json=root), 400, "tooMany")
        assert app.get(USERS, params={"cursor": "", "count": 100}).status_code == 200


def test_no_window_by_default(client: TestClient) -> None:
    """Without max_result_window any startIndex is served (an empty page past the end)."""
    page = client.get(USERS, params={"startIndex": 10**9, "count": 10})
    assert page.status_code == 200
    assert page.json()["Resources"] == []


# --- rate limiting --------------------------------------------------------------------------


def test_rate_limit_answers_429_with_computed_retry_after(make_app: AppFactory) -> None:
    """Past the burst, requests get 429 with Retry-After until the bucket refills."""
    clock = FakeClock()
    with make_app(clock, rate_limit_per_second=0.25, rate_limit_burst=2) as app:
        assert app.get(USERS).status_code == 200
        assert app.get(USERS).status_code == 200
        refused = app.get(USERS)
        body = assert_error(refused, 429)
        assert refused.headers["Retry-After"] == "4"
        assert CONCUR_ERROR_URN not in body["schemas"]
        clock.advance(2)
        assert app.get(USERS).headers["Retry-After"] == "2"
        clock.advance(2)
        assert app.get(USERS).status_code == 200
        assert app.get(USERS).status_code == 429


def test_rate_limit_covers_every_dialect(make_app: AppFactory) -> None:
    """Every authenticated route shares the company's bucket; Concur dialects add their
    error extension and User v1.0 its legacy body, all with Retry-After."""
    clock = FakeClock()
    with make_app(clock, rate_limit_per_second=1, rate_limit_burst=1) as app:
        assert app.get("/scim/v2/ServiceProviderConfig").status_code == 200
        for path in ("/scim/v4/Users", "/profile/identity/v4/Users", "/profile/v4/Schemas"):
            refused = app.get(path)
            body = assert_error(refused, 429)
            assert CONCUR_ERROR_URN in body["schemas"]
            assert refused.headers["Retry-After"] == "1"
        legacy = app.get("/api/user/v1.0/FormFields")
        assert legacy.status_code == 429
        assert legacy.headers["Retry-After"] == "1"
        assert b"<Error" in legacy.content
        clock.advance(1)
        assert app.get("/api/user/v1.0/FormFields").status_code == 200


def test_rate_limit_spares_health_and_unauthenticated(make_app: AppFactory) -> None:
    """/healthz is never throttled, and a bad token is 401 without taking a token."""
    with make_app(rate_limit_per_second=1, rate_limit_burst=1) as app:
        for _ in range(3):
            assert app.get("/healthz").status_code == 200
            bad = app.get(USERS, headers={"Authorization": "Bearer wrong"})
            assert bad.status_code == 401
        assert app.get(USERS).status_code == 200


def test_rate_limit_is_off_by_default(client: TestClient) -> None:
    """With CONCUR_SCIM_RATE_LIMIT_PER_SECOND unset nothing is throttled."""
    for _ in range(30):
        assert client.get("/scim/v2/ServiceProviderConfig").status_code == 200
