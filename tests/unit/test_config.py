"""Settings come from CONCUR_SCIM_* variables and a bad one fails with one clear line."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from concur_scim.config import ConfigError, load_settings


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """CONCUR_SCIM_ variables set the settings; the token is a secret."""
    company = uuid.uuid4()
    monkeypatch.setenv("CONCUR_SCIM_BEARER_TOKEN", "s3cr3t-value")
    monkeypatch.setenv("CONCUR_SCIM_COMPANY_ID", str(company))
    monkeypatch.setenv("CONCUR_SCIM_PORT", "9123")
    settings = load_settings()
    assert settings.port == 9123
    assert settings.company_id == company
    assert settings.bearer_token is not None
    assert settings.bearer_token.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONCUR_SCIM_PORT", "eighty"),
        ("CONCUR_SCIM_DATABASE_URL", "mysql://x"),
        ("CONCUR_SCIM_COMPANY_ID", "not-a-uuid"),
        ("CONCUR_SCIM_WORKERS", "0"),
    ],
)
def test_bad_setting_raises_config_error(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """A malformed variable is named in a one-line ConfigError."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert name in str(info.value)
    assert "\n" not in str(info.value)


def test_cli_bad_setting_prints_one_line_and_exits_2() -> None:
    """`concur-scim serve` with a bad setting prints one line on stderr, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "concur_scim.cli", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"CONCUR_SCIM_DATABASE_URL": "oracle://nope", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("concur-scim: invalid setting")
    assert "Traceback" not in result.stderr


def test_default_page_size_above_the_maximum_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A default page size above the maximum fails at start with one line naming both."""
    monkeypatch.setenv("CONCUR_SCIM_DEFAULT_PAGE_SIZE", "2000")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert "CONCUR_SCIM_DEFAULT_PAGE_SIZE (2000)" in message
    assert "CONCUR_SCIM_MAX_PAGE_SIZE (1000)" in message
    monkeypatch.setenv("CONCUR_SCIM_MAX_PAGE_SIZE", "2000")
    assert load_settings().default_page_size == 2000  # equal is fine


def test_port_zero_means_a_free_port() -> None:
    """Port 0 is accepted (serve picks a free port and prints it)."""
    assert load_settings(port=0).port == 0


@pytest.mark.parametrize(
    ("database_url", "token_file", "expected"),
    [
        ("sqlite:///./data/concur-scim.db", None, "data/concur-scim.db.token"),
        ("sqlite:////var/lib/scim.db", None, "/var/lib/scim.db.token"),
        ("sqlite://", None, None),
        ("postgresql+psycopg://u@h/d", None, None),
        ("postgresql+psycopg://u@h/d", "/run/scim.token", "/run/scim.token"),
    ],
)
def test_first_run_token_file(
    database_url: str, token_file: str | None, expected: str | None
) -> None:
    """The first-run token lives beside the SQLite file unless CONCUR_SCIM_TOKEN_FILE says
    where; without either there is no place for it."""
    settings = load_settings(database_url=database_url, token_file=token_file)
    found = settings.first_run_token_file()
    assert (None if found is None else str(found)) == expected
