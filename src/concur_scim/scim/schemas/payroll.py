"""Concur's Payroll extension: ``urn:ietf:params:scim:schemas:extension:enterprise:2.0:Payroll``.

reference/concur-v4.md §6.13: the ADP payroll identifiers, for users whose Spend
``reimbursementType`` is ``ADP_PAYROLL``. All three ADP fields are required when the
extension is sent. A downstream extension, stored beside the identity document.
"""

from __future__ import annotations

from typing import Annotated

from scim2_models import URN, ComplexAttribute, Extension, Required

__all__ = ["Payroll"]


class Adp(ComplexAttribute):
    company_code: Annotated[str | None, Required.true] = None
    """The ADP company code."""

    deduction_code: Annotated[str | None, Required.true] = None
    """The ADP deduction code."""

    employee_file_number: Annotated[str | None, Required.true] = None
    """The employee's ADP file number."""


class Payroll(Extension):
    """Payroll: ADP identifiers for ADP_PAYROLL reimbursement."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:enterprise:2.0:Payroll")

    adp: Annotated[Adp | None, Required.true] = None
    """The user's ADP payroll identifiers."""
