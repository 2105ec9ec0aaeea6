"""Concur attribute characteristics that RFC 7643's (and scim2-models') annotations lack.

They sit in a field's ``Annotated[...]`` metadata next to scim2-models' ``Required``,
``Mutability`` and friends, and next to pydantic's own ``Field(max_length=...)`` /
``Field(min_length=...)`` (a length for strings, an item count for lists, as in Concur's
swagger). ``scim/registry.py`` reads them into :class:`~concur_scim.scim.registry.AttributeDef`
and the strict (Concur) dialects enforce them; the generic dialect ignores them.

- :class:`ClosedStringEnum`: canonical values that are the only ones accepted, matched
  case-insensitively (the counterpart of scim2-models' ``ExtensibleStringEnum``);
  :attr:`Closed.true` says the same of values given as ``Field(examples=...)``.
- :class:`Format`: how a ``string`` attribute spells a date or a date-time.
- :class:`CodeList`: an external code list (ISO 3166, ISO 4217, Concur's languages and
  time zones) a value must belong to.
- :class:`Rule`: a named check across several values (one email per type, leave overlaps);
  ``scim/rules.py`` holds the implementations, dispatched by name.
- :class:`AnyOf`: at least one of these sub-attributes must be given.
- :attr:`ValueShorthand.true`: an item of this multi-valued complex attribute may be sent as
  its bare ``value`` (Concur's ``"entitlements": ["Expense"]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any


class ClosedStringEnum(StrEnum):
    """String enum whose members are the only values a strict dialect accepts.

    A value in another case names its member (RFC 7643 §2.2: attributes with canonical
    values are case-insensitive unless ``caseExact``); anything else is refused.
    """

    @classmethod
    def _missing_(cls, value: Any) -> ClosedStringEnum | None:
        if isinstance(value, str):
            for member in cls:
                if member.value.lower() == value.lower():
                    return member
        return None


class Closed(Enum):
    """Whether the ``Field(examples=...)`` canonical values are a closed list."""

    true = True
    false = False


class Format(Enum):
    """The spelling a ``string`` attribute carries (Concur types dates as strings)."""

    date = "date"
    """``YYYY-MM-DD``; a date-time at midnight (``2018-01-01T00:00:00.000``) is accepted."""

    date_time = "dateTime"
    """RFC 3339 date-time between 1900-01-01 and 2079-06-06 (Concur's range, §6.2)."""

    language_tag = "languageTag"
    """A BCP 47 language tag (``en-US``, ``es-419``)."""


class CodeList(Enum):
    """The code list a value must come from (``scim/codes.py``)."""

    country = "country"
    """ISO 3166-1 alpha-2."""

    currency = "currency"
    """ISO 4217 alphabetic code."""

    language = "language"
    """A BCP 47 tag whose full tag or language is one of Concur's UI languages."""

    timezone = "timezone"
    """One of Concur's Olson time zone ids (``data/concur-timezones.txt``)."""


class Rule(StrEnum):
    """Checks over more than one value, implemented in ``scim/rules.py``."""

    one_per_type = "onePerType"
    """No two values share a ``type`` (§9.14)."""

    one_per_type_but_mobile = "onePerTypeButMobile"
    """No two values share a ``type``, except ``mobile`` (§6.1 phoneNumbers)."""

    phone_types = "phoneTypes"
    """``primary``/``notifications``/``issuingCountry`` on mobiles only, exactly one primary
    mobile when there are mobiles, ``workExtension`` on work phones only (§6.1)."""

    leaves_of_absence = "leavesOfAbsence"
    """startDate before endDate, no overlaps, only the latest leave may be open (§6.2)."""

    user_name_characters = "userNameCharacters"
    """None of Concur's forbidden userName characters (§6.1)."""

    keep_on_update = "keepOnUpdate"
    """Settable at creation only; a later change is not applied (§9.17, testEmployee)."""

    primary_only = "primaryOnly"
    """Every approver of this kind has ``primary: true`` (§6.7)."""

    role_assignment = "roleAssignment"
    """No entitlement-bound role, roleGroups only for group-aware roles, no two mutually
    exclusive roles (§6.6, Appendix A1)."""


@dataclass(frozen=True)
class AnyOf:
    """At least one of the sub-attributes ``names`` must carry a value."""

    names: tuple[str, ...]

    def __init__(self, *names: str) -> None:
        object.__setattr__(self, "names", names)


class ValueShorthand(Enum):
    """Whether an item may be sent as its bare ``value`` (``"Expense"`` for
    ``{"value": "Expense"}``)."""

    true = True
    false = False
