"""``GET /metrics`` (api/metrics.py), scraped as Prometheus does and parsed with
prometheus_client's own parser: request counters and latency by route template, the
provisioning queue and results read from the database, the worker's chunk times, and
database outages counted; no label carries an id."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import OperationalError
from starlette.types import Message, Receive, Scope, Send
from support.admin import admin_session
from support.ups import identity, operation, submit, wait

from concur_scim.api.metrics import Metrics
from concur_scim.api.middleware import ErrorBoundary

HEADERS = {"Authorization": "Bearer test-token"}


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``GET /metrics``, by name and labels."""
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_route_template(client: TestClient) -> None:
    before = scrape(client)
    created = client.post(
        "/scim/v2/Users", json={"userName": "metrics@example.com"}, headers=HEADERS
    )
    user_id = created.json()["id"]
    assert client.get(f"/scim/v2/Users/{user_id}", headers=HEADERS).status_code == 200
    assert client.get("/scim/v2/Users/nope", headers=HEADERS).status_code == 404
    assert client.get("/no/such/path").status_code == 404
    after = scrape(client)
    by_id = {"dialect": "scim2", "route": "/scim/v2/Users/{resource_id}", "method": "GET"}
    name = "concur_scim_requests_total"
    for status in ("200", "404"):
        grew = value(after, name, **by_id, status=status) - value(
            before, name, **by_id, status=status
        )
        assert grew == 1, status
    post = {"dialect": "scim2", "route": "/scim/v2/Users", "method": "POST", "status": "201"}
    assert value(after, name, **post) - value(before, name, **post) == 1
    unmatched = {"dialect": "none", "route": "unmatched", "method": "GET", "status": "404"}
    assert value(after, name, **unmatched) - value(before, name, **unmatched) == 1
    timed = "concur_scim_request_duration_seconds_count"
    assert value(after, timed, **by_id) - value(before, timed, **by_id) == 2
    assert not any(user_id in str(key) for key in after)  # ids never become labels


def test_provisioning_queue_results_and_chunks(client: TestClient) -> None:
    """A request waits while the worker is paused (depth 1, an age); once it completes the
    queue is empty, its extension results are counted and the worker timed a chunk."""
    before = scrape(client)
    with admin_session(client) as admin:
        assert client.post("/_admin/worker/pause", headers=admin).status_code == 200
        accepted = submit(client, [operation("POST", "/Users", identity(), "m1")])
        waiting = scrape(client)
        assert value(waiting, "concur_scim_provisioning_queue_depth") >= 1
        assert value(waiting, "concur_scim_provisioning_queue_age_seconds") >= 0
        assert value(waiting, "concur_scim_provision_operations", state="pending") >= 1
        assert client.post("/_admin/worker/resume", headers=admin).status_code == 200
        done = wait(client, accepted["id"])
    assert done["status"]["completed"] is True
    after = scrape(client)
    assert value(after, "concur_scim_provisioning_queue_depth") == 0
    assert value(after, "concur_scim_provisioning_queue_age_seconds") == 0
    assert value(after, "concur_scim_extension_results", result="success") >= 2
    chunks = "concur_scim_worker_chunk_seconds_count"
    assert value(after, chunks) - value(before, chunks) >= 1


def test_a_database_outage_is_counted() -> None:
    """ErrorBoundary answers 503 for an unreachable database and counts it."""

    class App:
        def __init__(self) -> None:
            self.state = type("State", (), {"metrics": Metrics()})()

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    app = App()
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/scim/v2/Users", "headers": [], "app": app}
    asyncio.run(ErrorBoundary(app)(scope, receive, send))
    assert sent[0]["status"] == 503
    samples = {
        s.name: s.value
        for family in text_string_to_metric_families(app.state.metrics.exposition().decode())
        for s in family.samples
    }
    assert samples["concur_scim_database_errors_total"] == 1
