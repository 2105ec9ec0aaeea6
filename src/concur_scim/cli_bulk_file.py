"""The input of ``concur-scim bulk submit``: a file of users or operations, read and split
into User Provisioning ``/Bulk`` requests (reference/concur-v4.md §3.2, §3.3).

Formats (``--format``, else by suffix, else by content):

- ``json``: a BulkRequest (``{"Operations": [...]}``, its ``failOnErrors`` kept), a JSON
  array of users or operations, or one user object;
- ``ndjson`` (``.ndjson``, ``.jsonl``): one user or one operation per line (blank lines
  skipped);
- ``csv``: a header line naming columns of :data:`CSV_COLUMNS`, then one user per row.

An item is an operation when it has a ``method`` member; any other object is a user, sent as
``POST /Users``. Operations without a ``bulkId`` and users get ``line-N`` (NDJSON, CSV: the
line of the file) or ``item-N`` (JSON), so every result points back into the file.

:func:`split` cuts the operations, in file order, into requests of at most the operation and
byte limits, each checked by the server's own envelope parser (``services/bulk.py``) so that
a bad file is refused before anything is sent. A ``bulkId:`` reference must stay within one
request (RFC 7644 §3.7.2); a reference that splitting would carry across requests is refused.
Raises :class:`BulkFileError` (one line for a human) for every problem.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from concur_scim.scim.errors import ScimError
from concur_scim.services import bulk

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
FORMATS = ("auto", "json", "ndjson", "csv")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}

# CSV column → where it goes in the user (a path of keys from the user object).
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "userName": ("userName",),
    "externalId": ("externalId",),
    "active": ("active",),
    "displayName": ("displayName",),
    "title": ("title",),
    "givenName": ("name", "givenName"),
    "familyName": ("name", "familyName"),
    "middleName": ("name", "middleName"),
    "email": ("emails",),
    "preferredLanguage": ("preferredLanguage",),
    "employeeNumber": (ENTERPRISE, "employeeNumber"),
    "department": (ENTERPRISE, "department"),
    "costCenter": (ENTERPRISE, "costCenter"),
    "division": (ENTERPRISE, "division"),
    "organization": (ENTERPRISE, "organization"),
    "companyId": (ENTERPRISE, "companyId"),
}


class BulkFileError(Exception):
    """The file cannot be read or sent as it is; the message is one line for a human."""


@dataclass(frozen=True)
class BulkFile:
    """The operations of a file, in file order, and the ``failOnErrors`` it asked for."""

    operations: list[dict[str, Any]]
    fail_on_errors: int | None = None


def read_bulk_file(path: Path, fmt: str = "auto") -> BulkFile:
    """Read ``path`` in format ``fmt`` (:data:`FORMATS`); raises BulkFileError."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BulkFileError(f"cannot read {path}: {exc}") from None
    if fmt == "auto":
        fmt = _detect(path, text)
    if fmt == "csv":
        return BulkFile(_csv_operations(text))
    if fmt == "ndjson":
        return BulkFile(_ndjson_operations(text))
    return _json_file(text)


def _detect(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".json"):
        return suffix[1:]
    if suffix in (".ndjson", ".jsonl"):
        return "ndjson"
    try:
        json.loads(text)
    except ValueError:
        return "ndjson" if text.lstrip().startswith("{") else "csv"
    return "json"


def _is_operation(item: dict[str, Any]) -> bool:
    return any(isinstance(k, str) and k.lower() == "method" for k in item)


def _item(item: Any, label: str) -> dict[str, Any]:
    """The operation for one user or operation of the file, labelled ``label``."""
    if not isinstance(item, dict):
        raise BulkFileError(f"{label}: expected a JSON object (a user or an operation)")
    if _is_operation(item):
        if not any(isinstance(k, str) and k.lower() == "bulkid" for k in item):
            return {**item, "bulkId": label}
        return item
    return {"method": "POST", "path": "/Users", "bulkId": label, "data": item}


def _json_file(text: str) -> BulkFile:
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise BulkFileError(f"not JSON: {exc}") from None
    if isinstance(body, dict) and any(
        isinstance(k, str) and k.lower() == "operations" for k in body
    ):
        ops = next(v for k, v in body.items() if isinstance(k, str) and k.lower() == "operations")
        if not isinstance(ops, list):
            raise BulkFileError("'Operations' must be an array")
        fail = next(
            (v for k, v in body.items() if isinstance(k, str) and k.lower() == "failonerrors"),
            None,
        )
        if fail is not None and (isinstance(fail, bool) or not isinstance(fail, int) or fail < 1):
            raise BulkFileError("'failOnErrors' must be a positive integer")
        return BulkFile([_item(op, f"item-{n}") for n, op in enumerate(ops, 1)], fail)
    items = body if isinstance(body, list) else [body]
    return BulkFile([_item(item, f"item-{n}") for n, item in enumerate(items, 1)])


def _ndjson_operations(text: str) -> list[dict[str, Any]]:
    operations = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise BulkFileError(f"line {number}: not JSON: {exc}") from None
        operations.append(_item(item, f"line-{number}"))
    return operations


def _csv_operations(text: str) -> list[dict[str, Any]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise BulkFileError("the CSV file is empty") from None
    except csv.Error as exc:
        raise BulkFileError(f"line 1: {exc}") from None
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise BulkFileError(
            f"unknown CSV column {unknown[0]!r}; the columns are {', '.join(CSV_COLUMNS)}"
        )
    if "userName" not in header:
        raise BulkFileError("the CSV header needs a userName column")
    operations = []
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise BulkFileError(f"line {number}: {len(row)} cells for {len(header)} columns")
            user = _csv_user(dict(zip(header, row, strict=True)), number)
            operations.append(_item(user, f"line-{number}"))
    except csv.Error as exc:
        raise BulkFileError(f"line {reader.line_num}: {exc}") from None
    return operations


def _csv_user(row: dict[str, str], number: int) -> dict[str, Any]:
    """One CSV row as a user: empty cells are left out, ``active`` is a boolean word (true
    when empty or absent), ``email`` becomes the primary work email."""
    user: dict[str, Any] = {"schemas": [CORE]}
    for column, raw in row.items():
        value = raw.strip()
        if not value:
            continue
        where = CSV_COLUMNS[column]
        cell: Any = value
        if column == "active":
            if value.lower() not in _TRUE | _FALSE:
                raise BulkFileError(f"line {number}: active must be true or false, not {value!r}")
            cell = value.lower() in _TRUE
        elif column == "email":
            cell = [{"value": value, "type": "work", "primary": True}]
        target = user
        for key in where[:-1]:
            target = target.setdefault(key, {})
        target[where[-1]] = cell
    # Concur requires `active`; a file of users to provision means active ones by default.
    user.setdefault("active", True)
    if ENTERPRISE in user:
        user["schemas"].append(ENTERPRISE)
    if "userName" not in user:
        raise BulkFileError(f"line {number}: userName is empty")
    return user


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _envelope(operations: list[dict[str, Any]], fail_on_errors: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [bulk.BULK_REQUEST_URN]}
    if fail_on_errors is not None:
        body["failOnErrors"] = fail_on_errors
    body["Operations"] = operations
    return body


def encode(body: dict[str, Any]) -> bytes:
    """The bytes sent for a request body (compact JSON, as :func:`split` measured it)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def split(file: BulkFile, *, max_operations: int, max_bytes: int) -> list[dict[str, Any]]:
    """BulkRequest bodies of at most ``max_operations`` operations and ``max_bytes`` bytes
    (as :func:`encode` sends them), in file order. Raises BulkFileError for an empty file,
    an operation larger than ``max_bytes`` on its own, a request the server's envelope check
    would refuse, or a ``bulkId:`` reference across requests."""
    if not file.operations:
        raise BulkFileError("the file holds no users or operations")
    empty = _size(_envelope([], file.fail_on_errors))
    requests: list[list[dict[str, Any]]] = [[]]
    size = empty
    for number, op in enumerate(file.operations, 1):
        op_size = _size(op)
        if empty + op_size > max_bytes:
            raise BulkFileError(
                f"operation {number} ({_bulk_id(op)}) is {op_size} bytes: more than a whole"
                f" Bulk request may carry ({max_bytes} bytes)"
            )
        current = requests[-1]
        grown = size + op_size + (1 if current else 0)
        if current and (len(current) >= max_operations or grown > max_bytes):
            requests.append([])
            current, grown = requests[-1], empty + op_size
        current.append(op)
        size = grown
    bodies = [_envelope(ops, file.fail_on_errors) for ops in requests]
    _check(bodies, max_operations)
    return bodies


def _bulk_id(op: dict[str, Any]) -> str:
    return str(next((v for k, v in op.items() if str(k).lower() == "bulkid"), "?"))


def _check(bodies: list[dict[str, Any]], max_operations: int) -> None:
    """Every body as the server's parser sees it; references within one request."""
    owner: dict[str, int] = {}
    parsed = []
    for index, body in enumerate(bodies):
        try:
            request = bulk.parse_bulk_request(body, max_operations=max_operations)
        except ScimError as exc:
            where = f"request {index + 1} of {len(bodies)}: " if len(bodies) > 1 else ""
            raise BulkFileError(f"{where}{exc.detail}") from None
        parsed.append(request)
        for op in request.operations:
            owner[op.bulk_id] = index
    for index, request in enumerate(parsed):
        for op in request.operations:
            refs = bulk.path_references(op.path) | bulk.references(op.data)
            crossing = sorted(r for r in refs if owner.get(r, index) != index)
            if crossing:
                raise BulkFileError(
                    f"{op.bulk_id} refers to bulkId {crossing[0]!r}, which the Bulk limits put"
                    " in another request; keep referencing operations within one request"
                )
