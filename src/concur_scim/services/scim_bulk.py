"""RFC 7644 §3.7 synchronous Bulk: apply a BulkRequest's operations within one request.

:func:`apply_bulk` runs the operations of a checked :class:`~concur_scim.scim.bulk_request.
BulkRequest` and returns one :class:`OperationResult` per operation it processed. Contract:

- **One code path.** Each operation calls the service function of the matching single
  request (``services/users.py``, ``services/groups.py``), with the same options; its
  ``version`` is that request's ``If-Match`` (RFC 7644 §3.14), so a mismatch is its 412.
- **Atomic per operation.** Each runs in a SAVEPOINT of the caller's transaction: a failed
  operation leaves nothing behind, the others stand (§3.7: "MUST continue performing as many
  changes as possible and disregard partial failures"). The caller owns the transaction and
  commits it.
- **bulkId references** (§3.7.2): ``"bulkId:<id>"`` in a path or anywhere in ``data`` (group
  members, a manager…) names the resource of the operation with that bulkId. Operations run
  in request order, except that one runs after every operation it references (the dependency
  order of ``services/bulk.py``, shared with User Provisioning), so a forward reference works.
  A reference to an unknown bulkId, to itself, within a cycle, or to an operation that failed
  or created nothing fails that operation with 400 ``invalidValue``. Cycles are not
  attempted: §3.7.2 asks a server to try (creating, then patching) and lets it give up with
  409; this one refuses them as it refuses any reference it cannot resolve first. A string
  value that starts with ``bulkId:`` is read as such a reference.
- **failOnErrors** (§3.7.3): once that many operations have failed, the rest are neither
  processed nor reported.
- **Authorisation** is the caller's: ``authorize`` is called inside the operation's
  SAVEPOINT with its resolved target, before the write, and may refuse (a ScimError such as
  Forbidden fails that operation only) or adjust ``target.data`` in place.

A ScimError fails its operation with that error. The database being out of reach
(``OperationalError``) ends the whole request, as it would a single one. Any other exception
is logged and fails its operation with a 500 that carries no internal text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from concur_scim.scim.bulk_request import BulkOperation, BulkRequest
from concur_scim.scim.errors import InternalError, InvalidValue, NotFound, ScimError
from concur_scim.scim.text import storable_text
from concur_scim.services import bulk
from concur_scim.services import groups as group_service
from concur_scim.services import users as user_service
from concur_scim.services.common import Clock
from concur_scim.store.records import ResourceRecord

log = logging.getLogger("concur_scim.bulk")

# The status of a successful operation, as the single request answers it (RFC 7644 §3.3,
# §3.5, §3.6). Bulk results carry no resource body, so every PATCH is 200, as in §3.7.3's
# example, where the single group PATCH route answers 204 to spare the body.
SUCCESS_STATUS = {"POST": 201, "PUT": 200, "PATCH": 200, "DELETE": 204}


@dataclass(frozen=True)
class Target:
    """What one operation is about to do, its bulkId references resolved: ``resource_type``
    ``User`` or ``Group``; ``resource_id`` None for a create; ``data`` the body (a fresh
    copy, which ``authorize`` may edit in place), None for a DELETE."""

    method: str
    resource_type: str
    resource_id: str | None
    data: Any


@dataclass(frozen=True)
class OperationResult:
    """The outcome of one processed operation.

    ``resource_id`` is the resource the operation wrote or addressed (resolved when the path
    named a bulkId; as sent when it could not be resolved; None for a failed create);
    ``version`` the written resource's entity tag (None after a DELETE or a failure);
    ``error`` the SCIM error of a failed operation.
    """

    operation: BulkOperation
    status: int
    resource_id: str | None = None
    version: str | None = None
    error: ScimError | None = None


Authorize = Callable[[Connection, Target], None]


@dataclass(frozen=True)
class _Writer:
    """The service functions of one endpoint, as the single-resource routes call them."""

    resource_type: str
    create: Callable[..., ResourceRecord]
    replace: Callable[..., ResourceRecord]
    patch: Callable[..., ResourceRecord]
    delete: Callable[..., None]
    takes_user_options: bool


WRITERS: Mapping[str, _Writer] = {
    "Users": _Writer(
        "User",
        user_service.create_user,
        user_service.replace_user,
        user_service.patch_user,
        user_service.delete_user,
        takes_user_options=True,
    ),
    "Groups": _Writer(
        "Group",
        group_service.create_group,
        group_service.replace_group,
        group_service.patch_group,
        group_service.delete_group,
        takes_user_options=False,
    ),
}


def apply_bulk(
    conn: Connection,
    company_id: str,
    request: BulkRequest,
    *,
    clock: Clock,
    authorize: Authorize,
    user_options: Mapping[str, Any] | None = None,
) -> list[OperationResult]:
    """Apply ``request``'s operations for ``company_id``; the results in the order the
    operations ran (request order, but for forward references). ``user_options`` are the
    keyword options the single user routes pass (``check_manager``)."""
    operations = request.operations
    order, problems = bulk.dependency_order(
        [
            (op.position, key, op.path, op.data)
            for op, key in zip(operations, _keys(operations), strict=True)
        ]
    )
    created: dict[str, str] = {}  # bulkId → the id of the resource its operation wrote
    results: list[OperationResult] = []
    errors = 0
    for position in order:
        if request.fail_on_errors is not None and errors >= request.fail_on_errors:
            break
        operation = operations[position]
        result = _run(
            conn,
            company_id,
            operation,
            problems.get(position),
            created,
            clock=clock,
            authorize=authorize,
            user_options=user_options or {},
        )
        results.append(result)
        if result.error is not None:
            errors += 1
        elif operation.bulk_id is not None and result.version is not None:
            # Only a write leaves a resource to refer to: a DELETE's bulkId names none.
            assert result.resource_id is not None  # a written record has its id
            created[operation.bulk_id] = result.resource_id
    return results


def _keys(operations: tuple[BulkOperation, ...]) -> list[str]:
    """Each operation's bulkId, or for one without a key that nothing references, so that
    ``dependency_order`` (which keys operations by bulkId) cannot confuse them."""
    taken = {op.bulk_id for op in operations if op.bulk_id is not None}
    for op in operations:
        taken |= bulk.references(op.data) | bulk.path_references(op.path)
    keys = []
    for op in operations:
        key = op.bulk_id
        if key is None:
            key = f"#{op.position}"
            while key in taken:
                key += "#"
        keys.append(key)
    return keys


def _run(
    conn: Connection,
    company_id: str,
    operation: BulkOperation,
    problem: str | None,
    created: dict[str, str],
    *,
    clock: Clock,
    authorize: Authorize,
    user_options: Mapping[str, Any],
) -> OperationResult:
    """One operation: resolve its references, then authorise and write in a SAVEPOINT."""
    resource_id = operation.resource_id
    if resource_id is not None:
        resource_id = bulk.substitute(resource_id, created)
    try:
        if problem is not None:
            raise InvalidValue(problem)
        data = bulk.substitute(operation.data, created)
        unresolved = sorted(bulk.references(data) | bulk.references(resource_id))
        if unresolved:
            raise InvalidValue(
                f"bulkId '{unresolved[0]}' refers to an operation that failed or wrote no"
                " resource (RFC 7644 §3.7.2)"
            )
        if resource_id is not None and not storable_text(resource_id):
            # No resource has such an id, and the databases refuse to compare it: the
            # single route's answer (api/middleware.py, PathNormalizer).
            raise NotFound("no such resource")
        writer = WRITERS[operation.endpoint]
        target = Target(operation.method, writer.resource_type, resource_id, data)
        with conn.begin_nested():
            authorize(conn, target)
            record = _write(
                conn, company_id, writer, target, operation.version, clock, user_options
            )
    except ScimError as error:
        return OperationResult(operation, error.status, resource_id, error=error)
    except OperationalError:
        raise  # the database is out of reach: the whole request fails (503), as a single one
    except Exception:
        # A value the database refuses that validation let through, or a bug: this
        # operation fails, the others stand, and the client learns nothing internal.
        log.exception(
            "bulk operation %d (%s %s) failed",
            operation.position,
            operation.method,
            operation.endpoint,
        )
        internal = InternalError("the operation could not be applied")
        return OperationResult(operation, internal.status, resource_id, error=internal)
    status = SUCCESS_STATUS[operation.method]
    if record is None:
        return OperationResult(operation, status, resource_id)
    return OperationResult(operation, status, record.id, version=record.etag)


def _write(
    conn: Connection,
    company_id: str,
    writer: _Writer,
    target: Target,
    version: str | None,
    clock: Clock,
    user_options: Mapping[str, Any],
) -> ResourceRecord | None:
    """The single request's service call; the written record (None after a DELETE)."""
    options = dict(user_options) if writer.takes_user_options else {}
    if target.method == "POST":
        return writer.create(conn, company_id, target.data, clock=clock, **options)
    resource_id = target.resource_id
    assert resource_id is not None  # bulk_request.parse: only a POST has no id
    if target.method == "DELETE":
        writer.delete(conn, company_id, resource_id, if_match=version, clock=clock)
        return None
    write = writer.replace if target.method == "PUT" else writer.patch
    return write(
        conn, company_id, resource_id, target.data, clock=clock, if_match=version, **options
    )
