"""What the concur_scim fixtures provide, run in each mode by tests/conformance."""

from __future__ import annotations

from typing import Any

import httpx

from concur_scim.pytest_plugin import ConcurScim

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _concur_user(n: int) -> dict[str, Any]:
    return {
        "schemas": [CORE, ENTERPRISE],
        "userName": f"bulk{n}@example.com",
        "active": True,
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"value": f"bulk{n}@example.com", "type": "work"}],
        ENTERPRISE: {"employeeNumber": f"E{n}"},
    }


def test_every_dialect_answers_the_token(concur_scim: ConcurScim) -> None:
    for root in (concur_scim.scim_v2, concur_scim.scim_v4, concur_scim.ups):
        answer = concur_scim.client.get(f"{root}/ServiceProviderConfig")
        assert answer.status_code == 200, (root, answer.text)
    for root in (concur_scim.identity_v4, concur_scim.identity_v41, concur_scim.spend):
        assert concur_scim.client.get(f"{root}/Users").status_code == 200, root
    assert concur_scim.travel == f"{concur_scim.base_url}/profile/travel/v4"
    assert concur_scim.user_v1 == f"{concur_scim.base_url}/api/user/v1.0"
    assert httpx.get(f"{concur_scim.scim_v2}/Users").status_code == 401  # no token


def test_seed_writes_users_the_next_test_does_not_see(concur_scim: ConcurScim) -> None:
    report = concur_scim.seed([{"userName": "one@example.com"}, {"userName": ""}])
    assert report["created"] == 1
    assert [f["line"] for f in report["failed"]] == [2]
    users = concur_scim.client.get(f"{concur_scim.identity_v41}/Users").json()
    assert [u["userName"] for u in users["Resources"]] == ["one@example.com"]
    concur_scim.faults.add(status=500, path="/nowhere")


def test_after_a_test_the_company_is_empty_and_faults_are_gone(concur_scim: ConcurScim) -> None:
    assert concur_scim.client.get(f"{concur_scim.scim_v2}/Users").json()["totalResults"] == 0
    assert concur_scim.faults.list() == []


def test_faults_answer_then_clear(concur_scim: ConcurScim) -> None:
    rule = concur_scim.faults.add(dialect="scim2", status=429, retryAfter=3)
    answer = concur_scim.client.get(f"{concur_scim.scim_v2}/Users")
    assert (answer.status_code, answer.headers["retry-after"]) == (429, "3")
    assert [r["id"] for r in concur_scim.faults.list()] == [rule]
    concur_scim.faults.clear()
    assert concur_scim.client.get(f"{concur_scim.scim_v2}/Users").status_code == 200
    journal = concur_scim.admin.get("/journal", params={"status": "429"}).json()
    assert journal["Resources"][0]["injected"] is True


def test_a_bulk_request_is_provisioned_by_the_worker(concur_scim: ConcurScim) -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": f"u{n}", "data": _concur_user(n)}
            for n in range(2)
        ],
    }
    accepted = concur_scim.client.post(f"{concur_scim.ups}/Bulk", json=body)
    assert accepted.status_code == 202, accepted.text
    status = concur_scim.wait_for_provision(accepted.json()["id"])
    assert status["status"] == {"completed": True, "success": True}
    assert [op["status"]["code"] for op in status["operations"]] == ["201", "201"]


def test_a_paused_worker_leaves_a_request_pending(concur_scim: ConcurScim) -> None:
    concur_scim.pause_worker()
    body = {"Operations": [{"method": "POST", "path": "/Users", "data": _concur_user(9)}]}
    accepted = concur_scim.client.post(f"{concur_scim.ups}/Bulk", json=body)
    assert accepted.status_code == 202, accepted.text
    provisions = concur_scim.admin.get("/provisions", params={"state": "pending"}).json()
    assert provisions["totalResults"] == 1
    # Left pending on purpose: the fixture resumes the worker and waits before resetting.


def test_the_session_fixture_is_the_same_server(
    concur_scim: ConcurScim, concur_scim_session: ConcurScim
) -> None:
    assert concur_scim is concur_scim_session
    assert concur_scim.client.get(f"{concur_scim.scim_v2}/Users").json()["totalResults"] == 0
    assert concur_scim.reset()["company"] == concur_scim.company_id
