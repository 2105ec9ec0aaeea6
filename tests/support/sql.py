"""Helpers for tests that look at the SQL the application runs or seed rows directly."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from concur_scim.api.journal_writer import THREAD_NAME as JOURNAL_THREAD
from concur_scim.services.webhooks import THREAD_NAME as DELIVERY_THREAD
from concur_scim.store.tables import (
    group_members,
    groups,
    provision_operations,
    provision_results,
    provisions,
    request_log,
    role_groups,
    role_members,
    user_counts,
    user_extensions,
    users,
)
from concur_scim.store.user_counts import recount
from concur_scim.worker import THREAD_NAME as WORKER_THREAD

# The tables tests write rows to, children before parents (so deleting in this order never
# trips a foreign key). Companies and credentials are left to the tests that make them.
DATA_TABLES = (
    request_log,
    user_counts,
    provision_results,
    provision_operations,
    provisions,
    user_extensions,
    role_members,
    role_groups,
    group_members,
    groups,
    users,
)


@contextmanager
def recorded_sql(client: TestClient) -> Iterator[list[str]]:
    """Every statement the application's engine runs for requests inside the block.

    Left out: what runs beside the requests on its own schedule, namely the embedded
    provisioning worker's and webhook deliverer's polling (their threads), the audit
    trail's ``request_log`` rows, written after the responses by the journal's writer
    thread (api/journal_writer.py), and the fault rule cache's
    refresh (``fault_rules``, at most once a second per process, services/faults.py).
    """
    engine: Engine = client.app.state.services.engine  # type: ignore[attr-defined]
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.current_thread().name in (
            WORKER_THREAD,
            DELIVERY_THREAD,
            JOURNAL_THREAD,
        ) or any(table in statement for table in ("request_log", "fault_rules")):
            return
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def insert_users(engine: Engine, company: str, size: int, *, active: bool = True) -> list[str]:
    """``size`` users of ``company`` inserted directly (fast); their ids."""
    now = datetime.now(UTC)
    ids = [str(uuid.uuid4()) for _ in range(size)]
    with engine.begin() as conn:
        conn.execute(
            users.insert(),
            [
                {
                    "id": i,
                    "company_id": company,
                    "user_name": i,
                    "user_name_key": i,
                    "active": active,
                    "created": now,
                    "last_modified": now,
                    "version": 1,
                    "doc": {"userName": i},
                }
                for i in ids
            ],
        )
        recount(conn, company)  # as the store keeps it (store/user_counts.py)
    return ids
