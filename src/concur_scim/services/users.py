"""User use-cases shared by every dialect and by the provisioning worker.

Each function takes the caller's open connection (the caller owns the transaction and
commits) and the caller's company; none commits. Errors are SCIM errors (scim/errors.py).
RFC 7644 §3.3 (create), §3.4.1 (get), §3.5.1 (replace), §3.5.2 (patch), §3.6 (delete).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from concur_scim.scim.errors import InvalidValue, NotFound
from concur_scim.scim.patch import apply_patch, parse_patch_request
from concur_scim.scim.registry import ENTERPRISE_USER, user_schema
from concur_scim.scim.validation import normalize_resource
from concur_scim.scim.violations import Findings
from concur_scim.services.common import Clock, check_if_match, system_clock, uniqueness_error
from concur_scim.store import groups as group_store
from concur_scim.store import users as store
from concur_scim.store.errors import Conflict
from concur_scim.store.paging import ListQuery
from concur_scim.store.records import Page, ResourceRecord


def create_user(
    conn: Connection,
    company_id: str,
    payload: Any,
    *,
    clock: Clock,
    strict: bool = False,
    notes: list[dict[str, str]] | None = None,
    check_manager: bool = True,
    warnings: list[dict[str, str]] | None = None,
    concur_values: bool = True,
) -> ResourceRecord:
    """Create a user from a POST body; a user without ``active`` is created active.

    Raises InvalidSyntax/InvalidValue for a bad body and Uniqueness (409) when userName,
    externalId or employeeNumber is taken. ``notes`` (the provisioning worker's): a manager
    who is not a user of the company is left out and reported there instead of raising.
    """
    doc = _normalize(
        payload, company_id, strict=strict, warnings=warnings, concur_values=concur_values
    )
    doc.setdefault("active", True)
    if check_manager or strict:
        _check_manager(conn, company_id, doc, None, notes)
    try:
        return store.insert_user(conn, company_id, str(uuid.uuid4()), doc, clock())
    except Conflict as conflict:
        raise uniqueness_error(conflict, "user") from None


def get_user(
    conn: Connection, company_id: str, user_id: str, *, lock: bool = False
) -> ResourceRecord:
    """The user, or NotFound (404); ``lock``: held until the transaction ends, for a write."""
    record = store.get_user(conn, company_id, user_id, lock=lock)
    if record is None:
        raise NotFound(f"user {user_id} not found")
    return record


def replace_user(
    conn: Connection,
    company_id: str,
    user_id: str,
    payload: Any,
    *,
    clock: Clock,
    if_match: str | None = None,
    strict: bool = False,
    notes: list[dict[str, str]] | None = None,
    check_manager: bool = True,
    warnings: list[dict[str, str]] | None = None,
    concur_values: bool = True,
) -> ResourceRecord:
    """Replace the user's writable attributes with the PUT body (RFC 7644 §3.5.1).

    Read-only attributes in the body (``id``, ``meta``, ``groups``) are ignored, so a client
    may send back what it read. An unchanged document keeps its version. ``notes``: as for
    :func:`create_user`.
    """
    record = get_user(conn, company_id, user_id, lock=True)
    check_if_match(record, if_match)
    doc = _normalize(
        payload,
        company_id,
        strict=strict,
        previous=record.doc,
        warnings=warnings,
        concur_values=concur_values,
    )
    doc.setdefault("active", record.doc.get("active", True))
    if check_manager or strict:
        _check_manager(conn, company_id, doc, record.doc, notes)
    return _store(conn, record, doc, clock)


def patch_user(
    conn: Connection,
    company_id: str,
    user_id: str,
    body: Any,
    *,
    clock: Clock,
    if_match: str | None = None,
    strict: bool = False,
    check_manager: bool = True,
    warnings: list[dict[str, str]] | None = None,
    concur_values: bool = True,
) -> ResourceRecord:
    """Apply a PatchOp message atomically (RFC 7644 §3.5.2); nothing changes on error.

    ``check_manager`` False (``CONCUR_SCIM_UNKNOWN_MANAGER=store``, generic dialect only)
    stores a manager that is no user of the company unresolved; see :func:`_check_manager`.
    """
    schema = user_schema()
    operations = parse_patch_request(body, schema)
    record = get_user(conn, company_id, user_id, lock=True)
    check_if_match(record, if_match)
    patched = apply_patch(record.doc, operations, schema, resource_id=record.id)
    doc = _normalize(
        patched,
        company_id,
        strict=strict,
        previous=record.doc,
        warnings=warnings,
        concur_values=concur_values,
    )
    if check_manager or strict:
        _check_manager(conn, company_id, doc, record.doc)
    return _store(conn, record, doc, clock)


def _manager_id(doc: dict[str, Any] | None) -> str | None:
    manager = ((doc or {}).get(ENTERPRISE_USER) or {}).get("manager") or {}
    value = manager.get("value") if isinstance(manager, dict) else None
    return value if isinstance(value, str) else None


def _check_manager(
    conn: Connection,
    company_id: str,
    doc: dict[str, Any],
    previous: dict[str, Any] | None,
    notes: list[dict[str, str]] | None = None,
) -> None:
    """Concur: ``manager.value`` must reference an existing user (reference §6.2).

    Checked on every dialect when the manager is set or changed, so a user whose manager
    was deleted later can still be updated. A user of another company is unknown here
    (docs/security.md), so no dialect stores a reference across companies. Entra writes
    managers in a second pass, once the manager exists, and skips a manager outside its
    scope (idp-clients.md §1.1), so refusing an unknown one costs it nothing. With
    ``notes`` the manager is removed from ``doc`` (the previous one kept) and a warning
    appended, so the rest of the user is still written (User Provisioning: Concur's own
    Bulk example names a manager that no stand-in company has).
    """
    manager = _manager_id(doc)
    if manager is None or manager == _manager_id(previous):
        return
    if store.get_user(conn, company_id, manager) is None:
        path = f"{ENTERPRISE_USER}:manager.value"
        if notes is not None:
            notes.append(
                {
                    "code": "INVALID_USER",
                    "message": "Employee does not exist; the manager was not set",
                    "schemaPath": path,
                    "type": "warning",
                }
            )
            kept = ((previous or {}).get(ENTERPRISE_USER) or {}).get("manager")
            enterprise = doc[ENTERPRISE_USER]
            if kept is None:
                enterprise.pop("manager", None)
            else:
                enterprise["manager"] = kept
            return
        raise InvalidValue(
            f"'{path}' does not reference an existing user",
            messages=[
                {
                    "code": "INVALID_VALUE",
                    "message": "Invalid manager",
                    "schemaPath": path,
                    "type": "error",
                }
            ],
        )


def _normalize(
    payload: Any,
    company_id: str,
    *,
    strict: bool,
    previous: dict[str, Any] | None = None,
    warnings: list[dict[str, str]] | None = None,
    concur_values: bool = True,
) -> dict[str, Any]:
    """The stored document for ``payload``; in strict mode with the caller's ``companyId``.

    ``warnings`` receives the Concur messages of the rules that only warn
    (``scim/rule_book.py``) once the document is valid. ``concur_values`` False
    (``CONCUR_SCIM_GENERIC_VALUES=any``, generic dialect only) skips the generic Concur
    value checks (dates, code lists), for test tools that fill every string at random.

    Concur's enterprise ``companyId`` is required and immutable, and tokens are
    company-scoped (reference/concur-v4.md §6.2, §9.16): a client that leaves it out gets the
    caller's company; a different company is refused with InvalidValue (400), since a
    caller can only provision users of its own company.
    """
    findings = Findings()
    if not strict or not isinstance(payload, dict):
        doc = normalize_resource(
            payload,
            user_schema(),
            strict=strict,
            previous=previous,
            findings=findings,
            generic_checks=concur_values,
        )
    else:
        # First in the body, so that a companyId the client sends, in any shape, wins.
        defaulted = {f"{ENTERPRISE_USER}:companyId": company_id, **payload}
        doc = normalize_resource(
            defaulted, user_schema(), strict=True, previous=previous, findings=findings
        )
    if warnings is not None:
        warnings.extend(findings.warning_messages())
    if not strict:
        # Generic SCIM clients know nothing of Concur companies: the token decides, so a
        # client's companyId is ignored and a stored one kept (never another company's).
        _keep_company(doc, previous)
        return doc
    sent = str(doc.get(ENTERPRISE_USER, {}).get("companyId", ""))
    if sent.lower() != company_id.lower():
        hint = (
            f"the token's company is {company_id}; to serve a request written for company"
            f" {sent}, start the server with CONCUR_SCIM_COMPANY_ID={sent}"
        )
        raise InvalidValue(
            f"'{ENTERPRISE_USER}:companyId' must be the caller's company: {hint}",
            messages=[
                {
                    "code": "INVALID_VALUE",
                    "message": f"companyId does not match the caller's company: {hint}",
                    "schemaPath": f"{ENTERPRISE_USER}:companyId",
                    "type": "error",
                }
            ],
        )
    return doc


def _keep_company(doc: dict[str, Any], previous: dict[str, Any] | None) -> None:
    enterprise = doc.get(ENTERPRISE_USER)
    if isinstance(enterprise, dict):
        enterprise.pop("companyId", None)
    stored = ((previous or {}).get(ENTERPRISE_USER) or {}).get("companyId")
    if stored is not None:
        doc.setdefault(ENTERPRISE_USER, {})["companyId"] = stored
    elif isinstance(enterprise, dict) and not enterprise:
        doc.pop(ENTERPRISE_USER, None)


def _store(
    conn: Connection, record: ResourceRecord, doc: dict[str, Any], clock: Clock
) -> ResourceRecord:
    if doc == record.doc:
        return record
    try:
        return store.update_user(conn, record, doc, clock())
    except Conflict as conflict:
        raise uniqueness_error(conflict, "user") from None


def delete_user(
    conn: Connection,
    company_id: str,
    user_id: str,
    *,
    if_match: str | None = None,
    soft: bool = False,
    clock: Clock = system_clock,
) -> None:
    """Delete the user; NotFound if absent.

    A hard delete removes the user and its memberships (RFC 7644 §3.6; Concur Identity and
    UPS). A soft delete (Concur SCIM v4, reference §5) deactivates the user and hides it from
    every read and list while keeping its data; its userName stays taken.
    """
    record = get_user(conn, company_id, user_id, lock=True)
    check_if_match(record, if_match)
    if soft:
        store.soft_delete_user(conn, record, clock())
    else:
        store.delete_user(conn, company_id, user_id, clock())


def list_users(conn: Connection, company_id: str, query: ListQuery) -> Page:
    """A page of users matching ``query`` (filter compiled to SQL by the store)."""
    return store.list_users(conn, company_id, query)


def attach_groups(conn: Connection, records: list[ResourceRecord]) -> list[ResourceRecord]:
    """``records`` with their read-only ``groups`` attribute loaded (one query for all)."""
    by_user = group_store.load_user_groups(conn, [r.id for r in records])
    return [replace(r, groups=by_user[r.id]) for r in records]
