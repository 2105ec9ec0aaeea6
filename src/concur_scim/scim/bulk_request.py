"""The RFC 7644 §3.7 BulkRequest message, read and checked before any operation runs.

:func:`parse` turns a parsed JSON body into a :class:`BulkRequest` or raises:

- :class:`~concur_scim.scim.errors.PayloadTooLarge` (413, §3.7.4) past ``max_operations``;
- :class:`~concur_scim.scim.errors.InvalidSyntax` (400) for a body that is not a
  BulkRequest (§3.7.1 and §3.12: "did not conform to the request schema"): not an object,
  ``schemas`` without the BulkRequest URN, ``Operations`` missing, empty or not an array of
  objects, an operation whose ``method`` is not POST/PUT/PATCH/DELETE, whose ``path`` is not
  ``/Users``, ``/Groups`` (POST) or ``/Users/{id}``, ``/Groups/{id}`` (the others), a POST
  without ``bulkId`` (§3.7: "REQUIRED when method is POST"), a bulkId used twice, a
  ``version`` that is not a string, ``data`` that is not an object for POST/PUT/PATCH, or a
  ``failOnErrors`` that is not an integer;
- :class:`~concur_scim.scim.errors.InvalidValue` (400) for a ``failOnErrors`` below 1.

Nothing here looks at what ``data`` holds: each operation's data is the body of the single
request it stands for (§3.7: "as it would appear for a single SCIM POST, PUT, or PATCH"),
checked by the same service function, and its errors belong to that operation's result.
Member names match case-insensitively (RFC 7643 §2.1); the JSON reader has already refused
names that differ only in case (api/limits.py), so each has one reading.

This is the generic dialect's message. The User Provisioning ``/Bulk`` reads Concur's looser
variant (``services/bulk.py``: generated bulkIds, extension objects beside ``data``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from concur_scim.scim.errors import InvalidSyntax, InvalidValue, PayloadTooLarge
from concur_scim.scim.text import unstorable_path

BULK_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
METHODS = ("POST", "PUT", "PATCH", "DELETE")
# The resource endpoints a Bulk operation may name, by their lower-case spelling.
ENDPOINTS = {"users": "Users", "groups": "Groups"}
_PATH = re.compile(r"^/(?P<endpoint>[^/]+)(?:/(?P<id>[^/]+))?/?$")


@dataclass(frozen=True)
class BulkOperation:
    """One checked operation of a BulkRequest.

    ``position`` is its 0-based index in the request; ``endpoint`` is ``Users`` or
    ``Groups``; ``resource_id`` the path's id as sent (None for a POST), possibly a
    ``bulkId:<id>`` reference (§3.7.2); ``data`` None for a DELETE.
    """

    position: int
    method: str
    endpoint: str
    resource_id: str | None
    bulk_id: str | None
    version: str | None
    data: Any

    @property
    def path(self) -> str:
        """The operation's path as RFC 7644 §3.7 writes it (``/Users/{id}``)."""
        tail = f"/{self.resource_id}" if self.resource_id is not None else ""
        return f"/{self.endpoint}{tail}"


@dataclass(frozen=True)
class BulkRequest:
    """A checked BulkRequest: its operations in request order and ``failOnErrors``."""

    operations: tuple[BulkOperation, ...]
    fail_on_errors: int | None


def member(obj: dict[str, Any], name: str) -> Any:
    """``obj[name]`` matched case-insensitively (RFC 7643 §2.1), or None."""
    wanted = name.lower()
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == wanted:
            return value
    return None


def parse(body: Any, *, max_operations: int) -> BulkRequest:
    """``body`` (parsed JSON) as a :class:`BulkRequest`; raises as the module doc says.

    The count is checked before any operation is read, so an oversized request costs no
    more than its array's length.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax("the request body must be a BulkRequest object (RFC 7644 §3.7)")
    # bulkIds and path ids are echoed in the answer and compared in SQL: text neither
    # backend (nor UTF-8) can hold is refused up front, as the UPS /Bulk does.
    unstorable = unstorable_path(body)
    if unstorable is not None:
        raise InvalidSyntax(f"{unstorable} contains a NUL character or a lone surrogate")
    schemas = member(body, "schemas")
    urns = schemas if isinstance(schemas, list) else [schemas]
    if not any(isinstance(u, str) and u.lower() == BULK_REQUEST_URN.lower() for u in urns):
        raise InvalidSyntax(f"'schemas' must contain '{BULK_REQUEST_URN}'")
    raw_operations = member(body, "Operations")
    if not isinstance(raw_operations, list) or not raw_operations:
        raise InvalidSyntax("'Operations' must be a non-empty array (RFC 7644 §3.7.1)")
    if len(raw_operations) > max_operations:
        raise PayloadTooLarge(
            f"a Bulk request may carry at most {max_operations} operations,"
            f" got {len(raw_operations)} (RFC 7644 §3.7.4)"
        )
    fail_on_errors = _fail_on_errors(member(body, "failOnErrors"))
    operations = tuple(_operation(raw, n) for n, raw in enumerate(raw_operations))
    seen: set[str] = set()
    for operation in operations:
        if operation.bulk_id is None:
            continue
        if operation.bulk_id in seen:
            raise InvalidSyntax(
                f"Operations[{operation.position}]: bulkId '{operation.bulk_id}' is used by"
                " another operation (RFC 7644 §3.7: unique within a request)"
            )
        seen.add(operation.bulk_id)
    return BulkRequest(operations=operations, fail_on_errors=fail_on_errors)


def _fail_on_errors(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSyntax("'failOnErrors' must be an integer (RFC 7644 §3.7.3)")
    if value < 1:
        raise InvalidValue("'failOnErrors' must be at least 1 (RFC 7644 §3.7.3)")
    return value


def _operation(raw: Any, position: int) -> BulkOperation:
    where = f"Operations[{position}]"
    if not isinstance(raw, dict):
        raise InvalidSyntax(f"{where} must be an object")
    method = member(raw, "method")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise InvalidSyntax(f"{where}.method must be one of {', '.join(METHODS)}")
    method = method.upper()
    endpoint, resource_id = _path(member(raw, "path"), method, where)
    bulk_id = member(raw, "bulkId")
    if bulk_id is not None and (not isinstance(bulk_id, str) or not bulk_id):
        raise InvalidSyntax(f"{where}.bulkId must be a non-empty string")
    if method == "POST" and bulk_id is None:
        raise InvalidSyntax(f"{where}: a POST operation needs a bulkId (RFC 7644 §3.7)")
    version = member(raw, "version")
    if version is not None and not isinstance(version, str):
        raise InvalidSyntax(f"{where}.version must be a string (an entity tag)")
    data = None
    if method != "DELETE":
        data = member(raw, "data")
        if not isinstance(data, dict):
            raise InvalidSyntax(f"{where}.data must be an object for {method}")
    return BulkOperation(
        position=position,
        method=method,
        endpoint=endpoint,
        resource_id=resource_id,
        bulk_id=bulk_id,
        version=version,
        data=data,
    )


def _path(path: Any, method: str, where: str) -> tuple[str, str | None]:
    """The endpoint and id of an operation's ``path``; the endpoint matches in any case,
    as the routes' collection segments do (api/middleware.py)."""
    match = _PATH.match(path) if isinstance(path, str) else None
    endpoint = ENDPOINTS.get(match["endpoint"].lower()) if match else None
    if match is None or endpoint is None:
        raise InvalidSyntax(
            f"{where}.path must be /Users, /Groups, /Users/{{id}} or /Groups/{{id}}, not {path!r}"
        )
    resource_id: str | None = match["id"]
    if method == "POST" and resource_id is not None:
        raise InvalidSyntax(f"{where}: a POST operation's path is /{endpoint}")
    if method != "POST" and resource_id is None:
        raise InvalidSyntax(f"{where}: a {method} operation's path is /{endpoint}/{{id}}")
    return endpoint, resource_id
