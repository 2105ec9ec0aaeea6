"""`concur-scim serve` as a real process: the banner, the first-run token, --port 0 and
settings refused before anything starts."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support.banner import serve_env, serving

from concur_scim.cli import DIALECT_BASES
from concur_scim.services.credentials import digest

pytestmark = pytest.mark.server


def _users(base: str, token: str) -> int:
    response = httpx.get(f"{base}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


def test_banner_comes_once_the_port_serves_and_names_everything(tmp_path: Path) -> None:
    """--port 0 picks a free port; the banner, printed once it listens, carries that port in
    every dialect's base URL, the default company's id and the admin API; a request sent
    right after reading it is served (no waiting for /healthz)."""
    database = tmp_path / "banner.db"
    with serving(database) as banner:
        base = banner.base
        port = int(base.rsplit(":", 1)[1])
        assert port > 0
        assert _users(base, banner.token) == 200  # at once: the banner follows the binding
        for label, path in DIALECT_BASES:
            assert any(line.split()[-1] == f"{base}{path}" for line in banner.lines), label
        assert banner.value("admin API:") == f"{base}/_admin"
        company = banner.value("default company:")
    with sqlite3.connect(database) as conn:
        stored = conn.execute("SELECT id FROM companies WHERE is_default").fetchall()
    assert stored == [(company,)]


def test_first_run_token_is_the_same_at_every_start(tmp_path: Path) -> None:
    """Without CONCUR_SCIM_BEARER_TOKEN, the token printed at first start is printed again
    and still accepted after a restart (Entra's saved Secret Token keeps working); the
    database holds only its digest, the file beside it holds the token, mode 0600."""
    database = tmp_path / "stable.db"
    with serving(database) as first:
        token = first.token
        assert len(token) >= 32
        assert _users(first.base, token) == 200
    with serving(database) as second:
        assert second.token == token
        assert second.value("default company:") == first.value("default company:")
        assert _users(second.base, token) == 200
        assert _users(second.base, token + "x") == 401
    token_file = tmp_path / "stable.db.token"
    assert token_file.read_text().strip() == token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT token_hash, name FROM static_tokens").fetchall()
    assert rows == [(digest(token), "first-run")]
    assert token.encode() not in database.read_bytes()


def test_revoked_first_run_token_is_replaced(tmp_path: Path) -> None:
    """A revoked first-run token is not reprinted: the next start prints a new one."""
    database = tmp_path / "revoked.db"
    with serving(database) as first:
        token = first.token
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE static_tokens SET revoked = created")
    with serving(database) as second:
        assert second.token != token
        assert _users(second.base, token) == 401
        assert _users(second.base, second.token) == 200
    assert (tmp_path / "revoked.db.token").read_text().strip() == second.token


def test_configured_token_is_printed_and_no_file_written(tmp_path: Path) -> None:
    """CONCUR_SCIM_BEARER_TOKEN is the printed token; nothing is written beside the database."""
    database = tmp_path / "configured.db"
    with serving(database, env={"CONCUR_SCIM_BEARER_TOKEN": "configured-secret"}) as banner:
        assert banner.token == "configured-secret"
        assert _users(banner.base, "configured-secret") == 200
    assert not (tmp_path / "configured.db.token").exists()


def test_two_workers_on_port_zero_print_the_bound_port(tmp_path: Path) -> None:
    """--workers 2 --port 0: the banner names the port both processes serve."""
    with serving(tmp_path / "two.db", "--workers", "2") as banner:
        assert _users(banner.base, banner.token) == 200


def test_bad_environment_value_overridden_on_the_command_line_is_harmless(
    tmp_path: Path,
) -> None:
    """CONCUR_SCIM_PORT=abc with --port: the option wins, in every process (no traceback)."""
    with serving(tmp_path / "override.db", env={"CONCUR_SCIM_PORT": "abc"}) as banner:
        assert _users(banner.base, banner.token) == 200


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CONCUR_SCIM_PORT": "abc"}, "CONCUR_SCIM_PORT"),
        ({"CONCUR_SCIM_WORKERS": "many"}, "CONCUR_SCIM_WORKERS"),
        (
            {"CONCUR_SCIM_DEFAULT_PAGE_SIZE": "5000", "CONCUR_SCIM_MAX_PAGE_SIZE": "1000"},
            "CONCUR_SCIM_DEFAULT_PAGE_SIZE",
        ),
    ],
)
def test_bad_setting_is_one_line_and_status_2(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    """A bad environment value stops serve with one line naming it, status 2, no traceback."""
    database = tmp_path / "bad.db"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "concur_scim.cli",
            "serve",
            "--database-url",
            f"sqlite:///{database}",
        ],
        env=serve_env(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert result.stdout == ""
    assert not database.exists()
