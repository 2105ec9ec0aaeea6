"""The SCIM v4 group catalogue: Concur's fixed roles, identical for every company.

SCIM v4 ``/Groups`` are not created or deleted by clients: every company has the same 23
groups (reference/concur-v4.md Appendix A2, §5, §6.16), kept as data in
``data/scim_v4_groups.json``. A group's id is derived from the company id and the role code
(UUID v5), so ids are stable forever and differ between companies without being stored.

This module also says which filters the catalogue list takes (``displayName eq`` and the SAP
extension's ``type eq``, §5) and carries the SAP Group extension's attribute definitions, so
PATCH paths and ``attributes`` naming them resolve. Pure: no I/O beyond reading the packaged
data file once.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from concur_scim.scim.errors import InvalidFilter
from concur_scim.scim.filter_ast import And, Compare, Expr, Or
from concur_scim.scim.registry import (
    CORE_GROUP,
    AttributeDef,
    ResourceSchema,
    SchemaDef,
    group_schema,
)

SAP_GROUP = "urn:ietf:params:scim:schemas:extension:sap:2.0:Group"
READ_ONLY = "readOnly"
# Fixed forever: changing it would change every group id of every company.
_ID_NAMESPACE = uuid.UUID("6f0d5a3e-6c53-5b7e-9f3a-2a1c7b0c5e11")
_DATA_FILE = "scim_v4_groups.json"


@dataclass(frozen=True)
class RoleGroup:
    """One catalogue entry: a Concur role exposed as a SCIM group (§6.16)."""

    display_name: str
    external_name: str  # the Concur role code, e.g. EXP_USER; what membership rows store
    product: str
    type: str
    supported_operations: str
    active_users_only: bool  # §5: Travel and Reporting roles take active users only

    @property
    def read_only(self) -> bool:
        """Whether membership changes are refused (``EXP_CONFIG_ADMIN``, Appendix A2)."""
        return self.supported_operations == READ_ONLY

    def extension(self) -> dict[str, str]:
        """The ``urn:…:sap:2.0:Group`` object of this group."""
        return {
            "externalName": self.external_name,
            "type": self.type,
            "supportedOperations": self.supported_operations,
        }


@cache
def catalogue() -> tuple[RoleGroup, ...]:
    """Every group of the catalogue, in the reference's order (read once per process)."""
    raw = json.loads(resources.files("concur_scim.scim").joinpath("data", _DATA_FILE).read_text())
    groups = tuple(
        RoleGroup(
            display_name=g["displayName"],
            external_name=g["externalName"],
            product=g["product"],
            type=g["type"],
            supported_operations=g["supportedOperations"],
            active_users_only=bool(g["activeUsersOnly"]),
        )
        for g in raw["groups"]
    )
    codes = [g.external_name for g in groups]
    if len(set(codes)) != len(codes):  # pragma: no cover - guards the data file
        raise ValueError(f"{_DATA_FILE}: duplicate externalName")
    return groups


def group_id(company_id: str, role: RoleGroup) -> str:
    """The stable id of ``role`` in ``company_id`` (UUID v5 of both)."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{company_id}/{role.external_name}"))


@lru_cache(maxsize=1024)
def company_catalogue(company_id: str) -> tuple[tuple[str, RoleGroup], ...]:
    """``(group id, role)`` for every catalogue group of ``company_id``, in catalogue order."""
    return tuple((group_id(company_id, role), role) for role in catalogue())


@lru_cache(maxsize=1024)
def _by_id(company_id: str) -> dict[str, RoleGroup]:
    return dict(company_catalogue(company_id))


def find_group(company_id: str, gid: str) -> RoleGroup | None:
    """The role whose id in ``company_id`` is ``gid``, or None."""
    return _by_id(company_id).get(gid)


# ---------------------------------------------------------------------------------------------
# Schema: core Group plus the SAP Group extension (§6.16)

_SAP_ATTRIBUTES = tuple(
    AttributeDef(name, "string", mutability=READ_ONLY, canonical_values=values)
    for name, values in (
        ("externalName", ()),
        ("type", ("userGroup", "authorization", "deepLinkActivationPermission")),
        ("supportedOperations", ("readOnly", "readWrite", "userOnlyMembership", "membership")),
    )
)
SAP_GROUP_SCHEMA = SchemaDef(
    urn=SAP_GROUP,
    attributes=_SAP_ATTRIBUTES,
    by_key={a.name.lower(): a for a in _SAP_ATTRIBUTES},
)


@cache
def v4_group_schema() -> ResourceSchema:
    """The SCIM v4 Group resource type: the registry's core Group plus the SAP extension."""
    return replace(group_schema(), extensions=(SAP_GROUP_SCHEMA,))


def current_value(role: RoleGroup, gid: str, urn: str, attr: str) -> Any:
    """The value a client reads at ``urn``/``attr`` (``urn`` "" for core), or None."""
    if urn.lower() == SAP_GROUP.lower():
        return {k.lower(): v for k, v in role.extension().items()}.get(attr.lower())
    return {"id": gid, "displayname": role.display_name}.get(attr.lower())


# ---------------------------------------------------------------------------------------------
# Filters on the catalogue list (§5): `displayName eq`, `urn:…:sap:2.0:Group:type eq`


def check_filter(expr: Expr) -> None:
    """Raise InvalidFilter unless ``expr`` is ``eq`` comparisons of the two list attributes.

    ``and`` / ``or`` combinations of them are accepted; anything else (another attribute or
    operator, ``pr``, ``not``, a ``[filter]``) is refused: the catalogue is small and fixed,
    and Concur documents only these two filters.
    """
    todo: list[Expr] = [expr]
    while todo:
        node = todo.pop()
        if isinstance(node, And | Or):
            todo.extend((node.left, node.right))
        elif not isinstance(node, Compare) or _field(node) is None:
            raise InvalidFilter(
                "SCIM v4 Groups can be filtered only with 'displayName eq' and "
                f"'{SAP_GROUP}:type eq'"
            )
        elif node.op != "eq" or not isinstance(node.value, str):
            raise InvalidFilter("SCIM v4 Groups filters take only 'eq' with a string value")


def matches(expr: Expr, role: RoleGroup) -> bool:
    """Whether ``role`` satisfies ``expr`` (checked by :func:`check_filter`); case-insensitive."""
    if isinstance(expr, And):
        return matches(expr.left, role) and matches(expr.right, role)
    if isinstance(expr, Or):
        return matches(expr.left, role) or matches(expr.right, role)
    assert isinstance(expr, Compare)
    actual = role.display_name if _field(expr) == "displayName" else role.type
    return actual.lower() == str(expr.value).lower()


def _field(node: Compare) -> str | None:
    path = node.path
    urn = (path.urn or "").lower()
    if path.sub is not None:
        return None
    if urn in ("", CORE_GROUP.lower()) and path.attr.lower() == "displayname":
        return "displayName"
    if urn == SAP_GROUP.lower() and path.attr.lower() == "type":
        return "type"
    return None
