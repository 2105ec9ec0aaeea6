"""Fault rules and admin flags (tables ``fault_rules`` and ``admin_flags``, migration 0007).

The caller owns the transaction: every function here flushes, none commits. A ``count``
rule is spent through :func:`consume`, one conditional ``UPDATE`` per answer, so several
processes sharing a rule make exactly ``count`` answers between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from concur_scim.store.records import utc
from concur_scim.store.tables import admin_flags, fault_rules


@dataclass(frozen=True)
class FaultRuleRecord:
    """One stored rule: what it matches (None: anything), how often, and its action."""

    id: str
    company_id: str | None
    dialect: str | None
    method: str | None
    path: str | None
    remaining: int | None
    probability: float | None
    seed: int | None
    action: dict[str, Any]
    created: datetime


def _record(row: Any) -> FaultRuleRecord:
    return FaultRuleRecord(
        id=row.id,
        company_id=row.company_id,
        dialect=row.dialect,
        method=row.method,
        path=row.path,
        remaining=row.remaining,
        probability=row.probability,
        seed=row.seed,
        action=dict(row.action),
        created=utc(row.created),
    )


def insert_rule(conn: Connection, rule: FaultRuleRecord) -> None:
    """Store ``rule``."""
    conn.execute(
        fault_rules.insert().values(
            id=rule.id,
            company_id=rule.company_id,
            dialect=rule.dialect,
            method=rule.method,
            path=rule.path,
            remaining=rule.remaining,
            probability=rule.probability,
            seed=rule.seed,
            action=rule.action,
            created=rule.created,
        )
    )


def live_rules(conn: Connection, company_id: str | None = None) -> list[FaultRuleRecord]:
    """Rules not spent, oldest first; with ``company_id``, those that can match it."""
    query = select(fault_rules).where(
        (fault_rules.c.remaining.is_(None)) | (fault_rules.c.remaining > 0)
    )
    if company_id is not None:
        query = query.where(
            (fault_rules.c.company_id.is_(None)) | (fault_rules.c.company_id == company_id)
        )
    return [_record(row) for row in conn.execute(query.order_by(fault_rules.c.seq))]


def all_rules(conn: Connection) -> list[FaultRuleRecord]:
    """Every rule, spent ones included, oldest first."""
    return [_record(r) for r in conn.execute(select(fault_rules).order_by(fault_rules.c.seq))]


def consume(conn: Connection, rule_id: str) -> bool:
    """Take one answer from a ``count`` rule; False when it is spent (or gone)."""
    result = conn.execute(
        update(fault_rules)
        .where(fault_rules.c.id == rule_id, fault_rules.c.remaining > 0)
        .values(remaining=fault_rules.c.remaining - 1)
    )
    return bool(result.rowcount)


def remaining(conn: Connection, rule_id: str) -> int | None:
    """The answers a ``count`` rule still makes (None: gone, or not a count rule)."""
    return conn.execute(select(fault_rules.c.remaining).where(fault_rules.c.id == rule_id)).scalar()


def delete_rule(conn: Connection, rule_id: str) -> bool:
    """Delete one rule; False if there was none with that id."""
    return bool(conn.execute(delete(fault_rules).where(fault_rules.c.id == rule_id)).rowcount)


def delete_rules(conn: Connection) -> int:
    """Delete every rule; how many there were."""
    return int(conn.execute(delete(fault_rules)).rowcount or 0)


def get_flag(conn: Connection, name: str) -> Any:
    """The value of flag ``name``, or None when it was never set."""
    return conn.execute(select(admin_flags.c.value).where(admin_flags.c.name == name)).scalar()


def set_flag(conn: Connection, name: str, value: Any, now: datetime) -> None:
    """Set flag ``name`` to ``value`` (a JSON value)."""
    changed = conn.execute(
        update(admin_flags).where(admin_flags.c.name == name).values(value=value, updated=now)
    )
    if not changed.rowcount:
        conn.execute(admin_flags.insert().values(name=name, value=value, updated=now))
