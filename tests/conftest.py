"""Shared fixtures: every API test runs against real SQLite and real PostgreSQL.

The PostgreSQL cluster is started once per session (tests/support/pgcluster.py) unless
``CONCUR_SCIM_TEST_PG_URL`` names one; it is never skipped. Both databases are migrated by
Alembic exactly as in production. Each backend gets one application; rows written by a test
are deleted after it, so tests do not see each other's data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select
from support.databases import empty_database, fresh_database
from support.pgcluster import running_cluster
from support.sql import DATA_TABLES

from concur_scim.api.journal_writer import flush_all
from concur_scim.app import create_app
from concur_scim.config import Settings
from concur_scim.store.db import create_db_engine
from concur_scim.store.migrate import upgrade
from concur_scim.store.tables import (
    provisions,
)

TOKEN = "test-token"
# A separate pytest project, run in a subprocess by tests/conformance/test_pytest_plugin.py.
collect_ignore = ["plugin_project"]
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated PostgreSQL database for this session."""
    with running_cluster() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def process_backend(request: pytest.FixtureRequest) -> str:
    """The backend of the databases a module gives to its own server and CLI processes: each
    such module runs once on SQLite and once on PostgreSQL."""
    backend: str = request.param
    return backend


@pytest.fixture(scope="module")
def new_database(
    process_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., str]:
    """``new_database(migrated=True)``: the URL of a new database on the module's backend,
    which no other process uses (tests/support/databases.py)."""
    pg = request.getfixturevalue("pg_url") if process_backend == "postgresql" else None
    directory = tmp_path_factory.mktemp("databases")

    def make(migrated: bool = True) -> str:
        create = fresh_database if migrated else empty_database
        return create(process_backend, directory, pg)

    return make


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database URL, once per backend."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("pg_url")
        return url
    path: Path = tmp_path_factory.mktemp("sqlite") / "test.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    """Settings for the test application of one backend."""
    return Settings(database_url=database_url, bearer_token=TOKEN, max_payload_bytes=262_144)


@pytest.fixture(scope="session")
def session_client(settings: Settings) -> Iterator[TestClient]:
    """One running application (lifespan entered) per backend."""
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
    with TestClient(app, headers=headers, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """A direct engine on the test database, for assertions about what is stored."""
    eng = create_db_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def client(session_client: TestClient, engine: Engine) -> Iterator[TestClient]:
    """The backend's client; the rows this test wrote are deleted afterwards."""
    yield session_client
    _wait_for_provisioning(engine)
    flush_all()  # the journal's rows of this test, written by its own thread, go too
    with engine.begin() as conn:
        for table in DATA_TABLES:
            conn.execute(delete(table))


PROVISIONING_DEADLINE_SECONDS = 60.0


def _wait_for_provisioning(engine: Engine) -> None:
    """Let the embedded worker finish the test's provisioning requests before its rows go:
    deleting rows a worker is writing would race it (and can deadlock on PostgreSQL)."""
    unfinished = (
        select(func.count()).select_from(provisions).where(provisions.c.state != "completed")
    )
    deadline = time.monotonic() + PROVISIONING_DEADLINE_SECONDS
    while True:
        with engine.connect() as conn:
            if conn.execute(unfinished).scalar_one() == 0:
                return
        assert time.monotonic() < deadline, "provisioning requests left unfinished by the test"
        time.sleep(0.02)
