"""``concur-scim worker`` as real processes: SIGKILL, SIGTERM and two workers sharing work.

Each test gets a database no other worker watches (support/databases.py), stores Bulk
requests through the service layer (what ``POST /Bulk`` does) and runs worker processes on
it. Exactly once is read from what is stored: every operation created its user once (a
second create would fail with 409, so every code is "201"), every operation has exactly
one result per extension (the primary key allows no second), and every extension that
carried data reports ``success`` (an extension applied a second time would find its data
already there and report ``no-op``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
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
    concur_user,
    outcome,
    store_bulk,
)
from support.server import running_server

from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.tables import provision_operations, provision_results, provisions

pytestmark = pytest.mark.server

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
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
EXTENSIONS_PER_OPERATION = 12


def _pg(request: pytest.FixtureRequest, backend: str) -> str | None:
    if backend != "postgresql":
        return None
    url: str = request.getfixturevalue("pg_url")
    return url


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    engine = create_db_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _start_worker(url: str, log: Path, lease_seconds: float = 2.0) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCUR_SCIM_")}
    env |= {
        "CONCUR_SCIM_WORKER_LEASE_SECONDS": str(lease_seconds),
        "CONCUR_SCIM_WORKER_POLL_SECONDS": "0.1",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "concur_scim.cli", "worker", "--database-url", url]
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def _done(engine: Engine, ids: list[str]) -> int:
    return outcome(engine, ids, "-").done_operations


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=30)


def _assert_exactly_once(final: Outcome, operations: int, requests: int = 1) -> None:
    """Every operation created its user once and applied each of its extensions once."""
    assert final.operation_codes == Counter({"201": operations})
    assert final.users == operations
    assert final.results_per_operation == Counter({EXTENSIONS_PER_OPERATION: operations})
    for urn in ALWAYS_APPLIED:
        assert final.results[f"{urn} success"] == operations, urn
    # The first user of each request is the others' approver and has no approver itself.
    for urn in (SPEND_APPROVER, SPEND_DELEGATE):
        assert final.results[f"{urn} success"] == operations - requests, urn
        assert final.results[f"{urn} no-op"] == requests, urn
    assert sum(final.results.values()) == operations * EXTENSIONS_PER_OPERATION


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_worker_killed_mid_request_leaves_a_lease_another_worker_completes_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """SIGKILL in the middle of a 100-operation request: the lease expires, a second
    worker resumes where the stored results say, and every operation is applied once."""
    url = fresh_database(backend, tmp_path, _pg(request, backend))
    with _engine(url) as engine:
        ids = store_bulk(engine, "kill", requests=1, size=100)
        first = _start_worker(url, tmp_path / "first.log")
        try:
            _wait_until(lambda: _done(engine, ids) >= 10, 120, "10 operations done")
        finally:
            first.kill()
            first.wait(timeout=30)
        partial = outcome(engine, ids, "kill")
        assert 10 <= partial.done_operations < 100, "the kill must land mid-request"
        assert partial.completed_requests == 0

        second = _start_worker(url, tmp_path / "second.log")
        try:
            _wait_until(
                lambda: outcome(engine, ids, "kill").completed_requests == 1, 180, "completion"
            )
        finally:
            assert _stop(second) == 0
        _assert_exactly_once(outcome(engine, ids, "kill"), 100)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigterm_finishes_the_operation_in_hand_and_gives_the_lease_back(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """SIGTERM: the worker finishes its operation, releases the request at once (no
    waiting for the lease to expire) and exits 0; the next worker completes the rest."""
    url = fresh_database(backend, tmp_path, _pg(request, backend))
    with _engine(url) as engine:
        ids = store_bulk(engine, "term", requests=1, size=100)
        worker = _start_worker(url, tmp_path / "first.log", lease_seconds=600)
        _wait_until(lambda: _done(engine, ids) >= 5, 120, "5 operations done")
        assert _stop(worker) == 0
        with unit_of_work(engine, write=False) as conn:
            state, owner = conn.execute(
                select(provisions.c.state, provisions.c.lease_owner).where(
                    provisions.c.id == ids[0]
                )
            ).one()
            half_done = conn.execute(
                select(provision_operations.c.position)
                .where(
                    provision_operations.c.provision_id == ids[0],
                    provision_operations.c.done.is_(False),
                )
                .where(
                    select(provision_results.c.urn)
                    .where(
                        provision_results.c.provision_id == provision_operations.c.provision_id,
                        provision_results.c.position == provision_operations.c.position,
                    )
                    .exists()
                )
            ).all()
        assert state == "pending"
        assert owner is None, "a stopping worker gives its lease back"
        assert half_done == [], "the operation in hand was finished before exiting"
        assert _done(engine, ids) < 100

        # A lease of 600 s would block a takeover for 10 minutes: completion proves release.
        second = _start_worker(url, tmp_path / "second.log", lease_seconds=600)
        try:
            _wait_until(
                lambda: outcome(engine, ids, "term").completed_requests == 1, 180, "completion"
            )
        finally:
            assert _stop(second) == 0
        _assert_exactly_once(outcome(engine, ids, "term"), 100)


def test_two_workers_on_postgresql_share_1000_operations_each_applied_once(
    tmp_path: Path, pg_url: str
) -> None:
    """Ten requests of 100 operations, two worker processes: both take requests (SKIP
    LOCKED), and each of the 1,000 operations is applied exactly once."""
    url = fresh_database("postgresql", tmp_path, pg_url)
    with _engine(url) as engine:
        ids = store_bulk(engine, "pair", requests=10, size=100)
        logs = [tmp_path / "a.log", tmp_path / "b.log"]
        workers = [_start_worker(url, log) for log in logs]
        try:
            _wait_until(
                lambda: outcome(engine, ids, "pair").completed_requests == 10, 600, "completion"
            )
        finally:
            codes = [_stop(w) for w in workers]
        assert codes == [0, 0]
        _assert_exactly_once(outcome(engine, ids, "pair"), 1000, requests=10)
        claims = [log.read_text().count("claimed provision") for log in logs]
        assert all(n > 0 for n in claims), f"both workers must take requests: {claims}"


def test_api_only_serve_with_a_worker_process_as_docker_compose_runs_them(
    tmp_path: Path, pg_url: str
) -> None:
    """docker-compose.yml's topology: `serve` with the embedded worker off answers /Bulk with
    202 and leaves the request pending; a `concur-scim worker` process completes it."""
    url = fresh_database("postgresql", tmp_path, pg_url)
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": f"c{n}",
                "data": concur_user(f"compose-{n}", n),
            }
            for n in range(3)
        ],
    }
    auth = {"Authorization": "Bearer compose-token"}
    with (
        running_server(url, "compose-token", {"CONCUR_SCIM_EMBEDDED_WORKER": "false"}) as base,
        httpx.Client(base_url=base, headers=auth, timeout=30) as http,
    ):
        accepted = http.post("/profile/v4/Bulk", json=body)
        assert accepted.status_code == 202, accepted.text
        location = accepted.json()["meta"]["location"]
        time.sleep(1.0)
        assert http.get(location).json()["status"]["completed"] is False
        worker = _start_worker(url, tmp_path / "worker.log")
        try:
            _wait_until(lambda: http.get(location).json()["status"]["completed"], 60, "completion")
        finally:
            assert _stop(worker) == 0
        status = http.get(location, params={"attributes": "operations"}).json()
    assert status["status"]["success"] is True
    assert [op["status"]["code"] for op in status["operations"]] == ["201", "201", "201"]
