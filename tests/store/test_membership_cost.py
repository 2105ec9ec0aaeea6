"""Membership changes and member-less reads never touch the whole member list.

Speed itself is measured in bench/; this pins the mechanism: the SQL a request runs is the
same for a group of 3 members and a group of 3,000, and no statement reads every member.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support.factories import group_body, patch, user_body
from support.sql import insert_users, recorded_sql

from concur_scim.store.tables import group_members

GROUPS = "/scim/v2/Groups"


def group_with_members(client: TestClient, engine: Engine, size: int) -> str:
    """A group with ``size`` members inserted directly (fast), returning its id."""
    company = client.app.state.default_company_id  # type: ignore[attr-defined]
    group_id: str = client.post(GROUPS, json=group_body()).json()["id"]
    now = datetime.now(UTC)
    ids = insert_users(engine, company, size)
    with engine.begin() as conn:
        conn.execute(
            group_members.insert(),
            [
                {
                    "group_id": group_id,
                    "member_id": i,
                    "company_id": company,
                    "member_type": "User",
                    "added": now,
                }
                for i in ids
            ],
        )
    return group_id


def shape(statements: list[str]) -> list[str]:
    """Statements with literals and IN-lists folded, so runs on different ids compare."""
    return [re.sub(r"\(\s*(\?|%\(\w+\)s)(,\s*(\?|%\(\w+\)s))*\s*\)", "(…)", s) for s in statements]


def member_change_sql(client: TestClient, group_id: str) -> list[str]:
    newcomer = client.post("/scim/v2/Users", json=user_body()).json()["id"]
    url = f"{GROUPS}/{group_id}"
    with recorded_sql(client) as sql:
        add = client.patch(
            url, json=patch({"op": "add", "path": "members", "value": [{"value": newcomer}]})
        )
        remove = client.patch(
            url, json=patch({"op": "remove", "path": f'members[value eq "{newcomer}"]'})
        )
        read = client.get(url, params={"excludedAttributes": "members"})
    assert (add.status_code, remove.status_code, read.status_code) == (204, 204, 200)
    assert "members" not in read.json()
    return sql


def test_member_changes_run_the_same_sql_at_any_group_size(
    client: TestClient, engine: Engine
) -> None:
    """Add/remove one member and a member-less read issue identical SQL for 3 or 3,000 members."""
    small = member_change_sql(client, group_with_members(client, engine, 3))
    large = member_change_sql(client, group_with_members(client, engine, 3000))
    assert shape(small) == shape(large)
    member_reads = [s for s in large if "FROM group_members" in s and "SELECT" in s]
    for statement in member_reads:
        assert "member_id =" in statement or "member_id IN" in statement, statement
