"""The role-membership repository behind SCIM v4 Groups (``role_members``, ``role_groups``).

The groups are the fixed catalogue of ``scim/role_catalogue.py``; what is stored is who holds
which role code in which company. Adding or removing a member is one row write by primary
key (plus one upsert of the role's change time), whatever the role's size; a member page is
an index range over (company, role, added, user). Soft-deleted users (``users.deleted_at``)
keep their rows but are never read back as members. Functions take the caller's connection
and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from concur_scim.store.records import utc
from concur_scim.store.tables import companies, role_groups, role_members, users

rm = role_members
_LIVE_MEMBER = (users.c.id == rm.c.user_id) & users.c.deleted_at.is_(None)


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def live_users(conn: Connection, company_id: str, user_ids: list[str]) -> dict[str, bool]:
    """``{user id: active}`` for those of ``user_ids`` that are live users of ``company_id``."""
    if not user_ids:
        return {}
    rows = conn.execute(
        select(users.c.id, users.c.active).where(
            users.c.company_id == company_id,
            users.c.id.in_(user_ids),
            users.c.deleted_at.is_(None),
        )
    )
    return {r.id: bool(r.active) for r in rows}


def add_members(
    conn: Connection, company_id: str, role: str, user_ids: list[str], now: datetime
) -> None:
    """Add ``user_ids`` to ``role``; users who already hold it are left as they are."""
    if not user_ids:
        return
    rows = [{"company_id": company_id, "role": role, "user_id": u, "added": now} for u in user_ids]
    conn.execute(_insert(conn, rm).values(rows).on_conflict_do_nothing())


def remove_members(conn: Connection, company_id: str, role: str, user_ids: Iterable[str]) -> None:
    """Remove ``user_ids`` from ``role`` (ids that are not members are ignored)."""
    ids = list(user_ids)
    if ids:
        conn.execute(
            delete(rm).where(
                rm.c.company_id == company_id, rm.c.role == role, rm.c.user_id.in_(ids)
            )
        )


def clear_members(conn: Connection, company_id: str, role: str) -> None:
    """Remove every member of ``role``."""
    conn.execute(delete(rm).where(rm.c.company_id == company_id, rm.c.role == role))


def touch(conn: Connection, company_id: str, role: str, now: datetime) -> None:
    """Record that ``role``'s membership changed at ``now``."""
    stmt = _insert(conn, role_groups).values(company_id=company_id, role=role, last_modified=now)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[role_groups.c.company_id, role_groups.c.role],
            set_={"last_modified": now},
        )
    )


def last_modified(conn: Connection, company_id: str, roles: list[str]) -> dict[str, datetime]:
    """When each of ``roles`` last changed; a role never changed gets the company's creation."""
    if not roles:
        return {}
    rows = conn.execute(
        select(role_groups.c.role, role_groups.c.last_modified).where(
            role_groups.c.company_id == company_id, role_groups.c.role.in_(roles)
        )
    )
    found = {r.role: utc(r.last_modified) for r in rows}
    missing = [r for r in roles if r not in found]
    if missing:
        created = conn.execute(
            select(companies.c.created).where(companies.c.id == company_id)
        ).scalar_one()
        found.update({r: utc(created) for r in missing})
    return found


def count_members(conn: Connection, company_id: str, roles: list[str]) -> dict[str, int]:
    """How many live members each of ``roles`` has (one grouped query)."""
    if not roles:
        return {}
    rows = conn.execute(
        select(rm.c.role, func.count())
        .select_from(rm.join(users, _LIVE_MEMBER))
        .where(rm.c.company_id == company_id, rm.c.role.in_(roles))
        .group_by(rm.c.role)
    )
    counts = dict.fromkeys(roles, 0)
    counts.update({row[0]: int(row[1]) for row in rows})
    return counts


def member_page(
    conn: Connection, company_id: str, role: str, *, offset: int, limit: int | None
) -> list[str]:
    """User ids of one page of ``role``'s live members, in the order they were added.

    ``limit`` None reads every member (only for filters other than ``value eq``).
    """
    stmt = (
        select(rm.c.user_id)
        .select_from(rm.join(users, _LIVE_MEMBER))
        .where(rm.c.company_id == company_id, rm.c.role == role)
        .order_by(rm.c.added, rm.c.user_id)
        .offset(offset)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [r.user_id for r in conn.execute(stmt)]


def roles_of(conn: Connection, company_id: str, user_id: str) -> list[str]:
    """The role codes ``user_id`` holds in ``company_id`` (one indexed read)."""
    rows = conn.execute(
        select(rm.c.role).where(rm.c.company_id == company_id, rm.c.user_id == user_id)
    )
    return [r.role for r in rows]
