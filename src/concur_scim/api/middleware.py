"""Pure ASGI middleware (no ``BaseHTTPMiddleware``: it costs a task and a copy per request).

- :class:`PathNormalizer`: Concur's docs and Postman collection write paths with and without
  a trailing slash, with lower-case collection segments (``/users``) and with a doubled slash
  (``/provisioning/v4//Users``), reference/concur-v4.md §2; so a trailing slash is dropped,
  a run of slashes is read as one and known collection segments are matched
  case-insensitively, for every dialect. Under ``/api/user/v1.0/`` and ``/api/v3.0/common/``
  (Concur's legacy APIs, reference/concur-user-v1.md §2.1) the whole path is lower-cased.
- :class:`CorrelationMiddleware`: every response carries ``concur-correlationid`` (the
  client's, echoed, or a new UUID; §2, §8) and ``X-Request-Id``.
"""

from __future__ import annotations

import logging
import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from concur_scim.api.metrics import count_database_error
from concur_scim.api.responses import (
    database_unavailable,
    dialect_error,
    internal_error,
    unavailable_error,
)
from concur_scim.scim.errors import NotFound
from concur_scim.scim.text import storable_text

log = logging.getLogger("concur_scim.api")

_SEGMENTS = {
    s.lower(): s
    for s in (
        "Users",
        "Groups",
        "Schemas",
        "ResourceTypes",
        "ServiceProviderConfig",
        "Bulk",
        "provisions",
        "status",
        "roleCodes",
        "FormFields",
        ".search",
    )
}


# User v1.0 (reference/concur-user-v1.md §2.1): IIS routed case-insensitively, and its
# paths hold no ids, so the whole path is matched in lower case.
_LOWER_PREFIXES = ("/api/user/v1.0/", "/api/v3.0/common/")
_SLASHES = re.compile("//+")
CONSOLE = "/console/"


def normalize_path(path: str) -> str:
    """``path`` without a trailing slash, with each run of slashes as one, and with
    canonical collection segment spelling."""
    if "//" in path:  # the one substring test is all a well-formed path pays
        path = _SLASHES.sub("/", path)
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    if path.lower().startswith(_LOWER_PREFIXES):
        return path.lower()
    parts = path.split("/")
    return "/".join(_SEGMENTS.get(p.lower(), p) for p in parts)


class PathNormalizer:
    """Rewrite the request path before routing (see :func:`normalize_path`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route on the normalized path; a path no resource can have is a 404 right away."""
        if scope["type"] == "http":
            if not storable_text(scope["path"]) and not scope["path"].startswith(CONSOLE):
                # NUL or a lone surrogate (``%00`` in an id): no resource has such an id, and
                # the databases refuse to even compare it. (The console answers its own
                # 404 page for such a path: console/pages.py ``ConsoleRoute``.)
                response = dialect_error(scope["path"], NotFound("no such resource"))
                await response(scope, receive, send)
                return
            path = normalize_path(scope["path"])
            if path != scope["path"]:
                scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


class ErrorBoundary:
    """Answer an unexpected exception with a SCIM 500 and keep the connection open.

    A database outage (see :func:`~concur_scim.api.responses.database_unavailable`) is
    answered 503 with ``Retry-After`` instead. A client that closes the connection before
    sending its whole body (Starlette's ``ClientDisconnect``) is no error of the server's:
    it is logged as one INFO line, without traceback, and nothing is answered (there is no
    one to answer; the audit trail records such a write as 499).

    Starlette's own catch-all handler re-raises after answering, which makes the server drop
    the client's keep-alive connection; here the exception is logged (with its traceback,
    never sent to the client) and the request simply ends with the 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the application; turn an escaping exception into a 500."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            log.info(
                "client closed the connection before sending the whole body of %s %s",
                scope.get("method"),
                scope.get("path"),
            )
        except Exception as exc:
            if database_unavailable(exc):
                count_database_error(scope.get("app"))
                # An outage, not a bug: one line, no traceback, and a 503 the client retries.
                log.warning(
                    "database unavailable on %s %s: %s",
                    scope.get("method"),
                    scope.get("path"),
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                )
                if started:
                    raise
                await unavailable_error(scope["path"])(scope, receive, send)
                return
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # the response is already on its way; nothing sane can be added
            await internal_error(scope["path"])(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))[:128]
    return ""


class CorrelationMiddleware:
    """Echo or mint the correlation ids, so a client's report can be matched to the logs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add ``concur-correlationid`` and ``X-Request-Id`` to every HTTP response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation = _header(scope, b"concur-correlationid") or str(uuid.uuid4())
        request_id = _header(scope, b"x-request-id") or correlation
        # Routes that store it (a UPS request's meta.correlationId) read request.state.
        scope.setdefault("state", {})["correlation_id"] = correlation

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["concur-correlationid"] = correlation
                headers["X-Request-Id"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_ids)
