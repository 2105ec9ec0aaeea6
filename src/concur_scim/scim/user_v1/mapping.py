"""User v1.0 fields ↔ this server's SCIM model (reference/concur-user-v1.md §6).

Identity attributes live in the user document (core + enterprise); the v1.0 spend fields in
the spend ``User`` extension, the approver flags in the spend ``Role`` extension and the
expense approver in the spend ``Approver`` extension. Each ``*_doc`` function merges one
record's sent values onto the stored document: an omitted element leaves its attribute
alone, an empty one clears it (§4.6). They return None when the record touches nothing of
that document. Pure.
"""

from __future__ import annotations

import copy
from typing import Any

from concur_scim.scim.user_v1.fields import CUSTOMS, ORG_UNITS, PAYMENT_METHODS

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# §6: Y/N flag → core entitlement value, and → spend role code.
ENTITLEMENTS = {"ExpenseUser": "Expense", "TripUser": "Travel", "InvoiceUser": "Invoice"}
ROLES = {"ExpenseApprover": "EXP_APPROVER", "InvoiceApprover": "INV_APPROVER"}
# §6: element → spend User attribute, for the plain string fields.
SPEND_STRINGS = {
    "LedgerKey": "ledgerCode",
    "CtryCode": "country",
    "CrnKey": "reimbursementCurrency",
    "CashAdvanceAccountCode": "cashAdvanceAccountCode",
}
# Concur v4 requires these of a spend User (services/extensions validation), §6.
SPEND_REQUIRED = (
    ("reimbursementCurrency", "CrnKey"),
    ("country", "CtryCode"),
    ("locale", "LocaleName"),
)
_CUSTOM_DATA = {name: name[0].lower() + name[1:] for name in (*ORG_UNITS, *CUSTOMS, "Custom22")}


def _set(target: dict[str, Any], key: str, value: str) -> None:
    if value:
        target[key] = value
    else:
        target.pop(key, None)


def identity_doc(values: dict[str, str], previous: dict[str, Any] | None) -> dict[str, Any]:
    """The whole user document to store for ``values`` over ``previous`` (None: a new user).

    ``userName`` = NewLoginID or LoginId, ``employeeNumber`` = NewEmployeeID or EmpId,
    ``active`` from Active, the name parts, the work email, and the Expense/Travel/Invoice
    entitlements (Y adds, N removes).
    """
    doc = copy.deepcopy(previous) if previous else {}
    doc["userName"] = values.get("NewLoginID") or values["LoginId"]
    enterprise = doc.setdefault(ENTERPRISE, {})
    enterprise["employeeNumber"] = values.get("NewEmployeeID") or values["EmpId"]
    if values.get("Active"):
        doc["active"] = values["Active"] == "Y"
    stored_name = doc.get("name")
    name: dict[str, Any] = stored_name if isinstance(stored_name, dict) else {}
    for element, attr in (
        ("FirstName", "givenName"),
        ("LastName", "familyName"),
        ("Mi", "middleInitial"),
    ):
        if element in values:
            _set(name, attr, values[element])
    if name:
        doc["name"] = name
    else:
        doc.pop("name", None)
    if "EmailAddress" in values:
        _set_work_email(doc, values["EmailAddress"])
    _set_entitlements(doc, values)
    return doc


def _set_work_email(doc: dict[str, Any], address: str) -> None:
    """Replace the work email (§6: type I); primary when it is the user's only email."""
    others = [e for e in doc.get("emails") or [] if str(e.get("type", "")).lower() != "work"]
    if address:
        others.append({"value": address, "type": "work", "primary": not others})
    if others:
        doc["emails"] = others
    else:
        doc.pop("emails", None)


def _set_entitlements(doc: dict[str, Any], values: dict[str, str]) -> None:
    current = list(doc.get("entitlements") or [])
    for element, entitlement in ENTITLEMENTS.items():
        flag = values.get(element)
        if not flag:
            continue
        current = [e for e in current if str(e.get("value", "")).lower() != entitlement.lower()]
        if flag == "Y":
            current.append({"value": entitlement})
    if current:
        doc["entitlements"] = current
    else:
        doc.pop("entitlements", None)


def spend_user_doc(
    values: dict[str, str], previous: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The spend ``User`` extension for ``values`` over ``previous``; None if none was sent."""
    doc = copy.deepcopy(previous) if previous else {}
    touched = False
    for element, attr in SPEND_STRINGS.items():
        if element in values:
            _set(doc, attr, values[element])
            touched = True
    if "LocaleName" in values:
        _set(doc, "locale", values["LocaleName"].replace("_", "-"))  # en_US ↔ en-US
        touched = True
    if "CtrySubCode" in values:
        # US-WA → WA; the country part is CtryCode's business (§6, I).
        _set(doc, "stateProvince", values["CtrySubCode"].partition("-")[2])
        touched = True
    if "PmtMethodCode" in values:
        _set(doc, "reimbursementType", PAYMENT_METHODS.get(values["PmtMethodCode"], ""))
        touched = True
    if values.get("IsTestEmp") and "testEmployee" not in doc:
        # Concur v4 sets testEmployee at creation only; a later change is ignored (§6).
        doc["testEmployee"] = values["IsTestEmp"] == "Y"
        touched = True
    custom = {str(c.get("id")): c for c in doc.get("customData") or [] if isinstance(c, dict)}
    for element, cid in _CUSTOM_DATA.items():
        if element in values:
            touched = True
            if values[element]:
                custom[cid] = {"id": cid, "value": values[element]}
            else:
                custom.pop(cid, None)
    if custom:
        doc["customData"] = list(custom.values())
    else:
        doc.pop("customData", None)
    return doc if touched else None


def roles_doc(values: dict[str, str], previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """The spend ``Role`` extension with EXP_/INV_APPROVER added (Y) or removed (N)."""
    if not any(values.get(element) for element in ROLES):
        return None
    roles = list((previous or {}).get("roles") or [])
    for element, code in ROLES.items():
        flag = values.get(element)
        if not flag:
            continue
        roles = [r for r in roles if str(r.get("roleName", "")).upper() != code]
        if flag == "Y":
            roles.append({"roleName": code})
    doc = dict(previous or {})
    doc["roles"] = roles
    return doc


def approver_doc(
    approver: tuple[str, str] | None, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """The spend ``Approver`` extension with the primary report approver replaced.

    ``approver`` is (user id, EmpId) of ExpenseApproverEmployeeID, or None to clear it.
    """
    doc = copy.deepcopy(previous) if previous else {}
    report = [r for r in doc.get("report") or [] if not r.get("primary")]
    if approver is not None:
        user_id, emp_id = approver
        report.insert(
            0, {"approver": {"value": user_id, "employeeNumber": emp_id}, "primary": True}
        )
    if report:
        doc["report"] = report
    else:
        doc.pop("report", None)
    return doc


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def _work_email(doc: dict[str, Any]) -> str:
    """The work email, else the primary one, else the first (``""`` if none)."""
    emails = [e for e in doc.get("emails") or [] if isinstance(e, dict)]
    work = [e for e in emails if str(e.get("type", "")).lower() == "work"]
    primary = [e for e in emails if e.get("primary")]
    for email in (*work, *primary, *emails):
        return str(email.get("value", ""))
    return ""


def v1_profile(
    doc: dict[str, Any],
    spend: dict[str, Any],
    roles: dict[str, Any],
    approvers: dict[str, Any],
) -> dict[str, str]:
    """The 47 GET fields (§3.3) of a stored user; absent attributes are ``""``."""
    name = doc.get("name") or {}
    enterprise = doc.get(ENTERPRISE) or {}
    entitlements = {str(e.get("value", "")).lower() for e in doc.get("entitlements") or []}
    role_names = {str(r.get("roleName", "")).upper() for r in roles.get("roles") or []}
    custom = {
        str(c.get("id", "")).lower(): str(c.get("value", "")) for c in spend.get("customData") or []
    }
    primary = [r for r in approvers.get("report") or [] if r.get("primary")]
    country = str(spend.get("country", ""))
    state = str(spend.get("stateProvince", ""))
    out = {
        "LoginId": str(doc.get("userName", "")),
        "EmpId": str(enterprise.get("employeeNumber", "")),
        "LocaleName": str(spend.get("locale", "")).replace("-", "_"),
        "FirstName": str(name.get("givenName", "")),
        "LastName": str(name.get("familyName", "")),
        "Mi": str(name.get("middleInitial", "")),
        "EmailAddress": _work_email(doc),
        "Active": _yn(bool(doc.get("active", True))),
    }
    for element, cid in _CUSTOM_DATA.items():
        if element != "Custom22":
            out[element] = custom.get(cid.lower(), "")
    out |= {
        "LedgerName": str(spend.get("ledgerCode", "")),
        "CtryCode": country,
        "CrnKey": str(spend.get("reimbursementCurrency", "")),
        "CtrySubCode": f"{country}-{state}" if country and state else "",
    }
    for element, entitlement in ENTITLEMENTS.items():
        out[element] = _yn(entitlement.lower() in entitlements)
    for element, code in ROLES.items():
        out[element] = _yn(code in role_names)
    out["ExpenseApproverEmployeeID"] = (
        str((primary[0].get("approver") or {}).get("employeeNumber", "")) if primary else ""
    )
    out["IsTestEmp"] = _yn(bool(spend.get("testEmployee", False)))
    out["CashAdvanceAccountCode"] = str(spend.get("cashAdvanceAccountCode", ""))
    return out
