"""Concur's read views of the downstream extensions: spend (§6.17) and travel (§6.14).

- ``GET /profile/spend/v4.1/Users`` (``startIndex``, ``count`` 1..100, ``filter``) and
  ``GET /profile/spend/v4.1/Users/{id}``: every spend/payroll extension of a user, ``{}`` when
  unset, ``meta.created`` and ``meta.version`` null, ``meta.location`` on the v4 path.
- ``GET /profile/spend/v4/Users/roleCodes``: the role codes of Appendix A1. Concur shows no
  response body; a ListResponse of ``scim/schemas/spend.role_codes()`` items is our choice.
- ``GET /profile/travel/v4/Users/{id}``: ``{id, "urn:…:travel:2.0:User": {…}}``.

Their errors are not the app's SCIM errors (§4.5): the spend API answers the SCIM shape with
an *integer* ``status``; the travel API answers ``{errorCode, errorMessage}``. Both are local
to these routes, so each router gets a route class that converts the same exception tree
(raised by the handler or by a dependency such as authentication) into its own shape: the
one-boundary rule holds per API, and nothing else in the app needs to know these shapes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from concur_scim.api.deps import CompanyDep, ReadConn, UnitOfWorkRoute
from concur_scim.api.responses import ScimResponse, list_response
from concur_scim.api.scopes import require
from concur_scim.scim.datetimes import format_datetime
from concur_scim.scim.errors import InternalError, InvalidValue, ScimError, Unauthorized
from concur_scim.scim.filter import parse_filter
from concur_scim.services import extensions as service
from concur_scim.services.extensions import ExtensionView

SCIM_RESOURCE = "urn:ietf:params:scim:schemas:ScimResource"
SPEND_PREFIX = "/profile/spend/v4.1"
SPEND_V4_PREFIX = "/profile/spend/v4"
TRAVEL_PREFIX = "/profile/travel/v4"
MAX_COUNT = 100

log = logging.getLogger("concur_scim.api")

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _headers(error: ScimError) -> dict[str, str]:
    if isinstance(error, Unauthorized):
        return {"WWW-Authenticate": 'Bearer realm="concur-scim"'}
    return {}


def spend_error_response(error: ScimError) -> Response:
    """The spend API's error: the SCIM Error body with an integer ``status`` (§4.5)."""
    body = error.to_body()
    body["status"] = error.status
    return ScimResponse(body, status_code=error.status, headers=_headers(error))


def travel_error_response(error: ScimError) -> Response:
    """The travel API's error: ``{errorCode, errorMessage}`` (§4.5, §6.14).

    Concur publishes no list of codes; the HTTP reason in upper snake case (``NOT_FOUND``,
    ``UNAUTHORIZED``, ``BAD_REQUEST``) is this server's choice.
    """
    body = {"errorCode": HTTPStatus(error.status).name, "errorMessage": error.detail}
    return ScimResponse(body, status_code=error.status, headers=_headers(error))


def _route_class(render: Callable[[ScimError], Response]) -> type[UnitOfWorkRoute]:
    """An APIRoute whose failures, dependencies included, are answered by ``render``."""

    class ErrorShapeRoute(UnitOfWorkRoute):
        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()

            async def shaped(request: Request) -> Response:
                try:
                    return await handler(request)
                except ScimError as error:
                    return render(error)
                except Exception:
                    log.exception("unhandled error on %s %s", request.method, request.url.path)
                    return render(InternalError("internal server error"))

            return shaped

    return ErrorShapeRoute


def _params(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.query_params.items()}


def _integer(params: dict[str, str], name: str, default: int, high: int | None = None) -> int:
    """A positive integer parameter; out of Concur's documented range is 400, not clamped."""
    raw = params.get(name.lower())
    if raw is None:
        return default
    try:
        value = min(int(raw), 2**62)  # beyond BIGINT the database fails; it is past the end
    except ValueError:
        raise InvalidValue(f"'{name}' must be an integer") from None
    if value < 1 or (high is not None and value > high):
        bound = f"between 1 and {high}" if high is not None else "at least 1"
        raise InvalidValue(f"'{name}' must be {bound}")
    return value


def _wants_all_limits(params: dict[str, str]) -> bool:
    """``attributes`` naming the ApproverLimit URN returns every config, not only Global."""
    names = (a.strip().lower() for a in params.get("attributes", "").split(","))
    return service.SPEND_APPROVER_LIMIT.lower() in names


def spend_resource(view: ExtensionView, root: str) -> dict[str, Any]:
    """A user as the spend API shows it (§6.17): its spend documents under a SCIM resource."""
    body: dict[str, Any] = {"schemas": [SCIM_RESOURCE, *view.docs], "id": view.user_id}
    body["meta"] = {
        "resourceType": "User",
        "created": None,
        "lastModified": format_datetime(view.last_modified),
        "location": f"{root}{SPEND_V4_PREFIX}/Users/{view.user_id}",
        "version": None,
    }
    body.update(view.docs)
    return body


def views_router() -> APIRouter:
    """The spend and travel read routes, each API with its own error shape."""
    spend = APIRouter(
        route_class=_route_class(spend_error_response), dependencies=[require("spend", "read")]
    )
    travel = APIRouter(
        route_class=_route_class(travel_error_response), dependencies=[require("travel", "read")]
    )

    @spend.get(f"{SPEND_PREFIX}/Users")
    def list_spend_users(request: Request, company: CompanyDep, conn: ReadConn) -> Response:
        params = _params(request)
        start = _integer(params, "startIndex", 1)
        count = _integer(params, "count", MAX_COUNT, MAX_COUNT)
        text = params.get("filter")
        expr = parse_filter(text) if text and text.strip() else None
        page = service.list_spend_users(
            conn,
            company,
            filter_expr=expr,
            start_index=start,
            count=count,
            all_approver_limits=_wants_all_limits(params),
        )
        root = str(request.base_url).rstrip("/")
        items = [spend_resource(view, root) for view in page.views]
        return ScimResponse(list_response(items, total=page.total, start_index=start))

    @spend.get(f"{SPEND_V4_PREFIX}/Users/roleCodes")
    def role_codes(company: CompanyDep) -> Response:
        del company  # authentication only: the catalogue is the same for every company
        codes = service.spend_role_codes()
        return ScimResponse(list_response(codes, total=len(codes), start_index=1))

    @spend.get(f"{SPEND_PREFIX}/Users/{{user_id}}")
    def read_spend_user(
        user_id: str, request: Request, company: CompanyDep, conn: ReadConn
    ) -> Response:
        view = service.get_spend_user(
            conn, company, user_id, all_approver_limits=_wants_all_limits(_params(request))
        )
        return ScimResponse(spend_resource(view, str(request.base_url).rstrip("/")))

    @travel.get(f"{TRAVEL_PREFIX}/Users/{{user_id}}")
    def read_travel_user(user_id: str, company: CompanyDep, conn: ReadConn) -> Response:
        view = service.get_user_extensions(conn, company, user_id, [service.TRAVEL_USER])
        doc = view.docs.get(service.TRAVEL_USER, {})
        return ScimResponse({"id": view.user_id, service.TRAVEL_USER: doc})

    router = APIRouter()
    router.include_router(spend)
    router.include_router(travel)
    return router
