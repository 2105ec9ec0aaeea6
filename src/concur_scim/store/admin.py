"""SQL of the admin API: wiping a company's data, listing provisioning requests.

The caller owns the transaction; these functions flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, func, select

from concur_scim.scim.text import storable_text
from concur_scim.store.records import utc
from concur_scim.store.tables import (
    companies,
    group_members,
    groups,
    provision_operations,
    provision_results,
    provisions,
    request_log,
    role_groups,
    role_members,
    user_extensions,
    users,
)
from concur_scim.store.user_counts import recount

# Children before parents, so no delete trips a foreign key. Companies, credentials,
# signing keys and fault rules are not data of a company's directory: they stay.
_RESET_ORDER: tuple[tuple[str, Table], ...] = (
    ("requests", request_log),
    ("provisionResults", provision_results),
    ("provisionOperations", provision_operations),
    ("provisions", provisions),
    ("extensions", user_extensions),
    ("roleMemberships", role_members),
    ("roleGroups", role_groups),
    ("groupMemberships", group_members),
    ("groups", groups),
    ("users", users),
)


def company_exists(conn: Connection, company_id: str) -> bool:
    """Whether ``company_id`` names a company (never one holding NUL or a lone surrogate,
    which PostgreSQL refuses even to compare)."""
    if not storable_text(company_id):
        return False
    found = conn.execute(select(companies.c.id).where(companies.c.id == company_id)).first()
    return found is not None


def reset(conn: Connection, company_id: str | None) -> dict[str, int]:
    """Delete the directory data of ``company_id`` (None: of every company); the number of
    rows deleted per kind. ``provision_results`` has no company column: its rows are found
    through their request."""
    counts: dict[str, int] = {}
    for name, table in _RESET_ORDER:
        statement = delete(table)
        if company_id is not None:
            if table is provision_results:
                mine = select(provisions.c.id).where(provisions.c.company_id == company_id)
                statement = statement.where(table.c.provision_id.in_(mine))
            else:
                statement = statement.where(table.c.company_id == company_id)
        counts[name] = int(conn.execute(statement).rowcount or 0)
    # The live-user counts go with the users (store/user_counts.py).
    recount(conn, company_id)
    return counts


@dataclass(frozen=True)
class ProvisionSummary:
    """One provisioning request as the admin list shows it (reference §3.4 counters)."""

    id: str
    company_id: str
    provision_type: str
    state: str
    success: bool | None
    created: datetime
    completed: datetime | None
    total: int
    succeeded: int
    failed: int


def provision_page(
    conn: Connection, *, company_id: str | None, state: str | None, offset: int, limit: int
) -> tuple[int, list[ProvisionSummary]]:
    """The total and one page of requests, newest first, with their operation counters
    (one grouped sub-query for the page)."""
    where: list[Any] = []
    if company_id is not None:
        where.append(provisions.c.company_id == company_id)
    if state is not None:
        where.append(provisions.c.state == state)
    condition = and_(True, *where)
    total = conn.execute(select(func.count()).select_from(provisions).where(condition)).scalar()
    ops = provision_operations.c
    counts = (
        select(
            ops.provision_id,
            func.count().label("total"),
            func.count().filter(and_(ops.done.is_(True), ops.success.is_(True))).label("ok"),
            func.count().filter(and_(ops.done.is_(True), ops.success.is_not(True))).label("bad"),
        )
        .group_by(ops.provision_id)
        .subquery()
    )
    rows = conn.execute(
        select(provisions, counts.c.total, counts.c.ok, counts.c.bad)
        .outerjoin(counts, counts.c.provision_id == provisions.c.id)
        .where(condition)
        .order_by(provisions.c.seq.desc())
        .offset(offset)
        .limit(limit)
    )
    page = [
        ProvisionSummary(
            id=row.id,
            company_id=row.company_id,
            provision_type=row.provision_type,
            state=row.state,
            success=row.success,
            created=utc(row.created),
            completed=utc(row.completed) if row.completed is not None else None,
            total=int(row.total or 0),
            succeeded=int(row.ok or 0),
            failed=int(row.bad or 0),
        )
        for row in rows
    ]
    return int(total or 0), page
