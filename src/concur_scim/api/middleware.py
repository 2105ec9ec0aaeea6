"""Pure ASGI middleware (no ``BaseHTTPMiddleware``: it costs a task and a copy per request).

- :class:`PathNormalizer`: Concur's docs and Postman collection write paths with and without
  a trailing slash and with lower-case collection segments (``/users``), reference/concur-v4.md
  §2; so a trailing slash is dropped and known collection segments are matched
  case-insensitively, for every dialect.
- :class:`CorrelationMiddleware`: every response carries ``concur-correlationid`` (the
  client's, echoed, or a new UUID; §2, §8) and ``X-Request-Id``.
"""

from __future__ import annotations

import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def normalize_path(path: str) -> str:
    """``path`` without a trailing slash and with canonical collection segment spelling."""
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    parts = path.split("/")
    return "/".join(_SEGMENTS.get(p.lower(), p) for p in parts)


class PathNormalizer:
    """Rewrite the request path before routing (see :func:`normalize_path`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route on the normalized path."""
        if scope["type"] == "http":
            path = normalize_path(scope["path"])
            if path != scope["path"]:
                scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


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

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["concur-correlationid"] = correlation
                headers["X-Request-Id"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_ids)
