"""The SCIM error tree (RFC 7644 §3.12), raised everywhere and rendered once.

Every error a client can cause is one of these classes; each carries the HTTP status and
the RFC 7644 ``scimType`` it maps to. The API layer turns them into a SCIM Error body in
exactly one place (``api/responses.py``); the provisioning worker uses the same
:meth:`ScimError.to_body` so a stored failure reads like an HTTP one.

::

    ScimError (status, scim_type, detail, messages)
    ├── BadRequest                400, no scimType
    │   ├── InvalidFilter         400 invalidFilter
    │   │   └── UnknownFilterAttribute  a filter names an attribute the type lacks
    │   ├── TooMany               400 tooMany
    │   ├── InvalidSyntax         400 invalidSyntax
    │   ├── InvalidPath           400 invalidPath
    │   ├── NoTarget              400 noTarget
    │   ├── InvalidValue          400 invalidValue
    │   ├── InvalidVersion        400 invalidVersion
    │   ├── Mutability            400 mutability
    │   ├── Sensitive             400 sensitive
    │   └── InvalidCursor         400 invalidCursor (RFC 9865 §6)
    ├── Unauthorized              401
    ├── Forbidden                 403
    ├── NotFound                  404
    ├── MethodNotAllowed          405
    ├── Uniqueness                409 uniqueness
    ├── PreconditionFailed        412
    ├── PayloadTooLarge           413
    ├── TooManyRequests           429
    ├── InternalError             500
    └── NotImplementedYet         501
"""

from __future__ import annotations

from typing import Any, ClassVar

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """Base of every client-visible error; ``detail`` is safe to show to the client.

    ``messages`` are Concur's per-attribute messages (reference/concur-v4.md §4.5), each
    ``{"code", "message", "schemaPath", "type"}``; the API renders them in the Concur error
    extension for the Concur dialects and leaves them out of a plain RFC 7644 body.
    """

    status: ClassVar[int] = 400
    scim_type: ClassVar[str | None] = None

    def __init__(self, detail: str, *, messages: list[dict[str, str]] | None = None) -> None:
        if not detail.isascii():
            # A detail may quote the client (an id, a value); a lone surrogate it sent in a
            # JSON escape cannot be encoded into any answer, so it is shown as "?".
            detail = detail.encode("utf-8", "replace").decode("utf-8")
        super().__init__(detail)
        self.detail = detail
        self.messages: list[dict[str, str]] = list(messages or ())

    def to_body(self) -> dict[str, Any]:
        """The RFC 7644 §3.12 Error resource; ``status`` is a string, as the RFC shows."""
        body: dict[str, Any] = {"schemas": [ERROR_URN], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body


class BadRequest(ScimError):
    """400 with no more precise scimType."""


class InvalidFilter(BadRequest):
    """The filter syntax was invalid or an attribute/operator is not supported."""

    scim_type = "invalidFilter"


class UnknownFilterAttribute(InvalidFilter):
    """The filter names a schema or attribute the resource type does not have.

    Apart from other filter errors so that the root ``/.search`` (RFC 7644 §3.4.3) can skip
    a resource type the filter does not apply to, and refuse every other filter error.
    """


class TooMany(BadRequest):
    """The query would return more results than the server allows."""

    scim_type = "tooMany"


class InvalidSyntax(BadRequest):
    """The request body is not parsable or does not follow the message schema."""

    scim_type = "invalidSyntax"


class InvalidPath(BadRequest):
    """A PATCH ``path`` is malformed or names an attribute the schema does not have."""

    scim_type = "invalidPath"


class NoTarget(BadRequest):
    """A PATCH ``path`` matched nothing where the operation needs a target."""

    scim_type = "noTarget"


class InvalidValue(BadRequest):
    """A value is missing, of the wrong type or otherwise unacceptable."""

    scim_type = "invalidValue"


class InvalidVersion(BadRequest):
    """The SCIM protocol version is not supported."""

    scim_type = "invalidVersion"


class Mutability(BadRequest):
    """The request tried to change a readOnly or immutable attribute."""

    scim_type = "mutability"


class Sensitive(BadRequest):
    """Sensitive data was sent in the URI."""

    scim_type = "sensitive"


class InvalidCursor(BadRequest):
    """The pagination cursor is malformed or expired (RFC 9865 §6)."""

    scim_type = "invalidCursor"


class Unauthorized(ScimError):
    """Missing or invalid credentials; rendered with ``WWW-Authenticate: Bearer``."""

    status = 401


class Forbidden(ScimError):
    """Authenticated, but not allowed to do this."""

    status = 403


class NotFound(ScimError):
    """The resource or endpoint does not exist (for this company)."""

    status = 404


class MethodNotAllowed(ScimError):
    """The endpoint exists but does not accept this method."""

    status = 405


class Uniqueness(ScimError):
    """A unique attribute (userName, externalId, displayName) is already taken."""

    status = 409
    scim_type = "uniqueness"


class PreconditionFailed(ScimError):
    """``If-Match`` named a version that is no longer current (RFC 7644 §3.14)."""

    status = 412


class PayloadTooLarge(ScimError):
    """The request body exceeds the advertised limit."""

    status = 413


class TooManyRequests(ScimError):
    """The client is throttled; rendered with ``Retry-After: <retry_after>`` (whole seconds)."""

    status = 429

    def __init__(
        self,
        detail: str,
        *,
        retry_after: int = 1,
        messages: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(detail, messages=messages)
        self.retry_after = max(1, retry_after)


class InternalError(ScimError):
    """An unexpected server failure; the detail never carries exception text."""

    status = 500


class NotImplementedYet(ScimError):
    """The operation is valid SCIM but this server does not offer it."""

    status = 501


# Concur publishes no list of message codes (reference/concur-v4.md §11); these follow the
# ones seen (§3.4, §4.5).
_CONCUR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "INVALID_VALUE",
    412: "PRECONDITION_FAILED",
    413: "PAYLOAD_TOO_LARGE",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
}


def concur_messages(error: ScimError) -> list[dict[str, str]]:
    """``error`` as Concur's ``messages[{code, message, schemaPath?, type}]`` (§4.5, §3.4).

    The error's own messages when it carries some; otherwise one message made of its detail
    and a code chosen from its status and ``scimType``.
    """
    if error.messages:
        return [dict(m) for m in error.messages]
    code = _CONCUR_CODES.get(error.status, "ERROR")
    if error.scim_type in ("invalidValue", "mutability", "uniqueness"):
        code = "INVALID_VALUE"
    return [{"code": code, "message": error.detail, "type": "error"}]
