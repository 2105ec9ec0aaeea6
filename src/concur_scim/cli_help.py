"""Help strings of ``concur-scim`` options: what the option does, its default and the
``CONCUR_SCIM_*`` variable that sets it when the option is absent.

Options that mirror a setting default to None in argparse (so that the environment applies);
their help therefore reads the default from :class:`~concur_scim.config.Settings` rather than
from argparse, and states where it comes from.
"""

from __future__ import annotations

from concur_scim.config import Settings

ENV_PREFIX = "CONCUR_SCIM_"


def env_name(field: str) -> str:
    """The environment variable of the setting ``field``."""
    return f"{ENV_PREFIX}{field.upper()}"


def setting_help(text: str, field: str, *, default: str | None = None) -> str:
    """``text`` plus the setting's default (``default`` overrides how it is shown) and its
    environment variable, e.g. ``port to listen on (default: 8000; env CONCUR_SCIM_PORT)``."""
    if default is None:
        value = Settings.model_fields[field].default
        default = "unset" if value is None else str(value)
        if isinstance(value, bool):
            default = default.lower()
    # argparse %-formats help strings.
    return f"{text} (default: {default}; env {env_name(field)})".replace("%", "%%")


def option_help(text: str, default: str) -> str:
    """``text`` plus a default for an option no setting mirrors."""
    return f"{text} (default: {default})".replace("%", "%%")


def database_url_help() -> str:
    """The help of every ``--database-url``."""
    return setting_help("SQLAlchemy URL of the database", "database_url")
