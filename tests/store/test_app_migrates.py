"""`create_app` migrates a fresh database by itself, on SQLite and PostgreSQL, and
:func:`ensure_migrated` is a no-op on a migrated one, also when two processes race."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from support.databases import _admin

from concur_scim.app import create_app
from concur_scim.config import Settings
from concur_scim.store.db import create_db_engine
from concur_scim.store.migrate import ensure_migrated


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no table at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    pg_url: str = request.getfixturevalue("pg_url")
    name = f"empty_{uuid.uuid4().hex[:12]}"
    _admin(pg_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_in_process_app_on_an_empty_database_serves(empty_url: str) -> None:
    """An in-process app on a database never migrated answers at once (no manual migrate)."""
    settings = Settings(database_url=empty_url, bearer_token="t", embedded_worker=False)
    headers = {"Authorization": "Bearer t"}
    with TestClient(create_app(settings), headers=headers) as client:
        created = client.post("/scim/v2/Users", json={"userName": "first@example.com"})
        assert created.status_code == 201, created.text
    with TestClient(create_app(settings), headers=headers) as client:  # a second start
        assert client.get("/scim/v2/Users").json()["totalResults"] == 1


def test_ensure_migrated_runs_once_even_when_raced(empty_url: str) -> None:
    """Two concurrent callers on an empty database: one migrates, neither fails; afterwards
    every call finds the database at head and does nothing."""
    engines = [create_db_engine(empty_url) for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:
            ran = list(pool.map(ensure_migrated, engines))
        assert sorted(ran) == [False, True]
        assert ensure_migrated(engines[0]) is False
    finally:
        for engine in engines:
            engine.dispose()


def test_in_memory_database_is_migrated() -> None:
    """``sqlite://`` (one in-memory database per engine) is migrated on the app's engine."""
    settings = Settings(database_url="sqlite://", bearer_token="t", embedded_worker=False)
    with TestClient(create_app(settings), headers={"Authorization": "Bearer t"}) as client:
        assert client.get("/scim/v2/Users").status_code == 200
