"""User v1.0 element names, aliases, limits and value rules (reference/concur-user-v1.md §3).

Pure data. Element names are matched case-insensitively and through the aliases of §3.1.1;
everything else in the package works with the canonical spellings defined here.
"""

from __future__ import annotations

NAMESPACE = "http://www.concursolutions.com/api/user/2011/02"
# §3: the 2015 GET examples write https; accepted on input, never emitted.
NAMESPACE_HTTPS = "https://www.concursolutions.com/api/user/2011/02"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

ORG_UNITS = tuple(f"OrgUnit{n}" for n in range(1, 7))
CUSTOMS = tuple(f"Custom{n}" for n in range(1, 22))

YES_NO = (
    "Active",
    "ExpenseUser",
    "ExpenseApprover",
    "TripUser",
    "InvoiceUser",
    "InvoiceApprover",
    "IsTestEmp",
)

# §3.1.1: every POST element, canonical spelling → max length (None: no limit checked).
POST_FIELDS: dict[str, int | None] = {
    "EmpId": 128,  # the table says 48, the FormFields sample 128: accept 128 (§3.1.1, I)
    "FeedRecordNumber": None,
    "LoginId": 128,
    "LocaleName": 5,
    "Password": 255,
    "FirstName": 32,
    "LastName": 32,
    "Mi": 1,
    "EmailAddress": 255,
    "LedgerKey": 20,
    **dict.fromkeys(ORG_UNITS, 48),
    **dict.fromkeys(CUSTOMS, 48),
    "Custom22": 48,
    "CtryCode": 2,
    "CashAdvanceAccountCode": 20,
    "CrnKey": 3,
    "CtrySubCode": 6,  # the doc's 2 is wrong; the FormFields sample says 6 (§3.1.1)
    **dict.fromkeys(YES_NO, 1),
    "ExpenseApproverEmployeeID": 48,
    "NewLoginID": 128,
    "NewEmployeeID": 48,
    "PmtMethodCode": 7,
}

# §3.1.1 "Server rule": spellings seen in Concur's material and clients.
ALIASES = {
    "loginid": "LoginId",
    "employeeid": "EmpId",
    "newloginid": "NewLoginID",
    "newempid": "NewEmployeeID",
    "newemployeeid": "NewEmployeeID",
    "mi": "Mi",
    "expenseuserapprover": "ExpenseApprover",
    "invoiceuserapprover": "InvoiceApprover",
}
_BY_KEY = {name.lower(): name for name in POST_FIELDS} | ALIASES

# §3.3: the 47 GET elements in the order of the SDK's JSON fixture; XML sorts them.
GET_FIELDS = (
    "LoginId",
    "EmpId",
    "LocaleName",
    "FirstName",
    "LastName",
    "Mi",
    "EmailAddress",
    "Active",
    *ORG_UNITS,
    *CUSTOMS,
    "LedgerName",
    "CtryCode",
    "CrnKey",
    "CtrySubCode",
    "ExpenseUser",
    "ExpenseApprover",
    "TripUser",
    "InvoiceUser",
    "InvoiceApprover",
    "ExpenseApproverEmployeeID",
    "IsTestEmp",
    "CashAdvanceAccountCode",
)


def get_field_names(currency_element: str = "CrnKey") -> tuple[str, ...]:
    """The GET elements in SDK order with the currency element(s) of the switch (§3.3).

    ``CrnKey`` (live API, default), ``CrnCode`` (the docs' name) or ``both``.
    """
    names: list[str] = []
    for name in GET_FIELDS:
        if name == "CrnKey" and currency_element in ("CrnCode", "both"):
            names.extend(("CrnKey", "CrnCode") if currency_element == "both" else ("CrnCode",))
        else:
            names.append(name)
    return tuple(names)


# §4.7, from [C15-ref]'s locale page: the codes LocaleName accepts.
LOCALES = frozenset(
    (  # noqa: SIM905
        "zh_CN zh_HK zh_TW nl_BE nl_NL en_AU en_CA en_IN en_IE en_NZ en_ZA en_GB en_US fr_BE "
        "fr_CA fr_FR fr_LU fr_CH de_AT de_DE de_LU de_CH hu_HU it_IT it_CH ja_JP pt_BR es_AR "
        "es_BO es_CL es_CO es_CR es_DO es_EC es_SV es_GT es_HN es_MX es_NI es_PA es_PY es_PE "
        "es_PR es_ES es_UY es_VE sv_SE"
    ).split()
)

# §6 PmtMethodCode ↔ spend reimbursementType (I).
PAYMENT_METHODS = {
    "CNQRPAY": "CONCUR_PAY",
    "APCHECK": "ACCOUNTS_PAYABLE",
    "ADPPAYR": "ADP_PAYROLL",
}


def canonical(name: str) -> str | None:
    """The canonical POST element for ``name`` (case-insensitive, aliases), or None."""
    return _BY_KEY.get(name.lower())
