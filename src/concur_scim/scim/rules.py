"""Concur's checks across several values, dispatched by the rule names the models declare.

A model names a rule in a field's metadata (``scim/schemas/annotations.py: Rule``); the strict
validator (``scim/strict.py``) looks it up in :data:`RULES` and calls it with the attribute's
value, already checked value by value (types, lengths, canonical spellings, dates as
``YYYY-MM-DD``). A rule returns the value to store, possibly completed (a lone mobile
becomes the primary one), and reports each violation it sees into the ``Findings`` under the
rule's id in ``scim/rule_book.py`` (which decides whether it refuses the write or warns).

``keepOnUpdate`` is not here: it is about the stored value, not the sent one, and the strict
validator applies it with the other mutability rules.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

from concur_scim.scim.registry import AttributeDef
from concur_scim.scim.schemas.annotations import Rule
from concur_scim.scim.schemas.spend_roles import exclusive_role_sets, role_code
from concur_scim.scim.violations import Findings, Where

RuleCheck = Callable[[Any, AttributeDef, Where, Findings], Any]

# reference/concur-v4.md §6.1: characters Concur refuses in a userName.
USER_NAME_FORBIDDEN = frozenset("%[#!*&()~'{^}\\/?><,;:\"+=]|")


def _type_of(item: Any) -> str | None:
    kind = item.get("type") if isinstance(item, dict) else None
    return kind.lower() if isinstance(kind, str) else None


def _unique_types(
    items: list[Any], where: Where, findings: Findings, *, except_: str | None = None
) -> list[Any]:
    seen: set[str] = set()
    for index, item in enumerate(items):
        kind = _type_of(item)
        if kind is None or kind == except_:
            continue
        if kind in seen:
            findings.report(
                "onePerType",
                where.item(index).child("type"),
                f"repeats type '{kind}' (one per type)",
            )
        seen.add(kind)
    return items


def one_per_type(items: list[Any], attr: AttributeDef, where: Where, findings: Findings) -> Any:
    """No two values share a ``type`` (emails, addresses; §9.14)."""
    return _unique_types(items, where, findings)


def one_per_type_but_mobile(
    items: list[Any], attr: AttributeDef, where: Where, findings: Findings
) -> list[Any]:
    """No two values share a ``type``, except mobiles (phoneNumbers; §6.1)."""
    return _unique_types(items, where, findings, except_="mobile")


def phone_types(items: list[Any], attr: AttributeDef, where: Where, findings: Findings) -> Any:
    """Type-bound phone sub-attributes and exactly one primary mobile (§6.1).

    ``primary``, ``notifications`` and ``issuingCountry`` belong to mobiles, ``workExtension``
    to work numbers. When there are mobiles exactly one is primary; a lone mobile sent
    without ``primary`` is made the primary one rather than refused.
    """
    mobiles = [i for i, item in enumerate(items) if _type_of(item) == "mobile"]
    for index, item in enumerate(items):
        kind = _type_of(item)
        for sub in ("primary", "notifications", "issuingCountry"):
            if kind != "mobile" and item.get(sub) not in (None, False):
                findings.report(
                    "phone.mobileOnly", where.item(index).child(sub), "is for mobile numbers only"
                )
        if kind != "work" and item.get("workExtension") is not None:
            findings.report(
                "phone.workOnly",
                where.item(index).child("workExtension"),
                "is for work numbers only",
            )
    if len(mobiles) == 1 and "primary" not in items[mobiles[0]]:
        items[mobiles[0]]["primary"] = True
    primaries = [i for i in mobiles if items[i].get("primary") is True]
    if mobiles and len(primaries) != 1:
        findings.report(
            "phone.primaryMobile",
            where,
            f"has {len(primaries)} primary mobile numbers; exactly one is",
        )
    return items


def leaves_of_absence(
    items: list[Any], attr: AttributeDef, where: Where, findings: Findings
) -> list[Any]:
    """startDate before endDate, no overlaps, only the latest leave open-ended (§6.2).

    Dates are ``YYYY-MM-DD`` here (checked and normalised before), so they compare as text.
    A leave's endDate is its last day: a leave starting that day overlaps it.
    """
    # A leave without startDate is already reported as required: the order rules skip it.
    dated = sorted(
        ((i, item) for i, item in enumerate(items) if isinstance(item.get("startDate"), str)),
        key=lambda pair: str(pair[1]["startDate"]),
    )
    for index, item in dated:
        end = item.get("endDate")
        if end is not None and end <= item["startDate"]:
            findings.report(
                "leaves.order", where.item(index).child("endDate"), "must be after startDate"
            )
    for (index, item), (next_index, following) in pairwise(dated):
        end = item.get("endDate")
        if end is None:
            findings.report(
                "leaves.overlap",
                where.item(index).child("endDate"),
                "is required: only the current (latest) leave may be open-ended",
            )
        elif end >= following["startDate"]:
            findings.report(
                "leaves.overlap", where.item(next_index), f"overlaps the leave ending {end}"
            )
    return items


def user_name_characters(value: str, attr: AttributeDef, where: Where, findings: Findings) -> str:
    """A userName of the form ``user@domain`` with no character Concur forbids (§6.1)."""
    forbidden = next((char for char in value if char in USER_NAME_FORBIDDEN), None)
    if forbidden is not None:
        findings.report(
            "userName.characters", where, f"contains the forbidden character '{forbidden}'"
        )
    user, at, domain = value.rpartition("@")
    if not at or not user.strip() or not domain.strip():
        findings.report("userName.form", where, "must have the form user@domain")
    return value


def primary_only(items: list[Any], attr: AttributeDef, where: Where, findings: Findings) -> Any:
    """Every approver is primary: only report and request take ``primary: false`` (§6.7)."""
    for index, item in enumerate(items):
        if item.get("primary") is False:
            findings.report(
                "approver.primaryOnly",
                where.item(index).child("primary"),
                "must be true: only report and request approvers may be non-primary",
            )
    return items


def role_assignment(
    items: list[Any], attr: AttributeDef, where: Where, findings: Findings
) -> list[Any]:
    """Spend roles: none driven by an entitlement, groups only for group-aware roles, no two
    mutually exclusive roles (§6.6, Appendix A1)."""
    held: dict[str, int] = {}
    for index, item in enumerate(items):
        code = str(item.get("roleName"))
        entry = role_code(code) or {}
        at = where.item(index)
        if entry.get("entitlement"):
            findings.report(
                "role.entitlement",
                at.child("roleName"),
                f"'{code}' follows the '{entry['entitlement']}' entitlement "
                "and cannot be set through the Role extension",
            )
        if item.get("roleGroups") and not entry.get("groupAware"):
            findings.report(
                "role.groupAware",
                at.child("roleGroups"),
                f"is not accepted: '{code}' is not group-aware",
            )
        held.setdefault(code, index)
    for exclusive in exclusive_role_sets():
        both = [code for code in exclusive if code in held]
        if len(both) > 1:
            findings.report(
                "role.exclusive", where.item(held[both[1]]), f"'{both[1]}' excludes '{both[0]}'"
            )
    return items


RULES: dict[str, RuleCheck] = {
    Rule.one_per_type.value: one_per_type,
    Rule.one_per_type_but_mobile.value: one_per_type_but_mobile,
    Rule.phone_types.value: phone_types,
    Rule.leaves_of_absence.value: leaves_of_absence,
    Rule.user_name_characters.value: user_name_characters,
    Rule.primary_only.value: primary_only,
    Rule.role_assignment.value: role_assignment,
}
"""The value rules by name; ``keepOnUpdate`` is applied by ``scim/strict.py``."""
