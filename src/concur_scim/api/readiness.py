"""``GET /readyz``: readiness, unlike ``/healthz`` (liveness), depends on the database.

200 ``{"status": "ready", "database": "ok"}`` when ``SELECT 1`` answers within
:data:`READY_TIMEOUT_SECONDS`; otherwise 503 ``{"status": "unavailable", "database": why}``
with ``Retry-After``, so a load balancer stops routing to a server whose database is gone
while the process itself stays up and recovers by itself. No authentication.

The probe runs in a thread of its own limiter: a probe stuck on an unresponsive database
never takes one of the threads that serve requests, and later probes answer "timeout".
"""

from __future__ import annotations

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse, Response

from concur_scim.api.responses import UNAVAILABLE_RETRY_AFTER_SECONDS

READY_TIMEOUT_SECONDS = 2.0


def _select_one(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1")).scalar_one()


def readiness_router() -> APIRouter:
    """The ``/readyz`` route."""
    router = APIRouter(include_in_schema=False)
    limiters: list[anyio.CapacityLimiter] = []

    async def database_problem(engine: Engine) -> str | None:
        """None when the database answers in time; otherwise a short reason."""
        if not limiters:
            limiters.append(anyio.CapacityLimiter(1))
        try:
            with anyio.fail_after(READY_TIMEOUT_SECONDS):
                await anyio.to_thread.run_sync(
                    _select_one, engine, abandon_on_cancel=True, limiter=limiters[0]
                )
        except TimeoutError:
            return "timeout"
        except SQLAlchemyError as exc:
            return f"unreachable ({type(exc).__name__})"
        return None

    @router.get("/readyz")
    async def readyz(request: Request) -> Response:
        problem = await database_problem(request.app.state.services.engine)
        if problem is None:
            return JSONResponse({"status": "ready", "database": "ok"})
        return JSONResponse(
            {"status": "unavailable", "database": problem},
            status_code=503,
            headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)},
        )

    return router
