"""``concur-scim journal export | replay``: record an identity provider's session, replay it.

- ``journal export --company ID [--since T] [--format pytest|json] [--database-url URL]``
  reads the company's request journal (``request_log``, oldest first, from ``T`` on) in one
  read-only transaction, without migrating, and prints a scenario (``concur_scim.replay``):
  the JSON document, or a self-contained pytest file embedding it that replays each step
  against the server root given by ``CONCUR_SCIM_URL`` with ``CONCUR_SCIM_TOKEN``. Steps the
  journal cannot reproduce are exported marked ``skip`` with the reason, and counted on
  stderr. No token or secret is exported: the journal holds none.
- ``journal replay FILE --url URL --token TOKEN`` replays a JSON scenario, prints one line
  per step and a summary, and exits 0 when no step failed, 1 otherwise.

Bad input (not a company UUID, a bad ``--since``, an unreadable database or scenario) is one
line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from concur_scim.cli_help import database_url_help, option_help
from concur_scim.config import Settings
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.request_log import JournalFilter, journal_page

COMMAND = "journal"
URL_ENV = "CONCUR_SCIM_URL"
TOKEN_ENV = "CONCUR_SCIM_TOKEN"  # noqa: S105 (a variable name, not a secret)


def add_parser(sub: Any) -> None:
    """Add ``journal export|replay`` to the ``concur-scim`` subcommands."""
    journal = sub.add_parser(COMMAND, help="export the request journal as a replayable suite")
    actions = journal.add_subparsers(dest="action", required=True)
    export = actions.add_parser(
        "export", help="print a company's journal as a pytest file or JSON scenario"
    )
    export.add_argument("--company", required=True, help="the company's UUID (required)")
    export.add_argument(
        "--since", help=option_help("only requests at or after this RFC 3339 time", "all")
    )
    export.add_argument(
        "--format",
        choices=("pytest", "json"),
        default="pytest",
        help=option_help("what to print", "pytest"),
    )
    export.add_argument("--database-url", help=database_url_help())
    run = actions.add_parser("replay", help="replay a JSON scenario against a server")
    run.add_argument("file", help="the JSON scenario (journal export --format json)")
    run.add_argument(
        "--url",
        default=os.environ.get(URL_ENV),
        help=option_help(
            f"the server's root URL, e.g. http://127.0.0.1:8000 (env {URL_ENV})", "none"
        ),
    )
    run.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV),
        help=option_help(f"bearer token of the company to replay as (env {TOKEN_ENV})", "none"),
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out ``journal export|replay``; the exit status."""
    if args.action == "export":
        return _export(settings, args)
    return _replay(args)


def _fail(message: str) -> int:
    print(f"concur-scim: {message}", file=sys.stderr)
    return 2


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from concur_scim.replay import scenario_from_journal  # noqa: PLC0415 (loaded on first use: serve imports cheaply)

    try:
        company = str(uuid.UUID(args.company))
    except ValueError:
        return _fail(f"not a company UUID: {args.company!r}")
    since = None
    if args.since is not None:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            return _fail(f"--since is not an RFC 3339 date-time: {args.since!r}")
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    where = JournalFilter(company_id=company, since=since)
    engine = create_db_engine(settings.database_url)
    try:
        with unit_of_work(engine, write=False) as conn:
            total, _ = journal_page(conn, where, offset=0, limit=0)
            _, rows = journal_page(conn, where, offset=0, limit=max(total, 1))
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return _fail(f"cannot read the database: {reason}")
    finally:
        engine.dispose()
    rows.reverse()  # journal_page is newest first
    scenario = scenario_from_journal(rows, company=company)
    skipped = [s for s in scenario["steps"] if s.get("skip")]
    text = json.dumps(scenario, indent=2, ensure_ascii=False)
    sys.stdout.write(text + "\n" if args.format == "json" else pytest_file(scenario, text))
    print(
        f"concur-scim: exported {len(scenario['steps'])} steps"
        f" ({len(skipped)} marked skip: see their 'skip' reason)",
        file=sys.stderr,
    )
    return 0


def pytest_file(scenario: dict[str, Any], text: str) -> str:
    """A self-contained pytest module replaying ``scenario`` (``text``: its JSON)."""
    if "'''" in text:  # cannot sit in a raw triple-quoted string: one literal per line
        literal = "\n".join(f"    {json.dumps(line + chr(10))}" for line in text.splitlines())
    else:
        literal = f"    r'''\n{text}\n'''"
    return _PYTEST_TEMPLATE.format(
        company=scenario["company"],
        steps=len(scenario["steps"]),
        url_env=URL_ENV,
        token_env=TOKEN_ENV,
        scenario=literal,
    )


_PYTEST_TEMPLATE = '''"""Replay of the request journal of company {company} ({steps} steps).

Written by ``concur-scim journal export --format pytest``. Each step is sent, in order, to a
fresh concur-scim server whose root URL is ${url_env} (e.g. http://127.0.0.1:8000), with the
bearer token ${token_env}; the test asserts the recorded status and answer shape (top-level
keys, schemas, id presence). Ids the recording's server issued are {{{{idN}}}} placeholders
bound from the replayed answers. Steps the journal could not reproduce are skipped with the
reason. Needs the concur-scim package (concur_scim.replay) and httpx.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from concur_scim.replay import Replayer, load_scenario

SCENARIO = load_scenario(
{scenario}
)


@pytest.fixture(scope="module")
def replayer() -> Iterator[Replayer]:
    url, token = os.environ.get("{url_env}"), os.environ.get("{token_env}")
    if not url or not token:
        pytest.fail("set {url_env} (server root URL) and {token_env} (bearer token)")
    with Replayer(url, token) as found:
        yield found


@pytest.mark.parametrize(
    "step",
    SCENARIO["steps"],
    ids=[f"{{s['step']:03d}} {{s['method']}} {{s['path']}}" for s in SCENARIO["steps"]],
)
def test_step(replayer: Replayer, step: dict[str, Any]) -> None:
    result = replayer.run(step)
    if result.passed is None:
        pytest.skip(result.line())
    assert result.passed, result.line()
'''


def _replay(args: argparse.Namespace) -> int:
    from concur_scim.replay import ScenarioError, load_scenario, replay  # noqa: PLC0415 (loaded on first use: serve imports cheaply)

    if not args.url or not args.token:
        return _fail(f"replay needs --url and --token (or {URL_ENV} and {TOKEN_ENV})")
    try:
        with open(args.file, encoding="utf-8") as handle:
            scenario = load_scenario(handle.read())
    except (OSError, ScenarioError) as exc:
        return _fail(f"cannot read the scenario {args.file}: {exc}")
    counts = {True: 0, False: 0, None: 0}
    for result in replay(scenario, args.url, args.token):
        counts[result.passed] += 1
        print(result.line(), flush=True)
    print(f"{counts[True]} passed, {counts[False]} failed, {counts[None]} skipped")
    return 1 if counts[False] else 0
