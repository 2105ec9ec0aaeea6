"""``concur-scim webhook set|show|remove``: a company's provisionCompleted webhook.

The commands work on the database directly, through the same service functions as
``/_admin/webhooks/{company_id}`` (services/webhooks.py); every worker sees a change at the
next completion. ``set`` and ``show`` print the webhook as one JSON line (never its secret).
A bad value or an unknown company is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from concur_scim.cli_help import database_url_help
from concur_scim.config import Settings
from concur_scim.scim.errors import ScimError
from concur_scim.services import webhooks
from concur_scim.services.common import system_clock
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.migrate import upgrade

COMMAND = "webhook"


def add_parser(sub: Any) -> None:
    """Add ``webhook set|show|remove`` to the ``concur-scim`` subcommands."""
    webhook = sub.add_parser(
        COMMAND, help="manage a company's provisionCompleted webhook (README 'Webhooks')"
    )
    actions = webhook.add_subparsers(dest="action", required=True)
    put = actions.add_parser("set", help="set (or replace) the webhook; prints it as JSON")
    put.add_argument("--company", required=True, help="the company's UUID (required)")
    put.add_argument("--url", required=True, help="where events are POSTed (required)")
    put.add_argument(
        "--secret", required=True, help="HMAC-SHA256 key of the signature header (required)"
    )
    put.add_argument("--database-url", help=database_url_help())
    for name, text in (("show", "print the webhook as JSON"), ("remove", "delete the webhook")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--company", required=True, help="the company's UUID (required)")
        action.add_argument("--database-url", help=database_url_help())


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out a ``webhook`` command; the exit status."""
    upgrade(settings.database_url)
    engine = create_db_engine(settings.database_url)
    try:
        with unit_of_work(engine, write=args.action != "show") as conn:
            if args.action == "set":
                body = {"url": args.url, "secret": args.secret}
                line: dict[str, Any] | None = webhooks.configure(
                    conn, args.company, body, system_clock()
                )
            elif args.action == "show":
                line = webhooks.show(conn, args.company)
            else:
                webhooks.remove(conn, args.company)
                line = None
    except ScimError as error:
        print(f"concur-scim: {error.detail}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if line is not None:
        print(json.dumps(line), flush=True)
    return 0
