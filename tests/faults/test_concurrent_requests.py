"""Concurrent HTTP clients against a real ``concur-scim serve`` process, on both backends.

The database decides who wins: 50 simultaneous creates of one userName give exactly one 201
and 49 409s, and 50 simultaneous PATCHes carrying the same ``If-Match`` give exactly one 200
and 49 412s (the version check and the write are one step, so two writers can never both
pass it). Each test gets its own database (support/databases.py).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from support.databases import fresh_database
from support.server import running_server

pytestmark = pytest.mark.server

CLIENTS = 50
TOKEN = "faults-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _database(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    pg_url: str | None = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    return fresh_database(backend, tmp_path, pg_url)


def _all_at_once(call: Callable[[httpx.Client, int], httpx.Response], base: str) -> list[int]:
    """Run ``call`` from CLIENTS threads released together; their status codes."""
    clients = [
        httpx.Client(base_url=f"{base}/scim/v2", headers=AUTH, timeout=60) for _ in range(CLIENTS)
    ]
    barrier = threading.Barrier(CLIENTS)
    statuses: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        try:
            # Open the connection first, so the barrier releases requests, not handshakes.
            clients[n].get("/ServiceProviderConfig")
            barrier.wait(timeout=30)
            status = call(clients[n], n).status_code
            with lock:
                statuses.append(status)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for client in clients:
            client.close()
    assert not errors, errors[:3]
    assert len(statuses) == CLIENTS
    return statuses


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_creates_of_one_username_have_one_winner(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    """50 clients POST the same userName (in varying case) at once: one 201, 49 409s."""
    url = _database(request, backend, tmp_path)
    with running_server(url, TOKEN) as base:

        def create(client: httpx.Client, n: int) -> httpx.Response:
            name = "Racer@Example.com" if n % 2 else "racer@example.com"
            return client.post("/Users", json={"userName": name, "externalId": f"ext-{n}"})

        statuses = _all_at_once(create, base)
        assert Counter(statuses) == {201: 1, 409: CLIENTS - 1}
        with httpx.Client(base_url=f"{base}/scim/v2", headers=AUTH, timeout=30) as client:
            listed = client.get("/Users", params={"filter": 'userName eq "racer@example.com"'})
            assert listed.json()["totalResults"] == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_patches_with_one_etag_have_one_winner(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    """50 clients PATCH one user with the same If-Match at once: one 200, 49 412s."""
    url = _database(request, backend, tmp_path)
    with (
        running_server(url, TOKEN) as base,
        httpx.Client(base_url=f"{base}/scim/v2", headers=AUTH, timeout=30) as client,
    ):
        created = client.post("/Users", json={"userName": "patched@example.com"})
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        etag = created.headers["ETag"]

        def patch(each: httpx.Client, n: int) -> httpx.Response:
            body = {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "displayName", "value": f"Writer {n}"}],
            }
            return each.patch(f"/Users/{user_id}", json=body, headers={"If-Match": etag})

        statuses = _all_at_once(patch, base)
        assert Counter(statuses) == {200: 1, 412: CLIENTS - 1}
        final = client.get(f"/Users/{user_id}")
        assert final.json()["meta"]["version"] == 'W/"2"'
        assert final.json()["displayName"].startswith("Writer ")
