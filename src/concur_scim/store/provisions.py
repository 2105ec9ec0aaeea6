"""The provisioning repository: UPS requests, their operations and per-extension results.

The queue is these tables (DESIGN "The path of one provisioning request"; no queue lives in
memory). A worker takes a pending request with :func:`claim` (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, a conditional ``UPDATE`` on SQLite, where writers are serialised anyway) and
proves it still holds it at the start of every chunk of operations with :func:`hold`, in
the same transaction as the chunk's writes: a worker whose lease expired and was taken over
finds ``hold`` false and writes nothing, so every operation is applied once. The worker's
reads and writes of a chunk are set-wise (:func:`get_chunk`, :func:`add_result_rows`,
:func:`finish_operations`: one statement each, whatever the chunk's size). Every function
takes the caller's connection; none commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, or_, select, update

from concur_scim.store.records import utc
from concur_scim.store.tables import provision_operations, provision_results, provisions

PENDING = "pending"
COMPLETED = "completed"


@dataclass(frozen=True)
class ProvisionRecord:
    """One provisioning request with its counters (``operationsCount``, reference §3.4)."""

    id: str
    company_id: str
    provision_type: str
    correlation_id: str
    fail_on_errors: int | None
    state: str
    success: bool | None
    created: datetime
    last_modified: datetime
    completed: datetime | None
    total: int
    succeeded: int
    failed: int

    @property
    def pending(self) -> int:
        """Operations not finished yet."""
        return self.total - self.succeeded - self.failed


@dataclass(frozen=True)
class OperationRecord:
    """One stored operation of a request (``position`` is its id: 1, 2, ...)."""

    provision_id: str
    position: int
    bulk_id: str
    method: str
    path: str
    data: Any
    resource_id: str | None
    resolved: dict[str, Any] | None
    done: bool
    success: bool | None
    code: str | None
    lint: list[dict[str, Any]] | None = None  # scim/lint.py, when the request asked for it


@dataclass(frozen=True)
class ResultRecord:
    """One extension's result for one operation."""

    position: int
    urn: str
    result: str
    code: str | None
    messages: list[dict[str, Any]]


@dataclass(frozen=True)
class NewOperation:
    """An operation to store with a new request."""

    bulk_id: str
    method: str
    path: str
    data: Any
    lint: list[dict[str, Any]] | None = None


def insert_provision(
    conn: Connection,
    *,
    provision_id: str,
    company_id: str,
    provision_type: str,
    correlation_id: str,
    fail_on_errors: int | None,
    operations: Sequence[NewOperation],
    now: datetime,
) -> None:
    """Store a pending request and its operations (the caller's transaction makes it atomic)."""
    conn.execute(
        provisions.insert().values(
            id=provision_id,
            company_id=company_id,
            provision_type=provision_type,
            correlation_id=correlation_id,
            fail_on_errors=fail_on_errors,
            state=PENDING,
            created=now,
            last_modified=now,
        )
    )
    conn.execute(
        provision_operations.insert(),
        [
            {
                "provision_id": provision_id,
                "position": position,
                "company_id": company_id,
                "bulk_id": op.bulk_id,
                "method": op.method,
                "path": op.path,
                "data": op.data,
                "lint": op.lint,
                "done": False,
            }
            for position, op in enumerate(operations, start=1)
        ],
    )


def _counts(conn: Connection, provision_id: str) -> tuple[int, int, int]:
    ops = provision_operations.c
    row = conn.execute(
        select(
            func.count(),
            func.count().filter(and_(ops.done.is_(True), ops.success.is_(True))),
            func.count().filter(and_(ops.done.is_(True), ops.success.is_not(True))),
        ).where(ops.provision_id == provision_id)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def failed_count(conn: Connection, provision_id: str) -> int:
    """How many operations of the request are done and did not fully succeed."""
    return int(conn.execute(_FAILED_COUNT, {"pid": provision_id}).scalar_one())


def get_provision(conn: Connection, company_id: str, provision_id: str) -> ProvisionRecord | None:
    """The request ``provision_id`` of ``company_id`` with its counters, or None."""
    row = conn.execute(
        select(provisions).where(
            provisions.c.id == provision_id, provisions.c.company_id == company_id
        )
    ).first()
    if row is None:
        return None
    total, succeeded, failed = _counts(conn, provision_id)
    return ProvisionRecord(
        id=row.id,
        company_id=row.company_id,
        provision_type=row.provision_type,
        correlation_id=row.correlation_id,
        fail_on_errors=row.fail_on_errors,
        state=row.state,
        success=row.success,
        created=utc(row.created),
        last_modified=utc(row.last_modified),
        completed=utc(row.completed) if row.completed is not None else None,
        total=total,
        succeeded=succeeded,
        failed=failed,
    )


def claim(conn: Connection, owner: str, now: datetime, lease: timedelta) -> tuple[str, str] | None:
    """Take the oldest pending request nobody holds (or whose lease expired).

    Returns (provision id, company id) or None. PostgreSQL skips rows other workers have
    locked (``SKIP LOCKED``), so concurrent claimers never wait on each other; the update's
    own condition re-checks the lease, so two claimers can never both win.
    """
    free = and_(
        provisions.c.state == PENDING,
        or_(provisions.c.lease_expires.is_(None), provisions.c.lease_expires < now),
    )
    candidate = select(provisions.c.id).where(free).order_by(provisions.c.seq).limit(1)
    if conn.dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    found = conn.execute(candidate).scalar()
    if found is None:
        return None
    taken = conn.execute(
        update(provisions)
        .where(provisions.c.id == found, free)
        .values(lease_owner=owner, lease_expires=now + lease)
        .returning(provisions.c.company_id)
    ).scalar()
    return (found, taken) if taken is not None else None


# The statements every worker step runs, built once (building a statement per call costs
# more than running it on SQLite: bench/README.md).
_HOLD = (
    update(provisions)
    .where(
        provisions.c.id == bindparam("pid"),
        provisions.c.lease_owner == bindparam("owner"),
        provisions.c.state == PENDING,
    )
    .values(lease_expires=bindparam("expires"), last_modified=bindparam("now"))
)
_GET_OPERATION = select(provision_operations).where(
    provision_operations.c.provision_id == bindparam("pid"),
    provision_operations.c.position == bindparam("pos"),
)
_GET_CHUNK = (
    select(provision_operations)
    .where(
        provision_operations.c.provision_id == bindparam("pid"),
        provision_operations.c.position.in_(bindparam("positions", expanding=True)),
    )
    .order_by(provision_operations.c.position)
)
_GET_CHUNK_RESULTS = (
    select(provision_results)
    .where(
        provision_results.c.provision_id == bindparam("pid"),
        provision_results.c.position.in_(bindparam("positions", expanding=True)),
    )
    .order_by(provision_results.c.position, provision_results.c.written)
)
_FAILED_COUNT = select(func.count()).where(
    provision_operations.c.provision_id == bindparam("pid"),
    provision_operations.c.done.is_(True),
    provision_operations.c.success.is_not(True),
)
_RESOURCE_IDS = select(provision_operations.c.bulk_id, provision_operations.c.resource_id).where(
    provision_operations.c.provision_id == bindparam("pid"),
    provision_operations.c.bulk_id.in_(bindparam("bulk_ids", expanding=True)),
    provision_operations.c.resource_id.is_not(None),
)
_INSERT_RESULT = provision_results.insert()
_FINISH = (
    update(provision_operations)
    .where(
        provision_operations.c.provision_id == bindparam("b_pid"),
        provision_operations.c.position == bindparam("b_pos"),
    )
    .values(
        resource_id=bindparam("b_resource_id"),
        resolved=bindparam("b_resolved"),
        done=True,
        success=bindparam("b_success"),
        code=bindparam("b_code"),
        completed=bindparam("b_completed"),
    )
)
_RELEASE = (
    update(provisions)
    .where(provisions.c.id == bindparam("pid"), provisions.c.lease_owner == bindparam("owner"))
    .values(lease_owner=None, lease_expires=None)
)
_GET_RESULTS = (
    select(provision_results)
    .where(
        provision_results.c.provision_id == bindparam("pid"),
        provision_results.c.position == bindparam("pos"),
    )
    .order_by(provision_results.c.written)
)


def hold(conn: Connection, provision_id: str, owner: str, now: datetime, lease: timedelta) -> bool:
    """Renew ``owner``'s lease on a pending request; False if it no longer holds it.

    Called first in every step's transaction: on PostgreSQL the row stays locked until the
    step commits, so nobody can take the request over in the middle of a step.
    """
    held = conn.execute(
        _HOLD, {"pid": provision_id, "owner": owner, "expires": now + lease, "now": now}
    )
    return held.rowcount == 1


def release(conn: Connection, provision_id: str, owner: str) -> None:
    """Give the lease up at once (a worker stopping), so another worker need not wait."""
    conn.execute(_RELEASE, {"pid": provision_id, "owner": owner})


def _operation(row: Any) -> OperationRecord:
    return OperationRecord(
        provision_id=row.provision_id,
        position=row.position,
        bulk_id=row.bulk_id,
        method=row.method,
        path=row.path,
        data=row.data,
        resource_id=row.resource_id,
        resolved=row.resolved,
        done=row.done,
        success=row.success,
        code=row.code,
        lint=row.lint,
    )


def get_operations(conn: Connection, provision_id: str) -> list[OperationRecord]:
    """Every operation of a request, in order."""
    rows = conn.execute(
        select(provision_operations)
        .where(provision_operations.c.provision_id == provision_id)
        .order_by(provision_operations.c.position)
    )
    return [_operation(r) for r in rows]


def get_operation(conn: Connection, provision_id: str, position: int) -> OperationRecord:
    """One operation of a request (it exists: positions come from :func:`get_operations`)."""
    row = conn.execute(_GET_OPERATION, {"pid": provision_id, "pos": position}).one()
    return _operation(row)


def resource_ids(conn: Connection, provision_id: str, bulk_ids: Sequence[str]) -> dict[str, str]:
    """``{bulkId: user id}`` for those of ``bulk_ids`` whose operation wrote a user."""
    if not bulk_ids:
        return {}
    rows = conn.execute(_RESOURCE_IDS, {"pid": provision_id, "bulk_ids": list(bulk_ids)})
    return {r.bulk_id: r.resource_id for r in rows}


def get_chunk(
    conn: Connection, provision_id: str, positions: Sequence[int]
) -> tuple[dict[int, OperationRecord], dict[int, list[ResultRecord]]]:
    """The operations at ``positions`` and the result rows on record for them (two reads)."""
    params = {"pid": provision_id, "positions": list(positions)}
    operations = {r.position: _operation(r) for r in conn.execute(_GET_CHUNK, params)}
    return operations, _result_records(conn.execute(_GET_CHUNK_RESULTS, params))


def add_result_rows(
    conn: Connection, provision_id: str, results: Sequence[ResultRecord], now: datetime
) -> None:
    """Write the result rows of several operations at once (each row names its position).

    One ``executemany``; the primary key refuses a second result for the same extension.
    """
    if not results:
        return
    conn.execute(
        _INSERT_RESULT,
        [
            {
                "provision_id": provision_id,
                "position": r.position,
                "urn": r.urn,
                "result": r.result,
                "code": r.code,
                "messages": r.messages or None,
                "written": now,
            }
            for r in results
        ],
    )


@dataclass(frozen=True)
class FinishedOperation:
    """The final state of one operation, as :func:`finish_operations` records it."""

    position: int
    resource_id: str | None
    resolved: dict[str, Any] | None
    success: bool
    code: str
    completed: datetime


def finish_operations(
    conn: Connection, provision_id: str, finished: Sequence[FinishedOperation]
) -> None:
    """Mark several operations done, each with its user, identity decision and code
    (one ``executemany``)."""
    if not finished:
        return
    conn.execute(
        _FINISH,
        [
            {
                "b_pid": provision_id,
                "b_pos": f.position,
                "b_resource_id": f.resource_id,
                "b_resolved": f.resolved,
                "b_success": f.success,
                "b_code": f.code,
                "b_completed": f.completed,
            }
            for f in finished
        ],
    )


def _state_condition(state: str | None) -> Any:
    ops = provision_operations.c
    if state == "pending":
        return ops.done.is_(False)
    if state == "success":
        return and_(ops.done.is_(True), ops.success.is_(True))
    if state == "failed":
        return and_(ops.done.is_(True), ops.success.is_not(True))
    return None


def operation_page(
    conn: Connection, provision_id: str, *, state: str | None, offset: int, limit: int
) -> tuple[list[OperationRecord], int]:
    """One page of a request's operations in order, filtered by ``state``, and the total."""
    where = [provision_operations.c.provision_id == provision_id]
    condition = _state_condition(state)
    if condition is not None:
        where.append(condition)
    total = conn.execute(select(func.count()).select_from(provision_operations).where(*where))
    rows = conn.execute(
        select(provision_operations)
        .where(*where)
        .order_by(provision_operations.c.position)
        .offset(offset)
        .limit(limit)
    )
    return [_operation(r) for r in rows], int(total.scalar_one())


def get_results(
    conn: Connection, provision_id: str, positions: Sequence[int] | None = None
) -> dict[int, list[ResultRecord]]:
    """The result rows of a request's operations (all, or those at ``positions``)."""
    if positions is not None and len(positions) == 1:
        rows = conn.execute(_GET_RESULTS, {"pid": provision_id, "pos": positions[0]})
    else:
        query = select(provision_results).where(provision_results.c.provision_id == provision_id)
        if positions is not None:
            if not positions:
                return {}
            query = query.where(provision_results.c.position.in_(list(positions)))
        rows = conn.execute(
            query.order_by(provision_results.c.position, provision_results.c.written)
        )
    return _result_records(rows)


def _result_records(rows: Any) -> dict[int, list[ResultRecord]]:
    found: dict[int, list[ResultRecord]] = {}
    for row in rows:
        found.setdefault(row.position, []).append(
            ResultRecord(
                position=row.position,
                urn=row.urn,
                result=row.result,
                code=row.code,
                messages=list(row.messages or []),
            )
        )
    return found


def add_results(
    conn: Connection,
    provision_id: str,
    position: int,
    results: Sequence[ResultRecord],
    now: datetime,
) -> None:
    """Write result rows; the primary key refuses a second result for the same extension."""
    if not results:
        return
    conn.execute(
        provision_results.insert(),
        [
            {
                "provision_id": provision_id,
                "position": position,
                "urn": r.urn,
                "result": r.result,
                "code": r.code,
                "messages": r.messages or None,
                "written": now,
            }
            for r in results
        ],
    )


def set_identity(
    conn: Connection,
    provision_id: str,
    position: int,
    *,
    resource_id: str | None,
    resolved: dict[str, Any],
) -> None:
    """Record what the identity step decided: the user, and the extensions still to apply."""
    conn.execute(
        update(provision_operations)
        .where(
            provision_operations.c.provision_id == provision_id,
            provision_operations.c.position == position,
        )
        .values(resource_id=resource_id, resolved=resolved)
    )


def finish_operation(
    conn: Connection,
    provision_id: str,
    position: int,
    *,
    success: bool,
    code: str,
    now: datetime,
    resource_id: str | None = None,
) -> None:
    """Mark an operation done with its status code."""
    values: dict[str, Any] = {"done": True, "success": success, "code": code, "completed": now}
    if resource_id is not None:
        values["resource_id"] = resource_id
    conn.execute(
        update(provision_operations)
        .where(
            provision_operations.c.provision_id == provision_id,
            provision_operations.c.position == position,
        )
        .values(**values)
    )


def complete(conn: Connection, provision_id: str, now: datetime) -> None:
    """Mark a request completed; ``success`` is true when every operation succeeded."""
    _, _, failed = _counts(conn, provision_id)
    conn.execute(
        update(provisions)
        .where(provisions.c.id == provision_id, provisions.c.state == PENDING)
        .values(
            state=COMPLETED,
            success=failed == 0,
            completed=now,
            last_modified=now,
            lease_owner=None,
            lease_expires=None,
        )
    )


def lock_pending(conn: Connection, provision_id: str, now: datetime) -> bool:
    """Take a pending request away from whoever holds it (housekeeping); False if completed.

    The row stays locked until the caller commits; the holder's next :func:`hold` fails.
    """
    taken = conn.execute(
        update(provisions)
        .where(provisions.c.id == provision_id, provisions.c.state == PENDING)
        .values(lease_owner=None, lease_expires=None, last_modified=now)
    )
    return taken.rowcount == 1


def timed_out(conn: Connection, cutoff: datetime) -> list[str]:
    """Ids of pending requests created before ``cutoff``."""
    rows = conn.execute(
        select(provisions.c.id).where(provisions.c.state == PENDING, provisions.c.created < cutoff)
    )
    return [r.id for r in rows]


def purge(conn: Connection, cutoff: datetime) -> int:
    """Delete completed requests (operations and results cascade) completed before ``cutoff``."""
    ids = select(provisions.c.id).where(
        provisions.c.state == COMPLETED, provisions.c.completed < cutoff
    )
    # Delete children explicitly too: the cascade needs PRAGMA foreign_keys on SQLite, which a
    # foreign tool's connection may not set.
    conn.execute(delete(provision_results).where(provision_results.c.provision_id.in_(ids)))
    conn.execute(delete(provision_operations).where(provision_operations.c.provision_id.in_(ids)))
    return conn.execute(
        delete(provisions).where(provisions.c.state == COMPLETED, provisions.c.completed < cutoff)
    ).rowcount


def list_provisions(
    conn: Connection, *, company_id: str | None, state: str | None, limit: int
) -> list[ProvisionRecord]:
    """The newest ``limit`` requests (of ``company_id``, in ``state`` when given), newest
    first, with their counters."""
    query = select(provisions.c.id, provisions.c.company_id).order_by(provisions.c.seq.desc())
    if company_id is not None:
        query = query.where(provisions.c.company_id == company_id)
    if state is not None:
        query = query.where(provisions.c.state == state)
    rows = conn.execute(query.limit(limit)).all()
    found = (get_provision(conn, row.company_id, row.id) for row in rows)
    return [record for record in found if record is not None]


def provision_company(conn: Connection, provision_id: str) -> str | None:
    """The company a request belongs to, or None when no request has this id."""
    row = conn.execute(
        select(provisions.c.company_id).where(provisions.c.id == provision_id)
    ).first()
    return None if row is None else str(row.company_id)
