"""SCIM v4 ``/Groups``: Concur's fixed role catalogue, membership only (reference §5, §9.3, §9.24).

``GET /Groups`` (filters ``displayName eq`` and ``urn:…:sap:2.0:Group:type eq``;
``startIndex``/``count`` ≤ 1000), ``GET /Groups/{id}`` (member paging with
``members.startIndex``/``members.count`` ≤ 1000, counters as Concur's dotted ``meta`` keys),
``PATCH`` → 204, ``PUT`` → 200 with the group. There is no ``POST`` or ``DELETE``: the router
registers neither, so routing answers 405 and the app's error handler renders it as a SCIM
error. ``excludedAttributes=members`` never reads the membership table.

Parameters are parsed by hand, as in ``api/params.py``, so a bad value is a SCIM 400, never a
422, and names match case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from concur_scim.api.deps import (
    BodyDep,
    CompanyDep,
    ReadConn,
    ServicesDep,
    UnitOfWorkRoute,
    WriteConn,
)
from concur_scim.api.responses import ScimResponse, list_response
from concur_scim.api.scopes import require
from concur_scim.scim.errors import InvalidValue
from concur_scim.scim.filter import parse_filter
from concur_scim.scim.projection import Projection
from concur_scim.scim.registry import CORE_GROUP
from concur_scim.scim.role_catalogue import SAP_GROUP, v4_group_schema
from concur_scim.scim.validation import format_datetime
from concur_scim.services import roles as service
from concur_scim.services.roles import MemberPaging, RoleGroupView

DEFAULT_COUNT = 100  # the swagger's default for `count` and `members.count`
MAX_COUNT = 1000  # the doc's maximum (the swagger says 100; IPS pages members by 1000)


def role_groups_router(prefix: str = "/scim/v4") -> APIRouter:
    """The ``/Groups`` routes of the SCIM v4 API mounted at ``prefix``."""
    resource = v4_group_schema()
    router = APIRouter(prefix=prefix + "/Groups", route_class=UnitOfWorkRoute)

    def root(request: Request) -> str:
        return str(request.base_url).rstrip("/") + prefix

    def params(request: Request) -> dict[str, str]:
        return {k.lower(): v for k, v in request.query_params.items()}

    def projection_of(p: Mapping[str, str]) -> Projection:
        return Projection.parse(resource, p.get("attributes"), p.get("excludedattributes"))

    def paging_of(p: Mapping[str, str], projection: Projection) -> MemberPaging | None:
        if not projection.includes(resource, "members"):
            return None
        return MemberPaging(
            start_index=_start(p, "members.startindex", "members.startIndex"),
            count=_count(p, "members.count", "members.count"),
        )

    def one(request: Request, view: RoleGroupView, projection: Projection) -> Response:
        body = projection.apply(render(view, root(request)), resource)
        return ScimResponse(body)

    @router.get("", dependencies=[require("role_groups", "read")])
    def list_groups(request: Request, company: CompanyDep, conn: ReadConn) -> Response:
        p = params(request)
        expr = parse_filter(p["filter"]) if p.get("filter") else None
        start = _start(p, "startindex", "startIndex")
        count = _count(p, "count", "count")
        projection = projection_of(p)
        total, views = service.list_groups(
            conn,
            company,
            expr,
            start_index=start,
            count=count,
            paging=paging_of(p, projection),
        )
        base = root(request)
        items = [projection.apply(render(v, base), resource) for v in views]
        return ScimResponse(list_response(items, total=total, start_index=start))

    @router.get("/{group_id}", dependencies=[require("role_groups", "read")])
    def read(group_id: str, request: Request, company: CompanyDep, conn: ReadConn) -> Response:
        p = params(request)
        projection = projection_of(p)
        view = service.get_group(conn, company, group_id, paging_of(p, projection))
        return one(request, view, projection)

    @router.patch("/{group_id}", dependencies=[require("role_groups", "write")])
    def patch(
        group_id: str, company: CompanyDep, conn: WriteConn, body: BodyDep, svc: ServicesDep
    ) -> Response:
        service.patch_group(conn, company, group_id, body, clock=svc.clock)
        return Response(status_code=204)  # reference §9 item 3: no body

    @router.put("/{group_id}", dependencies=[require("role_groups", "write")])
    def replace(
        group_id: str,
        request: Request,
        company: CompanyDep,
        conn: WriteConn,
        body: BodyDep,
        svc: ServicesDep,
    ) -> Response:
        service.replace_members(conn, company, group_id, body, clock=svc.clock)
        p = params(request)
        projection = projection_of(p)
        view = service.get_group(conn, company, group_id, paging_of(p, projection))
        return one(request, view, projection)

    return router


def render(view: RoleGroupView, base_url: str) -> dict[str, Any]:
    """A catalogue group as SCIM v4 returns it (§6.16; ``meta`` as in the §5 example)."""
    location = f"{base_url}/Groups/{view.id}"
    body: dict[str, Any] = {
        "schemas": [CORE_GROUP, SAP_GROUP],
        "id": view.id,
        "displayName": view.role.display_name,
    }
    meta: dict[str, Any] = {
        "resourceType": "Group",
        "lastModified": format_datetime(view.last_modified),
        "location": location,
    }
    if view.members is not None:
        body["members"] = [{"value": m, "$ref": f"{base_url}/Users/{m}"} for m in view.members]
        # Concur's quirk (§9 item 24): member paging counters as dotted keys inside meta.
        meta["members.totalResults"] = view.total
        meta["members.startIndex"] = view.start_index
        meta["members.itemsPerPage"] = len(view.members)
        meta["members.cnt"] = len(view.members)
    body[SAP_GROUP] = view.role.extension()
    body["meta"] = meta
    return body


def _int(p: Mapping[str, str], key: str, name: str) -> int | None:
    raw = p.get(key)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidValue(f"'{name}' must be an integer") from None


def _start(p: Mapping[str, str], key: str, name: str) -> int:
    """A 1-based start index; below 1 means 1 (RFC 7644 §3.4.2.4)."""
    value = _int(p, key, name)
    return 1 if value is None else max(1, value)


def _count(p: Mapping[str, str], key: str, name: str) -> int:
    """A page size: default 100, negative means 0, above 1000 is capped (RFC 7644 §3.4.2.4)."""
    value = _int(p, key, name)
    return DEFAULT_COUNT if value is None else max(0, min(value, MAX_COUNT))
