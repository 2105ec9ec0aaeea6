"""The provisioning queue in the database: claims, leases, takeovers, timeouts, retention.

In-process against a fresh database per test (no other worker watches it), with an explicit
clock, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from support.databases import fresh_database
from support.provisioning_load import outcome, store_bulk

from concur_scim.config import Settings
from concur_scim.services import provisioning
from concur_scim.services.provisioning import Lease, LeaseLost
from concur_scim.store import provisions as store
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.tables import provision_operations, provision_results, provisions
from concur_scim.worker import Worker

LEASE = timedelta(seconds=30)
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture(params=["sqlite", "postgresql"])
def queue_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh, migrated database of each backend."""
    pg = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    engine = create_db_engine(fresh_database(request.param, tmp_path, pg))
    yield engine
    engine.dispose()


def _claim(engine: Engine, owner: str, now: datetime) -> tuple[str, str] | None:
    with unit_of_work(engine, write=True) as conn:
        return store.claim(conn, owner, now, LEASE)


def test_claims_take_the_oldest_free_request_and_never_a_held_one(queue_engine: Engine) -> None:
    """Two claimers get two different requests, oldest first; a third finds none."""
    ids = store_bulk(queue_engine, "claim", requests=2, size=1)
    now = datetime.now(UTC)
    first = _claim(queue_engine, "a", now)
    second = _claim(queue_engine, "b", now)
    assert first is not None
    assert second is not None
    assert [first[0], second[0]] == ids
    assert _claim(queue_engine, "c", now) is None


def test_an_expired_lease_is_taken_over_and_the_old_holder_writes_nothing(
    queue_engine: Engine,
) -> None:
    """After the lease expires another worker claims the request; the first worker's next
    step finds it no longer holds it (LeaseLost) and changes nothing."""
    [provision_id] = store_bulk(queue_engine, "expire", requests=1, size=2)
    start = datetime.now(UTC)
    claimed = _claim(queue_engine, "old", start)
    assert claimed is not None
    assert _claim(queue_engine, "new", start + LEASE / 2) is None, "the lease still holds"
    assert _claim(queue_engine, "new", start + LEASE * 2) is not None
    old = Lease(provision_id, claimed[1], "old", LEASE)
    with pytest.raises(LeaseLost):
        provisioning.process(queue_engine, old, lambda: start + LEASE * 2)
    assert outcome(queue_engine, [provision_id], "expire").done_operations == 0


def test_concurrent_claimers_never_share_a_request(queue_engine: Engine) -> None:
    """Eight threads claim at once over six requests: each request goes to one claimer."""
    store_bulk(queue_engine, "race", requests=6, size=1)
    now = datetime.now(UTC)
    got: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def claimer(n: int) -> None:
        barrier.wait()
        found = _claim(queue_engine, f"w{n}", now)
        if found is not None:
            with lock:
                got.append(found[0])

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == len(set(got)), "a request was claimed twice"
    assert len(got) <= 6


def test_a_request_not_completed_in_time_fails_with_its_remaining_operations(
    queue_engine: Engine,
) -> None:
    """Housekeeping: a request older than the timeout is completed as failed; operations
    done before keep their results, the others are 408 with every extension not processed."""
    [provision_id] = store_bulk(queue_engine, "slow", requests=1, size=3)
    start = datetime.now(UTC)
    claimed = _claim(queue_engine, "w", start)
    assert claimed is not None
    lease = Lease(provision_id, claimed[1], "w", LEASE)
    calls = iter(range(1_000_000))
    # Process one operation only: stop() is asked before each operation.
    provisioning.process(queue_engine, lease, lambda: start, stop=lambda: next(calls) >= 1)
    closed = provisioning.expire(
        queue_engine, lambda: start + timedelta(minutes=121), timeout=timedelta(minutes=120)
    )
    assert closed == 1
    with unit_of_work(queue_engine, write=False) as conn:
        request = store.get_provision(conn, claimed[1], provision_id)
        results = store.get_results(conn, provision_id)
        operations = store.get_operations(conn, provision_id)
    assert request is not None
    assert request.state == "completed"
    assert request.success is False
    assert [op.code for op in operations] == ["201", "408", "408"]
    assert {r.result for r in results[2]} == {"not-processed"}
    assert {r.result for r in results[3]} == {"not-processed"}
    assert [m["code"] for r in results[2] if r.urn == CORE for m in r.messages] == ["TIMEOUT"]
    assert Counter(len(rows) for rows in results.values()) == Counter({12: 3})
    assert (
        provisioning.expire(
            queue_engine, lambda: start + timedelta(minutes=122), timeout=timedelta(minutes=120)
        )
        == 0
    ), "a completed request is left alone"


def test_completed_statuses_are_purged_after_the_retention_period(queue_engine: Engine) -> None:
    """Statuses completed more than the retention ago go, with operations and results;
    younger ones and pending ones stay."""
    old, young, pending = store_bulk(queue_engine, "purge", requests=3, size=1)
    start = datetime.now(UTC)
    worker = Worker(queue_engine, Settings(database_url="sqlite://"), clock=lambda: start)
    assert worker.run_once()  # completes `old` at `start`
    worker.clock = lambda: start + timedelta(days=6)
    assert worker.run_once()  # completes `young` six days later
    purged = provisioning.purge(
        queue_engine, lambda: start + timedelta(days=7, minutes=1), retention=timedelta(days=7)
    )
    assert purged == 1
    with unit_of_work(queue_engine, write=False) as conn:
        left = set(conn.execute(select(provisions.c.id)).scalars())
        orphans = conn.execute(
            select(func.count())
            .select_from(provision_operations)
            .where(provision_operations.c.provision_id == old)
        ).scalar_one()
        orphan_results = conn.execute(
            select(func.count())
            .select_from(provision_results)
            .where(provision_results.c.provision_id == old)
        ).scalar_one()
    assert left == {young, pending}
    assert orphans == 0
    assert orphan_results == 0
