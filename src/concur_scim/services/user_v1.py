"""User v1.0 use-cases: the batch upsert, GET user, password batch (reference §4).

A new dialect over the same store: identity attributes go through ``services/users.py``
(non-strict: the v1.0 record checks of ``scim/user_v1/checks.py`` are this dialect's
validation, and Concur v4's strict rules such as ``companyId`` in the body have no v1.0
counterpart), spend fields through ``services/extensions.put_user_extension`` (validated
strictly there, as every spend write is).

Transactions: the caller's connection holds one transaction per batch; each record runs in
its own SAVEPOINT, so a failing record changes nothing of its own while the records before
it stand (§4.5: records are independent, each atomic, processed in document order).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from concur_scim.scim.errors import NotFound, ScimError, Uniqueness
from concur_scim.scim.filter import parse_filter
from concur_scim.scim.filter_ast import Expr
from concur_scim.scim.registry import CORE_USER
from concur_scim.scim.text import storable_text
from concur_scim.scim.user_v1 import mapping
from concur_scim.scim.user_v1.checks import (
    RecordError,
    check_record,
    check_required,
    invalid,
    missing,
)
from concur_scim.scim.user_v1.fields import CUSTOMS, ORG_UNITS
from concur_scim.scim.user_v1.keys import KeyMode, resolve_target
from concur_scim.scim.user_v1.xml_in import UserRecord
from concur_scim.scim.user_v1.xml_out import PasswordOutcome, RecordOutcome
from concur_scim.services import extensions, users
from concur_scim.services.common import Clock
from concur_scim.store import users as user_store
from concur_scim.store.paging import ListQuery
from concur_scim.store.records import ResourceRecord

SPEND_URNS = (extensions.SPEND_USER, extensions.SPEND_ROLE, extensions.SPEND_APPROVER)
# SCIM attribute names in a validation message → the v1.0 element to blame (§4.7).
_BLAME = (
    ("reimbursementCurrency", "CrnKey"),
    ("country", "CtryCode"),
    ("locale", "LocaleName"),
    ("stateProvince", "CtrySubCode"),
    ("ledgerCode", "LedgerKey"),
    ("cashAdvanceAccountCode", "CashAdvanceAccountCode"),
    ("customData", "Custom1"),
    ("emails", "EmailAddress"),
    ("userName", "LoginId"),
    ("employeeNumber", "EmpId"),
    ("name", "FirstName"),
)


@dataclass(frozen=True)
class BatchPolicy:
    """The company's v1.0 switches: key mode, required form fields, unknown elements."""

    key_mode: KeyMode = "legacy"
    required: tuple[str, ...] = ()
    reject_unknown: bool = False


def process_batch(
    conn: Connection,
    company_id: str,
    records: list[UserRecord],
    *,
    clock: Clock,
    policy: BatchPolicy,
) -> list[RecordOutcome]:
    """Upsert ``records`` in document order; one outcome per record (§4.1-§4.5)."""
    outcomes = []
    for record in records:
        emp_id = record.values.get("EmpId", "")
        feed = record.values.get("FeedRecordNumber", "")
        try:
            with conn.begin_nested():
                upsert(conn, company_id, record, clock=clock, policy=policy)
        except RecordError as error:
            outcomes.append(RecordOutcome(emp_id, feed, error.message))
        except ScimError as error:
            outcomes.append(RecordOutcome(emp_id, feed, _message(error)))
        else:
            outcomes.append(RecordOutcome(emp_id, feed))
    return outcomes


def _message(error: ScimError) -> str:
    """Concur's per-record message for an error raised by the shared services (§4.7)."""
    detail = error.detail
    if isinstance(error, Uniqueness):
        return str(invalid("EmpId" if "employee" in detail.lower() else "LoginId"))
    for attribute, element in _BLAME:
        if attribute in detail:
            return str(invalid(element))
    return "Form Fields are Invalid or Empty"


def upsert(
    conn: Connection, company_id: str, record: UserRecord, *, clock: Clock, policy: BatchPolicy
) -> ResourceRecord:
    """Create or update the user of one record; RecordError / ScimError on failure."""
    values = check_record(record.values)
    if policy.reject_unknown and record.unknown:
        raise invalid(record.unknown[0])
    by_login = user_store.find_by_user_name(conn, values["LoginId"])
    if by_login is not None and by_login.company_id != company_id:
        raise invalid("LoginId")  # login ids are unique across all of Concur (§4.1)
    by_emp = user_store.find_by_employee_number(conn, company_id, values["EmpId"])
    target_id = resolve_target(
        by_emp.id if by_emp else None, by_login.id if by_login else None, policy.key_mode
    )
    target = by_emp if by_emp is not None and by_emp.id == target_id else by_login
    creating = target_id is None
    # §4.3: the form's required fields on every record; LedgerKey on new users (2018).
    check_required(values, policy.required + (("LedgerKey",) if creating else ()))
    _check_new_keys(conn, company_id, values, target_id)
    approver = _approver(conn, company_id, values)
    previous_doc = target.doc if target is not None else None
    doc = mapping.identity_doc(values, previous_doc)
    if target is None:
        stored = users.create_user(conn, company_id, doc, clock=clock)
    else:
        stored = users.replace_user(conn, company_id, target.id, doc, clock=clock)
    _write_extensions(conn, company_id, stored.id, values, approver, clock)
    return stored


def _check_new_keys(
    conn: Connection, company_id: str, values: dict[str, str], target_id: str | None
) -> None:
    """NewLoginID / NewEmployeeID must be free (§4.1); precise messages before the store's."""
    new_login = values.get("NewLoginID")
    if new_login:
        other = user_store.find_by_user_name(conn, new_login)
        if other is not None and other.id != target_id:
            raise invalid("NewLoginID")
    new_emp = values.get("NewEmployeeID")
    if new_emp:
        other = user_store.find_by_employee_number(conn, company_id, new_emp)
        if other is not None and other.id != target_id:
            raise invalid("NewEmployeeID")


def _approver(conn: Connection, company_id: str, values: dict[str, str]) -> tuple[str, str] | None:
    """(user id, EmpId) of ExpenseApproverEmployeeID; it must already exist (§4.5)."""
    emp_id = values.get("ExpenseApproverEmployeeID")
    if not emp_id:
        return None
    found = user_store.find_by_employee_number(conn, company_id, emp_id)
    if found is None:
        raise invalid("ExpenseApproverEmployeeID")
    return found.id, emp_id


def _write_extensions(
    conn: Connection,
    company_id: str,
    user_id: str,
    values: dict[str, str],
    approver: tuple[str, str] | None,
    clock: Clock,
) -> None:
    stored = extensions.get_user_extensions(conn, company_id, user_id, SPEND_URNS).docs
    spend = mapping.spend_user_doc(values, stored.get(extensions.SPEND_USER))
    if spend is not None:
        for attribute, element in mapping.SPEND_REQUIRED:
            if not spend.get(attribute):
                raise missing(element)  # Concur requires them of every spend user (§6)
        _put(conn, company_id, user_id, extensions.SPEND_USER, spend, clock)
    roles = mapping.roles_doc(values, stored.get(extensions.SPEND_ROLE))
    if roles is not None:
        _put(conn, company_id, user_id, extensions.SPEND_ROLE, roles, clock)
    if "ExpenseApproverEmployeeID" in values:
        doc = mapping.approver_doc(approver, stored.get(extensions.SPEND_APPROVER))
        _put(conn, company_id, user_id, extensions.SPEND_APPROVER, doc, clock)


def _put(
    conn: Connection, company_id: str, user_id: str, urn: str, doc: dict[str, Any], clock: Clock
) -> None:
    if doc:
        extensions.put_user_extension(conn, company_id, user_id, urn, doc, clock)
    else:
        extensions.delete_user_extension(conn, company_id, user_id, urn)


def find_login(conn: Connection, company_id: str, login_id: str) -> ResourceRecord | None:
    """The company's live user with LoginId ``login_id`` (case-insensitive), or None."""
    if not storable_text(login_id):
        return None  # no user has a NUL in its LoginId, and PostgreSQL cannot compare one
    found = user_store.find_by_user_name(conn, login_id)
    return found if found is not None and found.company_id == company_id else None


# Where each field a GET shows is read from, as (schema URN, top-level attribute): the GET
# user fields (§3.3) and the Users v3.0 ``Items`` fields (§3.6). The API shows a field only to
# a token that may read every one of them (reference/concur-v4.md §7 "Scopes").
Sources = tuple[tuple[str, str], ...]
_NAME: Sources = ((CORE_USER, "name"),)
_ENTITLEMENTS: Sources = ((CORE_USER, "entitlements"),)
_SPEND_ROLES: Sources = ((extensions.SPEND_ROLE, "roles"),)


def _spend(attribute: str) -> Sources:
    return ((extensions.SPEND_USER, attribute),)


GET_SOURCES: dict[str, Sources] = {
    "LoginId": ((CORE_USER, "userName"),),
    "EmpId": ((mapping.ENTERPRISE, "employeeNumber"),),
    "LocaleName": _spend("locale"),
    "FirstName": _NAME,
    "LastName": _NAME,
    "Mi": _NAME,
    "EmailAddress": ((CORE_USER, "emails"),),
    "Active": ((CORE_USER, "active"),),
    **dict.fromkeys((*ORG_UNITS, *CUSTOMS), _spend("customData")),
    "LedgerName": _spend("ledgerCode"),
    "CtryCode": _spend("country"),
    "CrnKey": _spend("reimbursementCurrency"),
    "CrnCode": _spend("reimbursementCurrency"),
    "CtrySubCode": _spend("country") + _spend("stateProvince"),
    "ExpenseUser": _ENTITLEMENTS,
    "ExpenseApprover": _SPEND_ROLES,
    "TripUser": _ENTITLEMENTS,
    "InvoiceUser": _ENTITLEMENTS,
    "InvoiceApprover": _SPEND_ROLES,
    # The approver's employee number: the spend Approver extension names the approver, and
    # the number is enterprise data (the approver's employeeNumber).
    "ExpenseApproverEmployeeID": (
        (extensions.SPEND_APPROVER, "report"),
        (mapping.ENTERPRISE, "employeeNumber"),
    ),
    "IsTestEmp": _spend("testEmployee"),
    "CashAdvanceAccountCode": _spend("cashAdvanceAccountCode"),
}


def get_profile(conn: Connection, company_id: str, login_ids: list[str]) -> dict[str, str]:
    """The 47 GET fields of the first of ``login_ids`` that names a user; NotFound if none."""
    for login_id in login_ids:
        found = find_login(conn, company_id, login_id)
        if found is not None:
            docs = extensions.get_user_extensions(conn, company_id, found.id, SPEND_URNS).docs
            return mapping.v1_profile(
                found.doc,
                docs.get(extensions.SPEND_USER, {}),
                docs.get(extensions.SPEND_ROLE, {}),
                docs.get(extensions.SPEND_APPROVER, {}),
            )
    raise NotFound("User not found.")


NO_EMPLOYEE_ID = (
    "This employee doesn't have an Employee ID. To update the password, the user must have "
    "an Employee ID."
)


def set_passwords(
    conn: Connection, company_id: str, pairs: list[tuple[str, str]]
) -> list[PasswordOutcome]:
    """``POST /Users/password`` (§3.5): this server stores no passwords, so a known user with
    an Employee ID succeeds and the password is discarded, as SCIM ``password`` is."""
    outcomes = []
    for login_id, password in pairs:
        found = find_login(conn, company_id, login_id) if "@" in login_id else None
        if found is None or not password:
            field = "LoginID" if found is None else "Password"
            outcomes.append(PasswordOutcome(login_id, False, f"Invalid Input: {field}"))
        elif not (found.doc.get(mapping.ENTERPRISE) or {}).get("employeeNumber"):
            outcomes.append(PasswordOutcome(login_id, False, NO_EMPLOYEE_ID))
        else:
            outcomes.append(PasswordOutcome(login_id, True, "Password Updated."))
    return outcomes


# -- Users v3.0 list (reference §2.1 #5, §3.6) ------------------------------------------------

# v3.0 query parameter (lower case) → the SCIM attribute it compares with ``eq``.
V3_FILTERS = {
    "user": "userName",
    "employeeid": f"{mapping.ENTERPRISE}:employeeNumber",
    "primaryemail": "emails.value",
    "lastname": "name.familyName",
}
# Each ``Items`` field (``URI`` included) → what it is read from (see GET_SOURCES).
V3_SOURCES: dict[str, Sources] = {
    "Active": ((CORE_USER, "active"),),
    "CellPhoneNumber": ((CORE_USER, "phoneNumbers"),),
    "EmployeeID": ((mapping.ENTERPRISE, "employeeNumber"),),
    "FirstName": _NAME,
    "ID": ((CORE_USER, "id"),),
    "LastName": _NAME,
    "LoginID": ((CORE_USER, "userName"),),
    "MiddleName": _NAME,
    "OrganizationUnit": ((mapping.ENTERPRISE, "department"),),
    "PrimaryEmail": ((CORE_USER, "emails"),),
    "URI": ((CORE_USER, "userName"),),
}


@dataclass(frozen=True)
class V3Page:
    """One page of ``GET /api/v3.0/common/users``: the users and whether more follow."""

    users: list[ResourceRecord]
    more: bool


def v3_filter(criteria: dict[str, str], active: bool | None) -> Expr | None:
    """The filter of a v3.0 list: ``eq`` on every given criterion (keys of
    :data:`V3_FILTERS`) and on ``active``; None when nothing is given."""
    terms = [f"{V3_FILTERS[k]} eq {json.dumps(v)}" for k, v in criteria.items() if v]
    if active is not None:
        terms.append(f"active eq {'true' if active else 'false'}")
    return parse_filter(" and ".join(terms)) if terms else None


def list_v3_users(
    conn: Connection, company_id: str, expr: Expr | None, offset: int, limit: int
) -> V3Page:
    """The company's users matching ``expr`` (:func:`v3_filter`), in creation order."""
    page = users.list_users(
        conn, company_id, ListQuery(filter=expr, offset=offset, limit=limit + 1, want_total=False)
    )
    return V3Page(users=page.records[:limit], more=len(page.records) > limit)


def v3_item(record: ResourceRecord) -> dict[str, Any]:
    """One ``Items`` entry of the v3.0 list (``Users.swagger2.json``), without ``URI``."""
    doc = record.doc
    name = doc.get("name") or {}
    primary = [e for e in doc.get("emails") or [] if e.get("primary")]
    phones = [p for p in doc.get("phoneNumbers") or [] if p.get("type") == "mobile"]
    enterprise = doc.get(mapping.ENTERPRISE) or {}
    return {
        "Active": bool(doc.get("active", True)),
        "CellPhoneNumber": str(phones[0].get("value", "")) if phones else "",
        "EmployeeID": str(enterprise.get("employeeNumber", "")),
        "FirstName": str(name.get("givenName", "")),
        "ID": record.id,
        "LastName": str(name.get("familyName", "")),
        "LoginID": str(doc.get("userName", "")),
        "MiddleName": str(name.get("middleName", "")),
        "OrganizationUnit": str(enterprise.get("department", "")),
        "PrimaryEmail": str(primary[0].get("value", "")) if primary else "",
    }
