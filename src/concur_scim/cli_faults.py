"""``concur-scim fault add|list|clear``: the admin API's fault rules from the command line.

The commands work on the database directly, through the same service functions as
``/_admin/faults`` (services/faults.py); running servers see a change within
``services.faults.CACHE_SECONDS``, workers at their next claim. Each rule is printed as one
JSON line. A bad rule is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from concur_scim.cli_help import database_url_help, option_help
from concur_scim.config import Settings
from concur_scim.scim.errors import ScimError
from concur_scim.services import faults
from concur_scim.services.common import system_clock
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.migrate import upgrade

COMMAND = "fault"


def add_parser(sub: Any) -> None:
    """Add ``fault add|list|clear`` to the ``concur-scim`` subcommands."""
    fault = sub.add_parser(COMMAND, help="manage fault injection rules (README 'Admin API')")
    actions = fault.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a rule; prints it as JSON")
    add.add_argument("--company", help=option_help("company id the rule applies to", "any"))
    add.add_argument(
        "--dialect",
        choices=sorted(faults.DIALECTS),
        help=option_help("API the rule applies to", "any"),
    )
    add.add_argument("--method", help=option_help("HTTP method the rule applies to", "any"))
    add.add_argument(
        "--path",
        help=option_help("glob of the paths the rule applies to, e.g. '/scim/v2/*'", "any"),
    )
    add.add_argument(
        "--count",
        type=int,
        help=option_help("answers the rule makes before it expires", "no limit"),
    )
    add.add_argument(
        "--probability",
        type=float,
        help=option_help("share (0..1) of matching requests the rule acts on", "1"),
    )
    add.add_argument(
        "--seed", type=int, help=option_help("seed of the rule's random draws", "unseeded")
    )
    add.add_argument(
        "--status",
        type=int,
        choices=sorted(faults.STATUSES),
        help=option_help("answer this status (a SCIM Error) instead of the real answer", "none"),
    )
    add.add_argument(
        "--retry-after",
        type=int,
        help=option_help("Retry-After seconds of a --status answer", "1 for 429, 5 for 503"),
    )
    add.add_argument(
        "--latency-ms", type=int, help=option_help("delay the real answer this long", "none")
    )
    add.add_argument(
        "--extension",
        help=option_help("end this extension URN of matching provisions with --code", "none"),
    )
    add.add_argument("--code", help=option_help("result code of an --extension rule", "500"))
    add.add_argument(
        "--message",
        help=option_help("Concur message of an --extension rule", "INTERNAL_SERVER_ERROR"),
    )
    add.add_argument("--database-url", help=database_url_help())
    listing = actions.add_parser("list", help="print every rule as JSON lines")
    listing.add_argument("--database-url", help=database_url_help())
    clear = actions.add_parser("clear", help="delete one rule (--id) or every rule")
    clear.add_argument("--id", help=option_help("the rule to delete", "every rule"))
    clear.add_argument("--database-url", help=database_url_help())


_RULE_OPTIONS = {
    "company": "company",
    "dialect": "dialect",
    "method": "method",
    "path": "path",
    "count": "count",
    "probability": "probability",
    "seed": "seed",
    "status": "status",
    "retry_after": "retryAfter",
    "latency_ms": "latencyMs",
    "extension": "extension",
    "code": "code",
    "message": "message",
}


def rule_body(args: argparse.Namespace) -> dict[str, Any]:
    """The JSON rule (as ``POST /_admin/faults`` takes it) the ``add`` options describe."""
    found = {key: getattr(args, dest) for dest, key in _RULE_OPTIONS.items()}
    return {key: value for key, value in found.items() if value is not None}


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out a ``fault`` command; the exit status."""
    upgrade(settings.database_url)
    engine = create_db_engine(settings.database_url)
    try:
        with unit_of_work(engine, write=args.action != "list") as conn:
            if args.action == "add":
                lines = [faults.rule_json(faults.add_rule(conn, rule_body(args), system_clock()))]
            elif args.action == "list":
                lines = [faults.rule_json(rule) for rule in faults.list_rules(conn)]
            elif args.id is not None:
                faults.remove_rule(conn, args.id)
                lines = [{"deleted": 1}]
            else:
                lines = [{"deleted": faults.clear_rules(conn)}]
    except ScimError as error:
        print(f"concur-scim: {error.detail}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    for line in lines:
        print(json.dumps(line), flush=True)
    return 0
