"""User Provisioning v4: submit requests, resolve them step by step, read their status.

DESIGN "The path of one provisioning request" and reference/concur-v4.md §3. A request is
stored with its operations before the client gets its answer (:func:`submit` for ``/Bulk``,
:func:`provision_user` for ``/Users``, which applies identity at once). A worker then
resolves each operation (:func:`process`): first identity (core + enterprise + sap) through
the same user service functions the synchronous routes call, then each downstream extension
through its handler (``services/provision_handlers.py``), in Concur's order.

Exactly once: every step runs in its own transaction that first proves the worker still
holds the request's lease (``store.provisions.hold``) and that the step has no result yet,
and writes the change together with its result row. A worker that dies mid-step leaves
nothing of that step; one whose lease was taken over writes nothing more. So whatever crashes,
each identity write and each extension write happens once, and a result row is on record as
soon as it is known.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any, TypeVar

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
from concur_scim.services.faults import NO_EXTENSION_FAULTS, ExtensionFaults, extension_faults
from concur_scim.services.provision_handlers import (
    BY_URN,
    HANDLERS,
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


# -- the worker's steps ---------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    """Who works on a request, and for how long each renewal holds it."""

    provision_id: str
    company_id: str
    owner: str
    duration: timedelta


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

    Operations run in bulkId-dependency order (RFC 7644 §3.7.2). ``stop`` is asked between
    operations (a worker shutting down finishes the operation in hand, then gives the lease
    back). Returns True when the request was completed; raises LeaseLost when another
    worker or housekeeping took it.
    """
    with unit_of_work(engine, write=False) as conn:
        operations = store.get_operations(conn, lease.provision_id)
        request = store.get_provision(conn, lease.company_id, lease.provision_id)
        forced = extension_faults(conn, lease.company_id)  # admin fault rules, read once
    assert request is not None
    order, problems = bulk.dependency_order(
        [(op.position, op.bulk_id, op.path, op.data) for op in operations]
    )
    for position in order:
        if stop():
            with unit_of_work(engine, write=True) as conn:
                store.release(conn, lease.provision_id, lease.owner)
            return False
        _run_operation(
            engine,
            lease,
            clock,
            position,
            problems.get(position),
            request.fail_on_errors,
            forced,
        )
    _step(engine, lease, clock, lambda conn: _complete(conn, lease.provision_id, clock()))
    return True


def _run_operation(
    engine: Engine,
    lease: Lease,
    clock: Clock,
    position: int,
    problem: str | None,
    fail_on_errors: int | None,
    forced: ExtensionFaults = NO_EXTENSION_FAULTS,
) -> None:
    """One operation: the identity step, then one step per downstream extension; the last
    step also marks the operation done. ``forced``: the fault rules that can end an
    extension with a chosen result instead of running its handler."""
    op = _step(
        engine,
        lease,
        clock,
        partial(
            _identity_step,
            lease=lease,
            clock=clock,
            position=position,
            problem=problem,
            fail_on_errors=fail_on_errors,
        ),
    )
    if op is None or op.done:
        return
    apply = (op.resolved or {}).get("apply", {})
    urns = [h.urn for h in HANDLERS if h.urn in apply]
    for index, urn in enumerate(urns):
        last = index == len(urns) - 1
        _step(
            engine,
            lease,
            clock,
            partial(
                _extension_step,
                lease=lease,
                clock=clock,
                op=op,
                urn=urn,
                last=last,
                forced=forced,
            ),
        )
    if not urns:  # resumed after its last extension, before it was marked done
        _step(engine, lease, clock, partial(_finish_step, lease=lease, clock=clock, op=op))


def _identity_step(
    conn: Connection,
    *,
    lease: Lease,
    clock: Clock,
    position: int,
    problem: str | None,
    fail_on_errors: int | None,
) -> OperationRecord | None:
    op = store.get_operation(conn, lease.provision_id, position)
    if op.done or op.resolved is not None:
        return op  # done before (a resumed request)
    now = clock()
    if fail_on_errors is not None and store.failed_count(conn, op.provision_id) >= fail_on_errors:
        reason = message(
            "NOT_PROCESSED",
            f"Not processed: failOnErrors ({fail_on_errors}) was reached",
            CORE_USER,
        )
        _skip(conn, op, reason, NOT_PROCESSED_CODE, now)
        return None
    if problem is not None:
        _fail(conn, op, InvalidValue(problem), now)
        return None
    ids = _resolved_ids(conn, lease.provision_id, op.path.rpartition("/")[2], op.data)
    path, data = bulk.substitute_path(op.path, ids), bulk.substitute(op.data, ids)
    pending = sorted(bulk.path_references(path) | bulk.references(data))
    if pending:
        _fail(
            conn, op, InvalidValue(f"bulkId '{pending[0]}' refers to an operation that failed"), now
        )
        return None
    user_id = path.split("/")[2] if path.count("/") == 2 else None
    try:
        with conn.begin_nested():
            outcome = apply_identity(conn, lease.company_id, op.method, user_id, data, clock)
    except ScimError as error:
        _fail(conn, op, error, now)
        return None
    except OperationalError:
        raise  # the database is unreachable: the step is retried, nothing is recorded
    except Exception:
        # A value the database refuses that validation let through, or a bug: report it on
        # the operation rather than retrying the request forever.
        log.exception("provision %s operation %d: identity step failed", op.provision_id, position)
        _fail(conn, op, InternalError("the operation could not be applied"), now)
        return None
    _record_identity(conn, op.provision_id, position, outcome, now)
    return replace(
        op,
        resource_id=outcome.user_id,
        resolved={"code": outcome.code, "apply": outcome.apply},
        done=not outcome.apply,
    )


def _extension_step(
    conn: Connection,
    *,
    lease: Lease,
    clock: Clock,
    op: OperationRecord,
    urn: str,
    last: bool,
    forced: ExtensionFaults = NO_EXTENSION_FAULTS,
) -> None:
    position = op.position
    results = store.get_results(conn, lease.provision_id, [position]).get(position, [])
    by_urn = {r.urn: r for r in results}
    if urn not in by_urn:  # else applied before the worker stopped: never twice
        outcome = forced.outcome(conn, urn) if forced.rules else None
        if outcome is None:
            outcome = _apply_extension(conn, lease, clock, op, urn, by_urn)
        code = outcome.code or ("400" if outcome.result == "error" else "200")
        result = ResultRecord(position, urn, outcome.result, code, outcome.messages)
        store.add_results(conn, lease.provision_id, position, [result], clock())
    if last:
        _finish_step(conn, lease=lease, clock=clock, op=op)


def _apply_extension(
    conn: Connection,
    lease: Lease,
    clock: Clock,
    op: OperationRecord,
    urn: str,
    results: dict[str, ResultRecord],
) -> Outcome:
    apply = (op.resolved or {}).get("apply", {})
    handler = BY_URN[urn]
    assert op.resource_id is not None
    ctx = HandlerContext(conn, lease.company_id, op.resource_id, clock)
    blocked = _blocked(ctx, results, apply) if handler.needs_spend_user else None
    if blocked is not None:
        return blocked
    ids = _resolved_ids(conn, lease.provision_id, "", apply[urn])
    try:
        with conn.begin_nested():
            return handler.apply(ctx, bulk.substitute(apply[urn], ids))
    except ScimError as error:
        messages = [{**m, "schemaPath": m.get("schemaPath") or urn} for m in concur_messages(error)]
        return Outcome("error", messages)
    except OperationalError:
        raise  # the database is unreachable: the step is retried, nothing is recorded
    except IntegrityError:
        # The user was deleted (another request) between the identity step and this one.
        gone = message("INVALID_USER", "Employee does not exist", urn)
        return Outcome("error", [gone])
    except Exception:
        log.exception("provision %s operation %d: %s failed", op.provision_id, op.position, urn)
        failed = message("INTERNAL_ERROR", "the extension could not be applied", urn)
        return Outcome("error", [failed], code="500")


def _resolved_ids(conn: Connection, provision_id: str, *values: Any) -> dict[str, str]:
    """The user ids of the bulkIds ``values`` reference (one indexed read, none if none)."""
    wanted: set[str] = set()
    for value in values:
        wanted |= bulk.references(value)
    return store.resource_ids(conn, provision_id, sorted(wanted))


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


def _finish_step(conn: Connection, *, lease: Lease, clock: Clock, op: OperationRecord) -> None:
    """Mark the operation done (code from its identity step, or 207) unless it is."""
    code = (op.resolved or {}).get("code", "200")
    if not store.get_operation(conn, lease.provision_id, op.position).done:
        _finish(conn, lease.provision_id, op.position, code, clock())


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
