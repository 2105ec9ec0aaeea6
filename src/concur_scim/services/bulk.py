"""The UPS BulkRequest envelope: parse and check it before anything is stored.

Reference/concur-v4.md §3.3 and RFC 7644 §3.7. What is checked here answers synchronously
and stores nothing: the body shape, the number of operations (:class:`TooLarge` → 413),
``failOnErrors``, each operation's method and path, bulkId uniqueness, PUT ids. What
depends on stored data (users, references, Concur's business rules) is the worker's, and is
reported per operation and extension in the Provision:Status.

Tolerated, because Concur's own examples do it (§3.3, §9 items 21-22, issue-tracked
payloads): a POST without ``bulkId`` (one is generated), operation keys in any case, bulk
PATCH ``data`` without ``schemas``, and extension objects placed beside ``data`` rather than
inside it (merged into the user).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from concur_scim.scim.errors import InvalidSyntax, InvalidValue, PayloadTooLarge
from concur_scim.scim.text import unstorable_path
from concur_scim.store.provisions import NewOperation

BULK_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
METHODS = ("POST", "PUT", "PATCH", "DELETE")
BULK_ID_PREFIX = "bulkId:"
# Concur's generated bulkId for /Users requests (§3.3, observed).
USERS_BULK_ID = "gen-temp-bulk-id"
_USER_PATH = re.compile(r"^/users/?(?P<id>[^/]+)?/?$", re.IGNORECASE)
# What the store holds for a bulkId and a path's user id (store/tables.py); user ids are
# UUIDs, and no client needs a longer bulkId.
MAX_ID_LENGTH = 255


@dataclass(frozen=True)
class BulkRequest:
    """A checked BulkRequest: its operations, ready to store, and ``failOnErrors``."""

    operations: list[NewOperation]
    fail_on_errors: int | None


def _member(obj: dict[str, Any], name: str) -> Any:
    """``obj[name]`` matched case-insensitively (RFC 7643 §2.1: attribute names)."""
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == name.lower():
            return value
    return None


def parse_bulk_request(body: Any, *, max_operations: int) -> BulkRequest:
    """Check a BulkRequest body and turn it into operations to store.

    Raises PayloadTooLarge (413) past ``max_operations`` (the issue's limit; Concur
    publishes 100, §3.2), InvalidSyntax (400) for a body that is not a BulkRequest, and
    InvalidValue (400) for a bad ``failOnErrors``, method, path, a duplicate bulkId or a PUT
    whose path id differs from ``data.id``.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax("the request body must be a BulkRequest object (RFC 7644 §3.7)")
    _check_storable(body)
    schemas = _member(body, "schemas")
    if schemas is not None:
        urns = schemas if isinstance(schemas, list) else [schemas]
        if not any(isinstance(u, str) and u.lower() == BULK_REQUEST_URN.lower() for u in urns):
            raise InvalidSyntax(f"'schemas' must contain '{BULK_REQUEST_URN}'")
    raw_ops = _member(body, "Operations")
    if not isinstance(raw_ops, list) or not raw_ops:
        raise InvalidSyntax("'Operations' must be a non-empty array (RFC 7644 §3.7.1)")
    if len(raw_ops) > max_operations:
        raise PayloadTooLarge(
            f"a Bulk request may carry at most {max_operations} operations, got {len(raw_ops)}"
        )
    fail_on_errors = _fail_on_errors(_member(body, "failOnErrors"))
    operations = [_operation(raw, index) for index, raw in enumerate(raw_ops)]
    _check_bulk_ids(operations)
    return BulkRequest(operations=operations, fail_on_errors=fail_on_errors)


def _fail_on_errors(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidValue("'failOnErrors' must be a positive integer (RFC 7644 §3.7.3)")
    return value


def _operation(raw: Any, index: int) -> NewOperation:
    where = f"Operations[{index}]"
    if not isinstance(raw, dict):
        raise InvalidSyntax(f"{where} must be an object")
    method = _member(raw, "method")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise InvalidValue(f"{where}.method must be one of {', '.join(METHODS)}")
    method = method.upper()
    path = _member(raw, "path")
    match = _USER_PATH.match(path) if isinstance(path, str) else None
    if match is None:
        raise InvalidValue(f"{where}.path must be '/Users' or '/Users/{{id}}', not {path!r}")
    user_id = match["id"]
    if user_id is not None and len(user_id) > MAX_ID_LENGTH:
        raise InvalidValue(f"{where}.path: a user id has at most {MAX_ID_LENGTH} characters")
    if method == "POST" and user_id is not None:
        raise InvalidValue(f"{where}: a POST operation's path is '/Users'")
    if method != "POST" and user_id is None:
        raise InvalidValue(f"{where}: a {method} operation's path is '/Users/{{id}}'")
    bulk_id = _member(raw, "bulkId")
    if bulk_id is not None and (
        not isinstance(bulk_id, str) or not bulk_id.strip() or len(bulk_id) > MAX_ID_LENGTH
    ):
        raise InvalidValue(
            f"{where}.bulkId must be a non-empty string of at most {MAX_ID_LENGTH} characters"
        )
    if bulk_id is None:
        # Concur's own Bulk example omits bulkId on POST (§3.3): generate one.
        bulk_id = f"{USERS_BULK_ID}-{index + 1}"
    data = _data(raw, method, where, user_id)
    return NewOperation(
        bulk_id=bulk_id,
        method=method,
        path="/Users" if user_id is None else f"/Users/{user_id}",
        data=data,
    )


def _data(raw: dict[str, Any], method: str, where: str, user_id: str | None) -> Any:
    data = _member(raw, "data")
    if method == "DELETE":
        return None
    if not isinstance(data, dict):
        raise InvalidSyntax(f"{where}.data must be an object for {method}")
    if method == "PATCH":
        return data
    merged = dict(data)
    for key, value in raw.items():
        # Concur's example places extension objects beside ``data``: they belong to the user.
        if isinstance(key, str) and key.lower().startswith("urn:") and key not in merged:
            merged[key] = value
    if method == "PUT":
        sent = merged.get("id")
        if sent is not None and sent != user_id:
            raise InvalidValue(f"{where}: data.id {sent!r} differs from the path id {user_id!r}")
    return merged


def _check_bulk_ids(operations: list[NewOperation]) -> None:
    seen: set[str] = set()
    for op in operations:
        if op.bulk_id in seen:
            raise InvalidValue(f"bulkId {op.bulk_id!r} appears more than once (RFC 7644 §3.7)")
        seen.add(op.bulk_id)


def _check_storable(body: Any) -> None:
    """InvalidValue (400) for NUL or a lone surrogate anywhere in the body: the request is
    stored as sent before any validation, and neither backend can hold them."""
    where = unstorable_path(body)
    if where is not None:
        raise InvalidValue(f"{where} contains a NUL character or a lone surrogate")


def user_operation(body: Any, method: str, user_id: str | None) -> NewOperation:
    """The one operation of a UPS ``/Users`` request (§3.1), with Concur's generated bulkId."""
    if method != "DELETE" and not isinstance(body, dict):
        raise InvalidSyntax("the request body must be a JSON object")
    _check_storable(body)
    data = body if method == "PATCH" else (dict(body) if isinstance(body, dict) else None)
    return NewOperation(
        bulk_id=USERS_BULK_ID,
        method=method,
        path="/Users" if user_id is None else f"/Users/{user_id}",
        data=data,
    )


def references(value: Any) -> set[str]:
    """Every bulkId that ``value`` refers to with a ``"bulkId:<id>"`` string (RFC 7644 §3.7.2)."""
    found: set[str] = set()
    # An explicit stack, not recursion: the provisioning worker walks every operation's
    # data and every extension payload, and a set per level cost more than the walk.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item.startswith(BULK_ID_PREFIX):
                found.add(item[len(BULK_ID_PREFIX) :])
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def path_references(path: str) -> set[str]:
    """The bulkId an operation's path names (``/Users/bulkId:<id>``), as a set."""
    _, _, last = path.rpartition("/")
    return references(last)


def substitute_path(path: str, ids: dict[str, str]) -> str:
    """``path`` with a ``bulkId:<id>`` user segment replaced by the id it resolved to."""
    head, slash, last = path.rpartition("/")
    return f"{head}{slash}{substitute(last, ids)}"


def substitute(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with each ``"bulkId:<id>"`` string replaced by the id it resolved to."""
    if isinstance(value, str):
        if value.startswith(BULK_ID_PREFIX):
            return ids.get(value[len(BULK_ID_PREFIX) :], value)
        return value
    if isinstance(value, list):
        return [substitute(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, ids) for key, item in value.items()}
    return value


def dependency_order(
    operations: list[tuple[int, str, str, Any]],
) -> tuple[list[int], dict[int, str]]:
    """The order to run operations in, and why some cannot run.

    ``operations`` are (position, bulkId, path, data). An operation runs after every
    operation whose bulkId it references (in its path or data); otherwise in request order.
    Returns the positions in run order and, for each operation that cannot run, the reason:
    a reference to an unknown bulkId, or a reference cycle (RFC 7644 §3.7.2, "circular
    reference"). Kahn's algorithm, stable on position.
    """
    by_bulk_id = {bulk_id: pos for pos, bulk_id, _, _ in operations}
    needs: dict[int, set[int]] = {}
    problems: dict[int, str] = {}
    for pos, _, path, data in operations:
        refs = path_references(path) | references(data)
        unknown = sorted(r for r in refs if r not in by_bulk_id)
        if unknown:
            problems[pos] = f"bulkId '{unknown[0]}' does not name an operation of this request"
        needs[pos] = {by_bulk_id[r] for r in refs if r in by_bulk_id} - {pos}
        if any(by_bulk_id.get(r) == pos for r in refs):
            problems.setdefault(pos, "the operation references its own bulkId")
    order: list[int] = []
    ready = sorted(p for p, deps in needs.items() if not deps)
    remaining = {p: set(deps) for p, deps in needs.items() if deps}
    while ready:
        pos = ready.pop(0)
        order.append(pos)
        for other in sorted(remaining):
            remaining[other].discard(pos)
            if not remaining[other]:
                del remaining[other]
                ready.append(other)
        ready.sort()
    for pos in sorted(remaining):
        problems.setdefault(pos, "circular bulkId reference (RFC 7644 §3.7.2)")
        order.append(pos)
    return order, problems
