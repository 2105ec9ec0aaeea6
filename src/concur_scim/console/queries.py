"""What the console pages show, read from the store (README "Console").

Every function runs in the caller's read transaction, and none walks the directory: users
are paged by cursor on ``seq`` (the index every list uses), totals come from the live-user
count (store/user_counts.py) and a filtered list is never counted; operations are paged by
position; the journal is bounded by ``CONCUR_SCIM_REQUEST_LOG_KEEP`` per company. What a
filter costs is what the same filter costs on ``/scim/v2`` (bench/README.md "Console at
1,000,000 users"); the companies page counts each company's groups and provisioning
requests (kept ``CONCUR_SCIM_STATUS_RETENTION_DAYS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from concur_scim.api.dialects import (
    GENERIC_SCIM,
    IDENTITY_V4,
    IDENTITY_V41,
    SCIM_V4,
    UPS_V4,
    Dialect,
)
from concur_scim.api.provision_status import render_operation
from concur_scim.api.render import render
from concur_scim.api.user_retrieval import retrieved_user
from concur_scim.api.views import SPEND_PREFIX, TRAVEL_PREFIX, spend_resource
from concur_scim.scim.errors import NotFound, ScimError
from concur_scim.scim.filter import parse_filter
from concur_scim.scim.lint import LINT_URN, lint_user
from concur_scim.scim.registry import CORE_USER, user_schema
from concur_scim.services import extensions
from concur_scim.services.credentials import list_companies
from concur_scim.services.provisioning import EXTENSION_NAMES
from concur_scim.services.users import attach_groups, get_user, list_users
from concur_scim.store import provisions as provision_store
from concur_scim.store.paging import ListQuery
from concur_scim.store.records import ResourceRecord
from concur_scim.store.tables import groups, provisions
from concur_scim.store.user_counts import live_users

USERS_PER_PAGE = 50
OPERATIONS_PER_PAGE = 100
# The dialects that read users, in the order the user page shows them side by side.
USER_DIALECTS: tuple[Dialect, ...] = (GENERIC_SCIM, IDENTITY_V4, IDENTITY_V41, SCIM_V4)
# Extension results the grid colours as a success (reference §3.4: no-op counts as one).
SUCCESSES = frozenset({"success", "no-op"})


@dataclass(frozen=True)
class CompanyCard:
    """One company on the companies page."""

    id: str
    name: str
    is_default: bool
    created: str
    users: int
    groups: int
    provisions: int
    pending: int


def companies(conn: Connection) -> list[CompanyCard]:
    """Every company with its live users, groups and provisioning requests."""
    by_company = select(groups.c.company_id, func.count()).group_by(groups.c.company_id)
    group_counts: dict[str, int] = {str(c): int(n) for c, n in conn.execute(by_company)}
    request_counts: dict[str, tuple[int, int]] = {}
    rows = conn.execute(
        select(
            provisions.c.company_id,
            func.count(),
            func.count().filter(provisions.c.state == "pending"),
        ).group_by(provisions.c.company_id)
    )
    for company_id, total, pending in rows:
        request_counts[company_id] = (int(total), int(pending))
    return [
        CompanyCard(
            id=c.company_id,
            name=c.name,
            is_default=c.is_default,
            created=c.created.isoformat(timespec="seconds"),
            users=live_users(conn, c.company_id),
            groups=int(group_counts.get(c.company_id, 0)),
            provisions=request_counts.get(c.company_id, (0, 0))[0],
            pending=request_counts.get(c.company_id, (0, 0))[1],
        )
        for c in list_companies(conn)
    ]


@dataclass(frozen=True)
class UserRow:
    """One line of the users page."""

    id: str
    user_name: str
    display_name: str
    external_id: str
    active: bool
    last_modified: str


@dataclass(frozen=True)
class UserPage:
    """One page of users: ``total`` is None for a filtered list (never counted);
    ``next_after`` is the ``seq`` to continue after, None on the last page."""

    rows: list[UserRow]
    total: int | None
    next_after: int | None


def _user_row(record: ResourceRecord) -> UserRow:
    doc = record.doc
    raw_name = doc.get("name")
    name: dict[str, Any] = raw_name if isinstance(raw_name, dict) else {}
    display = doc.get("displayName") or " ".join(
        str(p) for p in (name.get("givenName"), name.get("familyName")) if p
    )
    return UserRow(
        id=record.id,
        user_name=str(doc.get("userName", "")),
        display_name=str(display or ""),
        external_id=str(doc.get("externalId") or ""),
        active=doc.get("active", True) is not False,
        last_modified=record.last_modified.isoformat(timespec="seconds"),
    )


def user_page(conn: Connection, company_id: str, filter_text: str, after: int | None) -> UserPage:
    """Users of ``company_id`` matching the SCIM filter ``filter_text`` (RFC 7644 §3.4.2.2;
    empty: all), :data:`USERS_PER_PAGE` after ``seq`` ``after``. A bad filter raises the
    same ScimError (400 ``invalidFilter``) as ``/scim/v2/Users?filter=``."""
    expr = parse_filter(filter_text) if filter_text.strip() else None
    query = ListQuery(
        filter=expr, limit=USERS_PER_PAGE, after_seq=after, cursor=True, want_total=False
    )
    page = list_users(conn, company_id, query)
    total = live_users(conn, company_id) if expr is None else None
    return UserPage([_user_row(r) for r in page.records], total, page.next_seq)


@dataclass(frozen=True)
class Panel:
    """One document of the user page: a title, the URL that answers it, the body."""

    title: str
    url: str
    body: dict[str, Any] | None
    note: str = ""


@dataclass(frozen=True)
class UserViews:
    """A user as every dialect shows it, and each stored extension."""

    id: str
    user_name: str
    dialects: list[Panel]
    extensions: list[Panel]


def user_views(conn: Connection, company_id: str, user_id: str, root: str) -> UserViews:
    """The user as each of :data:`USER_DIALECTS` answers ``GET …/Users/{id}`` (Concur's
    Identity APIs add their defaults, integer versions and schema list: api/render.py) and
    as User Retrieval finds it (User Provisioning v4's one read, with the spend, payroll and
    travel documents), then the spend view (§6.17) and the travel view.
    Raises NotFound (404) for an unknown user."""
    record = attach_groups(conn, [get_user(conn, company_id, user_id)])[0]
    resource = user_schema()
    panels = []
    for dialect in USER_DIALECTS:
        base = root + dialect.prefix
        body = render(
            record,
            resource,
            base,
            integer_version=dialect.integer_version,
            always_schemas=dialect.always_schemas,
            user_defaults=dialect.user_defaults,
        )
        panels.append(Panel(dialect.name, f"{base}/Users/{record.id}", body))
    stored = extensions.get_user_extensions(conn, company_id, user_id, extensions.DOWNSTREAM_URNS)
    # User Provisioning v4 reads users only through User Retrieval's search.
    retrieved = retrieved_user(record, stored.docs, root)
    panels.append(
        Panel(
            "ups-v4 user retrieval",
            f'{root}{UPS_V4.prefix}/Users/.search  filter=id eq "{record.id}"',
            retrieved,
        )
    )
    spend = extensions.get_spend_user(conn, company_id, user_id)
    shown = [
        Panel("spend", f"{root}{SPEND_PREFIX}/Users/{user_id}", spend_resource(spend, root)),
        Panel(
            "travel",
            f"{root}{TRAVEL_PREFIX}/Users/{user_id}",
            {"id": user_id, extensions.TRAVEL_USER: stored.docs.get(extensions.TRAVEL_USER, {})},
            "" if extensions.TRAVEL_USER in stored.docs else "no travel document stored",
        ),
    ]
    return UserViews(record.id, str(record.doc.get("userName", "")), panels, shown)


def column_label(urn: str) -> str:
    """A short column heading for an extension URN: ``spend Role``, ``core User``."""
    parts = urn.split(":")
    return f"{parts[-3]} {parts[-1]}" if len(parts) >= 3 else urn


@dataclass(frozen=True)
class Cell:
    """One extension of one operation: ``state`` is a result (``success``, ``no-op``,
    ``error``, ``not-processed``), ``pending``, or ``absent`` (finished without one)."""

    urn: str
    state: str
    code: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tone(self) -> str:
        """The colour class: ok, failed, skipped, pending or absent."""
        if self.state in SUCCESSES:
            return "ok"
        if self.state == "error":
            return "failed"
        if self.state == "not-processed":
            return "skipped"
        return self.state


@dataclass(frozen=True)
class GridRow:
    """One operation: its position, bulkId, method, user, overall state and cells."""

    position: int
    bulk_id: str
    method: str
    user_id: str | None
    user_name: str
    state: str
    code: str | None
    cells: list[Cell]
    status: dict[str, Any]


@dataclass(frozen=True)
class Grid:
    """One page of a provisioning request as operations by extensions."""

    id: str
    company_id: str
    provision_type: str
    state: str
    success: bool | None
    created: str
    completed: str | None
    counts: dict[str, int]
    columns: list[str]
    rows: list[GridRow]
    total_operations: int
    start: int
    correlation_id: str = ""
    page_size: int = OPERATIONS_PER_PAGE

    @property
    def labels(self) -> list[tuple[str, str]]:
        """Each column's URN and short heading."""
        return [(urn, column_label(urn)) for urn in self.columns]


def _op_state(op: provision_store.OperationRecord) -> str:
    if not op.done:
        return "pending"
    return "ok" if op.success else "failed"


def _sent_urns(data: Any) -> set[str]:
    """The extension URNs an operation's body names (canonical spelling)."""
    if not isinstance(data, dict):
        return set()
    known = {u.lower(): u for u in EXTENSION_NAMES}
    found = {known[k.lower()] for k in data if isinstance(k, str) and k.lower() in known}
    for key in data:
        urn = extensions.downstream_urn(key) if isinstance(key, str) else None
        if urn is not None:
            found.add(urn)
    return found


def provision_grid(conn: Connection, provision_id: str, start: int, state: str | None) -> Grid:
    """Operations ``start``.. (1-based, :data:`OPERATIONS_PER_PAGE` of them, filtered by
    ``state``: pending, success or failed) of a request, each with its extension results.

    The columns are the extensions any operation of the page sent or got a result for, in
    the order the worker resolves them (services/provisioning.py ``EXTENSION_NAMES``).
    Raises NotFound (404) for an unknown request."""
    company_id = provision_store.provision_company(conn, provision_id)
    if company_id is None:
        raise NotFound(f"no provisioning request {provision_id}")
    request = provision_store.get_provision(conn, company_id, provision_id)
    if request is None:
        raise NotFound(f"no provisioning request {provision_id}")
    ops, total = provision_store.operation_page(
        conn, provision_id, state=state, offset=start - 1, limit=OPERATIONS_PER_PAGE
    )
    results = provision_store.get_results(conn, provision_id, [op.position for op in ops])
    used = {CORE_USER}
    for op in ops:
        used |= _sent_urns(op.data) | {r.urn for r in results.get(op.position, [])}
    columns = [u for u in EXTENSION_NAMES if u in used]
    rows = []
    for op in ops:
        mine = {r.urn: r for r in results.get(op.position, [])}
        cells = []
        for urn in columns:
            found = mine.get(urn)
            if found is not None:
                cells.append(Cell(urn, found.result, found.code, found.messages))
            else:
                cells.append(Cell(urn, "pending" if not op.done else "absent"))
        data = op.data if isinstance(op.data, dict) else {}
        rows.append(
            GridRow(
                position=op.position,
                bulk_id=op.bulk_id,
                method=op.method,
                user_id=op.resource_id,
                user_name=str(data.get("userName") or ""),
                state=_op_state(op),
                code=op.code,
                cells=cells,
                status=render_operation(op, list(mine.values())),
            )
        )
    return Grid(
        id=request.id,
        company_id=request.company_id,
        provision_type=request.provision_type,
        state=request.state,
        success=request.success,
        created=request.created.isoformat(timespec="seconds"),
        completed=request.completed.isoformat(timespec="seconds") if request.completed else None,
        counts={
            "total": request.total,
            "success": request.succeeded,
            "failed": request.failed,
            "pending": request.pending,
        },
        columns=columns,
        rows=rows,
        total_operations=total,
        start=start,
        correlation_id=request.correlation_id,
    )


_USER_WRITES = frozenset({"POST", "PUT", "PATCH"})


def journal_lint(entry: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The lint findings of a journaled request (scim/lint.py) and where they come from.

    The answer's own report when the request asked for one (``Prefer: concur-lint``);
    otherwise, for a user write whose JSON body the journal kept whole, the findings of the
    body as sent: what Concur would do with it. ``("", [])`` for anything else."""
    response = entry.get("response") or {}
    answered = response.get("json") if isinstance(response, dict) else None
    if isinstance(answered, dict) and isinstance(answered.get(LINT_URN), dict):
        findings = answered[LINT_URN].get("findings")
        if isinstance(findings, list):
            return "the answer's lint report", [f for f in findings if isinstance(f, dict)]
    request = entry.get("request") or {}
    body = request.get("json") if isinstance(request, dict) else None
    path = str(entry.get("path") or "")
    is_user = "/Users" in path and not path.rstrip("/").endswith(("/Bulk", ".search"))
    if entry.get("method") not in _USER_WRITES or not is_user or not isinstance(body, dict):
        return "", []
    try:
        found = lint_user(
            body,
            user_schema(),
            stored=None,
            company_id=str(entry.get("company") or ""),
            patch=entry.get("method") == "PATCH",
        )
    except ScimError as error:  # a body no write could read: the answer said why
        return f"the request body could not be linted: {error.detail}", []
    return "the request body, linted now", [f.to_json() for f in found]
