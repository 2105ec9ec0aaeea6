"""The live-user count (store/user_counts.py) equals ``count(*)`` of the live users after any
sequence of writes, and unfiltered lists answer it as ``totalResults``; on SQLite and
PostgreSQL, with concurrent writers too."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from concur_scim.scim.errors import Uniqueness
from concur_scim.services import users as user_service
from concur_scim.services.common import system_clock
from concur_scim.store import admin as admin_store
from concur_scim.store.db import unit_of_work
from concur_scim.store.tables import users
from concur_scim.store.user_counts import live_users, recount

HEADERS = {"Authorization": "Bearer test-token"}


def _company(client: TestClient) -> str:
    company: str = client.app.state.default_company_id  # type: ignore[attr-defined]
    return company


def _counted(engine: Engine, company: str) -> tuple[int, int]:
    """(the kept count, count(*) of live users) of ``company``."""
    with unit_of_work(engine, write=False) as conn:
        kept = live_users(conn, company)
        actual = conn.execute(
            select(func.count()).where(users.c.company_id == company, users.c.deleted_at.is_(None))
        ).scalar_one()
    return kept, int(actual)


def _user(name: str) -> dict[str, Any]:
    return {"userName": f"{name}@example.com", "name": {"givenName": "A", "familyName": "B"}}


STEPS = st.lists(st.sampled_from(["create", "soft", "hard", "conflict", "reset"]), max_size=25)


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(STEPS)
def test_count_follows_every_write(client: TestClient, engine: Engine, steps: list[str]) -> None:
    """Creates, soft deletes, hard deletes, refused creates (409) and resets, in any order."""
    company = _company(client)
    with unit_of_work(engine, write=True) as conn:
        admin_store.reset(conn, company)
    live: list[tuple[str, str]] = []  # (id, name) of the live users
    for step in steps:
        with unit_of_work(engine, write=True) as conn:
            if step == "create":
                name = uuid.uuid4().hex
                record = user_service.create_user(conn, company, _user(name), clock=system_clock)
                live.append((record.id, name))
            elif step in ("soft", "hard") and live:
                user_id, _ = live.pop()
                user_service.delete_user(conn, company, user_id, soft=step == "soft")
            elif step == "conflict" and live:
                with pytest.raises(Uniqueness):
                    user_service.create_user(conn, company, _user(live[-1][1]), clock=system_clock)
            elif step == "reset":
                admin_store.reset(conn, company)
                live.clear()
        assert _counted(engine, company) == (len(live), len(live)), (steps, step)


def test_unfiltered_list_total_is_the_count(client: TestClient, engine: Engine) -> None:
    """totalResults of an unfiltered page (and of count=0) equals the live users: creates,
    a hard delete, and SCIM v4's soft delete (hidden from every list)."""
    ids = []
    for i in range(5):
        created = client.post("/scim/v2/Users", json=_user(f"total-{i}"), headers=HEADERS)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    assert client.delete(f"/scim/v2/Users/{ids[0]}", headers=HEADERS).status_code == 204
    assert client.delete(f"/scim/v4/Users/{ids[1]}", headers=HEADERS).status_code == 204
    for query in ("?count=2", "?count=0", "?startIndex=2&count=1"):
        page = client.get(f"/scim/v2/Users{query}", headers=HEADERS).json()
        assert page["totalResults"] == 3, (query, page)
    assert _counted(engine, _company(client)) == (3, 3)


def test_concurrent_creates_are_all_counted(client: TestClient, engine: Engine) -> None:
    """Eight threads creating users of one company at once (stripes shared or not): the
    count is exact once they are done."""
    company = _company(client)
    errors: list[BaseException] = []

    def create(n: int) -> None:
        try:
            for i in range(10):
                with unit_of_work(engine, write=True) as conn:
                    user_service.create_user(
                        conn, company, _user(f"c{n}-{i}-{uuid.uuid4().hex}"), clock=system_clock
                    )
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert _counted(engine, company) == (80, 80)


def test_recount_repairs_a_count(client: TestClient, engine: Engine) -> None:
    """A loader that writes users directly calls recount; the count is then exact."""
    company = _company(client)
    for i in range(3):
        assert client.post("/scim/v2/Users", json=_user(f"r{i}"), headers=HEADERS).is_success
    with unit_of_work(engine, write=True) as conn:
        conn.execute(users.delete().where(users.c.user_name_key == "r0@example.com"))
    assert _counted(engine, company) == (3, 2)  # written around the store: off by one
    with unit_of_work(engine, write=True) as conn:
        recount(conn, company)
    assert _counted(engine, company) == (2, 2)
