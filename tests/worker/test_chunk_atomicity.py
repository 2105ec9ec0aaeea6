"""The worker's chunks are atomic: a crash in the middle of one leaves nothing of it.

``services/provisioning.py`` runs up to ``CHUNK_SIZE`` operations in one transaction. These
tests break a chunk in its middle, on SQLite and PostgreSQL, at the seam every operation
passes through (an extension handler's ``apply``), and read what is stored:

- a crash (an exception nothing in the worker catches, as a dying process) rolls the whole
  chunk back: the chunks before it stay, no operation of it is half done, no user of it
  exists; the next claimant completes the request and every operation is applied once;
- an unexpected error of one operation rolls its chunk back and runs the chunk again one
  operation at a time: that operation reports the error, the others are applied once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from support.databases import fresh_database
from support.provisioning_load import (
    ENTERPRISE,
    PAYROLL,
    SPEND_APPROVER,
    SPEND_APPROVER_LIMIT,
    SPEND_DELEGATE,
    SPEND_INVOICE,
    SPEND_PREFERENCE,
    SPEND_ROLE,
    SPEND_USER,
    SPEND_WORKFLOW,
    TRAVEL_USER,
    Outcome,
    outcome,
    store_bulk,
)

from concur_scim.services import provisioning
from concur_scim.services.provision_handlers import BY_URN, HandlerContext
from concur_scim.services.provision_handlers import Outcome as Applied
from concur_scim.services.provisioning import CHUNK_SIZE, Lease
from concur_scim.store import provisions as store
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.tables import provision_operations, provision_results

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
LEASE = timedelta(seconds=60)
OPERATIONS = CHUNK_SIZE * 2 + 10  # three chunks, the last one short
BROKEN = CHUNK_SIZE + 5  # the operation the seam breaks: in the middle of the second chunk
ALWAYS_APPLIED = (
    CORE,
    ENTERPRISE,
    SPEND_USER,
    SPEND_ROLE,
    SPEND_APPROVER_LIMIT,
    SPEND_PREFERENCE,
    SPEND_WORKFLOW,
    SPEND_INVOICE,
    PAYROLL,
    TRAVEL_USER,
)


class Crash(BaseException):
    """The worker dying mid-chunk: no ``except Exception`` of the worker catches it."""


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh, migrated database of each backend."""
    pg = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    engine = create_db_engine(fresh_database(request.param, tmp_path, pg))
    yield engine
    engine.dispose()


def _break_travel(
    monkeypatch: pytest.MonkeyPatch, error: BaseException, user_name: str
) -> list[str]:
    """Make the travel handler raise ``error`` for the user ``user_name``; returns the list
    the broken calls are recorded in."""
    handler = BY_URN[TRAVEL_USER]
    original = handler.apply
    broken: list[str] = []

    def apply(ctx: HandlerContext, payload: Any) -> Applied:
        user = ctx.own_user()
        if user is not None and user.doc.get("userName") == user_name:
            broken.append(user_name)
            raise error
        return original(ctx, payload)

    monkeypatch.setattr(handler, "apply", apply)
    return broken


def _claim(engine: Engine, owner: str, now: datetime) -> Lease:
    with unit_of_work(engine, write=True) as conn:
        claimed = store.claim(conn, owner, now, LEASE)
    assert claimed is not None
    return Lease(claimed[0], claimed[1], owner, LEASE)


def _half_done(engine: Engine, provision_id: str) -> list[int]:
    """Operations not done that nevertheless have result rows."""
    ops, res = provision_operations.c, provision_results.c
    with unit_of_work(engine, write=False) as conn:
        rows = conn.execute(
            select(ops.position)
            .where(ops.provision_id == provision_id, ops.done.is_(False))
            .where(
                select(res.urn)
                .where(res.provision_id == ops.provision_id, res.position == ops.position)
                .exists()
            )
        ).all()
    return [r.position for r in rows]


def _result_rows(engine: Engine, provision_id: str) -> int:
    with unit_of_work(engine, write=False) as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(provision_results)
                .where(provision_results.c.provision_id == provision_id)
            ).scalar_one()
        )


def _assert_applied_once(final: Outcome, operations: int, *, failed_travel: int = 0) -> None:
    applied = operations - failed_travel
    assert final.completed_requests == 1
    assert final.users == operations
    assert final.results_per_operation == Counter({12: operations})
    for urn in ALWAYS_APPLIED:
        expected = applied if urn == TRAVEL_USER else operations
        assert final.results[f"{urn} success"] == expected, urn
    # The first user is the approver and delegate of the others (bulkId references).
    for urn in (SPEND_APPROVER, SPEND_DELEGATE):
        assert final.results[f"{urn} success"] == operations - 1, urn
    assert sum(final.results.values()) == operations * 12


def test_a_crash_mid_chunk_leaves_nothing_of_the_chunk_and_the_next_claimant_completes_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    [provision_id] = store_bulk(engine, "crash", requests=1, size=OPERATIONS)
    # store_bulk names users "<prefix>-<request>-<n>"; operation n + 1 creates user n.
    broken = _break_travel(monkeypatch, Crash(), f"crash-0-{BROKEN - 1}@example.com")
    start = datetime.now(UTC)
    with pytest.raises(Crash):
        provisioning.process(engine, _claim(engine, "first", start), lambda: start)
    assert broken, "the seam was reached"

    partial = outcome(engine, [provision_id], "crash")
    assert partial.done_operations == CHUNK_SIZE, "only the chunk before the crash is kept"
    assert partial.users == CHUNK_SIZE, "no user of the broken chunk exists"
    assert _result_rows(engine, provision_id) == CHUNK_SIZE * 12
    assert _half_done(engine, provision_id) == []
    assert partial.completed_requests == 0

    monkeypatch.undo()
    later = start + LEASE * 2  # the crashed worker's lease has expired
    assert provisioning.process(engine, _claim(engine, "second", later), lambda: later)
    final = outcome(engine, [provision_id], "crash")
    assert final.operation_codes == Counter({"201": OPERATIONS})
    _assert_applied_once(final, OPERATIONS)


def test_an_unexpected_error_in_a_chunk_costs_the_other_operations_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    [provision_id] = store_bulk(engine, "bug", requests=1, size=OPERATIONS)
    broken = _break_travel(monkeypatch, RuntimeError("a bug"), f"bug-0-{BROKEN - 1}@example.com")
    now = datetime.now(UTC)
    assert provisioning.process(engine, _claim(engine, "only", now), lambda: now)
    # Once in the chunk (rolled back), once in the one-operation retry (recorded).
    assert len(broken) == 2

    final = outcome(engine, [provision_id], "bug")
    assert final.operation_codes == Counter({"201": OPERATIONS - 1, "207": 1})
    assert final.results[f"{TRAVEL_USER} error"] == 1
    _assert_applied_once(final, OPERATIONS, failed_travel=1)
    with unit_of_work(engine, write=False) as conn:
        rows = store.get_results(conn, provision_id, [BROKEN])[BROKEN]
    travel = next(r for r in rows if r.urn == TRAVEL_USER)
    assert (travel.result, travel.code) == ("error", "500")
    assert [m["code"] for m in travel.messages] == ["INTERNAL_ERROR"]
