"""The Concur schema models: published metadata (/Schemas) and the attribute definitions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from scim2_models import Schema

from concur_scim.scim import codes
from concur_scim.scim.registry import (
    CORE_USER,
    ENTERPRISE_USER,
    AttributeDef,
    SchemaDef,
    downstream_schemas,
    group_schema,
    schema_document,
    schema_documents,
    schema_model,
    user_schema,
)
from concur_scim.scim.schemas import DOWNSTREAM_MODELS, IDENTITY_MODELS, role_codes, urn_of
from concur_scim.scim.schemas.core import User

SAP = "urn:ietf:params:scim:schemas:extension:sap:2.0:User"
SETTINGS = "urn:ietf:params:scim:schemas:extension:settings:2.0:User"
TRAVELPERK = "urn:ietf:params:scim:schemas:extension:travelperk:2.0:User"
SPEND_USER = "urn:ietf:params:scim:schemas:extension:spend:2.0:User"
SPEND_ROLE = "urn:ietf:params:scim:schemas:extension:spend:2.0:Role"
SPEND_DELEGATE = "urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate"
TRAVEL = "urn:ietf:params:scim:schemas:extension:travel:2.0:User"
ALL_MODELS = IDENTITY_MODELS + DOWNSTREAM_MODELS


def published(urn: str, path: str, *, concur: bool = True) -> dict[str, Any]:
    """The published attribute at dotted ``path`` of schema ``urn``."""
    attrs = schema_documents([urn], concur=concur)[0]["attributes"]
    found: dict[str, Any] = {}
    for name in path.split("."):
        found = next(a for a in attrs if a["name"] == name)
        attrs = found.get("subAttributes", [])
    return found


def walk(attrs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every attribute and sub-attribute of a published schema."""
    out: list[dict[str, Any]] = []
    for attr in attrs:
        out.append(attr)
        out += walk(attr.get("subAttributes", []))
    return out


@pytest.mark.parametrize(
    ("path", "max_length"),
    [
        ("name.givenName", 32),
        ("name.familyName", 32),
        ("name.middleName", 60),
        ("name.middleInitial", 1),
        ("name.familyNamePrefix", 28),
        ("name.honorificPrefix", 60),
        ("name.honorificSuffix", 60),
        ("displayName", 60),
        ("nickName", 60),
        ("title", 255),
        ("emails.value", 255),
        ("addresses.locality", 30),
        ("addresses.region", 30),
        ("addresses.postalCode", 20),
        ("emergencyContacts", 1),
        ("emergencyContacts.name", 255),
        ("emergencyContacts.locality", 30),
        ("emergencyContacts.postalCode", 20),
    ],
)
def test_core_user_publishes_concur_max_lengths(path: str, max_length: int) -> None:
    """The Concur view of the core User carries Concur's maxLength for each attribute (§6.1)."""
    assert published(CORE_USER, path)["maxLength"] == max_length


@pytest.mark.parametrize(
    ("urn", "path", "values"),
    [
        (CORE_USER, "emails.type", ["work", "home", "work2", "other", "other2"]),
        (
            CORE_USER,
            "phoneNumbers.type",
            ["work", "home", "mobile", "fax", "pager", "other", "work2"],
        ),
        (CORE_USER, "addresses.type", ["work", "home", "other", "billing", "bank", "shipping"]),
        (
            CORE_USER,
            "emergencyContacts.relationship",
            ["Spouse", "Brother", "Parent", "Sister", "Life Partner", "Other"],
        ),
        (
            CORE_USER,
            "entitlements.value",
            ["Expense", "Invoice", "Request", "Travel", "Locate", "Analytics", "Unified Analytics"],
        ),
        (CORE_USER, "localeOverrides.preferenceDistance", ["mile", "km"]),
        (ENTERPRISE_USER, "leavesOfAbsence.type", ["voluntary", "mandatory"]),
        (SAP, "contactPreferences.emailFormat", ["HTTP", "plain"]),
        (TRAVEL, "gender", ["Female", "Male"]),
    ],
)
def test_canonical_values_come_from_the_model_enums(urn: str, path: str, values: list[str]) -> None:
    """canonicalValues are the enum members declared on the model, in Concur's order."""
    assert published(urn, path)["canonicalValues"] == values


def test_academic_title_and_theme_are_closed_lists() -> None:
    """name.academicTitle and the settings theme publish Concur's value lists (§6.1, §6.4)."""
    assert "Prof. Dr." in published(CORE_USER, "name.academicTitle")["canonicalValues"]
    assert len(published(SETTINGS, "theme")["canonicalValues"]) == 9


def test_uniqueness_and_mutability_follow_concur() -> None:
    """userName is global, employeeNumber/externalId server-unique, companyId immutable (§6)."""
    assert published(CORE_USER, "userName")["uniqueness"] == "global"
    assert published(CORE_USER, "externalId")["uniqueness"] == "server"
    assert published(ENTERPRISE_USER, "employeeNumber")["uniqueness"] == "server"
    assert published(ENTERPRISE_USER, "employeeNumber")["maxLength"] == 48
    assert published(ENTERPRISE_USER, "companyId")["mutability"] == "immutable"
    assert published(ENTERPRISE_USER, "organization")["mutability"] == "readOnly"
    assert published(CORE_USER, "localeOverrides")["mutability"] == "readOnly"
    assert published(CORE_USER, "emails.verified")["mutability"] == "readOnly"


def test_concur_view_publishes_required_on_create() -> None:
    """The Concur view marks Concur's required attributes, the sub-attributes included (§6.1)."""
    for path in ("userName", "active", "name", "name.givenName", "name.familyName", "emails"):
        assert published(CORE_USER, path)["required"] is True, path
    for path in ("emails.value", "emails.type", "emergencyContacts.relationship"):
        assert published(CORE_USER, path)["required"] is True, path
    assert published(ENTERPRISE_USER, "companyId")["required"] is True
    assert published(ENTERPRISE_USER, "manager.value")["required"] is True
    assert published(ENTERPRISE_USER, "manager.$ref")["required"] is False
    assert published(ENTERPRISE_USER, "leavesOfAbsence")["maxLength"] == 100


def test_rfc_view_requires_only_what_rfc_7643_requires() -> None:
    """The generic view publishes no Concur requirement and no maxLength (RFC 7643 §7 keys)."""
    for doc in schema_documents(user_schema().schema_urns):
        for attr in walk(doc["attributes"]):
            assert "maxLength" not in attr
            assert "minLength" not in attr
            expected = doc["id"] == CORE_USER and attr["name"] == "userName"
            assert attr["required"] is expected, (doc["id"], attr["name"])


@pytest.mark.parametrize("model", ALL_MODELS, ids=urn_of)
def test_rfc_view_is_a_valid_rfc_7643_schema(model: type[Any]) -> None:
    """Every RFC view parses as a Schema under scim2-models' strict default policy."""
    parsed = Schema.model_validate(schema_document(model))
    assert parsed.id == urn_of(model)


@pytest.mark.parametrize("model", ALL_MODELS, ids=urn_of)
def test_published_documents_hold_no_internal_keys(model: type[Any]) -> None:
    """Neither view leaks the registry's internal x- keys, and both are JSON."""
    for concur in (False, True):
        text = json.dumps(schema_document(model, concur=concur))
        assert '"x-' not in text


def test_concur_view_lists_the_common_attributes_of_a_resource() -> None:
    """id and externalId head the Concur core User schema; extensions do not list them."""
    names = [a["name"] for a in schema_document(User, concur=True)["attributes"]]
    assert names[:2] == ["id", "externalId"]
    assert "id" not in [
        a["name"] for a in schema_documents([ENTERPRISE_USER], concur=True)[0]["attributes"]
    ]
    assert "externalId" not in [a["name"] for a in schema_document(User)["attributes"]]


def test_schema_documents_follow_the_given_urns() -> None:
    """schema_documents answers the URNs asked for, in order, case-insensitively."""
    docs = schema_documents([SPEND_ROLE.upper(), CORE_USER])
    assert [d["id"] for d in docs] == [SPEND_ROLE, CORE_USER]
    with pytest.raises(KeyError):
        schema_documents(["urn:example:nope"])


def test_documents_are_fresh_copies() -> None:
    """Changing a returned document does not change the next one (discovery adds meta)."""
    schema_document(User)["attributes"].clear()
    assert schema_document(User)["attributes"]


def test_identity_and_downstream_schemas_are_split() -> None:
    """The User resource holds the identity schemas; spend, payroll and travel are downstream."""
    assert user_schema().schema_urns == (CORE_USER, ENTERPRISE_USER, SAP, SETTINGS, TRAVELPERK)
    downstream = downstream_schemas()
    assert len(downstream) == 10
    assert TRAVEL in downstream
    assert SPEND_USER in downstream
    assert not set(downstream) & set(user_schema().schema_urns)
    assert schema_model(TRAVEL) is DOWNSTREAM_MODELS[-1]


def test_group_schema_is_unchanged() -> None:
    """The Group resource type is still the RFC Group with a server-set members.display."""
    members = group_schema().core.attribute("members")
    assert members is not None
    display = members.sub("display")
    assert display is not None
    assert display.mutability == "readOnly"
    assert group_schema().extensions == ()


def test_attribute_definitions_carry_the_concur_characteristics() -> None:
    """The registry reads lengths, closed lists, formats, code lists and rules from the models."""
    core, enterprise = user_schema().core, user_schema().extensions[0]

    def at(path: str, schema: SchemaDef = core) -> AttributeDef:
        head, *rest = path.split(".")
        found = schema.attribute(head)
        for name in rest:
            found = found.sub(name) if found is not None else None
        assert found is not None
        return found

    assert at("name.givenName").max_length == 32
    assert at("name.givenName").strict_required
    assert not at("name.givenName").required  # RFC 7643 does not require it
    assert at("userName").required
    assert at("userName").rules == ("userNameCharacters",)
    assert at("emails.type").closed
    assert at("emails").rules == ("onePerType",)
    assert at("phoneNumbers").rules == ("onePerTypeButMobile", "phoneTypes")
    assert at("entitlements").value_shorthand
    assert at("entitlements.value").closed
    assert at("dateOfBirth").format == "date"
    assert at("timezone").code_list == "timezone"
    assert at("preferredLanguage").code_list == "language"
    assert at("addresses.country").code_list == "country"
    assert at("startDate", enterprise).format == "dateTime"
    assert at("leavesOfAbsence", enterprise).max_length == 100
    assert not at("title").closed  # plain strings stay open


def test_spend_definitions_have_exact_lengths_and_code_lists() -> None:
    """reimbursementCurrency is exactly 3 ISO 4217 letters, country exactly 2 (§6.5)."""
    spend = downstream_schemas()[SPEND_USER]
    currency, country = spend.attribute("reimbursementCurrency"), spend.attribute("country")
    assert currency is not None
    assert currency.exact_length == 3
    assert currency.code_list == "currency"
    assert currency.strict_required
    assert country is not None
    assert country.exact_length == 2
    assert country.code_list == "country"
    locale = spend.attribute("locale")
    assert locale is not None
    assert (locale.min_length, locale.max_length) == (5, 6)
    assert locale.exact_length is None
    test_employee = spend.attribute("testEmployee")
    assert test_employee is not None
    assert test_employee.mutability == "immutable"
    assert test_employee.rules == ("keepOnUpdate",)


def test_delegate_accepts_the_misspelt_temporary_delegation() -> None:
    """The Delegate schema finds temporaryDelegation under Concur's misspelling too (§9.22)."""
    expense = downstream_schemas()[SPEND_DELEGATE].attribute("expense")
    assert expense is not None
    right, wrong = expense.sub("temporaryDelegation"), expense.sub("temporaryDelegatation")
    assert right is not None
    assert right is wrong
    assert [a["name"] for a in published(SPEND_DELEGATE, "expense")["subAttributes"]][-1] == (
        "temporaryDelegation"
    )


def test_role_codes_come_from_the_data_file() -> None:
    """role_codes lists Appendix A1's 96 codes with product and group-aware flag."""
    roles = {r["roleName"]: r for r in role_codes()}
    assert len(roles) == 96
    assert roles["EXP_USER"]["entitlement"] == "Expense"
    assert roles["EXP_PROCESSOR"]["groupAware"] is True
    assert roles["EXP_APPROVER"]["groupAware"] is False
    assert roles["SHD_DATA_RETENTION_ADMIN"]["products"] == ["Expense", "Request", "Invoice"]
    assert roles["REPORTING_DASHBOARD_USER"]["status"] == "retired"
    role_codes()[0]["roleName"] = "changed"
    assert role_codes()[0]["roleName"] != "changed"


def test_role_name_accepts_supported_codes_only() -> None:
    """roleName's canonical values are the supported role codes (retired ones left out)."""
    values = published(SPEND_ROLE, "roles.roleName")["canonicalValues"]
    assert "EXP_APPROVER" in values
    assert "REPORTING_CAS_ANALYST" not in values
    assert len(values) == 93


def test_code_lists_answer_canonical_spellings() -> None:
    """Countries, currencies, time zones and languages are looked up ignoring case."""
    assert codes.canonical_country("us") == "US"
    assert codes.canonical_country("ZZ") is None
    assert codes.canonical_currency("eur") == "EUR"
    assert codes.canonical_currency("XXY") is None
    assert codes.canonical_timezone("america/new_york") == "America/New_York"
    assert codes.canonical_timezone("Mars/Olympus") is None
    assert codes.canonical_language("EN-us") == "en-US"
    assert codes.canonical_language("de-CH") == "de-CH"
    assert codes.canonical_language("en-AU") is None
    assert codes.canonical_language("en_US") is None
    assert codes.is_language_tag("es-419")
    assert not codes.is_language_tag("english")
