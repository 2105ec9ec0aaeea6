"""User Retrieval v4: ``POST /Users/.search`` under ``/profile/v4`` and ``/provisioning/v4``.

Reference/concur-v4.md §1 and §3.1 (scope ``user.profile.search.read``, ``api/scopes.py``),
and Concur's User Retrieval v4 page, which §3.1 points to:

- the body is a SearchRequest naming RFC 7644's URN (Concur's v4.1 URN is accepted too,
  §9 item 10) with ``filter``, ``attributes``, ``excludedAttributes`` (lists or
  comma-separated), ``count`` (100 by default, at most 1000) and ``cursor`` (RFC 9865;
  ``null`` or absent for the first page); at most 10 KB (else 413); ``startIndex`` and
  ``sortBy`` are 400;
- the filter takes the page's attributes, Spend User ones included
  (``scim/filter_policy.py: user_retrieval_policy``);
- the answer is a ListResponse whose count is ``total`` (§9 item 10: Concur's example has no
  ``totalResults``), with ``itemsPerPage``, ``Resources`` and, while more follow,
  ``nextCursor``. Each resource is the Identity v4 view of the user (``meta.location`` on
  Identity v4, as UPS answers, §3.5) plus its spend, payroll and travel extensions
  (``services/user_retrieval.py``), trimmed to the token's read scopes (§7,
  ``hide_unreadable``), then to ``attributes``;
- a 400 raised by the request carries Concur's ``INVALID_INPUT`` message code (the page's
  error sample).

The route itself is declared in ``api/ups.py`` with the other UPS routes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection
from starlette.responses import Response

from concur_scim.api.deps import ServicesDep, read_json
from concur_scim.api.dialects import IDENTITY_V4, Dialect, user_retrieval
from concur_scim.api.limits import JsonLimits
from concur_scim.api.params import encode_cursor, parse_list_request, search_params
from concur_scim.api.render import render
from concur_scim.api.responses import LIST_RESPONSE_URN, ScimResponse
from concur_scim.api.scopes import check_user_query, hide_unreadable
from concur_scim.config import Settings
from concur_scim.scim.errors import BadRequest
from concur_scim.scim.registry import user_schema
from concur_scim.services import user_retrieval as service
from concur_scim.store.records import ResourceRecord

# "Maximum search request payload size is 10 KB" (the User Retrieval v4 page).
MAX_SEARCH_BYTES = 10 * 1024
INPUT_ERROR = "INVALID_INPUT"


async def search_body(request: Request, svc: ServicesDep) -> Any:
    """The SearchRequest body, refused with 413 past :data:`MAX_SEARCH_BYTES` unread."""
    limits = JsonLimits.from_settings(svc.settings)
    return await read_json(request, MAX_SEARCH_BYTES, limits)


SearchBody = Annotated[Any, Depends(search_body)]


def retrieved_user(
    record: ResourceRecord, extensions: dict[str, dict[str, Any]], root: str
) -> dict[str, Any]:
    """One user as User Retrieval answers it: the identity as Identity v4 renders it (its
    location under Identity v4, Concur's defaults, integer version), then each of its
    ``RESULT_URNS`` documents (spend User, payroll, travel) it has, named in ``schemas``."""
    user = render(
        record,
        user_schema(),
        root + IDENTITY_V4.prefix,
        integer_version=True,
        always_schemas=IDENTITY_V4.always_schemas,
        user_defaults=True,
    )
    for urn in service.RESULT_URNS:
        if urn in extensions:
            user["schemas"].append(urn)
            user[urn] = extensions[urn]
    return user


def search(
    request: Request,
    ups: Dialect,
    company: str,
    conn: Connection,
    body: Any,
    settings: Settings,
) -> Response:
    """One page of ``company``'s users for a SearchRequest ``body`` sent to ``ups``'s prefix.

    Raises BadRequest (400, Concur's ``INVALID_INPUT``) for a bad SearchRequest or filter,
    and Forbidden (403) for a filter on what the token may not read (``check_user_query``).
    """
    profile = user_retrieval(ups)
    resource = service.retrieval_schema()
    try:
        params = search_params(body, profile)
        parsed = parse_list_request(
            params, resource, profile, settings, policy=profile.search_filter
        )
    except BadRequest as error:
        if not error.messages:
            error.messages = [{"code": INPUT_ERROR, "message": error.detail, "type": "error"}]
        raise
    principal = request.state.principal
    check_user_query(principal, parsed.query.filter)
    found = service.search_users(conn, company, parsed.query)
    root = str(request.base_url).rstrip("/")
    items = []
    for record in found.page.records:
        user = retrieved_user(record, found.extensions.get(record.id, {}), root)
        items.append(parsed.projection.apply(hide_unreadable(user, principal), resource))
    answer: dict[str, Any] = {
        "schemas": [LIST_RESPONSE_URN],
        "total": found.page.total,
        "itemsPerPage": len(items),
        "Resources": items,
    }
    if found.page.next_seq is not None:
        answer["nextCursor"] = encode_cursor(found.page.next_seq)
    return ScimResponse(answer)
