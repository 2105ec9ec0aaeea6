"""Provisioning requests for worker tests: stored straight through the service layer.

:func:`store_bulk` writes Bulk requests into a database as ``POST /Bulk`` would (the same
envelope check and ``submit``), so worker processes can be tested without an API process.
:func:`outcome` reads back what the workers did, for exactly-once assertions.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from concur_scim.services import bulk, provisioning
from concur_scim.store.companies import ensure_default_company
from concur_scim.store.db import unit_of_work
from concur_scim.store.tables import provision_operations, provision_results, provisions, users

_SPEND = "urn:ietf:params:scim:schemas:extension:spend:2.0:"
SPEND_USER = f"{_SPEND}User"
SPEND_ROLE = f"{_SPEND}Role"
SPEND_APPROVER = f"{_SPEND}Approver"
SPEND_APPROVER_LIMIT = f"{_SPEND}ApproverLimit"
SPEND_DELEGATE = f"{_SPEND}Delegate"
SPEND_PREFERENCE = f"{_SPEND}UserPreference"
SPEND_WORKFLOW = f"{_SPEND}WorkflowPreference"
SPEND_INVOICE = f"{_SPEND}InvoicePreference"
PAYROLL = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:Payroll"
TRAVEL_USER = "urn:ietf:params:scim:schemas:extension:travel:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def concur_user(name: str, number: int, approver: str | None = None) -> dict[str, Any]:
    """A Concur user with every extension UPS provisions (reference §3.4's twelve).

    Every user holds the approver roles and approval limits; ``approver`` (a user id or
    ``"bulkId:<id>"``) becomes its report and request approver and its expense delegate.
    Without it the user has no Approver or Delegate extension.
    """
    user: dict[str, Any] = {
        "userName": f"{name}@example.com",
        "active": True,
        "name": {"givenName": "Load", "familyName": name},
        "emails": [{"value": f"{name}@example.com", "type": "work"}],
        ENTERPRISE: {"employeeNumber": f"E{number}"},
        SPEND_USER: {
            "reimbursementCurrency": "USD",
            "country": "US",
            "locale": "en-US",
            "reimbursementType": "ADP_PAYROLL",
        },
        SPEND_ROLE: {"roles": [{"roleName": "EXP_APPROVER"}, {"roleName": "REQ_APPROVER"}]},
        SPEND_APPROVER_LIMIT: {
            "authorizedApprover": [
                {"approvalType": "report", "approvalLimit": 500.0, "reimbursementCurrency": "USD"}
            ]
        },
        SPEND_PREFERENCE: {"showImagingIntro": False},
        SPEND_WORKFLOW: {"emailStatusChangeOnReport": False},
        SPEND_INVOICE: {"autoOpenImage": True},
        PAYROLL: {
            "adp": {"companyCode": "C1", "deductionCode": "D1", "employeeFileNumber": str(number)}
        },
        TRAVEL_USER: {"ruleClass": {"name": "Default Travel Class"}},
    }
    if approver is not None:
        user[SPEND_APPROVER] = {
            "report": [{"approver": {"value": approver}, "primary": True}],
            "request": [{"approver": {"value": approver}, "primary": True}],
        }
        user[SPEND_DELEGATE] = {
            "expense": [{"delegate": {"value": approver}, "canApprove": True, "canSubmit": True}]
        }
    return user


def store_bulk(engine: Engine, prefix: str, requests: int, size: int) -> list[str]:
    """Store ``requests`` Bulk requests of ``size`` user creations each; their ids.

    The first operation of each request creates the approver every later one references
    through its bulkId (so the worker must order them, and Approver and Delegate apply).
    """
    ids = []
    with unit_of_work(engine, write=True) as conn:
        company = ensure_default_company(conn, None, datetime.now(UTC))
    for r in range(requests):
        body = {
            "schemas": [bulk.BULK_REQUEST_URN],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": f"u{n}",
                    "data": concur_user(
                        f"{prefix}-{r}-{n}", r * size + n, "bulkId:u0" if n else None
                    ),
                }
                for n in range(size)
            ],
        }
        parsed = bulk.parse_bulk_request(body, max_operations=size)
        with unit_of_work(engine, write=True) as conn:
            ids.append(
                provisioning.submit(
                    conn, company, parsed, correlation_id=str(uuid.uuid4()), now=datetime.now(UTC)
                )
            )
    return ids


@dataclass(frozen=True)
class Outcome:
    """What the workers left in the database for some requests."""

    done_operations: int
    operation_codes: Counter[str]
    results: Counter[str]  # "urn result" → count
    results_per_operation: Counter[int]  # number of result rows → operations with that many
    users: int
    completed_requests: int


def outcome(engine: Engine, provision_ids: list[str], prefix: str) -> Outcome:
    """Read back what happened to ``provision_ids`` and the users named ``prefix…``."""
    ops = provision_operations.c
    res = provision_results.c
    with unit_of_work(engine, write=False) as conn:
        rows = conn.execute(
            select(ops.code, ops.done).where(ops.provision_id.in_(provision_ids))
        ).all()
        results = conn.execute(
            select(res.urn, res.result).where(res.provision_id.in_(provision_ids))
        ).all()
        per_op = conn.execute(
            select(func.count())
            .select_from(provision_results)
            .where(res.provision_id.in_(provision_ids))
            .group_by(res.provision_id, res.position)
        ).all()
        user_count = conn.execute(
            select(func.count()).select_from(users).where(users.c.user_name.like(f"{prefix}-%"))
        ).scalar_one()
        completed = conn.execute(
            select(func.count())
            .select_from(provisions)
            .where(provisions.c.id.in_(provision_ids), provisions.c.state == "completed")
        ).scalar_one()
    return Outcome(
        done_operations=sum(1 for r in rows if r.done),
        operation_codes=Counter(str(r.code) for r in rows if r.done),
        results=Counter(f"{r.urn} {r.result}" for r in results),
        results_per_operation=Counter(int(r[0]) for r in per_op),
        users=int(user_count),
        completed_requests=int(completed),
    )
