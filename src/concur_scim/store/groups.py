"""The group repository, including membership as rows of ``group_members``.

Adding or removing members touches only the named rows (plus one version bump of the
group row), so its cost does not depend on the group's size; members are read only when a
response includes them. Functions take the caller's connection and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from concur_scim.scim.errors import InvalidFilter
from concur_scim.scim.filter_ast import Compare, Present
from concur_scim.scim.registry import group_schema
from concur_scim.store.errors import Conflict
from concur_scim.store.filter_sql import ColumnMap, Condition
from concur_scim.store.paging import ListQuery, row_to_record, run_list
from concur_scim.store.records import Page, ResourceRecord
from concur_scim.store.tables import group_members, groups, users


def _members_condition(expr: Compare | Present) -> Condition:
    """``members[value eq "<id>"]`` / ``members.value eq``: a direct member lookup by index."""
    member = select(group_members.c.member_id).where(group_members.c.group_id == groups.c.id)
    if isinstance(expr, Present):
        return exists(member)
    if expr.op != "eq" or not isinstance(expr.value, str):
        raise InvalidFilter("members supports only eq with a member id")
    return exists(member.where(group_members.c.member_id == expr.value))


GROUP_COLUMNS = ColumnMap(
    doc=groups.c.doc,
    resource_type="Group",
    columns={
        "id": (groups.c.id, False),
        "displayname": (groups.c.display_name_key, True),
        "externalid": (groups.c.external_id, False),
        "meta.created": (groups.c.created, False),
        "meta.lastmodified": (groups.c.last_modified, False),
    },
    special={"members.value": _members_condition},
)


def _columns(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "display_name": doc["displayName"],
        "display_name_key": doc["displayName"].lower(),
        "external_id": doc.get("externalId"),
        "doc": {k: v for k, v in doc.items() if k != "members"},
    }


def _check_unique(conn: Connection, company_id: str, cols: dict[str, Any], own_id: str) -> None:
    scope = (groups.c.company_id == company_id, groups.c.id != own_id)
    if conn.execute(
        select(groups.c.id)
        .where(*scope, groups.c.display_name_key == cols["display_name_key"])
        .limit(1)
    ).first():
        raise Conflict("displayName")
    if (
        cols["external_id"] is not None
        and conn.execute(
            select(groups.c.id).where(*scope, groups.c.external_id == cols["external_id"]).limit(1)
        ).first()
    ):
        raise Conflict("externalId")


def insert_group(
    conn: Connection, company_id: str, group_id: str, doc: dict[str, Any], now: datetime
) -> ResourceRecord:
    """Insert a group row (members are added separately); raises :class:`Conflict`."""
    cols = _columns(doc)
    _check_unique(conn, company_id, cols, group_id)
    try:
        conn.execute(
            groups.insert().values(
                id=group_id,
                company_id=company_id,
                created=now,
                last_modified=now,
                version=1,
                **cols,
            )
        )
    except IntegrityError:
        raise Conflict(None) from None
    found = get_group(conn, company_id, group_id)
    assert found is not None
    return found


def get_group(
    conn: Connection, company_id: str, group_id: str, *, lock: bool = False
) -> ResourceRecord | None:
    """The group ``group_id`` of ``company_id`` without its members, or None.

    ``lock``: hold the row until the transaction ends (as ``users.get_user``).
    """
    query = select(groups).where(groups.c.id == group_id, groups.c.company_id == company_id)
    row = conn.execute(query.with_for_update(key_share=True) if lock else query).first()
    return row_to_record(row) if row else None


def update_group(
    conn: Connection, record: ResourceRecord, doc: dict[str, Any] | None, now: datetime
) -> ResourceRecord:
    """Bump the group's version; store ``doc`` too when given. Raises :class:`Conflict`."""
    values: dict[str, Any] = {"last_modified": now, "version": groups.c.version + 1}
    if doc is not None:
        cols = _columns(doc)
        _check_unique(conn, record.company_id, cols, record.id)
        values.update(cols)
    try:
        conn.execute(update(groups).where(groups.c.id == record.id).values(**values))
    except IntegrityError:
        raise Conflict(None) from None
    found = get_group(conn, record.company_id, record.id)
    assert found is not None
    return found


def touch_groups_of(conn: Connection, member_id: str, now: datetime) -> None:
    """Bump version and lastModified of every group ``member_id`` belongs to.

    Called before a member disappears (user deleted, hard or soft; nested group deleted), so
    that those groups' ETags change with their member lists (RFC 7644 §3.14).
    """
    containing = select(group_members.c.group_id).where(group_members.c.member_id == member_id)
    conn.execute(
        update(groups)
        .where(groups.c.id.in_(containing))
        .values(version=groups.c.version + 1, last_modified=now)
    )


def delete_group(conn: Connection, company_id: str, group_id: str, now: datetime) -> bool:
    """Delete the group, its member rows and its own memberships; False if absent."""
    conn.execute(
        delete(group_members).where(
            group_members.c.group_id == group_id, group_members.c.company_id == company_id
        )
    )
    result = conn.execute(
        delete(groups).where(groups.c.id == group_id, groups.c.company_id == company_id)
    )
    if not result.rowcount:
        return False
    touch_groups_of(conn, group_id, now)
    conn.execute(delete(group_members).where(group_members.c.member_id == group_id))
    return True


def list_groups(conn: Connection, company_id: str, query: ListQuery) -> Page:
    """A page of groups of ``company_id`` matching ``query`` (members not loaded)."""
    scope = [groups.c.company_id == company_id]
    return run_list(conn, groups, scope, query, resource=group_schema(), cmap=GROUP_COLUMNS)


def member_types(conn: Connection, company_id: str, ids: list[str]) -> dict[str, str]:
    """``{id: "User" | "Group"}`` for those of ``ids`` that exist in ``company_id``."""
    if not ids:
        return {}
    found = {
        r.id: "User"
        for r in conn.execute(
            select(users.c.id).where(
                users.c.company_id == company_id, users.c.id.in_(ids), users.c.deleted_at.is_(None)
            )
        )
    }
    found.update(
        {
            r.id: "Group"
            for r in conn.execute(
                select(groups.c.id).where(groups.c.company_id == company_id, groups.c.id.in_(ids))
            )
        }
    )
    return found


def add_members(
    conn: Connection, company_id: str, group_id: str, members: dict[str, str], now: datetime
) -> int:
    """Add ``{member_id: type}`` rows; members already present are left as they are.

    Returns how many rows were added.
    """
    if not members:
        return 0
    rows = [
        {
            "group_id": group_id,
            "member_id": m,
            "company_id": company_id,
            "member_type": t,
            "added": now,
        }
        for m, t in members.items()
    ]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # RETURNING counts what was inserted: rowcount is not reliable for multi-row inserts.
    stmt = dialect.insert(group_members).values(rows).on_conflict_do_nothing()
    return len(conn.execute(stmt.returning(group_members.c.member_id)).all())


def remove_members(conn: Connection, group_id: str, member_ids: Iterable[str]) -> int:
    """Delete the named member rows of ``group_id`` (absent ones are ignored); how many went."""
    ids = list(member_ids)
    if not ids:
        return 0
    result = conn.execute(
        delete(group_members).where(
            group_members.c.group_id == group_id, group_members.c.member_id.in_(ids)
        )
    )
    return int(result.rowcount or 0)


def clear_members(conn: Connection, group_id: str) -> int:
    """Delete every member row of ``group_id``; how many there were."""
    result = conn.execute(delete(group_members).where(group_members.c.group_id == group_id))
    return int(result.rowcount or 0)


def set_members(
    conn: Connection, company_id: str, group_id: str, members: dict[str, str], now: datetime
) -> bool:
    """Make ``members`` the whole member list (RFC 7644 §3.5.1, replace); True if it changed.

    Only the difference is written, so members that stay keep their rows and order.
    """
    current = set(
        conn.execute(
            select(group_members.c.member_id).where(group_members.c.group_id == group_id)
        ).scalars()
    )
    gone = current - members.keys()
    new = {m: t for m, t in members.items() if m not in current}
    removed = remove_members(conn, group_id, gone)
    added = add_members(conn, company_id, group_id, new, now)
    return bool(removed or added)


def load_members(conn: Connection, group_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Members of each group as SCIM ``members`` values (without ``$ref``), in join order."""
    out: dict[str, list[dict[str, Any]]] = {g: [] for g in group_ids}
    if not group_ids:
        return out
    gm = group_members
    member_group = groups.alias("member_group")
    stmt = (
        select(
            gm.c.group_id,
            gm.c.member_id,
            gm.c.member_type,
            users.c.display_name,
            users.c.user_name,
            member_group.c.display_name.label("gname"),
        )
        .select_from(
            gm.outerjoin(users, users.c.id == gm.c.member_id).outerjoin(
                member_group, member_group.c.id == gm.c.member_id
            )
        )
        .where(gm.c.group_id.in_(group_ids))
        # Soft-deleted users (SCIM v4 DELETE) keep their rows but are members of nothing.
        .where((gm.c.member_type != "User") | users.c.deleted_at.is_(None))
        .order_by(gm.c.group_id, gm.c.added, gm.c.member_id)
    )
    for row in conn.execute(stmt):
        display = row.gname if row.member_type == "Group" else (row.display_name or row.user_name)
        member = {"value": row.member_id, "type": row.member_type}
        if display:
            member["display"] = display
        out[row.group_id].append(member)
    return out


# Built once: every read of a user runs it (the ``groups`` attribute).
_USER_GROUPS = (
    select(group_members.c.member_id, groups.c.id, groups.c.display_name)
    .join(groups, groups.c.id == group_members.c.group_id)
    .where(group_members.c.member_id.in_(bindparam("ids", expanding=True)))
    .order_by(groups.c.display_name_key)
)


def load_user_groups(conn: Connection, user_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Direct groups of each user as SCIM ``groups`` values (RFC 7643 §4.1.2)."""
    out: dict[str, list[dict[str, Any]]] = {u: [] for u in user_ids}
    if not user_ids:
        return out
    for row in conn.execute(_USER_GROUPS, {"ids": user_ids}):
        out[row.member_id].append({"value": row.id, "display": row.display_name, "type": "direct"})
    return out
