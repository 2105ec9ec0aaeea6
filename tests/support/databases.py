"""Fresh, migrated databases for tests that run their own server or worker processes.

The shared test databases (tests/conftest.py) have the test application's embedded
provisioning worker attached; a test of worker processes needs a database no other worker
watches. :func:`fresh_database` makes one: a new SQLite file, or a new database in the
session's PostgreSQL cluster.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from concur_scim.store.migrate import upgrade


def empty_database(backend: str, tmp_path: Path, pg_url: str | None) -> str:
    """The URL of a new database on ``backend`` (``sqlite``: a file in ``tmp_path`` not yet
    created; ``postgresql``: a new database on ``pg_url``'s server), with no tables."""
    name = f"isolated_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    assert pg_url is not None
    _admin(pg_url, f'CREATE DATABASE "{name}"')
    return make_url(pg_url).set(database=name).render_as_string(hide_password=False)


def fresh_database(backend: str, tmp_path: Path, pg_url: str | None) -> str:
    """The URL of a new, migrated database on ``backend`` (``sqlite`` or ``postgresql``)."""
    url = empty_database(backend, tmp_path, pg_url)
    upgrade(url)
    return url


@contextmanager
def temporary_database(url: str, directory: Path) -> Iterator[str]:
    """A new, migrated database beside ``url`` (the same PostgreSQL server, or a new SQLite
    file in ``directory``); a PostgreSQL one is dropped afterwards."""
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    fresh = fresh_database(backend, directory, None if backend == "sqlite" else url)
    try:
        yield fresh
    finally:
        if backend == "postgresql":
            name = make_url(fresh).database
            _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(url: str, statement: str) -> None:
    """Run ``statement`` on the ``postgres`` database of the server ``url`` names."""
    base = make_url(url)
    with psycopg.connect(
        host=base.host, port=base.port, user=base.username, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(statement)
