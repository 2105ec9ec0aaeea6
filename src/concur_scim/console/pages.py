"""The web console's routes under ``/console`` (README "Console", docs/security.md "Console").

Server-rendered pages (Jinja2, autoescaped: every value shown, request bodies included, is
text, never markup) with one small script for the live grid and the JSON views; every
asset is served from the package, none from a CDN. Mounted with the admin API and behind
the admin token (console/session.py). Pages read through ``console/queries.py`` and write
through the same services as ``/_admin``: a reset here is ``POST /_admin/reset``'s, a fault
switch is a fault rule.

A page answers HTML, a client mistake (a bad filter, an unknown user) included: the page
says what was wrong, with the status the API would use, and nothing is changed. Routes
raise the service's ScimError and :class:`ConsoleRoute` renders it; only the pages that
show the error beside their own form (users, journal, faults, reset) catch it themselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine, Mapping
from importlib import resources
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Connection
from starlette.background import BackgroundTask
from starlette.responses import HTMLResponse, RedirectResponse, Response

from concur_scim.api.admin import flushed_journal
from concur_scim.api.deps import ReadConn, ServicesDep, UnitOfWorkRoute, WriteConn
from concur_scim.console import queries, session
from concur_scim.console.presets import BY_NAME, PRESETS
from concur_scim.scim.errors import Forbidden, InvalidValue, NotFound, PayloadTooLarge, ScimError
from concur_scim.scim.text import storable_text
from concur_scim.services import admin, faults
from concur_scim.services.faults import FaultBook
from concur_scim.store.admin import company_exists

PREFIX = session.PATH
FORM_LIMIT = 64 * 1024
ASSETS = {"console.css": "text/css", "console.js": "text/javascript"}
# What the console's pages may load and do: their own assets only, no inline script, no
# framing, forms posting back to the console (docs/security.md "Console").
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the
    # console's own forms, and the origin check (console/session.py) could not pass them.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
NOTICES = {
    "signed-out": "Signed out.",
    "fault-added": "Fault rule added.",
    "fault-removed": "Fault rule removed.",
    "faults-cleared": "Every fault rule removed.",
    "switch-on": "Switch turned on.",
    "switch-off": "Switch turned off.",
    "worker-paused": "Worker paused: provisioning requests wait until it resumes.",
    "worker-resumed": "Worker resumed.",
}

_templates = Environment(
    loader=PackageLoader("concur_scim.console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters["pretty"] = lambda value: json.dumps(
    value, indent=2, ensure_ascii=False, default=str
)
_templates.filters["label"] = queries.column_label


class SignInRequired(Exception):
    """Raised by :func:`require_visitor` when the caller has no session: answered with a
    redirect to the sign-in form, which comes back to ``target`` afterwards."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


def _admin_token(request: Request) -> str:
    token: str = request.app.state.admin_token
    return token


async def require_visitor(request: Request) -> session.Visitor:
    """The signed-in caller (:func:`session.visitor`); raises :class:`SignInRequired`."""
    found = session.visitor(request, _admin_token(request))
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return found


VisitorDep = Annotated[session.Visitor, Depends(require_visitor)]
# The sign-in check first: a caller without a session must not make the server wait for
# the journal writer before it is sent to the sign-in form.
SIGNED_IN_THEN_FLUSHED = [Depends(require_visitor), Depends(flushed_journal)]


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (last value wins); at most
    :data:`FORM_LIMIT` bytes (PayloadTooLarge, 413)."""
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > FORM_LIMIT:
            raise PayloadTooLarge(f"the form exceeds {FORM_LIMIT} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidValue("the form is not UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=100))


FormDep = Annotated[dict[str, str], Depends(read_form)]


class CsrfRefused(Exception):
    """A state-changing form without this session's CSRF token, or from another origin."""


async def checked_form(request: Request, form: FormDep, visitor: VisitorDep) -> dict[str, str]:
    """The form of a state-changing request, once its origin and CSRF token are checked."""
    if not session.same_origin(request) or not visitor.csrf_ok(form.get("csrf")):
        raise CsrfRefused
    return form


CheckedForm = Annotated[dict[str, str], Depends(checked_form)]


def _book(request: Request) -> FaultBook:
    book: FaultBook = request.app.state.fault_book
    return book


BookDep = Annotated[FaultBook, Depends(_book)]


def page(
    request: Request,
    template: str,
    visitor: session.Visitor | None,
    *,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    """``template`` rendered with ``values``, the navigation's context and the notice named
    by ``?notice=`` (fixed texts only: a link cannot make the console say anything)."""
    notice = NOTICES.get(request.query_params.get("notice", ""))
    html = _templates.get_template(template).render(
        prefix=PREFIX,
        visitor=visitor,
        csrf=visitor.csrf if visitor is not None else "",
        default_company=request.app.state.default_company_id,
        notice=notice,
        active=template.split(".", 1)[0],
        **values,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def error_page(request: Request, visitor: session.Visitor | None, error: ScimError) -> HTMLResponse:
    """A client mistake as a page: the API's status, ``scimType`` and detail."""
    return page(
        request,
        "error.html",
        visitor,
        status=error.status,
        error=error,
        scim_type=error.scim_type,
    )


def back(path: str, notice: str | None = None, **params: str | None) -> RedirectResponse:
    """A 303 to a console page after a form (so a reload never posts it again)."""
    query = {k: v for k, v in params.items() if v}
    if notice:
        query["notice"] = notice
    suffix = f"?{urlencode(query)}" if query else ""
    return RedirectResponse(PREFIX + path + suffix, status_code=303)


# A position or row number as the console's own links write it: ASCII digits (``str.isdigit``
# also admits "²", which ``int`` refuses), at most 18 of them (within SQL's BIGINT).
_NUMBER = re.compile(r"[0-9]{1,18}")


def _start(params: Mapping[str, str], name: str = "startIndex") -> int:
    raw = params.get(name, "1")
    if not _NUMBER.fullmatch(raw) or not 1 <= int(raw) <= 2**31 - 1:
        raise InvalidValue(f"'{name}' must be a positive integer")
    return int(raw)


class ConsoleRoute(UnitOfWorkRoute):
    """A console route: whatever stops it, in a dependency too, is answered as a page (a
    client mistake as :func:`error_page`, a caller without a session as the redirect to
    sign in, a refused form as a 403 page), never as a SCIM JSON error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def paged(request: Request) -> Response:
            try:
                if not storable_text(request.url.path):
                    # NUL or a lone surrogate: no company, user or request has such an id,
                    # and the databases refuse to even compare it.
                    raise NotFound("no such console page")
                return await handler(request)
            except SignInRequired as needed:
                target = f"{PREFIX}/login?next={quote(needed.target, safe='')}"
                return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
            except CsrfRefused:
                refused = Forbidden(
                    "the form is out of date or came from another site; reload the page"
                )
                return error_page(request, None, refused)
            except ScimError as error:
                known = session.visitor(request, _admin_token(request))
                return error_page(request, known, error)

        return paged


def console_router() -> APIRouter:
    """Every ``/console`` route (sign-in, pages, forms and the static assets)."""
    router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
    _sign_in_routes(router)
    _directory_routes(router)
    _provision_routes(router)
    _journal_routes(router)
    _fault_routes(router)
    _reset_routes(router)

    @router.api_route("/{rest:path}", methods=["GET", "POST"])
    def elsewhere(rest: str) -> Response:
        # Last: a console path no route serves is a 404 page too, not the API's JSON.
        raise NotFound(f"no console page /console/{rest}")

    return router


def _sign_in_routes(router: APIRouter) -> None:
    @router.get("/static/{name}")
    def asset(name: str) -> Response:
        if name not in ASSETS:
            raise NotFound(f"no console asset {name}")
        data = resources.files("concur_scim.console").joinpath("static", name).read_bytes()
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "max-age=300"}
        return Response(data, media_type=ASSETS[name], headers=headers)

    @router.get("/login")
    def login_form(request: Request) -> Response:
        return page(
            request, "login.html", None, next=session.safe_next(request.query_params.get("next"))
        )

    @router.post("/login")
    def login(request: Request, form: FormDep) -> Response:
        token = _admin_token(request)
        target = session.safe_next(form.get("next"))
        given = form.get("token", "")
        if not session.same_origin(request):
            raise CsrfRefused
        if not session.token_matches(given, token):
            return page(request, "login.html", None, status=401, next=target, failed=True)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            session.COOKIE,
            session.new_session(token),
            max_age=session.SESSION_SECONDS,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post("/logout")
    def logout(form: CheckedForm) -> Response:
        del form
        response = back("/login", "signed-out")
        response.delete_cookie(session.COOKIE, path=PREFIX)
        return response


def _directory_routes(router: APIRouter) -> None:
    @router.get("")
    def home(request: Request, visitor: VisitorDep, conn: ReadConn) -> Response:
        return page(request, "companies.html", visitor, companies=queries.companies(conn))

    @router.get("/companies/{company_id}/Users")
    def users(company_id: str, request: Request, visitor: VisitorDep, conn: ReadConn) -> Response:
        params = request.query_params
        filter_text = params.get("filter", "")
        values: dict[str, Any] = {"company_id": company_id, "filter": filter_text}
        try:
            if not company_exists(conn, company_id):
                raise NotFound(f"no company {company_id}")
            after = params.get("after")
            if after is not None and not _NUMBER.fullmatch(after):
                raise InvalidValue("'after' must be a position from a next-page link")
            found = queries.user_page(
                conn, company_id, filter_text, int(after) if after is not None else None
            )
        except ScimError as error:
            return page(request, "users.html", visitor, status=error.status, error=error, **values)
        return page(request, "users.html", visitor, page=found, **values)

    @router.get("/companies/{company_id}/Users/{user_id}")
    def user(
        company_id: str, user_id: str, request: Request, visitor: VisitorDep, conn: ReadConn
    ) -> Response:
        root = str(request.base_url).rstrip("/")
        views = queries.user_views(conn, company_id, user_id, root)
        return page(request, "user.html", visitor, company_id=company_id, views=views)


def _provision_routes(router: APIRouter) -> None:
    @router.get("/provisions")
    def provisions(request: Request, visitor: VisitorDep, conn: ReadConn) -> Response:
        params = {k: v for k, v in request.query_params.items() if v}
        params["count"] = "50"
        listing = admin.provisions(conn, params)
        return page(
            request,
            "provisions.html",
            visitor,
            listing=listing,
            company=params.get("company", ""),
            state=params.get("state", ""),
            pager=_pager(request, listing),
        )

    def grid_of(request: Request, conn: Connection, provision_id: str) -> queries.Grid:
        params = request.query_params
        state = params.get("state") or None
        if state is not None and state not in ("pending", "success", "failed"):
            raise InvalidValue("'state' must be pending, success or failed")
        return queries.provision_grid(conn, provision_id, _start(params, "start"), state)

    @router.get("/provisions/{provision_id}")
    def provision(
        provision_id: str, request: Request, visitor: VisitorDep, conn: ReadConn
    ) -> Response:
        grid = grid_of(request, conn, provision_id)
        state = request.query_params.get("state", "")
        return page(request, "provision.html", visitor, grid=grid, state=state)

    @router.get("/provisions/{provision_id}/grid")
    def grid_fragment(
        provision_id: str, request: Request, visitor: VisitorDep, conn: ReadConn
    ) -> Response:
        grid = grid_of(request, conn, provision_id)
        state = request.query_params.get("state", "")
        response = page(request, "grid.html", visitor, grid=grid, state=state)
        response.headers["X-Provision-State"] = grid.state
        return response


def _pager(request: Request, listing: dict[str, Any]) -> dict[str, str | None]:
    """Links to the previous and next pages of an index-paged listing."""
    start, shown = int(listing["startIndex"]), int(listing["itemsPerPage"])
    total, size = int(listing["totalResults"]), 50
    base = {k: v for k, v in request.query_params.items() if k not in ("startIndex", "notice")}

    def link(index: int) -> str:
        return request.url.path + "?" + urlencode({**base, "startIndex": str(index)})

    return {
        "previous": link(max(1, start - size)) if start > 1 else None,
        "next": link(start + shown) if start - 1 + shown < total else None,
        "range": f"{start} to {start - 1 + shown} of {total}" if shown else f"0 of {total}",
    }


def _journal_routes(router: APIRouter) -> None:
    @router.get("/journal", dependencies=SIGNED_IN_THEN_FLUSHED)
    def journal(request: Request, visitor: VisitorDep, conn: ReadConn) -> Response:
        params = {k: v for k, v in request.query_params.items() if v and k != "notice"}
        params["count"] = "50"
        try:
            listing = admin.journal(conn, params)
        except ScimError as error:
            return page(
                request, "journal.html", visitor, status=error.status, error=error, params=params
            )
        return page(
            request,
            "journal.html",
            visitor,
            listing=listing,
            params=params,
            pager=_pager(request, listing),
        )

    @router.get("/journal/{seq}", dependencies=SIGNED_IN_THEN_FLUSHED)
    def journal_entry(seq: str, request: Request, visitor: VisitorDep, conn: ReadConn) -> Response:
        if not _NUMBER.fullmatch(seq):
            raise NotFound(f"no journal entry {seq}")
        entry = admin.journal_entry(conn, int(seq))
        source, findings = queries.journal_lint(entry)
        return page(
            request, "entry.html", visitor, entry=entry, lint_source=source, findings=findings
        )


def _fault_routes(router: APIRouter) -> None:
    @router.get("/faults")
    def fault_page(request: Request, visitor: VisitorDep, conn: ReadConn) -> Response:
        return _faults_view(request, visitor, conn)

    @router.post("/faults")
    def add_fault(
        request: Request,
        visitor: VisitorDep,
        form: CheckedForm,
        conn: WriteConn,
        svc: ServicesDep,
        book: BookDep,
    ) -> Response:
        try:
            body = json.loads(form.get("rule") or "")
        except ValueError:
            error: ScimError = InvalidValue("the rule is not JSON")
            return _faults_view(request, visitor, conn, error=error, draft=form.get("rule"))
        try:
            faults.add_rule(conn, body, svc.clock())
        except ScimError as refused:
            return _faults_view(request, visitor, conn, error=refused, draft=form.get("rule"))
        book.invalidate()
        return back("/faults", "fault-added", company=form.get("company"))

    @router.post("/faults/switch")
    def switch(form: CheckedForm, conn: WriteConn, svc: ServicesDep, book: BookDep) -> Response:
        preset = BY_NAME.get(form.get("name", ""))
        company = form.get("company", "")
        if preset is None or not company_exists(conn, company):
            raise InvalidValue("no such switch or company")
        existing = [r for r in faults.list_rules(conn) if preset.is_rule(r, company)]
        if form.get("on") == "true":
            if not existing:
                faults.add_rule(conn, preset.rule_body(company), svc.clock())
        else:
            for rule in existing:
                faults.remove_rule(conn, rule.id)
        book.invalidate()
        notice = "switch-on" if form.get("on") == "true" else "switch-off"
        return back("/faults", notice, company=company)

    @router.post("/faults/{rule_id}/delete")
    def remove(rule_id: str, form: CheckedForm, conn: WriteConn, book: BookDep) -> Response:
        faults.remove_rule(conn, rule_id)
        book.invalidate()
        return back("/faults", "fault-removed", company=form.get("company"))

    @router.post("/faults/clear")
    def clear(form: CheckedForm, conn: WriteConn, book: BookDep) -> Response:
        faults.clear_rules(conn)
        book.invalidate()
        return back("/faults", "faults-cleared", company=form.get("company"))

    @router.post("/worker")
    def worker(form: CheckedForm, conn: WriteConn, svc: ServicesDep) -> Response:
        paused = form.get("paused") == "true"
        faults.set_worker_paused(conn, paused, svc.clock())
        notice = "worker-paused" if paused else "worker-resumed"
        response = back("/faults", notice, company=form.get("company"))
        if not paused:  # woken once the response (and so the commit) is out
            response.background = BackgroundTask(svc.wake_worker)
        return response


def _faults_view(
    request: Request,
    visitor: session.Visitor | None,
    conn: Connection,
    *,
    error: ScimError | None = None,
    draft: str | None = None,
) -> HTMLResponse:
    companies = queries.companies(conn)
    chosen = request.query_params.get("company") or request.app.state.default_company_id
    rules = faults.list_rules(conn)
    switches = [(p, any(p.is_rule(r, chosen) for r in rules)) for p in PRESETS]
    return page(
        request,
        "faults.html",
        visitor,
        status=error.status if error is not None else 200,
        error=error,
        draft=draft,
        companies=companies,
        company=chosen,
        switches=switches,
        rules=[faults.rule_json(r) for r in rules],
        paused=faults.worker_paused(conn),
    )


def _reset_routes(router: APIRouter) -> None:
    @router.get("/reset")
    def reset_form(request: Request, visitor: VisitorDep, conn: ReadConn) -> Response:
        return page(request, "reset.html", visitor, companies=queries.companies(conn))

    @router.post("/reset", dependencies=SIGNED_IN_THEN_FLUSHED)
    def reset(
        request: Request, visitor: VisitorDep, form: CheckedForm, conn: WriteConn
    ) -> Response:
        company = form.get("company") or None
        if form.get("confirm", "").strip() != "RESET":
            error = InvalidValue("type RESET in the confirmation box to reset")
            return page(
                request,
                "reset.html",
                visitor,
                status=400,
                error=error,
                companies=queries.companies(conn),
            )
        try:
            outcome = admin.reset(conn, {"company": company} if company else {})
        except ScimError as refused:
            return page(
                request,
                "reset.html",
                visitor,
                status=refused.status,
                error=refused,
                companies=queries.companies(conn),
            )
        return page(
            request,
            "reset.html",
            visitor,
            outcome=outcome,
            companies=queries.companies(conn),
        )


def install_console(app: FastAPI) -> None:
    """Mount the console (its routes answer their own redirects and refusals:
    :class:`ConsoleRoute`)."""
    app.include_router(console_router())
