"""The extension repository and service on both backends: upsert, batch reads, cascade, list.

Users are created through the generic API; extension rows are written with the repository
(or the service) inside a unit of work, as the provisioning worker will.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, event, select
from support.factories import user_body

from concur_scim.scim.errors import InvalidFilter, InvalidSyntax, InvalidValue, NotFound
from concur_scim.scim.filter import parse_filter
from concur_scim.services import extensions as service
from concur_scim.services.extensions import SPEND_ROLE, SPEND_USER, TRAVEL_USER
from concur_scim.store import extensions as store
from concur_scim.store import users as user_store
from concur_scim.store.db import unit_of_work
from concur_scim.store.tables import user_extensions

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def company_of(client: TestClient) -> str:
    """The default company the test token acts for."""
    company: str = client.app.state.default_company_id  # type: ignore[attr-defined]
    return company


def new_user(client: TestClient) -> str:
    """A user created through the generic SCIM API, returning its id."""
    user_id: str = client.post("/scim/v2/Users", json=user_body()).json()["id"]
    return user_id


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """One committed write transaction, as a request or the worker opens it."""
    with unit_of_work(engine, write=True) as conn:
        yield conn


def test_put_inserts_then_replaces_with_next_version(client: TestClient, engine: Engine) -> None:
    """A second put replaces the document, keeps ``created`` and bumps the version."""
    company, user = company_of(client), new_user(client)
    with write(engine) as conn:
        first = store.put_extension(conn, company, user, SPEND_USER, {"country": "US"}, T0)
    later = T0 + timedelta(minutes=5)
    with write(engine) as conn:
        second = store.put_extension(conn, company, user, SPEND_USER, {"country": "FR"}, later)
    assert (first.version, first.created, first.doc) == (1, T0, {"country": "US"})
    assert (second.version, second.created, second.last_modified) == (2, T0, later)
    assert second.doc == {"country": "FR"}
    with engine.connect() as conn:
        rows = conn.execute(select(user_extensions).where(user_extensions.c.user_id == user))
        assert len(rows.all()) == 1


def test_get_extensions_reads_a_page_in_one_statement(client: TestClient, engine: Engine) -> None:
    """Documents of several users and URNs come back from a single query, absent rows left out."""
    company = company_of(client)
    a, b, c = new_user(client), new_user(client), new_user(client)
    with write(engine) as conn:
        store.put_extension(conn, company, a, SPEND_USER, {"country": "US"}, T0)
        store.put_extension(conn, company, a, SPEND_ROLE, {"roles": [{"roleName": "X"}]}, T0)
        store.put_extension(conn, company, b, TRAVEL_USER, {"gender": "Male"}, T0)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.connect() as conn:
            found = store.get_extensions(conn, company, [a, b, c], [SPEND_USER, SPEND_ROLE])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert found == {a: {SPEND_USER: {"country": "US"}, SPEND_ROLE: {"roles": [{"roleName": "X"}]}}}
    assert len([s for s in statements if "user_extensions" in s]) == 1


def test_reads_are_scoped_by_company(client: TestClient, engine: Engine) -> None:
    """Another company's id finds none of this company's rows."""
    company, user = company_of(client), new_user(client)
    with write(engine) as conn:
        store.put_extension(conn, company, user, SPEND_USER, {"country": "US"}, T0)
    with engine.connect() as conn:
        assert store.get_extensions(conn, "other-company", [user], [SPEND_USER]) == {}
        assert store.get_extension(conn, "other-company", user, SPEND_USER) is None


def test_delete_extension_reports_whether_a_row_went(client: TestClient, engine: Engine) -> None:
    """Deleting removes the row once; a second delete finds nothing."""
    company, user = company_of(client), new_user(client)
    with write(engine) as conn:
        store.put_extension(conn, company, user, TRAVEL_USER, {"gender": "Female"}, T0)
    with write(engine) as conn:
        assert store.delete_extension(conn, company, user, TRAVEL_USER) is True
    with write(engine) as conn:
        assert store.delete_extension(conn, company, user, TRAVEL_USER) is False


def test_hard_deleting_the_user_cascades_to_its_rows(client: TestClient, engine: Engine) -> None:
    """``delete_user`` removes the user's extension rows through the foreign key cascade."""
    company, user, other = company_of(client), new_user(client), new_user(client)
    with write(engine) as conn:
        for urn in (SPEND_USER, SPEND_ROLE, TRAVEL_USER):
            store.put_extension(conn, company, user, urn, {"k": urn}, T0)
        store.put_extension(conn, company, other, SPEND_USER, {"country": "US"}, T0)
    with write(engine) as conn:
        assert user_store.delete_user(conn, company, user, datetime.now(UTC))
    with engine.connect() as conn:
        left = conn.execute(select(user_extensions.c.user_id)).scalars().all()
    assert left == [other]


def test_list_compiles_spend_filters_through_the_row_json(
    client: TestClient, engine: Engine
) -> None:
    """``eq`` matches the stored value; ``ne`` also matches users that have no spend row."""
    company = company_of(client)
    us, fr, none = new_user(client), new_user(client), new_user(client)
    with write(engine) as conn:
        store.put_extension(conn, company, us, SPEND_USER, {"country": "US"}, T0)
        store.put_extension(conn, company, fr, SPEND_USER, {"country": "FR"}, T0)
    schema = service.spend_filter_schema()

    def ids(text: str) -> list[str]:
        with engine.connect() as conn:
            page = store.list_extension_users(conn, company, schema, filter_expr=parse_filter(text))
        return [u.id for u in page.users]

    assert ids(f'{SPEND_USER}:country eq "US"') == [us]
    assert ids(f'{SPEND_USER}:country ne "US"') == [fr, none]
    assert ids('country eq "fr"') == [fr]
    with pytest.raises(InvalidFilter), engine.connect() as conn:
        store.list_extension_users(
            conn, company, schema, filter_expr=parse_filter(f'{SPEND_USER}:biManager eq "x"')
        )


def test_list_pages_in_creation_order_with_the_total(client: TestClient, engine: Engine) -> None:
    """Offset and limit select a window of the users; the total counts them all."""
    company = company_of(client)
    made = [new_user(client) for _ in range(5)]
    with engine.connect() as conn:
        page = store.list_extension_users(
            conn, company, service.spend_filter_schema(), offset=1, limit=2
        )
    assert (page.total, [u.id for u in page.users]) == (5, made[1:3])


def test_service_put_checks_the_user_and_the_payload(client: TestClient, engine: Engine) -> None:
    """Unknown users are 404; unknown URNs and non-object payloads are 400."""
    company, user = company_of(client), new_user(client)
    with pytest.raises(NotFound), write(engine) as conn:
        service.put_user_extension(conn, company, "nobody", SPEND_USER, {}, lambda: T0)
    with pytest.raises(InvalidValue), write(engine) as conn:
        service.put_user_extension(conn, company, user, "urn:example:Nope", {}, lambda: T0)
    with pytest.raises(InvalidSyntax), write(engine) as conn:
        service.put_user_extension(conn, company, user, SPEND_USER, ["x"], lambda: T0)


def test_service_put_of_an_unchanged_document_is_a_no_op(
    client: TestClient, engine: Engine
) -> None:
    """Writing the same document again changes nothing and says so."""
    company, user = company_of(client), new_user(client)
    doc = {"country": "US", "locale": "en-US", "reimbursementCurrency": "USD"}
    with write(engine) as conn:
        first = service.put_user_extension(conn, company, user, SPEND_USER.lower(), doc, lambda: T0)
    with write(engine) as conn:
        again = service.put_user_extension(
            conn, company, user, SPEND_USER, dict(doc), lambda: T0 + timedelta(hours=1)
        )
    assert first.changed
    assert first.record.urn == SPEND_USER
    assert not again.changed
    assert (again.record.version, again.record.last_modified) == (1, T0)
