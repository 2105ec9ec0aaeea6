"""The request log: the last N journaled requests of each company, for later inspection.

Rows are written by the audit middleware (``api/audit.py``), one small transaction per
write request (and per failed or faulted read) after its response has gone out; the caller
owns that transaction. Pruning is by the ``(company_id, seq)`` index: everything older than
the company's Nth newest row goes. :func:`journal_page` reads them for ``GET /_admin/journal``
(docs/security.md "What is logged").
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select

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
    dialect: str | None = None
    response: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    fault_rule: str | None = None


@dataclass(frozen=True)
class JournalFilter:
    """What ``GET /_admin/journal`` narrows to; None matches anything. ``status_class`` is
    the hundreds digit of a ``4xx``-style filter; ``path_prefix`` matches from the start."""

    company_id: str | None = None
    dialect: str | None = None
    method: str | None = None
    status: int | None = None
    status_class: int | None = None
    path_prefix: str | None = None
    correlation_id: str | None = None
    since: datetime | None = None


def _clip(value: str | None, size: int) -> str | None:
    return None if value is None else value[:size]


def _row(entry: RequestLogEntry) -> dict[str, Any]:
    """``entry`` as a row, values longer than their columns cut to fit."""
    return {
        "company_id": entry.company_id,
        "at": entry.at,
        "correlation_id": entry.correlation_id[:128],
        "subject": entry.subject[:255],
        "method": entry.method[:8],
        "path": entry.path[:2048],
        "resource_type": _clip(entry.resource_type, 64),
        "resource_id": _clip(entry.resource_id, 255),
        "status": entry.status,
        "detail": entry.detail,
        "dialect": _clip(entry.dialect, 32),
        "response": entry.response,
        "error": entry.error,
        "fault_rule": entry.fault_rule,
    }


def add_request(conn: Connection, entry: RequestLogEntry, *, keep: int) -> None:
    """Store ``entry`` and drop that company's rows beyond the ``keep`` newest.

    Values longer than their columns are cut to fit. Flushes only: the caller commits.
    """
    add_requests(conn, [entry], keep=keep)


def add_requests(
    conn: Connection,
    entries: list[RequestLogEntry],
    *,
    keep: int,
    prune: Collection[str] | None = None,
) -> None:
    """Store ``entries`` in one statement (in order), then prune to its ``keep`` newest rows
    each company of ``prune`` (None: each company of ``entries``). Flushes only: the caller
    commits."""
    if not entries:
        return
    conn.execute(request_log.insert(), [_row(e) for e in entries])
    companies = dict.fromkeys(e.company_id for e in entries) if prune is None else prune
    for company_id in companies:
        prune_requests(conn, company_id, keep)


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


def _escaped(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def journal_page(
    conn: Connection, where: JournalFilter, *, offset: int, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """The number of rows matching ``where`` and one page of them, newest first."""
    c = request_log.c
    conditions: list[Any] = []
    if where.company_id is not None:
        conditions.append(c.company_id == where.company_id)
    if where.dialect is not None:
        conditions.append(c.dialect == where.dialect)
    if where.method is not None:
        conditions.append(c.method == where.method)
    if where.status is not None:
        conditions.append(c.status == where.status)
    if where.status_class is not None:
        low = where.status_class * 100
        conditions.append(and_(c.status >= low, c.status < low + 100))
    if where.path_prefix is not None:
        conditions.append(c.path.like(_escaped(where.path_prefix), escape="\\"))
    if where.correlation_id is not None:
        conditions.append(c.correlation_id == where.correlation_id)
    if where.since is not None:
        conditions.append(c.at >= where.since)
    condition = and_(True, *conditions)
    total = conn.execute(select(func.count()).select_from(request_log).where(condition)).scalar()
    rows = conn.execute(
        select(request_log).where(condition).order_by(c.seq.desc()).offset(offset).limit(limit)
    ).mappings()
    return int(total or 0), [dict(row) for row in rows]


def journal_row(conn: Connection, seq: int) -> dict[str, Any] | None:
    """The journal row numbered ``seq``, or None (pruned, reset or never written)."""
    row = conn.execute(select(request_log).where(request_log.c.seq == seq)).mappings().first()
    return None if row is None else dict(row)
