"""The resource router: one set of thin handlers serving Users and Groups for any dialect.

A :class:`ResourceKind` binds a resource type to its service functions; a
:class:`~concur_scim.api.dialects.Dialect` says how to answer. Handlers parse, call one
service function, render. RFC 7644 §3.3-§3.6 (CRUD), §3.4.2 (list), §3.4.3 (``.search``),
§3.14 (ETags).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import Response

from concur_scim.api.deps import (
    BodyDep,
    CompanyDep,
    ReadCall,
    ReadConn,
    Services,
    ServicesDep,
    UnitOfWorkRoute,
    WriteConn,
)
from concur_scim.api.dialects import Dialect
from concur_scim.api.params import (
    ListRequest,
    encode_cursor,
    parse_list_request,
    search_params,
    short_read,
)
from concur_scim.api.render import location, render
from concur_scim.api.responses import ScimResponse, list_response
from concur_scim.api.scopes import (
    check_user_query,
    hide_unreadable,
    keep_external_id,
    readable_path,
    reader,
    require,
    user_attributes,
)
from concur_scim.scim.lint import LINT_URN, lint_object, lint_user, wants_lint
from concur_scim.scim.projection import Projection
from concur_scim.scim.registry import ResourceSchema, group_schema, user_schema
from concur_scim.services import groups as group_service
from concur_scim.services import users as user_service
from concur_scim.store.paging import ListQuery
from concur_scim.store.records import Page, ResourceRecord

SEARCH_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@dataclass(frozen=True)
class ResourceKind:
    """A resource type and the service functions that implement it."""

    schema: Callable[[], ResourceSchema]
    create: Callable[..., ResourceRecord]
    get: Callable[..., ResourceRecord]
    replace: Callable[..., ResourceRecord]
    patch: Callable[..., ResourceRecord]
    delete: Callable[..., None]
    search: Callable[..., Page]
    derived: str  # the attribute computed from other rows: Group.members, User.groups
    attach: Callable[[Connection, list[ResourceRecord]], list[ResourceRecord]]


USERS = ResourceKind(
    schema=user_schema,
    create=user_service.create_user,
    get=user_service.get_user,
    replace=user_service.replace_user,
    patch=user_service.patch_user,
    delete=user_service.delete_user,
    search=user_service.list_users,
    derived="groups",
    attach=user_service.attach_groups,
)
GROUPS = ResourceKind(
    schema=group_schema,
    create=group_service.create_group,
    get=group_service.get_group,
    replace=group_service.replace_group,
    patch=group_service.patch_group,
    delete=group_service.delete_group,
    search=group_service.list_groups,
    derived="members",
    attach=group_service.attach_members,
)
KINDS = {"User": USERS, "Group": GROUPS}


def base_url(request: Request, dialect: Dialect) -> str:
    """The absolute root of ``dialect`` as the client reached it."""
    return str(request.base_url).rstrip("/") + dialect.prefix


def resource_router(kind: ResourceKind, dialect: Dialect) -> APIRouter:
    """The routes of one resource type under one dialect."""
    resource = kind.schema()
    router = APIRouter(prefix=dialect.prefix + resource.endpoint, route_class=UnitOfWorkRoute)
    # Concur's constraints and soft delete apply to the dialects that ask for them.
    write_options: dict[str, Any] = {"strict": True} if dialect.strict else {}
    delete_options: dict[str, Any] = {"soft": True} if dialect.soft_delete else {}
    family = "users" if kind is USERS else "groups"  # api/scopes.py RULES
    # Attribute scopes (externalId) apply to users only.
    write = [require(family, "write"), *([user_attributes()] if kind is USERS else [])]

    def one(
        conn: Connection,
        request: Request,
        record: ResourceRecord,
        projection: Projection,
        status: int = 200,
    ) -> Response:
        if projection.includes(resource, kind.derived):
            record = kind.attach(conn, [record])[0]
        shown = show(record, base_url(request, dialect))
        body = _write_notes(
            projection.apply(readable(kind, shown, request), resource), request, record
        )
        return ScimResponse(body, status_code=status, headers={"ETag": record.etag})

    def show(record: ResourceRecord, root: str) -> dict[str, Any]:
        return render(
            record,
            resource,
            root,
            integer_version=dialect.integer_version,
            always_schemas=dialect.always_schemas if kind is USERS else (),
            user_defaults=dialect.user_defaults and kind is USERS,
        )

    def many(conn: Connection, request: Request, company: str, parsed: ListRequest) -> Response:
        page = _search(kind, conn, request, company, parsed.query)
        records = page.records
        if records and parsed.projection.includes(resource, kind.derived):
            records = kind.attach(conn, records)
        root = base_url(request, dialect)
        items = [
            parsed.projection.apply(readable(kind, show(r, root), request), resource)
            for r in records
        ]
        cursor = encode_cursor(page.next_seq) if page.next_seq is not None else None
        body = list_response(
            items, total=page.total, start_index=parsed.start_index, next_cursor=cursor
        )
        return ScimResponse(body)

    @router.post("", status_code=201, dependencies=write)
    def create(
        request: Request,
        company: CompanyDep,
        conn: WriteConn,
        body: BodyDep,
        svc: ServicesDep,
    ) -> Response:
        record = kind.create(
            conn,
            company,
            body,
            clock=svc.clock,
            **_write_options(kind, svc, write_options, request, body),
        )
        response = one(
            conn, request, record, projection_of(request, resource), dialect.create_status
        )
        response.headers["Location"] = location(record, resource, base_url(request, dialect))
        return response

    # The reads identity providers make most (a lookup before every write) take one
    # dependency (api/deps.py ReadCall); short user reads run on the event loop on SQLite.
    read_call = reader(family, _short_user_read(dialect) if kind is USERS else None)

    @router.get("")
    def list_resources(request: Request, call: ReadCall = read_call) -> Response:
        settings = call.services.settings
        parsed = parse_list_request(
            request.query_params, resource, dialect, settings, policy=dialect.list_filter
        )
        return many(call.connection, request, call.company_id, parsed)

    def search(
        request: Request, company: CompanyDep, conn: ReadConn, body: BodyDep, svc: ServicesDep
    ) -> Response:
        params = search_params(body, dialect)
        parsed = parse_list_request(
            params, resource, dialect, svc.settings, policy=dialect.search_filter
        )
        return many(conn, request, company, parsed)

    if dialect.search:
        router.post("/.search", dependencies=[require(family, "search")])(search)

    @router.get("/{resource_id}")
    def read(resource_id: str, request: Request, call: ReadCall = read_call) -> Response:
        record = kind.get(call.connection, call.company_id, resource_id)
        if_none_match = request.headers.get("if-none-match")
        if if_none_match and _matches(record, if_none_match):
            return Response(status_code=304, headers={"ETag": record.etag})
        return one(call.connection, request, record, projection_of(request, resource))

    @router.put("/{resource_id}", dependencies=write)
    def replace(
        resource_id: str,
        request: Request,
        company: CompanyDep,
        conn: WriteConn,
        body: BodyDep,
        svc: ServicesDep,
    ) -> Response:
        if kind is USERS:
            keep_external_id(request.state.principal, conn, company, resource_id, body)
        record = kind.replace(
            conn,
            company,
            resource_id,
            body,
            clock=svc.clock,
            if_match=request.headers.get("if-match"),
            **_write_options(kind, svc, write_options, request, body),
        )
        return one(conn, request, record, projection_of(request, resource))

    @router.patch("/{resource_id}", dependencies=write)
    def patch(
        resource_id: str,
        request: Request,
        company: CompanyDep,
        conn: WriteConn,
        body: BodyDep,
        svc: ServicesDep,
    ) -> Response:
        record = kind.patch(
            conn,
            company,
            resource_id,
            body,
            clock=svc.clock,
            if_match=request.headers.get("if-match"),
            **_write_options(kind, svc, write_options, request, body),
        )
        projection = projection_of(request, resource)
        asked = projection.attributes or projection.excluded or getattr(request.state, "lint", None)
        if kind is GROUPS and dialect.group_patch_no_content and not asked:
            # RFC 7644 §3.5.2 allows 204; Entra prefers it for groups (idp-clients.md §1.4),
            # and it spares echoing a member list that may be 100,000 long. A request for
            # the lint report gets the group and its report (200).
            return Response(status_code=204, headers={"ETag": record.etag})
        return one(conn, request, record, projection)

    @router.delete("/{resource_id}", status_code=204, dependencies=[require(family, "delete")])
    def delete(
        resource_id: str, request: Request, company: CompanyDep, conn: WriteConn
    ) -> Response:
        kind.delete(
            conn, company, resource_id, if_match=request.headers.get("if-match"), **delete_options
        )
        return Response(status_code=204)

    return router


def _short_user_read(dialect: Dialect) -> Callable[[Request, Services], bool]:
    def short(request: Request, svc: Services) -> bool:
        return short_read(request.query_params, svc.settings, dialect)

    return short


def projection_of(request: Request, resource: ResourceSchema) -> Projection:
    """The ``attributes`` / ``excludedAttributes`` of the query (RFC 7644 §3.4.2.5)."""
    q = {k.lower(): v for k, v in request.query_params.items()}
    return Projection.parse(resource, q.get("attributes"), q.get("excludedattributes"))


def _search(
    kind: ResourceKind, conn: Connection, request: Request, company: str, query: ListQuery
) -> Page:
    """One page of ``kind`` for GET ?filter= and POST .search alike (:func:`check_query`)."""
    check_query(kind, request, query)
    return kind.search(conn, company, query)


def check_query(kind: ResourceKind, request: Request, query: ListQuery) -> None:
    """Raises Forbidden (403) when a users filter or ``sortBy`` names an attribute the token
    may not read (reference §7 "Scopes"; ``api/scopes.py`` ``check_user_query``)."""
    if kind is USERS:
        check_user_query(request.state.principal, query.filter, query.sort_by)


def readable(kind: ResourceKind, body: dict[str, Any], request: Request) -> dict[str, Any]:
    """A user as far as the token's read scopes go (reference §7 "Scopes"), in the answer to
    a read and to a write alike: a write may not disclose what the token cannot read."""
    return hide_unreadable(body, request.state.principal) if kind is USERS else body


# A write answer's member listing the warnings of the Concur rules the request broke (rules
# that Concur's own examples show it accepts: scim/rule_book.py), in Concur's message shape.
WARNINGS_URN = "urn:concur-scim:api:messages:2.0:Warnings"


def _write_options(
    kind: ResourceKind,
    svc: Services,
    dialect_options: dict[str, Any],
    request: Request,
    body: Any,
) -> dict[str, Any]:
    """The service options of one write; what its answer reports is kept on the request
    (:func:`_write_notes`): the body for the lint report when asked for (``Prefer:
    concur-lint`` or ``CONCUR_SCIM_LINT=always``), and for users ``warnings``, which
    collects the Concur rules that only warn (scim/rule_book.py).

    ``check_manager=False`` when ``CONCUR_SCIM_UNKNOWN_MANAGER=store`` and
    ``concur_values=False`` when ``CONCUR_SCIM_GENERIC_VALUES=any`` (strict dialects check
    both whatever they say: services/users.py).
    """
    if svc.settings.lint == "always" or wants_lint(request.headers.get("prefer")):
        request.state.lint = partial(
            lint_user,
            copy.deepcopy(body),
            kind.schema(),
            company_id=request.state.principal.company_id,
            patch=request.method == "PATCH",
            concur_rules=kind is USERS,
        )
    if kind is not USERS:
        return dialect_options
    warnings: list[dict[str, str]] = []
    request.state.warnings = warnings
    options: dict[str, Any] = {**dialect_options, "warnings": warnings}
    if svc.settings.unknown_manager == "store":
        options["check_manager"] = False
    if svc.settings.generic_values == "any":
        options["concur_values"] = False  # strict dialects check whatever it says
    return options


def _write_notes(body: dict[str, Any], request: Request, record: ResourceRecord) -> dict[str, Any]:
    """``body`` (a write's answer) with the write's warnings under :data:`WARNINGS_URN`
    and, when asked for, the lint report under ``LINT_URN`` (scim/lint.py)."""
    warnings = getattr(request.state, "warnings", None)
    if warnings:
        body[WARNINGS_URN] = {"messages": warnings}
    lint = getattr(request.state, "lint", None)
    if lint is not None:
        principal = request.state.principal
        findings = [f for f in lint(stored=record.doc) if readable_path(principal, f.schema_path)]
        body[LINT_URN] = lint_object(findings)
    return body


def _matches(record: ResourceRecord, if_none_match: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or f'"{record.version}"' in tags
