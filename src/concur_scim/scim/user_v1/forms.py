"""The company's employee form: which v1.0 fields exist and which are required (§3.4, §4.3).

Two presets (``CONCUR_SCIM_USER_V1_FORM``): ``minimal`` (the default: only the always-required
fields) and ``concur-sample`` (the 2015 FormFields sample, for fidelity). The same form drives
``GET FormFields`` and the required-field check of every POSTed record. Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FormField:
    """One ``FormField`` of ``GET /api/user/v1.0/FormFields`` (§3.4)."""

    id: str
    label: str
    control_type: str = "edit"
    data_type: str = "VARCHAR"
    max_length: str = ""
    required: bool = False
    custom: bool = False
    list_name: str = ""
    parent_field_id: str = ""
    hier_level: str = ""


def _field(spec: str, required: bool) -> FormField:
    fid, label, control, dtype, length = spec.split(":")
    return FormField(fid, label, control, dtype, length, required)


# §3.4 / §3.1.1: the fields of the 2015 sample, with its Required flags.
_SAMPLE = (
    ("FirstName:EmployeeFirstName:edit:VARCHAR:32", True),
    ("Mi:MiddleInitial:edit:CHAR:1", False),
    ("LastName:EmployeeLastName:edit:VARCHAR:32", True),
    ("EmpId:EmployeeID:edit:VARCHAR:128", True),
    ("LoginId:LogonID:edit:VARCHAR:128", True),
    ("EmailAddress:EmailAddress:edit:VARCHAR:255", False),
    ("LocaleName:Language:picklist:VARCHAR:", True),
    ("CtryCode:CountryCode:picklist:CHAR:2", True),
    ("CtrySubCode:CountrySubCode:picklist:VARCHAR:6", False),
    ("LedgerKey:Ledger:picklist:VARCHAR:20", False),
    ("CrnKey:ReimbursementCurrency:picklist:CHAR:3", True),
    ("CashAdvanceAccountCode:CashAdvanceAccountCode:edit:VARCHAR:20", False),
    ("Active:Active:checkbox:BOOLEANCHAR:1", True),
    ("IsTestEmp:IsaTestUser?:checkbox:BOOLEANCHAR:1", True),
)
_MINIMAL_REQUIRED = frozenset({"EmpId", "LoginId"})

_CUSTOM = (
    FormField(
        "OrgUnit1", "Division", "list_edit", "MLIST", "48", custom=True, list_name="Divisions"
    ),
    FormField(
        "Custom21", "EmployeeGroup", "list_edit", "LIST", "48", custom=True,
        list_name="Employee Groups",
    ),
)  # fmt: skip


def employee_form(preset: str) -> tuple[FormField, ...]:
    """The form of ``preset`` (``minimal`` or ``concur-sample``)."""
    base = tuple(_field(spec, required) for spec, required in _SAMPLE)
    if preset == "concur-sample":
        return base + _CUSTOM
    return (
        tuple(
            FormField(f.id, f.label, f.control_type, f.data_type, f.max_length,
                      f.id in _MINIMAL_REQUIRED)
            for f in base
        )
        + _CUSTOM
    )  # fmt: skip


def required_fields(form: tuple[FormField, ...]) -> tuple[str, ...]:
    """The element names the form requires on every record, in form order (§4.3)."""
    return tuple(f.id for f in form if f.required)
