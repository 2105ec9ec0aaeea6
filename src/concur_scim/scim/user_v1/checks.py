"""Per-record validation of a ``UserProfile`` (reference/concur-user-v1.md §4.3, §4.4, §4.7).

Concur reports the first problem of a record only, as ``Missing Required Field: <Name>`` or
``Invalid Input: <Name>``. Pure: values in, normalised values (or :class:`RecordError`) out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from concur_scim.scim.user_v1.fields import LOCALES, PAYMENT_METHODS, POST_FIELDS, YES_NO

# §4.1 / §4.4: on every record, create or update. Password must be present, may be empty.
ALWAYS_REQUIRED = ("EmpId", "FeedRecordNumber", "LoginId")
_YES = frozenset({"y", "yes", "true", "1"})
_NO = frozenset({"n", "no", "false", "0"})
_LOCALES = {code.lower(): code for code in LOCALES}


class RecordError(Exception):
    """One record fails; ``message`` is the text Concur puts in ``error/message``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def missing(name: str) -> RecordError:
    """``Missing Required Field: <name>`` (the form seen in practice, §4.7)."""
    return RecordError(f"Missing Required Field: {name}")


def invalid(name: str) -> RecordError:
    """``Invalid Input: <name>`` (§4.7)."""
    return RecordError(f"Invalid Input: {name}")


def check_required(values: dict[str, str], required: Iterable[str]) -> None:
    """Raise for the first of ``required`` that is absent or empty (§4.6: empty = missing)."""
    for name in required:
        if not values.get(name):
            raise missing(name)


def check_record(values: dict[str, str]) -> dict[str, str]:
    """``values`` with Y/N and locale codes normalised; RecordError for the first problem.

    Checks the always-required keys and the Password element, then every sent value in
    element order: lengths (§3.1.1), Y/N, ``@`` in login ids, country, currency and locale
    codes (§4.7). The form's required fields are checked by the caller, which knows whether
    the record creates a user.
    """
    check_required(values, ALWAYS_REQUIRED)
    if "Password" not in values:
        raise missing("Password")
    checked = dict(values)
    for name, value in values.items():
        limit = None if name in YES_NO else POST_FIELDS.get(name)  # "true" is a fine Y/N
        if limit is not None and len(value) > limit:
            raise invalid(name)
        if value == "":
            continue
        checked[name] = _value(name, value)
    return checked


def _value(name: str, value: str) -> str:
    if name in YES_NO:
        if value.lower() in _YES:
            return "Y"
        if value.lower() in _NO:
            return "N"
        raise invalid(name)
    if name in ("LoginId", "NewLoginID") and "@" not in value:
        raise invalid(name)  # required since 2020 ([P-hist] 5170c4486)
    if name == "CtryCode" and not re.fullmatch(r"[A-Za-z]{2}", value):
        raise invalid(name)
    if name == "CrnKey" and not re.fullmatch(r"[A-Za-z]{3}", value):
        raise invalid(name)
    if name == "CtrySubCode" and not re.fullmatch(r"[A-Za-z]{2}-[A-Za-z0-9]{1,3}", value):
        raise invalid(name)
    if name == "LocaleName":
        code = _LOCALES.get(value.replace("-", "_").lower())
        if code is None:
            raise invalid(name)
        return code
    if name == "PmtMethodCode" and value.upper() not in PAYMENT_METHODS:
        raise invalid(name)
    if name in ("CtryCode", "CrnKey", "CtrySubCode", "PmtMethodCode"):
        return value.upper()
    return value
