"""Rendering of User v1.0 responses (reference/concur-user-v1.md §2.4, §3.2-§3.5).

Shaped like the live API's output: no XML declaration, no line breaks, the v1.0 namespace
plus an unused ``xmlns:i`` (DataContractSerializer's fingerprint), ``<X/>`` for an empty
element. Text is escaped with ``xml.sax.saxutils``; nothing is parsed here. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from concur_scim.scim.user_v1.fields import NAMESPACE, XSI
from concur_scim.scim.user_v1.forms import FormField

MAX_ERRORS = 10  # §3.2: only the first ten errors are returned
_XMLNS = f'xmlns="{NAMESPACE}" xmlns:i="{XSI}"'


@dataclass(frozen=True)
class RecordOutcome:
    """One record's result: ``error`` None for a success."""

    emp_id: str
    feed_record_number: str
    error: str | None = None


def _el(name: str, text: str) -> str:
    return f"<{name}>{escape(text)}</{name}>" if text else f"<{name}/>"


def _wrap(name: str, parts: Iterable[str]) -> str:
    inner = "".join(parts)
    return f"<{name}>{inner}</{name}>" if inner else f"<{name}/>"


def batch_result(outcomes: list[RecordOutcome], details_element: str = "UsersDetails") -> bytes:
    """``<user-batch-result>`` (§3.2): counts, the first ten errors, one UserInfo per success."""
    failed = [o for o in outcomes if o.error is not None]
    succeeded = [o for o in outcomes if o.error is None]
    errors = (
        "<error>"
        + _el("EmployeeID", o.emp_id)
        + _el("FeedRecordNumber", o.feed_record_number)
        + _el("message", o.error or "")
        + "</error>"
        for o in failed[:MAX_ERRORS]
    )
    infos = (
        "<UserInfo>"
        + _el("EmployeeID", o.emp_id)
        + _el("FeedRecordNumber", o.feed_record_number)
        + "<Status>SUCCESS</Status></UserInfo>"
        for o in succeeded
    )
    body = (
        f"<user-batch-result {_XMLNS}>"
        f"<records-succeeded>{len(succeeded)}</records-succeeded>"
        f"<records-failed>{len(failed)}</records-failed>"
        + _wrap("errors", errors)
        + _wrap(details_element, infos)
        + "</user-batch-result>"
    )
    return body.encode()


def user_profile(fields: dict[str, str]) -> bytes:
    """A GET ``<UserProfile>`` (§3.3); elements in alphabetical order, as the live API sent."""
    inner = "".join(_el(name, fields[name]) for name in sorted(fields))
    return f"<UserProfile {_XMLNS}>{inner}</UserProfile>".encode()


def error_body(message: str, server_time: str, error_id: str) -> bytes:
    """The legacy non-batch ``<Error>`` (§2.4)."""
    return (
        f"<Error>{_el('Message', message)}{_el('Server-Time', server_time)}"
        f"{_el('Id', error_id)}</Error>"
    ).encode()


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def form_fields(form: Iterable[FormField]) -> bytes:
    """``<FormFieldsList>`` (§3.4), children in the sample's element order."""
    parts = []
    for sequence, f in enumerate(form, start=1):
        width = "32" if f.control_type == "edit" else ""
        parts.append(
            "<FormField>"
            + _el("Id", f.id)
            + _el("Label", f.label)
            + _el("ControlType", f.control_type)
            + _el("DataType", f.data_type)
            + _el("MaxLength", f.max_length)
            + _el("Required", _yn(f.required))
            + _el("Cols", width)
            + _el("Access", "RW")
            + _el("Width", width)
            + _el("Custom", _yn(f.custom))
            + (
                _el("ParentFormTypeCode", "EMPINFO")
                + _el("ParentFieldId", f.parent_field_id)
                + _el("IsCopyDownSourceForOtherForms", "N")
                + _el("ListName", f.list_name)
                + _el("HierLevel", f.hier_level or "1")
                if f.custom
                else ""
            )
            + _el("Sequence", str(sequence))
            + "</FormField>"
        )
    return f"<FormFieldsList {_XMLNS}>{''.join(parts)}</FormFieldsList>".encode()


@dataclass(frozen=True)
class PasswordOutcome:
    """One ``UserPasswordStatus`` (§3.5)."""

    login_id: str
    succeeded: bool
    message: str


def password_result(outcomes: list[PasswordOutcome]) -> bytes:
    """``<BatchResult>`` of ``POST /Users/password`` (§3.5)."""
    ok = sum(1 for o in outcomes if o.succeeded)
    statuses = (
        "<UserPasswordStatus>"
        + _el("LoginID", o.login_id)
        + _el("Status", "Success" if o.succeeded else "Failed")
        + _el("Message", o.message)
        + "</UserPasswordStatus>"
        for o in outcomes
    )
    return (
        f"<BatchResult {_XMLNS}><RecordsSucceeded>{ok}</RecordsSucceeded>"
        f"<RecordsFailed>{len(outcomes) - ok}</RecordsFailed>"
        + _wrap("UserPasswordStatusList", statuses)
        + "</BatchResult>"
    ).encode()
