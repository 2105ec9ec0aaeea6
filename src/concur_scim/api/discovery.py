"""Discovery endpoints (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas.

``/Schemas`` is generated from the pydantic models (``registry.schema_document``: the model's
``to_schema()`` with the registry's corrections), the same source the validator, filter
compiler and PATCH engine read through the registry, so what is published is what is enforced.
The ServiceProviderConfig states the limits the server really applies.
Also the root ``POST /.search`` (RFC 7644 §3.4.3), which searches every resource type.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from concur_scim.api.deps import BodyDep, CompanyDep, ReadConn, ServicesDep, UnitOfWorkRoute
from concur_scim.api.dialects import Dialect
from concur_scim.api.params import parse_list_request
from concur_scim.api.render import render
from concur_scim.api.resources import KINDS, base_url, check_query, readable
from concur_scim.api.responses import ScimResponse, list_response
from concur_scim.api.scim_bulk import bulk_limits
from concur_scim.api.scopes import require
from concur_scim.config import Settings
from concur_scim.scim.errors import (
    InvalidFilter,
    InvalidSyntax,
    InvalidValue,
    NotFound,
    UnknownFilterAttribute,
)
from concur_scim.scim.registry import ResourceSchema, resource_schemas, schema_document
from concur_scim.store.paging import ListQuery

SPC_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
BEARER_SPEC = "https://www.rfc-editor.org/info/rfc6750"
CONCUR_AUTH_DOCS = "https://developer.concur.com/api-reference/authentication/apidoc.html"


def service_provider_config(settings: Settings, dialect: Dialect, root: str) -> dict[str, Any]:
    """The ServiceProviderConfig of ``dialect`` (RFC 7643 §5), true to what is enforced.

    The Concur dialects publish the values of reference/concur-v4.md §4.4, in the shape of
    Concur's OpenAPI files where the dialect asks for it (``spc_url_names``,
    ``pagination_objects``).
    """
    max_size = dialect.max_page_size or settings.max_page_size
    default_size = dialect.default_page_size or settings.default_page_size
    scheme: dict[str, Any] = {
        "type": "oauthbearertoken",
        "name": "OAuth Bearer Token",
        "description": "Authentication with a bearer token (RFC 6750).",
        "specUri": BEARER_SPEC,
        "primary": True,
    }
    body: dict[str, Any] = {"schemas": [SPC_URN], "documentationUri": dialect.documentation_url}
    if dialect.spc_url_names:
        body["documentationUrl"] = dialect.documentation_url
        scheme["specUrl"] = BEARER_SPEC
        scheme["documentationUrl"] = CONCUR_AUTH_DOCS
    cursor: bool | dict[str, bool] = dialect.cursor_paging
    index: bool | dict[str, bool] = dialect.index_paging
    if dialect.pagination_objects:
        cursor, index = {"supported": dialect.cursor_paging}, {"supported": dialect.index_paging}
    body |= {
        "patch": {"supported": True},
        "bulk": _bulk(settings, dialect),
        "filter": {"supported": dialect.filter, "maxResults": max_size},
        "changePassword": {"supported": False},
        "sort": {"supported": dialect.sort},
        "etag": {"supported": dialect.etag},
        "pagination": {
            "cursor": cursor,
            "index": index,
            "defaultPaginationMethod": "index" if dialect.index_paging else "cursor",
            "defaultPageSize": default_size,
            "maxPageSize": max_size,
        },
        "authenticationSchemes": [scheme],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{root}/ServiceProviderConfig",
        },
    }
    return body


def _bulk(settings: Settings, dialect: Dialect) -> dict[str, Any]:
    """The bulk limits the dialect enforces (UPS, reference/concur-v4.md §3.2; the generic
    dialect's RFC 7644 §3.7 Bulk), or none: ``api/scim_bulk.py`` ``bulk_limits``, which the
    Bulk routes apply."""
    limits = bulk_limits(settings, dialect)
    if limits is None:
        return {"supported": False, "maxOperations": 0, "maxPayloadSize": 0}
    return {
        "supported": True,
        "maxOperations": limits.max_operations,
        "maxPayloadSize": limits.max_payload_bytes,
    }


def resource_type(
    resource: ResourceSchema, root: str, dialect: Dialect | None = None
) -> dict[str, Any]:
    """The ResourceType of ``resource`` (RFC 7643 §6).

    Concur dialects mark the enterprise extension required (reference §3.7, §6.2).
    """
    required = set(dialect.required_extensions) if dialect else set()
    prefix = dialect.resource_description if dialect else ""
    return {
        "schemas": [RESOURCE_TYPE_URN],
        "id": resource.name,
        "name": resource.name,
        "endpoint": resource.endpoint,
        "description": f"{prefix}{resource.name}" if prefix else f"{resource.name} resources",
        "schema": resource.core.urn,
        "schemaExtensions": [
            {"schema": e.urn, "required": e.urn in required} for e in resource.extensions
        ],
        "meta": {
            "resourceType": "ResourceType",
            "location": f"{root}/ResourceTypes/{resource.name}",
        },
    }


def schemas(root: str, names: tuple[str, ...], *, concur: bool = False) -> list[dict[str, Any]]:
    """Every schema of the resource types ``names`` (RFC 7643 §7), from the models.

    ``concur`` (the strict dialects) publishes Concur's view: its required flags and
    ``maxLength`` (reference/concur-v4.md §4.4); otherwise the RFC view (registry docstring).
    """
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        for model in resource_schemas()[name].models:
            body = schema_document(model, concur=concur)
            body["meta"] = {"resourceType": "Schema", "location": f"{root}/Schemas/{body['id']}"}
            out[body["id"]] = body
    return list(out.values())


def discovery_router(dialect: Dialect) -> APIRouter:
    """The discovery routes of ``dialect``."""
    router = APIRouter(prefix=dialect.prefix, route_class=UnitOfWorkRoute)
    served = {n: resource_schemas()[n] for n in dialect.resource_types}
    any_token = [require("discovery", "read")]

    @router.get("/ServiceProviderConfig", dependencies=any_token)
    def spc(request: Request, _company: CompanyDep, svc: ServicesDep) -> Response:
        return ScimResponse(
            service_provider_config(svc.settings, dialect, base_url(request, dialect))
        )

    @router.get("/ResourceTypes", dependencies=any_token)
    def resource_types(request: Request, _company: CompanyDep) -> Response:
        items = [resource_type(r, base_url(request, dialect), dialect) for r in served.values()]
        if dialect.resource_types_array:
            return ScimResponse(items)  # Identity's swagger: a bare array (cf. reference §9.23)
        return ScimResponse(list_response(items, total=len(items), start_index=1))

    @router.get("/ResourceTypes/{name}", dependencies=any_token)
    def one_resource_type(name: str, request: Request, _company: CompanyDep) -> Response:
        for r in served.values():
            if r.name.lower() == name.lower():
                return ScimResponse(resource_type(r, base_url(request, dialect), dialect))
        raise NotFound(f"resource type {name} not found")

    @router.get("/Schemas", dependencies=any_token)
    def all_schemas(request: Request, _company: CompanyDep) -> Response:
        items = schemas(base_url(request, dialect), dialect.resource_types, concur=dialect.strict)
        return ScimResponse(list_response(items, total=len(items), start_index=1))

    @router.get("/Schemas/{urn}", dependencies=any_token)
    def one_schema(urn: str, request: Request, _company: CompanyDep) -> Response:
        served_schemas = schemas(
            base_url(request, dialect), dialect.resource_types, concur=dialect.strict
        )
        for item in served_schemas:
            if item["id"].lower() == urn.lower():
                return ScimResponse(item)
        raise NotFound(f"schema {urn} not found")

    def search_all(
        request: Request, company: CompanyDep, conn: ReadConn, body: BodyDep, svc: ServicesDep
    ) -> Response:
        # RFC 7644 §3.4.3: one ListResponse over every resource type, users first.
        if not isinstance(body, dict):
            raise InvalidSyntax("a SearchRequest must be a JSON object")
        params = {k: v for k, v in body.items() if k != "schemas"}
        if "cursor" in {k.lower() for k in params}:
            raise InvalidValue("cursor paging is offered per resource type, not at the root")
        root = base_url(request, dialect)
        items: list[dict[str, Any]] = []
        total = 0
        parsed = None
        for name, resource in served.items():
            kind = KINDS[name]
            try:
                parsed = parse_list_request(params, resource, dialect, svc.settings)
                q = parsed.query
                check_query(kind, request, q)  # users: only by what the token may read (§7)
                count = kind.search(conn, company, ListQuery(filter=q.filter, limit=0)).total or 0
            except UnknownFilterAttribute:
                continue  # an attribute this type does not have: it contributes nothing
            skip = max(0, q.offset - total)
            room = q.limit - len(items)
            total += count
            if room <= 0 or skip >= count:
                continue
            page_query = ListQuery(
                filter=q.filter,
                sort_by=q.sort_by,
                descending=q.descending,
                offset=skip,
                limit=room,
                want_total=False,
            )
            records = kind.search(conn, company, page_query).records
            if records and parsed.projection.includes(resource, kind.derived):
                records = kind.attach(conn, records)
            items += [
                parsed.projection.apply(
                    readable(kind, render(r, resource, root), request), resource
                )
                for r in records
            ]
        if parsed is None:
            raise InvalidFilter("no resource type has the attributes this filter names")
        return ScimResponse(list_response(items, total=total, start_index=parsed.start_index))

    if dialect.root_search:
        router.post("/.search", dependencies=[require("discovery", "search")])(search_all)

    return router
