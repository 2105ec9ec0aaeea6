"""The audit trail: every write request becomes one log line and one ``request_log`` row.

A write is a POST, PUT, PATCH or DELETE on any path of any dialect (UPS ``/Bulk``, User v1.0
XML batches and the token endpoint included), except a POST ``/.search``, which is a query
(RFC 7644 §3.4.3). Once the response has gone out, :class:`AuditMiddleware`:

1. logs one JSON line on the ``concur_scim.audit`` logger: ``correlation_id``,
   ``company_id``, ``subject`` (the principal's name, or the client id at the token
   endpoint; never a token or secret), ``method``, ``path``, ``resource_type``,
   ``resource_id`` (from the path; for a create from the response ``Location`` or ``id``),
   ``status`` and ``duration_ms``. ``status`` is 499 (nginx's "client closed request") when
   the client went away before sending its whole body: the request was never handled, no
   response reached anyone, and a server error (500) would be a false alarm;
2. when the caller was authenticated and ``CONCUR_SCIM_REQUEST_LOG_KEEP`` is not 0, hands
   the same facts to the journal's writer thread (``api/journal_writer.py``), which stores
   them with the redacted body summary (``api/redaction.py``) as a row, in batches, and
   prunes each company's rows beyond the newest N.

A request that was not authenticated (401/403) has no company: it gets the log line only.
Storing the row never changes the response: a failure is logged and dropped.

The rows are also the request journal of the admin API (``GET /_admin/journal``): each
carries the dialect, the redacted response body (the same summary as the request's, so the
same redaction and 8 KB cap), the SCIM error (``scimType``, ``detail``) of an error answer
and the fault rule that made or delayed the answer. Besides writes, an authenticated request
of any other kind (GET, ``POST /.search``) gets a row, and no log line, when it fails
(status >= 400) or a fault rule acted on it: an identity engineer debugging a client needs
its failed reads, while successful reads, the bulk of any sync, stay out for their cost.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from concur_scim.api.deps import Principal, Services
from concur_scim.api.dialects import dialect_name
from concur_scim.api.redaction import body_summary, redact_json
from concur_scim.store.request_log import RequestLogEntry

log = logging.getLogger("concur_scim.audit")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OAUTH_ENDPOINT = "/oauth2/v0/token"
CAPTURE_LIMIT = 1_048_576  # request body bytes kept for the summary; a longer JSON is not parsed
RESPONSE_ID_LIMIT = 65_536  # response bytes read for the ``id`` of a create without Location
CLIENT_CLOSED = 499  # nginx's "client closed request": the client left mid-body
_V1_PREFIX = "/api/user/v1.0/"
_V1_RESOURCES = {"users": "User", "users/password": "UserPassword"}
_COLLECTIONS = {"users": "User", "groups": "Group", "bulk": "Bulk", "provisions": "Provision"}


def is_audited(method: str, path: str) -> bool:
    """Whether a request is a write the audit trail records."""
    return method in WRITE_METHODS and not path.endswith("/.search")


def resource_of(path: str) -> tuple[str | None, str | None]:
    """The resource type and id a (normalized) path names: the first collection segment
    (``Users``, ``Groups``, ``Bulk``, ``provisions``) and the segment after it."""
    lower = path.lower()
    if lower.endswith(OAUTH_ENDPOINT):
        return "Token", None
    if lower.startswith(_V1_PREFIX):  # v1.0 batches carry their keys in the body
        return _V1_RESOURCES.get(lower.removeprefix(_V1_PREFIX)), None
    parts = path.split("/")
    for index, part in enumerate(parts):
        kind = _COLLECTIONS.get(part.lower())
        if kind is not None:
            following = parts[index + 1] if index + 1 < len(parts) else ""
            return kind, following or None
    return None, None


def _client_id(headers: Headers, body: bytes) -> str | None:
    """The client id of a token request: the form's, else HTTP Basic's user (RFC 6749 §2.3.1)."""
    for key, value in parse_qsl(body.decode("utf-8", "replace")):
        if key == "client_id" and value:
            return value
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote(user.partition(":")[0]) or None


class _Exchange:
    """What the middleware sees of one write request and its response."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.began = time.perf_counter()
        self.body = bytearray()
        self.size = 0
        self.status: int | None = None
        self.body_complete = False
        self.disconnected = False  # the client left before its body ended and any answer
        self.location: str | None = None
        self.response = bytearray()
        self.response_size = 0
        self.response_type = ""
        self.keep_response = False
        self.duration_ms: float | None = None

    def receive(self, receive: Receive) -> Receive:
        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunk: bytes = message.get("body", b"")
                self.size += len(chunk)
                room = CAPTURE_LIMIT - len(self.body)
                if room > 0:
                    self.body.extend(chunk[:room])
                self.body_complete = not message.get("more_body", False)
            elif message["type"] == "http.disconnect":
                # A disconnect after the whole body (a streaming response listening for it)
                # or after the answer started is an ordinary end, not an abandoned request.
                self.disconnected = not self.body_complete and self.status is None
            return message

        return receiving

    def send(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = int(message["status"])
                headers = Headers(raw=message.get("headers", []))
                self.location = headers.get("location")
                self.response_type = headers.get("content-type", "")
                self.keep_response = self.journaled()
            elif message["type"] == "http.response.body":
                chunk: bytes = message.get("body", b"")
                self.response_size += len(chunk)
                if self.keep_response:
                    room = CAPTURE_LIMIT - len(self.response)
                    if room > 0:
                        self.response.extend(chunk[:room])
                if not message.get("more_body", False) and self.duration_ms is None:
                    self.duration_ms = (time.perf_counter() - self.began) * 1000
            await send(message)

        return sending

    def journaled(self) -> bool:
        """Whether the exchange gets a row: a write, a failure or a faulted answer."""
        state = self.scope.get("state") or {}
        return (
            is_audited(self.scope["method"], self.scope["path"])
            or (self.status is not None and self.status >= 400)
            or state.get("fault_rule") is not None
        )

    def response_summary(self) -> dict[str, Any] | None:
        """The redacted summary of the response body (api/redaction.py), None if empty."""
        return body_summary(bytes(self.response), self.response_type, size=self.response_size)

    def scim_error(self) -> dict[str, Any] | None:
        """``scimType`` and ``detail`` of an error answer's JSON body (None otherwise)."""
        if self.status is None or self.status < 400 or len(self.response) < self.response_size:
            return None
        try:
            document = json.loads(self.response)
        except (ValueError, RecursionError):
            return None
        if not isinstance(document, dict):
            return None
        found = {k: document.get(k) for k in ("scimType", "detail") if k in document}
        if not found and "errorMessage" in document:  # the travel view's error shape
            found = {"detail": document.get("errorMessage")}
        redacted: dict[str, Any] = redact_json(found)
        return redacted or None

    def final_status(self) -> int:
        """The status to record: the response's, 499 for a client that left mid-body (its
        request never ran, whatever the application then tried to answer), 500 when the
        application ended without answering."""
        if self.disconnected:
            return CLIENT_CLOSED
        return self.status if self.status is not None else 500

    def created_id(self) -> str | None:
        """The id of what a POST created: from ``Location``, else the JSON response's ``id``."""
        if self.location is not None:
            return resource_of(unquote(urlsplit(self.location).path))[1]
        wants_id = (
            self.scope["method"] == "POST"
            and self.status is not None
            and self.status < 300
            and "json" in self.response_type
        )
        if not wants_id or not self.response or self.response_size > RESPONSE_ID_LIMIT:
            return None
        try:
            document = json.loads(self.response)
        except (ValueError, RecursionError):
            return None
        found = document.get("id") if isinstance(document, dict) else None
        return str(found) if isinstance(found, str | int) else None


class AuditMiddleware:
    """Record every write request once its response is complete (see the module doc).

    Mounted inside :class:`~concur_scim.api.middleware.CorrelationMiddleware` and
    ``PathNormalizer`` (it reads the correlation id and the normalized path) and outside
    ``ErrorBoundary`` (it sees the 500 an unexpected error became).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through, then log it (and store it) without delaying it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(scope)
        at = _now(scope)
        try:
            await self.app(scope, exchange.receive(receive), exchange.send(send))
        finally:
            # No await here: a client gone after its write still leaves the write's record.
            try:
                if exchange.journaled():
                    _record(exchange, at)
            except Exception:  # the audit trail must never fail or mask the request
                log.exception("write on %s not audited", scope["path"])


def _services(scope: Scope) -> Services | None:
    app = scope.get("app")
    found: Services | None = getattr(app.state, "services", None) if app is not None else None
    return found


def _now(scope: Scope) -> datetime | None:
    services = _services(scope)
    return services.clock() if services is not None else None


def _record(exchange: _Exchange, at: datetime | None) -> None:
    scope = exchange.scope
    state: dict[str, Any] = scope.get("state") or {}
    principal: Principal | None = state.get("principal")
    path: str = scope["path"]
    token_endpoint = path.lower().endswith(OAUTH_ENDPOINT)
    subject = principal.subject if principal is not None else None
    if subject is None and token_endpoint:
        subject = _client_id(Headers(scope=scope), bytes(exchange.body))
    resource_type, resource_id = resource_of(path)
    if resource_id is None and scope["method"] == "POST":
        resource_id = exchange.created_id()
    duration = exchange.duration_ms
    if duration is None:
        duration = (time.perf_counter() - exchange.began) * 1000
    event: dict[str, Any] = {
        "event": "write",
        "correlation_id": str(state.get("correlation_id", "")),
        "company_id": principal.company_id if principal is not None else None,
        "subject": subject,
        "method": scope["method"],
        "path": path,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "status": exchange.final_status(),
        "duration_ms": round(duration, 3),
    }
    if is_audited(scope["method"], path) and log.isEnabledFor(logging.INFO):
        log.info(json.dumps(event, separators=(",", ":")), extra={"audit": event})
    services = _services(scope)
    if principal is None or services is None or services.journal is None or at is None:
        return
    keep = services.settings.request_log_keep
    if keep <= 0:
        return
    content_type = Headers(scope=scope).get("content-type", "")
    services.journal.submit(
        partial(_entry, exchange, event, at, content_type, state.get("fault_rule"))
    )


def _entry(
    exchange: _Exchange,
    event: dict[str, Any],
    at: datetime,
    content_type: str,
    fault_rule: str | None,
) -> RequestLogEntry:
    """The row of one finished exchange, its bodies redacted (run by the journal's writer
    thread, api/journal_writer.py, which logs and drops a row that fails)."""
    detail = body_summary(
        bytes(exchange.body),
        content_type,
        size=exchange.size,
        token_endpoint=event["path"].lower().endswith(OAUTH_ENDPOINT),
        complete=not exchange.disconnected,
    )
    return RequestLogEntry(
        company_id=event["company_id"],
        at=at,
        correlation_id=event["correlation_id"],
        subject=event["subject"] or "",
        method=event["method"],
        path=event["path"],
        resource_type=event["resource_type"],
        resource_id=event["resource_id"],
        status=event["status"],
        detail=detail,
        dialect=dialect_name(event["path"]),
        response=exchange.response_summary(),
        error=exchange.scim_error(),
        fault_rule=fault_rule,
    )
