"""Where a read runs (api/deps.py ``UnitOfWorkRoute``): a short user read on SQLite on the
event loop (no thread hop), every other route in a worker thread, so that a read whose cost
grows with the directory (a filter over JSON, a sort, a deep or large page) never holds up
the loop; on PostgreSQL every route runs in a worker thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from concur_scim.api.dialects import DIALECTS
from concur_scim.api.journal_writer import THREAD_NAME as JOURNAL_THREAD
from concur_scim.api.params import SHORT_OFFSET, SHORT_PAGE, short_read
from concur_scim.config import Settings
from concur_scim.services.webhooks import THREAD_NAME as DELIVERY_THREAD
from concur_scim.worker import THREAD_NAME as WORKER_THREAD

HEADERS = {"Authorization": "Bearer test-token"}
BACKGROUND = (JOURNAL_THREAD, WORKER_THREAD, DELIVERY_THREAD)
SCIM2 = next(d for d in DIALECTS if d.prefix == "/scim/v2")


@contextmanager
def threads_of_statements(engine: Engine) -> Iterator[list[str]]:
    """The names of the threads that ran the route's statements inside the block."""
    names: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The route's own queries (users, groups); not what runs beside it (the
        # journal's writer, the fault rules' refresh in a worker thread, the workers).
        name = threading.current_thread().name
        route_query = "users" in statement or "groups" in statement
        if name not in BACKGROUND and "fault_rules" not in statement and route_query:
            names.append(name)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield names
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _app_engine(client: TestClient) -> Engine:
    engine: Engine = client.app.state.services.engine  # type: ignore[attr-defined]
    return engine


def _ran_in_worker_threads(client: TestClient, url: str) -> bool:
    with threads_of_statements(_app_engine(client)) as names:
        answer = client.get(url, headers=HEADERS)
    assert answer.status_code == 200, answer.text
    assert names
    in_workers = {name.startswith("AnyIO worker thread") for name in names}
    assert len(in_workers) == 1, names  # one place for the whole request
    return in_workers.pop()


@pytest.fixture
def user_id(client: TestClient) -> str:
    created = client.post(
        "/scim/v2/Users", json={"userName": "dispatch@example.com"}, headers=HEADERS
    )
    assert created.status_code == 201, created.text
    found: str = created.json()["id"]
    return found


SHORT = [
    '/scim/v2/Users?filter=userName eq "dispatch@example.com"',
    '/scim/v2/Users?filter=externalId eq "x"',
    "/scim/v2/Users?startIndex=1&count=100",
    "/scim/v2/Users",
]
LONG = [
    '/scim/v2/Users?filter=title co "x"',
    '/scim/v2/Users?filter=userName eq "a" or userName eq "b"',
    "/scim/v2/Users?sortBy=userName",
    f"/scim/v2/Users?count={SHORT_PAGE + 1}",
    f"/scim/v2/Users?startIndex={SHORT_OFFSET + 1}",
    "/scim/v2/Groups",
]


@pytest.mark.parametrize("url", SHORT)
def test_short_user_reads_run_on_the_loop_on_sqlite(
    client: TestClient, engine: Engine, user_id: str, url: str
) -> None:
    expected_in_thread = engine.dialect.name != "sqlite"
    assert _ran_in_worker_threads(client, url) is expected_in_thread
    by_id = f"/scim/v2/Users/{user_id}"
    assert _ran_in_worker_threads(client, by_id) is expected_in_thread


@pytest.mark.parametrize("url", LONG)
def test_reads_that_grow_with_the_directory_run_in_a_thread(
    client: TestClient, engine: Engine, user_id: str, url: str
) -> None:
    assert _ran_in_worker_threads(client, url) is True


def test_writes_run_in_a_thread(client: TestClient, engine: Engine) -> None:
    with threads_of_statements(_app_engine(client)) as names:
        created = client.post("/scim/v2/Users", json={"userName": "w@example.com"}, headers=HEADERS)
    assert created.status_code == 201
    assert names
    assert all(n.startswith("AnyIO worker thread") for n in names), names


def test_short_read_is_judged_from_the_query_alone() -> None:
    settings = Settings(bearer_token="t")
    assert short_read({}, settings, SCIM2)
    assert short_read({"COUNT": "200", "startIndex": "1000"}, settings, SCIM2)
    assert short_read({"filter": 'USERNAME EQ "a\\"b"'}, settings, SCIM2)
    assert not short_read({"count": "201"}, settings, SCIM2)
    assert not short_read({"count": "-1"}, settings, SCIM2)
    assert not short_read({"startIndex": "1001"}, settings, SCIM2)
    assert not short_read({"sortBy": "userName"}, settings, SCIM2)
    assert not short_read({"filter": 'title eq "a"'}, settings, SCIM2)
    assert not short_read({"filter": 'userName sw "a"'}, settings, SCIM2)
    big_default = Settings(bearer_token="t", default_page_size=500, max_page_size=1000)
    assert not short_read({}, big_default, SCIM2)
