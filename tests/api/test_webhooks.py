"""provisionCompleted webhooks through the admin API, on SQLite and PostgreSQL: the
configuration routes, the event a real local receiver gets when a Bulk completes (signed,
Concur's envelope: reference/concur-v4.md §3.8), its journal row, nothing queued without a
webhook, and ``concur-scim webhook``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select
from support.admin import admin_headers, journal
from support.ups import identity, operation, submit, wait
from support.webhook_receiver import receiving

from concur_scim.cli import main
from concur_scim.store.tables import webhook_deliveries, webhooks

SECRET = "receiver-shared-secret"
# reference §3.8: the envelope's fields, and those of its facts.
ENVELOPE_FIELDS = {
    "id",
    "correlationId",
    "eventType",
    "topic",
    "timeStamp",
    "subtopic",
    "facts",
    "groups",
    "scopes",
    "data",
}
FACT_FIELDS = {"originator", "provisionId", "provisionStatusHref", "success"}


@pytest.fixture
def company(client: TestClient, engine: Engine) -> Iterator[str]:
    """The default company's id; its webhook and deliveries are deleted afterwards."""
    company_id: str = client.app.state.default_company_id  # type: ignore[attr-defined]
    yield company_id
    with engine.begin() as conn:
        conn.execute(delete(webhook_deliveries))
        conn.execute(delete(webhooks))


def test_configure_show_and_remove(client: TestClient, company: str) -> None:
    """PUT stores the URL and secret (the secret is never answered), GET shows it, DELETE
    removes it; bad bodies and unknown companies are SCIM errors."""
    admin = admin_headers(client)
    url = f"/_admin/webhooks/{company}"
    assert client.get(url, headers=admin).status_code == 404
    put = client.put(url, json={"url": "http://127.0.0.1:9/x", "secret": SECRET}, headers=admin)
    assert put.status_code == 200, put.text
    assert put.json()["url"] == "http://127.0.0.1:9/x"
    assert SECRET not in put.text
    shown = client.get(url, headers=admin)
    assert shown.json()["companyId"] == company
    assert SECRET not in shown.text
    bad_bodies: list[object] = [
        {"url": "ftp://x", "secret": "s"},
        {"url": "http://h/x", "secret": ""},
        [],
    ]
    for bad in bad_bodies:
        answer = client.put(url, json=bad, headers=admin)
        assert answer.status_code == 400, answer.text
    unknown = client.put(
        "/_admin/webhooks/00000000-0000-0000-0000-000000000000",
        json={"url": "http://h/x", "secret": "s"},
        headers=admin,
    )
    assert unknown.status_code == 404
    company_token = client.get(url)  # the session client's company token
    assert company_token.status_code == 401
    assert client.delete(url, headers=admin).status_code == 204
    assert client.delete(url, headers=admin).status_code == 404
    assert client.get(url, headers=admin).status_code == 404


def test_completed_bulk_is_posted_signed_to_the_receiver(
    client: TestClient, engine: Engine, company: str
) -> None:
    """After a Bulk completes, the receiver gets one POST: Concur's provisionCompleted
    envelope (§3.8) naming the provision, signed with the secret; the journal shows it."""
    admin = admin_headers(client)
    with receiving() as receiver:
        body = {"url": receiver.url, "secret": SECRET}
        assert client.put(f"/_admin/webhooks/{company}", json=body, headers=admin).is_success
        accepted = submit(client, [operation("POST", "/Users", identity(), "u1")])
        done = wait(client, accepted["id"])
        (event,) = receiver.wait_for(1)
    assert event.signed_with(SECRET)
    assert not event.signed_with("another secret")
    assert event.headers["content-type"] == "application/json"
    envelope = event.json()
    assert set(envelope) == ENVELOPE_FIELDS
    assert set(envelope["facts"]) == FACT_FIELDS
    assert envelope["id"] == event.headers["x-concur-scim-delivery"]
    assert envelope["eventType"] == "provisionCompleted"
    assert envelope["topic"] == "public.concur.user.provisioning"
    assert envelope["correlationId"] == done["meta"]["correlationId"]
    facts = envelope["facts"]
    assert facts["originator"] == "com.concur.provisioning"
    assert facts["provisionId"] == accepted["id"]
    assert facts["provisionStatusHref"] == f"/provisioning/v4/provisions/{accepted['id']}/status"
    assert facts["success"] is done["status"]["success"] is True
    # The deliverer journals the attempt once the receiver has answered: a moment later.
    deadline = time.monotonic() + 30
    while not (entries := journal(client, admin, dialect="webhook")["Resources"]):
        assert time.monotonic() < deadline, "the delivery was not journaled"
        time.sleep(0.05)
    assert [(e["method"], e["path"], e["status"], e["resourceId"]) for e in entries] == [
        ("POST", receiver.url, 200, accepted["id"])
    ]
    assert entries[0]["request"]["delivery"] == envelope["id"]
    with engine.connect() as conn:
        row = conn.execute(select(webhook_deliveries)).mappings().one()
    assert (row["state"], row["attempts"], row["last_status"]) == ("delivered", 1, 200)


def test_without_a_webhook_nothing_is_queued(
    client: TestClient, engine: Engine, company: str
) -> None:
    """A company without a webhook completes its requests and queues no delivery."""
    accepted = submit(client, [operation("POST", "/Users", identity(), "u1")])
    wait(client, accepted["id"])
    with engine.connect() as conn:
        queued = conn.execute(select(func.count()).select_from(webhook_deliveries)).scalar()
    assert queued == 0


def test_webhook_cli_sets_shows_and_removes(
    database_url: str, company: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``concur-scim webhook`` works on the database through the same service functions."""
    db = ["--company", company, "--database-url", database_url]
    assert main(["webhook", "set", "--url", "http://127.0.0.1:9/x", "--secret", SECRET, *db]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["companyId"], printed["url"]) == (company, "http://127.0.0.1:9/x")
    assert main(["webhook", "show", *db]) == 0
    assert SECRET not in capsys.readouterr().out
    assert main(["webhook", "remove", *db]) == 0
    assert main(["webhook", "show", *db]) == 2
    assert "has no webhook" in capsys.readouterr().err
    assert main(["webhook", "set", "--url", "nope", "--secret", SECRET, *db]) == 2
