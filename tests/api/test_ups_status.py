"""The UPS Provision:Status resource and discovery, through the HTTP app
(reference/concur-v4.md §3.1, §3.4, §3.7, §4.4; §9 items 6, 23)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support.databases import temporary_database
from support.ups import (
    APPROVER_LIMIT,
    CORE,
    DOWNSTREAM,
    ENTERPRISE,
    INVOICE_PREFERENCE,
    LEGACY_UPS,
    PROVISION_STATUS,
    SPEND_USER,
    STATUS_TIME,
    UPS,
    identity,
    operation,
    results,
    run_bulk,
    spend_user,
    status,
    submit,
    wait,
)

from concur_scim.app import create_app
from concur_scim.config import Settings
from concur_scim.services import provisioning
from concur_scim.services.common import system_clock
from concur_scim.store import provisions as provision_store
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.tables import companies, provisions
from concur_scim.worker import Worker


def _mixed(client: TestClient) -> dict[str, object]:
    """A completed request of five operations: 1, 2, 4, 5 succeed, 3 fails."""
    bad = identity()
    bad["userName"] = "bad%name@example.com"
    ops = [operation("POST", "/Users", identity(), f"op{i}") for i in range(1, 6)]
    ops[2] = operation("POST", "/Users", bad, "op3")
    return run_bulk(client, ops)


def test_unknown_provision_is_404(client: TestClient) -> None:
    """A provision id that does not exist (or is not a UUID) is 404."""
    for provision_id in (str(uuid.uuid4()), "not-a-uuid"):
        response = client.get(f"{UPS}/provisions/{provision_id}/status")
        assert response.status_code == 404, response.text
        assert response.json()["status"] == "404"


def test_operations_are_shown_only_when_asked(client: TestClient) -> None:
    """Without ``attributes=operations`` the status has no operations and no paging."""
    done = _mixed(client)
    plain = status(client, str(done["id"]))
    assert "operations" not in plain
    assert "totalResults" not in plain
    assert plain["schemas"] == [PROVISION_STATUS]
    assert plain["operationsCount"] == {"total": 5, "success": 4, "failed": 1, "pending": 0}


def test_operations_paging(client: TestClient) -> None:
    """startIndex (1-based) and count page the operations; totalResults counts them all."""
    provision_id = str(_mixed(client)["id"])
    page = status(client, provision_id, attributes="operations", startIndex=2, count=2)
    assert (page["totalResults"], page["itemsPerPage"], page["startIndex"]) == (5, 2, 2)
    assert [op["id"] for op in page["operations"]] == ["2", "3"]
    assert [op["bulkId"] for op in page["operations"]] == ["op2", "op3"]
    last = status(client, provision_id, attributes="operations", startIndex=5, count=10)
    assert (last["totalResults"], last["itemsPerPage"]) == (5, 1)
    assert [op["id"] for op in last["operations"]] == ["5"]
    beyond = status(client, provision_id, attributes="operations", startIndex=9)
    assert (beyond["totalResults"], beyond["itemsPerPage"], beyond["operations"]) == (5, 0, [])
    everything = status(client, provision_id, attributes="operations")
    assert [op["id"] for op in everything["operations"]] == ["1", "2", "3", "4", "5"]


def test_state_filter(client: TestClient) -> None:
    """state=success|failed|pending selects the operations in that state; paging applies."""
    provision_id = str(_mixed(client)["id"])

    def ids(**params: Any) -> tuple[int, list[str]]:
        page = status(client, provision_id, attributes="operations", **params)
        return page["totalResults"], [op["id"] for op in page["operations"]]

    assert ids(state="success") == (4, ["1", "2", "4", "5"])
    assert ids(state="FAILED") == (1, ["3"])
    assert ids(state="pending") == (0, [])
    assert ids(state="success", startIndex=2, count=2) == (4, ["2", "4"])


@pytest.mark.parametrize("state", ["done", "completed", "error"])
def test_bad_state_is_400(client: TestClient, state: str) -> None:
    """A state outside pending, success and failed is refused."""
    provision_id = str(_mixed(client)["id"])
    response = client.get(
        f"{UPS}/provisions/{provision_id}/status",
        params={"attributes": "operations", "state": state},
    )
    assert response.status_code == 400, response.text


def test_status_meta(client: TestClient) -> None:
    """meta: provisionType, the request's correlation id, Concur's time format, companyId,
    location on the prefix the request used; completed once done (§3.4)."""
    company = client.app.state.default_company_id  # type: ignore[attr-defined]
    correlation = "d16d944e9c5ba571e23e028e015dbd58"
    accepted = submit(
        client,
        [operation("POST", "/Users", identity(), "m")],
        root=LEGACY_UPS,
        headers={"concur-correlationid": correlation},
    )
    done = wait(client, str(accepted["id"]), LEGACY_UPS)
    meta = done["meta"]
    assert meta["provisionType"] == "Bulk"
    assert meta["resourceType"] == "ProvisionRequest"
    assert meta["correlationId"] == correlation
    assert meta["companyId"] == company
    assert meta["location"] == f"http://testserver{LEGACY_UPS}/provisions/{done['id']}/status"
    for key in ("created", "lastModified", "completed"):
        assert re.match(STATUS_TIME, meta[key]), (key, meta[key])
    assert meta["created"] <= meta["lastModified"] <= meta["completed"]
    # The same status is readable under the other prefix.
    assert status(client, str(done["id"]), UPS)["meta"]["correlationId"] == correlation

    user = client.post(
        f"{UPS}/Users", json=identity(), headers={"Concur-CorrelationId": "nameofapp"}
    )
    assert user.headers["concur-correlationid"] == "nameofapp"
    user_status = status(client, user.json()["meta"]["provisionId"])
    assert user_status["meta"]["provisionType"] == "User"
    assert user_status["meta"]["correlationId"] == "nameofapp"


def test_status_of_another_company_is_404(client: TestClient, engine: Engine) -> None:
    """A provision id is read within the caller's company only."""
    provision_id = str(_mixed(client)["id"])
    mine = client.app.state.default_company_id  # type: ignore[attr-defined]
    other = str(uuid.uuid4())
    table = provisions
    with engine.begin() as conn:
        conn.execute(
            companies.insert().values(
                id=other, name="other", is_default=False, created=system_clock()
            )
        )
        conn.execute(table.update().where(table.c.id == provision_id).values(company_id=other))
    try:
        response = client.get(f"{UPS}/provisions/{provision_id}/status")
        assert response.status_code == 404, response.text
    finally:
        with engine.begin() as conn:
            conn.execute(table.update().where(table.c.id == provision_id).values(company_id=mine))
            conn.execute(companies.delete().where(companies.c.id == other))


# -- pending, observed without a running worker ---------------------------------------------


@pytest.fixture
def idle_app(settings: Settings, tmp_path: Path) -> Iterator[tuple[TestClient, Engine, Settings]]:
    """An app with no embedded worker, on a database of its own (so no other worker runs)."""
    assert settings.bearer_token is not None
    token = settings.bearer_token.get_secret_value()
    with temporary_database(settings.database_url, tmp_path) as url:
        idle = Settings(database_url=url, bearer_token=token, embedded_worker=False)
        engine = create_db_engine(url)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        try:
            with TestClient(create_app(idle), headers=headers) as client:
                yield client, engine, idle
        finally:
            engine.dispose()


def test_pending_status_until_a_worker_runs(
    idle_app: tuple[TestClient, Engine, Settings],
) -> None:
    """A submitted request is pending (success null, no meta.completed) until a worker runs;
    a worker that stops between operations leaves a mixed status that another resumes."""
    client, engine, settings = idle_app
    bad = identity()
    bad["userName"] = "bad:name@example.com"
    ops = [
        operation("POST", "/Users", {**identity(), SPEND_USER: spend_user()}, "one"),
        operation("POST", "/Users", bad, "two"),
        operation("POST", "/Users", identity(), "three"),
    ]
    accepted = submit(client, ops)
    provision_id = str(accepted["id"])
    pending = status(client, provision_id, attributes="operations")
    assert pending["status"] == {"completed": False, "success": None}
    assert pending["operationsCount"] == {"total": 3, "success": 0, "failed": 0, "pending": 3}
    assert "completed" not in pending["meta"]
    for op in pending["operations"]:
        assert op["status"] == {"completed": False, "success": None}
        assert op["extensions"] == []
        assert "resource" not in op
    assert (
        status(client, provision_id, attributes="operations", state="pending")["totalResults"] == 3
    )

    # A worker that is told to stop before the third operation.
    worker = Worker(engine, settings)
    with unit_of_work(engine, write=True) as conn:
        claimed = provision_store.claim(conn, worker.owner, system_clock(), worker.lease_duration)
    assert claimed == (provision_id, client.app.state.default_company_id)  # type: ignore[attr-defined]
    lease = provisioning.Lease(provision_id, claimed[1], worker.owner, worker.lease_duration)
    answers = iter([False, False, True])
    assert provisioning.process(engine, lease, system_clock, stop=lambda: next(answers)) is False

    partial = status(client, provision_id, attributes="operations")
    assert partial["status"] == {"completed": False, "success": None}
    assert partial["operationsCount"] == {"total": 3, "success": 1, "failed": 1, "pending": 1}

    def ids(state: str) -> list[str]:
        page = status(client, provision_id, attributes="operations", state=state)
        return [op["id"] for op in page["operations"]]

    assert (ids("success"), ids("failed"), ids("pending")) == (["1"], ["2"], ["3"])
    first = partial["operations"][0]
    assert results(first)[SPEND_USER] == "success"

    assert Worker(engine, settings).run_once() is True
    done = status(client, provision_id, attributes="operations")
    assert done["status"] == {"completed": True, "success": False}
    assert done["operationsCount"] == {"total": 3, "success": 2, "failed": 1, "pending": 0}
    assert re.match(STATUS_TIME, done["meta"]["completed"])
    assert [op["status"]["code"] for op in done["operations"]] == ["201", "400", "201"]
    assert Worker(engine, settings).run_once() is False  # nothing left


# -- discovery ------------------------------------------------------------------------------


@pytest.mark.parametrize("root", [UPS, LEGACY_UPS])
def test_resource_types_is_a_bare_array(client: TestClient, root: str) -> None:
    """One User type; enterprise required, every downstream extension optional (§3.7)."""
    response = client.get(f"{root}/ResourceTypes")
    assert response.status_code == 200, response.text
    [user] = response.json()
    assert (user["id"], user["endpoint"], user["schema"]) == ("User", "/Users", CORE)
    required = {e["schema"]: e["required"] for e in user["schemaExtensions"]}
    assert required.pop(ENTERPRISE) is True
    assert set(DOWNSTREAM) <= set(required)
    assert {APPROVER_LIMIT, INVOICE_PREFERENCE} <= set(required)
    assert not any(required.values())
    assert user["meta"]["location"] == f"http://testserver{root}/ResourceTypes/User"
    assert client.get(f"{root}/ResourceTypes/User").json()["id"] == "User"
    assert client.get(f"{root}/ResourceTypes/Group").status_code == 404


def test_service_provider_config_advertises_the_bulk_limits(client: TestClient) -> None:
    """Bulk is supported with Concur's limits: 100 operations, 400 KB (§3.2, §4.4)."""
    config = client.get(f"{UPS}/ServiceProviderConfig").json()
    assert config["bulk"]["supported"] is True
    assert config["bulk"]["maxOperations"] == 100
    assert config["bulk"]["maxPayloadSize"] == 409_600
    assert config["patch"]["supported"] is True


def test_schemas_list_provision_status(client: TestClient) -> None:
    """/Schemas includes Provision:Status and Concur's Error, each readable by id."""
    listed = client.get(f"{UPS}/Schemas").json()
    ids = {s["id"] for s in listed["Resources"]}
    assert {PROVISION_STATUS, "urn:ietf:params:scim:api:messages:concur:2.0:Error"} <= ids
    assert {CORE, ENTERPRISE, SPEND_USER} <= ids
    assert listed["totalResults"] == len(listed["Resources"])
    one = client.get(f"{UPS}/Schemas/{PROVISION_STATUS}")
    assert one.status_code == 200
    names = {a["name"] for a in one.json()["attributes"]}
    assert {"status", "operationsCount", "operations"} <= names
