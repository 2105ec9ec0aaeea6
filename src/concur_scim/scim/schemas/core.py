"""Concur's core User: RFC 7643 §4.1 plus Concur's additions in the same URN.

reference/concur-v4.md §6.1. The RFC classes of scim2-models are extended, not re-typed:
Concur narrows some canonical values to closed lists (hence the few ``type: ignore`` on
overridden fields: the RFC's open enums become closed ones) and adds attributes such as
``dateOfBirth``, ``emergencyContacts`` and ``localeOverrides``.

Representation choices:

- ``entitlements`` stays the RFC's complex multi-valued attribute (``{"value": "Expense"}``),
  so filters (``entitlements eq "invoice"`` means ``.value``) and PATCH value paths work as
  in RFC 7644; an item may also be sent bare, as Concur's swagger does (``["Expense"]``), and
  is stored as ``{"value": …}``. A Concur view can flatten it back to strings.
- dates are ``string`` attributes with a :class:`Format`, as in Concur's swagger, not RFC
  ``dateTime``: Concur prints ``dateOfBirth`` as ``YYYY-MM-DD`` and ``startDate`` without a
  zone, which an xsd:dateTime round trip would not keep.
- ``localeOverrides`` is a readOnly complex attribute: clients cannot write it; the server
  answers :data:`LOCALE_OVERRIDE_DEFAULTS` (the values Concur returns for an untouched user).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field
from scim2_models import ComplexAttribute, Mutability, Required, Uniqueness
from scim2_models import User as RfcUser
from scim2_models.resources.resource import AnyExtension
from scim2_models.resources.user import Address as RfcAddress
from scim2_models.resources.user import Email as RfcEmail
from scim2_models.resources.user import Entitlement as RfcEntitlement
from scim2_models.resources.user import Name as RfcName
from scim2_models.resources.user import PhoneNumber as RfcPhoneNumber

from .annotations import Closed, ClosedStringEnum, CodeList, Format, Rule, ValueShorthand
from .locale_overrides import LOCALE_OVERRIDE_DEFAULTS, LocaleOverrides

__all__ = ["LOCALE_OVERRIDE_DEFAULTS", "EmergencyContact", "User"]

# §6.1; the swagger adds Locate, Analytics and Unified Analytics to the documented four.
ENTITLEMENTS = (
    "Expense",
    "Invoice",
    "Request",
    "Travel",
    "Locate",
    "Analytics",
    "Unified Analytics",
)


class AcademicTitle(ClosedStringEnum):
    dr = "Dr."
    doctor = "Doctor"
    prof = "Prof."
    professor = "Professor"
    prof_dr = "Prof. Dr."
    professor_doctor = "Professor Doctor"
    ba = "B.A."
    bachelor_of_arts = "Bachelor of Arts"
    mba = "MBA"
    master_of_business_administration = "Master of Business Administration"
    phd = "Ph.D"
    doctor_of_philosophy = "Doctor of Philosophy"


class Name(RfcName):
    family_name: Annotated[str | None, Required.true, Field(max_length=32)] = None
    """The family name of the User, or last name."""

    given_name: Annotated[str | None, Required.true, Field(max_length=32)] = None
    """The given name of the User, or first name."""

    middle_name: Annotated[str | None, Field(max_length=60)] = None
    """The middle name(s) of the User."""

    honorific_prefix: Annotated[str | None, Field(min_length=1, max_length=60)] = None
    """The honorific prefix(es) of the User, e.g. 'Ms.'."""

    honorific_suffix: Annotated[str | None, Field(min_length=1, max_length=60)] = None
    """The honorific suffix(es) of the User, e.g. 'III'."""

    middle_initial: Annotated[str | None, Field(max_length=1)] = None
    """The middle initial, if the User has a middle name."""

    family_name_prefix: Annotated[str | None, Field(max_length=28)] = None
    """The family name prefix, e.g. 'van' in 'Vincent van Gogh'."""

    legal_name: str | None = None
    """The legal name of the User."""

    academic_title: AcademicTitle | None = None
    """Title signifying the level of academic achievement."""


class Email(RfcEmail):
    class Type(ClosedStringEnum):
        work = "work"
        home = "home"
        work2 = "work2"
        other = "other"
        other2 = "other2"

    value: Annotated[str | None, Required.true, Field(max_length=255)] = None
    """The email address."""

    type: Annotated[Type | None, Required.true] = None  # type: ignore[assignment]
    """The function of the address: 'work', 'home', 'work2', 'other' or 'other2'."""

    verified: Annotated[bool | None, Mutability.read_only] = None
    """Whether the user verified the address; writable only with a scope this server does
    not grant, so a client's value is ignored (§9.15)."""

    notifications: bool | None = None
    """Notifications opt-in for this address."""


class PhoneNumber(RfcPhoneNumber):
    class Type(ClosedStringEnum):
        work = "work"
        home = "home"
        mobile = "mobile"
        fax = "fax"
        pager = "pager"
        other = "other"
        work2 = "work2"

    value: Annotated[str | None, Required.true, Field(min_length=1, max_length=60)] = None
    """The phone number."""

    type: Annotated[Type | None, Required.true] = None  # type: ignore[assignment]
    """The function of the number, e.g. 'work', 'mobile'."""

    primary: bool | None = None
    """The primary mobile device (mobiles only; exactly one mobile is primary)."""

    notifications: bool | None = None
    """Notifications opt-in (mobiles only)."""

    issuing_country: Annotated[str | None, CodeList.country] = None
    """ISO 3166-1 alpha-2 country of a mobile number."""

    work_extension: str | None = None
    """The extension of a work number."""


class Address(RfcAddress):
    class Type(ClosedStringEnum):
        work = "work"
        home = "home"
        other = "other"
        billing = "billing"
        bank = "bank"
        shipping = "shipping"

    locality: Annotated[str | None, Field(max_length=30)] = None
    """The city or locality."""

    region: Annotated[str | None, Field(max_length=30)] = None
    """The state or region."""

    postal_code: Annotated[str | None, Field(max_length=20)] = None
    """The zip code or postal code."""

    country: Annotated[str | None, CodeList.country] = None
    """ISO 3166-1 alpha-2 country code."""

    type: Type | None = None  # type: ignore[assignment]
    """The function of the address, e.g. 'work', 'billing'."""


class Entitlement(RfcEntitlement):
    value: Annotated[str | None, Field(examples=list(ENTITLEMENTS)), Closed.true] = None
    """A Concur product the user may use; sent as a bare string or as ``{"value": …}``."""


class EmergencyContact(ComplexAttribute):
    class Relationship(ClosedStringEnum):
        spouse = "Spouse"
        brother = "Brother"
        parent = "Parent"
        sister = "Sister"
        life_partner = "Life Partner"
        other = "Other"

    name: Annotated[str | None, Required.true, Field(max_length=255)] = None
    """The contact's name."""

    relationship: Annotated[Relationship | None, Required.true] = None
    """The contact's relationship to the user."""

    street_address: str | None = None
    """The street address; may contain newlines."""

    locality: Annotated[str | None, Field(max_length=30)] = None
    """The city or locality."""

    region: Annotated[str | None, Field(max_length=30)] = None
    """The state or region."""

    postal_code: Annotated[str | None, Field(max_length=20)] = None
    """The zip code or postal code."""

    country: Annotated[str | None, CodeList.country] = None
    """ISO 3166-1 alpha-2 country code."""

    phones: list[str] | None = None
    """The contact's phone numbers."""

    emails: list[str] | None = None
    """The contact's email addresses."""


class User(RfcUser[AnyExtension]):
    """User Account (RFC 7643 §4.1) with SAP Concur's additions."""

    user_name: Annotated[
        str | None, Uniqueness.global_, Required.true, Rule.user_name_characters
    ] = None
    """Unique identifier for the User across all of SAP Concur, typically user@domain."""

    name: Annotated[Name | None, Required.true] = None
    """The components of the user's real name."""

    Name: ClassVar[type[ComplexAttribute]] = Name

    display_name: Annotated[str | None, Field(max_length=60)] = None
    """The name of the User, suitable for display to end-users."""

    nick_name: Annotated[str | None, Field(max_length=60)] = None
    """The casual way to address the user (Concur's 'Preferred Name')."""

    title: Annotated[str | None, Field(max_length=255)] = None
    """The user's job title."""

    preferred_language: Annotated[str | None, CodeList.language] = None
    """The user's language: one of Concur's UI languages (default en-US)."""

    locale: Annotated[str | None, Format.language_tag] = None
    """The user's default location for localisation, a BCP 47 tag."""

    timezone: Annotated[str | None, CodeList.timezone] = None
    """The user's Olson time zone (default America/New_York)."""

    active: Annotated[bool | None, Required.true] = None
    """A Boolean value indicating the User's administrative status."""

    emails: Annotated[
        list[Email] | None,
        Required.true,
        Rule.one_per_type,
    ] = None  # type: ignore[assignment]
    """Email addresses for the user, one per type."""

    Emails: ClassVar[type[ComplexAttribute]] = Email

    phone_numbers: Annotated[
        list[PhoneNumber] | None,
        Rule.one_per_type_but_mobile,
        Rule.phone_types,
    ] = None  # type: ignore[assignment]
    """Phone numbers for the User, one per type except mobiles."""

    PhoneNumbers: ClassVar[type[ComplexAttribute]] = PhoneNumber

    addresses: Annotated[list[Address] | None, Rule.one_per_type] = None  # type: ignore[assignment]
    """Physical mailing addresses for this User, one per type."""

    Addresses: ClassVar[type[ComplexAttribute]] = Address

    entitlements: Annotated[
        list[Entitlement] | None,
        ValueShorthand.true,
    ] = None  # type: ignore[assignment]
    """The Concur products enabled for the user."""

    Entitlements: ClassVar[type[ComplexAttribute]] = Entitlement

    date_of_birth: Annotated[str | None, Format.date] = None
    """The user's date of birth, YYYY-MM-DD."""

    emergency_contacts: Annotated[list[EmergencyContact] | None, Field(max_length=1)] = None
    """The user's emergency contact (at most one)."""

    locale_overrides: Annotated[LocaleOverrides | None, Mutability.read_only] = None
    """The user's overrides of locale settings (read-only)."""
