"""User Provisioning v4 routes (reference/concur-v4.md §3), under ``/profile/v4`` and the
legacy ``/provisioning/v4`` (§9 item 1).

- ``POST /Users`` (201), ``PUT``/``PATCH /Users/{id}`` (200): identity is applied now, through
  the same user service as every dialect; the answer is the identity view plus
  ``meta.statusUrl`` and ``meta.provisionId``, with ``meta.location`` on Identity v4 (§3.5),
  trimmed to the token's read scopes (§7, ``api/scopes.py`` ``hide_unreadable``).
  Spend and travel extensions are queued for the worker. ``DELETE /Users/{id}``: 204, hard.
- ``POST /Bulk``: checked and stored in one transaction, then **202** with the
  Provision:Status (§3.3, §3.4); the worker resolves it.
- ``GET /provisions/{id}/status``: the stored status (``attributes=operations``,
  ``startIndex``, ``count``, ``state``).
- ``POST /Users/.search``: User Retrieval v4 (§1, §3.1), see ``api/user_retrieval.py``.
- Discovery: ``/ServiceProviderConfig`` (bulk limits as enforced), ``/ResourceTypes`` (a
  bare array, §3.7, every provisionable extension), ``/Schemas`` (with Provision:Status and
  Concur's Error).

The optional ``companyId`` query parameter (§3.1) must name the caller's company.
"""

from __future__ import annotations

import copy
import dataclasses
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Connection
from starlette.background import BackgroundTask
from starlette.responses import Response

from concur_scim.api.deps import (
    CompanyDep,
    PrincipalDep,
    ReadConn,
    Services,
    ServicesDep,
    UnitOfWorkRoute,
    WriteConn,
    json_body,
    read_json,
)
from concur_scim.api.dialects import IDENTITY_V4, Dialect
from concur_scim.api.discovery import RESOURCE_TYPE_URN, service_provider_config
from concur_scim.api.limits import JsonLimits
from concur_scim.api.params import _int
from concur_scim.api.provision_status import render_status, status_url
from concur_scim.api.render import render
from concur_scim.api.responses import ScimResponse, list_response
from concur_scim.api.scopes import (
    check_bulk_operation,
    hide_unreadable,
    keep_external_id,
    readable_path,
    require,
    user_attributes,
)
from concur_scim.api.user_retrieval import SearchBody
from concur_scim.api.user_retrieval import search as user_retrieval_search
from concur_scim.scim.errors import InvalidValue, NotFound
from concur_scim.scim.lint import LINT_URN, lint_user, wants_lint
from concur_scim.scim.provision_schemas import PROVISION_SCHEMAS
from concur_scim.scim.registry import ENTERPRISE_USER, schema_documents, user_schema
from concur_scim.services import bulk, extensions
from concur_scim.services import provisioning as service
from concur_scim.services import users as user_service
from concur_scim.store import provisions as store
from concur_scim.store.provisions import NewOperation

STATES = ("pending", "success", "failed")
MAX_STATUS_PAGE = 1000


def _company(request: Request, company: CompanyDep) -> str:
    """The caller's company; a ``companyId`` query parameter must name it (§3.1)."""
    for key, value in request.query_params.items():
        if key.lower() == "companyid" and value.strip().lower() != company.lower():
            raise InvalidValue("'companyId' must be the company of the access token")
    return company


UpsCompany = Annotated[str, Depends(_company)]


async def bulk_body(request: Request, svc: ServicesDep) -> Any:
    """The /Bulk body, refused with 413 past ``bulk_max_payload_bytes`` before parsing."""
    limits = JsonLimits.from_settings(svc.settings)
    return await read_json(request, svc.settings.bulk_max_payload_bytes, limits)


BulkBody = Annotated[Any, Depends(bulk_body)]


UserBody = Annotated[Any, Depends(json_body)]
WRITE = [require("ups", "write"), user_attributes(provisioning=True)]


def _root(request: Request, dialect: Dialect) -> str:
    return str(request.base_url).rstrip("/") + dialect.prefix


def ups_router(dialect: Dialect) -> APIRouter:
    """The UPS routes under ``dialect.prefix``."""
    router = APIRouter(prefix=dialect.prefix, route_class=UnitOfWorkRoute)

    def identity_view(
        request: Request,
        outcome: service.IdentityOutcome,
        provision_id: str,
        status: int,
        lint: list[dict[str, str]] | None = None,
    ) -> Response:
        assert outcome.record is not None
        identity_root = _root(request, IDENTITY_V4)
        body = render(
            outcome.record,
            user_schema(),
            identity_root,
            integer_version=True,
            always_schemas=IDENTITY_V4.always_schemas,
            user_defaults=True,
        )
        # Only what the token may read (§7), as an Identity v4 read of the user would show.
        hide_unreadable(body, request.state.principal)
        body["meta"].update(
            statusUrl=status_url(_root(request, dialect), provision_id), provisionId=provision_id
        )
        body.update({} if lint is None else {LINT_URN: {"findings": lint}})
        headers = {"Location": body["meta"]["location"]}
        return ScimResponse(body, status_code=status, headers=headers)

    def users_request(
        request: Request,
        company: str,
        conn: Connection,
        svc: Services,
        method: str,
        user_id: str | None,
        body: Any,
        status: int,
    ) -> Response:
        if method == "PUT" and user_id is not None:
            keep_external_id(request.state.principal, conn, company, user_id, body)
        operation = _linted(request, svc, company, bulk.user_operation(body, method, user_id))
        outcome, provision_id = service.provision_user(
            conn,
            company,
            operation,
            correlation_id=request.state.correlation_id,
            clock=svc.clock,
        )
        response = identity_view(request, outcome, provision_id, status, operation.lint)
        if outcome.apply:
            # Background tasks run after the response, so after the commit: the woken
            # worker finds the request at once.
            response.background = BackgroundTask(svc.wake_worker)
        return response

    @router.post("/Users", status_code=201, dependencies=WRITE)
    def create(
        request: Request, company: UpsCompany, conn: WriteConn, body: UserBody, svc: ServicesDep
    ) -> Response:
        return users_request(request, company, conn, svc, "POST", None, body, 201)

    @router.post("/Users/.search", dependencies=[require("ups", "search")])
    def search(
        request: Request, company: UpsCompany, conn: ReadConn, body: SearchBody, svc: ServicesDep
    ) -> Response:
        return user_retrieval_search(request, dialect, company, conn, body, svc.settings)

    @router.put("/Users/{user_id}", dependencies=WRITE)
    def replace(
        user_id: str,
        request: Request,
        company: UpsCompany,
        conn: WriteConn,
        body: UserBody,
        svc: ServicesDep,
    ) -> Response:
        return users_request(request, company, conn, svc, "PUT", user_id, body, 200)

    @router.patch("/Users/{user_id}", dependencies=WRITE)
    def patch(
        user_id: str,
        request: Request,
        company: UpsCompany,
        conn: WriteConn,
        body: UserBody,
        svc: ServicesDep,
    ) -> Response:
        return users_request(request, company, conn, svc, "PATCH", user_id, body, 200)

    @router.delete("/Users/{user_id}", status_code=204, dependencies=[require("ups", "delete")])
    def delete(user_id: str, company: UpsCompany, conn: WriteConn, svc: ServicesDep) -> Response:
        user_service.delete_user(conn, company, user_id, clock=svc.clock)
        return Response(status_code=204)

    @router.post("/Bulk", status_code=202, dependencies=[require("ups", "bulk")])
    def submit(
        request: Request,
        company: UpsCompany,
        conn: WriteConn,
        body: BulkBody,
        svc: ServicesDep,
        principal: PrincipalDep,
    ) -> Response:
        parsed = _lint_all(
            request,
            svc,
            company,
            bulk.parse_bulk_request(body, max_operations=svc.settings.bulk_max_operations),
        )
        for operation in parsed.operations:  # every operation's scopes, before any is stored
            check_bulk_operation(principal, operation.method, operation.data)
            if operation.method == "PUT":
                target = operation.path.rpartition("/")[2]
                keep_external_id(principal, conn, company, target, operation.data)
        provision_id = service.submit(
            conn,
            company,
            parsed,
            correlation_id=request.state.correlation_id,
            now=svc.clock(),
        )
        provision = store.get_provision(conn, company, provision_id)
        assert provision is not None
        root = _root(request, dialect)
        return ScimResponse(
            render_status(provision, root),
            status_code=202,
            headers={"Location": status_url(root, provision_id)},
            # After the response, so after the commit: a wake-up before it would find nothing.
            background=BackgroundTask(svc.wake_worker),
        )

    @router.get("/provisions/{provision_id}/status", dependencies=[require("ups", "status")])
    def status(
        provision_id: str, request: Request, company: UpsCompany, conn: ReadConn
    ) -> Response:
        provision = store.get_provision(conn, company, provision_id)
        if provision is None:
            raise NotFound(f"provision request {provision_id} not found")
        q = {k.lower(): v for k, v in request.query_params.items()}
        wanted = {a.strip().lower() for a in q.get("attributes", "").split(",")}
        root = _root(request, dialect)
        if "operations" not in wanted:
            return ScimResponse(render_status(provision, root))
        state = q.get("state") or None
        if state is not None and state.lower() not in STATES:
            raise InvalidValue(f"'state' must be one of {', '.join(STATES)}")
        start = max(1, _int("startIndex", q.get("startindex", 1)))
        count = max(0, min(_int("count", q.get("count", MAX_STATUS_PAGE)), MAX_STATUS_PAGE))
        operations, total = store.operation_page(
            conn,
            provision_id,
            state=state.lower() if state else None,
            offset=start - 1,
            limit=count,
        )
        results = store.get_results(conn, provision_id, [op.position for op in operations])
        return ScimResponse(render_status(provision, root, (operations, total, start), results))

    _discovery(router, dialect)
    return router


def _lint_all(
    request: Request, svc: Services, company: str, parsed: bulk.BulkRequest
) -> bulk.BulkRequest:
    """``parsed`` with each operation linted by :func:`_linted`."""
    operations = [_linted(request, svc, company, op) for op in parsed.operations]
    request.state.lint = None  # each operation's report is in the status, not in an error
    return dataclasses.replace(parsed, operations=operations)


def _linted(request: Request, svc: Services, company: str, operation: NewOperation) -> NewOperation:
    """``operation`` with its lint report (scim/lint.py) when the request asks for one
    (``Prefer: concur-lint`` or ``CONCUR_SCIM_LINT=always``): stored with the operation and
    shown in the provision's status, and kept on the request so that a refused write's
    error carries it too. The report reads the body as sent, identity and extensions."""
    if svc.settings.lint != "always" and not wants_lint(request.headers.get("prefer")):
        return operation
    lint = partial(
        lint_user,
        copy.deepcopy(operation.data),
        service.provisioning_schema(),
        company_id=company,
        patch=operation.method == "PATCH",
    )
    request.state.lint = lint
    principal = request.state.principal
    findings = [f.to_json() for f in lint(stored=None) if readable_path(principal, f.schema_path)]
    return dataclasses.replace(operation, lint=findings)


def _discovery(router: APIRouter, dialect: Dialect) -> None:
    """The UPS discovery routes (§3.1, §3.7) on ``router``."""
    provision_read = [require("ups", "discovery")]

    @router.get("/ServiceProviderConfig", dependencies=[require("ups", "config")])
    def spc(request: Request, _company: UpsCompany, svc: ServicesDep) -> Response:
        return ScimResponse(service_provider_config(svc.settings, dialect, _root(request, dialect)))

    @router.get("/ResourceTypes", dependencies=provision_read)
    def resource_types(request: Request, _company: UpsCompany) -> Response:
        return ScimResponse([_user_type(_root(request, dialect))])  # a bare array (§3.7)

    @router.get("/ResourceTypes/{name}", dependencies=provision_read)
    def one_resource_type(name: str, request: Request, _company: UpsCompany) -> Response:
        if name.lower() != "user":
            raise NotFound(f"resource type {name} not found")
        return ScimResponse(_user_type(_root(request, dialect)))

    @router.get("/Schemas", dependencies=provision_read)
    def all_schemas(request: Request, _company: UpsCompany) -> Response:
        items = _schemas(_root(request, dialect))
        return ScimResponse(list_response(items, total=len(items), start_index=1))

    @router.get("/Schemas/{urn}", dependencies=provision_read)
    def one_schema(urn: str, request: Request, _company: UpsCompany) -> Response:
        for item in _schemas(_root(request, dialect)):
            if item["id"].lower() == urn.lower():
                return ScimResponse(item)
        raise NotFound(f"schema {urn} not found")


def _user_type(root: str) -> dict[str, Any]:
    """The UPS User resource type (§3.7): enterprise required, every other extension that
    UPS provisions listed as optional (ApproverLimit, InvoicePreference and sap too)."""
    user = user_schema()
    served = [e.urn for e in user.extensions if e.urn != ENTERPRISE_USER]
    optional = [*extensions.DOWNSTREAM_URNS, *served]
    return {
        "schemas": [RESOURCE_TYPE_URN],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "Concur User",
        "schema": user.core.urn,
        "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": True}]
        + [{"schema": urn, "required": False} for urn in optional],
        "meta": {"resourceType": "ResourceType", "location": f"{root}/ResourceTypes/User"},
    }


def _schemas(root: str) -> list[dict[str, Any]]:
    urns = (*user_schema().schema_urns, *extensions.DOWNSTREAM_URNS)
    items = [*schema_documents(urns, concur=True), *PROVISION_SCHEMAS]
    return [
        {**item, "meta": {"resourceType": "Schema", "location": f"{root}/Schemas/{item['id']}"}}
        for item in items
    ]
