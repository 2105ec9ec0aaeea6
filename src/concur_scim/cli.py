"""``concur-scim``: the command line.

- ``concur-scim serve [--host H] [--port P] [--database-url URL] [--workers N]``: migrates
  the database, prints the base URL and the bearer token, and serves.
- ``concur-scim migrate [--database-url URL]``: brings the database to the latest revision.
- ``concur-scim worker [--database-url URL]``: a provisioning worker process (scale-out: any
  number of them beside the API processes, PostgreSQL coordinating). SIGTERM or SIGINT stops
  it after the operation in hand.

Options override the ``CONCUR_SCIM_*`` environment. A bad setting prints one line on stderr
and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import sys
from collections.abc import Sequence

import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from concur_scim.config import ConfigError, Settings, load_settings
from concur_scim.services.common import system_clock
from concur_scim.store.companies import ensure_default_company
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.migrate import upgrade
from concur_scim.worker import Worker


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="concur-scim", description=__doc__.splitlines()[0])
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``concur-scim`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k != "command" and v is not None}
    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        print(f"concur-scim: {exc}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "worker":
        return _work(settings)
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


def _serve(settings: Settings) -> int:
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
    shown_host = "localhost" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
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
