"""Listing and revoking credentials, and ``migrate``, for ``concur-scim``.

- ``company list``: every company (the default one marked);
- ``client list [--company ID]`` and ``client revoke CLIENT_ID``: a revoked client's grants
  are refused and the access tokens it obtained stop verifying (api/auth.py);
- ``token list [--company ID]`` and ``token revoke TOKEN-or-NAME [--company ID]``: static
  tokens (never shown: only their names and dates are stored readably);
- ``migrate``: brings the database to the newest revision and says from which one.

The credential commands run in one transaction through ``services/credentials.py`` after
migrating, as the other credential commands of ``cli.py`` do; bad input is one line on
stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from concur_scim.cli_output import Output
from concur_scim.config import Settings
from concur_scim.services import credentials
from concur_scim.services.common import system_clock
from concur_scim.services.credentials import CredentialError
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.migrate import current_revision, head_revision, upgrade

# (command, action) pairs carried out here; the rest of `company`/`client`/`token` is cli.py's.
COMMANDS = {
    ("company", "list"),
    ("client", "list"),
    ("client", "revoke"),
    ("token", "list"),
    ("token", "revoke"),
}


def handles(args: argparse.Namespace) -> bool:
    """Whether ``args`` is one of :data:`COMMANDS`, or ``token`` without ``--company``
    (which :func:`run` refuses: minting needs a company)."""
    action = getattr(args, "action", None)
    if args.command == "token" and action is None:
        return args.company is None
    return (args.command, action) in COMMANDS


def shown_url(database_url: str) -> str:
    """``database_url`` with its password masked."""
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return database_url


def migrate(settings: Settings) -> int:
    """``concur-scim migrate``: upgrade, then say what was done; 1 when it failed."""
    url = settings.database_url
    try:
        before = current_revision(url)
        head = head_revision()
        if before == head:
            print(f"{shown_url(url)} already at {head}", flush=True)
            return 0
        upgrade(url)
        after = current_revision(url)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"concur-scim: cannot migrate the database: {reason}", file=sys.stderr)
        return 1
    origin = "an empty database" if before is None else before
    print(f"migrated {shown_url(url)} from {origin} to {after}", flush=True)
    return 0


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out one of :data:`COMMANDS`: 0, 1 if migrating failed, 2 for bad input."""
    if args.command == "token" and args.action is None:
        print("concur-scim: token: --company is required to mint a token", file=sys.stderr)
        return 2
    try:
        upgrade(settings.database_url)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"concur-scim: cannot migrate the database: {reason}", file=sys.stderr)
        return 1
    out = Output()
    engine = create_db_engine(settings.database_url)
    try:
        with unit_of_work(engine, write=args.action == "revoke") as conn:
            _command(conn, settings, args, out, system_clock())
    except CredentialError as exc:
        print(f"concur-scim: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="seconds")


def _scopes(scopes: tuple[str, ...] | None) -> str:
    return "all" if scopes is None else ",".join(scopes)


def _command(
    conn: Connection, settings: Settings, args: argparse.Namespace, out: Output, now: datetime
) -> None:
    if args.command == "company":
        out.table(
            ["company_id", "name", "default", "created"],
            [
                [c.company_id, c.name, "yes" if c.is_default else "", _when(c.created)]
                for c in credentials.list_companies(conn)
            ],
        )
    elif args.command == "client" and args.action == "list":
        out.table(
            ["client_id", "company_id", "name", "scopes", "revoked"],
            [
                [c.client_id, c.company_id, c.name or "", _scopes(c.scopes), _when(c.revoked)]
                for c in credentials.list_clients(conn, args.company)
            ],
        )
    elif args.command == "client":
        credentials.revoke_client(conn, args.client_id, now)
        out.line(f"revoked client {args.client_id}")
    elif args.action == "list":
        out.table(
            ["name", "company_id", "scopes", "created", "expires", "revoked"],
            [
                [
                    t.name or "",
                    t.company_id,
                    _scopes(t.scopes),
                    _when(t.created),
                    _when(t.expires),
                    _when(t.revoked),
                ]
                for t in credentials.list_static_tokens(conn, args.company)
            ],
        )
    else:
        configured = settings.bearer_token.get_secret_value() if settings.bearer_token else None
        if configured and args.token == configured:
            raise CredentialError(
                "that is CONCUR_SCIM_BEARER_TOKEN, which the server's environment sets:"
                " change it there"
            )
        count = credentials.revoke_static_token(conn, args.token, company=args.company, now=now)
        out.line(f"revoked {count} static token{'s' if count > 1 else ''}")
