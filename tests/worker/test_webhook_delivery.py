"""Webhook delivery by the provisioning workers, on SQLite and PostgreSQL, each test on a
fresh database (no other worker watches it): retries with growing delays until a 2xx, an
unreachable receiver exhausting its attempts, every attempt in the journal, and a real
``concur-scim serve`` process posting the event of a Bulk it completed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select
from support.admin import admin_headers, journal
from support.databases import temporary_database
from support.server import running_server
from support.ups import UPS, bulk_body, identity, operation, submit, wait
from support.webhook_receiver import closed_port_url, receiving

from concur_scim.app import create_app
from concur_scim.config import Settings
from concur_scim.services import provisioning
from concur_scim.store.db import create_db_engine
from concur_scim.store.tables import webhook_deliveries

TOKEN = "delivery-test-token"
ADMIN_TOKEN = "delivery-admin-token"
SECRET = "delivery-secret"
BACKOFF = 0.2  # seconds before the first retry; doubles


@pytest.fixture
def app_client(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Engine]]:
    """An application with small webhook backoff settings on a fresh database, and an
    engine on that database."""
    with temporary_database(database_url, tmp_path) as url:
        settings = Settings(
            database_url=url,
            bearer_token=TOKEN,
            worker_poll_seconds=0.05,
            webhook_backoff_seconds=BACKOFF,
            webhook_backoff_max_seconds=5.0,
            webhook_max_attempts=3,
            webhook_timeout_seconds=2.0,
        )
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
        engine = create_db_engine(url)
        try:
            with TestClient(create_app(settings), headers=headers) as client:
                yield client, engine
        finally:
            engine.dispose()


def _configure(client: TestClient, url: str) -> None:
    company: str = client.app.state.default_company_id  # type: ignore[attr-defined]
    body = {"url": url, "secret": SECRET}
    answer = client.put(f"/_admin/webhooks/{company}", json=body, headers=admin_headers(client))
    assert answer.status_code == 200, answer.text


def _delivery(engine: Engine, deadline_seconds: float = 30.0) -> dict[str, Any]:
    """The one delivery, once it is no longer pending."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        with engine.connect() as conn:
            row = dict(conn.execute(select(webhook_deliveries)).mappings().one())
        if row["state"] != "pending":
            return row
        assert time.monotonic() < deadline, f"delivery still pending: {row}"
        time.sleep(0.05)


def test_retries_with_growing_delays_until_delivered(
    app_client: tuple[TestClient, Engine],
) -> None:
    """A receiver answering 500 twice then 200 gets three identical, signed attempts, the
    second wait longer than the first; each attempt is a journal row."""
    client, engine = app_client
    with receiving([500, 500, 200]) as receiver:
        _configure(client, receiver.url)
        accepted = submit(client, [operation("POST", "/Users", identity(), "u1")])
        wait(client, accepted["id"])
        attempts = receiver.wait_for(3)
        row = _delivery(engine)
    assert (row["state"], row["attempts"], row["last_status"]) == ("delivered", 3, 200)
    assert all(a.signed_with(SECRET) for a in attempts)
    assert len({a.body for a in attempts}) == 1
    assert {a.headers["x-concur-scim-delivery"] for a in attempts} == {row["id"]}
    first_wait, second_wait = (attempts[1].at - attempts[0].at, attempts[2].at - attempts[1].at)
    assert first_wait >= BACKOFF * 0.9
    assert second_wait >= 2 * BACKOFF * 0.9
    assert second_wait > first_wait
    entries = journal(client, admin_headers(client), dialect="webhook")["Resources"]
    assert [(e["status"], e["request"]["attempt"]) for e in entries] == [
        (200, 3),
        (500, 2),
        (500, 1),
    ]
    assert entries[1]["error"] == {"detail": "the receiver answered 500"}


def test_unreachable_receiver_exhausts_its_attempts(
    app_client: tuple[TestClient, Engine],
) -> None:
    """Connection refused at every attempt: after webhook_max_attempts the delivery is
    failed with the last error; the journal shows each attempt with status 0."""
    client, engine = app_client
    _configure(client, closed_port_url())
    accepted = submit(client, [operation("POST", "/Users", identity(), "u1")])
    wait(client, accepted["id"])
    row = _delivery(engine)
    assert (row["state"], row["attempts"], row["last_status"]) == ("failed", 3, None)
    assert "Connect" in row["last_error"]
    entries = journal(client, admin_headers(client), dialect="webhook")["Resources"]
    assert [(e["status"], e["request"]["state"]) for e in entries] == [
        (0, "failed"),
        (0, "pending"),
        (0, "pending"),
    ]


@pytest.mark.server
def test_real_server_posts_the_event_of_a_completed_bulk(database_url: str, tmp_path: Path) -> None:
    """A running ``concur-scim serve``, configured through its admin API, POSTs the signed
    provisionCompleted event of a Bulk it accepted and completed."""
    company = str(uuid.uuid4())
    env = {"CONCUR_SCIM_ADMIN_TOKEN": ADMIN_TOKEN, "CONCUR_SCIM_COMPANY_ID": company}
    with (
        temporary_database(database_url, tmp_path) as url,
        receiving() as receiver,
        running_server(url, TOKEN, env) as base,
        httpx.Client(base_url=base, timeout=10.0) as http,
    ):
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        body = {"url": receiver.url, "secret": SECRET}
        configured = http.put(f"/_admin/webhooks/{company}", json=body, headers=admin)
        assert configured.status_code == 200, configured.text
        bulk = bulk_body([operation("POST", "/Users", identity(), "u1")])
        accepted = http.post(f"{UPS}/Bulk", json=bulk, headers={"Authorization": f"Bearer {TOKEN}"})
        assert accepted.status_code == 202, accepted.text
        (event,) = receiver.wait_for(1, deadline_seconds=60.0)
    assert event.signed_with(SECRET)
    envelope = event.json()
    assert envelope["eventType"] == "provisionCompleted"
    assert envelope["subtopic"] == company
    assert envelope["facts"]["provisionId"] == accepted.json()["id"]
    assert envelope["facts"]["success"] is True


def test_closed_deliveries_are_purged_with_the_statuses(
    app_client: tuple[TestClient, Engine],
) -> None:
    """Housekeeping deletes deliveries closed longer ago than the status retention; pending
    ones stay whatever their age."""
    client, engine = app_client
    company: str = client.app.state.default_company_id  # type: ignore[attr-defined]
    old = datetime.now(UTC) - timedelta(days=30)
    with engine.begin() as conn:
        for state in ("delivered", "failed", "pending"):
            conn.execute(
                insert(webhook_deliveries).values(
                    id=str(uuid.uuid4()),
                    company_id=company,
                    provision_id=str(uuid.uuid4()),
                    url="http://127.0.0.1:9/x",
                    payload={},
                    state=state,
                    attempts=1,
                    next_attempt=old + timedelta(days=365) if state == "pending" else old,
                    created=old,
                    completed=None if state == "pending" else old,
                )
            )
    provisioning.purge(engine, lambda: datetime.now(UTC), retention=timedelta(days=7))
    with engine.connect() as conn:
        left = conn.execute(select(webhook_deliveries.c.state)).scalars().all()
    assert left == ["pending"]
