"""Schemathesis against the application's own OpenAPI document, in process, on real databases.

The document is ``app.openapi()`` completed by tests/support/fuzz_openapi.py (request bodies,
query parameters, path examples, bearer auth). For every operation, schemathesis generates
requests that fit the document (positive) and requests that break it (negative); each is
sent with the test token through the in-process client of tests/conftest.py. Every answer
must be below 500; a SCIM route answers ``application/scim+json`` with a JSON body, and an
error body is an RFC 7644 §3.12 Error (``schemas`` holds the Error URN, ``status`` is the
status code as a string). Each operation of a ``/scim/v2/Bulk`` answer is held to the same
(below 500, an Error when it failed). User v1.0 (``/api/…``) answers its legacy XML or JSON
instead.

Every case with a JSON object body is also sent in a hostile variant (:func:`hostile`): a
member whose number no double holds (``1e999``), a ``NaN`` or ``Infinity`` literal, or a
case twin of one of its keys. The variant must be refused with a 400 (it is not RFC 8259
JSON, or it can be read two ways), under the same response contract.

Budget: every operation x 4 examples (2 positive, 2 negative where the document allows a
negative case), derandomised, on SQLite and on PostgreSQL: 356 requests per backend with the
89 operations of the app when this budget was set, plus one hostile variant per JSON body.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation
from support.fuzz_openapi import fuzz_openapi

from concur_scim.app import create_app
from concur_scim.config import Settings
from concur_scim.scim.errors import ERROR_URN

TOKEN = "test-token"  # tests/conftest.py's token
EXAMPLES_PER_MODE = 2
SCIM_JSON = "application/scim+json"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


@cache
def _operations() -> dict[str, APIOperation[Any, Any, Any, Any]]:
    """The fuzzable operations by label (``"PATCH /scim/v2/Users/{resource_id}"``)."""
    app = create_app(Settings(database_url="sqlite://", bearer_token=TOKEN))
    schema = schemathesis.openapi.from_dict(fuzz_openapi(app.openapi()))
    operations: dict[str, APIOperation[Any, Any, Any, Any]] = {}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself must be valid
        operations[result.ok().label] = result.ok()
    return operations


def _cases(operation: APIOperation[Any, Any, Any, Any]) -> st.SearchStrategy[Any]:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    return st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, headers=auth),
        operation.as_strategy(GenerationMode.NEGATIVE, headers=auth),
    )


HOSTILE_MEMBERS = ('"count": 1e999', '"startIndex": -1E400', '"x": NaN', '"x": -Infinity')


def hostile(body: dict[str, Any], seed: int) -> bytes:
    """``body`` as JSON text with one hostile member: a non-finite number or non-JSON
    literal, or (when ``body`` has a key to twin) a copy of a key in another case."""
    text = json.dumps(body)
    keys = [k for k in body if k.swapcase() != k and k.swapcase() not in body]
    if keys and seed % 2:
        twin = json.dumps({keys[seed % len(keys)].swapcase(): "twin"})[1:-1]
        return (text[:-1] + (", " if body else "") + twin + "}").encode()
    member = HOSTILE_MEMBERS[seed % len(HOSTILE_MEMBERS)]
    return (text[:-1] + (", " if body else "") + member + "}").encode()


def check_response(path: str, status: int, content_type: str, content: bytes) -> None:
    """The response contract: no 5xx; a SCIM JSON body (an RFC 7644 Error when failing)."""
    assert status < 500, f"{status}: {content[:500]!r}"
    if not content:
        return
    if path.startswith("/api/"):
        assert content_type.startswith(("application/xml", "application/json")), content_type
        return
    assert content_type.startswith(SCIM_JSON), content_type
    body = json.loads(content)
    if status >= 400:
        assert isinstance(body, dict), body
        if path.startswith("/profile/travel/"):  # Travel's {errorCode, errorMessage} (§4.5)
            assert isinstance(body.get("errorCode"), str), body
            assert isinstance(body.get("errorMessage"), str), body
            return
        assert ERROR_URN in body.get("schemas", []), body
        # Spend's errors carry an integer status (reference/concur-v4.md §4.5).
        wanted: int | str = status if path.startswith("/profile/spend/") else str(status)
        assert body.get("status") == wanted, body
    else:
        assert isinstance(body, dict | list), body
        if isinstance(body, dict) and BULK_RESPONSE in body.get("schemas", []):
            # A BulkResponse is a 200 whatever its operations did (RFC 7644 §3.7.3): each
            # operation is held to the same contract.
            for result in body["Operations"]:
                assert int(result["status"]) < 500, result
                if int(result["status"]) >= 400:
                    assert result["response"]["schemas"] == [ERROR_URN], result


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("label", sorted(_operations()))
def test_operation_never_fails_and_answers_scim(client: TestClient, label: str) -> None:
    """Generated requests to one operation never get a 5xx and always get a SCIM answer."""
    operation = _operations()[label]

    @settings(
        max_examples=2 * EXAMPLES_PER_MODE,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_cases(operation))
    def run(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
        request: dict[str, Any] = {
            "params": kwargs.get("params") or None,
            "headers": kwargs.get("headers") or None,
        }
        if "json" in kwargs:
            request["content"] = json.dumps(kwargs["json"]).encode()
        elif kwargs.get("data") is not None:
            data = kwargs["data"]
            request["content"] = data if isinstance(data, bytes) else str(data).encode()

        def send() -> int:
            response = client.request(kwargs["method"], kwargs["url"], **request)
            check_response(
                operation.path,
                response.status_code,
                response.headers.get("content-type", ""),
                response.content,
            )
            return response.status_code

        status = send()
        if isinstance(kwargs.get("json"), dict) and status not in (401, 403):
            request["content"] = hostile(kwargs["json"], len(request["content"]))
            assert send() in (400, 404, 405, 413), request["content"]

    run()
