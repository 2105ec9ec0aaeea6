"""The admin API from tests: its token's header, and a fixture body that undoes what a test
switched on (fault rules, a paused worker) through the API, so the app's rule cache learns it
at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient


def admin_headers(client: TestClient) -> dict[str, str]:
    """``Authorization`` with the application's admin token."""
    token: str = client.app.state.admin_token  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def admin_session(client: TestClient) -> Iterator[dict[str, str]]:
    """The admin headers; afterwards every fault rule is deleted and the worker resumed."""
    headers = admin_headers(client)
    try:
        yield headers
    finally:
        assert client.delete("/_admin/faults", headers=headers).status_code == 200
        assert client.post("/_admin/worker/resume", headers=headers).status_code == 200


def add_fault(client: TestClient, headers: dict[str, str], **rule: Any) -> dict[str, Any]:
    """Add a fault rule (201 asserted); the stored rule."""
    response = client.post("/_admin/faults", json=rule, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def journal(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    """A journal page (200 asserted)."""
    response = client.get("/_admin/journal", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
