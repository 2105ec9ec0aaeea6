"""Concur's Spend User extension, and the user reference the Spend extensions share.

reference/concur-v4.md §6.5. The Spend extensions are downstream: stored per user and URN
beside the identity document, not part of it (DESIGN "Data"). Role is in
``spend_roles.py`` (whose :func:`role_codes` is re-exported here), Approver, ApproverLimit
and Delegate in ``spend_approvals.py``, the preferences in ``spend_preferences.py``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from scim2_models import URN, CaseExact, ComplexAttribute, Extension, Mutability, Required

from .annotations import AnyOf, Closed, ClosedStringEnum, CodeList, Format, Rule
from .spend_roles import role_codes

__all__ = ["SpendUser", "UserReference", "role_codes"]

CUSTOM_DATA_IDS = [f"custom{i}" for i in range(1, 23)] + [f"orgUnit{i}" for i in range(1, 7)]


class UserReference(ComplexAttribute):
    value: Annotated[str | None, CaseExact.true] = None
    """The referenced user's id."""

    employee_number: str | None = None
    """The referenced user's employee number."""

    display_name: Annotated[str | None, Mutability.read_only] = None
    """The referenced user's display name."""

    ref: str | None = Field(None, serialization_alias="$ref", validation_alias="$ref")
    """The URI of the referenced user."""


class BiHierarchy(ComplexAttribute):
    code: str | None = None
    """The hierarchy node code (Unified Analytics)."""

    sync_guid: Annotated[str | None, Mutability.read_only] = None
    """The node's sync GUID."""

    href: Annotated[str | None, Mutability.read_only] = None
    """The node's URL."""


class CustomData(ComplexAttribute):
    id: Annotated[str | None, Required.true, Field(examples=CUSTOM_DATA_IDS), Closed.true] = None
    """The custom field: custom1-custom22 or orgUnit1-orgUnit6."""

    value: str | None = None
    """The value, or the list item code of a list field."""

    sync_guid: Annotated[str | None, Mutability.read_only] = None
    """The list item's sync GUID."""

    href: Annotated[str | None, Mutability.read_only] = None
    """The list item's URL."""


class ReimbursementType(ClosedStringEnum):
    accounts_payable = "ACCOUNTS_PAYABLE"
    adp_payroll = "ADP_PAYROLL"
    concur_pay = "CONCUR_PAY"
    other = "OTHER"
    pay_pal = "PAY_PAL"


class SpendUser(Extension):
    """Spend User: the user's expense and invoice settings."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:spend:2.0:User")

    reimbursement_currency: Annotated[
        str | None, Required.true, Field(min_length=3, max_length=3), CodeList.currency
    ] = None
    """The ISO 4217 reimbursement currency."""

    country: Annotated[
        str | None, Required.true, Field(min_length=2, max_length=2), CodeList.country
    ] = None
    """The ISO 3166-1 alpha-2 country."""

    locale: Annotated[
        str | None, Required.true, Field(min_length=5, max_length=6), Format.language_tag
    ] = None
    """The user's locale, e.g. en-US or es-419."""

    cash_advance_account_code: Annotated[str | None, Field(max_length=20)] = None
    """The cash advance account code."""

    reimbursement_type: ReimbursementType | None = None
    """How expenses are reimbursed."""

    ledger_code: Annotated[str | None, Field(max_length=20)] = None
    """The ledger code, e.g. DEFAULT."""

    state_province: Annotated[str | None, Field(min_length=2, max_length=2)] = None
    """The ISO sub-country code, e.g. WA."""

    budget_country_code: Annotated[str | None, Field(min_length=2, max_length=2)] = None
    """The budget country code."""

    test_employee: Annotated[bool | None, Mutability.immutable, Rule.keep_on_update] = None
    """Whether this is a test user; settable at creation only."""

    non_employee: bool | None = None
    """Whether the user is not an employee."""

    bi_manager: Annotated[UserReference | None, AnyOf("value", "employeeNumber")] = None
    """The user's manager for reporting."""

    bi_hierarchy: BiHierarchy | None = None
    """The user's Unified Analytics hierarchy node."""

    custom_data: list[CustomData] | None = None
    """Custom and org unit fields."""

    office_location_country: Annotated[str | None, Field(min_length=2, max_length=2)] = None
    """The office country."""

    office_location_state_province: Annotated[str | None, Field(min_length=2, max_length=2)] = None
    """The office state or province."""

    office_location_city: str | None = None
    """The office city."""
