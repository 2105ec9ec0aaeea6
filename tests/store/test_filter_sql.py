"""Filters compiled to SQL return the right users on both backends, and sync lookups use indexes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from support.factories import ENTERPRISE, user_body

from concur_scim.scim.filter import parse_filter
from concur_scim.scim.registry import group_schema, user_schema
from concur_scim.store.filter_sql import compile_filter
from concur_scim.store.groups import GROUP_COLUMNS
from concur_scim.store.tables import groups, users
from concur_scim.store.user_counts import recount
from concur_scim.store.users import USER_COLUMNS

USERS = "/scim/v2/Users"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"

DATASET = {
    "bjensen": user_body(
        userName="bjensen",
        title="Tour Guide",
        userType="Employee",
        externalId="ext-1",
        name={"givenName": "Barbara", "familyName": "Jensen"},
        emails=[{"value": "bjensen@example.com", "type": "work", "primary": True}],
        **{ENTERPRISE: {"employeeNumber": "701984"}},
    ),
    "jsmith": user_body(
        userName="JSmith",
        userType="Intern",
        name={"familyName": "O'Malley"},
        emails=[{"value": "js@example.org", "type": "home"}],
        ims=[{"value": "js@foo.com", "type": "xmpp"}],
    ),
    "jdoe": user_body(
        userName="jdoe",
        userType="Contractor",
        externalId="ext-3",
        emails=[{"value": "jdoe@other.net", "type": "work"}],
    ),
    "alice": user_body(
        userName="alice",
        title="CEO",
        userType="Employee",
        active=False,
        emails=[{"value": "alice@example.com", "type": "home"}],
    ),
}

# RFC 7644 §3.4.2.2 examples (and real-client ones) with the users each must return.
CASES = [
    ('name.familyName co "O\'Malley"', {"jsmith"}),
    ('userName sw "J"', {"jsmith", "jdoe"}),
    (f'{CORE}:userName sw "J"', {"jsmith", "jdoe"}),
    ("title pr", {"bjensen", "alice"}),
    ('meta.lastModified gt "2011-05-13T04:42:34Z"', set(DATASET)),
    ('meta.lastModified ge "2011-05-13T04:42:34Z"', set(DATASET)),
    ('meta.lastModified lt "2011-05-13T04:42:34Z"', set()),
    ('meta.created le "2011-05-13T04:42:34Z"', set()),
    ('title pr and userType eq "Employee"', {"bjensen", "alice"}),
    ('title pr or userType eq "Intern"', {"bjensen", "jsmith", "alice"}),
    (f'schemas eq "{ENTERPRISE}"', {"bjensen"}),
    (
        'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
        {"bjensen", "alice"},
    ),
    (
        'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
        {"jdoe"},
    ),
    ('userType eq "Employee" and (emails.type eq "work")', {"bjensen"}),
    ('userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', {"bjensen"}),
    (
        'emails[type eq "work" and value co "@example.com"] or '
        'ims[type eq "xmpp" and value co "@foo.com"]',
        {"bjensen", "jsmith"},
    ),
    ('USERNAME EQ "BJENSEN"', {"bjensen"}),
    ('externalId eq "ext-3"', {"jdoe"}),
    ('externalId eq "EXT-3"', set()),
    ("externalId eq ext-1", {"bjensen"}),
    ('emails eq "bjensen@example.com"', {"bjensen"}),
    ('emails[type eq "work"].value eq "bjensen@example.com"', {"bjensen"}),
    (f'{ENTERPRISE}:employeeNumber eq "701984"', {"bjensen"}),
    ("active eq false", {"alice"}),
    ("not (active eq true)", {"alice"}),
    ('userType ne "Employee"', {"jsmith", "jdoe"}),
    ("nickName pr", set()),
    ("not (nickName pr)", set(DATASET)),
    ("emails.primary eq true", {"bjensen"}),
    ('title gt "D"', {"bjensen"}),
    ('name.familyName ew "NSEN"', {"bjensen"}),
    ('userName co "%"', set()),
    ('userName co "_"', set()),
    ('meta.resourceType eq "User"', set(DATASET)),
]


@pytest.fixture
def seeded(client: TestClient) -> dict[str, str]:
    """The dataset created through the API; returns {name: id}."""
    ids = {}
    for name, body in DATASET.items():
        response = client.post(USERS, json=body)
        assert response.status_code == 201, response.text
        ids[response.json()["id"]] = name
    return ids


@pytest.mark.parametrize(("flt", "expected"), CASES)
def test_filter_returns_expected_users(
    client: TestClient, seeded: dict[str, str], flt: str, expected: set[str]
) -> None:
    """Each filter returns exactly the users RFC 7644 §3.4.2.2 semantics select."""
    response = client.get(USERS, params={"filter": flt, "count": 100})
    assert response.status_code == 200, response.text
    assert {seeded[r["id"]] for r in response.json()["Resources"]} == expected


def test_id_filter(client: TestClient, seeded: dict[str, str]) -> None:
    """id eq finds the user; an and with manager eq is understood (older Entra check)."""
    some_id = next(iter(seeded))
    page = client.get(USERS, params={"filter": f'id eq "{some_id}"'}).json()
    assert [r["id"] for r in page["Resources"]] == [some_id]
    page = client.get(USERS, params={"filter": f'id eq "{some_id}" and manager eq "x"'}).json()
    assert page["totalResults"] == 0


def _plan(engine: Engine, stmt: object) -> str:
    with engine.begin() as conn:
        sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))  # type: ignore[attr-defined]
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
            return "\n".join(str(r[-1]) for r in rows)
        return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql}").all())


@pytest.fixture
def many_rows(client: TestClient, engine: Engine) -> str:
    """2,000 users and groups in one company, with planner statistics; returns the company."""
    company = client.app.state.default_company_id  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    common = {"company_id": company, "created": now, "last_modified": now, "version": 1}
    with engine.begin() as conn:
        conn.execute(
            users.insert(),
            [
                {
                    **common,
                    "id": str(uuid.uuid4()),
                    "user_name": f"u{i}",
                    "user_name_key": f"u{i}",
                    "external_id": f"e{i}",
                    "active": True,
                    "doc": {"userName": f"u{i}"},
                }
                for i in range(2000)
            ],
        )
        recount(conn, company)  # as the store keeps it (store/user_counts.py)
        conn.execute(
            groups.insert(),
            [
                {
                    **common,
                    "id": str(uuid.uuid4()),
                    "display_name": f"G{i}",
                    "display_name_key": f"g{i}",
                    "doc": {"displayName": f"G{i}"},
                }
                for i in range(2000)
            ],
        )
        conn.exec_driver_sql("ANALYZE")
    return str(company)


@pytest.mark.parametrize(
    ("flt", "column"),
    [
        ('userName eq "U17"', "user_name_key"),
        ('externalId eq "e17"', "external_id"),
        ('id eq "7d9b0a39-3e4a-4c2e-9d43-2d1f0d4f2b11"', "id"),
    ],
)
def test_sync_lookups_use_an_index(engine: Engine, many_rows: str, flt: str, column: str) -> None:
    """The lookups IdPs make at every sync are index seeks on their column, never scans."""
    where = compile_filter(parse_filter(flt), user_schema(), USER_COLUMNS, engine.dialect.name)
    stmt = select(users).where(users.c.company_id == many_rows, users.c.deleted_at.is_(None), where)
    assert_index_on(_plan(engine, stmt), column)


def test_group_display_name_lookup_uses_an_index(engine: Engine, many_rows: str) -> None:
    """Groups are matched by displayName through the per-company unique index."""
    where = compile_filter(
        parse_filter('displayName eq "g17"'), group_schema(), GROUP_COLUMNS, engine.dialect.name
    )
    plan = _plan(engine, select(groups).where(groups.c.company_id == many_rows, where))
    assert_index_on(plan, "display_name_key")


def assert_index_on(plan: str, column: str) -> None:
    """The plan seeks an index with ``column`` in its condition (SQLite or PostgreSQL wording)."""
    if plan.startswith("SEARCH") or "USING INDEX" in plan:
        assert "USING INDEX" in plan, plan
        assert f"{column}=?" in plan, plan
        return
    cond = [line for line in plan.splitlines() if "Index Cond" in line]
    assert cond, plan
    assert f"({column})" in cond[0], plan
