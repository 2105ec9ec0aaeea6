"""User Provisioning v4 /Bulk through the HTTP app: the worker's results, bulkId graphs,
limits and envelope errors (reference/concur-v4.md §3.2-§3.4, §9 items 6, 7, 19, 21)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support.ups import (
    ALL_EXTENSIONS,
    APPROVER,
    APPROVER_LIMIT,
    BULK_REQUEST,
    CORE,
    DELEGATE,
    DOWNSTREAM,
    ENTERPRISE,
    IDV4,
    INVOICE_PREFERENCE,
    LEGACY_UPS,
    PATCH_OP,
    PAYROLL,
    ROLE,
    SPEND,
    SPEND_USER,
    TRAVEL,
    TRAVEL_USER,
    UPS,
    USER_PREFERENCE,
    WORKFLOW_PREFERENCE,
    bulk_body,
    counts,
    create_user,
    delete_company_rows,
    errors,
    extension,
    full_user,
    identity,
    operation,
    read,
    results,
    run_bulk,
    spend_user,
    submit,
    wait,
)

from concur_scim.app import create_app
from concur_scim.config import Settings

SAMPLE_COMPANY = "4072d61f-d6a6-4553-9507-267748573f4b"
# Concur's published Bulk example, byte for byte (tests/unit/test_published_examples.py).
PUBLISHED_EXAMPLE = (
    Path(__file__).resolve().parent.parent / "data" / "ups-bulk-request-example.json"
)
UNKNOWN_PRINCIPAL = "eef62890-04fc-4b72-9c5e-1511497414be"


@pytest.fixture
def sample_client(client: TestClient, settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """An app whose company is the one Concur's Bulk example names, on the test database."""
    default = client.app.state.default_company_id  # type: ignore[attr-defined]
    assert settings.bearer_token is not None
    token = settings.bearer_token.get_secret_value()
    app = create_app(
        Settings(database_url=settings.database_url, bearer_token=token, company_id=SAMPLE_COMPANY)
    )
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        with TestClient(app, headers=headers, raise_server_exceptions=False) as sample:
            yield sample
    finally:
        delete_company_rows(engine, SAMPLE_COMPANY, default)


# -- Concur's own example -------------------------------------------------------------------


def test_concur_bulk_example_end_to_end(sample_client: TestClient) -> None:
    """Concur's Bulk example, sent exactly as published: identity and the valid extensions
    apply, Approver and Delegate fail with Concur's messages (their users do not exist), the
    operation reports 207; the rules the example contradicts only warn."""
    raw = PUBLISHED_EXAMPLE.read_text(encoding="utf-8")
    assert raw.count('"preferredLanguage"') == 2  # the repeated key is sent as written
    response = sample_client.post(f"{UPS}/Bulk", content=raw)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == {"completed": False, "success": None}
    assert accepted["meta"]["companyId"] == SAMPLE_COMPANY
    done = wait(sample_client, accepted["id"])

    assert done["status"] == {"completed": True, "success": False}
    assert done["operationsCount"] == {"total": 1, "success": 0, "failed": 1, "pending": 0}
    [op] = done["operations"]
    assert op["bulkId"] == "gen-temp-bulk-id-1"  # none sent: generated
    assert op["status"] == {"completed": True, "success": False, "code": "207"}
    assert [e["name"] for e in op["extensions"]] == list(ALL_EXTENSIONS)
    assert results(op) == {
        CORE: "success",
        ENTERPRISE: "success",
        TRAVEL_USER: "success",
        SPEND_USER: "success",
        ROLE: "success",
        APPROVER: "error",
        APPROVER_LIMIT: "no-op",
        DELEGATE: "error",
        USER_PREFERENCE: "success",
        WORKFLOW_PREFERENCE: "success",
        INVOICE_PREFERENCE: "no-op",
        PAYROLL: "no-op",
    }
    assert extension(op, APPROVER)["status"] == {
        "completed": True,
        "success": False,
        "result": "error",
        "code": "400",
    }
    assert sorted(errors(op, APPROVER)) == [("INVALID_VALUE", "Invalid User ID")] * 2
    assert errors(op, DELEGATE) == [("INVALID_USER", "Employee does not exist")]
    delegate_message = extension(op, DELEGATE)["messages"][0]
    assert delegate_message["schemaPath"] == f"{DELEGATE}:expense[0].delegate"
    gender = [m for m in extension(op, CORE).get("messages", []) if "gender" in m["schemaPath"]]
    assert [(m["type"], m["schemaPath"]) for m in gender] == [("warning", f"{CORE}:gender")]
    manager = [m["schemaPath"] for m in extension(op, ENTERPRISE)["messages"]]
    assert f"{ENTERPRISE}:manager.value" in manager  # an unknown manager is left out
    warned = {
        (m["schemaPath"], m["type"])
        for urn in (CORE, APPROVER)
        for m in extension(op, urn).get("messages", [])
        if m["code"] == "INVALID_VALUE"
    }
    assert {
        (f"{CORE}:phoneNumbers[0].primary", "warning"),
        (f"{CORE}:phoneNumbers[0].notifications", "warning"),
        (f"{CORE}:emergencyContacts[0].relationship", "warning"),
        (f"{APPROVER}:budget[0].primary", "warning"),
    } <= warned, warned

    user_id = op["resource"]["id"]
    assert op["resource"] == {"id": user_id, "type": "User"}
    person = read(sample_client, IDV4, user_id)
    assert person["userName"] == "john.doe1201@BravoPro7.com"
    assert person["externalId"] == "11223213123123"
    assert person["timezone"] == "America/Los_Angeles"
    assert person[ENTERPRISE]["employeeNumber"] == "137490"
    assert person[ENTERPRISE]["companyId"] == SAMPLE_COMPANY
    assert person[ENTERPRISE].get("manager") is None
    spend = read(sample_client, SPEND, user_id)
    assert spend[SPEND_USER]["reimbursementType"] == "CONCUR_PAY"
    assert spend[SPEND_USER]["stateProvince"] == "WA"
    assert spend[WORKFLOW_PREFERENCE]["promptForApproverOnPaymentSubmit"] is True
    assert spend[USER_PREFERENCE]["expenseAuditRequired"] == "REQUIRED"
    assert spend[APPROVER] == {}
    assert spend[DELEGATE] == {}
    travel = read(sample_client, TRAVEL, user_id)
    assert travel[TRAVEL_USER]["ruleClass"] == {"id": 766615}


def test_concur_bulk_example_for_another_company_fails_on_company_id_alone(
    client: TestClient,
) -> None:
    """Sent to a server whose company is not the example's, the published example fails on
    companyId alone, with a message that says how to serve that company."""
    raw = PUBLISHED_EXAMPLE.read_text(encoding="utf-8")
    response = client.post(f"{UPS}/Bulk", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text
    done = wait(client, response.json()["id"])
    [op] = done["operations"]
    assert op["status"] == {"completed": True, "success": False, "code": "400"}
    [(code, text)] = errors(op, CORE)
    assert code == "INVALID_VALUE"
    assert f"CONCUR_SCIM_COMPANY_ID={SAMPLE_COMPANY}" in text
    [message] = [m for m in extension(op, CORE)["messages"] if m["type"] == "error"]
    assert message["schemaPath"] == f"{ENTERPRISE}:companyId"


# -- result kinds ---------------------------------------------------------------------------


def test_identity_failure_leaves_every_other_extension_not_processed(
    client: TestClient, engine: Engine
) -> None:
    """A refused identity fails the operation with its code; nothing downstream runs (§3.4)."""
    body = identity()
    del body["name"]  # required
    body[SPEND_USER] = spend_user()
    body[TRAVEL_USER] = {"ruleClass": {"id": 1}}
    before = counts(engine)
    done = run_bulk(client, [operation("POST", "/Users", body, "bad")])
    [op] = done["operations"]
    assert op["status"] == {"completed": True, "success": False, "code": "400"}
    assert "resource" not in op
    assert results(op) == {
        CORE: "error",
        **dict.fromkeys(ALL_EXTENSIONS[1:], "not-processed"),
    }
    assert extension(op, CORE)["status"]["code"] == "400"
    assert {extension(op, urn)["status"]["code"] for urn in ALL_EXTENSIONS[1:]} == {"424"}
    assert all(e["status"]["success"] is False for e in op["extensions"])
    assert errors(op, CORE)
    assert done["operationsCount"] == {"total": 1, "success": 0, "failed": 1, "pending": 0}
    assert done["status"]["success"] is False
    assert counts(engine)[2] == before[2]  # no user


def _exists(client: TestClient, user_name: str) -> bool:
    page = client.get(f"{IDV4}/Users", params={"filter": f'userName eq "{user_name}"'}).json()
    return bool(page["totalResults"])


@pytest.mark.parametrize(("fail_on_errors", "processed"), [(1, False), (None, True)])
def test_fail_on_errors_leaves_the_rest_not_processed(
    client: TestClient, fail_on_errors: int | None, processed: bool
) -> None:
    """failOnErrors=1: after the first failure no operation runs; without it they all do."""
    bad = identity()
    bad["userName"] = "bad#name@example.com"
    good = [identity(), identity()]
    ops = [operation("POST", "/Users", bad, "bad")] + [
        operation("POST", "/Users", {**g, SPEND_USER: spend_user()}, f"g{i}")
        for i, g in enumerate(good)
    ]
    done = run_bulk(client, ops, fail_on_errors=fail_on_errors)
    first, *rest = done["operations"]
    assert first["status"]["success"] is False
    assert results(first)[CORE] == "error"
    for op in rest:
        if processed:
            assert op["status"] == {"completed": True, "success": True, "code": "201"}
            assert results(op)[SPEND_USER] == "success"
        else:
            assert op["status"] == {"completed": True, "success": False, "code": "424"}
            assert set(results(op).values()) == {"not-processed"}
            [note] = extension(op, CORE)["messages"]
            assert note["code"] == "NOT_PROCESSED"
            assert "failOnErrors" in note["message"]
    assert [_exists(client, g["userName"]) for g in good] == [processed, processed]
    failed = 1 if processed else 3
    assert done["operationsCount"] == {
        "total": 3,
        "success": 3 - failed,
        "failed": failed,
        "pending": 0,
    }


def test_fail_on_errors_counts_failures(client: TestClient) -> None:
    """failOnErrors=2: processing goes on after one failure and stops after the second."""
    bad1, bad2 = identity(), identity()
    bad1["active"] = "maybe"
    bad2["userName"] = "bad(2)@example.com"
    ops = [
        operation("POST", "/Users", bad1, "a"),
        operation("POST", "/Users", identity(), "b"),
        operation("POST", "/Users", bad2, "c"),
        operation("POST", "/Users", identity(), "d"),
    ]
    done = run_bulk(client, ops, fail_on_errors=2)
    codes = [op["status"]["code"] for op in done["operations"]]
    assert codes == ["400", "201", "400", "424"]


def test_spend_user_failure_makes_dependent_spend_extensions_no_op(client: TestClient) -> None:
    """A refused Spend User blocks Role and the preferences (no-op, §3.4); travel, which does
    not depend on it, still applies, and the identity stands."""
    body = identity()
    body[SPEND_USER] = spend_user(reimbursementCurrency="US")  # three characters required
    body[ROLE] = {"roles": [{"roleName": "EXP_APPROVER"}]}
    body[USER_PREFERENCE] = {"showImagingIntro": False}
    body[TRAVEL_USER] = {"ruleClass": {"id": 7}}
    done = run_bulk(client, [operation("POST", "/Users", body, "u")])
    [op] = done["operations"]
    assert op["status"] == {"completed": True, "success": False, "code": "207"}
    got = results(op)
    assert got[SPEND_USER] == "error"
    found = errors(op, SPEND_USER)  # every finding: the size, and no ISO 4217 code
    assert {c for c, _ in found} == {"INVALID_VALUE"}
    assert f"Invalid '{SPEND_USER}:reimbursementCurrency' Size" in [m for _, m in found]
    assert got[ROLE] == got[USER_PREFERENCE] == "no-op"
    for urn in (ROLE, USER_PREFERENCE):
        [note] = extension(op, urn)["messages"]
        assert (note["type"], note["schemaPath"]) == ("warning", SPEND_USER)
    assert got[TRAVEL_USER] == "success"
    assert got[CORE] == "success"
    user_id = op["resource"]["id"]
    spend = read(client, SPEND, user_id)
    assert spend[SPEND_USER] == {}
    assert spend[ROLE] == {}
    assert read(client, TRAVEL, user_id)[TRAVEL_USER]["ruleClass"] == {"id": 7}
    assert read(client, IDV4, user_id)["userName"] == body["userName"]


def test_spend_extension_without_any_spend_user_is_an_error(client: TestClient) -> None:
    """A spend extension for a user who has no Spend User, and none in the request, fails."""
    body = identity()
    body[WORKFLOW_PREFERENCE] = {"promptForApproverOnReportSubmit": True}
    done = run_bulk(client, [operation("POST", "/Users", body, "u")])
    [op] = done["operations"]
    assert results(op)[WORKFLOW_PREFERENCE] == "error"
    assert errors(op, WORKFLOW_PREFERENCE) == [("INVALID_USER", "Spend user does not exist")]
    assert op["status"]["code"] == "207"
    assert read(client, SPEND, op["resource"]["id"])[WORKFLOW_PREFERENCE] == {}


def test_unchanged_extension_is_a_no_op(client: TestClient) -> None:
    """Sending an extension as it is stored changes nothing: no-op, the operation succeeds."""
    body = identity()
    body[SPEND_USER] = spend_user()
    user_id = create_user(client, body)
    again = {SPEND_USER: spend_user(), TRAVEL_USER: {"ruleClass": {"id": 3}}}
    patch = {"Operations": [{"op": "add", "value": again}]}
    done = run_bulk(client, [operation("PATCH", f"/Users/{user_id}", patch, "p")])
    [op] = done["operations"]
    assert op["status"] == {"completed": True, "success": True, "code": "200"}
    assert results(op)[SPEND_USER] == "no-op"
    assert results(op)[TRAVEL_USER] == "success"
    assert extension(op, SPEND_USER)["status"]["success"] is True


# -- a full Bulk ----------------------------------------------------------------------------


def test_hundred_users_with_every_extension(client: TestClient) -> None:
    """100 users with every extension, each approved by and delegating to the user created
    before it in the same request (``bulkId:``), all succeed and read back."""
    boss = create_user(client, full_user())
    bodies = [
        full_user(approver=boss if i == 0 else f"bulkId:u{i - 1}", manager=None) for i in range(100)
    ]
    for i, body in enumerate(bodies[1:], start=1):
        body[ENTERPRISE]["manager"] = {"value": f"bulkId:u{i - 1}"}
    ops = [operation("POST", "/Users", body, f"u{i}") for i, body in enumerate(bodies)]
    assert len(json.dumps(bulk_body(ops))) < 409_600
    done = run_bulk(client, ops, fail_on_errors=1)

    assert done["status"] == {"completed": True, "success": True}
    assert done["operationsCount"] == {"total": 100, "success": 100, "failed": 0, "pending": 0}
    assert done["totalResults"] == 100
    ids: list[str] = []
    for i, op in enumerate(done["operations"]):
        assert op["bulkId"] == f"u{i}"
        assert op["status"] == {"completed": True, "success": True, "code": "201"}, op
        assert results(op) == dict.fromkeys(ALL_EXTENSIONS, "success"), op
        ids.append(op["resource"]["id"])
    assert len(set(ids)) == 100

    for i, user_id in enumerate(ids):
        expected = boss if i == 0 else ids[i - 1]
        person = read(client, IDV4, user_id)
        assert person["userName"] == bodies[i]["userName"]
        if i:
            assert person[ENTERPRISE]["manager"]["value"] == expected
        spend = read(client, SPEND, user_id)
        assert spend[SPEND_USER]["reimbursementType"] == "ADP_PAYROLL"
        assert spend[APPROVER]["report"][0]["approver"]["value"] == expected
        assert spend[APPROVER]["request"][0]["approver"]["value"] == expected
        assert spend[DELEGATE]["expense"][0]["delegate"]["value"] == expected
        assert {r["roleName"] for r in spend[ROLE]["roles"]} == {"EXP_APPROVER", "REQ_APPROVER"}
        assert (
            spend[PAYROLL]["adp"]["employeeFileNumber"]
            == bodies[i][PAYROLL]["adp"]["employeeFileNumber"]
        )
        assert spend[INVOICE_PREFERENCE]["displayInlineImage"] is True
        assert spend[USER_PREFERENCE]["showImagingIntro"] is False
        assert spend[WORKFLOW_PREFERENCE]["promptForApproverOnReportSubmit"] is True
        travel = read(client, TRAVEL, user_id)[TRAVEL_USER]
        assert travel["travelCrsName"] == bodies[i][TRAVEL_USER]["travelCrsName"]
    limits = client.get(f"{SPEND}/Users/{ids[5]}", params={"attributes": APPROVER_LIMIT}).json()
    assert limits[APPROVER_LIMIT]["authorizedApprover"][0]["approvalType"] == "report"


# -- bulkId graphs --------------------------------------------------------------------------


def test_forward_reference_runs_after_the_operation_it_names(client: TestClient) -> None:
    """An operation naming a later one's bulkId (manager, approver, PATCH path) waits for it."""
    boss = full_user()
    worker = full_user(approver="bulkId:boss", manager="bulkId:boss")
    rename = {"Operations": [{"op": "replace", "path": "title", "value": "Lead"}]}
    ops = [
        operation("POST", "/Users", worker, "worker"),
        operation("PATCH", "/Users/bulkId:boss", rename, "rename"),
        operation("POST", "/Users", boss, "boss"),
    ]
    done = run_bulk(client, ops)
    assert [op["id"] for op in done["operations"]] == ["1", "2", "3"]
    assert all(op["status"]["success"] for op in done["operations"]), done
    worker_id = done["operations"][0]["resource"]["id"]
    boss_id = done["operations"][2]["resource"]["id"]
    assert done["operations"][1]["resource"]["id"] == boss_id
    assert read(client, IDV4, worker_id)[ENTERPRISE]["manager"]["value"] == boss_id
    assert read(client, IDV4, boss_id)["title"] == "Lead"
    spend = read(client, SPEND, worker_id)
    assert spend[APPROVER]["report"][0]["approver"]["value"] == boss_id
    assert read(client, TRAVEL, worker_id)[TRAVEL_USER]["manager"]["value"] == boss_id


def _core_failure(op: dict[str, Any]) -> str:
    assert op["status"]["success"] is False
    assert results(op) == {CORE: "error", **dict.fromkeys(ALL_EXTENSIONS[1:], "not-processed")}
    [(code, text)] = errors(op, CORE)
    assert code
    return text


def test_reference_cycle_fails_its_operations_only(client: TestClient, engine: Engine) -> None:
    """Operations referencing each other in a cycle fail; an independent one succeeds."""
    a = identity(manager={"value": "bulkId:b"})
    b = identity(manager={"value": "bulkId:a"})
    ops = [
        operation("POST", "/Users", a, "a"),
        operation("POST", "/Users", b, "b"),
        operation("POST", "/Users", identity(), "c"),
    ]
    users_before = counts(engine)[2]
    done = run_bulk(client, ops)
    first, second, third = done["operations"]
    assert "circular" in _core_failure(first)
    assert "circular" in _core_failure(second)
    assert third["status"]["code"] == "201"
    assert counts(engine)[2] == users_before + 1
    assert not _exists(client, a["userName"])


def test_self_and_unknown_references_fail(client: TestClient) -> None:
    """A bulkId no operation has, or the operation's own, fails that operation only."""
    ops = [
        operation("POST", "/Users", identity(manager={"value": "bulkId:nobody"}), "a"),
        operation("POST", "/Users", identity(manager={"value": "bulkId:b"}), "b"),
        operation("POST", "/Users", identity(), "c"),
    ]
    done = run_bulk(client, ops)
    unknown, own, fine = done["operations"]
    assert "nobody" in _core_failure(unknown)
    assert "own bulkId" in _core_failure(own)
    assert fine["status"]["success"] is True


def test_reference_to_a_failed_operation_fails(client: TestClient) -> None:
    """An operation naming one whose identity failed cannot resolve the reference."""
    bad = identity()
    bad["userName"] = "bad!@example.com"
    dependant = full_user(approver="bulkId:bad")
    done = run_bulk(
        client,
        [operation("POST", "/Users", bad, "bad"), operation("POST", "/Users", dependant, "dep")],
    )
    failed, dep = done["operations"]
    _core_failure(failed)
    assert "refers to an operation that failed" in _core_failure(dep)
    assert dep["status"]["code"] == "400"
    assert not _exists(client, dependant["userName"])


# -- PUT, PATCH and DELETE operations -------------------------------------------------------


def test_put_patch_delete_operations(client: TestClient) -> None:
    """PUT replaces the identity (200), PATCH without ``schemas`` patches identity and spend
    (200), DELETE removes the user (204)."""
    first, second = full_user(), full_user()
    kept, gone = create_user(client, first), create_user(client, second)
    replacement = identity()
    replacement.update(id=kept, userName=first["userName"], title="Director")
    replacement[SPEND_USER] = spend_user(country="DE", reimbursementCurrency="EUR")
    patch = {
        "Operations": [
            {"op": "replace", "path": "nickName", "value": "Nick"},
            {"op": "replace", "path": f"{SPEND_USER}:ledgerCode", "value": "LEDGER2"},
        ]
    }
    ops = [
        operation("PUT", f"/Users/{kept}", replacement, "put"),
        operation("PATCH", f"/Users/{kept}", patch, "patch"),
        operation("DELETE", f"/Users/{gone}", None, "delete"),
    ]
    done = run_bulk(client, ops)
    put, patched, deleted = done["operations"]
    assert put["status"] == {"completed": True, "success": True, "code": "200"}
    assert patched["status"] == {"completed": True, "success": True, "code": "200"}
    assert deleted["status"] == {"completed": True, "success": True, "code": "204"}
    assert results(put)[SPEND_USER] == results(patched)[SPEND_USER] == "success"
    person = read(client, IDV4, kept)
    assert person["title"] == "Director"
    assert person["nickName"] == "Nick"
    assert person["name"] == {**person["name"], **replacement["name"]}
    spend = read(client, SPEND, kept)[SPEND_USER]
    assert (spend["country"], spend["reimbursementCurrency"]) == ("DE", "EUR")
    assert spend["ledgerCode"] == "LEDGER2"
    assert client.get(f"{IDV4}/Users/{gone}").status_code == 404


def test_operation_on_a_missing_user_fails_with_404(client: TestClient) -> None:
    """PATCH or DELETE of an unknown user: the identity error's code (404) is the op's."""
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "title", "value": "x"}],
    }
    missing = "00000000-0000-4000-8000-000000000000"
    done = run_bulk(
        client,
        [
            operation("PATCH", f"/Users/{missing}", patch, "p"),
            operation("DELETE", f"/Users/{missing}", None, "d"),
        ],
    )
    assert [op["status"]["code"] for op in done["operations"]] == ["404", "404"]


# -- limits and envelope errors -------------------------------------------------------------


def _ops(n: int) -> list[dict[str, Any]]:
    return [operation("POST", "/Users", identity(), f"b{i}") for i in range(n)]


def _refused(client: TestClient, engine: Engine, body: Any, status: int, **kw: Any) -> Any:
    before = counts(engine)
    if isinstance(body, str):
        response = client.post(f"{UPS}/Bulk", content=body, **kw)
    else:
        response = client.post(f"{UPS}/Bulk", json=body, **kw)
    assert response.status_code == status, response.text
    assert counts(engine) == before
    return response.json()


def test_more_than_100_operations_is_413(client: TestClient, engine: Engine) -> None:
    """101 operations are refused synchronously; 100 are accepted (§3.2)."""
    _refused(client, engine, bulk_body(_ops(101)), 413)
    accepted = submit(client, _ops(100))
    assert accepted["operationsCount"]["total"] == 100
    wait(client, accepted["id"])


def test_payload_over_400_kb_is_413(client: TestClient, engine: Engine) -> None:
    """A body past 400 KB is refused before parsing; one just under it is accepted."""
    body = bulk_body(_ops(1))
    body["Operations"][0]["data"]["title"] = ""
    base = len(json.dumps(body))
    body["Operations"][0]["data"]["title"] = "x" * (409_600 - base + 1)
    _refused(client, engine, json.dumps(body), 413)
    body["Operations"][0]["data"]["title"] = "x" * (409_600 - base - 10)
    response = client.post(f"{UPS}/Bulk", content=json.dumps(body))
    assert response.status_code == 202, response.text
    wait(client, response.json()["id"])


def _put_other_id() -> dict[str, Any]:
    data = identity()
    data["id"] = "11111111-1111-4111-8111-111111111111"
    return operation("PUT", "/Users/22222222-2222-4222-8222-222222222222", data, "p")


ENVELOPE_ERRORS: dict[str, Callable[[], Any]] = {
    "duplicate bulkId": lambda: bulk_body(
        [operation("POST", "/Users", identity(), "x"), operation("POST", "/Users", identity(), "x")]
    ),
    "unknown method": lambda: bulk_body([operation("GET", "/Users", identity(), "x")]),
    "bad path": lambda: bulk_body([operation("POST", "/Groups", identity(), "x")]),
    "POST to a user path": lambda: bulk_body([operation("POST", "/Users/abc", identity(), "x")]),
    "PATCH without id": lambda: bulk_body([operation("PATCH", "/Users", {"Operations": []}, "x")]),
    "PUT id differs": lambda: bulk_body([_put_other_id()]),
    "data not an object": lambda: bulk_body([operation("POST", "/Users", "user", "x")]),
    "bad failOnErrors": lambda: bulk_body(_ops(1), fail_on_errors=0),
    "not an object": lambda: [identity()],
    "no Operations": lambda: {"schemas": [BULK_REQUEST]},
    "empty Operations": lambda: bulk_body([]),
    "another message": lambda: {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "Operations": _ops(1),
    },
}


@pytest.mark.parametrize("case", ENVELOPE_ERRORS)
def test_envelope_errors_are_400_and_store_nothing(
    client: TestClient, engine: Engine, case: str
) -> None:
    """A malformed envelope is answered 400 at once, with nothing stored (§3.3)."""
    body = ENVELOPE_ERRORS[case]()
    # A valid operation first: nothing of the request may be stored.
    if isinstance(body, dict) and isinstance(body.get("Operations"), list) and body["Operations"]:
        body["Operations"].insert(0, operation("POST", "/Users", identity(), "first"))
    error = _refused(client, engine, body, 400)
    assert error["status"] == "400"


def test_company_id_parameter_must_name_the_callers_company(
    client: TestClient, engine: Engine
) -> None:
    """``?companyId=`` naming another company is 400; the caller's own is accepted (§3.1)."""
    company = client.app.state.default_company_id  # type: ignore[attr-defined]
    other = "99999999-9999-4999-8999-999999999999"
    _refused(client, engine, bulk_body(_ops(1)), 400, params={"companyId": other})
    for root in (UPS, LEGACY_UPS):
        response = client.post(
            f"{root}/Bulk", json=bulk_body(_ops(1)), params={"companyId": company.upper()}
        )
        assert response.status_code == 202, response.text
        done = wait(client, response.json()["id"], root)
        assert done["status"]["success"] is True
        assert done["meta"]["location"].startswith(f"http://testserver{root}/provisions/")


def test_tolerated_envelope_forms(client: TestClient) -> None:
    """Lower-case keys, a PatchOp URN beside BulkRequest, a POST without bulkId (generated),
    extension objects beside ``data`` and a failOnErrors given as a string are accepted."""
    user = identity()
    body = {
        "schemas": [BULK_REQUEST, PATCH_OP],
        "failOnErrors": "1",
        "Operations": [
            {"Method": "post", "PATH": "/Users/", "data": user, SPEND_USER: spend_user()},
            {"method": "POST", "path": "/Users", "data": identity(), "bulkId": "mine"},
        ],
    }
    response = client.post(f"{UPS}/Bulk/", json=body)
    assert response.status_code == 202, response.text
    done = wait(client, response.json()["id"])
    first, second = done["operations"]
    assert first["bulkId"] == "gen-temp-bulk-id-1"
    assert second["bulkId"] == "mine"
    assert results(first)[SPEND_USER] == "success"
    assert read(client, SPEND, first["resource"]["id"])[SPEND_USER]["country"] == "US"
    assert done["status"]["success"] is True


def test_downstream_results_are_reported_for_every_extension(client: TestClient) -> None:
    """Each operation lists every extension once, in §3.4's order, whatever it sent."""
    body = identity()
    body[TRAVEL_USER] = {"ruleClass": {"id": 5}}
    done = run_bulk(client, [operation("POST", "/Users", body, "t")])
    [op] = done["operations"]
    assert [e["name"] for e in op["extensions"]] == list(ALL_EXTENSIONS)
    sent = {CORE, ENTERPRISE, TRAVEL_USER}
    assert {u for u, r in results(op).items() if r == "success"} == sent
    assert {u for u, r in results(op).items() if r == "no-op"} == set(DOWNSTREAM) - sent
