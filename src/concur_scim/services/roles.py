"""SCIM v4 Group use-cases: read the fixed role catalogue, change who holds a role.

The groups are Concur's roles (reference/concur-v4.md §5, §6.16, Appendix A2): never
created, renamed or deleted, so PATCH and PUT change ``members`` only, and any other
attribute they try to change is refused with ``mutability``; a value equal to the current one
(a client echoing the group back) is accepted and ignored. Members are live users of the
caller's company (``invalidValue`` otherwise); Travel and Reporting roles take active users
only (§5); the ``readOnly`` group refuses every membership change (Appendix A2, ``mutability``).

A PATCH is parsed by the shared pure parser (``scim/patch.py``) and every operation is checked
before anything is written; all writes happen in the caller's transaction, so a request that
fails anywhere leaves nothing applied. Adding or removing one member costs the same whatever
the role's size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection

from concur_scim.scim.errors import InvalidPath, InvalidValue, Mutability, NotFound
from concur_scim.scim.evaluate import element_matches
from concur_scim.scim.filter_ast import Compare, Expr
from concur_scim.scim.patch import PatchOperation, parse_patch_request
from concur_scim.scim.paths import PatchPath
from concur_scim.scim.role_catalogue import (
    SAP_GROUP,
    RoleGroup,
    check_filter,
    company_catalogue,
    current_value,
    find_group,
    matches,
    v4_group_schema,
)
from concur_scim.services.common import Clock
from concur_scim.store import roles as store

# Path-less keys that carry no change (the PATCH engine ignores them too).
_IGNORED_KEYS = frozenset({"schemas", "meta"})


@dataclass(frozen=True)
class MemberPaging:
    """Which members a read returns: ``members.startIndex`` (1-based) and ``members.count``."""

    start_index: int = 1
    count: int = 100


@dataclass(frozen=True)
class RoleGroupView:
    """One catalogue group of a company as a read returns it.

    ``members`` (user ids) and ``total`` are None when the response leaves members out.
    """

    id: str
    role: RoleGroup
    last_modified: datetime
    members: list[str] | None = None
    total: int | None = None
    start_index: int | None = None


@dataclass(frozen=True)
class _Change:
    """One membership change; a ``remove`` with neither ids nor filter removes every member."""

    kind: Literal["add", "replace", "remove"]
    ids: list[str] | None = None
    value_filter: tuple[Expr, PatchPath] | None = None


def _require(company_id: str, group_id: str) -> RoleGroup:
    role = find_group(company_id, group_id)
    if role is None:
        raise NotFound(f"group {group_id} not found")
    return role


def get_group(
    conn: Connection, company_id: str, group_id: str, paging: MemberPaging | None
) -> RoleGroupView:
    """The group ``group_id`` (NotFound if it is not one of the company's catalogue ids).

    With ``paging``, one page of its live members and their total are read; without, the
    membership table is not touched.
    """
    role = _require(company_id, group_id)
    return _views(conn, company_id, [(group_id, role)], paging)[0]


def list_groups(
    conn: Connection,
    company_id: str,
    expr: Expr | None,
    *,
    start_index: int,
    count: int,
    paging: MemberPaging | None,
) -> tuple[int, list[RoleGroupView]]:
    """``(totalResults, page)`` of the catalogue filtered by ``expr`` (InvalidFilter if not
    one of the two documented filters), each group with a page of members when ``paging``."""
    if expr is not None:
        check_filter(expr)
    selected = [
        (gid, r) for gid, r in company_catalogue(company_id) if not expr or matches(expr, r)
    ]
    page = selected[start_index - 1 : start_index - 1 + count]
    return len(selected), _views(conn, company_id, page, paging)


def _views(
    conn: Connection,
    company_id: str,
    groups: list[tuple[str, RoleGroup]],
    paging: MemberPaging | None,
) -> list[RoleGroupView]:
    codes = [r.external_name for _, r in groups]
    changed = store.last_modified(conn, company_id, codes)
    if paging is None:
        return [RoleGroupView(gid, r, changed[r.external_name]) for gid, r in groups]
    totals = store.count_members(conn, company_id, codes)
    views = []
    for gid, role in groups:
        code = role.external_name
        members: list[str] = []
        if totals[code] >= paging.start_index and paging.count > 0:
            members = store.member_page(
                conn, company_id, code, offset=paging.start_index - 1, limit=paging.count
            )
        views.append(
            RoleGroupView(gid, role, changed[code], members, totals[code], paging.start_index)
        )
    return views


def patch_group(
    conn: Connection, company_id: str, group_id: str, body: Any, *, clock: Clock
) -> None:
    """Apply a PatchOp message to the group's members (RFC 7644 §3.5.2; Concur answers 204).

    ``add`` / ``replace`` / ``remove`` of ``members`` (path ``members``, path-less
    ``{"members": [...]}``, ``members[value eq "id"]``, ``remove`` with a value list as Entra
    sends it, ``remove`` without value = all members). Raises NotFound, Mutability (another
    attribute, or the readOnly group), InvalidValue (unknown or, for Travel/Reporting,
    inactive user), InvalidPath, or the parser's errors.
    """
    role = _require(company_id, group_id)
    operations = parse_patch_request(body, v4_group_schema())
    changes = [c for op in operations for c in _changes(op, role, group_id)]
    _apply(conn, company_id, role, changes, clock)


def replace_members(
    conn: Connection, company_id: str, group_id: str, body: Any, *, clock: Clock
) -> None:
    """PUT: replace the member list with ``body["members"]`` (§5; the swagger requires it).

    Other keys must carry the group's current values (or be ``schemas``/``meta``).
    """
    role = _require(company_id, group_id)
    if not isinstance(body, Mapping):
        raise InvalidValue("the PUT body must be a JSON object with 'members'")
    members_key = next((k for k in body if isinstance(k, str) and k.lower() == "members"), None)
    if members_key is None:
        raise InvalidValue("'members' is required: PUT replaces a group's member list")
    for key, value in body.items():
        if key != members_key:
            _check_unchanged_key(key, value, role, group_id)
    value = body[members_key]
    ids = [] if value in (None, "") else _member_ids(value)
    _apply(conn, company_id, role, [_Change("replace", ids)], clock)


def _changes(op: PatchOperation, role: RoleGroup, group_id: str) -> list[_Change]:
    """The membership changes ``op`` stands for; raises for any change to anything else."""
    path = op.path
    if path is None:  # path-less add/replace: an object of attributes
        changes = []
        for key, value in op.value.items():
            if isinstance(key, str) and key.lower() == "members":
                ids = [] if value in (None, "") else _member_ids(value)
                changes.append(_Change(op.op, ids))
            else:
                _check_unchanged_key(key, value, role, group_id)
        return changes
    if path.schema.urn != v4_group_schema().core.urn or path.attr.name != "members":
        if op.op == "remove" or path.sub is not None or path.value_filter is not None:
            raise _immutable(path.attr.name)
        if current_value(role, group_id, _urn(path), path.attr.name) != op.value:
            raise _immutable(path.attr.name)
        return []
    if path.sub is not None:
        raise InvalidPath("members can be changed only as whole values, not by sub-attribute")
    if op.op == "remove":
        if path.value_filter is not None:
            return [_Change("remove", value_filter=(path.value_filter, path))]
        if op.value in (None, "", []):
            return [_Change("remove")]
        return [_Change("remove", _member_ids(op.value))]
    if path.value_filter is not None:
        raise InvalidPath("add and replace take the whole 'members' attribute, not a filter")
    return [_Change(op.op, [] if op.value in (None, "") else _member_ids(op.value))]


def _urn(path: PatchPath) -> str:
    return "" if path.schema.urn == v4_group_schema().core.urn else path.schema.urn


def _check_unchanged_key(key: Any, value: Any, role: RoleGroup, group_id: str) -> None:
    """Accept ``key: value`` only if it changes nothing; Mutability otherwise."""
    if not isinstance(key, str) or key.lower() in _IGNORED_KEYS:
        return
    if key.lower() == SAP_GROUP.lower():
        if value in (None, ""):
            raise _immutable(key)
        if not isinstance(value, Mapping):
            raise InvalidValue(f"'{SAP_GROUP}' must be an object")
        for sub, sub_value in value.items():
            if current_value(role, group_id, SAP_GROUP, str(sub)) != sub_value:
                raise _immutable(f"{SAP_GROUP}:{sub}")
        return
    schema, rest = v4_group_schema().split_urn(key)
    urn = "" if schema is v4_group_schema().core else schema.urn
    current = current_value(role, group_id, urn, rest)
    if current is None and value in (None, "", [], {}):
        return
    if current != value:
        raise _immutable(key)


def _immutable(name: str) -> Mutability:
    return Mutability(
        f"'{name}' cannot be changed: SCIM v4 groups are Concur's fixed roles; "
        "only 'members' can be changed"
    )


def _member_ids(value: Any) -> list[str]:
    """The user ids of a ``members`` value (objects with ``value``, or bare ids), deduplicated."""
    items = value if isinstance(value, list) else [value]
    ids: list[str] = []
    for item in items:
        raw = item
        if isinstance(item, Mapping):
            raw = next((v for k, v in item.items() if str(k).lower() == "value"), None)
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidValue("each member needs a 'value' with the user's id")
        ids.append(raw.strip())
    return list(dict.fromkeys(ids))


def _apply(
    conn: Connection, company_id: str, role: RoleGroup, changes: list[_Change], clock: Clock
) -> None:
    if not changes:
        return
    if role.read_only:
        raise Mutability(
            f"the group '{role.display_name}' ({role.external_name}) is readOnly: "
            "its members cannot be changed"
        )
    code = role.external_name
    now = clock()
    for change in changes:
        if change.kind == "remove":
            if change.value_filter is not None:
                ids = _filtered(conn, company_id, code, *change.value_filter)
                store.remove_members(conn, company_id, code, ids)
            elif change.ids is None:
                store.clear_members(conn, company_id, code)
            else:
                store.remove_members(conn, company_id, code, change.ids)
            continue
        ids = change.ids or []
        _check_users(conn, company_id, role, ids)
        if change.kind == "replace":
            store.clear_members(conn, company_id, code)
        store.add_members(conn, company_id, code, ids, now)
    store.touch(conn, company_id, code, now)


def _check_users(conn: Connection, company_id: str, role: RoleGroup, ids: list[str]) -> None:
    found = store.live_users(conn, company_id, ids)
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise InvalidValue(f"unknown member '{unknown[0]}': members must be existing users")
    if role.active_users_only:
        inactive = [i for i in ids if not found[i]]
        if inactive:
            raise InvalidValue(
                f"user '{inactive[0]}' is inactive: the {role.product} role "
                f"'{role.display_name}' can only be assigned to active users"
            )


def _filtered(
    conn: Connection, company_id: str, code: str, expr: Expr, path: PatchPath
) -> list[str]:
    """Members matched by ``members[filter]``; ``value eq`` (the usual form) reads nothing."""
    if isinstance(expr, Compare) and expr.op == "eq" and expr.path.attr.lower() == "value":
        return [str(expr.value)]
    members = store.member_page(conn, company_id, code, offset=0, limit=None)
    return [m for m in members if element_matches(expr, {"value": m}, path.attr)]
