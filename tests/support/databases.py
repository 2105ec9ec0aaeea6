"""Fresh, migrated databases for tests that run their own server or worker processes.

The shared test databases (tests/conftest.py) have the test application's embedded
provisioning worker attached; a test of worker processes needs a database no other worker
watches. :func:`fresh_database` makes one: a new SQLite file, or a new database in the
session's PostgreSQL cluster.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from concur_scim.store.migrate import upgrade


def fresh_database(backend: str, tmp_path: Path, pg_url: str | None) -> str:
    """The URL of a new, migrated database on ``backend`` (``sqlite`` or ``postgresql``)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
    else:
        assert pg_url is not None
        base = make_url(pg_url)
        name = f"isolated_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            host=base.host, port=base.port, user=base.username, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = base.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url
