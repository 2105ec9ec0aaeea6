"""Use-cases of the admin API (README "Admin API"): the request journal, the provisions
list, reset and seed. Fault rules and the worker switch are in ``services/faults.py``.

Query parameters are parsed here, so that a bad one is a SCIM error (400 ``invalidValue``),
never a 422. Functions taking a ``Connection`` run in the caller's transaction;
:func:`seed_users` takes the engine because it opens one transaction per user.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from sqlalchemy import Connection, Engine

from concur_scim.scim.datetimes import parse_datetime
from concur_scim.scim.errors import InvalidSyntax, InvalidValue, NotFound, ScimError
from concur_scim.scim.registry import CORE_USER, ENTERPRISE_USER
from concur_scim.scim.text import storable_text
from concur_scim.services import webhooks
from concur_scim.services.common import Clock
from concur_scim.services.faults import DIALECTS
from concur_scim.services.users import create_user
from concur_scim.store import admin as store
from concur_scim.store.db import unit_of_work
from concur_scim.store.request_log import JournalFilter, journal_page, journal_row

DEFAULT_COUNT = 50
MAX_COUNT = 500
STATES = ("pending", "completed")
# The journal also holds webhook delivery attempts (services/webhooks.py), status 0 when
# the receiver could not be reached.
JOURNAL_DIALECTS = DIALECTS | {webhooks.DIALECT}


@dataclass(frozen=True)
class Page:
    """``startIndex`` (1-based) and ``count`` of a listing."""

    start_index: int = 1
    count: int = DEFAULT_COUNT


def _integer(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidValue(f"'{name}' must be an integer") from None
    if not low <= value <= high:
        raise InvalidValue(f"'{name}' must be from {low} to {high}")
    return value


def _text(params: Mapping[str, str], name: str) -> str | None:
    """A text filter, or InvalidValue when it holds what no stored value can (NUL, a lone
    surrogate: PostgreSQL refuses even to compare with it)."""
    value = params.get(name)
    if value is not None and not storable_text(value):
        raise InvalidValue(f"'{name}' holds a character no stored value has")
    return value


def parse_page(params: Mapping[str, str]) -> Page:
    """``startIndex`` (default 1) and ``count`` (default 50, at most 500)."""
    return Page(
        _integer(params, "startIndex", 1, 1, 2**31 - 1),
        _integer(params, "count", DEFAULT_COUNT, 0, MAX_COUNT),
    )


def _listing(total: int, page: Page, resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "totalResults": total,
        "startIndex": page.start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def parse_journal_filter(params: Mapping[str, str]) -> JournalFilter:
    """The journal filters: ``company``, ``dialect``, ``method``, ``status`` (``404`` or a
    class such as ``4xx``), ``path`` (a prefix), ``correlationId``, ``since`` (RFC 3339)."""
    status, status_class = None, None
    raw_status = params.get("status")
    if raw_status is not None:
        text = raw_status.strip().lower()
        if len(text) == 3 and text.endswith("xx") and text[0] in "12345":
            status_class = int(text[0])
        else:
            status = _integer(params, "status", 0, 100, 599)
    dialect = params.get("dialect")
    if dialect is not None and dialect not in JOURNAL_DIALECTS:
        raise InvalidValue(f"'dialect' must be one of {sorted(JOURNAL_DIALECTS)}")
    since = None
    if params.get("since") is not None:
        since = parse_datetime(params["since"])
        if since is None:
            raise InvalidValue("'since' must be an RFC 3339 date-time")
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    method = _text(params, "method")
    return JournalFilter(
        company_id=_text(params, "company"),
        dialect=dialect,
        method=method.upper() if method else None,
        status=status,
        status_class=status_class,
        path_prefix=_text(params, "path"),
        correlation_id=_text(params, "correlationId"),
        since=since,
    )


def _entry(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["seq"],
        "at": row["at"].isoformat(),
        "company": row["company_id"],
        "subject": row["subject"],
        "method": row["method"],
        "path": row["path"],
        "dialect": row["dialect"],
        "status": row["status"],
        "correlationId": row["correlation_id"],
        "resourceType": row["resource_type"],
        "resourceId": row["resource_id"],
        "request": row["detail"],
        "response": row["response"],
        "error": row["error"],
        "injected": row["fault_rule"] is not None,
        "faultRule": row["fault_rule"],
    }


def journal(conn: Connection, params: Mapping[str, str]) -> dict[str, Any]:
    """One page of the request journal, newest first (filters: :func:`parse_journal_filter`)."""
    where, page = parse_journal_filter(params), parse_page(params)
    total, rows = journal_page(conn, where, offset=page.start_index - 1, limit=page.count)
    return _listing(total, page, [_entry(row) for row in rows])


def journal_entry(conn: Connection, seq: int) -> dict[str, Any]:
    """One journal row as :func:`journal` lists it; NotFound (404) when there is none."""
    row = journal_row(conn, seq)
    if row is None:
        raise NotFound(f"no journal entry {seq}")
    return _entry(row)


def provisions(conn: Connection, params: Mapping[str, str]) -> dict[str, Any]:
    """One page of provisioning requests, newest first, filtered by ``company``, ``state``."""
    state = params.get("state")
    if state is not None and state not in STATES:
        raise InvalidValue(f"'state' must be one of {list(STATES)}")
    page = parse_page(params)
    total, found = store.provision_page(
        conn,
        company_id=_text(params, "company"),
        state=state,
        offset=page.start_index - 1,
        limit=page.count,
    )
    resources = [
        {
            "id": p.id,
            "company": p.company_id,
            "type": p.provision_type,
            "state": p.state,
            "success": p.success,
            "created": p.created.isoformat(),
            "completed": p.completed.isoformat() if p.completed else None,
            "counts": {
                "total": p.total,
                "success": p.succeeded,
                "failed": p.failed,
                "pending": p.total - p.succeeded - p.failed,
            },
        }
        for p in found
    ]
    return _listing(total, page, resources)


def reset(conn: Connection, body: Any) -> dict[str, Any]:
    """Delete one company's directory data (``{"company": id}``) or every company's
    (``{}``); the rows deleted per kind. Companies, clients, tokens, signing keys and fault
    rules stay. Raises InvalidValue for a malformed body, NotFound for an unknown company."""
    if not isinstance(body, dict) or set(body) - {"company"}:
        raise InvalidValue('the body is {"company": "<id>"} or {} for every company')
    company = body.get("company")
    if company is not None and not isinstance(company, str):
        raise InvalidValue("'company' must be a company id")
    if company is not None and not store.company_exists(conn, company):
        raise NotFound(f"no company {company}")
    return {"company": company, "deleted": store.reset(conn, company)}


# ----------------------------------------------------------------------------- seed

# The CSV columns of ``POST /_admin/seed`` (README "Admin API"); only userName is required.
CSV_COLUMNS = (
    "userName",
    "givenName",
    "familyName",
    "displayName",
    "email",
    "externalId",
    "employeeNumber",
    "active",
    "title",
    "department",
)
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass
class SeedReport:
    """What a seed did: users created, and per failed item its line and the error."""

    created: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """``{"created", "failed": [{"line", "detail"}]}``."""
        return {"created": self.created, "failed": self.failed}


def csv_user(row: Mapping[str, str]) -> dict[str, Any]:
    """A SCIM user from one CSV row (empty cells left out); InvalidValue for a bad ``active``."""
    cell = {k: (v or "").strip() for k, v in row.items() if k is not None}
    user: dict[str, Any] = {"schemas": [CORE_USER], "userName": cell.get("userName", "")}
    name = {k: cell[k] for k in ("givenName", "familyName") if cell.get(k)}
    if name:
        user["name"] = name
    for key in ("displayName", "externalId", "title"):
        if cell.get(key):
            user[key] = cell[key]
    if cell.get("email"):
        user["emails"] = [{"value": cell["email"], "type": "work", "primary": True}]
    if cell.get("active"):
        active = _BOOLEANS.get(cell["active"].lower())
        if active is None:
            raise InvalidValue("'active' must be true or false")
        user["active"] = active
    enterprise = {k: cell[k] for k in ("employeeNumber", "department") if cell.get(k)}
    if enterprise:
        user["schemas"].append(ENTERPRISE_USER)
        user[ENTERPRISE_USER] = enterprise
    return user


def _csv_items(text: str) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if "userName" not in header or unknown:
        raise InvalidValue(
            f"the CSV header names columns of {list(CSV_COLUMNS)}, userName among them"
            + (f"; unknown: {unknown[0]}" if unknown else "")
        )
    for row in reader:
        line = reader.line_num
        try:
            yield line, csv_user(row)
        except ScimError as error:
            yield line, error


def _ndjson_items(text: str) -> Iterator[tuple[int, Any]]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield line, json.loads(raw)
        except ValueError:
            yield line, InvalidSyntax("the line is not a JSON object")


def _json_items(text: str) -> Iterator[tuple[int, Any]]:
    try:
        document = json.loads(text)
    except ValueError:
        if len(text.strip().splitlines()) > 1:
            yield from _ndjson_items(text)
            return
        raise InvalidSyntax("the body is not JSON, NDJSON or CSV") from None
    if isinstance(document, dict) and "Resources" in document:
        document = document["Resources"]
    elif isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise InvalidSyntax("the body is a JSON array of users or a ListResponse")
    yield from enumerate(document, start=1)


def seed_items(raw: bytes, content_type: str) -> Iterator[tuple[int, Any]]:
    """(line, user or the error of that line) for a seed body: CSV (``text/csv``), NDJSON
    (``application/x-ndjson``), or JSON (an array or a ListResponse; ``line`` is then the
    item's position). Raises InvalidSyntax / InvalidValue when the body as a whole is bad."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidSyntax("the body is not UTF-8") from None
    kind = content_type.split(";", 1)[0].strip().lower()
    if "csv" in kind:
        return _csv_items(text)
    if "ndjson" in kind or "jsonl" in kind:
        return _ndjson_items(text)
    return _json_items(text)


def seed_users(
    engine: Engine,
    company_id: str,
    raw: bytes,
    content_type: str,
    *,
    strict: bool,
    clock: Clock,
) -> SeedReport:
    """Create each user of the body through ``services.users.create_user`` (``strict``: the
    Concur dialects' validation), one transaction per user, so a refused user leaves nothing
    and does not stop the others. Raises NotFound for an unknown company."""
    with unit_of_work(engine, write=False) as conn:
        if not store.company_exists(conn, company_id):
            raise NotFound(f"no company {company_id}")
    items = list(seed_items(raw, content_type))  # a malformed body fails before any write
    report = SeedReport()
    for line, item in items:
        if isinstance(item, ScimError):
            report.failed.append({"line": line, "detail": item.detail})
            continue
        try:
            with unit_of_work(engine, write=True) as conn:
                create_user(conn, company_id, item, clock=clock, strict=strict)
        except ScimError as error:
            report.failed.append({"line": line, "detail": error.detail})
            continue
        report.created += 1
    return report
