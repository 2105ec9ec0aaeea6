"""The request log: the last N write requests of each company, for later inspection.

Rows are written by the audit middleware (``api/audit.py``), one small transaction per
write request after its response has gone out; the caller owns that transaction. Pruning is
by the ``(company_id, seq)`` index: everything older than the company's Nth newest row goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from concur_scim.store.tables import request_log


@dataclass(frozen=True)
class RequestLogEntry:
    """One audited write: who (company, subject), what (method, path, resource), result.

    ``detail`` is the redacted summary of the request body (None for a bodiless request).
    """

    company_id: str
    at: datetime
    correlation_id: str
    subject: str
    method: str
    path: str
    resource_type: str | None
    resource_id: str | None
    status: int
    detail: dict[str, Any] | None


def _clip(value: str | None, size: int) -> str | None:
    return None if value is None else value[:size]


def add_request(conn: Connection, entry: RequestLogEntry, *, keep: int) -> None:
    """Store ``entry`` and drop that company's rows beyond the ``keep`` newest.

    Values longer than their columns are cut to fit. Flushes only: the caller commits.
    """
    conn.execute(
        request_log.insert().values(
            company_id=entry.company_id,
            at=entry.at,
            correlation_id=entry.correlation_id[:128],
            subject=entry.subject[:255],
            method=entry.method[:8],
            path=entry.path[:2048],
            resource_type=_clip(entry.resource_type, 64),
            resource_id=_clip(entry.resource_id, 255),
            status=entry.status,
            detail=entry.detail,
        )
    )
    prune_requests(conn, entry.company_id, keep)


def prune_requests(conn: Connection, company_id: str, keep: int) -> int:
    """Delete the rows of ``company_id`` older than its ``keep`` newest; the count deleted.

    The cut-off is the seq of the ``keep``-th newest row, read from the index; with fewer
    rows than that the sub-query is NULL and nothing is deleted.
    """
    nth_newest = (
        select(request_log.c.seq)
        .where(request_log.c.company_id == company_id)
        .order_by(request_log.c.seq.desc())
        .offset(max(keep, 1) - 1)
        .limit(1)
        .scalar_subquery()
    )
    result = conn.execute(
        delete(request_log).where(
            request_log.c.company_id == company_id, request_log.c.seq < nth_newest
        )
    )
    return int(result.rowcount or 0)
