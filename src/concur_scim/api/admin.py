"""The admin API under ``/_admin`` (README "Admin API", docs/security.md "Admin API").

Mounted only when ``Settings.admin_enabled`` (so when it is off, every ``/_admin`` path is an
ordinary 404). Every route needs ``Authorization: Bearer <admin token>``, compared in
constant time; company tokens are not admin tokens (401). Routes are thin: they parse, call
one use-case of ``services/admin.py``, ``services/faults.py`` or ``services/webhooks.py``,
and answer JSON.
"""

from __future__ import annotations

import hmac
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from concur_scim.api.deps import BodyDep, ReadConn, ServicesDep, UnitOfWorkRoute, WriteConn
from concur_scim.scim.errors import InvalidValue, PayloadTooLarge, Unauthorized
from concur_scim.services import admin, faults, webhooks
from concur_scim.services.faults import FaultBook

PREFIX = "/_admin"


def require_admin(request: Request) -> None:
    """Admit only the admin token (RFC 6750 bearer); raises Unauthorized (401) otherwise."""
    expected: str = request.app.state.admin_token
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    given = token.strip().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given, expected.encode()):
        raise Unauthorized("the admin token is required")


def _book(request: Request) -> FaultBook:
    book: FaultBook = request.app.state.fault_book
    return book


BookDep = Annotated[FaultBook, Depends(_book)]


async def _raw_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > limit:
            raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
    return bytes(raw)


async def flushed_journal(svc: ServicesDep) -> None:
    """Wait until the journal rows of earlier requests are written (api/journal_writer.py),
    before the route's own transaction opens: the journal shows every answered request, and
    a reset leaves none of them behind."""
    if svc.journal is not None:
        await run_in_threadpool(svc.journal.flush)


def admin_router() -> APIRouter:
    """The ``/_admin`` routes, each behind :func:`require_admin`."""
    router = APIRouter(
        prefix=PREFIX, dependencies=[Depends(require_admin)], route_class=UnitOfWorkRoute
    )

    @router.get("/journal", dependencies=[Depends(flushed_journal)])
    def journal(request: Request, conn: ReadConn) -> Response:
        return JSONResponse(admin.journal(conn, request.query_params))

    @router.get("/provisions")
    def provisions(request: Request, conn: ReadConn) -> Response:
        return JSONResponse(admin.provisions(conn, request.query_params))

    @router.post("/reset", dependencies=[Depends(flushed_journal)])
    def reset(body: BodyDep, conn: WriteConn) -> Response:
        return JSONResponse(admin.reset(conn, body))

    @router.post("/seed")
    async def seed(request: Request, svc: ServicesDep) -> Response:
        company = request.query_params.get("company") or request.app.state.default_company_id
        dialect = request.query_params.get("dialect", "generic")
        if dialect not in ("generic", "concur"):
            raise InvalidValue("'dialect' must be generic or concur")
        raw = await _raw_body(request, svc.settings.max_payload_bytes)
        report = await anyio.to_thread.run_sync(
            lambda: admin.seed_users(
                svc.engine,
                company,
                raw,
                request.headers.get("content-type", ""),
                strict=dialect == "concur",
                clock=svc.clock,
            )
        )
        return JSONResponse(report.as_json())

    @router.post("/faults")
    def add_fault(body: BodyDep, conn: WriteConn, svc: ServicesDep, book: BookDep) -> Response:
        rule = faults.add_rule(conn, body, svc.clock())
        book.invalidate()
        return JSONResponse(faults.rule_json(rule), status_code=201)

    @router.get("/faults")
    def list_faults(conn: ReadConn) -> Response:
        rules = [faults.rule_json(r) for r in faults.list_rules(conn)]
        return JSONResponse({"totalResults": len(rules), "Resources": rules})

    @router.delete("/faults/{rule_id}")
    def delete_fault(rule_id: str, conn: WriteConn, book: BookDep) -> Response:
        faults.remove_rule(conn, rule_id)
        book.invalidate()
        return Response(status_code=204)

    @router.delete("/faults")
    def clear_faults(conn: WriteConn, book: BookDep) -> Response:
        deleted = faults.clear_rules(conn)
        book.invalidate()
        return JSONResponse({"deleted": deleted})

    @router.post("/worker/pause")
    def pause(conn: WriteConn, svc: ServicesDep) -> Response:
        faults.set_worker_paused(conn, True, svc.clock())
        return JSONResponse({"paused": True})

    @router.post("/worker/resume")
    def resume(conn: WriteConn, svc: ServicesDep) -> Response:
        faults.set_worker_paused(conn, False, svc.clock())
        # Woken once the response (and so the commit) is out, not before it.
        return JSONResponse({"paused": False}, background=BackgroundTask(svc.wake_worker))

    @router.put("/webhooks/{company_id}")
    def put_webhook(company_id: str, body: BodyDep, conn: WriteConn, svc: ServicesDep) -> Response:
        return JSONResponse(webhooks.configure(conn, company_id, body, svc.clock()))

    @router.get("/webhooks/{company_id}")
    def get_webhook(company_id: str, conn: ReadConn) -> Response:
        return JSONResponse(webhooks.show(conn, company_id))

    @router.delete("/webhooks/{company_id}")
    def delete_webhook(company_id: str, conn: WriteConn) -> Response:
        webhooks.remove(conn, company_id)
        return Response(status_code=204)

    return router
