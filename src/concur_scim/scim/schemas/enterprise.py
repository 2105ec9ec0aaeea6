"""Concur's Enterprise User: RFC 7643 §4.3 plus Concur's additions in the same URN.

reference/concur-v4.md §6.2 and Concur's leave-of-absence guide. ``companyId`` is the Concur
company UUID: immutable and required; the services fill it with the caller's company when a
client leaves it out (bearer tokens are company-scoped). ``organization`` is the company name,
read-only. ``startDate``/``terminationDate`` are ``string`` attributes with
:attr:`Format.date_time` (Concur's swagger types them as strings; see ``core.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field
from scim2_models import URN, ComplexAttribute, Mutability, Reference, Required, Uniqueness
from scim2_models import EnterpriseUser as RfcEnterpriseUser
from scim2_models.resources.enterprise_user import Manager as RfcManager

from .annotations import ClosedStringEnum, Format, Rule

if TYPE_CHECKING:
    from scim2_models import User

__all__ = ["EnterpriseUser", "LeaveOfAbsence"]


class Manager(RfcManager):
    ref: Annotated[
        Reference[User] | None,  # type: ignore[type-arg]
        Required.false,
    ] = Field(None, serialization_alias="$ref", validation_alias="$ref")
    """The URI of the manager's resource (request only)."""

    employee_number: str | None = None
    """The manager's employee number."""


class LeaveOfAbsence(ComplexAttribute):
    class Type(ClosedStringEnum):
        voluntary = "voluntary"
        mandatory = "mandatory"

    start_date: Annotated[str | None, Required.true, Format.date] = None
    """First day of the leave, YYYY-MM-DD."""

    end_date: Annotated[str | None, Format.date] = None
    """Last day of the leave; only the current (latest) leave may have none."""

    type: Type | None = None
    """Whether the leave is voluntary or mandatory."""


class EnterpriseUser(RfcEnterpriseUser):
    """Enterprise User (RFC 7643 §4.3) with SAP Concur's additions."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")

    employee_number: Annotated[str | None, Uniqueness.server, Field(max_length=48)] = None
    """The user's employee number, unique within the company."""

    cost_center: Annotated[str | None, Field(max_length=25)] = None
    """The user's cost center (not the Expense cost center)."""

    organization: Annotated[str | None, Mutability.read_only] = None
    """The company name (read-only)."""

    division: Annotated[str | None, Field(max_length=48)] = None
    """The user's division."""

    manager: Manager | None = None
    """The user's manager: the id of another user, or its employee number."""

    company_id: Annotated[str | None, Required.true, Mutability.immutable] = None
    """The Concur company UUID; defaults to the caller's company and never changes."""

    legal_entity: str | None = None
    """The legal entity the user belongs to."""

    start_date: Annotated[str | None, Format.date_time] = None
    """The start date, YYYY-MM-DDThh:mm:ssZ between 1900-01-01 and 2079-06-06."""

    termination_date: Annotated[str | None, Format.date_time] = None
    """The termination date (also drives data retention), same format and range."""

    leaves_of_absence: Annotated[
        list[LeaveOfAbsence] | None, Field(max_length=100), Rule.leaves_of_absence
    ] = None
    """The user's leaves of absence (at most 100, no overlaps)."""
