"""Which Concur scopes a request needs (reference/concur-v4.md §7 "Scopes", §3.1, §9 item 15).

:data:`RULES` is the one table: per route family and action, the scopes a token must hold
(all of them, or one of them). Routers attach :func:`require` to their routes; the check runs
after authentication and before the body is read, and a missing scope is
:class:`~concur_scim.scim.errors.Forbidden` (403) naming it. A principal whose ``scopes`` is
None (``CONCUR_SCIM_BEARER_TOKEN``, static tokens stored without scopes) holds every scope.

Every answer that shows a user, to a read or to a write (:func:`hide_unreadable`, and the
User v1.0 / Users v3.0 fields), leaves out what the token's read scopes do not cover: sensitive
core attributes, the enterprise and the SAP extensions (§7's scope table). A filter or
``sortBy`` that names such an attribute is 403 (:func:`check_user_query`). One table says
which scope each attribute needs (:data:`CORE_READ_SCOPES`, :data:`EXTENSION_READ_SCOPES`).

Attribute rules, applied to a write body by :func:`check_user_write` where the route knows
the principal:

- a body that writes ``externalId`` needs ``identity.user.externalID.writeonly``, or 403;
  a PUT without that scope keeps the stored value (:func:`keep_external_id`);
- a body that writes the SAP extension (``userUuid``, §6.3) needs
  ``identity.user.sap.writeonly``, or 403;
- ``emails.verified`` is server-set in every dialect (scim/validation.py drops a client's
  value); without ``identity.user.emails.verified.writeonly`` a PATCH operation whose path
  targets it is made a no-op too, so the write is silently ignored as Concur does (§9
  item 15) and the stored value stays. With the scope such a path is still refused as
  readOnly (400 mutability): this server keeps no verification state;
- on User Provisioning, spend, payroll or travel extension data needs
  ``spend.user.general.writeonly``, or 403 before anything is stored (Concur publishes no
  travel write scope).

The choices where §7 is silent are listed in docs/concur-compatibility.md ("Scopes").
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import Connection

from concur_scim.api.deps import (
    BodyDep,
    Principal,
    PrincipalDep,
    ReadCall,
    Services,
    authenticate,
)
from concur_scim.scim.errors import Forbidden, ScimError
from concur_scim.scim.filter_ast import And, AttrPath, Expr, Not, Or
from concur_scim.scim.patch import expand_value, parse_patch_request
from concur_scim.scim.paths import PatchPath
from concur_scim.scim.registry import CORE_USER, ENTERPRISE_USER, ResourceSchema, user_schema
from concur_scim.services.extensions import DOWNSTREAM_URNS, TRAVEL_USER
from concur_scim.services.provisioning import parse_provisioning_patch, provisioning_schema
from concur_scim.store import users as user_store

PROVISION_WRITE = "user.provision.write"
PROVISION_READ = "user.provision.read"
CORE_READ = "identity.user.core.read"
SENSITIVE_READ = "identity.user.coresensitive.read"
ENTERPRISE_READ = "identity.user.enterprise.read"
SAP_READ = "identity.user.sap.read"
CORE_WRITE = "identity.user.coreenterprise.writeonly"
EXTERNAL_ID_WRITE = "identity.user.externalID.writeonly"
SAP_WRITE = "identity.user.sap.writeonly"
SAP_USER = "urn:ietf:params:scim:schemas:extension:sap:2.0:user"
VERIFIED_WRITE = "identity.user.emails.verified.writeonly"
USER_DELETE = "identity.user.delete"
SPEND_READ = "spend.user.general.read"
SPEND_WRITE = "spend.user.general.writeonly"
TRAVEL_READ = "travel.user.general.read"
PROFILE_SEARCH = "user.profile.search.read"


@dataclass(frozen=True)
class Need:
    """The scopes one kind of request needs: every one of ``all_of`` and, when ``any_of``
    is not empty, at least one of ``any_of``. Neither: any valid token."""

    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()

    def missing(self, principal: Principal) -> str | None:
        """What ``principal`` lacks, phrased for the error detail, or None."""
        for scope in self.all_of:
            if not principal.has_scope(scope):
                return f"the access token lacks the scope '{scope}'"
        if self.any_of and not any(principal.has_scope(s) for s in self.any_of):
            names = ", ".join(f"'{s}'" for s in self.any_of)
            return f"the access token lacks the scope '{self.any_of[0]}' (one of {names})"
        return None


ANY_TOKEN = Need()

# (route family, action) → what the request needs. Families: "users" / "groups" (the SCIM
# 2.0, Identity v4 / v4.1 and SCIM v4 resource routes), "role_groups" (SCIM v4 /Groups),
# "discovery" (/ServiceProviderConfig, /ResourceTypes, /Schemas), "ups" (User Provisioning),
# "spend" / "travel" (read views), "user_v1" (User v1.0 and Users v3.0).
RULES: dict[tuple[str, str], Need] = {
    ("users", "read"): Need(all_of=(CORE_READ,)),
    ("users", "search"): Need(any_of=(CORE_READ, PROFILE_SEARCH)),
    ("users", "write"): Need(all_of=(CORE_WRITE,)),
    ("users", "delete"): Need(all_of=(USER_DELETE,)),
    ("groups", "read"): Need(all_of=(CORE_READ,)),
    ("groups", "search"): Need(all_of=(CORE_READ,)),
    ("groups", "write"): Need(all_of=(CORE_WRITE,)),
    ("groups", "delete"): Need(all_of=(CORE_WRITE,)),
    ("role_groups", "read"): Need(all_of=(CORE_READ,)),
    ("role_groups", "write"): Need(all_of=(CORE_WRITE,)),
    ("discovery", "read"): ANY_TOKEN,  # §4.1: "None" (Identity v4.1 doc)
    ("discovery", "search"): Need(all_of=(CORE_READ,)),  # root /.search: users and groups
    ("ups", "write"): Need(all_of=(PROVISION_WRITE, CORE_WRITE)),  # §3.1
    ("ups", "delete"): Need(all_of=(USER_DELETE,)),  # §3.1
    ("ups", "bulk"): Need(all_of=(PROVISION_WRITE,)),  # + each operation's, at submission
    ("ups", "status"): Need(all_of=(PROVISION_READ,)),
    ("ups", "discovery"): Need(all_of=(PROVISION_READ,)),  # /ResourceTypes, /Schemas
    ("ups", "config"): ANY_TOKEN,  # /ServiceProviderConfig: no scope in §3.1
    ("ups", "search"): Need(all_of=(PROFILE_SEARCH,)),  # User Retrieval /Users/.search, §3.1
    ("spend", "read"): Need(all_of=(SPEND_READ,)),
    ("travel", "read"): Need(all_of=(TRAVEL_READ,)),
    ("user_v1", "read"): Need(all_of=(CORE_READ,)),
    ("user_v1", "write"): Need(all_of=(CORE_WRITE,)),
    ("user_v1", "config"): ANY_TOKEN,  # /FormFields: configuration, no user data
    # /scim/v2/Bulk (RFC 7644 §3.7): a token that can write something; each operation then
    # needs what its single route needs (check_scim_bulk_operation).
    ("scim_bulk", "submit"): Need(any_of=(CORE_WRITE, USER_DELETE)),
}

# What each operation of a UPS /Bulk request needs besides the route's own scope.
BULK_OPERATIONS: dict[str, Need] = {
    "POST": RULES["ups", "write"],
    "PUT": RULES["ups", "write"],
    "PATCH": RULES["ups", "write"],
    "DELETE": RULES["ups", "delete"],
}

Authenticator = Callable[..., str] | Callable[..., Awaitable[str]]


def require(family: str, action: str, *, auth: Authenticator = authenticate) -> Any:
    """The dependency that refuses a request without the scopes of ``RULES[family, action]``.

    ``auth`` is the route's authentication dependency (it sets ``request.state.principal``);
    FastAPI runs it once per request however many dependencies name it.
    """
    need = RULES[family, action]

    # A default, not Annotated: the annotation would name ``auth``, a local that the
    # postponed annotations of this module cannot resolve.
    async def check_scopes(request: Request, _company: str = Depends(auth)) -> None:
        enforce(request.state.principal, need)

    return Depends(check_scopes)


def reader(family: str, short: Callable[[Request, Services], bool] | None = None) -> Any:
    """One dependency for a read route: authentication (:func:`authenticate`), the scopes of
    ``RULES[family, "read"]``, and the services, as a :class:`ReadCall` whose read
    transaction :class:`~concur_scim.api.deps.UnitOfWorkRoute` opens where the route runs.
    ``short(request, services)`` tells a read whose cost does not grow with the directory
    (api/params.py ``short_read``); None: no read is."""
    need = RULES[family, "read"]

    async def read_call(request: Request) -> ReadCall:
        svc: Services = request.app.state.services
        await authenticate(request, svc)
        principal: Principal = request.state.principal
        enforce(principal, need)
        is_short = short is not None and short(request, svc)
        return ReadCall(services=svc, principal=principal, short=is_short)

    return Depends(read_call)


def user_attributes(*, provisioning: bool = False) -> Any:
    """The dependency that applies :func:`check_user_write` and :func:`ignore_verified` (which
    edits the body in place) to a user write's JSON body, parsed once: the route's own body
    dependency receives the same object."""

    async def check_user_attributes(
        request: Request, principal: PrincipalDep, body: BodyDep
    ) -> None:
        check_user_write(principal, request.method, body, provisioning=provisioning)
        ignore_verified(principal, request.method, body, provisioning=provisioning)

    return Depends(check_user_attributes)


def hide_unreadable(body: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """``body`` (a user as rendered, top-level names) without what ``principal`` may not
    read (§7; the table is :data:`CORE_READ_SCOPES` and :data:`EXTENSION_READ_SCOPES`):
    addresses, emails, phones, birth date and emergency contacts need
    ``identity.user.coresensitive.read``; the enterprise extension and entitlements
    ``identity.user.enterprise.read``; the SAP extension ``identity.user.sap.read``.
    For the answer to a read and to a write alike. Changed in place and returned."""
    if principal.scopes is None:
        return body
    for name in list(body):
        # A top-level name is a core attribute or an extension, by its URN.
        where = (name,) if name.lower().startswith("urn:") else (CORE_USER, name)
        if missing_read_scope(principal, *where) is not None:
            del body[name]
    return body


def keep_external_id(
    principal: Principal, conn: Connection, company_id: str, user_id: str, body: Any
) -> None:
    """A PUT from a token without ``identity.user.externalID.writeonly`` keeps the stored
    ``externalId`` (in place: the body gets the stored value, or none): the token may not
    write it (§7), and a full replacement must not clear it either. A body that names
    ``externalId`` was already refused by :func:`check_user_write`; an unknown user is left
    for the write itself to report."""
    if principal.has_scope(EXTERNAL_ID_WRITE) or not isinstance(body, dict):
        return
    stored = user_store.get_user(conn, company_id, user_id)
    if stored is not None and "externalId" in stored.doc:
        body["externalId"] = stored.doc["externalId"]


def enforce(principal: Principal, need: Need) -> None:
    """Raises Forbidden (403) naming the scope ``principal`` lacks for ``need``."""
    missing = need.missing(principal)
    if missing is not None:
        raise Forbidden(missing)


def check_user_write(
    principal: Principal, method: str, body: Any, *, provisioning: bool = False
) -> None:
    """Raises Forbidden (403) when a user write ``body`` sets an attribute whose scope the
    principal lacks: ``externalId`` and the SAP extension always, extension data of spend,
    payroll and travel when ``provisioning`` (User Provisioning, §3.1). ``method`` is POST,
    PUT or PATCH.

    The attributes are read the way the write applies them (:func:`written_attributes`), so
    no spelling of a key or a path reaches the store past this check.
    """
    if principal.scopes is None:
        return
    written = written_attributes(method, body, provisioning=provisioning)
    if (CORE_USER.lower(), "externalid") in written:
        enforce(principal, Need(all_of=(EXTERNAL_ID_WRITE,)))
    if any(urn == SAP_USER for urn, _ in written):
        enforce(principal, Need(all_of=(SAP_WRITE,)))  # userUuid (§6.3)
    downstream = {urn.lower() for urn in DOWNSTREAM_URNS}
    if provisioning and any(urn in downstream for urn, _ in written):
        enforce(principal, Need(all_of=(SPEND_WRITE,)))


def written_attributes(
    method: str, body: Any, *, provisioning: bool = False
) -> set[tuple[str, str]]:
    """The attributes a user write ``body`` sets, as (schema URN, attribute name) in lower
    case, read by the same code that applies the write.

    PATCH: the operations as the PATCH engine parses them (``scim/patch.py``; on User
    Provisioning with the downstream extensions, ``parse_provisioning_patch``), a path-less
    value expanded as the engine expands it. POST and PUT: the keys as
    ``normalize_resource`` reads them (``urn:…:attr``, ``urn:….attr``, schema objects,
    dotted sub-attributes). A body the engine would refuse sets nothing (the write fails
    with the engine's error). The JSON parser has already refused keys that differ only in
    case (api/limits.py), so each name has one reading.
    """
    resource = provisioning_schema() if provisioning else user_schema()
    found: set[tuple[str, str]] = set()
    if not isinstance(body, dict):
        return found
    if method.upper() == "PATCH":
        for path in _patched_paths(body, resource, provisioning=provisioning):
            found.add((path.schema.urn.lower(), path.attr.name.lower()))
        return found
    for key, value in body.items():
        if not isinstance(key, str):
            continue
        schema, rest = resource.split_urn(key)
        names = (
            (k for k in value if isinstance(k, str))
            if rest == "" and isinstance(value, dict)
            else (rest,)
        )
        for name in names:
            attr = schema.attribute(name.partition(".")[0])
            if attr is not None:
                found.add((schema.urn.lower(), attr.name.lower()))
    return found


def _patched_paths(body: Any, resource: ResourceSchema, *, provisioning: bool) -> list[PatchPath]:
    """Every attribute path a PatchOp ``body`` writes, as the engine resolves them; none
    when the engine would refuse the body."""
    try:
        operations = (
            parse_provisioning_patch(body) if provisioning else parse_patch_request(body, resource)
        )
        paths: list[PatchPath] = []
        for operation in operations:
            if operation.path is not None:
                paths.append(operation.path)
            elif isinstance(operation.value, dict):
                paths.extend(path for path, _ in expand_value(operation.value, resource, ""))
    except ScimError:
        return []
    return paths


def check_bulk_operation(principal: Principal, method: str, data: Any) -> None:
    """Raises Forbidden (403) when one /Bulk operation needs a scope the principal lacks."""
    need = BULK_OPERATIONS.get(method.upper())
    if need is not None:
        enforce(principal, need)
    if method.upper() in ("POST", "PUT", "PATCH"):
        check_user_write(principal, method, data, provisioning=True)
        ignore_verified(principal, method, data, provisioning=True)


def ignore_verified(
    principal: Principal, method: str, body: Any, *, provisioning: bool = False
) -> None:
    """Without ``identity.user.emails.verified.writeonly``, turn each PATCH operation of
    ``body`` whose path the engine resolves to ``emails[…].verified`` into a no-op, in
    place (§9 item 15).

    Value forms need nothing: validation drops a client's ``verified`` for every caller.
    """
    if principal.has_scope(VERIFIED_WRITE) or method.upper() != "PATCH":
        return
    if not isinstance(body, dict):
        return
    resource = provisioning_schema() if provisioning else user_schema()
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    for op in operations if isinstance(operations, list) else ():
        if not isinstance(op, dict):
            continue
        paths = _patched_paths({"Operations": [op]}, resource, provisioning=provisioning)
        if any(_is_verified(path) for path in paths):
            # An operation that changes nothing (patch.py ignores ``meta`` in a value) stands
            # in for it, so the count and the indices in error messages stay as sent.
            op.clear()
            op.update(op="add", value={"meta": {}})


def _is_verified(path: PatchPath) -> bool:
    return (
        path.schema.urn == CORE_USER
        and path.attr.name == "emails"
        and path.sub is not None
        and path.sub.name == "verified"
    )


# -- what a token may read (§7) ---------------------------------------------------------------

# §7's read scopes: the user data a token holding identity.user.core.read sees only with one
# more scope. The one table behind what an answer shows (hide_unreadable; the User v1.0 and
# Users v3.0 fields, api/user_v1.py) and what a filter or sortBy may name (check_user_query).
# Keys in lower case: core attributes one by one, extensions as a whole.
CORE_READ_SCOPES: dict[str, str] = {
    "addresses": SENSITIVE_READ,
    "emails": SENSITIVE_READ,
    "phonenumbers": SENSITIVE_READ,
    "dateofbirth": SENSITIVE_READ,
    "emergencycontacts": SENSITIVE_READ,
    "entitlements": ENTERPRISE_READ,
}
EXTENSION_READ_SCOPES: dict[str, str] = {
    ENTERPRISE_USER.lower(): ENTERPRISE_READ,
    SAP_USER: SAP_READ,
    # Never part of a rendered user; the User v1.0 spend fields are read from them.
    **{urn.lower(): TRAVEL_READ if urn == TRAVEL_USER else SPEND_READ for urn in DOWNSTREAM_URNS},
}


def read_scope(schema_urn: str, attribute: str = "") -> str | None:
    """The scope beyond ``identity.user.core.read`` needed to read ``attribute`` (a top-level
    name) of the schema ``schema_urn``, or the whole schema when ``attribute`` is empty;
    None when core read is enough (§7 "Scopes")."""
    urn = schema_urn.lower()
    if urn == CORE_USER.lower():
        return CORE_READ_SCOPES.get(attribute.lower())
    return EXTENSION_READ_SCOPES.get(urn)


def missing_read_scope(principal: Principal, schema_urn: str, attribute: str = "") -> str | None:
    """The scope ``principal`` lacks to read ``attribute`` of ``schema_urn`` (see
    :func:`read_scope`), or None when it may read it."""
    scope = read_scope(schema_urn, attribute)
    return scope if scope is not None and not principal.has_scope(scope) else None


def check_user_query(principal: Principal, expr: Expr | None, sort_by: str | None = None) -> None:
    """Raises Forbidden (403) naming the missing scope when a users filter ``expr`` or
    ``sort_by`` names an attribute ``principal`` may not read (§7): the count of ``sw``
    searches would recover a hidden value one character at a time, and an order sorts by it.

    Every attribute path of the filter counts, under ``not`` and in ``attr[...]`` too. Paths
    resolve as the filter compiler (store/filter_sql.py) and the sort (store/paging.py)
    resolve them: a core URN prefix, an unqualified extension attribute, Concur's enterprise
    URN without ``:User``, Entra's dot after a URN. A name they do not know is left for
    them to refuse (400). Tokens without a scope list are not checked.
    """
    if principal.scopes is None:
        return
    for path in _filter_paths(expr):
        scope = missing_read_scope(principal, *_filtered_attribute(path))
        if scope is not None:
            raise Forbidden(
                f"the access token lacks the scope '{scope}' needed to filter on '{_spelled(path)}'"
            )
    if sort_by:
        schema, rest = user_schema().split_urn(sort_by.strip())
        scope = missing_read_scope(principal, schema.urn, rest.partition(".")[0])
        if scope is not None:
            raise Forbidden(
                f"the access token lacks the scope '{scope}' needed to sort by '{sort_by.strip()}'"
            )


def _filter_paths(expr: Expr | None) -> Iterator[AttrPath]:
    """The attribute paths of ``expr``; for ``attr[...]`` the outer one, whose schema and
    attribute the paths inside (its sub-attributes) share."""
    if isinstance(expr, And | Or):
        yield from _filter_paths(expr.left)
        yield from _filter_paths(expr.right)
    elif isinstance(expr, Not):
        yield from _filter_paths(expr.expr)
    elif expr is not None:
        yield expr.path


def _filtered_attribute(path: AttrPath) -> tuple[str, str]:
    """(schema URN, attribute) that a filter ``path`` selects on, as the compiler resolves
    it; an unknown URN is returned as written."""
    resource = user_schema()
    if path.urn is not None:
        # Concur's SCIM v4 writes the enterprise URN without ":User" (§4.2).
        schema = resource.schema_for(path.urn) or resource.schema_for(f"{path.urn}:User")
        return (schema.urn if schema is not None else path.urn), path.attr
    if resource.core.attribute(path.attr) is None:
        for extension in resource.extensions:
            if extension.attribute(path.attr) is not None:
                return extension.urn, path.attr  # ``manager eq "id"``: older Entra
    return resource.core.urn, path.attr


def _spelled(path: AttrPath) -> str:
    """``path`` as the filter wrote it."""
    return (f"{path.urn}:" if path.urn else "") + path.attr + (f".{path.sub}" if path.sub else "")


# -- /scim/v2/Bulk (RFC 7644 §3.7) ----------------------------------------------------------


def check_scim_bulk_operation(principal: Principal, family: str, method: str, body: Any) -> None:
    """One operation of a synchronous ``/scim/v2/Bulk``, held to its single route's rules:
    :data:`RULES` ``(family, "write")`` for POST, PUT, PATCH and ``(family, "delete")`` for
    DELETE (``family`` is ``users`` or ``groups``), then for a user write the attribute rules
    of :func:`user_attributes` (:func:`check_user_write`, and :func:`ignore_verified`, which
    edits ``body`` in place). Raises Forbidden (403) naming the missing scope."""
    action = "delete" if method.upper() == "DELETE" else "write"
    enforce(principal, RULES[family, action])
    if family == "users" and action == "write":
        check_user_write(principal, method, body)
        ignore_verified(principal, method, body)


def readable_path(principal: Principal, schema_path: str) -> bool:
    """Whether ``principal`` may read the attribute a message's ``schemaPath`` names
    (``urn:…:User:emails[0].type``, a bare core name, a downstream extension path), by
    the same table as :func:`hide_unreadable` (§7). Tokens without a scope list read all."""
    if principal.scopes is None:
        return True
    schema, rest = provisioning_schema().split_urn(schema_path)
    attribute = rest.split(".", 1)[0].split("[", 1)[0]
    return missing_read_scope(principal, schema.urn, attribute) is None


def readable_error(error: ScimError, principal: Principal | None) -> ScimError:
    """``error`` without what ``principal`` may not read: a message about an attribute the
    token cannot read is dropped and counted, so a refused write never quotes a stored
    value the token could not have read (§7). The same error when nothing is hidden."""
    if principal is None or principal.scopes is None or not error.messages:
        return error
    shown = [m for m in error.messages if readable_path(principal, m.get("schemaPath", ""))]
    hidden = len(error.messages) - len(shown)
    if not hidden:
        return error
    texts = [m["message"] for m in shown if m.get("type") == "error"]
    texts.append(f"{hidden} more on attributes the access token cannot read")
    redacted = copy.copy(error)
    redacted.detail = "; ".join(texts)
    redacted.messages = shown
    return redacted


def readable_findings(
    findings: list[dict[str, str]], principal: Principal | None
) -> list[dict[str, str]]:
    """The lint findings (scim/lint.py) about attributes ``principal`` may read."""
    if principal is None or principal.scopes is None:
        return findings
    return [f for f in findings if readable_path(principal, f["schemaPath"])]
