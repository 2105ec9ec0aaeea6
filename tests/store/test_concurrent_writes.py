"""Uniqueness holds under concurrent writers: the database constraint decides, not luck."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from support.factories import user_body

from concur_scim.scim.errors import Uniqueness
from concur_scim.services.common import system_clock
from concur_scim.services.users import create_user
from concur_scim.store.db import unit_of_work
from concur_scim.store.tables import users

WRITERS = 8


def test_concurrent_creates_of_one_username_have_one_winner(
    client: TestClient, engine: Engine
) -> None:
    """Eight threads create the same userName at once: exactly one succeeds, seven get 409."""
    company = client.app.state.default_company_id  # type: ignore[attr-defined]
    barrier = threading.Barrier(WRITERS)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        body = user_body(userName="Racer@Example.com" if n % 2 else "racer@example.com")
        barrier.wait()
        try:
            with unit_of_work(engine, write=True) as conn:
                record = create_user(conn, company, body, clock=system_clock)
            result: Any = record.id
        except Uniqueness as exc:
            result = exc
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    winners = [o for o in outcomes if isinstance(o, str)]
    losers = [o for o in outcomes if isinstance(o, Uniqueness)]
    assert len(winners) == 1
    assert len(losers) == WRITERS - 1
    with engine.connect() as conn:
        stored = conn.execute(
            select(func.count())
            .select_from(users)
            .where(users.c.user_name_key == "racer@example.com")
        ).scalar_one()
    assert stored == 1
