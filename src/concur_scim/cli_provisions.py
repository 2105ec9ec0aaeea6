"""``concur-scim provisions list | show ID``: the User Provisioning requests a database holds
(reference/concur-v4.md §3.4), read through the provisioning repository.

``list`` shows the newest requests (every company's, or ``--company``'s; ``--state``
pending or completed) with their operation counts; ``show`` one request's operations, each
with its per-extension results and their messages. Both read in one read-only transaction
and never migrate: a database that is not migrated is reported, not changed.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from concur_scim.cli_bulk import short_name
from concur_scim.cli_help import option_help, setting_help
from concur_scim.cli_output import Output
from concur_scim.config import Settings
from concur_scim.services.provisioning import EXTENSION_NAMES
from concur_scim.store import provisions as store
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.provisions import ProvisionRecord

_ORDER = {urn: n for n, urn in enumerate(EXTENSION_NAMES)}


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """The ``provisions list | show`` parsers."""
    provisions = sub.add_parser("provisions", help="list and show provisioning requests")
    actions = provisions.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the newest provisioning requests, newest first")
    listing.add_argument("--company", help=option_help("only this company's requests", "all"))
    listing.add_argument(
        "--state",
        choices=(store.PENDING, store.COMPLETED),
        help=option_help("only requests in this state", "both"),
    )
    listing.add_argument(
        "--limit", type=int, default=50, help=option_help("most requests listed", "50")
    )
    listing.add_argument("--database-url", help=setting_help("database", "database_url"))
    show = actions.add_parser("show", help="one request's operations and extension results")
    show.add_argument("id", help="the provision id (Provision:Status id)")
    show.add_argument("--database-url", help=setting_help("database", "database_url"))


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out ``provisions list|show``: 0, or 2 with one line on stderr."""
    out = Output()
    engine = create_db_engine(settings.database_url)
    try:
        with unit_of_work(engine, write=False) as conn:
            if args.action == "list":
                return _list(conn, args, out)
            return _show(conn, args.id, out)
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"concur-scim: cannot read the database: {reason}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def _list(conn: Connection, args: argparse.Namespace, out: Output) -> int:
    company = args.company
    if company is not None:
        try:
            company = str(uuid.UUID(company))
        except ValueError:
            print(f"concur-scim: not a company UUID: {company!r}", file=sys.stderr)
            return 2
    records = store.list_provisions(
        conn, company_id=company, state=args.state, limit=max(1, args.limit)
    )
    out.table(
        ["id", "company", "type", "state", "success", "total", "succeeded", "failed", "created"],
        [
            [
                r.id,
                r.company_id,
                r.provision_type,
                r.state,
                _success(r),
                str(r.total),
                str(r.succeeded),
                str(r.failed),
                r.created.isoformat(timespec="seconds"),
            ]
            for r in records
        ],
    )
    return 0


def _success(record: ProvisionRecord) -> str:
    if record.state != store.COMPLETED or record.success is None:
        return "-"
    return "yes" if record.success else "no"


def _show(conn: Connection, provision_id: str, out: Output) -> int:
    company = store.provision_company(conn, provision_id)
    record = None if company is None else store.get_provision(conn, company, provision_id)
    if record is None:
        print(f"concur-scim: no provision {provision_id!r}", file=sys.stderr)
        return 2
    out.line(f"provision {record.id} ({record.provision_type}) of company {record.company_id}")
    out.line(
        f"state: {record.state}  success: {_success(record)}  operations: {record.total}"
        f" ({record.succeeded} succeeded, {record.failed} failed, {record.pending} pending)"
    )
    out.line(f"created: {record.created.isoformat()}  correlation id: {record.correlation_id}")
    results = store.get_results(conn, record.id)
    rows: list[list[str]] = []
    for op in store.get_operations(conn, record.id):
        state = "pending" if not op.done else "success" if op.success else "failed"
        rows.append(
            [
                str(op.position),
                op.bulk_id,
                f"{op.method} {op.path}",
                state,
                op.code or "",
                op.resource_id or "",
                "",
                "",
            ]
        )
        ordered = sorted(results.get(op.position, []), key=lambda r: _ORDER.get(r.urn, 99))
        for result in ordered:
            messages = "; ".join(_message(m) for m in result.messages)
            rows.append(
                [
                    "",
                    "",
                    "",
                    "",
                    result.code or "",
                    "",
                    f"{short_name(result.urn)}: {result.result}",
                    messages,
                ]
            )
    out.table(["op", "bulkId", "request", "state", "code", "user", "extension", "messages"], rows)
    return 0


def _message(message: dict[str, Any]) -> str:
    text = f"{message.get('type', 'error')} {message.get('code', '')}: {message.get('message', '')}"
    path = message.get("schemaPath")
    return f"{text} ({path})" if path else text
