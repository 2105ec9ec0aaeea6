"""User Provisioning v4: submit requests, resolve them chunk by chunk, read their status.

DESIGN "The path of one provisioning request" and reference/concur-v4.md §3. A request is
stored with its operations before the client gets its answer (:func:`submit` for ``/Bulk``,
:func:`provision_user` for ``/Users``, which applies identity at once). A worker then
resolves each operation (:func:`process`): first identity (core + enterprise + sap) through
the same user service functions the synchronous routes call, then each downstream extension
through its handler (``services/provision_handlers.py``), in Concur's order.

Chunks: the worker runs a request's operations in bulkId-dependency order, up to
:data:`CHUNK_SIZE` of them in one transaction (:func:`process`, :class:`_Chunk`). A chunk
renews the lease once (``store.provisions.hold``, which on PostgreSQL also locks the request
until the commit), reads its operations and their results on record at once, runs each
operation whole (identity, then every extension handler; an extension's rows are written
with one ``executemany`` when its operation ends), and writes its result rows and the
operations' final states with one ``executemany`` each, in that same transaction. The last
chunk also completes the request and queues its webhook. ``stop`` is asked before each
operation; a True answer commits the chunk so far and gives the lease back with it.

Exactly once: a chunk is atomic. A worker that dies mid-chunk leaves nothing of it (the
operations before it are committed with their results); one whose lease was taken over
finds ``hold`` false and writes nothing more. The next claimant skips every operation on
record as done, so each identity write and each extension write happens once.

Failures: a SCIM error of an identity write is rolled back to a SAVEPOINT of its own and
reported on its operation; a SCIM error of an extension handler needs none (its write is
still deferred) and is reported as that extension's result. Any other error of a chunk
(a bug, a value the database refuses: on PostgreSQL such an error also aborts the
transaction) rolls the whole chunk back, and its operations are run again one per
transaction in the careful mode, where each extension handler has its own SAVEPOINT and
writes at once, so the error is reported on the one operation it belongs to
(``INTERNAL_ERROR``, code 500) and the others are applied as if nothing happened. Only an
unreachable database (``OperationalError``) and a lost lease stop a request: nothing of the
chunk is recorded, and it is retried.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Histogram
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from concur_scim.scim.errors import InternalError, InvalidValue, ScimError, concur_messages
from concur_scim.scim.patch import PatchOperation, apply_patch, parse_patch_request
from concur_scim.scim.registry import (
    CORE_USER,
    ENTERPRISE_USER,
    ResourceSchema,
    downstream_schemas,
    user_schema,
)
from concur_scim.scim.unknown import skip_unknown_sub_attributes, unknown_attributes
from concur_scim.services import bulk, extensions, webhooks
from concur_scim.services import users as user_service
from concur_scim.services.common import Clock
from concur_scim.services.faults import ExtensionFaults, extension_faults
from concur_scim.services.provision_handlers import (
    BY_URN,
    HANDLERS,
    ExtensionRows,
    HandlerContext,
    Message,
    Outcome,
    message,
    unknown_warnings,
)
from concur_scim.store import extensions as extension_store
from concur_scim.store import provisions as store
from concur_scim.store import webhooks as webhook_store
from concur_scim.store.db import unit_of_work
from concur_scim.store.provisions import NewOperation, OperationRecord, ResultRecord
from concur_scim.store.records import ResourceRecord

# Every extension a status reports, in the order of reference §3.4's list.
EXTENSION_NAMES = (
    CORE_USER,
    ENTERPRISE_USER,
    extensions.TRAVEL_USER,
    extensions.SPEND_USER,
    extensions.SPEND_ROLE,
    extensions.SPEND_APPROVER,
    extensions.SPEND_APPROVER_LIMIT,
    extensions.SPEND_DELEGATE,
    extensions.SPEND_USER_PREFERENCE,
    extensions.SPEND_WORKFLOW_PREFERENCE,
    extensions.SPEND_INVOICE_PREFERENCE,
    extensions.PAYROLL,
)
_DOWNSTREAM = {urn.lower(): urn for urn in extensions.DOWNSTREAM_URNS} | {
    alias.lower(): urn for alias, urn in extensions.URN_ALIASES
}
# The status code of an operation or extension that was not attempted (inferred: Concur
# publishes none): 424 Failed Dependency, for "blocked by what came before".
NOT_PROCESSED_CODE = "424"
TIMEOUT_CODE = "408"
_SUCCESS_CODES = {"POST": "201", "PUT": "200", "PATCH": "200", "DELETE": "204"}

T = TypeVar("T")
log = logging.getLogger("concur_scim.provisioning")


class LeaseLost(Exception):
    """The worker no longer holds the request (taken over, completed or timed out)."""


@cache
def provisioning_schema() -> ResourceSchema:
    """The User as UPS sees it: the identity schemas plus every downstream extension.

    PATCH paths may name spend and travel attributes (§3.6); this schema resolves them, and
    the patched document is split back into identity and extensions. The aliases of
    ``extensions.URN_ALIASES`` (the travel URN without ``:User``) name their extension.
    """
    user = user_schema()
    return ResourceSchema(
        name=user.name,
        endpoint=user.endpoint,
        core=user.core,
        extensions=(*user.extensions, *downstream_schemas().values()),
        models=user.models,
        aliases=extensions.URN_ALIASES,
    )


# -- identity -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityOutcome:
    """What the identity step did.

    ``record`` is the written user (None after a DELETE); ``results`` the core and enterprise
    rows; ``apply`` the downstream extension payloads still to apply, by URN (None removes
    the extension); ``code`` the operation's status code on full success.
    """

    user_id: str
    record: ResourceRecord | None
    results: list[ResultRecord]
    apply: dict[str, Any]
    code: str


def _split(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    identity: dict[str, Any] = {}
    downstream: dict[str, Any] = {}
    for key, value in data.items():
        urn = _DOWNSTREAM.get(key.lower()) if isinstance(key, str) else None
        if urn is None:
            identity[key] = value
        else:
            downstream[urn] = value
    return identity, downstream


def _fix_patch_paths(body: Any) -> Any:
    """Concur's trailing-colon extension paths (``urn:…:Role:``, §3.6) as bare URNs."""
    if not isinstance(body, dict):
        return body
    fixed = dict(body)
    for key, ops in body.items():
        if isinstance(key, str) and key.lower() == "operations" and isinstance(ops, list):
            fixed[key] = [
                {
                    k: v.rstrip(":")
                    if isinstance(k, str) and k.lower() == "path" and isinstance(v, str)
                    else v
                    for k, v in op.items()
                }
                if isinstance(op, dict)
                else op
                for op in ops
            ]
    return fixed


def _identity_results(
    sent: dict[str, Any], notes: list[Message], changed_enterprise: bool
) -> list[ResultRecord]:
    schema = user_schema()
    ignored = unknown_attributes(sent, schema.core, schema.extensions)
    core_notes = [
        n
        for urn, paths in ignored.items()
        if urn != ENTERPRISE_USER
        for n in unknown_warnings(paths)
    ]
    # ``notes``: the manager left out (enterprise) and the warnings of the Concur rules
    # (scim/rule_book.py), each reported on the schema its path is in.
    core_notes += [n for n in notes if not _in_enterprise(n)]
    ent_notes = unknown_warnings(ignored.get(ENTERPRISE_USER, [])) + [
        n for n in notes if _in_enterprise(n)
    ]
    if any(n["type"] == "error" for n in ent_notes):
        enterprise = ResultRecord(0, ENTERPRISE_USER, "error", "400", ent_notes)
    else:
        kind = "success" if changed_enterprise else "no-op"
        enterprise = ResultRecord(0, ENTERPRISE_USER, kind, "200", ent_notes)
    return [ResultRecord(0, CORE_USER, "success", "200", core_notes), enterprise]


def _in_enterprise(note: Message) -> bool:
    return str(note.get("schemaPath", "")).lower().startswith(ENTERPRISE_USER.lower())


def _sent_enterprise(identity: dict[str, Any]) -> bool:
    return any(
        isinstance(k, str) and k.lower().startswith(ENTERPRISE_USER.lower()) for k in identity
    )


def apply_identity(
    conn: Connection,
    company_id: str,
    method: str,
    user_id: str | None,
    data: Any,
    clock: Clock,
) -> IdentityOutcome:
    """Apply an operation's identity part through the user service (strict, Concur rules).

    POST creates, PUT replaces, PATCH patches (its paths may also reach the downstream
    extensions; what it changes there is returned in ``apply``), DELETE deletes (hard, as
    UPS does, §9 item 4). A manager who is not a user of the company does not fail the
    operation: it is left out and reported on the enterprise extension. Raises the SCIM
    error of a write the user service refuses; nothing is written then.
    """
    notes: list[Message] = []
    if method == "DELETE":
        assert user_id is not None
        user_service.delete_user(conn, company_id, user_id, clock=clock)
        results = [ResultRecord(0, CORE_USER, "success", "200", [])]
        return IdentityOutcome(user_id, None, results, {}, _SUCCESS_CODES[method])
    if method == "PATCH":
        assert user_id is not None
        return _patch_identity(conn, company_id, user_id, data, clock)
    if not isinstance(data, dict):
        raise InvalidValue("the operation's data must be a User object")
    identity, downstream = _split(data)
    if method == "POST":
        record = user_service.create_user(
            conn, company_id, identity, clock=clock, strict=True, notes=notes, warnings=notes
        )
    else:
        assert user_id is not None
        record = user_service.replace_user(
            conn,
            company_id,
            user_id,
            identity,
            clock=clock,
            strict=True,
            notes=notes,
            warnings=notes,
        )
    results = _identity_results(identity, notes, _sent_enterprise(identity))
    return IdentityOutcome(record.id, record, results, downstream, _SUCCESS_CODES[method])


def parse_provisioning_patch(body: Any) -> list[PatchOperation]:
    """The operations of a User Provisioning PatchOp body, resolved against
    :func:`provisioning_schema` (identity and downstream paths, §3.6), exactly as the
    worker and ``PATCH /Users`` apply them. Raises what ``parse_patch_request`` raises."""
    return read_provisioning_patch(body)[0]


def read_provisioning_patch(body: Any) -> tuple[list[PatchOperation], list[str]]:
    """:func:`parse_provisioning_patch`, and the paths it left out: an operation whose path
    names a sub-attribute no schema defines (``name.nickName``, ``…:User:manager.foo``) is
    not applied but reported, as an UNKNOWN_ATTRIBUTE warning of the status (§3.4), the way
    unknown attributes of a body are (``scim/unknown.py``); the rest of the PATCH applies.
    Other dialects keep refusing such a path (400 invalidPath, RFC 7644 §3.5.2)."""
    schema = provisioning_schema()
    fixed, ignored = skip_unknown_sub_attributes(_fix_patch_paths(body), schema)
    return parse_patch_request(fixed, schema), ignored


def _patch_identity(
    conn: Connection, company_id: str, user_id: str, body: Any, clock: Clock
) -> IdentityOutcome:
    schema = provisioning_schema()
    operations, ignored = read_provisioning_patch(body)
    record = user_service.get_user(conn, company_id, user_id)
    stored = extension_store.get_extensions(
        conn, company_id, [user_id], extensions.DOWNSTREAM_URNS
    ).get(user_id, {})
    patched = apply_patch({**record.doc, **stored}, operations, schema, resource_id=user_id)
    identity, downstream = _split(patched)
    notes: list[Message] = []
    written = user_service.replace_user(
        conn, company_id, user_id, identity, clock=clock, strict=True, notes=notes, warnings=notes
    )
    changed = written.doc.get(ENTERPRISE_USER) != record.doc.get(ENTERPRISE_USER)
    apply = {
        urn: downstream.get(urn)
        for urn in extensions.DOWNSTREAM_URNS
        if downstream.get(urn) != stored.get(urn)
    }
    results = _identity_results({}, notes + unknown_warnings(ignored), changed)
    return IdentityOutcome(user_id, written, results, apply, _SUCCESS_CODES["PATCH"])


# -- submitting -----------------------------------------------------------------------------


def submit(
    conn: Connection,
    company_id: str,
    request: bulk.BulkRequest,
    *,
    correlation_id: str,
    now: datetime,
) -> str:
    """Store a Bulk request and its operations (the caller commits); returns its id."""
    provision_id = str(uuid.uuid4())
    store.insert_provision(
        conn,
        provision_id=provision_id,
        company_id=company_id,
        provision_type="Bulk",
        correlation_id=correlation_id,
        fail_on_errors=request.fail_on_errors,
        operations=request.operations,
        now=now,
    )
    return provision_id


def provision_user(
    conn: Connection,
    company_id: str,
    operation: NewOperation,
    *,
    correlation_id: str,
    clock: Clock,
) -> tuple[IdentityOutcome, str]:
    """A UPS ``/Users`` request (§3.1): identity now, downstream extensions queued.

    Raises the identity step's SCIM error (the caller's transaction then stores nothing).
    Returns the identity outcome and the provision id; the request is completed at once
    when it carries no downstream extension.
    """
    user_id = operation.path.split("/")[2] if operation.path.count("/") == 2 else None
    outcome = apply_identity(conn, company_id, operation.method, user_id, operation.data, clock)
    provision_id = str(uuid.uuid4())
    now = clock()
    store.insert_provision(
        conn,
        provision_id=provision_id,
        company_id=company_id,
        provision_type="User",
        correlation_id=correlation_id,
        fail_on_errors=None,
        operations=[operation],
        now=now,
    )
    _record_identity(conn, provision_id, 1, outcome, now)
    if not outcome.apply:
        _complete(conn, provision_id, now)
    return outcome, provision_id


def _complete(conn: Connection, provision_id: str, now: datetime) -> None:
    """Complete a request and, in the same transaction, queue its provisionCompleted
    webhook delivery if its company has a webhook (services/webhooks.py)."""
    store.complete(conn, provision_id, now)
    webhooks.enqueue_completed(conn, provision_id, now)


def _record_identity(
    conn: Connection, provision_id: str, position: int, outcome: IdentityOutcome, now: datetime
) -> None:
    results = list(outcome.results)
    written = {r.urn for r in results}
    results += [
        ResultRecord(position, urn, "no-op", "200", [])
        for urn in EXTENSION_NAMES
        if urn not in written and urn not in outcome.apply
    ]
    store.add_results(conn, provision_id, position, results, now)
    store.set_identity(
        conn,
        provision_id,
        position,
        resource_id=outcome.user_id,
        resolved={"code": outcome.code, "apply": outcome.apply},
    )
    if not outcome.apply:
        _finish(conn, provision_id, position, outcome.code, now, outcome.user_id)


def _finish(
    conn: Connection,
    provision_id: str,
    position: int,
    code: str,
    now: datetime,
    resource_id: str | None = None,
) -> None:
    """Mark an operation whose every extension has a result done: 207 if any failed."""
    rows = store.get_results(conn, provision_id, [position]).get(position, [])
    failed = any(r.result == "error" for r in rows)
    store.finish_operation(
        conn,
        provision_id,
        position,
        success=not failed,
        code="207" if failed else code,
        now=now,
        resource_id=resource_id,
    )


def _fail(conn: Connection, op: OperationRecord, error: ScimError, now: datetime) -> None:
    """Identity failed: core reports the error, every other extension is not processed."""
    messages = [
        {**m, "schemaPath": m.get("schemaPath") or CORE_USER} for m in concur_messages(error)
    ]
    code = str(error.status)
    results = [ResultRecord(op.position, CORE_USER, "error", code, messages)]
    results += [
        ResultRecord(op.position, urn, "not-processed", NOT_PROCESSED_CODE, [])
        for urn in EXTENSION_NAMES[1:]
    ]
    store.add_results(conn, op.provision_id, op.position, results, now)
    store.finish_operation(conn, op.provision_id, op.position, success=False, code=code, now=now)


def _skip(conn: Connection, op: OperationRecord, reason: Message, code: str, now: datetime) -> None:
    """The operation is not attempted: every extension without a result is not processed."""
    have = {
        r.urn for r in store.get_results(conn, op.provision_id, [op.position]).get(op.position, [])
    }
    results = [
        ResultRecord(op.position, urn, "not-processed", code, [reason] if urn == CORE_USER else [])
        for urn in EXTENSION_NAMES
        if urn not in have
    ]
    store.add_results(conn, op.provision_id, op.position, results, now)
    store.finish_operation(conn, op.provision_id, op.position, success=False, code=code, now=now)


# -- the worker's chunks --------------------------------------------------------------------

CHUNK_SIZE = 25
# This process's chunk times, for GET /metrics (api/metrics.py) where the worker is embedded.
WORKER_METRICS = CollectorRegistry(auto_describe=True)
CHUNK_SECONDS = Histogram(
    "concur_scim_worker_chunk_seconds",
    "Time to run one chunk of provisioning operations (one transaction).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=WORKER_METRICS,
)
"""Operations per transaction of the worker (the last chunk of a request may be shorter).

Large enough that the per-transaction costs (lease renewal, the chunk's reads, the batched
writes, the commit) are small beside the operations' own; small enough that SQLite's one
writer is handed over to the API's writers every few tens of milliseconds."""


@dataclass(frozen=True)
class Lease:
    """Who works on a request, and for how long each renewal holds it."""

    provision_id: str
    company_id: str
    owner: str
    duration: timedelta


@dataclass(frozen=True)
class _Plan:
    """What every chunk of one claimed request needs (read once, at the claim)."""

    lease: Lease
    clock: Clock
    problems: dict[int, str]
    fail_on_errors: int | None
    forced: ExtensionFaults


def _step(engine: Engine, lease: Lease, clock: Clock, body: Callable[[Connection], T]) -> T:
    """Run ``body`` in one write transaction that first renews the lease (else LeaseLost)."""
    with unit_of_work(engine, write=True) as conn:
        if not store.hold(conn, lease.provision_id, lease.owner, clock(), lease.duration):
            raise LeaseLost(lease.provision_id)
        return body(conn)


def process(
    engine: Engine, lease: Lease, clock: Clock, *, stop: Callable[[], bool] = lambda: False
) -> bool:
    """Resolve every operation of a claimed request, then complete it.

    Operations run in bulkId-dependency order (RFC 7644 §3.7.2), :data:`CHUNK_SIZE` of them
    per transaction (:func:`_run_chunk`); the last chunk also completes the request.
    ``stop`` is asked before each operation: when it answers True the operations done so far
    are committed with the lease given back (a worker shutting down finishes the operation
    in hand, not the rest of its chunk). Returns True when the request was completed;
    raises LeaseLost when another worker or housekeeping took it.
    """
    with unit_of_work(engine, write=False) as conn:
        operations = store.get_operations(conn, lease.provision_id)
        request = store.get_provision(conn, lease.company_id, lease.provision_id)
        forced = extension_faults(conn, lease.company_id)  # admin fault rules, read once
    assert request is not None
    order, problems = bulk.dependency_order(
        [(op.position, op.bulk_id, op.path, op.data) for op in operations]
    )
    plan = _Plan(lease, clock, problems, request.fail_on_errors, forced)
    if not order:
        _step(engine, lease, clock, lambda conn: _complete(conn, lease.provision_id, clock()))
        return True
    for start in range(0, len(order), CHUNK_SIZE):
        last = start + CHUNK_SIZE >= len(order)
        with CHUNK_SECONDS.time():
            done = _run_chunk(engine, plan, order[start : start + CHUNK_SIZE], stop, complete=last)
        if not done:
            return False
    return True


class _Unexpected(Exception):
    """An error the fast path of a chunk does not convert: the chunk is run again one
    operation at a time, where each write has a SAVEPOINT of its own."""


def _run_chunk(
    engine: Engine,
    plan: _Plan,
    positions: list[int],
    stop: Callable[[], bool],
    *,
    complete: bool,
) -> bool:
    """Run the operations at ``positions`` (in this order) in one transaction; False when
    ``stop`` ended it early (what was done is committed, the lease given back).

    A chunk is atomic: a crash anywhere in it rolls all of it back, and whoever claims the
    request next starts again from the results on record. An unexpected error (anything but
    LeaseLost or an unreachable database) rolls the chunk back too; its operations are then
    run again one per transaction in the careful mode, which converts each failure into a
    result on its operation as the steps always did, so one bad operation costs the others
    nothing. An error that still escapes there is raised (the request is retried later),
    after the operations before it were committed.
    """
    asked: list[int] = []

    def go(position: int) -> bool:
        if stop():
            return False
        asked.append(position)
        return True

    lease = plan.lease
    if not go(positions[0]):
        with unit_of_work(engine, write=True) as conn:
            store.release(conn, lease.provision_id, lease.owner)
        return False
    try:
        with unit_of_work(engine, write=True) as conn:
            return _Chunk(conn, plan, careful=False).run(positions, go, complete=complete)
    except (LeaseLost, OperationalError):
        raise  # the lease is gone, or the database: nothing to do here but stop
    except Exception:
        log.warning(
            "provision %s: a chunk of %d operations failed; running them one at a time",
            lease.provision_id,
            len(positions),
            exc_info=True,
        )
    for index, position in enumerate(positions):
        if index >= len(asked) and not go(position):
            with unit_of_work(engine, write=True) as conn:
                store.release(conn, lease.provision_id, lease.owner)
            return False
        with unit_of_work(engine, write=True) as conn:
            ends = complete and index == len(positions) - 1
            _Chunk(conn, plan, careful=True).run([position], lambda _: True, complete=ends)
    return True


class _Chunk:
    """The operations of one transaction: read together, run in order, recorded together.

    Result rows and the operations' final states are kept in memory and written when the
    chunk ends (one ``executemany`` each); what later operations of the chunk need of
    earlier ones (their users for bulkId references, the failure count for failOnErrors)
    is kept here too. ``careful`` is the one-operation fallback of :func:`_run_chunk`:
    each extension handler then runs in a SAVEPOINT and writes at once, and any error it
    raises becomes its result; otherwise a handler's unexpected error rolls the chunk back.
    """

    def __init__(self, conn: Connection, plan: _Plan, *, careful: bool) -> None:
        self.conn = conn
        self.plan = plan
        self.lease = plan.lease
        self.clock = plan.clock
        self.careful = careful
        self.results: list[ResultRecord] = []
        self.finished: list[store.FinishedOperation] = []
        self.users: dict[str, str] = {}  # bulkId → user id of this chunk's operations
        self.failed = 0

    def run(self, positions: list[int], go: Callable[[int], bool], *, complete: bool) -> bool:
        """Renew the lease, run the operations (asking ``go`` before each but the first),
        record them, and give the lease back (stopped) or complete the request."""
        lease, conn = self.lease, self.conn
        if not store.hold(conn, lease.provision_id, lease.owner, self.clock(), lease.duration):
            raise LeaseLost(lease.provision_id)
        operations, on_record = store.get_chunk(conn, lease.provision_id, positions)
        if self.plan.fail_on_errors is not None:
            self.failed = store.failed_count(conn, lease.provision_id)
        stopped = False
        for index, position in enumerate(positions):
            if index and not go(position):
                stopped = True
                break
            self._operation(operations[position], on_record.get(position, []))
        now = self.clock()
        store.add_result_rows(conn, lease.provision_id, self.results, now)
        store.finish_operations(conn, lease.provision_id, self.finished)
        if stopped:
            store.release(conn, lease.provision_id, lease.owner)
        elif complete:
            _complete(conn, lease.provision_id, now)
        return not stopped

    # -- one operation ---------------------------------------------------------------------

    def _operation(self, op: OperationRecord, on_record: list[ResultRecord]) -> None:
        if op.done:
            return  # done before (a resumed request)
        record: ResourceRecord | None = None
        fresh = False
        have = list(on_record)
        if op.resolved is None:
            outcome = self._identity(op, have)
            if outcome is None:
                return
            user_id: str | None = outcome.user_id
            resolved: dict[str, Any] = {"code": outcome.code, "apply": outcome.apply}
            record, fresh = outcome.record, op.method == "POST"
            have += self._identity_rows(op.position, outcome)
            self.users[op.bulk_id] = outcome.user_id
        else:  # resumed after its identity step (a request the per-step worker began)
            user_id, resolved = op.resource_id, op.resolved
        apply: dict[str, Any] = resolved.get("apply", {})
        by_urn = {r.urn: r for r in have}
        if apply:
            assert user_id is not None
            rows = ExtensionRows(
                self.conn,
                self.lease.company_id,
                user_id,
                self.clock,
                fresh=fresh,
                deferred=not self.careful,
            )
            for handler in HANDLERS:
                urn = handler.urn
                if urn not in apply or urn in by_urn:
                    continue  # not sent, or applied before the worker stopped: never twice
                forced = self.plan.forced
                outcome_ = forced.outcome(self.conn, urn) if forced.rules else None
                if outcome_ is None:
                    ctx = HandlerContext(
                        self.conn, self.lease.company_id, user_id, self.clock, rows=rows
                    )
                    ctx.record = record
                    outcome_ = self._extension(ctx, op, urn, by_urn, apply)
                code = outcome_.code or ("400" if outcome_.result == "error" else "200")
                result = ResultRecord(op.position, urn, outcome_.result, code, outcome_.messages)
                by_urn[urn] = result
                self.results.append(result)
            rows.flush()
        failed = any(r.result == "error" for r in by_urn.values())
        self._finish(
            op,
            success=not failed,
            code="207" if failed else resolved.get("code", "200"),
            resource_id=user_id,
            resolved=resolved,
        )

    def _finish(
        self,
        op: OperationRecord,
        *,
        success: bool,
        code: str,
        resource_id: str | None = None,
        resolved: dict[str, Any] | None = None,
    ) -> None:
        self.finished.append(
            store.FinishedOperation(
                position=op.position,
                resource_id=resource_id if resource_id is not None else op.resource_id,
                resolved=resolved if resolved is not None else op.resolved,
                success=success,
                code=code,
                completed=self.clock(),
            )
        )
        if not success:
            self.failed += 1

    def _identity(self, op: OperationRecord, have: list[ResultRecord]) -> IdentityOutcome | None:
        """The identity step; None when it ended the operation (skipped or failed)."""
        fail_on_errors = self.plan.fail_on_errors
        if fail_on_errors is not None and self.failed >= fail_on_errors:
            reason = message(
                "NOT_PROCESSED",
                f"Not processed: failOnErrors ({fail_on_errors}) was reached",
                CORE_USER,
            )
            done = {r.urn for r in have}
            self.results += [
                ResultRecord(
                    op.position,
                    urn,
                    "not-processed",
                    NOT_PROCESSED_CODE,
                    [reason] if urn == CORE_USER else [],
                )
                for urn in EXTENSION_NAMES
                if urn not in done
            ]
            self._finish(op, success=False, code=NOT_PROCESSED_CODE)
            return None
        problem = self.plan.problems.get(op.position)
        if problem is not None:
            self._fail(op, InvalidValue(problem))
            return None
        path, data = op.path, op.data
        wanted = bulk.path_references(path) | bulk.references(data)
        if wanted:  # else nothing to substitute (the walk over the data is not free)
            ids = self._resolved_ids(wanted)
            path, data = bulk.substitute_path(path, ids), bulk.substitute(data, ids)
            pending = sorted(bulk.path_references(path) | bulk.references(data))
            if pending:
                self._fail(
                    op, InvalidValue(f"bulkId '{pending[0]}' refers to an operation that failed")
                )
                return None
        user_id = path.split("/")[2] if path.count("/") == 2 else None
        try:
            with self.conn.begin_nested():
                return apply_identity(
                    self.conn, self.lease.company_id, op.method, user_id, data, self.clock
                )
        except ScimError as error:
            self._fail(op, error)
        except OperationalError:
            raise  # the database is unreachable: the chunk is retried, nothing is recorded
        except Exception:
            # A value the database refuses that validation let through, or a bug: report it
            # on the operation rather than retrying the request forever.
            log.exception(
                "provision %s operation %d: identity step failed", op.provision_id, op.position
            )
            self._fail(op, InternalError("the operation could not be applied"))
        return None

    def _identity_rows(self, position: int, outcome: IdentityOutcome) -> list[ResultRecord]:
        """The identity step's results (core, enterprise) and a no-op for every extension
        the operation does not touch; recorded with the chunk."""
        rows = [replace(r, position=position) for r in outcome.results]
        written = {r.urn for r in rows}
        rows += [
            ResultRecord(position, urn, "no-op", "200", [])
            for urn in EXTENSION_NAMES
            if urn not in written and urn not in outcome.apply
        ]
        self.results += rows
        return rows

    def _fail(self, op: OperationRecord, error: ScimError) -> None:
        """Identity failed: core reports the error, every other extension is not processed."""
        messages = [
            {**m, "schemaPath": m.get("schemaPath") or CORE_USER} for m in concur_messages(error)
        ]
        code = str(error.status)
        self.results.append(ResultRecord(op.position, CORE_USER, "error", code, messages))
        self.results += [
            ResultRecord(op.position, urn, "not-processed", NOT_PROCESSED_CODE, [])
            for urn in EXTENSION_NAMES[1:]
        ]
        self._finish(op, success=False, code=code)

    def _extension(
        self,
        ctx: HandlerContext,
        op: OperationRecord,
        urn: str,
        results: dict[str, ResultRecord],
        apply: dict[str, Any],
    ) -> Outcome:
        handler = BY_URN[urn]
        blocked = _blocked(ctx, results, apply) if handler.needs_spend_user else None
        if blocked is not None:
            return blocked
        payload = apply[urn]
        wanted = bulk.references(payload)
        if wanted:
            payload = bulk.substitute(payload, self._resolved_ids(wanted))
        if not self.careful:
            # Deferred writes: nothing of the handler is in the database yet, so a SCIM
            # error needs no SAVEPOINT; anything else rolls the chunk back (_run_chunk).
            try:
                return handler.apply(ctx, payload)
            except ScimError as error:
                return _error_outcome(error, urn)
            except OperationalError:
                raise
            except Exception as error:
                raise _Unexpected(f"operation {op.position}: {urn}") from error
        try:
            with self.conn.begin_nested():
                return handler.apply(ctx, payload)
        except ScimError as error:
            return _error_outcome(error, urn)
        except OperationalError:
            raise  # the database is unreachable: the chunk is retried, nothing is recorded
        except IntegrityError:
            # The user was deleted (another request) since the identity step.
            gone = message("INVALID_USER", "Employee does not exist", urn)
            return Outcome("error", [gone])
        except Exception:
            log.exception("provision %s operation %d: %s failed", op.provision_id, op.position, urn)
            failed = message("INTERNAL_ERROR", "the extension could not be applied", urn)
            return Outcome("error", [failed], code="500")

    def _resolved_ids(self, wanted: set[str]) -> dict[str, str]:
        """The user ids of the bulkIds ``wanted``: this chunk's own operations first, then
        one indexed read for the rest."""
        found = {b: self.users[b] for b in wanted if b in self.users}
        missing = sorted(wanted - found.keys())
        if missing:
            found |= store.resource_ids(self.conn, self.lease.provision_id, missing)
        return found


def _error_outcome(error: ScimError, urn: str) -> Outcome:
    messages = [{**m, "schemaPath": m.get("schemaPath") or urn} for m in concur_messages(error)]
    return Outcome("error", messages)


def _blocked(
    ctx: HandlerContext, results: dict[str, ResultRecord], apply: dict[str, Any]
) -> Outcome | None:
    """The outcome of a spend extension that cannot run without a Spend User (§3.4)."""
    spend = results.get(extensions.SPEND_USER)
    if spend is not None and spend.result == "error":
        note = message(
            "NOT_PROCESSED",
            "Not applied: the Spend User extension failed",
            extensions.SPEND_USER,
            "warning",
        )
        return Outcome("no-op", [note])
    if extensions.SPEND_USER not in apply and ctx.stored(extensions.SPEND_USER) is None:
        return Outcome(
            "error", [message("INVALID_USER", "Spend user does not exist", extensions.SPEND_USER)]
        )
    return None


# -- housekeeping ---------------------------------------------------------------------------


def expire(engine: Engine, clock: Clock, *, timeout: timedelta) -> int:
    """Fail requests not completed within ``timeout`` (§3.2: 120 minutes); returns how many.

    Their unfinished operations get code 408 and every extension without a result is
    ``not-processed``. Each request is closed in its own transaction, which takes the
    request's row first, so a worker still on it stops at its next step.
    """
    now = clock()
    with unit_of_work(engine, write=False) as conn:
        ids = store.timed_out(conn, now - timeout)
    closed = 0
    for provision_id in ids:
        with unit_of_work(engine, write=True) as conn:
            if not store.lock_pending(conn, provision_id, now):
                continue
            reason = message(
                "TIMEOUT",
                f"Not processed: the request did not complete within {timeout}",
                CORE_USER,
            )
            for op in store.get_operations(conn, provision_id):
                if not op.done:
                    _skip(conn, op, reason, TIMEOUT_CODE, now)
            _complete(conn, provision_id, now)
            closed += 1
    return closed


def purge(engine: Engine, clock: Clock, *, retention: timedelta) -> int:
    """Delete statuses completed more than ``retention`` ago (§3.2: 7 days), and the
    webhook deliveries closed as long ago (they are kept as long as the status they tell of)."""
    with unit_of_work(engine, write=True) as conn:
        webhook_store.purge_deliveries(conn, clock() - retention)
        return store.purge(conn, clock() - retention)
