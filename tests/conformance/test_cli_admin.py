"""The admin commands as real processes on a new database (SQLite, then PostgreSQL), beside a
real `concur-scim serve` on the same database: provisions list/show, company list, token and
client list/revoke (revoked credentials then get 401 from the API), --version, migrate's
message, and the help of every option."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from alembic import command
from support.server import running_server

from concur_scim.cli import _parser
from concur_scim.cli_help import env_name
from concur_scim.config import Settings
from concur_scim.store.migrate import alembic_config, head_revision

TOKEN = "admin-cli-token"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``concur-scim ARGS`` with no CONCUR_SCIM_* environment, stdout a pipe."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCUR_SCIM_")}
    return subprocess.run(
        [sys.executable, "-m", "concur_scim.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def fields(stdout: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in stdout.splitlines())


@pytest.mark.server
def test_provisions_list_and_show(tmp_path: Path, new_database: Callable[..., str]) -> None:
    """`provisions list` shows a submitted request with its counts; `show` its operations
    with each extension's result and the failing one's message."""
    url = new_database(migrated=False)
    good = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "prov-cli@example.com",
        "active": True,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": "prov-cli@example.com", "type": "work"}],
        ENTERPRISE: {"employeeNumber": "P1"},
    }
    bad = {
        "method": "PATCH",
        "path": "/Users/00000000-0000-4000-8000-000000000000",
        "data": {"Operations": [{"op": "replace", "path": "active", "value": False}]},
    }
    path = tmp_path / "file.ndjson"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with running_server(url, TOKEN) as base:
        submitted = cli("bulk", "submit", str(path), "--url", base, "--token", TOKEN)
        assert submitted.returncode == 1, submitted.stdout + submitted.stderr
        listing = ok(cli("provisions", "list", "--database-url", url)).splitlines()
    assert listing[0].split() == [
        "id",
        "company",
        "type",
        "state",
        "success",
        "total",
        "succeeded",
        "failed",
        "created",
    ]
    assert len(listing) == 2
    provision_id, company, kind, state, success, total, succeeded, failed, _ = listing[1].split()
    assert (kind, state, success, total, succeeded, failed) == (
        "Bulk",
        "completed",
        "no",
        "2",
        "1",
        "1",
    )
    pending = ok(cli("provisions", "list", "--state", "pending", "--database-url", url))
    assert provision_id not in pending
    by_company = ok(cli("provisions", "list", "--company", company, "--database-url", url))
    assert provision_id in by_company
    shown = ok(cli("provisions", "show", provision_id, "--database-url", url))
    assert f"provision {provision_id} (Bulk) of company {company}" in shown
    assert "operations: 2 (1 succeeded, 1 failed, 0 pending)" in shown
    assert "line-1" in shown
    assert "POST /Users" in shown
    assert "core:User: success" in shown
    assert "enterprise:User: success" in shown
    assert "core:User: error" in shown
    assert "not found" in shown.lower()
    missing = cli("provisions", "show", "nope", "--database-url", url)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "concur-scim: no provision 'nope'"


def test_company_list_shows_every_company(new_database: Callable[..., str]) -> None:
    """`company list` shows an added company and the default one, marked."""
    url = new_database(migrated=False)
    acme = fields(ok(cli("company", "add", "Acme", "--database-url", url)))["company_id"]
    with running_server(url, TOKEN):
        pass  # creates the default company
    lines = ok(cli("company", "list", "--database-url", url)).splitlines()
    assert lines[0].split() == ["company_id", "name", "default", "created"]
    rows = [line.split() for line in lines[1:]]
    assert [acme, "Acme"] == rows[0][:2]
    assert rows[1][1:3] == ["default", "yes"]


@pytest.mark.server
def test_revoked_static_token_gets_401(new_database: Callable[..., str]) -> None:
    """`token revoke NAME` and `token revoke TOKEN` stop static tokens at once (401)."""
    url = new_database(migrated=False)
    company = fields(ok(cli("company", "add", "Acme", "--database-url", url)))["company_id"]

    def static(name: str) -> str:
        args = ("token", "--company", company, "--static", "--name", name)
        return fields(ok(cli(*args, "--database-url", url)))["static_token"]

    by_name, by_value = static("entra"), static("okta")
    with running_server(url, TOKEN) as base:

        def status(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return httpx.get(f"{base}/scim/v2/Users", headers=headers).status_code

        assert status(by_name) == 200
        assert status(by_value) == 200
        assert ok(cli("token", "revoke", "entra", "--database-url", url)).strip() == (
            "revoked 1 static token"
        )
        assert status(by_name) == 401
        assert status(by_value) == 200
        ok(cli("token", "revoke", by_value, "--database-url", url))
        assert status(by_value) == 401
    listed = ok(cli("token", "list", "--company", company, "--database-url", url))
    assert by_name not in listed
    assert {line.split()[0] for line in listed.splitlines()[1:]} == {"entra", "okta"}
    again = cli("token", "revoke", "entra", "--database-url", url)
    assert again.returncode == 2
    assert len(again.stderr.strip().splitlines()) == 1


@pytest.mark.server
def test_revoked_client_loses_grants_and_tokens(new_database: Callable[..., str]) -> None:
    """`client revoke` refuses the client's next grant and its outstanding access token."""
    url = new_database(migrated=False)
    company = fields(ok(cli("company", "add", "Acme", "--database-url", url)))["company_id"]
    client = fields(ok(cli("client", "add", "--company", company, "--database-url", url)))
    with running_server(url, TOKEN) as base:
        form = {"grant_type": "client_credentials", **client}
        granted = httpx.post(f"{base}/oauth2/v0/token", data=form)
        assert granted.status_code == 200, granted.text
        headers = {"Authorization": f"Bearer {granted.json()['access_token']}"}
        assert httpx.get(f"{base}/scim/v2/Users", headers=headers).status_code == 200
        listed = ok(cli("client", "list", "--database-url", url)).splitlines()
        assert listed[1].split()[:2] == [client["client_id"], company]
        revoked = ok(cli("client", "revoke", client["client_id"], "--database-url", url))
        assert revoked.strip() == f"revoked client {client['client_id']}"
        assert httpx.get(f"{base}/scim/v2/Users", headers=headers).status_code == 401
        assert httpx.post(f"{base}/oauth2/v0/token", data=form).status_code >= 400
    listed = ok(cli("client", "list", "--company", company, "--database-url", url)).splitlines()
    assert listed[1].split()[-1].startswith("20")  # the revoked column is filled
    again = cli("client", "revoke", client["client_id"], "--database-url", url)
    assert again.returncode == 2
    assert "is revoked" in again.stderr


def test_version_is_the_package_version() -> None:
    """`--version` prints the installed package's version."""
    assert ok(cli("--version")).strip() == f"concur-scim {version('concur-scim')}"


def test_migrate_says_what_it_did(new_database: Callable[..., str]) -> None:
    """`migrate` names the revisions it went from and to, or that there was nothing to do."""
    url = new_database(migrated=False)
    head = head_revision()
    fresh = ok(cli("migrate", "--database-url", url)).strip()
    assert fresh == f"migrated {url} from an empty database to {head}"
    assert ok(cli("migrate", "--database-url", url)).strip() == f"{url} already at {head}"
    older = new_database(migrated=False)
    command.upgrade(alembic_config(older), "0005")
    assert ok(cli("migrate", "--database-url", older)).strip() == (
        f"migrated {older} from 0005 to {head}"
    )


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command parser under ``parser``, with its words."""
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, (*path, name))
    return found


def test_every_option_has_help_with_default_and_env() -> None:
    """Every option of every command has help text stating its default (or that it is
    required), and an option that mirrors a setting names its CONCUR_SCIM_* variable in the
    command's --help."""
    commands = _commands(_parser())
    assert len(commands) > 20
    for words, parser in commands:
        text = parser.format_help()
        for action in parser._actions:
            if not action.option_strings or action.dest in ("help", "version"):
                continue
            where = f"{' '.join(words)} {action.option_strings[0]}"
            assert action.help, where
            assert "default" in action.help or "required" in action.help, where
            if action.dest in Settings.model_fields:
                assert env_name(action.dest) in text.replace("\n", " "), where
    bulk_help = ok(cli("bulk", "submit", "--help"))
    assert "CONCUR_SCIM_BEARER_TOKEN" in bulk_help
    assert "CONCUR_SCIM_DATABASE_URL" in ok(cli("provisions", "list", "--help"))


def test_token_without_company_is_a_usage_error(tmp_path: Path) -> None:
    """`token` with neither --company nor a subcommand: one line on stderr, status 2."""
    result = cli("token", "--database-url", f"sqlite:///{tmp_path / 't.db'}")
    assert result.returncode == 2
    assert result.stderr.strip() == "concur-scim: token: --company is required to mint a token"
    assert result.stdout == ""
