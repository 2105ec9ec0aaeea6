"""``concur-scim``: the command line.

- ``concur-scim serve [--host H] [--port P] [--database-url URL] [--workers N]``: migrates
  the database and, once the port listens (``--port 0``: a free one), prints the base URLs,
  the bearer token (kept across restarts: services/first_run.py) and the default company.
- ``concur-scim openapi``: prints the OpenAPI document (what ``/openapi.json`` serves).
- ``concur-scim migrate [--database-url URL]``: brings the database to the latest revision.
- ``concur-scim worker [--database-url URL]``: a provisioning worker process (scale-out: any
  number of them beside the API processes, PostgreSQL coordinating). SIGTERM or SIGINT stops
  it after the operation in hand.
- ``concur-scim company add NAME``: a new company; prints its UUID and a 24-hour company
  request token (``company request-token ID`` prints a fresh one).
- ``concur-scim client add --company ID [--scopes a,b] [--name N]``: an OAuth client (grants
  password, client_credentials, refresh_token); prints client_id and client_secret once.
- ``concur-scim token --company ID [--scopes a,b] [--static] [--name N]``: a one-hour access
  token for scripts, or with ``--static`` a long-lived opaque token (Entra's "Secret Token").
- ``concur-scim keys rotate``: a new signing key signs from now on; the old ones keep
  verifying for two hours (docs/security.md, "Tokens").

The credential commands migrate the database first and print each secret once (it is
stored only as a SHA-256 digest).

Options override the ``CONCUR_SCIM_*`` environment. A bad setting prints one line on stderr
and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib.metadata import version
from typing import TYPE_CHECKING, NoReturn

from pydantic import SecretStr
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from concur_scim import (
    cli_admin_commands,
    cli_bulk,
    cli_directory,
    cli_faults,
    cli_journal,
    cli_provisions,
    cli_webhooks,
)
from concur_scim.cli_help import database_url_help, option_help, setting_help
from concur_scim.config import ConfigError, Settings, load_settings
from concur_scim.services import credentials
from concur_scim.services.common import system_clock
from concur_scim.services.credentials import CredentialError
from concur_scim.services.first_run import first_run_token
from concur_scim.services.signing_keys import ACCESS_TOKEN_LIFETIME, mint_access_token, rotate_keys
from concur_scim.store.companies import ensure_default_company
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.migrate import upgrade_if_needed

if TYPE_CHECKING:
    import uvicorn


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="concur-scim", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('concur-scim')}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate the database and serve the API")
    serve.add_argument("--host", help=setting_help("address to listen on", "host"))
    serve.add_argument(
        "--port", type=int, help=setting_help("port to listen on (0: a free one)", "port")
    )
    serve.add_argument("--database-url", help=database_url_help())
    serve.add_argument("--workers", type=int, help=setting_help("API processes", "workers"))
    migrate = sub.add_parser("migrate", help="apply database migrations and say what was done")
    migrate.add_argument("--database-url", help=database_url_help())
    worker = sub.add_parser("worker", help="run a provisioning worker (no API)")
    worker.add_argument("--database-url", help=database_url_help())
    sub.add_parser("openapi", help="print the OpenAPI document (JSON) on stdout")
    _credential_parsers(sub)
    cli_bulk.add_parser(sub)
    cli_provisions.add_parser(sub)
    cli_directory.add_parsers(sub)
    cli_faults.add_parser(sub)
    cli_journal.add_parser(sub)
    cli_webhooks.add_parser(sub)
    return parser


def _credential_parsers(sub: argparse._SubParsersAction[_Parser]) -> None:
    company = sub.add_parser("company", help="manage companies").add_subparsers(
        dest="action", required=True
    )
    add = company.add_parser("add", help="create a company and a company request token")
    add.add_argument("name", help="the company's name")
    add.add_argument("--database-url", help=database_url_help())
    request_token = company.add_parser("request-token", help="a new company request token")
    request_token.add_argument("company", help="the company's UUID")
    request_token.add_argument("--database-url", help=database_url_help())
    company_list = company.add_parser("list", help="every company")
    company_list.add_argument("--database-url", help=database_url_help())
    client = sub.add_parser("client", help="manage OAuth clients").add_subparsers(
        dest="action", required=True
    )
    client_add = client.add_parser("add", help="create an OAuth client of a company")
    client_add.add_argument("--company", required=True, help="the company's UUID (required)")
    client_add.add_argument("--scopes", help=option_help("scopes, a,b or 'a b'", "every scope"))
    client_add.add_argument("--name", help=option_help("a label", "none"))
    client_add.add_argument("--database-url", help=database_url_help())
    client_list = client.add_parser("list", help="the OAuth clients (client_id, scopes, revoked)")
    client_list.add_argument("--company", help=option_help("only this company's", "all"))
    client_list.add_argument("--database-url", help=database_url_help())
    client_revoke = client.add_parser(
        "revoke", help="refuse a client's grants and the access tokens it obtained"
    )
    client_revoke.add_argument("client_id", help="the client_id to revoke")
    client_revoke.add_argument("--database-url", help=database_url_help())
    token = sub.add_parser(
        "token", help="mint an access token or a static token; list or revoke static tokens"
    )
    token.add_argument(
        "--company", help="the company's UUID (required to mint; no default, no env)"
    )
    token.add_argument("--scopes", help=option_help("scopes, a,b or 'a b'", "every scope"))
    token.add_argument(
        "--static", action="store_true", help=option_help("a long-lived static token", "off")
    )
    token.add_argument("--name", help=option_help("a label for a --static token", "none"))
    token.add_argument("--database-url", help=database_url_help())
    token_actions = token.add_subparsers(dest="action", required=False)
    token_list = token_actions.add_parser("list", help="the static tokens (names, never secrets)")
    token_list.add_argument("--company", help=option_help("only this company's", "all"))
    token_list.add_argument("--database-url", help=database_url_help())
    token_revoke = token_actions.add_parser("revoke", help="revoke static tokens")
    token_revoke.add_argument("token", help="the static token itself, or its --name")
    token_revoke.add_argument("--company", help=option_help("only this company's", "all"))
    token_revoke.add_argument("--database-url", help=database_url_help())
    keys = sub.add_parser("keys", help="manage signing keys").add_subparsers(
        dest="action", required=True
    )
    rotate = keys.add_parser("rotate", help="a new signing key signs from now on")
    rotate.add_argument("--database-url", help=database_url_help())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``concur-scim`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    overrides = {
        k: v for k, v in vars(args).items() if k in Settings.model_fields and v is not None
    }
    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        print(f"concur-scim: {exc}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        return cli_admin_commands.migrate(settings)
    if args.command == "bulk":
        return cli_bulk.run(settings, args)
    if args.command == "provisions":
        return cli_provisions.run(settings, args)
    if args.command in ("seed", "reset"):
        return cli_directory.run(settings, args)
    if args.command == cli_faults.COMMAND:
        return cli_faults.run(settings, args)
    if args.command == cli_journal.COMMAND:
        return cli_journal.run(settings, args)
    if args.command == cli_webhooks.COMMAND:
        return cli_webhooks.run(settings, args)
    if cli_admin_commands.handles(args):
        return cli_admin_commands.run(settings, args)
    if args.command == "worker":
        return _work(settings)
    if args.command == "openapi":
        return _openapi(settings)
    if args.command in _CREDENTIAL_COMMANDS:
        return _credentials(settings, args)
    return _serve(settings)


def _migrate(settings: Settings) -> int:
    try:
        upgrade_if_needed(settings.database_url)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"concur-scim: cannot migrate the database: {reason}", file=sys.stderr)
        return 1
    return 0


def _work(settings: Settings) -> int:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from concur_scim.worker import Worker  # noqa: PLC0415 (loaded on first use: the CLI imports cheaply)

    engine = create_db_engine(settings.database_url)
    worker = Worker(engine, settings)

    def stop(signum: int, _frame: object) -> None:
        logging.getLogger("concur_scim.worker").info("signal %d: stopping", signum)
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"concur-scim worker {worker.owner} started", flush=True)
    try:
        worker.run()
    finally:
        engine.dispose()
    print(f"concur-scim worker {worker.owner} stopped", flush=True)
    return 0


_CREDENTIAL_COMMANDS = ("company", "client", "token", "keys")


def _credentials(settings: Settings, args: argparse.Namespace) -> int:
    """Run a credential command in one transaction; bad input is one line and status 2."""
    status = _migrate(settings)
    if status:
        return status
    engine = create_db_engine(settings.database_url)
    try:
        with unit_of_work(engine, write=True) as conn:
            lines = _credential_command(conn, settings, args, system_clock())
    except CredentialError as exc:
        print(f"concur-scim: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    for line in lines:
        print(line, flush=True)
    return 0


def _credential_command(
    conn: Connection, settings: Settings, args: argparse.Namespace, now: datetime
) -> list[str]:
    """What the command prints (secrets included: shown once, stored hashed)."""
    if args.command == "keys":
        return [f"kid: {rotate_keys(conn, now)}"]
    if args.command == "company" and args.action == "add":
        company = credentials.create_company(conn, args.name, now)
        return [
            f"company_id: {company.company_id}",
            f"request_token: {company.request_token}",
            f"request_token_expires: {company.request_token_expires.isoformat()}",
        ]
    if args.command == "company":
        company_id = credentials.require_company(conn, args.company)
        token, expires = credentials.issue_request_token(conn, company_id, now)
        return [f"request_token: {token}", f"request_token_expires: {expires.isoformat()}"]
    scopes = credentials.parse_scopes(args.scopes)
    if args.command == "client":
        client = credentials.create_client(
            conn, args.company, scopes=scopes, name=args.name, now=now
        )
        return [f"client_id: {client.client_id}", f"client_secret: {client.client_secret}"]
    if args.static:
        token = credentials.create_static_token(
            conn, args.company, scopes=scopes, name=args.name, now=now
        )
        return [f"static_token: {token}"]
    if args.name is not None:
        raise CredentialError("--name names a --static token")
    company_id = credentials.require_company(conn, args.company)
    issuer = settings.issuer or f"http://{_shown_host(settings)}:{settings.port}"
    access = mint_access_token(
        conn,
        issuer=issuer,
        subject=company_id,
        principal_type="company",
        company_id=company_id,
        scopes=scopes if scopes is not None else list(credentials.SCOPE_CATALOGUE),
        app_id=None,
        now=now,
    )
    return [f"access_token: {access}", f"expires_in: {int(ACCESS_TOKEN_LIFETIME.total_seconds())}"]


def _is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) only listens on this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def _shown_host(settings: Settings) -> str:
    return "localhost" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104


# What ``serve`` prints under the token: each dialect's base URL (README "What the dialects
# serve"), the one an identity provider's "Tenant URL" takes.
DIALECT_BASES = (
    ("SCIM 2.0 (Entra ID, Okta)", "/scim/v2"),
    ("User Provisioning v4", "/profile/v4"),
    ("Identity v4", "/profile/identity/v4"),
    ("Identity v4.1", "/profile/identity/v4.1"),
    ("SCIM v4", "/scim/v4"),
    ("Spend v4.1 (read)", "/profile/spend/v4.1"),
    ("Travel v4 (read)", "/profile/travel/v4"),
    ("User v1.0 (PingFederate)", "/api/user/v1.0"),
)


def _serve(settings: Settings) -> int:
    """Migrate, settle the default company and its token, bind, print the banner, serve.

    The banner (URLs with the bound port, so ``--port 0`` shows the one chosen) is printed
    once the port listens; a request sent after reading it is served, not refused.
    """
    if settings.issuer is None and not _is_loopback(settings.host):
        # Unset, a token's iss comes from the Host header of the token request; reachable
        # from other machines, a client could then choose it (docs/security.md "Tokens").
        print(
            f"concur-scim: serving on {settings.host} (not loopback) needs CONCUR_SCIM_ISSUER,"
            " the public origin clients reach this server at (e.g. https://scim.example.com)",
            file=sys.stderr,
        )
        return 2
    status = _migrate(settings)
    if status:
        return status
    try:
        company_id, token, kept = _default_company_and_token(settings)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"concur-scim: cannot prepare the default company: {reason}", file=sys.stderr)
        return 1
    if not kept:
        print(
            "concur-scim: this bearer token lasts until the server stops (no SQLite file to"
            " keep it beside): set CONCUR_SCIM_BEARER_TOKEN or CONCUR_SCIM_TOKEN_FILE",
            file=sys.stderr,
        )
    # The app processes build their Settings from the environment: hand every setting over,
    # command-line overrides included (a bad CONCUR_SCIM_PORT overridden by --port must not
    # reach them). A kept first-run token stays out: they verify it by its stored digest.
    _export_settings(settings, bearer_token=None if kept else token)
    shown_host = _shown_host(settings)

    def announce(port: int) -> None:
        base = f"http://{shown_host}:{port}"
        print(f"concur-scim serving SCIM 2.0 at {base}/scim/v2", flush=True)
        print(f"bearer token: {token}", flush=True)
        print(
            f"admin token: {settings.admin_token.get_secret_value()}"
            if settings.admin_enabled
            else "admin API: off (CONCUR_SCIM_ADMIN)",
            flush=True,
        )
        for line in _banner(base, company_id):
            print(line, flush=True)

    return _run_server(settings, announce)


def _default_company_and_token(settings: Settings) -> tuple[str, str, bool]:
    """The default company's id, the token to print and whether it is kept across starts.

    Once, before any app process starts, so that they never race to create either.
    """
    path = settings.first_run_token_file()
    engine = create_db_engine(settings.database_url)
    try:
        with unit_of_work(engine, write=True) as conn:
            now = system_clock()
            company_id = ensure_default_company(conn, settings.company_id, now)
            if settings.bearer_token is not None and settings.bearer_token.get_secret_value():
                return company_id, settings.bearer_token.get_secret_value(), True
            if path is None:
                return company_id, credentials.new_secret(), False
            return company_id, first_run_token(conn, path, company_id, now), True
    finally:
        engine.dispose()


def _export_settings(settings: Settings, *, bearer_token: str | None) -> None:
    for name in Settings.model_fields:
        value = bearer_token if name == "bearer_token" else getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        os.environ[f"CONCUR_SCIM_{name.upper()}"] = str(value)


def _banner(base: str, company_id: str) -> list[str]:
    """The lines under the token: the default company, the base URLs, the admin API and
    its console."""
    width = max(len(label) for label, _ in DIALECT_BASES)
    lines = [f"default company: {company_id}", "base URLs:"]
    lines += [f"  {label:<{width}}  {base}{path}" for label, path in DIALECT_BASES]
    lines += [
        f"admin API: {base}/_admin",
        f"console: {base}/console (sign in with the admin token)",
    ]
    lines += [f"OpenAPI: {base}/docs ({base}/openapi.json)"]
    return lines


def _announcing_server(config: uvicorn.Config, announce: Callable[[int], None]) -> uvicorn.Server:
    """A uvicorn server that calls ``announce(port)`` once the app has started and listens."""
    import uvicorn  # noqa: PLC0415 (loaded on first use: the CLI imports cheaply)

    class _AnnouncingServer(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if not self.should_exit and sockets:
                announce(sockets[0].getsockname()[1])

    return _AnnouncingServer(config)


def _run_server(settings: Settings, announce: Callable[[int], None]) -> int:
    import uvicorn  # noqa: PLC0415 (loaded on first use: the CLI imports cheaply)
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415 (loaded on first use: the CLI imports cheaply)

    config = uvicorn.Config(
        "concur_scim.app:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        # Off by default: formatting and writing a line costs CPU on every request, and
        # the audit line and the journal already record every write and failure.
        access_log=settings.access_log,
        proxy_headers=True,
    )
    # One socket bound here, whatever the process count: with port 0 it is the one port
    # chosen (uvicorn's own binding of "localhost" could give IPv4 and IPv6 two ports).
    sock = config.bind_socket()
    try:
        if config.workers > 1:
            sock.listen(config.backlog)  # queued until a worker process accepts
            announce(sock.getsockname()[1])
            Multiprocess(config, sockets=[sock]).run()
            return 0
        server = _announcing_server(config, announce)
        server.run(sockets=[sock])
        return 0 if server.started else 1
    except KeyboardInterrupt:
        return 0
    finally:
        sock.close()


def _openapi(settings: Settings) -> int:
    """Print the OpenAPI document of the application (no database is touched)."""
    from concur_scim.app import create_app  # noqa: PLC0415 (loaded on first use: the CLI imports cheaply)

    document = create_app(settings).openapi()
    print(json.dumps(document, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
