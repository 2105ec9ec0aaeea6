"""Concur's legacy User API v1.0 (reference/concur-user-v1.md), for PingFederate's connector.

- ``POST /api/user/v1.0/users`` (also ``/Users``): XML batch upsert of 1..500 records (§3.1).
- ``GET /api/user/v1.0/user`` (also ``/User``): one user by ``?loginID=``, or the token's own
  user (``CONCUR_SCIM_USER_V1_TOKEN_LOGIN_ID``); XML, or JSON for ``Accept: application/json``.
- ``GET /api/user/v1.0/FormFields``: the employee form of ``CONCUR_SCIM_USER_V1_FORM`` (§3.4).
- ``POST /api/user/v1.0/Users/password``: the password batch (§3.5).
- ``GET /api/v3.0/common/users``: the v3.0 list the v1 page points to (§2.1 #5, §3.6): JSON
  ``{Items, NextPage}``, ``offset``/``limit`` (25, max 100), ``eq`` on the search parameters.

The read scopes apply as on Identity v4 (reference/concur-v4.md §7 "Scopes"): a field read from
an attribute the token may not read is left out of the answer (an element or key omitted, not
emptied: an empty value means "no value" to these clients, which would then clear their copy),
and ``employeeID`` / ``primaryEmail`` searches need the scope of what they compare (403).

Paths are lower-cased by ``api/middleware.py`` (IIS matched them case-insensitively, §2.1).
Authentication takes ``OAuth <token>`` or ``Bearer <token>`` and maps it through the app's
``TokenVerifier`` (the company tokens of every other dialect); no header is 401, a bad one
403 (§2.4). Errors are the legacy ``<Error>`` body (§2.4), rendered by this router's own
route class for handler and dependency failures alike.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, unquote, unquote_plus, urlencode

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from concur_scim.api.deps import Principal, ReadConn, ServicesDep, UnitOfWorkRoute, WriteConn
from concur_scim.api.scopes import check_user_query, missing_read_scope, require
from concur_scim.scim.datetimes import format_datetime
from concur_scim.scim.errors import (
    Forbidden,
    InternalError,
    InvalidSyntax,
    NotFound,
    ScimError,
    TooManyRequests,
    Unauthorized,
)
from concur_scim.scim.user_v1 import xml_in, xml_out
from concur_scim.scim.user_v1.fields import get_field_names
from concur_scim.scim.user_v1.forms import employee_form, required_fields
from concur_scim.services import user_v1 as service

PREFIX = "/api/user/v1.0"
V3_DEFAULT_LIMIT = 25  # Users v3.0 (§3.6): default 25, max 100
V3_MAX_LIMIT = 100
XML = "application/xml; charset=utf-8"
_SCHEMES = frozenset({"oauth", "bearer"})
# Linear: the value may not contain '<', so nothing backtracks over unclosed tags.
_PASSWORD = re.compile(rb"(<(?:\w+:)?Password\b[^<>]*>)[^<]*(</(?:\w+:)?Password\s*>)", re.I)

log = logging.getLogger("concur_scim.api.user_v1")

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
T = TypeVar("T")


def _wants_json(request: Request) -> bool:
    return request.method == "GET" and "application/json" in request.headers.get("accept", "")


def legacy_error(request: Request, error: ScimError) -> Response:
    """The legacy error body (§2.4): XML, or JSON for a GET that asks for it (I)."""
    server_time = format_datetime(request.app.state.services.clock())[:19]
    error_id = uuid.uuid4().hex.upper()
    headers = {"WWW-Authenticate": 'OAuth realm="concur-scim"'} if error.status == 401 else {}
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    if _wants_json(request):
        body = {"Error": {"Message": error.detail, "Server-Time": server_time, "Id": error_id}}
        return Response(
            json.dumps(body), error.status, headers=headers, media_type="application/json"
        )
    content = xml_out.error_body(error.detail, server_time, error_id)
    return Response(content, error.status, headers=headers, media_type=XML)


class LegacyRoute(UnitOfWorkRoute):
    """An APIRoute whose failures, dependencies included, answer the legacy error body."""

    def get_route_handler(self) -> Handler:
        """The default handler wrapped so that every ScimError becomes ``<Error>``."""
        handler = super().get_route_handler()

        async def shaped(request: Request) -> Response:
            try:
                return await handler(request)
            except ScimError as error:
                return legacy_error(request, error)
            except Exception:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                return legacy_error(request, InternalError("Unknown Error"))

        return shaped


def authenticate(request: Request, svc: ServicesDep) -> str:
    """The caller's company from ``Authorization: OAuth|Bearer <token>`` (§2.2, §2.4)."""
    header = request.headers.get("authorization")
    if header is None or not header.strip():
        raise Unauthorized("No authorization header.")
    scheme, _, token = header.strip().partition(" ")
    principal = svc.verifier.principal_for(token.strip()) if scheme.lower() in _SCHEMES else None
    if principal is None:
        raise Forbidden("Invalid or expired token.")
    request.state.principal = principal
    svc.rate_limiter.check(principal.company_id)  # TooManyRequests (429) when throttled
    return principal.company_id


V1Company = Annotated[str, Depends(authenticate)]
V1_READ = [require("user_v1", "read", auth=authenticate)]
V1_WRITE = [require("user_v1", "write", auth=authenticate)]


async def xml_body(request: Request, svc: ServicesDep) -> bytes:
    """The raw body, at most ``max_payload_bytes`` (a larger one is a 400, §2.4)."""
    limit = svc.settings.max_payload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:  # refused before reading
        raise InvalidSyntax(f"Request limit exceeded: the body exceeds {limit} bytes.")
    raw = bytearray()
    async for chunk in request.stream():  # chunked bodies are accepted (§2.3, I)
        raw.extend(chunk)
        if len(raw) > limit:
            raise InvalidSyntax(f"Request limit exceeded: the body exceeds {limit} bytes.")
    if log.isEnabledFor(logging.DEBUG):  # redaction costs a pass over the body: only when logged
        masked = _PASSWORD.sub(rb"\1***\2", bytes(raw))
        log.debug("user v1.0 %s body: %r", request.url.path, masked)
    return bytes(raw)


XmlBody = Annotated[bytes, Depends(xml_body)]


def _parse(parse: Callable[[], T]) -> T:
    try:
        return parse()
    except xml_in.RequestRejected as rejected:
        raise InvalidSyntax(rejected.message) from None


def _login_ids(request: Request) -> list[str] | None:
    """The ``loginID`` values to try (§4.8): form-decoded, then with a literal ``+``.

    The query key matches case-insensitively; clients also put raw emails in the query, where
    form decoding would turn ``a+b@x.com`` into ``a b@x.com``.
    """
    for part in request.url.query.split("&"):
        key, sep, raw = part.partition("=")
        if sep and unquote(key).lower() == "loginid":
            decoded, literal = unquote_plus(raw), unquote(raw)
            return [decoded] if decoded == literal else [decoded, literal]
    return None


def user_v1_router() -> APIRouter:
    """The User v1.0 routes with the legacy error shape."""
    router = APIRouter(route_class=LegacyRoute)

    @router.post(f"{PREFIX}/users", dependencies=V1_WRITE)
    def post_users(company: V1Company, raw: XmlBody, svc: ServicesDep, conn: WriteConn) -> Response:
        settings = svc.settings
        records = _parse(
            lambda: xml_in.parse_batch(
                raw,
                max_records=settings.user_v1_max_batch,
                require_namespace=settings.user_v1_require_namespace,
            )
        )
        policy = service.BatchPolicy(
            key_mode=settings.user_v1_key_mode,
            required=required_fields(employee_form(settings.user_v1_form)),
            reject_unknown=settings.user_v1_unknown_elements == "reject",
        )
        outcomes = service.process_batch(conn, company, records, clock=svc.clock, policy=policy)
        content = xml_out.batch_result(outcomes, settings.user_v1_details_element)
        return Response(content, 200, media_type=XML)  # 200 even if every record failed

    @router.get(f"{PREFIX}/user", dependencies=V1_READ)
    def get_user(
        request: Request, company: V1Company, svc: ServicesDep, conn: ReadConn
    ) -> Response:
        logins = _login_ids(request)
        if logins is None:
            own = svc.settings.user_v1_token_login_id
            if not own:
                raise NotFound("The token is not bound to a user; send loginID.")
            logins = [own]
        profile = service.get_profile(conn, company, logins)
        profile["CrnCode"] = profile["CrnKey"]
        names = get_field_names(svc.settings.user_v1_currency_element)
        fields = {name: profile[name] for name in names}
        fields = _readable(request.state.principal, fields, service.GET_SOURCES)
        if _wants_json(request):
            return Response(json.dumps(fields), 200, media_type="application/json")
        return Response(xml_out.user_profile(fields), 200, media_type=XML)

    @router.get(
        f"{PREFIX}/formfields", dependencies=[require("user_v1", "config", auth=authenticate)]
    )
    def form_fields(company: V1Company, svc: ServicesDep) -> Response:
        del company  # authentication only: the form comes from configuration
        content = xml_out.form_fields(employee_form(svc.settings.user_v1_form))
        return Response(content, 200, media_type=XML)

    @router.post(f"{PREFIX}/users/password", dependencies=V1_WRITE)
    def post_passwords(
        company: V1Company, raw: XmlBody, svc: ServicesDep, conn: ReadConn
    ) -> Response:
        limit = svc.settings.user_v1_max_batch
        strict_ns = svc.settings.user_v1_require_namespace
        pairs = _parse(
            lambda: xml_in.parse_password_batch(raw, max_records=limit, require_namespace=strict_ns)
        )
        outcomes = service.set_passwords(conn, company, pairs)
        return Response(xml_out.password_result(outcomes), 200, media_type=XML)

    @router.get("/api/v3.0/common/users", dependencies=V1_READ)
    def list_v3_users(request: Request, company: V1Company, conn: ReadConn) -> Response:
        params = {k.lower(): v for k, v in request.query_params.items()}
        offset = _integer(params.get("offset"), 0, 0, None, "offset")
        limit = _integer(params.get("limit"), V3_DEFAULT_LIMIT, 1, V3_MAX_LIMIT, "limit")
        active = {"true": True, "false": False}.get(params.get("active", "").lower())
        criteria = {k: params.get(k, "") for k in service.V3_FILTERS}
        expr = service.v3_filter(criteria, active)
        principal: Principal = request.state.principal
        check_user_query(principal, expr)  # employeeID, primaryEmail: their read scope (§7)
        page = service.list_v3_users(conn, company, expr, offset, limit)
        base = str(request.base_url).rstrip("/") + "/api/v3.0/common/users"
        items = [
            _readable(
                principal,
                {
                    **service.v3_item(u),
                    "URI": f"{base}?user={quote(str(u.doc.get('userName', '')))}",
                },
                service.V3_SOURCES,
            )
            for u in page.users
        ]
        next_page = None
        if page.more:
            query = {**dict(request.query_params), "offset": str(offset + limit)}
            next_page = f"{base}?{urlencode(query)}"
        body = {"Items": items, "NextPage": next_page}
        return Response(json.dumps(body), 200, media_type="application/json")

    return router


def _readable(
    principal: Principal, fields: dict[str, T], sources: dict[str, service.Sources]
) -> dict[str, T]:
    """``fields`` without those read from an attribute ``principal`` may not read
    (reference/concur-v4.md §7 "Scopes"); ``sources`` names what each field is read from."""
    return {
        name: value
        for name, value in fields.items()
        if not any(missing_read_scope(principal, *source) for source in sources[name])
    }


def _integer(raw: str | None, default: int, low: int, high: int | None, name: str) -> int:
    """A v3.0 paging parameter; outside its range is a 400 (§3.6: limit max 100)."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidSyntax(f"Invalid value for {name}.") from None
    if value < low or (high is not None and value > high):
        raise InvalidSyntax(f"Invalid value for {name}.")
    return min(value, 2**62)
