"""Run the Alembic migrations programmatically (``concur-scim migrate``, ``serve``, tests).

The migrations directory is the repository's ``migrations/`` in a source checkout and the
copy packaged as ``concur_scim/migrations`` in an installed wheel.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

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
