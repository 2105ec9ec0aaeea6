"""Every Concur validation rule this server applies, with its source and its strength.

One table (:data:`RULE_BOOK`) says, for each rule the strict validator (``scim/strict.py``,
``scim/rules.py``) and the generic pass (``scim/validation.py``) can report, where the rule
comes from and how strongly it holds:

- ``error``: Concur documents the constraint (its OpenAPI files, its documentation, an
  error message it answers) and no published example contradicts it: the write is refused;
- ``warning``: documented, but one of Concur's own published examples breaks it, so real
  Concur evidently accepts the input (reference/concur-v4.md §0: examples are ground
  truth): the write goes through and a Concur message with ``type: "warning"`` reports it;
- ``ignored``: not checked at all.

:data:`EXCEPTIONS` narrows a rule's strength for one attribute, where an example contradicts
the rule only there (``emergencyContacts.relationship`` is required by the documentation,
yet Concur's User Provisioning example sends a contact with only a name).

``generic`` marks the rules that also apply on ``/scim/v2``: the ones that keep every stored
value readable through the Concur dialects (dates, date ranges, code lists). The table is
rendered into docs/concur-compatibility.md (:func:`markdown_table`), and a test keeps the
two equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Strength = Literal["error", "warning", "ignored"]

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class RuleSpec:
    """One rule: its id (what findings carry), what it checks, where Concur says so, how
    strongly it holds, and whether ``/scim/v2`` applies it too."""

    id: str
    checks: str
    source: str
    strength: Strength
    generic: bool = False


RULE_BOOK: dict[str, RuleSpec] = {
    spec.id: spec
    for spec in (
        RuleSpec(
            "type",
            "a value of the wrong JSON type (a string for a number, an object for a string)",
            "RFC 7643 §2.3; every schema of reference §6",
            "error",
            generic=True,
        ),
        RuleSpec(
            "required",
            "a required attribute or sub-attribute is missing",
            "reference §6 'Req' columns (OpenAPI files, V)",
            "error",
        ),
        RuleSpec(
            "size",
            "a string longer or shorter than Concur's limit, or too many values",
            "reference §6 lengths (OpenAPI files, V); message 'Invalid … Size' (§6.5, V)",
            "error",
        ),
        RuleSpec(
            "canonicalValues",
            "a value outside a closed list (types, relationships, reimbursement types)",
            "reference §6 'allowed values' (OpenAPI enums, V)",
            "error",
        ),
        RuleSpec(
            "format",
            "a date (YYYY-MM-DD) or date-time that does not parse",
            "reference §6.1 dateOfBirth, §6.2 startDate, leavesOfAbsence (V)",
            "error",
            generic=True,
        ),
        RuleSpec(
            "dateRange",
            "a date-time outside 1900-01-01 … 2079-06-06",
            "reference §6.2 startDate, terminationDate (V)",
            "error",
            generic=True,
        ),
        RuleSpec(
            "languageTag",
            "a locale that is not a BCP 47 language tag",
            "reference §6.1 locale, §6.5 locale (V)",
            "error",
            generic=True,
        ),
        RuleSpec(
            "codeList",
            "a country, currency, language or time zone outside Concur's lists",
            "reference §6.1 preferredLanguage, timezone; §6.5 country, currency (V)",
            "error",
            generic=True,
        ),
        RuleSpec(
            "anyOf",
            "a reference with none of the members that identify it (value, employeeNumber)",
            "reference §6.7 approver (V)",
            "error",
        ),
        RuleSpec(
            "onePerType",
            "two emails, addresses or phone numbers (mobiles excepted) of one type",
            "reference §9 item 14 (V)",
            "error",
        ),
        RuleSpec(
            "phone.mobileOnly",
            "primary, notifications or issuingCountry on a phone number that is not a mobile",
            "reference §6.1 phoneNumbers (V); contradicted by Concur's User Provisioning"
            " example (a Work number with primary and notifications), so a warning",
            "warning",
        ),
        RuleSpec(
            "phone.workOnly",
            "workExtension on a phone number that is not a work number",
            "reference §6.1 phoneNumbers.workExtension (V)",
            "error",
        ),
        RuleSpec(
            "phone.primaryMobile",
            "mobiles of which not exactly one is primary (a lone mobile is made primary)",
            "reference §6.1, §9 item 14 (V)",
            "error",
        ),
        RuleSpec(
            "leaves.order",
            "a leave of absence whose endDate is not after its startDate",
            "reference §6.2 leavesOfAbsence (V)",
            "error",
        ),
        RuleSpec(
            "leaves.overlap",
            "leaves of absence that overlap, or an open-ended leave that is not the latest",
            "reference §6.2 leavesOfAbsence (V)",
            "error",
        ),
        RuleSpec(
            "userName.characters",
            "a userName with a character Concur forbids",
            "reference §6.1 userName (V)",
            "error",
        ),
        RuleSpec(
            "userName.form",
            "a userName that is not of the form user@domain",
            "reference §6.1 userName (V)",
            "error",
        ),
        RuleSpec(
            "approver.primaryOnly",
            "primary: false on an approver list other than report and request",
            "reference §6.7 (V); contradicted by Concur's User Provisioning example (a"
            " budget approver with primary false), so a warning",
            "warning",
        ),
        RuleSpec(
            "role.entitlement",
            "a role that follows an entitlement (EXP_USER, REQ_USER, INV_PMT_USER) set"
            " through Role",
            "reference §6.6, §9 item 18 (V)",
            "error",
        ),
        RuleSpec(
            "role.groupAware",
            "roleGroups on a role that is not group-aware",
            "reference Appendix A1 (V)",
            "error",
        ),
        RuleSpec(
            "role.exclusive",
            "two mutually exclusive roles",
            "reference §6.6 (V, role code page)",
            "error",
        ),
    )
}

# (rule, attribute path without indexes) → the strength that rule has there, and why.
EXCEPTIONS: dict[tuple[str, str], tuple[Strength, str]] = {
    ("required", f"{CORE_USER}:emergencyContacts.relationship"): (
        "warning",
        "Concur's User Provisioning example sends an emergency contact with only a name",
    ),
}


def strength(rule: str, schema_path: str) -> Strength:
    """How strongly ``rule`` holds for the attribute at ``schema_path`` (indexes ignored).

    Raises KeyError for a rule the book does not list: every check must be in the book.
    """
    spec = RULE_BOOK[rule]
    exception = EXCEPTIONS.get((rule, _INDEX.sub("", schema_path)))
    return exception[0] if exception is not None else spec.strength


def markdown_table() -> str:
    """The rule book as the Markdown table docs/concur-compatibility.md carries."""
    lines = [
        "| rule | checks | source | strength | also on /scim/v2 |",
        "|---|---|---|---|---|",
    ]
    for spec in RULE_BOOK.values():
        generic = "yes" if spec.generic else "no"
        lines.append(
            f"| `{spec.id}` | {spec.checks} | {spec.source} | {spec.strength} | {generic} |"
        )
    for (rule, path), (level, why) in EXCEPTIONS.items():
        lines.append(f"| `{rule}` at `{path}` | (exception) | {why} | {level} | no |")
    return "\n".join(lines)
