"""The live users of each company, counted as they are written (table ``user_counts``).

An unfiltered list of users answers ``totalResults`` (RFC 7644 §3.4.2) from these rows
instead of ``count(*)``, which reads one index entry per user: at 1,000,000 users that count
was the whole cost of a first page (bench/README.md, "Scale").

Contract: every write that makes a user live or not live calls :func:`add_live` in its own
transaction (``store/users.py``: insert, soft delete, hard delete of a live user;
``store/admin.py``: reset drops the rows with the users), so :func:`live_users` equals
``count(*)`` of the company's users with ``deleted_at IS NULL`` in every committed state.
A loader that writes ``users`` directly calls :func:`recount` afterwards.

The count is kept in :data:`STRIPES` rows per company; a writer adds to the stripe of its
process and thread. On PostgreSQL a writer holds its stripe's row lock until it commits, so
writers of one company queue only when their stripes collide; and since every transaction
of one thread adds to the same stripe of a company, two transactions never wait for each
other's stripes in opposite orders.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from concur_scim.store.tables import user_counts, users

STRIPES = 16


def _upsert(dialect: str) -> Any:
    """Add ``delta`` to a company's stripe, creating the row at the first write."""
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = make(user_counts).values(
        company_id=bindparam("company_id"), stripe=bindparam("stripe"), live=bindparam("delta")
    )
    return statement.on_conflict_do_update(
        index_elements=[user_counts.c.company_id, user_counts.c.stripe],
        set_={"live": user_counts.c.live + statement.excluded.live},
    )


# Built once: every create and delete of a user runs one of them.
_UPSERTS = {name: _upsert(name) for name in ("postgresql", "sqlite")}
_LIVE = select(func.coalesce(func.sum(user_counts.c.live), 0)).where(
    user_counts.c.company_id == bindparam("company_id")
)


def _stripe() -> int:
    return hash((os.getpid(), threading.get_native_id())) % STRIPES


def add_live(conn: Connection, company_id: str, delta: int) -> None:
    """Add ``delta`` (+1: a user became live, -1: one stopped being) to the count of
    ``company_id``, in the caller's transaction."""
    params = {"company_id": company_id, "stripe": _stripe(), "delta": delta}
    conn.execute(_UPSERTS[conn.dialect.name], params)


def live_users(conn: Connection, company_id: str) -> int:
    """The number of live users of ``company_id``."""
    return int(conn.execute(_LIVE, {"company_id": company_id}).scalar_one())


def recount(conn: Connection, company_id: str | None = None) -> None:
    """Set the count of ``company_id`` (None: of every company) from the users table."""
    drop = delete(user_counts)
    live: ColumnElement[bool] = users.c.deleted_at.is_(None)
    if company_id is not None:
        drop = drop.where(user_counts.c.company_id == company_id)
        live = live & (users.c.company_id == company_id)
    conn.execute(drop)
    counted = (
        select(users.c.company_id, literal(0), func.count())
        .where(live)
        .group_by(users.c.company_id)
    )
    conn.execute(insert(user_counts).from_select(["company_id", "stripe", "live"], counted))
