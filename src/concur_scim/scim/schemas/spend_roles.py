"""Concur's Spend Role extension and its role codes (reference/concur-v4.md §6.6, Appendix A1).

The role codes are data (``data/spend_role_codes.json``: code, full name, products,
group-aware flag, the entitlement that drives it, status) read once per process;
:func:`role_codes` is what ``GET /profile/spend/v4/Users/roleCodes`` lists, and the strict
validator's ``roleAssignment`` rule reads :func:`role_code` and :func:`exclusive_role_sets`.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Annotated, Any

from pydantic import Field
from scim2_models import URN, ComplexAttribute, Extension, Required

from .annotations import Closed, Rule

__all__ = ["SpendRole", "exclusive_role_sets", "role_code", "role_codes"]

_ROLE_CODES_FILE = "spend_role_codes.json"


@cache
def _role_data() -> dict[str, Any]:
    text = resources.files("concur_scim.scim").joinpath("data", _ROLE_CODES_FILE).read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def role_codes() -> list[dict[str, Any]]:
    """Every Spend role code (Appendix A1), as ``GET /profile/spend/v4/Users/roleCodes`` lists it.

    Each item: ``roleName``, ``name``, ``products``, ``groupAware``, ``shared``, ``entitlement``
    (the entitlement that drives the role, or None) and ``status`` (``supported``,
    ``notSupported``, ``retired``). A fresh copy: callers may change it.
    """
    roles: list[dict[str, Any]] = copy.deepcopy(_role_data()["roles"])
    return roles


def role_code(role_name: str) -> dict[str, Any] | None:
    """The Appendix A1 entry of ``role_name`` (case-insensitive), or None if unknown."""
    entry = _role_index().get(role_name.upper())
    return copy.deepcopy(entry) if entry is not None else None


@cache
def _role_index() -> dict[str, dict[str, Any]]:
    return {r["roleName"]: r for r in _role_data()["roles"]}


def exclusive_role_sets() -> list[list[str]]:
    """Sets of role codes of which a user may hold at most one (the role code page's notes)."""
    return [list(s) for s in _role_data()["mutuallyExclusive"]]


def _supported_roles() -> list[str]:
    return [r["roleName"] for r in _role_data()["roles"] if r["status"] == "supported"]


class RoleAssignment(ComplexAttribute):
    role_name: Annotated[
        str | None,
        Required.true,
        Field(examples=_supported_roles()),
        Closed.true,
    ] = None
    """A role code of Appendix A1."""

    role_groups: list[str] | None = None
    """Hierarchy paths of list item codes joined by hyphens; none means the global group."""


class SpendRole(Extension):
    """Spend Role: the user's Expense, Request, Invoice and Reporting roles."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:spend:2.0:Role")

    roles: Annotated[list[RoleAssignment] | None, Rule.role_assignment] = None
    """The user's roles."""
