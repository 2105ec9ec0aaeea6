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
        entries = _journal_when_written(http, admin, 1)
        assert [(e["status"], e["injected"], e["faultRule"]) for e in entries] == [
            (503, True, rule.json()["id"])
        ]
        assert http.delete("/_admin/faults", headers=admin).json() == {"deleted": 1}
        assert http.get("/scim/v2/Users", headers=company).status_code == 200


def _journal_when_written(
    http: httpx.Client, admin: dict[str, str], count: int, **params: str
) -> list[dict[str, object]]:
    """The journal once it holds ``count`` entries: a server writes an entry after it has
    answered, so a client that reads at once may be ahead of it."""
    deadline = time.monotonic() + 10
    while True:
        entries: list[dict[str, object]] = http.get(
            "/_admin/journal", params=params, headers=admin
        ).json()["Resources"]
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


@pytest.mark.server
def test_a_real_server_journals_seeds_resets_and_injects_every_fault_kind(
    database_url: str, tmp_path: Path
) -> None:
    """Against a running `concur-scim serve`: seed users, see a failed write in the journal,
    inject latency, a 429 with Retry-After and an extension result in a provision's status,
    pause and resume its worker, and reset the company."""
    with (
        temporary_database(database_url, tmp_path) as url,
        running_server(url, "company-token", {"CONCUR_SCIM_ADMIN_TOKEN": ADMIN_TOKEN}) as base,
        httpx.Client(base_url=base, timeout=30.0) as http,
    ):
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        company = {"Authorization": "Bearer company-token"}
        seeded = http.post(
            "/_admin/seed",
            content="userName,givenName,familyName\nseed1@example.com,Ada,Lovelace\n",
            headers={**admin, "Content-Type": "text/csv"},
        )
        assert seeded.status_code == 200, seeded.text
        assert seeded.json() == {"created": 1, "failed": []}
        found = http.get(
            "/scim/v2/Users", params={"filter": 'userName eq "seed1@example.com"'}, headers=company
        )
        assert found.json()["totalResults"] == 1
        bad = {"userName": "bad@example.com", "active": "maybe"}
        refused = http.post("/scim/v2/Users", json=bad, headers=company)
        assert refused.status_code == 400
        [entry] = _journal_when_written(http, admin, 1, method="POST")
        assert (entry["status"], entry["path"]) == (400, "/scim/v2/Users")
        slow = http.post(
            "/_admin/faults", json={"path": "/scim/v2/Groups", "latencyMs": 300}, headers=admin
        )
        started = time.monotonic()
        assert http.get("/scim/v2/Groups", headers=company).status_code == 200
        assert time.monotonic() - started >= 0.3
        http.delete(f"/_admin/faults/{slow.json()['id']}", headers=admin)
        http.post(
            "/_admin/faults",
            json={"path": "/scim/v2/Schemas", "status": 429, "retryAfter": 7, "count": 1},
            headers=admin,
        )
        throttled = http.get("/scim/v2/Schemas", headers=company)
        assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "7")
        assert http.get("/scim/v2/Schemas", headers=company).status_code == 200  # count spent
        preference = "urn:ietf:params:scim:schemas:extension:spend:2.0:WorkflowPreference"
        http.post(
            "/_admin/faults",
            json={"extension": preference, "code": "500", "message": "INTERNAL_SERVER_ERROR"},
            headers=admin,
        )
        assert http.post("/_admin/worker/pause", headers=admin).json() == {"paused": True}
        user = {**identity(), preference: {"promptForApproverOnReportSubmit": True}}
        bulk = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [operation("POST", "/Users", user, "b1")],
        }
        accepted = http.post("/profile/v4/Bulk", json=bulk, headers=company)
        assert accepted.status_code == 202, accepted.text
        location = accepted.json()["meta"]["location"]
        time.sleep(1.5)
        assert http.get(location, headers=company).json()["status"]["completed"] is False
        assert http.post("/_admin/worker/resume", headers=admin).json() == {"paused": False}
        deadline = time.monotonic() + 30
        while not http.get(location, headers=company).json()["status"]["completed"]:
            assert time.monotonic() < deadline, "the resumed worker never completed the request"
            time.sleep(0.2)
        status = http.get(location, params={"attributes": "operations"}, headers=company).json()
        [result] = [e for e in status["operations"][0]["extensions"] if e["name"] == preference]
        assert (result["status"]["result"], result["status"]["code"]) == ("error", "500")
        assert result["messages"][0]["message"] == "INTERNAL_SERVER_ERROR"
        reset = http.post("/_admin/reset", json={}, headers=admin)
        assert reset.status_code == 200, reset.text
        after = http.get("/scim/v2/Users", headers=company).json()
        assert after["totalResults"] == 0
        assert http.get("/scim/v2/Users", headers=company).status_code == 200  # token kept


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


def test_seed_and_reset_commands(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``concur-scim seed FILE`` creates users through the user service (a refused line is
    reported, exit 1) and ``concur-scim reset`` deletes them."""
    users = tmp_path / "users.csv"
    users.write_text("userName,givenName,familyName\nok@example.com,A,B\n,C,D\n", encoding="utf-8")
    with temporary_database(database_url, tmp_path) as url:
        db = ["--database-url", url]
        assert main(["seed", str(users), *db]) == 1
        report = json.loads(capsys.readouterr().out)
        assert report["created"] == 1
        assert [f["line"] for f in report["failed"]] == [3]
        assert main(["reset", *db]) == 0
        deleted = json.loads(capsys.readouterr().out)["deleted"]
        assert deleted["users"] == 1, deleted
        assert main(["seed", str(tmp_path / "missing.json"), *db]) == 2
