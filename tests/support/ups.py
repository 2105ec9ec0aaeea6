"""User Provisioning v4 helpers: request builders, Bulk submission and status polling.

A Bulk request is answered 202 before anything downstream happens; :func:`run_bulk` submits
one and polls its Provision:Status (``attributes=operations``) until ``status.completed``,
failing the test past a 30 s deadline. :func:`full_user` builds a Concur user carrying every
extension UPS provisions, with approvers, delegates and manager given as references (a user
id or a ``"bulkId:<id>"`` string).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select, update

from concur_scim.store.tables import (
    companies,
    provision_operations,
    provision_results,
    provisions,
    users,
)
from support.sql import DATA_TABLES

UPS = "/profile/v4"
LEGACY_UPS = "/provisioning/v4"
IDV4 = "/profile/identity/v4"
SPEND = "/profile/spend/v4.1"
TRAVEL = "/profile/travel/v4"

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PROVISION_STATUS = "urn:ietf:params:scim:schemas:extension:concur:2.0:Provision:Status"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
TRAVEL_USER = "urn:ietf:params:scim:schemas:extension:travel:2.0:User"
SPEND_USER = "urn:ietf:params:scim:schemas:extension:spend:2.0:User"
ROLE = "urn:ietf:params:scim:schemas:extension:spend:2.0:Role"
APPROVER = "urn:ietf:params:scim:schemas:extension:spend:2.0:Approver"
APPROVER_LIMIT = "urn:ietf:params:scim:schemas:extension:spend:2.0:ApproverLimit"
DELEGATE = "urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate"
USER_PREFERENCE = "urn:ietf:params:scim:schemas:extension:spend:2.0:UserPreference"
WORKFLOW_PREFERENCE = "urn:ietf:params:scim:schemas:extension:spend:2.0:WorkflowPreference"
INVOICE_PREFERENCE = "urn:ietf:params:scim:schemas:extension:spend:2.0:InvoicePreference"
PAYROLL = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:Payroll"
# Every extension a status reports, in reference §3.4's order.
ALL_EXTENSIONS = (
    CORE,
    ENTERPRISE,
    TRAVEL_USER,
    SPEND_USER,
    ROLE,
    APPROVER,
    APPROVER_LIMIT,
    DELEGATE,
    USER_PREFERENCE,
    WORKFLOW_PREFERENCE,
    INVOICE_PREFERENCE,
    PAYROLL,
)
DOWNSTREAM = ALL_EXTENSIONS[2:]
# Concur's status timestamp format (§3.4): milliseconds and a +0000 offset.
STATUS_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$"
DEADLINE_SECONDS = 120.0

_n = itertools.count(1)


def unique() -> int:
    """A number no other user of this test session has."""
    return next(_n)


def identity(n: int | None = None, **enterprise: Any) -> dict[str, Any]:
    """A core + enterprise user valid for UPS (§6.1, §6.2)."""
    n = unique() if n is None else n
    return {
        "schemas": [CORE, ENTERPRISE],
        "userName": f"ups{n}@example.com",
        "active": True,
        "name": {"givenName": f"Given{n}", "familyName": f"Family{n}"},
        "emails": [{"value": f"ups{n}@example.com", "type": "work"}],
        "entitlements": ["Expense", "Request"],
        ENTERPRISE: {"employeeNumber": f"U{n:06d}", "department": "Sales", **enterprise},
    }


def spend_user(**overrides: Any) -> dict[str, Any]:
    """A valid Spend User (§6.5)."""
    return {
        "reimbursementCurrency": "USD",
        "country": "US",
        "locale": "en-US",
        "stateProvince": "WA",
        "ledgerCode": "DEFAULT",
        **overrides,
    }


def full_user(
    n: int | None = None, *, approver: str | None = None, manager: str | None = None
) -> dict[str, Any]:
    """A user with every extension UPS provisions.

    The user holds EXP_APPROVER and REQ_APPROVER (spend Role), so it may approve and be
    delegated to; ``approver`` (a user id or ``"bulkId:<id>"``) becomes its report and request
    approver and its expense delegate, ``manager`` its enterprise and travel manager. Both
    must hold those roles too. Without them the user has no approver, delegate or manager.
    """
    n = unique() if n is None else n
    body = identity(n)
    if manager is not None:
        body[ENTERPRISE]["manager"] = {"value": manager}
    body[SPEND_USER] = spend_user(
        reimbursementType="ADP_PAYROLL",
        customData=[{"id": "custom1", "value": f"c1-{n}"}, {"id": "custom2", "value": "b"}],
    )
    body[ROLE] = {"roles": [{"roleName": "EXP_APPROVER"}, {"roleName": "REQ_APPROVER"}]}
    approvers: dict[str, Any] = {}
    delegates: dict[str, Any] = {}
    if approver is not None:
        approvers = {
            "report": [{"approver": {"value": approver}, "primary": True}],
            "request": [{"approver": {"value": approver}, "primary": True}],
        }
        delegates = {
            "expense": [{"delegate": {"value": approver}, "canApprove": True, "canPrepare": True}]
        }
    body[APPROVER] = approvers
    body[DELEGATE] = delegates
    body[APPROVER_LIMIT] = {
        "authorizedApprover": [
            {
                "approvalType": "report",
                "approvalLimit": 1000.5,
                "reimbursementCurrency": "USD",
                "exceptionApprovalAuthority": False,
            }
        ]
    }
    body[USER_PREFERENCE] = {"showImagingIntro": False, "defaultReportPrintFormat": "DETAILED"}
    body[WORKFLOW_PREFERENCE] = {"promptForApproverOnReportSubmit": True}
    body[INVOICE_PREFERENCE] = {"displayInlineImage": True}
    body[PAYROLL] = {
        "adp": {"companyCode": "ACM", "deductionCode": "D1", "employeeFileNumber": f"F{n}"}
    }
    travel: dict[str, Any] = {
        "ruleClass": {"name": "Default Travel Class"},
        "travelCrsName": f"Traveller {n}",
        "gender": "Female",
    }
    if manager is not None:
        travel["manager"] = {"value": manager}
    body[TRAVEL_USER] = travel
    return body


def operation(
    method: str, path: str, data: Any = None, bulk_id: str | None = None
) -> dict[str, Any]:
    """One BulkRequest operation."""
    op: dict[str, Any] = {"method": method, "path": path}
    if bulk_id is not None:
        op["bulkId"] = bulk_id
    if data is not None:
        op["data"] = data
    return op


def bulk_body(operations: list[dict[str, Any]], fail_on_errors: int | None = None) -> Any:
    """A BulkRequest carrying ``operations``."""
    body: dict[str, Any] = {"schemas": [BULK_REQUEST], "Operations": operations}
    if fail_on_errors is not None:
        body["failOnErrors"] = fail_on_errors
    return body


def submit(
    client: TestClient,
    operations: list[dict[str, Any]],
    *,
    fail_on_errors: int | None = None,
    root: str = UPS,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST a Bulk request; asserts 202 and returns the Provision:Status answered."""
    response = client.post(
        f"{root}/Bulk", json=bulk_body(operations, fail_on_errors), headers=headers
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def status(client: TestClient, provision_id: str, root: str = UPS, **params: Any) -> Any:
    """GET the status of ``provision_id`` (200 asserted) with ``params``."""
    response = client.get(f"{root}/provisions/{provision_id}/status", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def wait(client: TestClient, provision_id: str, root: str = UPS) -> dict[str, Any]:
    """Poll until the request has completed; its status with every operation."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not status(client, provision_id, root)["status"]["completed"]:
        assert time.monotonic() < deadline, f"provision {provision_id} still pending"
        time.sleep(0.05)
    body: dict[str, Any] = status(client, provision_id, root, attributes="operations")
    return body


def run_bulk(
    client: TestClient,
    operations: list[dict[str, Any]],
    *,
    fail_on_errors: int | None = None,
    root: str = UPS,
) -> dict[str, Any]:
    """Submit a Bulk request and wait for its completed status (with operations)."""
    accepted = submit(client, operations, fail_on_errors=fail_on_errors, root=root)
    return wait(client, accepted["id"], root)


def results(op: dict[str, Any]) -> dict[str, str]:
    """An operation's ``{extension URN: result}``."""
    return {e["name"]: e["status"]["result"] for e in op["extensions"]}


def extension(op: dict[str, Any], urn: str) -> dict[str, Any]:
    """An operation's entry for ``urn``."""
    found: list[dict[str, Any]] = [e for e in op["extensions"] if e["name"] == urn]
    assert len(found) == 1, op
    return found[0]


def errors(op: dict[str, Any], urn: str) -> list[tuple[str, str]]:
    """The ``(code, message)`` of each error message ``urn`` reported."""
    return [
        (m["code"], m["message"])
        for m in extension(op, urn).get("messages", [])
        if m["type"] == "error"
    ]


def create_user(client: TestClient, body: dict[str, Any]) -> str:
    """Create ``body`` through UPS ``POST /Users``, wait for its extensions; the user id."""
    response = client.post(f"{UPS}/Users", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    done = wait(client, created["meta"]["provisionId"])
    assert done["status"]["success"] is True, done
    user_id: str = created["id"]
    return user_id


def read(client: TestClient, root: str, user_id: str) -> dict[str, Any]:
    """A user's document in one read view (200 asserted)."""
    response = client.get(f"{root}/Users/{user_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def counts(engine: Engine) -> tuple[int, int, int]:
    """How many provision requests, operations and users are stored."""
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(provisions)).scalar_one(),
            conn.execute(select(func.count()).select_from(provision_operations)).scalar_one(),
            conn.execute(select(func.count()).select_from(users)).scalar_one(),
        )


def delete_company_rows(engine: Engine, company_id: str, default_company: str) -> None:
    """Delete every row of ``company_id`` (the company too); ``default_company`` is the
    default again afterwards."""
    with engine.begin() as conn:
        mine = select(provisions.c.id).where(provisions.c.company_id == company_id)
        conn.execute(delete(provision_results).where(provision_results.c.provision_id.in_(mine)))
        for table in DATA_TABLES:
            if table is not provision_results:  # it has no company_id: done just above
                conn.execute(delete(table).where(table.c.company_id == company_id))
        conn.execute(delete(companies).where(companies.c.id == company_id))
        conn.execute(update(companies).values(is_default=companies.c.id == default_company))
