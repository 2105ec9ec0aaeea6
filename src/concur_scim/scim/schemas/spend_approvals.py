"""Concur's Spend Approver, Approver Limit and Delegate extensions (§6.7-§6.9).

Downstream extensions, stored beside the identity document. Approvers and delegates are
user references by id or employee number; that they hold the matching roles (§9.19) is for
the extension handlers to check, as it needs the other users' data.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field
from scim2_models import URN, ComplexAttribute, Extension, Required

from .annotations import AnyOf, ClosedStringEnum, CodeList, Format, Rule
from .spend import UserReference

__all__ = ["SpendApprover", "SpendApproverLimit", "SpendDelegate"]


class Approval(ComplexAttribute):
    approver: Annotated[UserReference | None, Required.true, AnyOf("value", "employeeNumber")] = (
        None
    )
    """The approver: its id or employee number."""

    primary: Annotated[bool | None, Required.true] = None
    """Whether this is the primary approver (false only for report and request)."""


_Approvals = Annotated[list[Approval] | None, Rule.primary_only]


class SpendApprover(Extension):
    """Spend Approver: the user's approvers per kind of document."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:spend:2.0:Approver")

    report: list[Approval] | None = None
    """Expense report approvers."""

    cash_advance: _Approvals = None
    """Cash advance approvers."""

    request: list[Approval] | None = None
    """Request approvers."""

    invoice: _Approvals = None
    """Invoice approvers."""

    purchase_request: _Approvals = None
    """Purchase request approvers."""

    statement: _Approvals = None
    """Statement approvers."""

    budget: _Approvals = None
    """Budget approvers."""


class ApproverLimitConfig(ComplexAttribute):
    class ApprovalType(ClosedStringEnum):
        report = "report"
        payment = "payment"
        request = "request"
        purchase_request = "purchaseRequest"

    approval_type: ApprovalType | None = None
    """What the limit applies to."""

    exception_approval_authority: bool | None = None
    """Whether the approver may approve exceptions."""

    approval_limit: float | None = None
    """The approval limit amount."""

    reimbursement_currency: Annotated[
        str | None, Field(min_length=3, max_length=3), CodeList.currency
    ] = None
    """The ISO 4217 currency of the limit."""

    approval_group: str | None = None
    """The hierarchy path of the group; blank means global."""

    level: int | None = None
    """The order of approval."""


class SpendApproverLimit(Extension):
    """Spend Approver Limit: authorized and cost object approver limits."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:spend:2.0:ApproverLimit")

    authorized_approver: list[ApproverLimitConfig] | None = None
    """Authorized approver limits."""

    cost_object_approver: list[ApproverLimitConfig] | None = None
    """Cost object approver limits."""


class TemporaryDelegation(ComplexAttribute):
    temporary_delegation_from_date: Annotated[str | None, Format.date_time] = None
    """Start of the delegation, an ISO 8601 date-time."""

    temporary_delegation_to_date: Annotated[str | None, Format.date_time] = None
    """End of the delegation, an ISO 8601 date-time."""


class Delegation(ComplexAttribute):
    delegate: Annotated[UserReference | None, Required.true, AnyOf("value", "employeeNumber")] = (
        None
    )
    """The delegate: its id or employee number."""

    can_approve: bool | None = None
    """The delegate may approve."""

    can_prepare: bool | None = None
    """The delegate may prepare."""

    can_prepare_for_approval: bool | None = None
    """The delegate may prepare for approval."""

    can_receive_approval_email: bool | None = None
    """The delegate receives approval emails."""

    can_receive_email: bool | None = None
    """The delegate receives emails."""

    can_submit: bool | None = None
    """The delegate may submit."""

    can_submit_travel_request: bool | None = None
    """The delegate may submit travel requests."""

    can_use_bi: bool | None = None
    """The delegate may use reporting."""

    can_view_receipt: bool | None = None
    """The delegate may view receipts."""

    temporary_delegation: TemporaryDelegation | None = Field(
        None,
        serialization_alias="temporaryDelegation",
        # Concur's own examples misspell the key (§9.22): both spellings are read.
        validation_alias=AliasChoices("temporaryDelegation", "temporaryDelegatation"),
    )
    """The period of a temporary delegation."""


class SpendDelegate(Extension):
    """Spend Delegate: the user's delegates per product."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate")

    expense: list[Delegation] | None = None
    """Expense delegates."""

    payment: list[Delegation] | None = None
    """Payment (Invoice) delegates."""

    purchase_request: list[Delegation] | None = None
    """Purchase request delegates."""
