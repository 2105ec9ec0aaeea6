"""The typed filter AST (RFC 7644 §3.4.2.2) that the rest of the server consumes.

``scim/filter.py`` parses text into these nodes; ``store/filter_sql.py`` compiles them to
SQLAlchemy; ``scim/evaluate.py`` evaluates them in memory (PATCH value filters). Attribute
names are kept as the client wrote them: resolving them (case-insensitively) against the
schema is the consumer's job, so an unknown attribute can be reported as ``invalidFilter``.
"""

from __future__ import annotations

from dataclasses import dataclass

# RFC 7644 §3.4.2.2 comparison operators, lower-cased.
COMPARISON_OPERATORS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class AttrPath:
    """``[urn ":"] attr ["." sub]`` as written by the client.

    Inside a value filter (``emails[type eq "work"]``) ``attr`` names a sub-attribute of the
    enclosing multi-valued attribute and ``urn`` and ``sub`` are None.
    """

    urn: str | None
    attr: str
    sub: str | None = None


@dataclass(frozen=True)
class Compare:
    """``path op value``; ``op`` is lower-cased; ``value`` keeps its JSON type."""

    path: AttrPath
    op: str
    value: Scalar


@dataclass(frozen=True)
class Present:
    """``path pr``."""

    path: AttrPath


@dataclass(frozen=True)
class And:
    """``left and right``."""

    left: Expr
    right: Expr


@dataclass(frozen=True)
class Or:
    """``left or right``."""

    left: Expr
    right: Expr


@dataclass(frozen=True)
class Not:
    """``not (expr)``."""

    expr: Expr


@dataclass(frozen=True)
class ValuePath:
    """``attr[filter]``: some element of the multi-valued ``attr`` satisfies ``filter``.

    ``path.sub`` is always None; the paths inside ``filter`` are relative to one element.
    ``emails[type eq "work"].value eq "x"`` is parsed as
    ``ValuePath(emails, And(type eq "work", value eq "x"))``, which means the same thing.
    """

    path: AttrPath
    filter: Expr


Expr = Compare | Present | And | Or | Not | ValuePath
