"""Concur's Spend preference extensions: User, Workflow and Invoice preferences.

reference/concur-v4.md §6.10-§6.12. Downstream extensions like the rest of ``spend.py``.
Defaults are Concur's, applied by Concur when a preference is unset; they are documented
here, not filled in by the validator.
"""

from __future__ import annotations

from scim2_models import URN, Extension

from .annotations import ClosedStringEnum

__all__ = ["SpendInvoicePreference", "SpendUserPreference", "SpendWorkflowPreference"]


class ExpenseAuditRequired(ClosedStringEnum):
    never = "NEVER"
    required = "REQUIRED"
    always = "ALWAYS"


class ProcessorReportAccess(ClosedStringEnum):
    # The v4.1 doc and the UPS swagger disagree (§6.10); both lists are accepted.
    complete = "COMPLETE"
    restricted = "RESTRICTED"
    excluding_returned = "All reports excluding returned"
    including_returned = "All reports including returned"
    pending_processor = "All reports Pending processor and above"


class ReportPrintFormat(ClosedStringEnum):
    receipts = "RECEIPTS"
    detailed = "DETAILED"
    fax = "FAX"


class ExpensesOnReport(ClosedStringEnum):
    all = "ALL"
    parent = "PARENT"
    nothing = "NOTHING"


class SpendUserPreference(Extension):
    """Spend User Preference: expense report and email preferences."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:spend:2.0:UserPreference")

    show_imaging_intro: bool | None = None
    """Show the imaging introduction (default true)."""

    expense_audit_required: ExpenseAuditRequired | None = None
    """When expense reports are audited."""

    processor_report_access: ProcessorReportAccess | None = None
    """Which reports a processor sees (processor roles only)."""

    allow_credit_card_trans_arrival_emails: bool | None = None
    """Email when card transactions arrive (default true)."""

    allow_receipt_image_avail_emails: bool | None = None
    """Email when receipt images are available (default true)."""

    prompt_for_card_transactions_on_report: bool | None = None
    """Prompt for card transactions on a new report (default true)."""

    auto_add_trip_card_trans_on_report: bool | None = None
    """Add trip card transactions to reports automatically."""

    prompt_for_report_print_format: bool | None = None
    """Prompt for the print format."""

    default_report_print_format: ReportPrintFormat | None = None
    """The default print format."""

    show_total_on_report: bool | None = None
    """Show totals on reports."""

    show_expense_on_report: ExpensesOnReport | None = None
    """Which expenses reports show."""

    show_instruct_help_panel: bool | None = None
    """Show the instructions help panel (default true)."""

    use_quick_itin_as_default: bool | None = None
    """Use the quick itinerary by default."""

    enable_ocr_for_ui: bool | None = None
    """Receipt OCR for uploads in the UI."""

    enable_ocr_for_email: bool | None = None
    """Receipt OCR for emailed receipts."""

    enable_trip_based_assistant: bool | None = None
    """The trip-based assistant (seen in v4.1 responses)."""


class SpendWorkflowPreference(Extension):
    """Spend Workflow Preference: approval emails and approver prompts."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:spend:2.0:WorkflowPreference")

    email_status_change_on_cash_advance: bool | None = None
    """Email on cash advance status changes (default true)."""

    email_await_approval_on_cash_advance: bool | None = None
    """Email when a cash advance awaits approval (default true)."""

    email_status_change_on_report: bool | None = None
    """Email on report status changes (default true)."""

    email_await_approval_on_report: bool | None = None
    """Email when a report awaits approval (default true)."""

    prompt_for_approver_on_report_submit: bool | None = None
    """Prompt for an approver on report submission (default false)."""

    email_status_change_on_travel_request: bool | None = None
    """Email on travel request status changes (default true)."""

    email_await_approval_on_travel_request: bool | None = None
    """Email when a travel request awaits approval (default true)."""

    prompt_for_approver_on_travel_request_submit: bool | None = None
    """Prompt for an approver on travel request submission (default false)."""

    email_status_change_on_payment: bool | None = None
    """Email on payment request status changes (default true)."""

    email_await_approval_on_payment: bool | None = None
    """Email when a payment request awaits approval (default true)."""

    prompt_for_approver_on_payment_submit: bool | None = None
    """Prompt for an approver on payment request submission (default false)."""

    email_on_purchase_request_status_change: bool | None = None
    """Email on purchase request status changes (default true)."""

    email_on_purchase_request_await_approval: bool | None = None
    """Email when a purchase request awaits approval (default true)."""

    prompt_for_purchase_request_approver_on_submit: bool | None = None
    """Prompt for an approver on purchase request submission (default false)."""

    email_when_payment_request_assigned: bool | None = None
    """Email when a payment request is assigned (360 mapping)."""


class SpendInvoicePreference(Extension):
    """Spend Invoice Preference: purchasing and payment request preferences."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:spend:2.0:InvoicePreference")

    email_on_purchasing_assigned: bool | None = None
    """Email when a purchase request is assigned."""

    email_on_purchasing_send_back: bool | None = None
    """Email when a purchase request is sent back."""

    email_on_fax_image_available_payment_request: bool | None = None
    """Email when a faxed image is available (ignored by Concur since 2022-11-01)."""

    prompt_new_line_items_payment_request: bool | None = None
    """Prompt for new line items on payment requests."""

    display_inline_image: bool | None = None
    """Display images inline."""

    auto_open_image: bool | None = None
    """Open images automatically."""
