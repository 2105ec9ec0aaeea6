"""One pydantic model per schema URN, following scim2-models' conventions (DESIGN, STYLE 10).

The identity schemas (core, enterprise, sap, settings, travelperk) make up the User
document every dialect serves; the downstream schemas (spend, payroll, travel) are stored per
user and URN beside it. ``scim/registry.py`` derives the attribute definitions, ``/Schemas``
and the validator's rules from these classes; nothing else restates them.
"""

from __future__ import annotations

from typing import Any

from scim2_models import Group

from .core import User
from .enterprise import EnterpriseUser
from .payroll import Payroll
from .sap import SapUser, SettingsUser
from .spend import SpendUser
from .spend_approvals import SpendApprover, SpendApproverLimit, SpendDelegate
from .spend_preferences import SpendInvoicePreference, SpendUserPreference, SpendWorkflowPreference
from .spend_roles import SpendRole, role_codes
from .travel import TravelUser
from .travelperk import TravelPerkUser

__all__ = [
    "DOWNSTREAM_MODELS",
    "GROUP_MODELS",
    "IDENTITY_MODELS",
    "EnterpriseUser",
    "User",
    "role_codes",
    "urn_of",
]

# The core model first, then the extensions in the order responses list them.
IDENTITY_MODELS: tuple[type[Any], ...] = (
    User,
    EnterpriseUser,
    SapUser,
    SettingsUser,
    TravelPerkUser,
)
DOWNSTREAM_MODELS: tuple[type[Any], ...] = (
    SpendUser,
    SpendRole,
    SpendApprover,
    SpendApproverLimit,
    SpendDelegate,
    SpendUserPreference,
    SpendWorkflowPreference,
    SpendInvoicePreference,
    Payroll,
    TravelUser,
)
GROUP_MODELS: tuple[type[Any], ...] = (Group,)


def urn_of(model: type[Any]) -> str:
    """The schema URN a model class describes."""
    return str(model.__schema__)
