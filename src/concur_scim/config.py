"""Settings: one object, read from ``CONCUR_SCIM_*`` environment variables, built once.

The entry point (``cli.py`` or the uvicorn factory in ``app.py``) builds :class:`Settings`
and passes it down; nothing reads the environment anywhere else. A bad value fails at start
with one readable line (:func:`load_settings` turns pydantic's error into :class:`ConfigError`).
"""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./concur-scim.db"


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line meant for a human."""


class Settings(BaseSettings):
    """Server configuration; every field can be set as ``CONCUR_SCIM_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="CONCUR_SCIM_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path.db (default) or postgresql+psycopg://...",
    )
    bearer_token: SecretStr | None = Field(
        default=None,
        description="Static bearer token for the default company (Entra's 'Secret Token').",
    )
    token_file: Path | None = Field(
        default=None,
        description=(
            "Where serve keeps the first-run token when no bearer_token is set (mode 0600);"
            " unset: the SQLite file's path plus '.token' (docs/security.md)."
        ),
    )
    company_id: uuid.UUID | None = Field(
        default=None, description="UUID of the default company; generated and stored if unset."
    )
    issuer: str | None = Field(
        default=None,
        pattern=r"^https?://[^/?#\s]+$",
        description="iss of minted access tokens, the only one accepted (docs/security.md).",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535, description="0: a free port, printed.")
    workers: int = Field(default=1, ge=1, le=64)
    max_page_size: int = Field(default=1000, ge=1, le=100_000)
    default_page_size: int = Field(default=100, ge=1, le=100_000)
    max_payload_bytes: int = Field(default=1_048_576, ge=1024)
    # Limits and back-pressure (docs/security.md "Limits").
    max_json_depth: int = Field(default=32, ge=4, le=512, description="JSON body nesting.")
    max_json_array_items: int = Field(
        default=10_000, ge=100, description="Items per array in a JSON body."
    )
    max_result_window: int = Field(
        default=0, ge=0, description="startIndex-1+count beyond this is tooMany (0: no cap)."
    )
    rate_limit_per_second: float = Field(
        default=0.0, ge=0, description="Requests per second per company and process (0: off)."
    )
    rate_limit_burst: int = Field(default=20, ge=1, description="Token bucket size.")
    log_level: str = Field(default="info", pattern=r"^(critical|error|warning|info|debug)$")
    access_log: bool = Field(
        default=False,
        description="One log line per request (uvicorn's access log); writes have the audit "
        "line and every write or failure a journal row either way.",
    )
    # User Provisioning v4 (reference/concur-v4.md §3.2) and its worker.
    bulk_max_operations: int = Field(
        default=100, ge=1, le=10_000, description="Operations per /Bulk request (Concur: 100)."
    )
    bulk_max_payload_bytes: int = Field(
        default=409_600, ge=1024, description="Bytes per /Bulk request (Concur: 400 KB)."
    )
    embedded_worker: bool = Field(
        default=True, description="Run the provisioning worker inside each API process."
    )
    worker_lease_seconds: float = Field(default=30.0, gt=0, le=3600)
    worker_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    provision_timeout_minutes: float = Field(
        default=120.0, gt=0, description="Requests not completed by then fail (Concur: 120)."
    )
    status_retention_days: float = Field(
        default=7.0, gt=0, description="Completed statuses are purged after this (Concur: 7)."
    )
    housekeeping_seconds: float = Field(default=60.0, gt=0, le=86_400)
    # provisionCompleted webhooks (README "Webhooks"): attempt n waits
    # webhook_backoff_seconds * 2**(n-1), capped at webhook_backoff_max_seconds.
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts per webhook delivery before it fails."
    )
    webhook_backoff_seconds: float = Field(
        default=1.0, gt=0, le=3600, description="Delay before a webhook's first retry; doubles."
    )
    webhook_backoff_max_seconds: float = Field(
        default=300.0, gt=0, le=86_400, description="Longest delay between webhook attempts."
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Timeout of one webhook POST."
    )
    # User v1.0 (PingFederate's Concur connector): docs/concur-compatibility.md "User v1.0".
    user_v1_key_mode: Literal["legacy", "strict"] = Field(
        default="legacy",
        description="EmpId/LoginId matching: legacy (pre-2016, either key) or strict (both).",
    )
    user_v1_details_element: Literal["UsersDetails", "UserDetails"] = Field(
        default="UsersDetails",
        description="Success list element of user-batch-result (live API vs. the docs).",
    )
    user_v1_form: Literal["minimal", "concur-sample"] = Field(
        default="minimal", description="Employee form preset: FormFields and required fields."
    )
    user_v1_unknown_elements: Literal["ignore", "reject"] = "ignore"
    user_v1_require_namespace: bool = Field(
        default=False, description="Refuse v1.0 documents whose root has no namespace."
    )
    user_v1_currency_element: Literal["CrnKey", "CrnCode", "both"] = Field(
        default="CrnKey", description="Currency element(s) of GET user (live API vs. docs)."
    )
    user_v1_max_batch: int = Field(default=500, ge=1, le=1000)
    user_v1_token_login_id: str | None = Field(
        default=None, description="LoginId of the token's own user (GET user without loginID)."
    )
    lint: Literal["prefer", "always"] = Field(
        default="prefer",
        description=(
            "When write answers carry the lint report (what real Concur would do with the"
            " request): prefer (on 'Prefer: concur-lint') or always."
        ),
    )
    generic_values: Literal["concur", "any"] = Field(
        default="concur",
        description=(
            "On /scim/v2: concur refuses dates, date ranges and code-list values no Concur"
            " dialect could serve; any stores them as sent (test tools filling strings at"
            " random)."
        ),
    )
    unknown_manager: Literal["refuse", "store"] = Field(
        default="refuse",
        description=(
            "A manager.value that is no user of the company, on /scim/v2: refuse (400, as"
            " the Concur dialects do) or store it unresolved (generic SCIM test tools)."
        ),
    )
    request_log_keep: int = Field(
        default=1000,
        ge=0,
        le=10_000_000,
        description="Write requests kept per company in request_log (0: table off).",
    )
    # RFC 7644 §3.7 synchronous Bulk on /scim/v2 (docs/concur-compatibility.md "Bulk"):
    # apart from the User Provisioning limits above, which reproduce Concur's published ones.
    # Defaults: RFC 7643 §5's example ServiceProviderConfig.
    scim_bulk_max_operations: int = Field(
        default=1000, ge=1, le=10_000, description="Operations per /scim/v2/Bulk request."
    )
    scim_bulk_max_payload_bytes: int = Field(
        default=1_048_576, ge=1024, description="Bytes per /scim/v2/Bulk request."
    )

    # The admin API (README "Admin API", docs/security.md "Admin API").
    admin: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="The /_admin API: auto (on when host is a loopback address), on or off.",
    )
    # Generated when unset, once per Settings: serve prints it and hands it to its app
    # processes through the environment, so every process answers to the one printed.
    admin_token: SecretStr = Field(
        default_factory=lambda: SecretStr(secrets.token_urlsafe(32)),
        description="Bearer token of the /_admin API; generated at start when unset.",
    )

    @field_validator("admin_token")
    @classmethod
    def _admin_token_set(cls, value: SecretStr) -> SecretStr:
        # An empty CONCUR_SCIM_ADMIN_TOKEN means unset: never an empty admin token.
        return value if value.get_secret_value() else SecretStr(secrets.token_urlsafe(32))

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value

    @model_validator(mode="after")
    def _page_sizes(self) -> Settings:
        if self.default_page_size > self.max_page_size:
            raise ValueError(
                f"CONCUR_SCIM_DEFAULT_PAGE_SIZE ({self.default_page_size}) is above"
                f" CONCUR_SCIM_MAX_PAGE_SIZE ({self.max_page_size})"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        """True when the store is the embedded SQLite database."""
        return self.database_url.startswith("sqlite")

    @property
    def admin_enabled(self) -> bool:
        """Whether the ``/_admin`` API is served: ``on``, or ``auto`` on a loopback host."""
        if self.admin != "auto":
            return self.admin == "on"
        return is_loopback(self.host)

    def sqlite_path(self) -> Path | None:
        """The SQLite file (None for PostgreSQL or an in-memory database)."""
        if not self.is_sqlite or "///" not in self.database_url:
            return None  # PostgreSQL, or "sqlite://": in memory
        raw = self.database_url.split("///", 1)[-1]
        return None if raw in ("", ":memory:") else Path(raw)

    def first_run_token_file(self) -> Path | None:
        """Where serve keeps the first-run token: ``token_file``, else next to the SQLite
        file; None when there is no such place (PostgreSQL or in-memory, no ``token_file``)."""
        if self.token_file is not None:
            return self.token_file
        database = self.sqlite_path()
        return None if database is None else database.with_name(database.name + ".token")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only listens on this machine; any other
    name may resolve to any interface, so it is not."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings` from the environment plus explicit overrides.

    Raises :class:`ConfigError` with one line naming the bad variable and why.
    """
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        if not field:  # a rule across settings: its message names them
            reason = first["msg"].removeprefix("Value error, ")
            raise ConfigError(f"invalid settings: {reason}") from None
        raise ConfigError(f"invalid setting CONCUR_SCIM_{field.upper()}: {first['msg']}") from None
