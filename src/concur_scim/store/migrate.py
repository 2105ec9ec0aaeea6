"""Run the Alembic migrations programmatically (``concur-scim migrate``, ``serve``, tests).

The migrations directory is the repository's ``migrations/`` in a source checkout and the
copy packaged as ``concur_scim/migrations`` in an installed wheel.

Alembic is imported only when there is migration work to do: a start on a database already
at head compares the revision ids of the scripts (read from their source, not imported) with
the database's ``alembic_version`` rows, which costs milliseconds instead of loading Alembic
and every migration module.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

_PACKAGE = Path(__file__).resolve().parents[1]

# Alembic's default version table (migrations/env.py does not rename it).
_VERSION_TABLE = "alembic_version"


def migrations_dir() -> Path:
    """Where the migration scripts are."""
    for candidate in (_PACKAGE.parents[1] / "migrations", _PACKAGE / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the migrations directory is missing from this installation")


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at our scripts and ``database_url``."""
    from alembic.config import Config  # noqa: PLC0415 (Alembic on demand)

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str) -> None:
    """Bring the database at ``database_url`` to the latest revision (idempotent)."""
    from alembic import command  # noqa: PLC0415 (Alembic on demand)

    command.upgrade(alembic_config(database_url), "head")


def upgrade_if_needed(database_url: str) -> bool:
    """:func:`upgrade` unless the database is at head already; returns whether it ran.

    Any failure of the quick check (no such database, a bad URL, unreadable scripts) goes
    to :func:`upgrade`, so that its errors are exactly the ones :func:`upgrade` raises.
    """
    heads = script_heads()
    if heads is not None:
        try:
            engine = create_engine(database_url)
            try:
                with engine.connect() as conn:
                    if database_heads(conn) == heads:
                        return False
            finally:
                engine.dispose()
        except Exception:  # noqa: S110 (upgrade() reports it, as before)
            pass
    upgrade(database_url)
    return True


def head_revision() -> str | None:
    """The newest revision of the migration scripts."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 (Alembic on demand)

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(database_url: str) -> str | None:
    """The revision the database at ``database_url`` is at; None for an empty database."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 (Alembic on demand)

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


@lru_cache(maxsize=1)
def script_heads() -> frozenset[str] | None:
    """The head revisions of the scripts, from their ``revision`` and ``down_revision``
    literals; None when a script does not state them as literals (Alembic must decide)."""
    try:
        revisions: set[str] = set()
        parents: set[str] = set()
        for path in (migrations_dir() / "versions").glob("*.py"):
            source = path.read_text("utf-8")
            found = {m[1]: m[2] for m in _ASSIGNMENT.finditer(source)}
            revision = ast.literal_eval(found["revision"])
            down = ast.literal_eval(found["down_revision"])
            if not isinstance(revision, str):
                return None
            revisions.add(revision)
            if isinstance(down, str):
                parents.add(down)
            elif isinstance(down, tuple | list):
                parents.update(down)
            elif down is not None:
                return None
    except (OSError, KeyError, ValueError, SyntaxError):
        return None
    heads = frozenset(revisions - parents)
    return heads or None


def database_heads(conn: Connection) -> frozenset[str]:
    """The revisions recorded in the database's version table (empty: not migrated)."""
    if not inspect(conn).has_table(_VERSION_TABLE):
        return frozenset()
    rows = conn.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}"))
    return frozenset(str(row[0]) for row in rows)


# Any constant that no other user of the database picks: the key of the advisory lock that
# makes concurrent PostgreSQL starters migrate one after the other.
_PG_MIGRATION_LOCK = 0x636F6E63


def _at_head(conn: Connection, heads: set[str]) -> bool:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 (Alembic on demand)

    return set(MigrationContext.configure(conn).get_current_heads()) == heads


def ensure_migrated(engine: Engine) -> bool:
    """Bring the database of ``engine`` to the latest revision unless it is there already.

    Cheap when it is (one query plus reading the scripts' revision ids), so every
    application start can call it; returns whether migrations ran. Concurrent callers are
    serialised (an advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) and the
    second finds the work done. Runs on ``engine`` itself, so an in-memory SQLite database
    is migrated too.
    """
    quick = script_heads()
    if quick is not None:
        with engine.connect() as conn:
            if database_heads(conn) == quick:
                return False
    from alembic import command  # noqa: PLC0415 (Alembic on demand)
    from alembic.script import ScriptDirectory  # noqa: PLC0415 (Alembic on demand)

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
