"""Which Concur scopes a request needs (reference/concur-v4.md §7 "Scopes", §3.1, §9 item 15).

:data:`RULES` is the one table: per route family and action, the scopes a token must hold
(all of them, or one of them). Routers attach :func:`require` to their routes; the check runs
after authentication and before the body is read, and a missing scope is
:class:`~concur_scim.scim.errors.Forbidden` (403) naming it. A principal whose ``scopes`` is
None (``CONCUR_SCIM_BEARER_TOKEN``, static tokens stored without scopes) holds every scope.

User reads (:func:`hide_unreadable`) leave out what the token's read scopes do not cover:
sensitive core attributes, the enterprise and the SAP extensions (§7's scope table).

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

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import Connection

from concur_scim.api.deps import BodyDep, Principal, PrincipalDep, authenticate
from concur_scim.scim.errors import Forbidden
from concur_scim.scim.registry import CORE_USER
from concur_scim.services.extensions import DOWNSTREAM_URNS
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
    ("spend", "read"): Need(all_of=(SPEND_READ,)),
    ("travel", "read"): Need(all_of=(TRAVEL_READ,)),
    ("user_v1", "read"): Need(all_of=(CORE_READ,)),
    ("user_v1", "write"): Need(all_of=(CORE_WRITE,)),
    ("user_v1", "config"): ANY_TOKEN,  # /FormFields: configuration, no user data
}

# What each operation of a UPS /Bulk request needs besides the route's own scope.
BULK_OPERATIONS: dict[str, Need] = {
    "POST": RULES["ups", "write"],
    "PUT": RULES["ups", "write"],
    "PATCH": RULES["ups", "write"],
    "DELETE": RULES["ups", "delete"],
}

_VERIFIED_PATH = re.compile(r"^emails(\[.*\])?\.verified$")

Authenticator = Callable[..., str]


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


def user_attributes(*, provisioning: bool = False) -> Any:
    """The dependency that applies :func:`check_user_write` and :func:`ignore_verified` (which
    edits the body in place) to a user write's JSON body, parsed once: the route's own body
    dependency receives the same object."""

    async def check_user_attributes(
        request: Request, principal: PrincipalDep, body: BodyDep
    ) -> None:
        check_user_write(principal, request.method, body, provisioning=provisioning)
        ignore_verified(principal, request.method, body)

    return Depends(check_user_attributes)


# §7: what a user read shows only to a token holding the scope (top-level names as rendered).
_SENSITIVE = ("addresses", "emails", "phoneNumbers", "dateOfBirth", "emergencyContacts")
_ENTERPRISE = ("entitlements", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
_SAP = ("urn:ietf:params:scim:schemas:extension:sap:2.0:User",)


def hide_unreadable(body: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """``body`` (a user as a read renders it) without what ``principal`` may not read (§7):
    addresses, emails, phones, birth date and emergency contacts need
    ``identity.user.coresensitive.read``; the enterprise extension and entitlements
    ``identity.user.enterprise.read``; the SAP extension ``identity.user.sap.read``.
    Changed in place and returned."""
    if principal.scopes is None:
        return body
    for scope, names in (
        (SENSITIVE_READ, _SENSITIVE),
        (ENTERPRISE_READ, _ENTERPRISE),
        (SAP_READ, _SAP),
    ):
        if not principal.has_scope(scope):
            for name in names:
                body.pop(name, None)
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
    payroll and travel when
    ``provisioning`` (User Provisioning, §3.1). ``method`` is POST, PUT or PATCH.
    """
    if principal.scopes is None:
        return
    names = set(_written(method, body))
    if "externalid" in names:
        enforce(principal, Need(all_of=(EXTERNAL_ID_WRITE,)))
    if any(n.startswith(SAP_USER) for n in names):
        enforce(principal, Need(all_of=(SAP_WRITE,)))  # userUuid (§6.3)
    downstream = tuple(urn.lower() for urn in DOWNSTREAM_URNS)
    if provisioning and any(n.startswith(downstream) for n in names):
        enforce(principal, Need(all_of=(SPEND_WRITE,)))


def check_bulk_operation(principal: Principal, method: str, data: Any) -> None:
    """Raises Forbidden (403) when one /Bulk operation needs a scope the principal lacks."""
    need = BULK_OPERATIONS.get(method.upper())
    if need is not None:
        enforce(principal, need)
    if method.upper() in ("POST", "PUT", "PATCH"):
        check_user_write(principal, method, data, provisioning=True)
        ignore_verified(principal, method, data)


def ignore_verified(principal: Principal, method: str, body: Any) -> None:
    """Without ``identity.user.emails.verified.writeonly``, turn each PATCH operation of
    ``body`` whose path is ``emails[…].verified`` into a no-op, in place (§9 item 15).

    Value forms need nothing: validation drops a client's ``verified`` for every caller.
    """
    if principal.has_scope(VERIFIED_WRITE) or method.upper() != "PATCH":
        return
    for op in _operations(body):
        path = next((v for k, v in op.items() if str(k).lower() == "path"), None)
        if isinstance(path, str) and _VERIFIED_PATH.match(_unqualified(path.strip().lower())):
            # An operation that changes nothing (patch.py ignores ``meta`` in a value) stands
            # in for it, so the count and the indices in error messages stay as sent.
            op.clear()
            op.update(op="add", value={"meta": {}})


def _written(method: str, body: Any) -> Iterator[str]:
    """The attribute names and paths (lower case, core URN removed) a write body sets."""
    if not isinstance(body, dict):
        return
    if method.upper() != "PATCH":
        yield from _keys(body)
        return
    for op in _operations(body):
        fields = {str(k).lower(): v for k, v in op.items()}
        path = fields.get("path")
        if isinstance(path, str) and path.strip():
            yield _unqualified(path.strip().lower())
        elif isinstance(fields.get("value"), dict):
            yield from _keys(fields["value"])


def _operations(body: Any) -> Iterator[dict[str, Any]]:
    """The operations of a PatchOp body that are objects (keys matched case-insensitively)."""
    if not isinstance(body, dict):
        return
    operations = next((v for k, v in body.items() if str(k).lower() == "operations"), None)
    for op in operations if isinstance(operations, list) else ():
        if isinstance(op, dict):
            yield op


def _keys(doc: dict[str, Any]) -> Iterator[str]:
    for key, value in doc.items():
        name = str(key).lower()
        if name == CORE_USER.lower() and isinstance(value, dict):
            yield from (str(k).lower() for k in value)
        else:
            yield _unqualified(name)


def _unqualified(path: str) -> str:
    """``path`` without the core User URN prefix (RFC 7644 §3.10)."""
    prefix = CORE_USER.lower() + ":"
    return path[len(prefix) :] if path.startswith(prefix) else path
