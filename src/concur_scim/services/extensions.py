"""Downstream extension use-cases: store one user's spend, payroll or travel data; read views.

Concur applies identity synchronously and hands the spend and travel extensions to their own
services (reference/concur-v4.md §1, §3); this server keeps each extension in its own row
(``store/extensions.py``). :func:`put_user_extension` is what the provisioning worker calls
for one extension of one operation; the spend and travel read views (§6.17, §6.14) read
through :func:`get_spend_user`, :func:`list_spend_users` and :func:`get_user_extensions`.

Each function takes the caller's open connection and company; none commits.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection

from concur_scim.scim import registry
from concur_scim.scim.errors import InvalidFilter, InvalidSyntax, InvalidValue, NotFound
from concur_scim.scim.filter_ast import And, Expr, Not, Or, Present, ValuePath
from concur_scim.scim.registry import ResourceSchema, SchemaDef
from concur_scim.scim.schemas.spend import role_codes
from concur_scim.scim.validation import DROPPED, MISSING, coerce_value, normalize_resource
from concur_scim.scim.violations import Findings
from concur_scim.services.common import Clock
from concur_scim.store import extensions as store
from concur_scim.store import users as user_store
from concur_scim.store.extensions import ExtensionRecord

SPEND_USER = "urn:ietf:params:scim:schemas:extension:spend:2.0:User"
SPEND_ROLE = "urn:ietf:params:scim:schemas:extension:spend:2.0:Role"
SPEND_APPROVER = "urn:ietf:params:scim:schemas:extension:spend:2.0:Approver"
SPEND_APPROVER_LIMIT = "urn:ietf:params:scim:schemas:extension:spend:2.0:ApproverLimit"
SPEND_DELEGATE = "urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate"
SPEND_USER_PREFERENCE = "urn:ietf:params:scim:schemas:extension:spend:2.0:UserPreference"
SPEND_WORKFLOW_PREFERENCE = "urn:ietf:params:scim:schemas:extension:spend:2.0:WorkflowPreference"
SPEND_INVOICE_PREFERENCE = "urn:ietf:params:scim:schemas:extension:spend:2.0:InvoicePreference"
PAYROLL = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:Payroll"
TRAVEL_USER = "urn:ietf:params:scim:schemas:extension:travel:2.0:User"

# What the spend read view always shows, in the order of Concur's v4.1 examples (§6.17);
# ApproverLimit is shown only when asked for or when the user has Global-group limits.
SPEND_VIEW_URNS = (
    SPEND_USER,
    SPEND_APPROVER,
    SPEND_DELEGATE,
    PAYROLL,
    SPEND_INVOICE_PREFERENCE,
    SPEND_USER_PREFERENCE,
    SPEND_WORKFLOW_PREFERENCE,
    SPEND_ROLE,
)
SPEND_URNS = (*SPEND_VIEW_URNS, SPEND_APPROVER_LIMIT)
DOWNSTREAM_URNS = (*SPEND_URNS, TRAVEL_USER)
# Other spellings of a downstream URN, as (alias, URN): Concur's Postman collection writes the
# travel URN without ":User", as SCIM v4 does the enterprise one (reference §4.2, §9 item 9).
SHORT_TRAVEL_USER = TRAVEL_USER.removesuffix(":User")
URN_ALIASES = ((SHORT_TRAVEL_USER, TRAVEL_USER),)
_CANONICAL = {urn.lower(): urn for urn in DOWNSTREAM_URNS} | {
    alias.lower(): urn for alias, urn in URN_ALIASES
}

# §6.8: "?attributes=…ApproverLimit returns up to 1000" configs; by default only Global ones.
MAX_APPROVER_LIMITS = 1000
_APPROVER_LIMIT_LISTS = ("authorizedApprover", "costObjectApprover")


@dataclass(frozen=True)
class ExtensionWrite:
    """The outcome of :func:`put_user_extension`: the stored row, and whether it changed."""

    record: ExtensionRecord
    changed: bool


@dataclass(frozen=True)
class ExtensionView:
    """One user's extension documents as a read view shows them.

    ``docs`` maps URN → document; ``last_modified`` is the latest change of the rows shown,
    or of the user when it has none.
    """

    user_id: str
    docs: dict[str, dict[str, Any]]
    last_modified: datetime


@dataclass(frozen=True)
class ExtensionPage:
    """One page of a list view, with the total number of matches."""

    views: list[ExtensionView]
    total: int


def canonical_urn(urn: str) -> str:
    """The downstream extension URN ``urn`` names (case-insensitive, an alias of
    :data:`URN_ALIASES` too); InvalidValue if none."""
    found = downstream_urn(urn)
    if found is None:
        raise InvalidValue(f"'{urn}' is not a spend, payroll or travel extension")
    return found


def downstream_urn(name: str) -> str | None:
    """The downstream extension URN ``name`` spells (case-insensitive, or an alias of
    :data:`URN_ALIASES`), or None when it names none."""
    return _CANONICAL.get(name.lower())


# -- writes ---------------------------------------------------------------------------------


def put_user_extension(
    conn: Connection,
    company_id: str,
    user_id: str,
    urn: str,
    payload: Any,
    clock: Clock,
) -> ExtensionWrite:
    """Store ``payload`` as the user's whole ``urn`` extension (an upsert).

    The payload is validated against the registry's downstream schema of its URN by
    ``normalize_resource`` in strict (Concur) mode, as identity documents are: types
    coerced, unknown attributes ignored, Concur's constraints applied, create-only
    attributes checked against the stored document. An unchanged document is not written
    (``changed`` False: the worker's ``no-op``). Raises NotFound (404) for an unknown user,
    InvalidValue / InvalidSyntax (400) for an unknown URN or a bad payload.
    """
    urn = canonical_urn(urn)
    if user_store.get_user(conn, company_id, user_id) is None:
        raise NotFound(f"user {user_id} not found")
    previous = store.get_extension(conn, company_id, user_id, urn)
    doc = normalize_extension(payload, urn, previous=previous.doc if previous else None)
    return store_extension(conn, company_id, user_id, urn, doc, previous, clock)


def store_extension(
    conn: Connection,
    company_id: str,
    user_id: str,
    urn: str,
    doc: dict[str, Any],
    previous: ExtensionRecord | None,
    clock: Clock,
) -> ExtensionWrite:
    """Store an already normalised ``doc`` whose stored row the caller read (``previous``).

    The tail of :func:`put_user_extension`, for a caller that has checked the user and
    validated the document itself (the provisioning worker): nothing is read again.
    """
    if previous is not None and previous.doc == doc:
        return ExtensionWrite(record=previous, changed=False)
    record = store.put_extension(conn, company_id, user_id, canonical_urn(urn), doc, clock())
    return ExtensionWrite(record=record, changed=True)


def delete_user_extension(conn: Connection, company_id: str, user_id: str, urn: str) -> bool:
    """Remove the user's ``urn`` extension; False if it had none."""
    return store.delete_extension(conn, company_id, user_id, canonical_urn(urn))


def downstream_schema(urn: str) -> SchemaDef | None:
    """The registry's schema for the downstream extension ``urn`` (case-insensitive), or None."""
    return _downstream_by_key().get(urn.lower())


@cache
def _downstream_by_key() -> dict[str, SchemaDef]:
    # Built once: the provisioning worker asks twice per extension of every operation.
    return {key.lower(): schema for key, schema in registry.downstream_schemas().items()}


@cache
def _extension_resource(urn: str) -> ResourceSchema | None:
    # Built once per URN: the worker validates every extension of every operation.
    schema = downstream_schema(urn)
    if schema is None:
        return None
    return ResourceSchema(name=urn, endpoint="", core=schema, extensions=(), models=())


def normalize_extension(
    payload: Any,
    urn: str,
    *,
    previous: dict[str, Any] | None = None,
    findings: Findings | None = None,
) -> dict[str, Any]:
    """The stored document for one extension object; InvalidSyntax unless a JSON object.

    Validated against the registry's schema for ``urn`` (every error at once; ``findings``,
    when given, keeps the warnings of the rules that only warn); a URN it has no schema for
    (none of the downstream URNs today) is only checked to be a JSON object.
    """
    if not isinstance(payload, dict):
        raise InvalidSyntax(f"the '{urn}' extension must be a JSON object")
    schema = downstream_schema(urn)
    if schema is None:
        return copy.deepcopy(payload)
    resource = _extension_resource(schema.urn)
    assert resource is not None
    doc = normalize_resource(payload, resource, strict=True, previous=previous, findings=findings)
    # normalize_resource drops the resource-level names id/meta/schemas/groups; an extension
    # may define its own attribute with one of them (Travel's ``groups``, §6.14).
    for key, value in payload.items():
        attr = schema.attribute(key) if isinstance(key, str) else None
        if attr is None or attr.name.lower() not in DROPPED or attr.mutability == "readOnly":
            continue
        coerced = coerce_value(value, attr, urn)
        if coerced is not MISSING:
            doc[attr.name] = coerced
    return doc


# -- reads ----------------------------------------------------------------------------------


def _view(
    user_id: str, user_modified: datetime, records: dict[str, ExtensionRecord]
) -> ExtensionView:
    stamps = [r.last_modified for r in records.values()]
    return ExtensionView(
        user_id=user_id,
        docs={urn: r.doc for urn, r in records.items()},
        last_modified=max(stamps) if stamps else user_modified,
    )


def get_user_extensions(
    conn: Connection, company_id: str, user_id: str, urns: Collection[str]
) -> ExtensionView:
    """The user's stored ``urns`` documents (absent ones left out); NotFound (404) if no user."""
    user = user_store.get_user(conn, company_id, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    wanted = [canonical_urn(u) for u in urns]
    records = store.get_extension_records(conn, company_id, [user_id], wanted)
    return _view(user_id, user.last_modified, records.get(user_id, {}))


def get_spend_user(
    conn: Connection, company_id: str, user_id: str, *, all_approver_limits: bool = False
) -> ExtensionView:
    """The spend view of one user (§6.17): every spend/payroll URN, ``{}`` when unset.

    NotFound (404) for an unknown user; a user without spend data is shown all ``{}``.
    """
    view = get_user_extensions(conn, company_id, user_id, SPEND_URNS)
    return _spend_view(view, all_approver_limits)


def list_spend_users(
    conn: Connection,
    company_id: str,
    *,
    filter_expr: Expr | None = None,
    start_index: int = 1,
    count: int = 100,
    all_approver_limits: bool = False,
) -> ExtensionPage:
    """A page of the company's users in the spend view (§6.17), users without spend data too.

    ``filter_expr`` may compare with ``eq`` and ``ne`` only, on the spend User attributes
    Concur lists as filterable and inside ``customData[...]``; other operators and attributes
    are InvalidFilter (400). Comparisons may be combined with ``and``, ``or`` and ``not``
    (Concur documents ``and``; the others are accepted as RFC 7644 grammar). Paths may be
    fully qualified (Concur's form) or bare.
    """
    if filter_expr is not None:
        check_spend_filter(filter_expr)
    page = store.list_extension_users(
        conn,
        company_id,
        spend_filter_schema(),
        filter_expr=filter_expr,
        offset=start_index - 1,
        limit=count,
    )
    ids = [u.id for u in page.users]
    records = store.get_extension_records(conn, company_id, ids, SPEND_URNS)
    views = [
        _spend_view(_view(u.id, u.last_modified, records.get(u.id, {})), all_approver_limits)
        for u in page.users
    ]
    return ExtensionPage(views=views, total=page.total)


def _spend_view(view: ExtensionView, all_approver_limits: bool) -> ExtensionView:
    docs = {urn: view.docs.get(urn, {}) for urn in SPEND_VIEW_URNS}
    limits = approver_limits(view.docs.get(SPEND_APPROVER_LIMIT, {}), all_approver_limits)
    if limits or all_approver_limits:
        docs[SPEND_APPROVER_LIMIT] = limits
    return ExtensionView(user_id=view.user_id, docs=docs, last_modified=view.last_modified)


def approver_limits(doc: dict[str, Any], everything: bool) -> dict[str, Any]:
    """The ApproverLimit document a read returns (§6.8).

    By default only the configs of the Global group (a blank ``approvalGroup``); asked for
    by name, up to 1000 configs per list.
    """
    shown: dict[str, Any] = {}
    for key, value in doc.items():
        if key not in _APPROVER_LIMIT_LISTS or not isinstance(value, list):
            if everything:
                shown[key] = value
            continue
        configs = value if everything else [c for c in value if _is_global(c)]
        if configs:
            shown[key] = configs[:MAX_APPROVER_LIMITS]
    return shown


def _is_global(config: Any) -> bool:
    return isinstance(config, dict) and not config.get("approvalGroup")


# -- the spend list filter ------------------------------------------------------------------

# §6.17 / the v4.1 spend retrieval doc: the only filterable attributes, with eq and ne.
SPEND_FILTERABLE = (
    "cashAdvanceAccountCode",
    "country",
    "ledgerCode",
    "locale",
    "nonEmployee",
    "reimbursementCurrency",
    "reimbursementType",
    "stateProvince",
    "testEmployee",
    "customData",
)
_FILTER_OPERATORS = frozenset({"eq", "ne"})


@cache
def spend_filter_schema() -> SchemaDef:
    """The spend User attributes a list filter may name (§6.17), as a schema to compile with.

    The registry's spend User definitions, narrowed to the attributes Concur lists as
    filterable: any other spend attribute is ``invalidFilter``, as it is on Concur.
    """
    known = downstream_schema(SPEND_USER)
    assert known is not None, "the registry defines the spend User extension"
    attrs = tuple(a for name in SPEND_FILTERABLE if (a := known.attribute(name)) is not None)
    return SchemaDef(urn=SPEND_USER, attributes=attrs, by_key={a.name.lower(): a for a in attrs})


def check_spend_filter(expr: Expr) -> None:
    """Raise InvalidFilter unless ``expr`` uses only what the spend list supports (§6.17)."""
    if isinstance(expr, And | Or):
        check_spend_filter(expr.left)
        check_spend_filter(expr.right)
    elif isinstance(expr, Not):
        check_spend_filter(expr.expr)
    elif isinstance(expr, ValuePath):
        check_spend_filter(expr.filter)
    elif isinstance(expr, Present) or expr.op not in _FILTER_OPERATORS:
        op = "pr" if isinstance(expr, Present) else expr.op
        raise InvalidFilter(f"the spend user list supports only 'eq' and 'ne', not '{op}'")


# -- role codes -----------------------------------------------------------------------------


def spend_role_codes() -> list[dict[str, Any]]:
    """The spend role codes of Appendix A1 (``GET /profile/spend/v4/Users/roleCodes``)."""
    return role_codes()
