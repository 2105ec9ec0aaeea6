"""Which filters a dialect accepts, checked on the parsed AST before anything is compiled.

The generic dialect accepts the whole RFC 7644 §3.4.2.2 grammar. Concur's APIs are narrower
(reference/concur-v4.md §4.2, §4.3): Identity v4 lists only ``eq`` on the unique
attributes, the Identity v4.1 search allows a fixed set of attributes with restrictions
inside ``[...]``, and User Retrieval v4 its own list, Spend User attributes included. A
refused filter is ``invalidFilter`` (400) naming the rule it breaks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from concur_scim.scim.errors import InvalidFilter
from concur_scim.scim.filter_ast import And, AttrPath, Compare, Expr, Not, Or, Present, ValuePath
from concur_scim.scim.registry import ENTERPRISE_USER

FilterPolicy = Callable[[Expr], None]

SAP_USER = "urn:ietf:params:scim:schemas:extension:sap:2.0:User"
_ENTERPRISE = ENTERPRISE_USER.lower()
# Concur's SCIM v4 writes the enterprise URN without ":User" (§4.2); accepted everywhere.
_SHORT_ENTERPRISE = _ENTERPRISE.removesuffix(":user")


def _key(path: AttrPath, prefix: str = "") -> str:
    """``path`` as one lower-case dotted key, extension attributes prefixed by their URN."""
    urn = (path.urn or "").lower()
    if urn == _SHORT_ENTERPRISE:
        urn = _ENTERPRISE
    name = f"{prefix}{path.attr}" + (f".{path.sub}" if path.sub else "")
    return f"{urn}:{name}".lower() if urn and urn != _CORE else name.lower()


_CORE = "urn:ietf:params:scim:schemas:core:2.0:user"


def _leaves(expr: Expr) -> Iterator[tuple[Compare | Present, str]]:
    """Every comparison with its full attribute key (value paths flattened to attr.sub)."""
    if isinstance(expr, And | Or):
        yield from _leaves(expr.left)
        yield from _leaves(expr.right)
    elif isinstance(expr, Not):
        yield from _leaves(expr.expr)
    elif isinstance(expr, ValuePath):
        outer = _key(expr.path)
        for leaf, key in _leaves(expr.filter):
            yield leaf, f"{outer}.{key.rsplit(':', 1)[-1]}"
    else:
        yield expr, _key(expr.path)


# Identity v4: "Only eq operator is supported" on the unique attributes (§4.2, §9 item 9).
_IDENTITY_V4_KEYS = {"username", "externalid", "employeenumber", f"{_ENTERPRISE}:employeenumber"}


def identity_v4_policy(expr: Expr) -> None:
    """Identity v4 list filters: one ``eq`` on userName, employeeNumber or externalId."""
    if not isinstance(expr, Compare) or expr.op != "eq" or _key(expr.path) not in _IDENTITY_V4_KEYS:
        raise InvalidFilter(
            "Identity v4 filters support only 'eq' on userName, employeeNumber or externalId"
        )


# Identity v4.1 search: the filterable attributes of §4.3.
_SEARCH_KEYS = frozenset(
    {
        "active",
        "addresses.country",
        "addresses.locality",
        "addresses.region",
        "addresses.type",
        "emails.value",
        "emails.type",
        "emails.verified",
        "emails",
        "entitlements",
        "externalid",
        "id",
        "meta.created",
        "meta.lastmodified",
        "name.familyname",
        "name.givenname",
        "nickname",
        "username",
        "employeenumber",
        *(
            f"{_ENTERPRISE}:{a}"
            for a in (
                "costcenter",
                "department",
                "division",
                "employeenumber",
                "startdate",
                "terminationdate",
                "manager.employeenumber",
                "manager.value",
                "manager",
            )
        ),
        f"{SAP_USER.lower()}:useruuid",
    }
)
_IN_BRACKETS_OPS = frozenset({"eq", "sw", "ew", "co", "pr"})


def identity_search_policy(expr: Expr) -> None:
    """Identity v4.1 ``POST /Users/.search`` (§4.3): the attribute list and bracket rules."""
    for leaf, key in _leaves(expr):
        if key not in _SEARCH_KEYS:
            raise InvalidFilter(f"'{key}' is not a filterable attribute of this API")
        del leaf
    _check_brackets(expr)


def _check_brackets(expr: Expr) -> None:
    if isinstance(expr, And | Or):
        _check_brackets(expr.left)
        _check_brackets(expr.right)
    elif isinstance(expr, Not):
        _check_brackets(expr.expr)
    elif isinstance(expr, ValuePath):
        _check_inside(expr.filter)


def _check_inside(expr: Expr) -> None:
    """Inside ``[...]``: only eq/sw/ew/co/pr, no not/ne, no and over one sub-attribute."""
    if isinstance(expr, Not):
        raise InvalidFilter("'not' is not allowed inside [...]")
    if isinstance(expr, Compare) and expr.op not in _IN_BRACKETS_OPS:
        raise InvalidFilter(f"'{expr.op}' is not allowed inside [...]")
    if isinstance(expr, And):
        left = {k for _, k in _leaves(expr.left)}
        right = {k for _, k in _leaves(expr.right)}
        if left & right:
            raise InvalidFilter("'and' inside [...] cannot join two conditions on one attribute")
    if isinstance(expr, And | Or):
        _check_inside(expr.left)
        _check_inside(expr.right)


def no_filter_policy(_expr: Expr) -> None:
    """For list endpoints that take no filter (Identity v4.1 ``GET /Users``)."""
    raise InvalidFilter("this endpoint takes no filter: use POST /Users/.search")


# User Retrieval v4 (reference §1, §3.1; Concur's User Retrieval v4 page, "Filterable
# Fields"): these core, enterprise and Spend User attributes.
_SPEND_USER = "urn:ietf:params:scim:schemas:extension:spend:2.0:user"
_RETRIEVAL_KEYS = frozenset(
    {
        "id",
        "username",
        "active",
        "nickname",
        "name.givenname",
        "name.familyname",
        "emails.value",
        "emails.type",
        "emails.verified",
        "addresses.locality",
        "addresses.region",
        "addresses.country",
        "addresses.type",
        "meta.created",
        "meta.lastmodified",
        *(
            f"{_ENTERPRISE}:{a}"
            for a in (
                "employeenumber",
                "companyid",
                "department",
                "division",
                "startdate",
                "costcenter",
                "manager.value",
                "terminationdate",
            )
        ),
        *(
            f"{_SPEND_USER}:{a}"
            for a in ("country", "customdata.id", "customdata.value", "customdata.syncguid")
        ),
    }
)


def user_retrieval_policy(expr: Expr) -> None:
    """User Retrieval v4 ``POST /Users/.search``: its filterable attributes, every operator
    and ``and``/``or``/``not``, but no ``not`` and no ``ne`` inside ``[...]`` (the page's
    "Multi-Valued Attribute Limitations")."""
    for _leaf, key in _leaves(expr):
        if key not in _RETRIEVAL_KEYS:
            raise InvalidFilter(f"'{key}' is not a filterable attribute of this API")
    todo = [expr]
    while todo:
        node = todo.pop()
        if isinstance(node, And | Or):
            todo += (node.left, node.right)
        elif isinstance(node, Not):
            todo.append(node.expr)
        elif isinstance(node, ValuePath):
            _check_retrieval_inside(node.filter)


def _check_retrieval_inside(expr: Expr) -> None:
    if isinstance(expr, Not):
        raise InvalidFilter("'not' is not allowed inside [...]")
    if isinstance(expr, Compare) and expr.op == "ne":
        raise InvalidFilter("'ne' is not allowed inside [...]")
    if isinstance(expr, And | Or):
        _check_retrieval_inside(expr.left)
        _check_retrieval_inside(expr.right)
