"""Group use-cases: CRUD plus membership changes that never load the whole member list.

A PATCH is split in two: operations on ``members`` become row inserts/deletes in
``group_members`` (cost independent of group size), everything else goes through the pure
PATCH engine on the group document. Both happen in the caller's transaction, so a failing
operation anywhere leaves nothing applied. RFC 7644 §3.5.2; Entra's value-list ``Remove``
(idp-clients.md §1.4) removes only the listed members.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from concur_scim.scim.errors import InvalidPath, InvalidValue, NotFound
from concur_scim.scim.evaluate import element_matches
from concur_scim.scim.filter_ast import Compare
from concur_scim.scim.patch import PatchOperation, apply_patch, parse_patch_request
from concur_scim.scim.registry import group_schema
from concur_scim.scim.validation import normalize_resource
from concur_scim.services.common import Clock, check_if_match, system_clock, uniqueness_error
from concur_scim.store import groups as store
from concur_scim.store.errors import Conflict
from concur_scim.store.paging import ListQuery
from concur_scim.store.records import Page, ResourceRecord


def _member_ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    ids: list[str] = []
    for item in items:
        raw = item.get("value") if isinstance(item, dict) else item
        if not isinstance(raw, str) or not raw:
            raise InvalidValue("each member needs a 'value' with the member's id")
        ids.append(raw)
    return list(dict.fromkeys(ids))


def _resolve(conn: Connection, company_id: str, ids: list[str]) -> dict[str, str]:
    types = store.member_types(conn, company_id, ids)
    unknown = [i for i in ids if i not in types]
    if unknown:
        raise InvalidValue(
            f"unknown member id '{unknown[0]}': members must be existing users or groups"
        )
    return {i: types[i] for i in ids}


def create_group(
    conn: Connection, company_id: str, payload: Any, *, clock: Clock
) -> ResourceRecord:
    """Create a group and its members; unknown member ids → InvalidValue (400)."""
    doc = normalize_resource(payload, group_schema())
    members = _member_ids(doc.pop("members", []))
    now = clock()
    group_id = str(uuid.uuid4())
    try:
        record = store.insert_group(conn, company_id, group_id, doc, now)
    except Conflict as conflict:
        raise uniqueness_error(conflict, "group") from None
    store.add_members(conn, company_id, group_id, _resolve(conn, company_id, members), now)
    return record


def get_group(
    conn: Connection, company_id: str, group_id: str, *, lock: bool = False
) -> ResourceRecord:
    """The group without members, or NotFound (404); ``lock``: as ``users.get_user``."""
    record = store.get_group(conn, company_id, group_id, lock=lock)
    if record is None:
        raise NotFound(f"group {group_id} not found")
    return record


def attach_members(conn: Connection, records: list[ResourceRecord]) -> list[ResourceRecord]:
    """``records`` with ``members`` loaded (one query for the whole page)."""
    by_group = store.load_members(conn, [r.id for r in records])
    return [replace(r, members=by_group[r.id]) for r in records]


def replace_group(
    conn: Connection,
    company_id: str,
    group_id: str,
    payload: Any,
    *,
    clock: Clock,
    if_match: str | None = None,
) -> ResourceRecord:
    """PUT: replace displayName/externalId and the whole member list (RFC 7644 §3.5.1)."""
    record = get_group(conn, company_id, group_id, lock=True)
    check_if_match(record, if_match)
    doc = normalize_resource(payload, group_schema())
    members = _resolve(conn, company_id, _member_ids(doc.pop("members", [])))
    now = clock()
    members_changed = store.set_members(conn, company_id, group_id, members, now)
    if doc == record.doc and not members_changed:
        return record  # an identical PUT keeps the version (RFC 7644 §3.14)
    try:
        return store.update_group(conn, record, doc if doc != record.doc else None, now)
    except Conflict as conflict:
        raise uniqueness_error(conflict, "group") from None


def patch_group(
    conn: Connection,
    company_id: str,
    group_id: str,
    body: Any,
    *,
    clock: Clock,
    if_match: str | None = None,
) -> ResourceRecord:
    """Apply a PatchOp message; membership operations cost O(members named)."""
    schema = group_schema()
    operations = parse_patch_request(body, schema)
    record = get_group(conn, company_id, group_id, lock=True)
    check_if_match(record, if_match)
    now = clock()
    doc_ops: list[PatchOperation] = []
    members_changed = False
    for op in operations:
        member_op, rest = _split_members(op)
        if member_op is not None and _apply_member_op(conn, company_id, group_id, member_op, now):
            members_changed = True
        if rest is not None:
            doc_ops.append(rest)
    new_doc = record.doc
    if doc_ops:
        new_doc = normalize_resource(
            apply_patch(record.doc, doc_ops, schema, resource_id=record.id), schema
        )
    if new_doc == record.doc and not members_changed:
        return record
    try:
        return store.update_group(conn, record, new_doc if new_doc != record.doc else None, now)
    except Conflict as conflict:
        raise uniqueness_error(conflict, "group") from None


def _split_members(op: PatchOperation) -> tuple[PatchOperation | None, PatchOperation | None]:
    """Separate the part of ``op`` that targets ``members`` from the rest."""
    if op.path is not None:
        return (op, None) if op.path.attr.name == "members" else (None, op)
    if op.op == "remove" or not isinstance(op.value, dict):
        return None, op
    members_key = next((k for k in op.value if isinstance(k, str) and k.lower() == "members"), None)
    if members_key is None:
        return None, op
    rest = {k: v for k, v in op.value.items() if k != members_key}
    member_op = PatchOperation(op=op.op, path=None, value=op.value[members_key])
    return member_op, (PatchOperation(op=op.op, path=None, value=rest) if rest else None)


def _apply_member_op(
    conn: Connection, company_id: str, group_id: str, op: PatchOperation, now: Any
) -> bool:
    """Apply one membership operation; True if the member list changed."""
    value_filter = op.path.value_filter if op.path else None
    if op.path is not None and op.path.sub is not None:
        raise InvalidPath("members can be changed only as whole values, not by sub-attribute")
    if op.op == "remove":
        if value_filter is not None:
            return bool(store.remove_members(conn, group_id, _filtered_ids(conn, group_id, op)))
        if op.value in (None, "", []):
            return bool(store.clear_members(conn, group_id))
        return bool(store.remove_members(conn, group_id, _member_ids(op.value)))
    if value_filter is not None:
        raise InvalidPath("add and replace take the whole 'members' attribute, not a filter")
    ids = _member_ids(op.value) if op.value not in (None, "") else []
    resolved = _resolve(conn, company_id, ids)
    if op.op == "replace":
        return store.set_members(conn, company_id, group_id, resolved, now)
    return bool(store.add_members(conn, company_id, group_id, resolved, now))


def _filtered_ids(conn: Connection, group_id: str, op: PatchOperation) -> list[str]:
    """Members matched by ``members[filter]``; ``value eq`` (the usual form) needs no scan."""
    assert op.path is not None
    expr = op.path.value_filter
    assert expr is not None
    if isinstance(expr, Compare) and expr.op == "eq" and expr.path.attr.lower() == "value":
        return [str(expr.value)]
    members = store.load_members(conn, [group_id])[group_id]
    return [m["value"] for m in members if element_matches(expr, m, op.path.attr)]


def delete_group(
    conn: Connection,
    company_id: str,
    group_id: str,
    *,
    if_match: str | None = None,
    clock: Clock = system_clock,
) -> None:
    """Delete the group (and its member rows); NotFound if absent.

    Groups it was a member of change version, since their member lists change.
    """
    record = get_group(conn, company_id, group_id, lock=True)
    check_if_match(record, if_match)
    store.delete_group(conn, company_id, group_id, clock())


def list_groups(conn: Connection, company_id: str, query: ListQuery) -> Page:
    """A page of groups matching ``query`` (members not loaded)."""
    return store.list_groups(conn, company_id, query)
