"""PostgreSQL stopped and started again under load, with a real ``concur-scim serve`` process.

The cluster is this test's own (support/pgcluster.py ``controlled_cluster``), never the
session's. A thread keeps creating and reading users the whole time. While the database is
down the server answers 503 SCIM Errors with ``Retry-After`` (never 500), ``/readyz``
answers 503 and ``/healthz`` stays 200; once the database is back the same process serves
again without a restart, every create that was answered 201 is readable, and the embedded
provisioning worker still completes a User Provisioning request.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from support.pgcluster import controlled_cluster
from support.server import running_server
from support.ups import UPS, bulk_body, identity, operation

from concur_scim.store.migrate import upgrade

pytestmark = pytest.mark.server

TOKEN = "outage-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
OUTAGE_SECONDS = 5.0
RECOVERY_DEADLINE_SECONDS = 30.0
STEADY_SECONDS = 2.0


@dataclass
class Load:
    """What the load thread sent and got: status codes, acknowledged creates, failures."""

    statuses: Counter[int] = field(default_factory=Counter)
    acknowledged: dict[str, str] = field(default_factory=dict)  # id -> userName
    transport_errors: list[str] = field(default_factory=list)
    bad_bodies: list[str] = field(default_factory=list)
    sent: int = 0

    def record(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1
        if response.status_code == 503:
            body = response.json()
            if (
                ERROR_URN not in body.get("schemas", [])
                or body.get("status") != "503"
                or "Retry-After" not in response.headers
            ):
                self.bad_bodies.append(response.text)


def _drive(base: str, load: Load, stop: threading.Event) -> None:
    """Create a user, read back the newest acknowledged one; repeat until ``stop``."""
    with httpx.Client(base_url=f"{base}/scim/v2", headers=AUTH, timeout=10) as client:
        n = 0
        while not stop.is_set():
            n += 1
            name = f"load{n}@example.com"
            try:
                load.sent += 1
                created = client.post("/Users", json={"userName": name})
                load.record(created)
                if created.status_code == 201:
                    load.acknowledged[created.json()["id"]] = name
                if load.acknowledged:
                    last = next(reversed(load.acknowledged))
                    load.sent += 1
                    load.record(client.get(f"/Users/{last}"))
            except httpx.TransportError as exc:
                load.transport_errors.append(repr(exc))
            time.sleep(0.01)


def _wait_for(client: httpx.Client, path: str, status: int, deadline: float) -> httpx.Response:
    end = time.monotonic() + deadline
    while True:
        response = client.get(path)
        if response.status_code == status or time.monotonic() > end:
            return response
        time.sleep(0.1)


def _provision_one(client: httpx.Client) -> dict[str, Any]:
    """Submit a one-user UPS Bulk request and wait for the embedded worker to complete it."""
    body = bulk_body([operation("POST", "/Users", identity(), bulk_id="after-outage")])
    accepted = client.post(f"{UPS}/Bulk", json=body)
    assert accepted.status_code == 202, accepted.text
    status_path = f"{UPS}/provisions/{accepted.json()['id']}/status"
    deadline = time.monotonic() + 30
    while True:
        status: dict[str, Any] = client.get(status_path).json()
        if status["status"]["completed"] or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def _check_outage_answers(
    down: httpx.Response, ready_down: httpx.Response, health_down: httpx.Response
) -> None:
    """During the outage: SCIM 503s with Retry-After, readiness down, liveness up."""
    assert down.status_code == 503, down.text
    assert down.json()["schemas"] == [ERROR_URN]
    assert down.json()["status"] == "503"
    assert int(down.headers["Retry-After"]) > 0
    assert ready_down.status_code == 503
    assert ready_down.json()["status"] == "unavailable"
    assert ready_down.json()["database"]
    assert health_down.status_code == 200


def _unreadable(base: str, acknowledged: dict[str, str]) -> list[str]:
    """The acknowledged creates that cannot be read back as they were created."""
    with httpx.Client(base_url=f"{base}/scim/v2", headers=AUTH, timeout=10) as client:
        return [
            user_id
            for user_id, name in acknowledged.items()
            if (r := client.get(f"/Users/{user_id}")).status_code != 200
            or r.json()["userName"] != name
        ]


def test_postgresql_restart_under_load_loses_nothing_acknowledged() -> None:
    """Stop PostgreSQL (fast shutdown) under load for a few seconds, then start it again."""
    with controlled_cluster() as cluster:
        upgrade(cluster.url)
        env = {"CONCUR_SCIM_WORKER_POLL_SECONDS": "0.2"}
        with (
            running_server(cluster.url, TOKEN, env) as base,
            httpx.Client(base_url=base, headers=AUTH, timeout=10) as probe,
        ):
            load, stop = Load(), threading.Event()
            driver = threading.Thread(target=_drive, args=(base, load, stop))
            driver.start()
            try:
                time.sleep(STEADY_SECONDS)
                assert probe.get("/readyz").json() == {"status": "ready", "database": "ok"}
                before = dict(load.statuses)

                cluster.stop("fast")
                stopped = time.monotonic()
                time.sleep(1.0)
                down = probe.post("/scim/v2/Users", json={"userName": "during@example.com"})
                ready_down = probe.get("/readyz")
                health_down = probe.get("/healthz")
                time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
                during = Counter(load.statuses) - Counter(before)

                cluster.start()
                outage = time.monotonic() - stopped
                ready_up = _wait_for(probe, "/readyz", 200, RECOVERY_DEADLINE_SECONDS)
                recovered_after = time.monotonic() - stopped - outage
                acknowledged_at_recovery = len(load.acknowledged)
                time.sleep(STEADY_SECONDS)
            finally:
                stop.set()
                driver.join(timeout=30)

            _check_outage_answers(down, ready_down, health_down)
            assert during[503] > 0, during
            # After: ready again and serving, without a restart.
            assert ready_up.status_code == 200, ready_up.text
            assert ready_up.json() == {"status": "ready", "database": "ok"}
            assert len(load.acknowledged) > acknowledged_at_recovery
            # Whole run: nothing but successes and 503s, every 503 a proper SCIM Error.
            assert set(load.statuses) <= {200, 201, 503}, load.statuses
            assert not load.bad_bodies, load.bad_bodies[:3]
            assert not load.transport_errors, load.transport_errors[:3]

            lost = _unreadable(base, load.acknowledged)
            assert lost == []

            with httpx.Client(base_url=base, headers=AUTH, timeout=10) as ups_client:
                provisioned = _provision_one(ups_client)
            assert provisioned["status"]["completed"], provisioned

            print(  # the figures docs/reliability.md reports
                f"\noutage {outage:.1f}s, ready again {recovered_after:.1f}s after start, "
                f"requests {load.sent}, statuses {dict(load.statuses)}, "
                f"acknowledged creates {len(load.acknowledged)}, lost {len(lost)}"
            )
