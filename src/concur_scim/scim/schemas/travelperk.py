"""TravelPerk's user extension, as Entra's TravelPerk gallery app sends it.

reference/idp-clients.md §1.9: Entra maps ``gender``, ``dateOfBirth``, ``invoiceProfiles``
(an array), ``emergencyContact.name``/``.phone`` and ``travelPolicy`` under
``urn:ietf:params:scim:schemas:extension:travelperk:2.0:User``. No public source gives their
formats or allowed values, so none are enforced: all are plain strings.
"""

from __future__ import annotations

from scim2_models import URN, ComplexAttribute, Extension

__all__ = ["TravelPerkUser"]


class TravelPerkEmergencyContact(ComplexAttribute):
    name: str | None = None
    """The emergency contact's name."""

    phone: str | None = None
    """The emergency contact's phone number."""


class TravelPerkUser(Extension):
    """TravelPerk User extension (Entra's TravelPerk provisioning mappings)."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:travelperk:2.0:User")

    gender: str | None = None
    """The traveller's gender."""

    date_of_birth: str | None = None
    """The traveller's date of birth."""

    invoice_profiles: list[str] | None = None
    """The TravelPerk invoice profiles the traveller may bill to."""

    emergency_contact: TravelPerkEmergencyContact | None = None
    """The traveller's emergency contact."""

    travel_policy: str | None = None
    """The TravelPerk travel policy that applies to the traveller."""
