"""The admin API's worker switch and fault rules across processes, on SQLite and PostgreSQL:
pausing the embedded worker, a worker of another process honouring the same flag, a real
``concur-scim serve`` answering an injected 503, and ``concur-scim fault``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support.admin import admin_session
from support.databases import temporary_database
from support.server import running_server
from support.ups import identity, operation, submit, wait

from concur_scim.cli import main
from concur_scim.config import Settings
from concur_scim.worker import Worker

ADMIN_TOKEN = "admin-test-token"


@pytest.fixture
def admin(client: TestClient) -> Iterator[dict[str, str]]:
    """The admin token's headers; the worker is resumed and rules deleted afterwards."""
    with admin_session(client) as headers:
        yield headers


def test_pause_and_resume_the_embedded_worker(
    client: TestClient, engine: Engine, settings: Settings, admin: dict[str, str]
) -> None:
    """While paused, no worker claims (a request stays pending, also for a worker of
    another process); once resumed, the request completes."""
    assert client.post("/_admin/worker/pause", headers=admin).json() == {"paused": True}
    accepted = submit(client, [operation("POST", "/Users", identity())])
    assert Worker(engine, settings).run_once() is False  # the flag is in the database
    time.sleep(settings.worker_poll_seconds * 1.5)
    pending = client.get("/_admin/provisions", params={"state": "pending"}, headers=admin)
    assert [p["id"] for p in pending.json()["Resources"]] == [accepted["id"]]
    assert client.post("/_admin/worker/resume", headers=admin).json() == {"paused": False}
    done = wait(client, accepted["id"])
    assert done["status"]["success"] is True, done


@pytest.mark.server
def test_real_server_answers_an_injected_503_and_journals_it(
    database_url: str, tmp_path: Path
) -> None:
    """A rule added through a running server's admin API makes it answer 503, and the
    journal marks the answer injected."""
    with (
        temporary_database(database_url, tmp_path) as url,
        running_server(url, "company-token", {"CONCUR_SCIM_ADMIN_TOKEN": ADMIN_TOKEN}) as base,
        httpx.Client(base_url=base, timeout=10.0) as http,
    ):
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        company = {"Authorization": "Bearer company-token"}
        assert http.get("/_admin/journal", headers=company).status_code == 401
        rule = http.post(
            "/_admin/faults", json={"path": "/scim/v2/Users", "status": 503}, headers=admin
        )
        assert rule.status_code == 201, rule.text
        answer = http.get("/scim/v2/Users", headers=company)
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"]
        entries = http.get("/_admin/journal", headers=admin).json()["Resources"]
        assert [(e["status"], e["injected"], e["faultRule"]) for e in entries] == [
            (503, True, rule.json()["id"])
        ]
        assert http.delete("/_admin/faults", headers=admin).json() == {"deleted": 1}
        assert http.get("/scim/v2/Users", headers=company).status_code == 200


def test_fault_cli_adds_lists_and_clears(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``concur-scim fault`` works on the database through the same rules as the API."""
    with temporary_database(database_url, tmp_path) as url:
        db = ["--database-url", url]
        assert (
            main(
                [
                    "fault",
                    "add",
                    "--status",
                    "429",
                    "--retry-after",
                    "3",
                    "--method",
                    "get",
                    "--path",
                    "/scim/v2/*",
                    "--count",
                    "2",
                    *db,
                ]
            )
            == 0
        )
        added = json.loads(capsys.readouterr().out)
        assert added["status"] == 429
        assert added["retryAfter"] == 3
        assert added["method"] == "GET"
        assert added["count"] == 2
        assert (
            main(["fault", "add", "--latency-ms", "50", "--probability", "0.5", "--seed", "7", *db])
            == 0
        )
        capsys.readouterr()
        assert main(["fault", "list", *db]) == 0
        listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [r.get("latencyMs") for r in listed] == [None, 50]
        assert main(["fault", "add", "--status", "503", "--latency-ms", "5", *db]) == 2
        assert "exactly one action" in capsys.readouterr().err
        assert main(["fault", "clear", "--id", added["id"], *db]) == 0
        assert main(["fault", "clear", *db]) == 0
        assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"deleted": 1}


@pytest.mark.server
def test_serve_prints_the_generated_admin_token(database_url: str, tmp_path: Path) -> None:
    """Without CONCUR_SCIM_ADMIN_TOKEN, ``serve`` prints the token it generated, and that
    token (not the company's) opens the admin API of its app process."""
    logs: list[Path] = []
    with (
        temporary_database(database_url, tmp_path) as url,
        running_server(url, "company-token", logs=logs) as base,
        httpx.Client(base_url=base, timeout=10.0) as http,
    ):
        lines = logs[-1].read_text().splitlines()
        (printed,) = [line for line in lines if line.startswith("admin token: ")]
        token = printed.removeprefix("admin token: ")
        assert len(token) >= 32
        answer = http.get("/_admin/faults", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        company = http.get("/_admin/faults", headers={"Authorization": "Bearer company-token"})
        assert company.status_code == 401
