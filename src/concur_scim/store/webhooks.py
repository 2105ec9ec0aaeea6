"""SQL of provisionCompleted webhooks: each company's configuration and the delivery outbox.

A delivery row is inserted by :func:`insert_delivery` in the transaction that completes its
provisioning request, so it exists exactly when the completion does. Delivery loops take one
with :func:`claim` (a conditional UPDATE under a lease, like ``store.provisions.claim``) and
close each attempt with :func:`record_attempt`, which only the lease holder can do. The caller
owns every transaction; these functions flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from concur_scim.store.records import utc
from concur_scim.store.tables import provisions, webhook_deliveries, webhooks

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


@dataclass(frozen=True)
class WebhookConfig:
    """Where a company's provisionCompleted events go and the secret that signs them."""

    company_id: str
    url: str
    secret: str
    created: datetime
    updated: datetime


@dataclass(frozen=True)
class Completion:
    """What the event of a completed request says, and the webhook it goes to."""

    company_id: str
    correlation_id: str
    success: bool
    url: str


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery a loop holds: what to send, where, and how many attempts came before."""

    id: str
    company_id: str
    provision_id: str
    url: str
    payload: dict[str, Any]
    attempts: int


def get_webhook(conn: Connection, company_id: str) -> WebhookConfig | None:
    """The company's webhook, or None."""
    row = conn.execute(select(webhooks).where(webhooks.c.company_id == company_id)).first()
    if row is None:
        return None
    return WebhookConfig(row.company_id, row.url, row.secret, row.created, row.updated)


def put_webhook(conn: Connection, company_id: str, url: str, secret: str, now: datetime) -> None:
    """Create or replace the company's webhook (``created`` is kept on a replace)."""
    changed = conn.execute(
        update(webhooks)
        .where(webhooks.c.company_id == company_id)
        .values(url=url, secret=secret, updated=now)
    )
    if changed.rowcount == 0:
        conn.execute(
            insert(webhooks).values(
                company_id=company_id, url=url, secret=secret, created=now, updated=now
            )
        )


def delete_webhook(conn: Connection, company_id: str) -> bool:
    """Remove the company's webhook; False if it had none. Queued deliveries stay (they
    fail at their next attempt: there is no secret left to sign with)."""
    result = conn.execute(delete(webhooks).where(webhooks.c.company_id == company_id))
    return bool(result.rowcount)


def completion(conn: Connection, provision_id: str) -> Completion | None:
    """The completed request's event facts joined to its company's webhook; None when the
    company has no webhook (one indexed lookup, so completions without webhooks cost little)."""
    row = conn.execute(
        select(
            provisions.c.company_id,
            provisions.c.correlation_id,
            provisions.c.success,
            webhooks.c.url,
        )
        .join(webhooks, webhooks.c.company_id == provisions.c.company_id)
        .where(provisions.c.id == provision_id)
    ).first()
    if row is None:
        return None
    return Completion(row.company_id, row.correlation_id, bool(row.success), row.url)


def insert_delivery(
    conn: Connection,
    *,
    delivery_id: str,
    company_id: str,
    provision_id: str,
    url: str,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    """Queue a delivery, due at once."""
    conn.execute(
        insert(webhook_deliveries).values(
            id=delivery_id,
            company_id=company_id,
            provision_id=provision_id,
            url=url,
            payload=payload,
            state=PENDING,
            attempts=0,
            next_attempt=now,
            created=now,
        )
    )


def _due(now: datetime) -> Any:
    d = webhook_deliveries.c
    return and_(
        d.state == PENDING,
        d.next_attempt <= now,
        or_(d.lease_expires.is_(None), d.lease_expires < now),
    )


def claim(conn: Connection, owner: str, now: datetime, lease: timedelta) -> ClaimedDelivery | None:
    """Take the delivery due first that nobody holds (or whose lease expired), or None.

    As ``store.provisions.claim``: PostgreSQL skips rows other loops have locked, and the
    update re-checks the condition, so two claimers never both win.
    """
    d = webhook_deliveries.c
    candidate = select(d.id).where(_due(now)).order_by(d.next_attempt, d.seq).limit(1)
    if conn.dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    found = conn.execute(candidate).scalar()
    if found is None:
        return None
    row = conn.execute(
        update(webhook_deliveries)
        .where(d.id == found, _due(now))
        .values(lease_owner=owner, lease_expires=now + lease)
        .returning(d.id, d.company_id, d.provision_id, d.url, d.payload, d.attempts)
    ).first()
    if row is None:
        return None
    return ClaimedDelivery(
        row.id, row.company_id, row.provision_id, row.url, dict(row.payload), row.attempts
    )


def next_due(conn: Connection) -> datetime | None:
    """When the earliest pending delivery is due (None: nothing pending)."""
    d = webhook_deliveries.c
    value: datetime | None = conn.execute(
        select(func.min(d.next_attempt)).where(d.state == PENDING)
    ).scalar()
    return None if value is None else utc(value)


def record_attempt(
    conn: Connection,
    delivery_id: str,
    owner: str,
    *,
    now: datetime,
    status: int | None,
    error: str | None,
    state: str,
    next_attempt: datetime,
) -> bool:
    """Close one attempt of a delivery ``owner`` holds and give the lease back; False (and
    nothing written) when ``owner`` no longer holds it."""
    d = webhook_deliveries.c
    result = conn.execute(
        update(webhook_deliveries)
        .where(d.id == delivery_id, d.lease_owner == owner, d.state == PENDING)
        .values(
            attempts=d.attempts + 1,
            last_status=status,
            last_error=None if error is None else error[:1024],
            state=state,
            next_attempt=next_attempt,
            completed=None if state == PENDING else now,
            lease_owner=None,
            lease_expires=None,
        )
    )
    return result.rowcount == 1


def purge_deliveries(conn: Connection, cutoff: datetime) -> int:
    """Delete deliveries delivered or failed before ``cutoff``; the count deleted."""
    d = webhook_deliveries.c
    result = conn.execute(
        delete(webhook_deliveries).where(d.state != PENDING, d.completed < cutoff)
    )
    return int(result.rowcount or 0)


def deliveries(conn: Connection, company_id: str) -> list[dict[str, Any]]:
    """The company's deliveries, newest first (for tests and tools)."""
    d = webhook_deliveries.c
    rows = conn.execute(
        select(webhook_deliveries).where(d.company_id == company_id).order_by(d.seq.desc())
    ).mappings()
    return [dict(row) for row in rows]
