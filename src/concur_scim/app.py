"""The application factory: ``create_app(settings)`` wires everything; nothing at import time.

The lifespan owns the engine: it is created at start-up (the database migrated if it is
behind, the default company ensured), disposed at shutdown. Dialect routers are mounted from
their profiles (api/dialects.py).
"""

from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.responses import JSONResponse, Response

from concur_scim.api.admin import admin_router
from concur_scim.api.audit import AuditMiddleware
from concur_scim.api.auth import DatabaseTokenVerifier
from concur_scim.api.deps import Services
from concur_scim.api.dialects import DIALECTS
from concur_scim.api.discovery import discovery_router
from concur_scim.api.faults import FaultMiddleware
from concur_scim.api.journal_writer import JournalWriter
from concur_scim.api.metrics import Metrics, MetricsMiddleware, metrics_router
from concur_scim.api.middleware import CorrelationMiddleware, ErrorBoundary, PathNormalizer
from concur_scim.api.oauth import install_oauth
from concur_scim.api.openapi import install_openapi
from concur_scim.api.rate_limit import RateLimiter
from concur_scim.api.readiness import readiness_router
from concur_scim.api.resources import KINDS, resource_router
from concur_scim.api.responses import install_error_handlers
from concur_scim.api.role_groups import role_groups_router
from concur_scim.api.scim_bulk import SYNC_BULK_DIALECTS, scim_bulk_router
from concur_scim.api.ups import ups_router
from concur_scim.api.user_v1 import user_v1_router
from concur_scim.api.views import views_router
from concur_scim.config import ConfigError, Settings, load_settings
from concur_scim.console.pages import install_console
from concur_scim.services.common import Clock, system_clock
from concur_scim.services.faults import FaultBook
from concur_scim.store.companies import ensure_default_company
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.migrate import ensure_migrated
from concur_scim.worker import Worker


def create_app(settings: Settings, *, clock: Clock = system_clock) -> FastAPI:
    """A ready-to-serve application for ``settings``.

    Entering its lifespan migrates the database when it is behind (store/migrate.py
    :func:`~concur_scim.store.migrate.ensure_migrated`: cheap when it is not), so an
    in-process app on a fresh database works at once.
    """
    token = settings.bearer_token.get_secret_value() if settings.bearer_token else None
    if not token:
        token = secrets.token_urlsafe(32)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_db_engine(settings.database_url)
        ensure_migrated(engine)
        with unit_of_work(engine, write=True) as conn:
            company = ensure_default_company(conn, settings.company_id, clock())
        worker = Worker(engine, settings, clock=clock) if settings.embedded_worker else None
        journal = JournalWriter(engine, settings.request_log_keep)
        app.state.services = Services(
            settings=settings,
            engine=engine,
            verifier=DatabaseTokenVerifier(
                engine,
                bearer_token=token,
                default_company=company,
                issuer=settings.issuer,
                clock=clock,
            ),
            clock=clock,
            wake_worker=worker.wake if worker else lambda: None,
            rate_limiter=RateLimiter.from_settings(settings, clock),
            journal=journal,
        )
        app.state.default_company_id = company
        app.state.metrics.engine = engine
        app.state.fault_book = FaultBook(engine)
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
                worker.join(timeout=settings.worker_lease_seconds)
            journal.close()
            engine.dispose()

    app = FastAPI(
        title="concur-scim", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None
    )
    app.state.bearer_token = token
    # The admin API's token (Settings generates one when unset); None while it is off.
    app.state.admin_token = (
        settings.admin_token.get_secret_value() if settings.admin_enabled else None
    )
    _install_middleware(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        return JSONResponse({"status": "ok"})  # liveness: never touches the database

    app.include_router(readiness_router())  # GET /readyz: readiness, a SELECT 1
    app.include_router(metrics_router())  # GET /metrics: Prometheus (api/metrics.py)

    for dialect in DIALECTS:
        if dialect.bulk:
            app.include_router(ups_router(dialect))  # User Provisioning v4: its own routes
            continue
        app.include_router(discovery_router(dialect))
        for name in dialect.crud_types:
            app.include_router(resource_router(KINDS[name], dialect))
        if dialect in SYNC_BULK_DIALECTS:
            app.include_router(scim_bulk_router(dialect))  # RFC 7644 §3.7, synchronous
    app.include_router(role_groups_router("/scim/v4"))  # SCIM v4 Groups: the role catalogue
    app.include_router(views_router())  # spend and travel read views of the extensions
    app.include_router(user_v1_router())  # Concur User v1.0 (PingFederate's connector)
    install_oauth(app)  # /oauth2/v0/token and /oauth2/v0/jwks (reference §7)
    install_openapi(app, settings)  # /openapi.json and /docs (no CDN), no token needed
    if settings.admin_enabled:
        app.include_router(admin_router())  # /_admin: journal, reset, seed, faults
        install_console(app)  # /console: the same, in a browser (console/pages.py)
    return app


def _install_middleware(app: FastAPI) -> None:
    """The error handlers and the ASGI middleware, outermost last (docs/architecture.md)."""
    install_error_handlers(app)
    app.add_middleware(ErrorBoundary)
    # Faults inside the audit trail, so the journal records what a rule answered.
    app.add_middleware(FaultMiddleware)
    # Audit between them: it sees the normalized path, the correlation id and the final 500.
    app.add_middleware(AuditMiddleware)
    app.add_middleware(PathNormalizer)
    app.add_middleware(CorrelationMiddleware)
    app.add_middleware(MetricsMiddleware)  # outermost: the status the client gets
    app.state.metrics = Metrics()


def create_app_from_env() -> FastAPI:
    """The uvicorn factory of ``serve``: each app process reads the environment.

    A bad value exits with status 2 and one line on stderr, never a traceback.
    """
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"concur-scim: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    # uvicorn configures only its own loggers; without this the application's INFO lines
    # (the concur_scim.audit trail among them) would be dropped. A no-op if already set up.
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return create_app(settings)
