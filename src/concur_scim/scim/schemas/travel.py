"""Concur's Travel User extension: ``urn:ietf:params:scim:schemas:extension:travel:2.0:User``.

reference/concur-v4.md §6.14. A downstream extension (stored beside the identity document,
read at ``/profile/travel/v4/Users/{id}``). ``ruleClass`` is the only field the guide
requires, given by ``id`` or by ``name``; the travel ``name`` is the name on travel
documents, separate from the HR name of the core schema.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from scim2_models import URN, CaseExact, ComplexAttribute, Extension, Required

from .annotations import AnyOf, ClosedStringEnum

__all__ = ["TravelUser"]


class RuleClass(ComplexAttribute):
    id: int | None = None
    """The rule class id."""

    name: Annotated[str | None, CaseExact.true] = None
    """The rule class name, exactly as configured in Travel."""


class TravelName(ComplexAttribute):
    name_prefix: str | None = None
    """The name prefix, e.g. 'Dr'."""

    given_name: str | None = None
    """The given name on travel documents."""

    middle_name: str | None = None
    """The middle name on travel documents."""

    family_name: str | None = None
    """The family name on travel documents."""

    honorific_suffix: str | None = None
    """The name suffix, e.g. 'Jr'."""

    has_no_middle_name: bool | None = None
    """The traveller has no middle name."""


class TravelManager(ComplexAttribute):
    value: Annotated[str | None, CaseExact.true] = None
    """The travel approver's id."""

    employee_number: str | None = None
    """The travel approver's employee number."""


class CustomField(ComplexAttribute):
    name: str | None = None
    """The custom field's name in company administration."""

    value: str | None = None
    """The custom field's value."""


class Permissions(ComplexAttribute):
    travel_user: bool | None = Field(
        None, serialization_alias="TravelUser", validation_alias="TravelUser"
    )
    """The user may book travel."""

    profile_user: bool | None = Field(
        None, serialization_alias="ProfileUser", validation_alias="ProfileUser"
    )
    """The user has a travel profile only."""

    open_booking_user: bool | None = Field(
        None, serialization_alias="OpenBookingUser", validation_alias="OpenBookingUser"
    )
    """The user may use open booking."""


class Gender(ClosedStringEnum):
    female = "Female"
    male = "Male"


class TravelUser(Extension):
    """Travel User: the user's travel profile."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:travel:2.0:User")

    rule_class: Annotated[RuleClass | None, Required.true, AnyOf("id", "name")] = None
    """The user's travel rule class, by id or by name."""

    travel_crs_name: str | None = None
    """The GDS profile name."""

    travel_name_remark: str | None = None
    """Distinguishes travellers with the same name."""

    name: TravelName | None = None
    """The name on travel documents."""

    gender: Gender | None = None
    """The traveller's gender."""

    org_unit: str | None = None
    """A configured org unit or division."""

    groups: list[int] | None = None
    """Travel group ids (everyone is also in the 'All' group)."""

    manager: TravelManager | None = None
    """The travel approver."""

    custom_fields: list[CustomField] | None = None
    """Travel custom fields."""

    xml_profile_sync_id: str | None = None
    """The XML profile sync id."""

    permissions: Permissions | None = None
    """The user's travel permissions."""
