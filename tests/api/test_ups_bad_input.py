"""Hostile User Provisioning input: a clear answer every time, never a 500 or a stuck request.

Each body is sent raw (``ensure_ascii`` JSON, so NUL and lone surrogates arrive as the
escapes clients send). The answer is a SCIM error (400/413) with nothing stored, or 202
and a request the worker completes with a result for every operation: nothing the client
sends may leave a request pending for the 120-minute timeout, or make the worker retry it
forever.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support.ups import (
    APPROVER,
    DELEGATE,
    ENTERPRISE,
    SPEND_USER,
    TRAVEL_USER,
    UPS,
    bulk_body,
    counts,
    identity,
    operation,
    spend_user,
    wait,
)

NO_USER = "00000000-0000-0000-0000-000000000000"


def _user(**extensions: Any) -> dict[str, Any]:
    return {**identity(), **extensions}


def _patch(ops: list[dict[str, Any]], target: str = NO_USER) -> dict[str, Any]:
    patch: dict[str, Any] = operation("PATCH", f"/Users/{target}", {"Operations": ops})
    return patch


REFUSED: dict[str, list[Any]] = {
    "NUL in a spend value": [
        operation("POST", "/Users", _user(**{SPEND_USER: spend_user(ledgerCode="a\x00b")}))
    ],
    "lone surrogate in a travel value": [
        operation("POST", "/Users", _user(**{TRAVEL_USER: {"ruleClass": {"name": "x\ud800"}}}))
    ],
    "NUL in a key": [operation("POST", "/Users", _user(**{TRAVEL_USER: {"a\x00": 1}}))],
    "NUL in a PATCH path": [_patch([{"op": "add", "path": "a\x00", "value": 1}])],
    "NUL in a delegate reference": [
        operation(
            "POST",
            "/Users",
            _user(**{DELEGATE: {"expense": [{"delegate": {"value": "\x00"}}]}}),
        )
    ],
    "NUL in a path id": [operation("PUT", "/Users/\x00", identity())],
    "a 5,000-character user id": [operation("DELETE", "/Users/" + "a" * 5000)],
    "a 5,000-character bulkId": [operation("POST", "/Users", identity(), "b" * 5000)],
    "an operation that is null": [None],
    "a POST without data": [operation("POST", "/Users")],
    "a numeric bulkId": [{"method": "POST", "path": "/Users", "bulkId": 5, "data": identity()}],
}

RESOLVED: dict[str, list[Any]] = {
    "an extension that is a string": [operation("POST", "/Users", _user(**{SPEND_USER: "no"}))],
    "an extension that is a list": [operation("POST", "/Users", _user(**{TRAVEL_USER: [1, 2]}))],
    "a huge number": [
        operation("POST", "/Users", _user(**{TRAVEL_USER: {"ruleClass": {"id": 10**40}}}))
    ],
    "a deep custom field value": [
        operation(
            "POST",
            "/Users",
            _user(
                **{
                    TRAVEL_USER: {
                        "ruleClass": {"name": "x"},
                        "customFields": [{"name": "a", "value": {"b": [[[[1]]]]}}],
                    }
                }
            ),
        )
    ],
    "approvers of the wrong types": [
        operation(
            "POST",
            "/Users",
            _user(
                **{
                    SPEND_USER: spend_user(),
                    APPROVER: {"report": [{"approver": "x", "primary": "yes"}]},
                }
            ),
        )
    ],
    "an unknown PATCH op": [_patch([{"op": "bogus"}])],
    "a PATCH of a user that does not exist": [_patch([{"op": "add", "path": "title", "value": 1}])],
    "a manager referencing its own operation": [
        operation(
            "POST", "/Users", _user(**{ENTERPRISE: {"manager": {"value": "bulkId:me"}}}), "me"
        )
    ],
    "a PUT whose id is not a user": [operation("PUT", "/Users/abc", {**identity(), "id": "abc"})],
    "an operation referencing an unknown bulkId": [
        _patch([{"op": "add", "path": "title", "value": "x"}], "bulkId:nowhere")
    ],
}


def _post(client: TestClient, operations: list[Any]) -> Any:
    raw = json.dumps(bulk_body(operations))  # ensure_ascii: NUL and surrogates as escapes
    return client.post(f"{UPS}/Bulk", content=raw, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("name", list(REFUSED))
def test_unstorable_or_malformed_input_is_refused_with_nothing_stored(
    client: TestClient, engine: Engine, name: str
) -> None:
    """400 with a SCIM error body naming the problem; no request, operation or user stored."""
    before = counts(engine)
    response = _post(client, REFUSED[name])
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    assert response.json()["detail"]
    assert counts(engine) == before


@pytest.mark.parametrize("name", list(RESOLVED))
def test_bad_operations_are_accepted_and_resolved_with_clear_results(
    client: TestClient, name: str
) -> None:
    """202, then every operation completes with results; none is an internal error."""
    response = _post(client, RESOLVED[name])
    assert response.status_code == 202, response.text
    done = wait(client, response.json()["id"])
    assert done["status"]["completed"] is True
    for op in done["operations"]:
        assert op["status"]["completed"] is True
        assert len(op["extensions"]) == 12
        codes = {m["code"] for e in op["extensions"] for m in e.get("messages", [])}
        assert "INTERNAL_ERROR" not in codes, op
        assert op["status"]["code"] != "500", op
