"""SCIM responses, and the one place where errors become SCIM Error bodies (RFC 7644 §3.12).

Every response is ``application/scim+json``. :func:`install_error_handlers` maps the
:class:`~concur_scim.scim.errors.ScimError` tree, FastAPI's request validation errors,
routing 404/405s and any unexpected exception to a SCIM Error; an unexpected exception is
logged with its traceback and answered 500 with no internal text.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from concur_scim import json_codec
from concur_scim.api.deps import Principal
from concur_scim.api.dialects import dialect_for_path
from concur_scim.api.scopes import readable_error, readable_path
from concur_scim.scim.errors import (
    BadRequest,
    InternalError,
    MethodNotAllowed,
    NotFound,
    ScimError,
    TooManyRequests,
    Unauthorized,
    concur_messages,
)
from concur_scim.scim.lint import LINT_URN, lint_object

SCIM_MEDIA_TYPE = "application/scim+json"
LIST_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

log = logging.getLogger("concur_scim.api")


class ScimResponse(Response):
    """A JSON response with the SCIM media type (RFC 7644 §3.1, §8.1)."""

    media_type = SCIM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        """Compact UTF-8 JSON (json_codec.py)."""
        return json_codec.dumps(content)


CONCUR_ERROR_URN = "urn:ietf:params:scim:api:messages:concur:2.0:Error"


def concur_error_body(error: ScimError) -> dict[str, Any]:
    """RFC 7644 §3.12 body plus Concur's error extension (reference §4.5)."""
    body = error.to_body()
    body["schemas"] = [*body["schemas"], CONCUR_ERROR_URN]
    body[CONCUR_ERROR_URN] = {"messages": concur_messages(error)}
    return body


def error_response(
    error: ScimError, *, concur: bool = False, extra: dict[str, Any] | None = None
) -> ScimResponse:
    """The SCIM Error response for ``error``, with the headers its status calls for.

    ``concur`` adds Concur's error extension, for the Concur dialects; ``extra`` adds
    members (the lint report of a refused write, scim/lint.py).
    """
    headers: dict[str, str] = {}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="concur-scim"'
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    elif error.status == 429:
        headers["Retry-After"] = "1"
    elif error.status == 503:
        headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    body = concur_error_body(error) if concur else error.to_body()
    body.update(extra or {})
    return ScimResponse(body, status_code=error.status, headers=headers)


def list_response(
    resources: list[dict[str, Any]],
    *,
    total: int | None,
    start_index: int | None,
    next_cursor: str | None = None,
) -> dict[str, Any]:
    """A ListResponse (RFC 7644 §3.4.2; cursor fields from RFC 9865 §3)."""
    body: dict[str, Any] = {"schemas": [LIST_RESPONSE_URN]}
    if total is not None:
        body["totalResults"] = total
    body["itemsPerPage"] = len(resources)
    if start_index is not None:
        body["startIndex"] = start_index
    if next_cursor is not None:
        body["nextCursor"] = next_cursor
    body["Resources"] = resources
    return body


def readable(principal: Principal | None, schema_path: str) -> bool:
    """Whether ``principal`` (None: not authenticated yet) may read ``schema_path``."""
    return principal is None or readable_path(principal, schema_path)


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure through :func:`error_response`."""

    def respond(request: Request, error: ScimError) -> Response:
        dialect = dialect_for_path(request.url.path)
        # Never quote a stored value the token may not read (§7), in an error as in a read.
        principal = getattr(request.state, "principal", None)
        error = readable_error(error, principal)
        # A refused write that asked for the lint report still gets it (nothing stored).
        lint = getattr(request.state, "lint", None)
        extra = None
        if lint is not None:
            findings = [f for f in lint(stored=None) if readable(principal, f.schema_path)]
            extra = {LINT_URN: lint_object(findings)}
        return error_response(
            error, concur=dialect is not None and dialect.concur_errors, extra=extra
        )

    async def scim_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ScimError)
        return respond(request, exc)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return respond(request, BadRequest(f"invalid request parameter {where}".strip()))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return respond(request, NotFound("no such endpoint"))
        if exc.status_code == 405:
            return respond(request, MethodNotAllowed("method not allowed on this endpoint"))
        error = ScimError(str(exc.detail))
        error.status = exc.status_code  # type: ignore[misc]
        return respond(request, error)

    app.add_exception_handler(ScimError, scim_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def dialect_error(path: str, error: ScimError) -> ScimResponse:
    """``error`` rendered for the dialect that serves ``path`` (used outside the router)."""
    dialect = dialect_for_path(path)
    return error_response(error, concur=dialect is not None and dialect.concur_errors)


def internal_error(path: str) -> ScimResponse:
    """The 500 for an unexpected exception: a SCIM Error with no internal text."""
    return dialect_error(path, InternalError("internal server error"))


UNAVAILABLE_RETRY_AFTER_SECONDS = 5


class ServiceUnavailable(ScimError):
    """The database cannot be reached now; the client should retry (RFC 9110 §15.6.4)."""

    status = 503


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is out of reach for now (down, restarting, its
    connection cut, every pooled connection busy), not that the request or the code is wrong.
    """
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def unavailable_error(path: str) -> ScimResponse:
    """The 503 for a database outage: a SCIM Error with ``Retry-After``, no internal text."""
    return dialect_error(path, ServiceUnavailable("the database is unavailable; retry later"))
