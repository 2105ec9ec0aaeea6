"""SAP's user extensions served by Concur: ``sap:2.0:User`` and ``settings:2.0:User``.

reference/concur-v4.md §6.3 and §6.4. ``sap:2.0:User`` carries the SAP Global ID
(``userUuid``), read by SAP Cloud Identity Services, and the SCIM v4 contact preferences,
email verification and validity period; ``settings:2.0:User`` the UI theme.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from scim2_models import URN, ComplexAttribute, Extension, Mutability

from .annotations import ClosedStringEnum, Format

__all__ = ["SapUser", "SettingsUser"]


class ContactPreferences(ComplexAttribute):
    class EmailFormat(ClosedStringEnum):
        html = "HTTP"
        plain = "plain"

    telephone: str | None = None
    """Preferred telephone contact."""

    email: str | None = None
    """Preferred email contact."""

    email_format: EmailFormat | None = None
    """Preferred email format: 'HTTP' or 'plain'."""


class SapEmail(ComplexAttribute):
    value: str | None = None
    """One of the user's core email addresses."""

    verified: Annotated[bool | None, Mutability.read_only] = None
    """Whether the user verified the address (read-only without a scope this server does
    not grant)."""


class SapUser(Extension):
    """SAP User extension: the SAP Global ID and SAP identity attributes."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:sap:2.0:User")

    user_uuid: Annotated[str | None, Field(min_length=1, max_length=36)] = None
    """The user's SAP Global ID."""

    contact_preferences: ContactPreferences | None = None
    """How the user prefers to be contacted."""

    emails: list[SapEmail] | None = None
    """Verification state of the user's core email addresses."""

    valid_from: Annotated[str | None, Format.date_time] = None
    """Start of the account's validity, YYYY-MM-DDThh:mm:ssZ (1900-2079)."""

    valid_to: Annotated[str | None, Format.date_time] = None
    """End of the account's validity, YYYY-MM-DDThh:mm:ssZ (1900-2079)."""


class Theme(ClosedStringEnum):
    concur_gateway = "Concur Gateway"
    quartz_light = "SAP Quartz Light"
    quartz_dark = "SAP Quartz Dark"
    quartz_hc_white = "SAP Quartz High Contrast White"
    quartz_hc_black = "SAP Quartz High Contrast Black"
    horizon_morning = "SAP Horizon Morning"
    horizon_evening = "SAP Horizon Evening"
    horizon_hc_white = "SAP Horizon High Contrast White"
    horizon_hc_black = "SAP Horizon High Contrast Black"


class SettingsUser(Extension):
    """User UI settings."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:settings:2.0:User")

    theme: Theme | None = None
    """The user's UI theme."""
