"""Strict (Concur) validation: each rule of reference/concur-v4.md §6 and §9, and tolerance."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from concur_scim.scim.errors import InvalidValue, Mutability, ScimError
from concur_scim.scim.registry import (
    CORE_USER,
    ENTERPRISE_USER,
    ResourceSchema,
    downstream_schemas,
    user_schema,
)
from concur_scim.scim.validation import normalize_resource
from concur_scim.scim.violations import Findings

SPEND_USER = "urn:ietf:params:scim:schemas:extension:spend:2.0:User"
SPEND_ROLE = "urn:ietf:params:scim:schemas:extension:spend:2.0:Role"
SPEND_APPROVER = "urn:ietf:params:scim:schemas:extension:spend:2.0:Approver"
SPEND_DELEGATE = "urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate"
PAYROLL = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:Payroll"
TRAVEL = "urn:ietf:params:scim:schemas:extension:travel:2.0:User"
COMPANY = "6f4b3c5e-1111-4222-8333-944455556666"

_n = itertools.count(1)


def concur_user(**overrides: Any) -> dict[str, Any]:
    """A user that satisfies every strict rule; ``overrides`` replace top-level keys."""
    n = next(_n)
    body: dict[str, Any] = {
        "userName": f"user{n}@example.com",
        "active": True,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": f"user{n}@example.com", "type": "work"}],
        ENTERPRISE_USER: {"companyId": COMPANY},
    }
    body.update(overrides)
    return body


def with_enterprise(**attrs: Any) -> dict[str, Any]:
    """A valid user whose enterprise extension also has ``attrs``."""
    return concur_user(**{ENTERPRISE_USER: {"companyId": COMPANY, **attrs}})


def strict(body: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    return normalize_resource(body, user_schema(), strict=True, previous=previous)


def downstream(urn: str) -> ResourceSchema:
    """A resource whose core is one downstream extension, as the extension service builds it."""
    schema = downstream_schemas()[urn]
    return ResourceSchema(name=urn, endpoint="", core=schema, extensions=(), models=())


def extension(urn: str, body: dict[str, Any], previous: dict[str, Any] | None = None) -> Any:
    return normalize_resource(body, downstream(urn), strict=True, previous=previous)


def refused(body: dict[str, Any], path: str, error: type[ScimError] = InvalidValue) -> ScimError:
    """Assert that the strict validator refuses ``body`` naming ``path``; the error."""
    with pytest.raises(error) as caught:
        strict(body)
    assert f"'{path}'" in caught.value.detail, caught.value.detail
    return caught.value


def warned(body: dict[str, Any], path: str) -> dict[str, Any]:
    """Assert that the strict validator accepts ``body`` with a warning naming ``path``
    (a rule one of Concur's own examples contradicts: scim/rule_book.py); the document."""
    findings = Findings()
    doc = normalize_resource(body, user_schema(), strict=True, findings=findings)
    assert [f.detail for f in findings.errors] == []
    details = [f.detail for f in findings.warnings]
    assert any(f"'{path}'" in d for d in details), details
    assert all(m["type"] == "warning" for m in findings.warning_messages())
    return doc


def spend_user(**overrides: Any) -> dict[str, Any]:
    """A valid Spend User extension object."""
    return {"reimbursementCurrency": "USD", "country": "US", "locale": "en-US", **overrides}


# --- a valid user ------------------------------------------------------------------------------


def test_valid_user_passes_and_is_canonicalised() -> None:
    """A valid user is stored with Concur's canonical spellings of enums and codes."""
    doc = strict(
        concur_user(
            emails=[{"value": "a@b.c", "type": "Work"}, {"value": "h@b.c", "type": "HOME"}],
            timezone="america/new_york",
            preferredLanguage="EN-us",
            addresses=[{"type": "Billing", "country": "de", "locality": "Berlin"}],
            entitlements=["expense", {"value": "Travel"}],
        )
    )
    assert [e["type"] for e in doc["emails"]] == ["work", "home"]
    assert doc["timezone"] == "America/New_York"
    assert doc["preferredLanguage"] == "en-US"
    assert doc["addresses"] == [{"type": "billing", "country": "DE", "locality": "Berlin"}]
    assert doc["entitlements"] == [{"value": "Expense"}, {"value": "Travel"}]
    assert doc[ENTERPRISE_USER] == {"companyId": COMPANY}


def test_a_regional_variant_of_a_listed_language_is_accepted() -> None:
    """preferredLanguage de-CH passes: its language (de) is one of Concur's (§6.1)."""
    assert strict(concur_user(preferredLanguage="de-CH"))["preferredLanguage"] == "de-CH"


# --- required on create ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda b: b.pop("userName"), "userName"),
        (lambda b: b.pop("active"), "active"),
        (lambda b: b.pop("name"), "name"),
        (lambda b: b["name"].pop("givenName"), "name.givenName"),
        (lambda b: b["name"].pop("familyName"), "name.familyName"),
        (lambda b: b.pop("emails"), "emails"),
        (lambda b: b["emails"][0].pop("type"), "emails[0].type"),
        (lambda b: b["emails"][0].pop("value"), "emails[0].value"),
        (lambda b: b.pop(ENTERPRISE_USER), f"{ENTERPRISE_USER}:companyId"),
    ],
)
def test_required_attributes_are_enforced(change: Any, path: str) -> None:
    """Each attribute Concur requires on create is refused when missing, naming its path."""
    body = concur_user()
    change(body)
    refused(body, path)


def test_required_error_carries_a_concur_message() -> None:
    """A violation carries one Concur message with code, qualified schemaPath and type."""
    body = concur_user(name={"familyName": "Lovelace"})
    error = refused(body, "name.givenName")
    assert error.messages == [
        {
            "code": "INVALID_VALUE",
            "message": "'name.givenName' is required",
            "schemaPath": f"{CORE_USER}:name.givenName",
            "type": "error",
        }
    ]


def test_emergency_contact_needs_a_name_and_warns_without_relationship() -> None:
    """A present emergency contact must carry a name (§6.1); without a relationship it is
    kept with a warning, as Concur's own User Provisioning example sends one."""
    refused(
        concur_user(emergencyContacts=[{"relationship": "Spouse"}]), "emergencyContacts[0].name"
    )
    doc = warned(
        concur_user(emergencyContacts=[{"name": "Bob"}]), "emergencyContacts[0].relationship"
    )
    assert doc["emergencyContacts"] == [{"name": "Bob"}]


# --- lengths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (concur_user(name={"givenName": "G" * 33, "familyName": "F"}), "name.givenName"),
        (concur_user(name={"givenName": "G", "familyName": "F" * 33}), "name.familyName"),
        (
            concur_user(name={"givenName": "G", "familyName": "F", "middleInitial": "AB"}),
            "name.middleInitial",
        ),
        (concur_user(displayName="d" * 61), "displayName"),
        (concur_user(title="t" * 256), "title"),
        (concur_user(emails=[{"value": "e" * 256, "type": "work"}]), "emails[0].value"),
        (
            concur_user(addresses=[{"type": "work", "postalCode": "1" * 21}]),
            "addresses[0].postalCode",
        ),
        (with_enterprise(costCenter="c" * 26), f"{ENTERPRISE_USER}:costCenter"),
        (with_enterprise(employeeNumber="e" * 49), f"{ENTERPRISE_USER}:employeeNumber"),
        (
            concur_user(
                **{"urn:ietf:params:scim:schemas:extension:sap:2.0:User": {"userUuid": "u" * 37}}
            ),
            "urn:ietf:params:scim:schemas:extension:sap:2.0:User:userUuid",
        ),
    ],
)
def test_max_lengths_are_enforced(body: dict[str, Any], path: str) -> None:
    """A value longer than its maxLength is refused with Concur's Size message (§6.5)."""
    error = refused(body, path)
    schema_path = path if path.startswith("urn:") else f"{CORE_USER}:{path}"
    assert error.messages[0]["message"] == f"Invalid '{schema_path}' Size"


def test_values_at_the_limit_pass() -> None:
    """Values exactly at their maxLength are accepted."""
    strict(concur_user(name={"givenName": "G" * 32, "familyName": "F" * 32}, title="t" * 255))


def test_at_most_one_emergency_contact() -> None:
    """A second emergency contact is refused (§9.14)."""
    contact = {"name": "Bob", "relationship": "Brother"}
    refused(concur_user(emergencyContacts=[contact, contact]), "emergencyContacts")


def test_exact_lengths_of_spend_codes() -> None:
    """reimbursementCurrency must be exactly 3 characters, stateProvince exactly 2 (§6.5)."""
    with pytest.raises(InvalidValue, match="reimbursementCurrency") as caught:
        extension(SPEND_USER, spend_user(reimbursementCurrency="US"))
    assert (
        caught.value.messages[0]["message"] == f"Invalid '{SPEND_USER}:reimbursementCurrency' Size"
    )
    with pytest.raises(InvalidValue, match="stateProvince"):
        extension(SPEND_USER, spend_user(stateProvince="WAS"))
    assert extension(SPEND_USER, spend_user(stateProvince="WA"))["stateProvince"] == "WA"


# --- enums and code lists ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (concur_user(emails=[{"value": "a@b.c", "type": "business"}]), "emails[0].type"),
        (concur_user(phoneNumbers=[{"value": "1", "type": "car"}]), "phoneNumbers[0].type"),
        (concur_user(addresses=[{"type": "mailing"}]), "addresses[0].type"),
        (
            concur_user(name={"givenName": "G", "familyName": "F", "academicTitle": "Sir"}),
            "name.academicTitle",
        ),
        (
            concur_user(emergencyContacts=[{"name": "B", "relationship": "Cousin"}]),
            "emergencyContacts[0].relationship",
        ),
        (concur_user(entitlements=["Expenses"]), "entitlements[0].value"),
        (
            with_enterprise(
                leavesOfAbsence=[
                    {"startDate": "2020-01-01", "endDate": "2020-02-01", "type": "paid"}
                ]
            ),
            f"{ENTERPRISE_USER}:leavesOfAbsence[0].type",
        ),
        (
            concur_user(
                **{"urn:ietf:params:scim:schemas:extension:settings:2.0:User": {"theme": "Dark"}}
            ),
            "urn:ietf:params:scim:schemas:extension:settings:2.0:User:theme",
        ),
    ],
)
def test_values_outside_closed_lists_are_refused(body: dict[str, Any], path: str) -> None:
    """A value that is none of the canonical values is refused, naming the path."""
    error = refused(body, path)
    assert "must be one of" in error.detail


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (concur_user(timezone="Mars/Olympus"), "timezone"),
        (concur_user(preferredLanguage="en-AU"), "preferredLanguage"),
        (concur_user(preferredLanguage="klingon"), "preferredLanguage"),
        (concur_user(locale="not a tag"), "locale"),
        (concur_user(addresses=[{"type": "work", "country": "ZZ"}]), "addresses[0].country"),
        (
            concur_user(
                phoneNumbers=[
                    {"value": "1", "type": "mobile", "primary": True, "issuingCountry": "XX"}
                ]
            ),
            "phoneNumbers[0].issuingCountry",
        ),
    ],
)
def test_code_lists_are_enforced(body: dict[str, Any], path: str) -> None:
    """Time zones, languages, language tags and countries must come from their lists."""
    refused(body, path)


def test_spend_currency_and_country_come_from_iso_lists() -> None:
    """Spend reimbursementCurrency is ISO 4217, country ISO 3166-1; stored upper-case."""
    with pytest.raises(InvalidValue, match="ISO 4217"):
        extension(SPEND_USER, spend_user(reimbursementCurrency="XXY"))
    with pytest.raises(InvalidValue, match="ISO 3166"):
        extension(SPEND_USER, spend_user(country="QQ"))
    doc = extension(
        SPEND_USER, spend_user(reimbursementCurrency="eur", country="fr", locale="es-419")
    )
    assert (doc["reimbursementCurrency"], doc["country"], doc["locale"]) == ("EUR", "FR", "es-419")


def test_spend_user_requires_currency_country_and_locale() -> None:
    """The Spend User extension requires reimbursementCurrency, country and locale (§6.5)."""
    for name in ("reimbursementCurrency", "country", "locale"):
        body = spend_user()
        body.pop(name)
        with pytest.raises(InvalidValue, match=f"{SPEND_USER}:{name}"):
            extension(SPEND_USER, body)


# --- dates -------------------------------------------------------------------------------------


def test_dates_are_stored_as_yyyy_mm_dd() -> None:
    """dateOfBirth accepts a date or a midnight date-time and stores YYYY-MM-DD (§6.1)."""
    assert strict(concur_user(dateOfBirth="1980-02-29"))["dateOfBirth"] == "1980-02-29"
    assert strict(concur_user(dateOfBirth="2018-01-01T00:00:00.000"))["dateOfBirth"] == "2018-01-01"
    refused(concur_user(dateOfBirth="01/02/2018"), "dateOfBirth")
    refused(concur_user(dateOfBirth="1981-02-29"), "dateOfBirth")


def test_date_times_are_checked_for_format_and_range() -> None:
    """startDate parses leniently, is stored as RFC 3339 UTC and must lie in 1900-2079."""
    doc = strict(
        with_enterprise(
            startDate="2021-11-17T00:00:00.000", terminationDate="2022-12-11T19:28:30.45Z"
        )
    )
    assert doc[ENTERPRISE_USER]["startDate"] == "2021-11-17T00:00:00.000Z"
    assert doc[ENTERPRISE_USER]["terminationDate"] == "2022-12-11T19:28:30.450Z"
    refused(with_enterprise(startDate="1899-12-31T00:00:00Z"), f"{ENTERPRISE_USER}:startDate")
    refused(
        with_enterprise(terminationDate="2079-06-07T00:00:00Z"),
        f"{ENTERPRISE_USER}:terminationDate",
    )
    refused(with_enterprise(startDate="yesterday"), f"{ENTERPRISE_USER}:startDate")


# --- one per type, mobiles ---------------------------------------------------------------------


def test_one_email_and_one_address_per_type() -> None:
    """Two emails or two addresses of one type are refused, whatever the case (§9.14)."""
    emails = [{"value": "a@b.c", "type": "work"}, {"value": "d@b.c", "type": "WORK"}]
    refused(concur_user(emails=emails), "emails[1].type")
    refused(concur_user(addresses=[{"type": "home"}, {"type": "home"}]), "addresses[1].type")


def test_one_phone_per_type_except_mobiles() -> None:
    """Phones are one per type, but several mobiles are allowed when one is primary (§6.1)."""
    refused(
        concur_user(phoneNumbers=[{"value": "1", "type": "work"}, {"value": "2", "type": "work"}]),
        "phoneNumbers[1].type",
    )
    mobiles = [
        {"value": "1", "type": "mobile", "primary": True},
        {"value": "2", "type": "mobile"},
    ]
    assert len(strict(concur_user(phoneNumbers=mobiles))["phoneNumbers"]) == 2


def test_exactly_one_primary_mobile() -> None:
    """With several mobiles exactly one is primary; a lone mobile becomes primary (§6.1)."""
    two = [{"value": "1", "type": "mobile"}, {"value": "2", "type": "mobile"}]
    refused(concur_user(phoneNumbers=two), "phoneNumbers")
    lone = strict(concur_user(phoneNumbers=[{"value": "1", "type": "mobile"}]))
    assert lone["phoneNumbers"] == [{"value": "1", "type": "mobile", "primary": True}]
    refused(
        concur_user(phoneNumbers=[{"value": "1", "type": "mobile", "primary": False}]),
        "phoneNumbers",
    )


def test_type_bound_phone_sub_attributes() -> None:
    """primary/notifications/issuingCountry belong to mobiles (a warning: Concur's own
    example sends a primary Work number), workExtension to work phones (refused)."""
    warned(
        concur_user(phoneNumbers=[{"value": "1", "type": "work", "primary": True}]),
        "phoneNumbers[0].primary",
    )
    warned(
        concur_user(phoneNumbers=[{"value": "1", "type": "home", "issuingCountry": "US"}]),
        "phoneNumbers[0].issuingCountry",
    )
    refused(
        concur_user(phoneNumbers=[{"value": "1", "type": "home", "workExtension": "12"}]),
        "phoneNumbers[0].workExtension",
    )
    ok = strict(concur_user(phoneNumbers=[{"value": "1", "type": "work", "workExtension": "12"}]))
    assert ok["phoneNumbers"][0]["workExtension"] == "12"


# --- leaves of absence -------------------------------------------------------------------------


def leaves(*spans: tuple[str, str | None]) -> dict[str, Any]:
    return with_enterprise(leavesOfAbsence=[{"startDate": s, "endDate": e} for s, e in spans])


def test_valid_leaves_of_absence_pass() -> None:
    """Disjoint leaves, the latest one open-ended, are accepted (leave-of-absence guide)."""
    doc = strict(
        leaves(("2022-09-13", "2022-10-13"), ("2023-07-01", None), ("2017-03-01", "2017-06-15"))
    )
    assert len(doc[ENTERPRISE_USER]["leavesOfAbsence"]) == 3


@pytest.mark.parametrize(
    ("spans", "path"),
    [
        ([("2022-10-13", "2022-09-13")], "leavesOfAbsence[0].endDate"),
        ([("2022-09-13", "2022-09-13")], "leavesOfAbsence[0].endDate"),
        ([("2022-01-01", "2022-03-01"), ("2022-02-01", "2022-04-01")], "leavesOfAbsence[1]"),
        ([("2022-01-01", "2022-03-01"), ("2022-03-01", "2022-04-01")], "leavesOfAbsence[1]"),
        ([("2022-01-01", None), ("2023-01-01", "2023-02-01")], "leavesOfAbsence[0].endDate"),
    ],
)
def test_leave_of_absence_rules(spans: list[tuple[str, str | None]], path: str) -> None:
    """startDate before endDate, no overlaps, past leaves have an endDate (§6.2)."""
    refused(leaves(*spans), f"{ENTERPRISE_USER}:{path}")


def test_at_most_100_leaves() -> None:
    """More than 100 leaves of absence are refused (§6.2)."""
    spans = [(f"{1900 + i}-01-01", f"{1900 + i}-01-02") for i in range(101)]
    refused(leaves(*spans), f"{ENTERPRISE_USER}:leavesOfAbsence")


def test_leave_needs_a_start_date() -> None:
    """A leave without startDate is refused."""
    refused(
        with_enterprise(leavesOfAbsence=[{"endDate": "2020-01-01"}]),
        f"{ENTERPRISE_USER}:leavesOfAbsence[0].startDate",
    )


# --- userName ----------------------------------------------------------------------------------


@pytest.mark.parametrize("char", list("%[#!*&()~'{^}\\/?><,;:\"+=]|"))
def test_user_name_forbidden_characters(char: str) -> None:
    """Each character Concur forbids in a userName is refused (§6.1)."""
    refused(concur_user(userName=f"a{char}b@example.com"), "userName")


@pytest.mark.parametrize("name", ["not-an-email", "@example.com", "user@", " @ "])
def test_user_name_must_be_user_at_domain(name: str) -> None:
    """Concur's userName has the form user@domain (§6.1)."""
    refused(concur_user(userName=name), "userName")


def test_user_name_user_at_domain_is_accepted() -> None:
    """A plain user@domain login passes."""
    assert (
        strict(concur_user(userName="jane.doe@example.com"))["userName"] == "jane.doe@example.com"
    )


# --- mutability --------------------------------------------------------------------------------


def test_company_id_is_immutable() -> None:
    """A different companyId than the stored one is refused with mutability (§9.16)."""
    previous = strict(concur_user())
    body = concur_user(**{ENTERPRISE_USER: {"companyId": "another-company"}})
    with pytest.raises(Mutability, match="companyId") as caught:
        strict(body, previous)
    assert caught.value.messages[0]["schemaPath"] == f"{ENTERPRISE_USER}:companyId"
    same = concur_user(**{ENTERPRISE_USER: {"companyId": COMPANY.upper()}})
    assert strict(same, previous)[ENTERPRISE_USER]["companyId"] == COMPANY.upper()


def test_company_id_left_out_of_a_replacement_is_kept() -> None:
    """A replacement that leaves companyId out keeps the stored one."""
    previous = strict(concur_user())
    body = concur_user()
    del body[ENTERPRISE_USER]
    assert strict(body, previous)[ENTERPRISE_USER] == {"companyId": COMPANY}


def test_email_verified_is_ignored() -> None:
    """emails.verified is silently dropped: readOnly without a scope we do not model (§9.15)."""
    body = concur_user(emails=[{"value": "a@b.c", "type": "work", "verified": True}])
    assert strict(body)["emails"] == [{"value": "a@b.c", "type": "work"}]
    assert normalize_resource(body, user_schema())["emails"] == [{"value": "a@b.c", "type": "work"}]


def test_read_only_attributes_are_dropped() -> None:
    """localeOverrides and organization are server-set: a client's copy is ignored."""
    body = concur_user(localeOverrides={"preferenceDistance": "km"})
    body[ENTERPRISE_USER] = {"companyId": COMPANY, "organization": "ACME"}
    doc = strict(body)
    assert "localeOverrides" not in doc
    assert doc[ENTERPRISE_USER] == {"companyId": COMPANY}


def test_test_employee_is_settable_at_creation_only() -> None:
    """testEmployee is kept from creation; a later change is not applied (§9.17)."""
    created = extension(SPEND_USER, spend_user(testEmployee=True))
    assert created["testEmployee"] is True
    changed = extension(SPEND_USER, spend_user(testEmployee=False), previous=created)
    assert changed["testEmployee"] is True
    unset = extension(SPEND_USER, spend_user())
    assert "testEmployee" not in extension(
        SPEND_USER, spend_user(testEmployee=True), previous=unset
    )


# --- spend, payroll, travel --------------------------------------------------------------------


def test_only_report_and_request_approvers_may_be_non_primary() -> None:
    """primary:false is accepted for report approvers; for invoice ones it is kept with a
    warning (§6.7; Concur's own example sends a non-primary budget approver)."""
    approver = {"approver": {"employeeNumber": "E1"}, "primary": False}
    assert extension(SPEND_APPROVER, {"report": [approver]})["report"] == [approver]
    findings = Findings()
    resource = downstream(SPEND_APPROVER)
    doc = normalize_resource({"invoice": [approver]}, resource, strict=True, findings=findings)
    assert doc["invoice"] == [approver]
    [warning] = findings.warning_messages()
    assert warning["schemaPath"] == f"{SPEND_APPROVER}:invoice[0].primary"


def test_approver_needs_an_id_or_an_employee_number() -> None:
    """An approver reference needs value or employeeNumber; primary is required (§6.7)."""
    with pytest.raises(InvalidValue, match=r"report\[0\]\.approver"):
        extension(SPEND_APPROVER, {"report": [{"approver": {"$ref": "x"}, "primary": True}]})
    with pytest.raises(InvalidValue, match=r"report\[0\]\.primary"):
        extension(SPEND_APPROVER, {"report": [{"approver": {"value": "u1"}}]})


def test_role_codes_and_their_rules() -> None:
    """Roles must be known codes; entitlement-bound, group and exclusivity rules apply (§6.6)."""
    doc = extension(
        SPEND_ROLE, {"roles": [{"roleName": "exp_processor", "roleGroups": ["R&D-QA"]}]}
    )
    assert doc["roles"] == [{"roleName": "EXP_PROCESSOR", "roleGroups": ["R&D-QA"]}]
    cases = [
        ([{"roleName": "NOT_A_ROLE"}], "roles[0].roleName"),
        ([{"roleName": "EXP_USER"}], "roles[0].roleName"),
        ([{"roleName": "EXP_APPROVER", "roleGroups": ["G"]}], "roles[0].roleGroups"),
        ([{"roleName": "SHD_TAX_ADMIN"}, {"roleName": "SHD_TAX_ADMIN_RO"}], "roles[1]"),
        ([{"roleName": "REPORTING_DASHBOARD_USER"}], "roles[0].roleName"),
    ]
    for roles, path in cases:
        with pytest.raises(InvalidValue) as caught:
            extension(SPEND_ROLE, {"roles": roles})
        assert f"{SPEND_ROLE}:{path}'" in caught.value.detail, (roles, caught.value.detail)


def test_delegate_reads_the_misspelt_key() -> None:
    """temporaryDelegatation (Concur's typo) is read and stored as temporaryDelegation (§9.22)."""
    period = {"temporaryDelegationFromDate": "2020-09-20T22:35:36.532Z"}
    body = {"expense": [{"delegate": {"value": "u1"}, "temporaryDelegatation": period}]}
    doc = extension(SPEND_DELEGATE, body)
    assert doc["expense"][0]["temporaryDelegation"] == period


def test_payroll_requires_every_adp_field() -> None:
    """Each ADP field is required when the Payroll extension is sent (§6.13)."""
    adp = {"companyCode": "C", "deductionCode": "D", "employeeFileNumber": "F"}
    assert extension(PAYROLL, {"adp": adp}) == {"adp": adp}
    with pytest.raises(InvalidValue, match=r"adp\.deductionCode"):
        extension(PAYROLL, {"adp": {"companyCode": "C", "employeeFileNumber": "F"}})


def test_travel_rule_class_by_id_or_name() -> None:
    """ruleClass is required and needs an id or a name (§6.14)."""
    assert extension(TRAVEL, {"ruleClass": {"name": "Default Travel Class"}})
    with pytest.raises(InvalidValue, match="ruleClass"):
        extension(TRAVEL, {"travelCrsName": "X"})
    with pytest.raises(InvalidValue, match="ruleClass"):
        extension(TRAVEL, {"ruleClass": {}, "gender": "Female"})


# --- the generic dialect stays tolerant --------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"userName": "only@example.com"},
        concur_user(
            emails=[{"value": "a@b.c", "type": "business"}, {"value": "b@b.c", "type": "business"}]
        ),
        concur_user(name={"givenName": "G" * 100, "familyName": "F"}),
        concur_user(userName="a+b@example.com"),
        with_enterprise(leavesOfAbsence=[{"startDate": "2020-01-01"}, {"startDate": "2020-01-01"}]),
        concur_user(
            phoneNumbers=[{"value": "1", "type": "mobile"}, {"value": "2", "type": "mobile"}]
        ),
    ],
)
def test_generic_mode_checks_types_only(body: dict[str, Any]) -> None:
    """Without strict, Concur's lengths, lists and cross-value rules are not applied and
    values are kept as sent."""
    sent = copy.deepcopy(body)
    doc = normalize_resource(body, user_schema())
    assert doc["userName"] == sent["userName"]
    for key in ("emails", "phoneNumbers", "timezone", "dateOfBirth"):
        assert doc.get(key) == sent.get(key)


def test_generic_mode_refuses_what_no_concur_dialect_could_serve() -> None:
    """Without strict, dates, date ranges and code lists are still checked (so every
    Concur dialect can serve what /scim/v2 stores), every finding at once."""
    body = with_enterprise(startDate="not a date", leavesOfAbsence=[{"startDate": "not-a-date"}])
    body.update(timezone="Mars/Olympus", dateOfBirth="soon")
    with pytest.raises(InvalidValue) as caught:
        normalize_resource(body, user_schema())
    paths = [m["schemaPath"] for m in caught.value.messages]
    assert paths == [
        f"{CORE_USER}:timezone",
        f"{CORE_USER}:dateOfBirth",
        f"{ENTERPRISE_USER}:startDate",
        f"{ENTERPRISE_USER}:leavesOfAbsence[0].startDate",
    ], paths


def test_every_violation_is_reported_with_its_path() -> None:
    """The strict validator reports all violations of a request, not the first one."""
    body = concur_user(
        name={"givenName": "G" * 40, "familyName": "F" * 40},
        emails=[{"value": "a@b.c", "type": "work"}, {"value": "d@e.f", "type": "work"}],
        timezone="Mars/Olympus",
    )
    with pytest.raises(InvalidValue) as caught:
        strict(body)
    paths = {m["schemaPath"] for m in caught.value.messages}
    assert {
        f"{CORE_USER}:name.givenName",
        f"{CORE_USER}:name.familyName",
        f"{CORE_USER}:emails[1].type",
        f"{CORE_USER}:timezone",
    } <= paths, paths
    assert all(m["type"] == "error" for m in caught.value.messages)
    assert caught.value.detail.count("; ") >= 3


def test_generic_mode_ignores_previous() -> None:
    """Without strict, a changed companyId in a replacement is not a mutability error."""
    previous = normalize_resource(concur_user(), user_schema())
    body = concur_user(**{ENTERPRISE_USER: {"companyId": "other"}})
    assert normalize_resource(body, user_schema(), previous=previous)[ENTERPRISE_USER] == {
        "companyId": "other"
    }


def test_bare_entitlements_are_accepted_in_both_modes() -> None:
    """["Expense"] and [{"value": "Expense"}] are stored alike, in either mode."""
    for body in (
        concur_user(entitlements=["Expense"]),
        concur_user(entitlements=[{"value": "Expense"}]),
    ):
        assert normalize_resource(body, user_schema())["entitlements"] == [{"value": "Expense"}]
        assert strict(body)["entitlements"] == [{"value": "Expense"}]


def test_errors_have_no_messages_by_default() -> None:
    """ScimError.messages defaults to empty and the RFC error body is unchanged."""
    error = InvalidValue("bad")
    assert error.messages == []
    assert error.to_body() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "400",
        "scimType": "invalidValue",
        "detail": "bad",
    }


def test_type_errors_are_reported_at_their_own_path_beside_the_other_findings() -> None:
    """A wrong type inside an object or a list is reported at its own path and the rest
    of the request is still checked (a size error beside it is reported too)."""
    body = concur_user(
        name={"givenName": "G" * 40, "familyName": ["B"]},
        emails=[{"value": True, "type": "work"}],
        title={"a": 1},
    )
    with pytest.raises(InvalidValue) as caught:
        strict(body)
    paths = [m["schemaPath"] for m in caught.value.messages]
    for expected in ("name.familyName", "emails[0].value", "title", "name.givenName"):
        assert f"{CORE_USER}:{expected}" in paths, paths
    assert f"{CORE_USER}:name" not in paths
