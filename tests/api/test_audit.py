"""The audit trail (docs/security.md "What is logged") on SQLite and PostgreSQL: one JSON line
on ``concur_scim.audit`` per write, one redacted ``request_log`` row per authenticated write."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from support.factories import patch, user_body
from support.ups import UPS, bulk_body, identity, operation

from concur_scim.api.journal_writer import flush_all
from concur_scim.app import create_app
from concur_scim.config import Settings
from concur_scim.store.tables import request_log

V1_NS = "http://www.concursolutions.com/api/user/2011/02"
SECRET = "Sup3r-Secret-Value"


def rows(engine: Engine) -> list[dict[str, Any]]:
    """Every request_log row, oldest first."""
    flush_all()  # the journal's rows are written by its own thread
    with engine.connect() as conn:
        found = conn.execute(select(request_log).order_by(request_log.c.seq)).mappings()
        return [dict(row) for row in found]


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The parsed JSON lines of the ``concur_scim.audit`` logger."""
    return [
        json.loads(r.getMessage())
        for r in caplog.records
        if r.name == "concur_scim.audit" and r.getMessage().startswith("{")
    ]


@pytest.fixture
def audit_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """``caplog`` recording the audit logger at INFO."""
    caplog.set_level(logging.INFO, logger="concur_scim.audit")
    return caplog


def test_create_is_a_row_and_a_line_with_the_correlation_id(
    client: TestClient, engine: Engine, audit_log: pytest.LogCaptureFixture
) -> None:
    """A create is logged with who, what, the new id, the status and the client's
    correlation id; its password is stored as ``[redacted]`` and logged nowhere."""
    body = user_body(password=SECRET)
    response = client.post(
        "/scim/v2/Users", json=body, headers={"concur-correlationid": "corr-create-1"}
    )
    assert response.status_code == 201, response.text
    created = response.json()["id"]

    [row] = rows(engine)
    assert row["correlation_id"] == "corr-create-1"
    assert row["subject"] == "static-token"
    assert (row["method"], row["path"], row["status"]) == ("POST", "/scim/v2/Users", 201)
    assert (row["resource_type"], row["resource_id"]) == ("User", created)
    assert row["detail"]["json"]["password"] == "[redacted]"
    assert row["detail"]["json"]["userName"] == body["userName"]
    assert row["at"] is not None

    [line] = audit_lines(audit_log)
    assert line["correlation_id"] == "corr-create-1"
    assert line["company_id"] == row["company_id"]
    assert line["subject"] == "static-token"
    assert (line["method"], line["path"], line["status"]) == ("POST", "/scim/v2/Users", 201)
    assert (line["resource_type"], line["resource_id"]) == ("User", created)
    assert line["duration_ms"] >= 0
    assert SECRET not in audit_log.text
    assert "test-token" not in audit_log.text


def test_reads_and_searches_are_not_logged(
    client: TestClient, engine: Engine, audit_log: pytest.LogCaptureFixture
) -> None:
    """GETs and POST /.search (a query, RFC 7644 §3.4.3) leave neither a row nor a line."""
    assert client.get("/scim/v2/Users").status_code == 200
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
    assert client.post("/scim/v2/Users/.search", json=search).status_code == 200
    assert client.get("/scim/v2/ServiceProviderConfig").status_code == 200
    assert rows(engine) == []
    assert audit_lines(audit_log) == []


def test_failed_write_is_logged_with_its_status_and_nested_secrets_redacted(
    client: TestClient, engine: Engine, audit_log: pytest.LogCaptureFixture
) -> None:
    """A 404 PATCH is logged with its status and path id; secret-named keys are redacted at
    any depth and in any case."""
    value = {
        "password": SECRET,
        "x": [{"Client_Secret": SECRET, "ACCESS_TOKEN": SECRET}, {"refresh_token": SECRET}],
        "keep": "visible",
    }
    response = client.patch(
        "/scim/v2/Users/no-such-user", json=patch({"op": "replace", "value": value})
    )
    assert response.status_code == 404, response.text

    [row] = rows(engine)
    assert (row["method"], row["status"]) == ("PATCH", 404)
    assert (row["resource_type"], row["resource_id"]) == ("User", "no-such-user")
    stored = row["detail"]["json"]["Operations"][0]["value"]
    assert stored == {
        "password": "[redacted]",
        "x": [
            {"Client_Secret": "[redacted]", "ACCESS_TOKEN": "[redacted]"},
            {"refresh_token": "[redacted]"},
        ],
        "keep": "visible",
    }
    assert SECRET not in json.dumps(row["detail"])
    [line] = audit_lines(audit_log)
    assert (line["status"], line["resource_id"]) == (404, "no-such-user")
    assert SECRET not in audit_log.text


def test_unauthenticated_write_is_a_line_without_a_row(
    client: TestClient, engine: Engine, audit_log: pytest.LogCaptureFixture
) -> None:
    """A 401 has no company: it is logged, not stored."""
    response = client.post(
        "/scim/v2/Users", json=user_body(password=SECRET), headers={"Authorization": "Bearer bad"}
    )
    assert response.status_code == 401
    assert rows(engine) == []
    [line] = audit_lines(audit_log)
    assert (line["status"], line["company_id"], line["subject"]) == (401, None, None)
    assert line["correlation_id"] == response.headers["concur-correlationid"]
    assert SECRET not in audit_log.text


def test_user_v1_batch_masks_passwords(
    client: TestClient, engine: Engine, audit_log: pytest.LogCaptureFixture
) -> None:
    """A User v1.0 XML batch is stored with its ``<Password>`` contents masked."""
    profile = (
        "<UserProfile><EmpId>AUD1</EmpId><FeedRecordNumber>1</FeedRecordNumber>"
        f"<LoginId>aud1@example.com</LoginId><Password>{SECRET}</Password>"
        "<LedgerKey>DEFAULT</LedgerKey><LocaleName>en_US</LocaleName><CtryCode>US</CtryCode>"
        f"<CrnKey>USD</CrnKey></UserProfile><UserProfile><Password><![CDATA[{SECRET}]]>"
        "</Password></UserProfile>"
    )
    response = client.post(
        "/api/user/v1.0/Users",
        content=f'<batch xmlns="{V1_NS}">{profile}</batch>',
        headers={"Content-Type": "application/xml"},
    )
    assert response.status_code < 500, response.text

    [row] = rows(engine)
    assert (row["path"], row["resource_type"]) == ("/api/user/v1.0/users", "User")
    assert row["status"] == response.status_code
    xml = row["detail"]["xml"]
    assert "<Password>[redacted]</Password>" in xml
    assert "<EmpId>AUD1</EmpId>" in xml
    assert SECRET not in xml
    assert SECRET not in audit_log.text


def test_bulk_is_logged_with_its_provision_id(client: TestClient, engine: Engine) -> None:
    """A UPS /Bulk request is one row naming the provision request it created."""
    body = bulk_body([operation("POST", "/Users", identity(), "b1")])
    response = client.post(f"{UPS}/Bulk", json=body)
    assert response.status_code == 202, response.text

    [row] = rows(engine)
    assert (row["resource_type"], row["resource_id"]) == ("Bulk", response.json()["id"])
    assert row["status"] == 202
    assert row["detail"]["json"]["Operations"][0]["bulkId"] == "b1"


def test_token_requests_keep_only_grant_type_and_client_id(
    client: TestClient, engine: Engine, audit_log: pytest.LogCaptureFixture
) -> None:
    """A token request names its client id; its secret reaches neither a line nor a row."""
    form = {"grant_type": "client_credentials", "client_id": "cid-1", "client_secret": SECRET}
    client.post(
        "/oauth2/v0/token",
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""},
    )
    [line] = audit_lines(audit_log)
    assert (line["resource_type"], line["subject"]) == ("Token", "cid-1")
    assert SECRET not in audit_log.text
    for row in rows(engine):
        assert row["detail"]["form"] == {"grant_type": "client_credentials", "client_id": "cid-1"}


@contextmanager
def app_with(settings: Settings, **overrides: Any) -> Iterator[TestClient]:
    """A second application on the test database with ``overrides`` (no worker)."""
    changed = settings.model_copy(update={"embedded_worker": False, **overrides})
    token = "test-token"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    with TestClient(create_app(changed), headers=headers, raise_server_exceptions=False) as app:
        yield app


def test_pruning_keeps_exactly_the_newest_n(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    """With CONCUR_SCIM_REQUEST_LOG_KEEP=3, five writes leave the newest three rows."""
    with app_with(settings, request_log_keep=3) as small:
        for n in range(5):
            assert small.delete(f"/scim/v2/Users/gone-{n}").status_code == 404
    assert [r["resource_id"] for r in rows(engine)] == ["gone-2", "gone-3", "gone-4"]


def test_keep_zero_turns_the_table_off(
    client: TestClient, settings: Settings, engine: Engine, audit_log: pytest.LogCaptureFixture
) -> None:
    """With CONCUR_SCIM_REQUEST_LOG_KEEP=0 writes are logged but not stored."""
    with app_with(settings, request_log_keep=0) as off:
        assert off.delete("/scim/v2/Users/gone").status_code == 404
    assert rows(engine) == []
    assert [line["resource_id"] for line in audit_lines(audit_log)] == ["gone"]
