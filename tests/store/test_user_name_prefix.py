"""``userName sw`` lists (store/users.py ``list_users``): bounded by their userName key range,
and on SQLite read through the userName index when few users share the prefix, whatever
the size of the company. Whichever way a page is read, it holds exactly the users a plain
``LIKE`` test would, in the same order, paged the same way."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event

from concur_scim.scim.filter import parse_filter
from concur_scim.services.users import list_users
from concur_scim.store import users as user_store
from concur_scim.store.db import unit_of_work
from concur_scim.store.paging import ListQuery

# Names sharing prefixes at several depths, ASCII and not, and one around the code points
# where the range's upper bound is made (the last character plus one).
NAMES = [
    "ab@example.com",
    "abc@example.com",
    "abd@example.com",
    "Abe@example.com",
    "b@example.com",
    "ba@example.com",
    "zz@example.com",
    "z{@example.com",
    "éa@example.com",
    "éb@example.com",
    "Éc@example.com",
    "日本@example.com",
    "日本語@example.com",
    "\ud7ff@example.com",
    "\ue000@example.com",
    "ß@example.com",
]
PREFIXES = st.one_of(
    st.sampled_from(["a", "ab", "abc", "AB", "b", "z", "z{", "é", "É", "日", "日本", "\ud7ff"]),
    st.sampled_from(NAMES).flatmap(lambda n: st.integers(1, len(n)).map(lambda k: n[:k])),
    st.text(alphabet="abzé日{\ue000", min_size=1, max_size=3),
)


@pytest.fixture
def company(client: TestClient) -> str:
    """The default company, holding one user per name in :data:`NAMES`."""
    for name in NAMES:
        body = {"userName": name, "name": {"givenName": "A", "familyName": "B"}}
        created = client.post("/scim/v2/Users", json=body)
        assert created.status_code == 201, created.text
    found: str = client.app.state.default_company_id  # type: ignore[attr-defined]
    return found


def _expected(prefix: str) -> list[str]:
    """What a ``LIKE`` over lower-cased keys selects, in creation (``seq``) order."""
    key = prefix.lower()
    return [n for n in NAMES if n.lower().startswith(key)]


def _pages(engine: Engine, company: str, text: str, size: int) -> tuple[list[str], list[int]]:
    """Every userName of the filter's list, cursor page by page, and the index totals."""
    names: list[str] = []
    totals: list[int] = []
    after = None
    with unit_of_work(engine, write=False) as conn:
        while True:
            query = ListQuery(filter=parse_filter(text), limit=size, after_seq=after, cursor=True)
            page = list_users(conn, company, query)
            names += [r.doc["userName"] for r in page.records]
            if page.next_seq is None:
                break
            after = page.next_seq
        indexed = list_users(conn, company, ListQuery(filter=parse_filter(text), limit=size))
        assert indexed.total is not None
        totals.append(indexed.total)
    return names, totals


@pytest.mark.parametrize("narrow", [0, 2000], ids=["seq-walk", "key-range"])
def test_a_prefix_list_holds_exactly_its_users_in_order(
    client: TestClient,
    engine: Engine,
    company: str,
    monkeypatch: pytest.MonkeyPatch,
    narrow: int,
) -> None:
    """Property, on both ways of reading (the threshold at 0: always the ``seq`` walk):
    pages of 2 by cursor give every matching user once, in ``seq`` order, and the index
    page's total is their number; alone and inside an ``and``."""
    del client
    monkeypatch.setattr(user_store, "NARROW_PREFIX", narrow)

    @settings(
        max_examples=60,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(prefix=PREFIXES)
    def listed(prefix: str) -> None:
        quoted = json.dumps(prefix, ensure_ascii=False)  # a SCIM filter string is JSON's
        wanted = _expected(prefix)
        for text in (f"userName sw {quoted}", f"active eq true and userName sw {quoted}"):
            names, totals = _pages(engine, company, text, 2)
            assert names == wanted, (text, names)
            assert totals == [len(wanted)]

    listed()


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SELECTs on ``users`` the engine runs inside the block, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM users" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_sqlite_reads_a_narrow_prefix_through_the_user_name_index(
    engine: Engine, company: str, statements: list[tuple[str, Any]]
) -> None:
    """On SQLite the page of a prefix few users share is planned as a search of the
    userName index, not a walk of the company's users; a broad prefix keeps the walk."""
    if engine.dialect.name != "sqlite":
        assert engine.dialect.name == "postgresql"  # PostgreSQL plans with its statistics
        return
    for text, index in (
        ('userName sw "abc"', "sqlite_autoindex_users"),
        ('userName sw "日本"', "sqlite_autoindex_users"),
    ):
        statements.clear()
        with unit_of_work(engine, write=False) as conn:
            list_users(conn, company, ListQuery(filter=parse_filter(text), limit=5, cursor=True))
            sql, params = statements[-1]
            plan = " ".join(
                str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
            )
        assert index in plan, (text, plan)
        assert "user_name_key>" in plan, (text, plan)
        assert "ix_users_company_id_deleted_at_seq" not in plan, plan


def test_the_range_ends_where_no_next_code_point_exists(company: str) -> None:
    """A prefix ending in the last code point, or just before the surrogates, gets no range
    (the LIKE alone decides); any other is bounded by its key and the key's successor."""
    del company
    assert user_store._user_name_range(parse_filter('userName sw "a\U0010ffff"')) is None
    assert user_store._user_name_range(parse_filter('userName sw "\ud7ff"')) is None
    assert user_store._user_name_range(parse_filter('userName sw "Ab"')) == ("ab", "ac")
    low_high = user_store._user_name_range(parse_filter(f'userName sw "{uuid.uuid4().hex}"'))
    assert low_high is not None
