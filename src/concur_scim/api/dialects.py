"""Dialects as data: how each API surface serves the shared store (DESIGN "The one idea").

A :class:`Dialect` says where an API is mounted and how it behaves: status codes, paging,
which filters it takes, how it deletes, how its errors and versions look. Routers are built
from a dialect by :func:`concur_scim.api.resources.resource_router` and
:func:`concur_scim.api.discovery.discovery_router`; adding a dialect adds a profile here,
not a copy of the handlers. Values are those of reference/concur-v4.md §4.2, §4.4, §5, §9.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from concur_scim.scim.filter_policy import (
    FilterPolicy,
    identity_search_policy,
    identity_v4_policy,
    no_filter_policy,
    user_retrieval_policy,
)
from concur_scim.scim.registry import ENTERPRISE_USER

RFC_SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
CONCUR_SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:concur:2.0:SearchRequest"
SAP_USER = "urn:ietf:params:scim:schemas:extension:sap:2.0:User"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@dataclass(frozen=True)
class Dialect:
    """One API surface over the shared store.

    ``default_page_size``/``max_page_size`` of None mean the server settings. A policy of
    None accepts the whole filter grammar. ``search_schemas`` lists the SearchRequest URNs a
    ``.search`` body must name one of (empty: not checked).

    Discovery documents and users as Concur's OpenAPI files model them (reference §4.4, §6):
    ``spc_url_names`` adds Concur's ``documentationUrl`` and ``authenticationSchemes[]``
    ``specUrl``/``documentationUrl`` beside RFC 7643's ``…Uri`` names;
    ``pagination_objects`` publishes ``pagination.cursor``/``index`` as ``{"supported": …}``
    (Identity) rather than RFC 9865 booleans; ``resource_types_array`` answers
    ``GET /ResourceTypes`` with a bare JSON array rather than a ListResponse;
    ``user_defaults`` shows unset ``preferredLanguage``, ``timezone`` and enterprise
    ``companyId``/``startDate`` with Concur's defaults (§6.1, §6.2), as Identity requires them.
    """

    name: str
    prefix: str
    create_status: int = 201
    index_paging: bool = True
    cursor_paging: bool = True
    cursor_total: bool = False
    default_page_size: int | None = None
    max_page_size: int | None = None
    sort: bool = True
    etag: bool = True
    bulk: bool = False
    filter: bool = True
    list_filter: FilterPolicy | None = None
    search: bool = True
    search_filter: FilterPolicy | None = None
    search_schemas: tuple[str, ...] = ()
    soft_delete: bool = False
    strict: bool = False
    concur_errors: bool = False
    integer_version: bool = False
    always_schemas: tuple[str, ...] = ()
    group_patch_no_content: bool = True
    crud_types: tuple[str, ...] = ("User", "Group")
    resource_types: tuple[str, ...] = ("User", "Group")
    root_search: bool = True
    required_extensions: tuple[str, ...] = ()
    resource_description: str = ""
    documentation_url: str = "https://datatracker.ietf.org/doc/html/rfc7644"
    spc_url_names: bool = False
    pagination_objects: bool = False
    resource_types_array: bool = False
    user_defaults: bool = False


GENERIC_SCIM = Dialect(name="scim2", prefix="/scim/v2")

# What every Concur API shares: Concur validation, errors and versions; no sort, no ETags.
_CONCUR = Dialect(
    name="concur",
    prefix="",
    strict=True,
    concur_errors=True,
    integer_version=True,
    sort=False,
    etag=False,
    root_search=False,
    always_schemas=(CORE_USER, ENTERPRISE_USER, SAP_USER),
    required_extensions=(ENTERPRISE_USER,),
    resource_description="Concur ",
    documentation_url="https://developer.concur.com/api-reference/profile/v4.identity.html",
    spc_url_names=True,
)

IDENTITY_V4 = replace(
    _CONCUR,
    name="identity-v4",
    prefix="/profile/identity/v4",
    create_status=200,
    cursor_paging=False,
    default_page_size=10,
    max_page_size=100,
    list_filter=identity_v4_policy,
    search=False,
    crud_types=("User",),
    resource_types=("User",),
    pagination_objects=True,
    resource_types_array=True,
    user_defaults=True,
)

IDENTITY_V41 = replace(
    _CONCUR,
    name="identity-v4.1",
    prefix="/profile/identity/v4.1",
    create_status=200,
    index_paging=False,
    cursor_total=True,
    default_page_size=100,
    max_page_size=1000,
    list_filter=no_filter_policy,
    search_filter=identity_search_policy,
    search_schemas=(CONCUR_SEARCH_REQUEST, RFC_SEARCH_REQUEST),
    crud_types=("User",),
    resource_types=("User",),
    pagination_objects=True,
    resource_types_array=True,
    user_defaults=True,
)

SCIM_V4 = replace(
    _CONCUR,
    name="scim-v4",
    prefix="/scim/v4",
    create_status=201,
    default_page_size=100,
    max_page_size=1000,
    search=False,
    soft_delete=True,
    crud_types=("User",),
    resource_types=("User", "Group"),
)

# User Provisioning v4 (§3): its own router (api/ups.py) for Users writes, Bulk, statuses and
# discovery; no list or read of users (§3.1), and its one search is User Retrieval's
# (:func:`user_retrieval`).
UPS_V4 = replace(
    _CONCUR,
    name="ups-v4",
    prefix="/profile/v4",
    bulk=True,
    search=False,
    index_paging=False,
    cursor_paging=False,
    filter=False,
    crud_types=(),
    resource_types=(),
    documentation_url=(
        "https://developer.concur.com/api-reference/user-provisioning/v4.user-provisioning.html"
    ),
)
UPS_LEGACY = replace(UPS_V4, name="ups-v4-legacy", prefix="/provisioning/v4")


def user_retrieval(ups: Dialect) -> Dialect:
    """User Retrieval v4's ``POST /Users/.search`` under a UPS prefix (reference §1, §3.1;
    Concur's User Retrieval v4 page): cursor paging only (RFC 9865), 100 results by default
    and at most 1000, the total on every page, no sorting, RFC 7644's SearchRequest URN
    (Concur's v4.1 one accepted too, §9 item 10) and its filter rules. Not a dialect of its
    own: it shares the UPS prefixes, errors and discovery."""
    return replace(
        ups,
        name=f"{ups.name}-user-retrieval",
        search=True,
        filter=True,
        index_paging=False,
        cursor_paging=True,
        cursor_total=True,
        default_page_size=100,
        max_page_size=1000,
        search_filter=user_retrieval_policy,
        search_schemas=(RFC_SEARCH_REQUEST, CONCUR_SEARCH_REQUEST),
    )


DIALECTS: tuple[Dialect, ...] = (
    GENERIC_SCIM,
    IDENTITY_V4,
    IDENTITY_V41,
    SCIM_V4,
    UPS_V4,
    UPS_LEGACY,
)


def dialect_for_path(path: str) -> Dialect | None:
    """The dialect whose prefix ``path`` starts with (longest prefix wins), or None."""
    low = path.lower()
    found = None
    for dialect in DIALECTS:
        prefix = dialect.prefix.lower()
        if (low == prefix or low.startswith(prefix + "/")) and (
            found is None or len(prefix) > len(found.prefix)
        ):
            found = dialect
    return found


# The APIs served beside the dialect profiles, named for the journal and fault rules.
_OTHER_APIS = (
    ("/api/user/v1.0", "user-v1"),
    ("/api/v3.0/common", "user-v1"),
    ("/profile/spend/", "spend"),
    ("/profile/travel/", "travel"),
    ("/oauth2/", "oauth"),
)


def dialect_name(path: str) -> str | None:
    """The name of the API that serves ``path``: a dialect profile's ``name``, or
    ``user-v1``, ``spend``, ``travel``, ``oauth``; None for anything else."""
    found = dialect_for_path(path)
    if found is not None:
        return found.name
    low = path.lower()
    return next((name for prefix, name in _OTHER_APIS if low.startswith(prefix)), None)
