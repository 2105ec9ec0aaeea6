"""``concur-scim``: the command line.

- ``concur-scim serve [--host H] [--port P] [--database-url URL] [--workers N]``: migrates
  the database, prints the base URL and the bearer token, and serves.
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
import logging
import os
import secrets
import signal
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import NoReturn

import uvicorn
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from concur_scim.config import ConfigError, Settings, load_settings
from concur_scim.services import credentials
from concur_scim.services.common import system_clock
from concur_scim.services.credentials import CredentialError
from concur_scim.services.signing_keys import ACCESS_TOKEN_LIFETIME, mint_access_token, rotate_keys
from concur_scim.store.companies import ensure_default_company
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.migrate import upgrade
from concur_scim.worker import Worker


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="concur-scim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate the database and serve the API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--database-url")
    serve.add_argument("--workers", type=int)
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--database-url")
    worker = sub.add_parser("worker", help="run a provisioning worker (no API)")
    worker.add_argument("--database-url")
    _credential_parsers(sub)
    return parser


def _credential_parsers(sub: argparse._SubParsersAction[_Parser]) -> None:
    company = sub.add_parser("company", help="manage companies").add_subparsers(
        dest="action", required=True
    )
    add = company.add_parser("add", help="create a company and a company request token")
    add.add_argument("name")
    add.add_argument("--database-url")
    request_token = company.add_parser("request-token", help="a new company request token")
    request_token.add_argument("company")
    request_token.add_argument("--database-url")
    client = sub.add_parser("client", help="manage OAuth clients").add_subparsers(
        dest="action", required=True
    )
    client_add = client.add_parser("add", help="create an OAuth client of a company")
    client_add.add_argument("--company", required=True)
    client_add.add_argument("--scopes")
    client_add.add_argument("--name")
    client_add.add_argument("--database-url")
    token = sub.add_parser("token", help="mint an access token or a static token")
    token.add_argument("--company", required=True)
    token.add_argument("--scopes")
    token.add_argument("--static", action="store_true")
    token.add_argument("--name")
    token.add_argument("--database-url")
    keys = sub.add_parser("keys", help="manage signing keys").add_subparsers(
        dest="action", required=True
    )
    rotate = keys.add_parser("rotate", help="a new signing key signs from now on")
    rotate.add_argument("--database-url")


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
        return _migrate(settings)
    if args.command == "worker":
        return _work(settings)
    if args.command in _CREDENTIAL_COMMANDS:
        return _credentials(settings, args)
    return _serve(settings)


def _migrate(settings: Settings) -> int:
    try:
        upgrade(settings.database_url)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"concur-scim: cannot migrate the database: {reason}", file=sys.stderr)
        return 1
    return 0


def _work(settings: Settings) -> int:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
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


def _ensure_company(settings: Settings) -> None:
    # Once, before any worker process starts, so that workers never race to create it.
    engine = create_db_engine(settings.database_url)
    try:
        with unit_of_work(engine, write=True) as conn:
            ensure_default_company(conn, settings.company_id, system_clock())
    finally:
        engine.dispose()


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


def _serve(settings: Settings) -> int:
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
    _ensure_company(settings)
    token = settings.bearer_token.get_secret_value() if settings.bearer_token else ""
    if not token:
        token = secrets.token_urlsafe(32)
    # Worker processes build their own Settings from the environment: hand everything over.
    os.environ["CONCUR_SCIM_BEARER_TOKEN"] = token
    os.environ["CONCUR_SCIM_DATABASE_URL"] = settings.database_url
    if settings.company_id:
        os.environ["CONCUR_SCIM_COMPANY_ID"] = str(settings.company_id)
    shown_host = _shown_host(settings)
    print(
        f"concur-scim serving SCIM 2.0 at http://{shown_host}:{settings.port}/scim/v2", flush=True
    )
    print(f"bearer token: {token}", flush=True)
    uvicorn.run(
        "concur_scim.app:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        proxy_headers=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
