"""The pure User v1.0 parts: hardened parsing, record checks, key matching, mapping."""

from __future__ import annotations

import pytest

from concur_scim.scim.user_v1 import mapping
from concur_scim.scim.user_v1.checks import RecordError, check_record
from concur_scim.scim.user_v1.fields import NAMESPACE, canonical
from concur_scim.scim.user_v1.keys import resolve_target
from concur_scim.scim.user_v1.xml_in import (
    RequestRejected,
    parse_batch,
    parse_password_batch,
)
from concur_scim.scim.user_v1.xml_out import RecordOutcome, batch_result

BASE = {"EmpId": "E1", "FeedRecordNumber": "1", "LoginId": "a@x.com", "Password": ""}


def test_aliases_are_case_insensitive() -> None:
    """The §3.1.1 aliases and any casing map to the canonical element names."""
    assert canonical("LOGINID") == "LoginId"
    assert canonical("EmployeeId") == "EmpId"
    assert canonical("NewEmpId") == "NewEmployeeID"
    assert canonical("mi") == "Mi"
    assert canonical("InvoiceUserApprover") == "InvoiceApprover"
    assert canonical("LedgerName") is None


def test_billion_laughs_is_rejected() -> None:
    """An internal entity declaration is refused before expansion."""
    body = (
        b'<!DOCTYPE batch [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<batch xmlns="' + NAMESPACE.encode() + b'"><UserProfile><EmpId>&b;</EmpId>'
        b"</UserProfile></batch>"
    )
    with pytest.raises(RequestRejected, match="The Request XML is invalid"):
        parse_batch(body, max_records=500)


def test_parse_batch_keeps_document_order_and_namespaces() -> None:
    """Records come back in order; https and unqualified namespaces are accepted."""
    for ns in (NAMESPACE, NAMESPACE.replace("http:", "https:"), ""):
        xmlns = f' xmlns="{ns}"' if ns else ""
        body = (
            f"<batch{xmlns}><UserProfile><EmpId> 1 </EmpId><Foo>x</Foo></UserProfile>"
            f"<!-- c --><UserProfile><EmpId>2</EmpId></UserProfile></batch>"
        ).encode()
        records = parse_batch(body, max_records=500)
        assert [r.values["EmpId"] for r in records] == ["1", "2"]
        assert records[0].unknown == ("Foo",)


def test_record_limit() -> None:
    """More records than the limit is ``Maximum User Records per Batch Exceeded``."""
    body = b"<batch>" + b"<UserProfile/>" * 3 + b"</batch>"
    with pytest.raises(RequestRejected, match="Maximum User Records"):
        parse_batch(body, max_records=2)


def test_password_batch_parsing() -> None:
    """``UserBatch`` / ``User`` / ``LoginID``, ``Password`` pairs are read in order."""
    body = f'<UserBatch xmlns="{NAMESPACE}"><User><LoginID>a@x</LoginID></User></UserBatch>'
    assert parse_password_batch(body.encode(), max_records=500) == [("a@x", "")]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"EmpId": ""}, "Missing Required Field: EmpId"),
        ({"Active": "maybe"}, "Invalid Input: Active"),
        ({"CtryCode": "USA"}, "Invalid Input: CtryCode"),
        ({"CrnKey": "US"}, "Invalid Input: CrnKey"),
        ({"LocaleName": "xx_XX"}, "Invalid Input: LocaleName"),
        ({"Mi": "AB"}, "Invalid Input: Mi"),
        ({"NewLoginID": "nobody"}, "Invalid Input: NewLoginID"),
    ],
)
def test_check_record_reports_the_first_problem(extra: dict[str, str], message: str) -> None:
    """Each bad value yields Concur's message for its element."""
    with pytest.raises(RecordError) as caught:
        check_record({**BASE, **extra})
    assert caught.value.message == message


def test_check_record_normalises() -> None:
    """Y/N accepts booleans, locales and codes get Concur's casing."""
    checked = check_record({**BASE, "Active": "true", "LocaleName": "en-us", "CrnKey": "usd"})
    assert (checked["Active"], checked["LocaleName"], checked["CrnKey"]) == ("Y", "en_US", "USD")


def test_password_element_must_be_present() -> None:
    """A missing Password element fails; an empty one is fine (§4.4)."""
    with pytest.raises(RecordError, match="Password"):
        check_record({k: v for k, v in BASE.items() if k != "Password"})


def test_key_modes() -> None:
    """Legacy matches on either key; strict needs both to name the same user."""
    assert resolve_target(None, None, "legacy") is None
    assert resolve_target("u1", None, "legacy") == "u1"
    assert resolve_target(None, "u2", "legacy") == "u2"
    assert resolve_target("u1", "u1", "strict") == "u1"
    with pytest.raises(RecordError, match="LoginId"):
        resolve_target("u1", None, "strict")
    with pytest.raises(RecordError, match="EmpId"):
        resolve_target(None, "u2", "strict")
    with pytest.raises(RecordError, match="LoginId"):
        resolve_target("u1", "u2", "legacy")


def test_identity_doc_keeps_omitted_and_clears_empty() -> None:
    """Omitted elements leave attributes alone; an empty one clears; N removes entitlements."""
    previous = {
        "userName": "a@x.com",
        "name": {"givenName": "A", "familyName": "B"},
        "entitlements": [{"value": "Expense"}, {"value": "Request"}],
        "emails": [{"value": "home@x.com", "type": "home", "primary": True}],
    }
    values = {**BASE, "FirstName": "", "ExpenseUser": "N", "EmailAddress": "w@x.com"}
    doc = mapping.identity_doc(values, previous)
    assert doc["name"] == {"familyName": "B"}
    assert doc["entitlements"] == [{"value": "Request"}]
    assert doc["emails"][1] == {"value": "w@x.com", "type": "work", "primary": False}


def test_spend_doc_conversions() -> None:
    """Locale, state and payment method convert; testEmployee is set at creation only."""
    values = {"LocaleName": "fr_CA", "CtrySubCode": "CA-QC", "PmtMethodCode": "APCHECK"}
    doc = mapping.spend_user_doc({**values, "IsTestEmp": "Y"}, {"testEmployee": False})
    assert doc == {
        "locale": "fr-CA",
        "stateProvince": "QC",
        "reimbursementType": "ACCOUNTS_PAYABLE",
        "testEmployee": False,
    }
    assert mapping.spend_user_doc({"FirstName": "x"}, None) is None


def test_batch_result_empty_lists() -> None:
    """With no success the details element is present and empty."""
    body = batch_result([RecordOutcome("E", "1", "Unknown Error")], "UserDetails").decode()
    assert "<UserDetails/>" in body
    assert "<records-succeeded>0</records-succeeded><records-failed>1</records-failed>" in body
