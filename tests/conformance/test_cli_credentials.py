"""The credential commands (`company`, `client`, `token`, `keys`) as real processes on a new
database (SQLite, then PostgreSQL), and the tokens they hand out working against the API of
that database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from concur_scim.app import create_app
from concur_scim.cli import main
from concur_scim.config import Settings

USERS = "/scim/v2/Users"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def database_url(new_database: Callable[..., str]) -> str:
    """A new, empty database: each test runs on SQLite, then on PostgreSQL."""
    return new_database(migrated=False)


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``concur-scim ARGS --database-url URL`` with no CONCUR_SCIM_* environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCUR_SCIM_")}
    return subprocess.run(
        [sys.executable, "-m", "concur_scim.cli", *args, "--database-url", database_url],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def fields(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The ``key: value`` lines a successful command printed."""
    assert result.returncode == 0, result.stderr
    return dict(line.split(": ", 1) for line in result.stdout.splitlines())


@contextmanager
def serving(database_url: str) -> Iterator[TestClient]:
    """The API over the same database (entered after the CLI has migrated it)."""
    settings = Settings(database_url=database_url, bearer_token="unused", embedded_worker=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def users_status(api: TestClient, bearer: str) -> int:
    status: int = api.get(USERS, headers={"Authorization": f"Bearer {bearer}"}).status_code
    return status


def test_company_add_then_token_works(database_url: str) -> None:
    """`company add` prints a UUID and request token; `token` mints a JWT the API accepts."""
    company = fields(cli(database_url, "company", "add", "Acme"))
    assert set(company) == {"company_id", "request_token", "request_token_expires"}
    minted = fields(
        cli(
            database_url,
            "token",
            "--company",
            company["company_id"],
            "--scopes",
            "identity.user.core.read,identity.user.coreenterprise.writeonly",
        )
    )
    claims = jwt.decode(minted["access_token"], options={"verify_signature": False})
    assert claims["sub"] == company["company_id"]
    assert claims["concur.scopes"] == [
        "identity.user.core.read",
        "identity.user.coreenterprise.writeonly",
    ]
    assert minted["expires_in"] == "3600"
    with serving(database_url) as api:
        assert users_status(api, minted["access_token"]) == 200
        created = api.post(
            USERS,
            json={"userName": "cli@example.com"},
            headers={"Authorization": f"Bearer {minted['access_token']}"},
        )
        assert created.status_code == 201
        assert users_status(api, "unused") == 200
        default_view = api.get(USERS, headers={"Authorization": "Bearer unused"}).json()
        assert default_view["totalResults"] == 0


def test_client_add_then_grants_work(database_url: str) -> None:
    """`client add` prints credentials once; client_credentials and the password grant with
    the company request token both yield tokens the API accepts."""
    company = fields(cli(database_url, "company", "add", "Acme"))
    client = fields(
        cli(database_url, "client", "add", "--company", company["company_id"], "--name", "entra")
    )
    assert set(client) == {"client_id", "client_secret"}
    with serving(database_url) as api:
        app_token = api.post(
            "/oauth2/v0/token",
            data={"grant_type": "client_credentials", **client},
            headers=FORM,
        )
        assert app_token.status_code == 200, app_token.text
        assert users_status(api, app_token.json()["access_token"]) == 200
        company_token = api.post(
            "/oauth2/v0/token",
            data={
                "grant_type": "password",
                "credtype": "authtoken",
                "username": company["company_id"],
                "password": company["request_token"],
                **client,
            },
            headers=FORM,
        )
        assert company_token.status_code == 200, company_token.text
        assert users_status(api, company_token.json()["access_token"]) == 200


def test_static_token_works_and_is_stored_hashed(database_url: str, tmp_path: Path) -> None:
    """`token --static` prints an opaque token the API accepts; the file never holds it."""
    company = fields(cli(database_url, "company", "add", "Acme"))
    static = fields(
        cli(database_url, "token", "--company", company["company_id"], "--static", "--name", "e")
    )["static_token"]
    with serving(database_url) as api:
        assert users_status(api, static) == 200
        assert users_status(api, static + "x") == 401
    db_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("credentials.db*"))
    assert static.encode() not in db_bytes


def test_keys_rotate_keeps_earlier_tokens(database_url: str) -> None:
    """`keys rotate` prints the new kid; a token minted before it still works, one after
    carries the new kid."""
    company = fields(cli(database_url, "company", "add", "Acme"))["company_id"]
    before = fields(cli(database_url, "token", "--company", company))["access_token"]
    kid = fields(cli(database_url, "keys", "rotate"))["kid"]
    after = fields(cli(database_url, "token", "--company", company))["access_token"]
    assert jwt.get_unverified_header(after)["kid"] == kid
    assert jwt.get_unverified_header(before)["kid"] != kid
    with serving(database_url) as api:
        assert users_status(api, before) == 200
        assert users_status(api, after) == 200


@pytest.mark.parametrize(
    "args",
    [
        ("client", "add", "--company", "not-a-uuid"),
        ("client", "add", "--company", "5b1e0f3c-0000-4000-8000-000000000000"),
        ("token", "--company", "5b1e0f3c-0000-4000-8000-000000000000", "--static"),
        ("client", "add"),
        ("company", "add", ""),
        ("keys", "spin"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    database_url: str, args: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad company, a missing option or an empty name: one line on stderr, exit status 2."""
    try:
        status: object = main([*args, "--database-url", database_url])
    except SystemExit as exc:  # argparse's own usage errors
        status = exc.code
    assert status == 2
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1
    assert out == ""


def test_unknown_scope_is_refused(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--scopes outside Concur's catalogue (reference §7) is refused with status 2."""
    assert main(["company", "add", "Acme", "--database-url", database_url]) == 0
    company = capsys.readouterr().out.splitlines()[0].split(": ")[1]
    status = main(
        [
            "client",
            "add",
            "--company",
            company,
            "--scopes",
            "USER,nope",
            "--database-url",
            database_url,
        ]
    )
    assert status == 2
    assert "unknown scope 'USER'" in capsys.readouterr().err
