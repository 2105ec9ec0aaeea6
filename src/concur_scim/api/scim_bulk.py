"""``POST /Bulk`` of the generic dialect: RFC 7644 §3.7 synchronous Bulk.

The route reads the body under its own byte limit (413 before parsing, §3.7.4), checks the
BulkRequest (``scim/bulk_request.py``: 413 past ``maxOperations``, 400 ``invalidSyntax`` for
a malformed message), then applies the operations in the request's transaction
(``services/scim_bulk.py``: each in a SAVEPOINT, through the single routes' service
functions) and answers **200** with a BulkResponse (§3.7.3): per processed operation its
``method``, ``bulkId``, ``location``, ``version`` (the entity tag, on success) and
``status`` as a string, and for a failure ``response`` holding the SCIM Error. Like the
RFC's examples, no result carries a resource body, so nothing is shown that the token's read
scopes would hide (``api/scopes.py`` ``hide_unreadable``).

Scopes (reference/concur-v4.md §7): the route needs a token able to write something
(``RULES["scim_bulk", "submit"]``); each operation then needs exactly what its single route
needs, checked inside that operation (``check_scim_bulk_operation``): a refused operation
fails with 403 and the others run. A user PUT without the externalId scope keeps the stored
``externalId``, as on ``PUT /Users/{id}``.

:func:`bulk_limits` is the one source of the limits: the ServiceProviderConfig of every
dialect publishes what it returns (``api/discovery.py``), and the routes enforce the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Connection
from starlette.responses import Response

from concur_scim.api.deps import (
    CompanyDep,
    Principal,
    PrincipalDep,
    ServicesDep,
    UnitOfWorkRoute,
    WriteConn,
    read_json,
)
from concur_scim.api.dialects import GENERIC_SCIM, Dialect, dialect_for_path
from concur_scim.api.limits import JsonLimits
from concur_scim.api.resources import base_url
from concur_scim.api.responses import ScimResponse, concur_error_body
from concur_scim.api.scopes import (
    check_scim_bulk_operation,
    keep_external_id,
    readable_error,
    readable_path,
    require,
)
from concur_scim.config import Settings
from concur_scim.scim import bulk_request
from concur_scim.scim.bulk_request import BULK_RESPONSE_URN, BulkRequest
from concur_scim.scim.lint import LINT_URN, lint_object, lint_user, wants_lint
from concur_scim.scim.registry import group_schema, user_schema
from concur_scim.services.scim_bulk import Authorize, OperationResult, Target, apply_bulk

# The dialects that serve RFC 7644 synchronous Bulk at ``{prefix}/Bulk``.
SYNC_BULK_DIALECTS: tuple[Dialect, ...] = (GENERIC_SCIM,)


@dataclass(frozen=True)
class BulkLimits:
    """What one Bulk request may hold: operations, and bytes of body."""

    max_operations: int
    max_payload_bytes: int


def bulk_limits(settings: Settings, dialect: Dialect) -> BulkLimits | None:
    """The Bulk limits ``dialect`` enforces, or None when it serves no Bulk: User
    Provisioning's (Concur's figures, reference §3.2) or the synchronous Bulk's."""
    if dialect.bulk:
        return BulkLimits(settings.bulk_max_operations, settings.bulk_max_payload_bytes)
    if dialect in SYNC_BULK_DIALECTS:
        return BulkLimits(settings.scim_bulk_max_operations, settings.scim_bulk_max_payload_bytes)
    return None


async def bulk_request_body(request: Request, svc: ServicesDep) -> BulkRequest:
    """The checked BulkRequest of the dialect the path belongs to: 413 past either of its
    :func:`bulk_limits` (the byte limit before parsing), 400 for a body that is not JSON or
    not a BulkRequest."""
    dialect = dialect_for_path(request.url.path)
    limits = bulk_limits(svc.settings, dialect) if dialect is not None else None
    assert limits is not None  # mounted for SYNC_BULK_DIALECTS only
    json_limits = JsonLimits.from_settings(svc.settings)
    body = await read_json(request, limits.max_payload_bytes, json_limits)
    return bulk_request.parse(body, max_operations=limits.max_operations)


BulkRequestDep = Annotated[BulkRequest, Depends(bulk_request_body)]


def scim_bulk_router(dialect: Dialect) -> APIRouter:
    """``POST {dialect.prefix}/Bulk`` for a dialect of :data:`SYNC_BULK_DIALECTS`."""
    if dialect.strict or dialect.soft_delete:
        # The operations get the generic dialect's write options; a Concur dialect would
        # also need its validation and delete options passed through.
        raise ValueError(f"synchronous Bulk is not offered on {dialect.name}")
    router = APIRouter(prefix=dialect.prefix, route_class=UnitOfWorkRoute)

    @router.post("/Bulk", dependencies=[require("scim_bulk", "submit")])
    def submit(
        request: Request,
        company: CompanyDep,
        principal: PrincipalDep,
        svc: ServicesDep,
        parsed: BulkRequestDep,  # before ``conn``: a refused body never waits to write
        conn: WriteConn,
    ) -> Response:
        results = apply_bulk(
            conn,
            company,
            parsed,
            clock=svc.clock,
            authorize=_authorizer(principal, company),
            user_options=_user_options(svc.settings),
        )
        root = base_url(request, dialect)
        lint = svc.settings.lint == "always" or wants_lint(request.headers.get("prefer"))
        body = {
            "schemas": [BULK_RESPONSE_URN],
            "Operations": [_render(r, root, dialect, principal, lint=lint) for r in results],
        }
        return ScimResponse(body)

    return router


def _authorizer(principal: Principal, company_id: str) -> Authorize:
    """The per-operation check: the single route's scopes and attribute rules."""

    def authorize(conn: Connection, target: Target) -> None:
        family = "users" if target.resource_type == "User" else "groups"
        check_scim_bulk_operation(principal, family, target.method, target.data)
        if family == "users" and target.method == "PUT" and target.resource_id is not None:
            keep_external_id(principal, conn, company_id, target.resource_id, target.data)

    return authorize


def _user_options(settings: Settings) -> dict[str, Any]:
    """The user service options the single /scim/v2 user routes pass (api/resources.py)."""
    options: dict[str, Any] = {}
    if settings.unknown_manager == "store":
        options["check_manager"] = False
    if settings.generic_values == "any":
        options["concur_values"] = False
    return options


def _render(
    result: OperationResult, root: str, dialect: Dialect, principal: Principal, *, lint: bool
) -> dict[str, Any]:
    """One BulkResponse operation (RFC 7644 §3.7.3): ``location`` always, but for a failed
    POST (which created nothing), ``status`` as a string, as the RFC's examples show; an
    error without what the token may not read (§7); the operation's lint report
    (scim/lint.py) when the request asked for it."""
    operation = result.operation
    out: dict[str, Any] = {}
    if result.resource_id is not None:
        out["location"] = f"{root}/{operation.endpoint}/{result.resource_id}"
    out["method"] = operation.method
    if operation.bulk_id is not None:
        out["bulkId"] = operation.bulk_id
    if result.version is not None:
        out["version"] = result.version
    out["status"] = str(result.status)
    if result.error is not None:
        error = readable_error(result.error, principal)
        out["response"] = concur_error_body(error) if dialect.concur_errors else error.to_body()
    if lint:
        users = operation.endpoint == "Users"
        findings = lint_user(
            operation.data,
            user_schema() if users else group_schema(),
            stored=None,
            company_id=principal.company_id,
            patch=operation.method == "PATCH",
            concur_rules=users,
        )
        out[LINT_URN] = lint_object(
            [f for f in findings if readable_path(principal, f.schema_path)]
        )
    return out
