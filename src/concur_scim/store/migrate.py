"""Run the Alembic migrations programmatically (``concur-scim migrate``, ``serve``, tests).

The migrations directory is the repository's ``migrations/`` in a source checkout and the
copy packaged as ``concur_scim/migrations`` in an installed wheel.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, text

_PACKAGE = Path(__file__).resolve().parents[1]


def migrations_dir() -> Path:
    """Where the migration scripts are."""
    for candidate in (_PACKAGE.parents[1] / "migrations", _PACKAGE / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the migrations directory is missing from this installation")


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at our scripts and ``database_url``."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str) -> None:
    """Bring the database at ``database_url`` to the latest revision (idempotent)."""
    command.upgrade(alembic_config(database_url), "head")


def head_revision() -> str | None:
    """The newest revision of the migration scripts."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(database_url: str) -> str | None:
    """The revision the database at ``database_url`` is at; None for an empty database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


# Any constant that no other user of the database picks: the key of the advisory lock that
# makes concurrent PostgreSQL starters migrate one after the other.
_PG_MIGRATION_LOCK = 0x636F6E63


def _at_head(conn: Connection, heads: set[str]) -> bool:
    return set(MigrationContext.configure(conn).get_current_heads()) == heads


def ensure_migrated(engine: Engine) -> bool:
    """Bring the database of ``engine`` to the latest revision unless it is there already.

    Cheap when it is (one query plus reading the script directory), so every application
    start can call it; returns whether migrations ran. Concurrent callers are serialised
    (an advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) and the second finds the
    work done. Runs on ``engine`` itself, so an in-memory SQLite database is migrated too.
    """
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with engine.connect() as conn:
        if _at_head(conn, heads):
            return False
    with engine.connect().execution_options(concur_write=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        if _at_head(conn, heads):
            return False
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return True
