"""The Alembic migrations and the table models agree, on both backends."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect

from concur_scim.store.migrate import alembic_config, upgrade


def test_models_and_migrations_agree(database_url: str) -> None:
    """`alembic check` finds nothing to autogenerate: tables.py and migrations/ match."""
    command.check(alembic_config(database_url))


def test_upgrade_is_idempotent(database_url: str, engine: Engine) -> None:
    """Running the migrations again on a migrated database changes nothing."""
    upgrade(database_url)
    tables = set(inspect(engine).get_table_names())
    assert {"companies", "users", "groups", "group_members", "alembic_version"} <= tables


def test_sqlite_runs_in_wal_mode(tmp_path: object) -> None:
    """The embedded SQLite store uses write-ahead logging."""
    from pathlib import Path

    from concur_scim.store.db import create_db_engine

    assert isinstance(tmp_path, Path)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
