"""``concur-scim seed FILE`` and ``concur-scim reset``: the admin API's seed and reset from the
command line.

Both work on the database directly, through the same service functions as ``POST
/_admin/seed`` and ``POST /_admin/reset`` (services/admin.py), so a developer can prepare or
clear a stand-in before starting it, or while it runs. ``seed`` reads a JSON array or
ListResponse of users, NDJSON, or CSV (the columns of README "Admin API"), chosen by the
file's extension; each user is created through the user service (validation applies), one
transaction per user. Both print one JSON line; a bad file or company is one line on stderr
and exit status 2, a seed with refused users exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from concur_scim.cli_help import database_url_help, option_help
from concur_scim.config import Settings
from concur_scim.scim.errors import ScimError
from concur_scim.services import admin
from concur_scim.services.common import system_clock
from concur_scim.store.companies import ensure_default_company
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.migrate import upgrade

_CONTENT_TYPES = {".csv": "text/csv", ".ndjson": "application/x-ndjson", ".jsonl": "jsonl"}


def add_parsers(sub: Any) -> None:
    """Add ``seed`` and ``reset`` to the ``concur-scim`` subcommands."""
    seed = sub.add_parser("seed", help="create users from a JSON, NDJSON or CSV file")
    seed.add_argument("file", type=Path, help="the users: .json, .ndjson/.jsonl or .csv")
    seed.add_argument("--company", help=option_help("company to seed", "the default company"))
    seed.add_argument(
        "--concur",
        action="store_true",
        help=option_help("validate with the Concur dialects' rules", "the generic rules"),
    )
    seed.add_argument("--database-url", help=database_url_help())
    reset = sub.add_parser(
        "reset", help="delete users, groups and provisions (companies and credentials stay)"
    )
    reset.add_argument("--company", help=option_help("company to reset", "every company"))
    reset.add_argument("--database-url", help=database_url_help())


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out ``seed`` or ``reset``; the exit status."""
    upgrade(settings.database_url)
    engine = create_db_engine(settings.database_url)
    try:
        if args.command == "reset":
            body = {} if args.company is None else {"company": args.company}
            with unit_of_work(engine, write=True) as conn:
                result: dict[str, Any] = admin.reset(conn, body)
            status = 0
        else:
            raw = args.file.read_bytes()
            content_type = _CONTENT_TYPES.get(args.file.suffix.lower(), "application/json")
            company = args.company or _default_company(engine, settings)
            report = admin.seed_users(
                engine, company, raw, content_type, strict=args.concur, clock=system_clock
            )
            result = report.as_json()
            status = 1 if report.failed else 0
    except (ScimError, OSError) as error:
        detail = error.detail if isinstance(error, ScimError) else str(error)
        print(f"concur-scim: {detail}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(json.dumps(result), flush=True)
    return status


def _default_company(engine: Any, settings: Settings) -> str:
    with unit_of_work(engine, write=True) as conn:
        return ensure_default_company(conn, settings.company_id, datetime.now(UTC))
